//! Everything stored about one customer, as one document (GDPR art. 15).
//! The schema is documented in docs/privacy.md.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::*;
use super::store::{Store, StoreError};

/// The version of the export document's schema.
pub(crate) const EXPORT_SCHEMA: &str = "frontdesk.customer-export.v1";

/// A customer's data: their record and every conversation with its whole
/// timeline (messages with their analysis, feedback, ratings, contact
/// details left, notes agents wrote, changes of hands).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CustomerExport {
    pub schema: &'static str,
    pub exported_at: DateTime<Utc>,
    pub customer: Customer,
    pub conversations: Vec<ConversationExport>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConversationExport {
    pub conversation: Conversation,
    pub events: Vec<TimelineEvent>,
}

impl Store {
    pub(crate) async fn export_customer(
        &self,
        id: CustomerId,
    ) -> Result<CustomerExport, StoreError> {
        self.blocking(move |s| {
            let customer = s
                .customer_now(id)?
                .ok_or(StoreError::NotFound("customer"))?;
            let mut conversations = Vec::new();
            for cid in s.conversation_ids_now(id)? {
                let conversation = match s.conversation_now(cid) {
                    Ok(c) => c,
                    Err(StoreError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                conversations.push(ConversationExport {
                    conversation,
                    events: s.events_now(cid)?,
                });
            }
            Ok(CustomerExport {
                schema: EXPORT_SCHEMA,
                exported_at: Utc::now(),
                customer,
                conversations,
            })
        })
        .await
    }
}
