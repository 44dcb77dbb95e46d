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
use super::rewrite::{SEALED, SEALED_AND_CLEAN, SEALED_NOT_REWRITTEN};
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
    /// customers (and their lookup indexes) and timeline events. Returns
    /// whether the files must now be rewritten (`crm::rewrite`) to drop
    /// the plain bytes sled's log still holds.
    pub(super) fn seal_legacy_records(&self) -> Result<bool, StoreError> {
        let t = &self.trees;
        match t.meta.get(SEALED)?.as_deref() {
            Some([SEALED_AND_CLEAN]) => return Ok(false),
            Some([SEALED_NOT_REWRITTEN]) => return Ok(true),
            _ => {}
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
        let legacy = customers + events > 0;
        let state = if legacy {
            SEALED_NOT_REWRITTEN
        } else {
            SEALED_AND_CLEAN
        };
        t.meta.insert(SEALED, &[state][..])?;
        if legacy {
            tracing::info!(
                customers,
                events,
                "records from before encryption at rest sealed"
            );
        }
        Ok(legacy)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::super::master_key::MasterKey;
    use super::super::retention::{Ages, Due};
    use super::*;

    fn open(dir: &std::path::Path) -> Store {
        let master = MasterKey::from_hex(&"5a".repeat(32)).unwrap();
        Store::open(dir, &master).unwrap()
    }

    /// A customer with one conversation and one message; returns both ids.
    async fn customer_with_message(store: &Store, text: &str) -> (CustomerId, ConversationId) {
        let profile = CustomerProfile {
            external_id: None,
            name: Some("Ada".into()),
            email: Some(format!("{text}@example.org")),
        };
        let customer = store
            .upsert_customer(profile, CustomerId::new())
            .await
            .unwrap();
        let id = ConversationId::new();
        let token: [u8; 32] = crate::auth::random_bytes();
        store
            .open_conversation(id, customer.id, token)
            .await
            .unwrap();
        let message = NewMessage::customer("c1".into(), text.into(), None);
        store.append_message(id, message).await.unwrap();
        (customer.id, id)
    }

    fn holds(dir: &std::path::Path, needle: &str) -> bool {
        std::fs::read_dir(dir.join("store"))
            .unwrap()
            .flatten()
            .chain(std::fs::read_dir(dir).unwrap().flatten())
            .filter(|e| e.path().is_file())
            .any(|e| {
                let bytes = std::fs::read(e.path()).unwrap();
                bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            })
    }

    #[tokio::test]
    async fn an_erasure_cut_short_after_the_key_is_finished_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let (ada, ada_conv) = customer_with_message(&store, "ada-unique-words").await;
        let (bob, bob_conv) = customer_with_message(&store, "bob-unique-words").await;
        // The first steps of `erase_customer`, then the process "dies".
        store
            .trees
            .erasures
            .insert(ada.as_bytes(), &[][..])
            .unwrap();
        store.flush().unwrap();
        store.keys.destroy(ada).unwrap();
        drop(store);

        let store = open(dir.path());
        assert!(store.trees.erasures.is_empty());
        assert!(matches!(
            store.customer(ada).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.conversation(ada_conv).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store
            .trees
            .events
            .scan_prefix(ada_conv.as_bytes())
            .next()
            .is_none());
        assert!(store
            .trees
            .messages
            .scan_prefix(ada_conv.as_bytes())
            .next()
            .is_none());
        assert!(store
            .trees
            .client_ids
            .scan_prefix(ada_conv.as_bytes())
            .next()
            .is_none());
        assert_eq!(store.trees.resume_tokens.len(), 1);
        assert_eq!(store.trees.customers_by_email.len(), 1);
        // Bob is untouched.
        assert_eq!(
            store.customer(bob).await.unwrap().name.as_deref(),
            Some("Ada")
        );
        assert_eq!(store.conversation_events(bob_conv).await.unwrap().len(), 2);
        drop(store);
        assert!(!holds(dir.path(), "ada-unique-words"));
        assert!(!holds(dir.path(), "bob-unique-words"));
    }

    #[tokio::test]
    async fn a_customer_key_without_a_record_is_destroyed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let orphan = CustomerId::new();
        store.keys.create(orphan).unwrap();
        drop(store);
        let store = open(dir.path());
        assert!(!store.keys.has(orphan));
    }

    #[tokio::test]
    async fn retention_finds_exactly_what_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let (_, closed) = customer_with_message(&store, "closed").await;
        let (active, open_conv) = customer_with_message(&store, "open").await;
        store
            .update_conversation(closed, |c| {
                c.status = ConversationStatus::Closed;
                Ok::<_, StoreError>(vec![EventKind::ConversationClosed {
                    by: Sender::Customer,
                    agent: None,
                    resolution: None,
                }])
            })
            .await
            .unwrap();
        let day = chrono::Duration::days(1);
        let ages = Ages {
            closed_conversations: Some(day * 30),
            inactive_customers: Some(day * 365),
        };
        let now = Utc::now();
        assert_eq!(
            store.retention_due(now, ages, 10).await.unwrap(),
            Due::default()
        );
        let due = store.retention_due(now + day * 31, ages, 10).await.unwrap();
        assert_eq!(due.conversations, vec![closed]);
        assert!(due.customers.is_empty());
        let due = store
            .retention_due(now + day * 366, ages, 10)
            .await
            .unwrap();
        assert_eq!(due.customers.len(), 2);
        assert!(due.customers.contains(&active));
        // Batches.
        let due = store.retention_due(now + day * 366, ages, 1).await.unwrap();
        assert_eq!((due.conversations.len(), due.customers.len()), (1, 1));
        // Removing a conversation removes it all; the customer stays.
        store.delete_conversation(closed).await.unwrap();
        assert!(store
            .trees
            .events
            .scan_prefix(closed.as_bytes())
            .next()
            .is_none());
        let due = store.retention_due(now + day * 31, ages, 10).await.unwrap();
        assert!(due.conversations.is_empty());
        assert!(store.conversation(open_conv).await.is_ok());
    }

    #[tokio::test]
    async fn records_from_before_sealing_are_sealed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        // What a store written before encryption at rest holds: plain
        // JSON records and an index by the plain external id.
        let customer = Customer {
            id: CustomerId::new(),
            external_id: Some("shop-42".into()),
            name: Some("Old Timer".into()),
            email: Some("old-timer@example.org".into()),
            created_at: Utc::now(),
        };
        let id = ConversationId::new();
        let conversation = Conversation::new(id, customer.id, Utc::now());
        let t = &store.trees;
        t.customers
            .insert(
                customer.id.as_bytes(),
                serde_json::to_vec(&customer).unwrap(),
            )
            .unwrap();
        t.customers_by_external
            .insert(b"shop-42", customer.id.as_bytes())
            .unwrap();
        t.conversations
            .insert(id.as_bytes(), serde_json::to_vec(&conversation).unwrap())
            .unwrap();
        let event = TimelineEvent {
            conversation_id: id,
            at: Utc::now(),
            kind: EventKind::Note {
                agent: AgentRef {
                    id: "a1".into(),
                    name: "Alex".into(),
                },
                text: "legacy-note-words".into(),
            },
        };
        t.events
            .insert(
                keys::conversation_seq(id, 0),
                serde_json::to_vec(&event).unwrap(),
            )
            .unwrap();
        t.customer_conversations
            .insert(
                keys::customer_conversation(
                    customer.id,
                    conversation.opened_at.timestamp_millis(),
                    id,
                ),
                &[][..],
            )
            .unwrap();
        store.keys.destroy(customer.id).unwrap();
        t.meta.remove(SEALED).unwrap();
        drop(store);

        let store = open(dir.path());
        assert_eq!(store.customer(customer.id).await.unwrap(), customer);
        assert_eq!(store.conversation_events(id).await.unwrap(), vec![event]);
        assert_eq!(
            store.customer_by_external("shop-42".into()).await.unwrap(),
            Some(customer.id)
        );
        assert!(store
            .trees
            .customers_by_external
            .get(b"shop-42")
            .unwrap()
            .is_none());
        let found = store
            .find_customers(super::super::CustomerLookup::Email(
                "Old-Timer@example.org".into(),
            ))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        drop(store);
        assert!(!holds(dir.path(), "legacy-note-words"));
        assert!(!holds(dir.path(), "old-timer@example.org"));
    }
}
