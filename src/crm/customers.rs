//! Customer records: found by id or by the host site's external id,
//! created or updated from what a customer tells about themselves.

use chrono::Utc;

use super::model::*;
use super::store::{decode_record, encode_record, Store, StoreError};

impl Store {
    /// Find the customer with this external id, or create one; the profile's
    /// name and email update the record.
    /// `new_id` is the id of a customer this creates.
    pub(crate) async fn upsert_customer(
        &self,
        profile: CustomerProfile,
        new_id: CustomerId,
    ) -> Result<Customer, StoreError> {
        self.blocking(move |s| s.upsert_customer_now(profile, new_id))
            .await
    }

    /// The customer with this external id, if there is one.
    pub(crate) async fn customer_by_external(
        &self,
        external_id: String,
    ) -> Result<Option<CustomerId>, StoreError> {
        self.blocking(move |s| {
            Ok(s.trees
                .customers_by_external
                .get(external_id.as_bytes())?
                .and_then(|id| uuid::Uuid::from_slice(&id).ok())
                .map(CustomerId))
        })
        .await
    }

    fn upsert_customer_now(
        &self,
        profile: CustomerProfile,
        new_id: CustomerId,
    ) -> Result<Customer, StoreError> {
        let t = &self.trees;
        let existing = match &profile.external_id {
            Some(ext) => match t.customers_by_external.get(ext.as_bytes())? {
                Some(id) => t
                    .customers
                    .get(id)?
                    .map(|b| decode_record::<Customer>("customer", &b))
                    .transpose()?,
                None => None,
            },
            None => None,
        };
        let mut customer = existing.unwrap_or_else(|| Customer {
            id: new_id,
            external_id: profile.external_id.clone(),
            name: None,
            email: None,
            created_at: Utc::now(),
        });
        // An empty field says nothing; it does not erase what is known.
        let given = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        customer.name = given(profile.name).or(customer.name);
        customer.email = given(profile.email).or(customer.email);
        t.customers.insert(
            customer.id.as_bytes(),
            encode_record("customer", &customer)?,
        )?;
        if let Some(ext) = &customer.external_id {
            t.customers_by_external
                .insert(ext.as_bytes(), customer.id.as_bytes())?;
        }
        Ok(customer)
    }

    /// Record the email a customer left. Durable on return.
    pub(crate) async fn set_customer_email(
        &self,
        id: CustomerId,
        email: String,
    ) -> Result<(), StoreError> {
        self.blocking(move |s| {
            let t = &s.trees;
            let bytes = t
                .customers
                .get(id.as_bytes())?
                .ok_or(StoreError::NotFound("customer"))?;
            let mut customer: Customer = decode_record("customer", &bytes)?;
            customer.email = Some(email.clone());
            t.customers
                .insert(id.as_bytes(), encode_record("customer", &customer)?)?;
            Ok(())
        })
        .await?;
        self.durable().await
    }

    pub(crate) async fn customer(&self, id: CustomerId) -> Result<Customer, StoreError> {
        self.blocking(move |s| {
            let bytes = s
                .trees
                .customers
                .get(id.as_bytes())?
                .ok_or(StoreError::NotFound("customer"))?;
            decode_record("customer", &bytes)
        })
        .await
    }
}
