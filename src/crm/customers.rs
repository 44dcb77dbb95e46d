//! Customer records: found by id, by the host site's external id or by
//! email, created or updated from what a customer tells about themselves.
//!
//! A record is sealed with the customer's own data key (`keyring`); the
//! lookup indexes hold keyed hashes of the external id and the email,
//! never the values.

use chrono::Utc;

use super::model::*;
use super::store::{Store, StoreError};

/// The name sealed customer records are bound to.
pub(super) const CUSTOMERS: &str = "customers";

/// How an operator looks a customer up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CustomerLookup {
    Email(String),
    ExternalId(String),
}

impl Store {
    /// Find the customer with this external id, or create one; the profile's
    /// name and email update the record.
    /// `new_id` is the id of a customer this creates.
    pub(crate) async fn upsert_customer(
        &self,
        profile: CustomerProfile,
        new_id: CustomerId,
    ) -> Result<Customer, StoreError> {
        self.point(move |s| s.upsert_customer_now(profile, new_id))
    }

    /// The customer with this external id, if there is one.
    pub(crate) async fn customer_by_external(
        &self,
        external_id: String,
    ) -> Result<Option<CustomerId>, StoreError> {
        self.point(move |s| s.by_external_now(&external_id))
    }

    /// The customers an operator's lookup names, oldest first.
    pub(crate) async fn find_customers(
        &self,
        lookup: CustomerLookup,
    ) -> Result<Vec<Customer>, StoreError> {
        self.blocking(move |s| {
            let ids = match &lookup {
                CustomerLookup::ExternalId(ext) => s.by_external_now(ext)?.into_iter().collect(),
                CustomerLookup::Email(email) => {
                    let hash = s.keys.lookup_key("email", &normal_email(email));
                    let mut ids = Vec::new();
                    for entry in s.trees.customers_by_email.scan_prefix(hash) {
                        let (key, _) = entry?;
                        if let Some(id) = key.get(32..).and_then(|b| uuid::Uuid::from_slice(b).ok())
                        {
                            ids.push(CustomerId(id));
                        }
                    }
                    ids
                }
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(c) = s.customer_now(id)? {
                    out.push(c);
                }
            }
            out.sort_by_key(|c| c.created_at);
            Ok(out)
        })
        .await
    }

    fn by_external_now(&self, external_id: &str) -> Result<Option<CustomerId>, StoreError> {
        let key = self.keys.lookup_key("external_id", external_id);
        Ok(self
            .trees
            .customers_by_external
            .get(key)?
            .and_then(|id| uuid::Uuid::from_slice(&id).ok())
            .map(CustomerId)
            .filter(|id| self.keys.has(*id)))
    }

    /// The customer record; `None` if absent or erased.
    pub(super) fn customer_now(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        match self.trees.customers.get(id.as_bytes())? {
            Some(bytes) => self.unseal("customer", CUSTOMERS, id.as_bytes(), &bytes),
            None => Ok(None),
        }
    }

    /// Store `customer`, keeping the email index in step with `before`.
    pub(super) fn put_customer_now(
        &self,
        customer: &Customer,
        before: Option<&Customer>,
    ) -> Result<(), StoreError> {
        let t = &self.trees;
        self.keys.create(customer.id)?;
        let sealed = self.seal(
            "customer",
            customer.id,
            CUSTOMERS,
            customer.id.as_bytes(),
            customer,
        )?;
        t.customers.insert(customer.id.as_bytes(), sealed)?;
        if let Some(ext) = &customer.external_id {
            t.customers_by_external.insert(
                self.keys.lookup_key("external_id", ext),
                customer.id.as_bytes(),
            )?;
        }
        let old_email = before.and_then(|c| c.email.as_deref());
        if old_email != customer.email.as_deref() {
            if let Some(old) = old_email {
                t.customers_by_email
                    .remove(self.email_key(old, customer.id))?;
            }
        }
        if let Some(email) = &customer.email {
            t.customers_by_email
                .insert(self.email_key(email, customer.id), &[][..])?;
        }
        Ok(())
    }

    pub(super) fn email_key(&self, email: &str, id: CustomerId) -> Vec<u8> {
        let mut key = self.keys.lookup_key("email", &normal_email(email)).to_vec();
        key.extend_from_slice(id.as_bytes());
        key
    }

    fn upsert_customer_now(
        &self,
        profile: CustomerProfile,
        new_id: CustomerId,
    ) -> Result<Customer, StoreError> {
        let existing = match &profile.external_id {
            Some(ext) => match self.by_external_now(ext)? {
                Some(id) => self.customer_now(id)?,
                None => None,
            },
            None => None,
        };
        let mut customer = existing.clone().unwrap_or_else(|| Customer {
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
        if existing.as_ref() != Some(&customer) {
            self.put_customer_now(&customer, existing.as_ref())?;
        }
        Ok(customer)
    }

    /// Record the email a customer left. Durable on return.
    pub(crate) async fn set_customer_email(
        &self,
        id: CustomerId,
        email: String,
    ) -> Result<(), StoreError> {
        self.point(move |s| {
            let before = s
                .customer_now(id)?
                .ok_or(StoreError::NotFound("customer"))?;
            let mut customer = before.clone();
            customer.email = Some(email.clone());
            s.put_customer_now(&customer, Some(&before))
        })?;
        self.durable().await
    }

    pub(crate) async fn customer(&self, id: CustomerId) -> Result<Customer, StoreError> {
        self.point(move |s| s.customer_now(id)?.ok_or(StoreError::NotFound("customer")))
    }
}

/// Emails are looked up without regard to case or surrounding space.
fn normal_email(email: &str) -> String {
    email.trim().to_lowercase()
}
