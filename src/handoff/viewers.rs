//! Who has a conversation open in a console, so that two agents see each
//! other before they both answer.

use std::collections::HashMap;

use crate::crm::{AgentRef, ConversationId};

/// Agents viewing each conversation; an agent with two consoles on the
/// same conversation counts once.
#[derive(Debug, Default)]
pub(crate) struct Viewers {
    open: HashMap<ConversationId, Vec<(AgentRef, usize)>>,
}

impl Viewers {
    /// `agent` opened (`true`) or left (`false`) conversation `id`;
    /// whether the set of viewers changed.
    pub(crate) fn set(&mut self, id: ConversationId, agent: &AgentRef, open: bool) -> bool {
        let list = self.open.entry(id).or_default();
        let at = list.iter().position(|(a, _)| a.id == agent.id);
        let changed = match (at, open) {
            (Some(i), true) => {
                list[i].1 += 1;
                false
            }
            (None, true) => {
                list.push((agent.clone(), 1));
                true
            }
            (Some(i), false) => {
                list[i].1 -= 1;
                let gone = list[i].1 == 0;
                if gone {
                    list.remove(i);
                }
                gone
            }
            (None, false) => false,
        };
        if list.is_empty() {
            self.open.remove(&id);
        }
        changed
    }

    pub(crate) fn of(&self, id: ConversationId) -> Vec<AgentRef> {
        self.open
            .get(&id)
            .map(|l| l.iter().map(|(a, _)| a.clone()).collect())
            .unwrap_or_default()
    }

    /// Forget a conversation that no longer exists.
    pub(crate) fn forget(&mut self, id: ConversationId) {
        self.open.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str) -> AgentRef {
        AgentRef {
            id: id.into(),
            name: id.to_uppercase(),
        }
    }

    #[test]
    fn two_consoles_of_one_agent_count_once() {
        let mut v = Viewers::default();
        let id = ConversationId::new();
        assert!(v.set(id, &agent("a"), true));
        assert!(!v.set(id, &agent("a"), true));
        assert!(v.set(id, &agent("b"), true));
        assert_eq!(v.of(id).len(), 2);
        assert!(!v.set(id, &agent("a"), false));
        assert!(v.set(id, &agent("a"), false));
        assert_eq!(v.of(id), vec![agent("b")]);
        assert!(!v.set(id, &agent("c"), false));
        assert!(v.set(id, &agent("b"), false));
        assert!(v.of(id).is_empty());
    }
}
