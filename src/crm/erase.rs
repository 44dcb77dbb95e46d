//! Removing customers and conversations: erasure (crypto-shredding first,
//! then every record and index entry), the deletion of one conversation
//! (retention), and the start-up work that keeps both crash-safe.
//!
//! Erasing a customer is recorded in the `erasures` tree and made durable
//! before anything is removed; their data key is destroyed next, so from
//! that moment nothing of theirs can be read, whatever is still on disk.
//! Removing the records follows, and the mark goes last. A crash anywhere
//! in between leaves the mark, and [`Store::open`] finishes the erasure.

use super::conversations::EVENTS;
use super::keyring::{is_sealed, sealed_owner};
use super::keys;
use super::model::*;
use super::store::{decode_record, Store, StoreError};

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Erased {
    /// Whether the customer existed (an erasure is idempotent).
    pub existed: bool,
    pub conversations: Vec<ConversationId>,
}

impl Store {
    /// Forget `customer`: destroy their key, then remove their record,
    /// conversations, events and every index entry. Durable on return;
    /// idempotent.
    pub(crate) async fn erase_customer(&self, customer: CustomerId) -> Result<Erased, StoreError> {
        let erased = self
            .blocking(move |s| {
                let existed =
                    s.trees.customers.contains_key(customer.as_bytes())? || s.keys.has(customer);
                let conversations = s.conversation_ids_now(customer)?;
                s.trees.erasures.insert(customer.as_bytes(), &[][..])?;
                s.flush()?;
                s.erase_now(customer)?;
                Ok(Erased {
                    existed,
                    conversations,
                })
            })
            .await?;
        self.durable().await?;
        Ok(erased)
    }

    /// The ids of a customer's conversations, oldest first.
    pub(crate) fn conversation_ids_now(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let mut out = Vec::new();
        for entry in self
            .trees
            .customer_conversations
            .scan_prefix(customer.as_bytes())
        {
            let (key, _) = entry?;
            out.extend(keys::conversation_of(&key));
        }
        Ok(out)
    }

    /// The steps after the mark; each is idempotent.
    fn erase_now(&self, customer: CustomerId) -> Result<(), StoreError> {
        self.keys.destroy(customer)?;
        for id in self.conversation_ids_now(customer)? {
            self.delete_conversation_now(id)?;
        }
        let t = &self.trees;
        for tree in [&t.customers_by_external] {
            for entry in tree.iter() {
                let (key, value) = entry?;
                if value.as_ref() == customer.as_bytes() {
                    tree.remove(key)?;
                }
            }
        }
        for entry in t.customers_by_email.iter() {
            let (key, _) = entry?;
            if key.get(32..) == Some(&customer.as_bytes()[..]) {
                t.customers_by_email.remove(key)?;
            }
        }
        t.customers.remove(customer.as_bytes())?;
        t.erasures.remove(customer.as_bytes())?;
        Ok(())
    }

    /// Remove one conversation and everything about it. The header goes
    /// last, so an interrupted removal is found and finished by the next.
    pub(crate) fn delete_conversation_now(&self, id: ConversationId) -> Result<(), StoreError> {
        let t = &self.trees;
        for tree in [&t.events, &t.messages, &t.client_ids] {
            let mut batch = sled::Batch::default();
            for entry in tree.scan_prefix(id.as_bytes()) {
                batch.remove(entry?.0);
            }
            tree.apply_batch(batch)?;
        }
        t.handoffs.remove(id.as_bytes())?;
        match t.conversation_resume.remove(id.as_bytes())? {
            Some(hash) => {
                t.resume_tokens.remove(hash)?;
            }
            None => {
                // Conversations opened before the reverse index existed.
                for entry in t.resume_tokens.iter() {
                    let (key, value) = entry?;
                    if value.as_ref() == id.as_bytes() {
                        t.resume_tokens.remove(key)?;
                    }
                }
            }
        }
        if let Some(bytes) = t.conversations.get(id.as_bytes())? {
            let c: Conversation = decode_record("conversation", &bytes)?;
            let millis = c.opened_at.timestamp_millis();
            t.conversations_by_time.remove(keys::by_time(millis, id))?;
            t.customer_conversations
                .remove(keys::customer_conversation(c.customer_id, millis, id))?;
        }
        t.conversations.remove(id.as_bytes())?;
        Ok(())
    }

    /// Finish erasures a crash interrupted.
    pub(super) fn finish_erasures(&self) -> Result<(), StoreError> {
        let pending: Vec<CustomerId> = self
            .trees
            .erasures
            .iter()
            .keys()
            .filter_map(|k| k.ok())
            .filter_map(|k| uuid::Uuid::from_slice(&k).ok())
            .map(CustomerId)
            .collect();
        for customer in pending {
            self.erase_now(customer)?;
            tracing::info!(customer_id = %customer, "interrupted erasure finished");
        }
        Ok(())
    }

    /// Destroy data keys that no customer record uses: a customer whose
    /// key was written but whose record was not (a crash in between).
    pub(super) fn forget_orphan_keys(&self) -> Result<(), StoreError> {
        for customer in self.keys.customers() {
            if !self.trees.customers.contains_key(customer.as_bytes())? {
                self.keys.destroy(customer)?;
            }
        }
        Ok(())
    }

    /// Seal the records a store from before sealing holds in plain JSON:
    /// customers (and their lookup indexes) and timeline events. Runs once.
    pub(super) fn seal_legacy_records(&self) -> Result<(), StoreError> {
        const DONE: &[u8] = b"records_sealed";
        let t = &self.trees;
        if t.meta.contains_key(DONE)? {
            return Ok(());
        }
        let mut customers = 0usize;
        let legacy_external: Vec<sled::IVec> = t
            .customers_by_external
            .iter()
            .keys()
            .collect::<Result<_, _>>()?;
        for key in legacy_external {
            t.customers_by_external.remove(key)?;
        }
        for entry in t.customers.iter() {
            let (_, bytes) = entry?;
            // A crash during an earlier run may have sealed some already.
            let customer: Customer = match sealed_owner(&bytes) {
                Some(id) if is_sealed(&bytes) => match self.customer_now(id)? {
                    Some(c) => c,
                    None => continue,
                },
                _ => {
                    customers += 1;
                    decode_record("customer", &bytes)?
                }
            };
            self.put_customer_now(&customer, None)?;
        }
        let mut events = 0usize;
        let mut owner: Option<(ConversationId, CustomerId)> = None;
        for entry in t.events.iter() {
            let (key, bytes) = entry?;
            if is_sealed(&bytes) {
                continue;
            }
            let Some(id) = key
                .get(..16)
                .and_then(|b| uuid::Uuid::from_slice(b).ok())
                .map(ConversationId)
            else {
                continue;
            };
            let customer = match owner {
                Some((c, customer)) if c == id => customer,
                _ => match self.conversation_now(id) {
                    Ok(c) => {
                        owner = Some((id, c.customer_id));
                        c.customer_id
                    }
                    Err(StoreError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                },
            };
            let event: TimelineEvent = decode_record("timeline event", &bytes)?;
            self.keys.create(customer)?;
            t.events.insert(
                &key,
                self.seal("timeline event", customer, EVENTS, &key, &event)?,
            )?;
            events += 1;
        }
        t.meta.insert(DONE, &[1][..])?;
        if customers + events > 0 {
            tracing::info!(
                customers,
                events,
                "records from before encryption at rest sealed"
            );
        }
        Ok(())
    }
}
