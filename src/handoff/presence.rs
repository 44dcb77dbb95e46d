//! Agent presence: who is connected, online or away, and how many
//! conversations each one owns.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::crm::AgentRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Presence {
    Online,
    Away,
    Offline,
}

/// An agent as the console lists them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AgentView {
    pub id: String,
    pub name: String,
    pub presence: Presence,
    /// Conversations they own now.
    pub active: usize,
    pub capacity: usize,
}

#[derive(Debug, Clone)]
struct Seen {
    name: String,
    sockets: usize,
    away: bool,
}

/// Every agent seen since the server started.
#[derive(Debug, Default)]
pub(crate) struct Roster {
    agents: HashMap<String, Seen>,
}

impl Roster {
    /// A socket of `agent` connected; connecting makes them online.
    pub(crate) fn connect(&mut self, agent: &AgentRef) {
        let seen = self.agents.entry(agent.id.clone()).or_insert(Seen {
            name: agent.name.clone(),
            sockets: 0,
            away: false,
        });
        seen.sockets += 1;
        seen.away = false;
    }

    pub(crate) fn disconnect(&mut self, id: &str) {
        if let Some(seen) = self.agents.get_mut(id) {
            seen.sockets = seen.sockets.saturating_sub(1);
        }
    }

    /// Set online or away; `Offline` is only reached by disconnecting.
    pub(crate) fn set_away(&mut self, id: &str, away: bool) {
        if let Some(seen) = self.agents.get_mut(id) {
            seen.away = away;
        }
    }

    pub(crate) fn presence(&self, id: &str) -> Presence {
        match self.agents.get(id) {
            Some(s) if s.sockets == 0 => Presence::Offline,
            Some(s) if s.away => Presence::Away,
            Some(_) => Presence::Online,
            None => Presence::Offline,
        }
    }

    /// The agent with `id`, if they are online.
    pub(crate) fn online(&self, id: &str) -> Option<AgentRef> {
        (self.presence(id) == Presence::Online).then(|| AgentRef {
            id: id.to_owned(),
            name: self.agents[id].name.clone(),
        })
    }

    pub(crate) fn anyone_online(&self) -> bool {
        self.agents
            .keys()
            .any(|id| self.presence(id) == Presence::Online)
    }

    /// Every agent seen, online first, then by name; `active` counts the
    /// conversations each owns.
    pub(crate) fn views(&self, active: impl Fn(&str) -> usize, capacity: usize) -> Vec<AgentView> {
        let mut out: Vec<AgentView> = self
            .agents
            .iter()
            .map(|(id, seen)| AgentView {
                id: id.clone(),
                name: seen.name.clone(),
                presence: self.presence(id),
                active: active(id),
                capacity,
            })
            .collect();
        let rank = |p: Presence| match p {
            Presence::Online => 0,
            Presence::Away => 1,
            Presence::Offline => 2,
        };
        out.sort_by(|a, b| {
            (rank(a.presence), &a.name, &a.id).cmp(&(rank(b.presence), &b.name, &b.id))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_follows_sockets_and_away() {
        let mut r = Roster::default();
        let a = AgentRef {
            id: "a".into(),
            name: "Alex".into(),
        };
        assert_eq!(r.presence("a"), Presence::Offline);
        r.connect(&a);
        r.connect(&a);
        r.set_away("a", true);
        assert_eq!(r.presence("a"), Presence::Away);
        assert!(!r.anyone_online());
        r.disconnect("a");
        assert_eq!(r.presence("a"), Presence::Away);
        r.disconnect("a");
        assert_eq!(r.presence("a"), Presence::Offline);
        r.connect(&a);
        assert_eq!(r.online("a").map(|x| x.name), Some("Alex".into()));
    }
}
