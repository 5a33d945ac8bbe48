//! The parties of recently used sessions, kept in memory so that sending a message costs
//! one database round trip instead of two.
//!
//! Tenant, landlord and property never change. The guide can (AssignGuide, possibly on
//! another instance), so an entry is only a belief: the send statement writes only if the
//! guide is still the one access was decided with, and on a mismatch the handler reloads
//! the session and decides again (see `message::db::store`).

use std::collections::HashMap;
use std::sync::RwLock;

use uuid::Uuid;

use crate::access::Parties;
use crate::session::Session;

/// What the send path needs to know about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub property_id: Uuid,
    pub parties: Parties,
}

impl From<&Session> for Facts {
    fn from(session: &Session) -> Self {
        Self {
            property_id: session.property_id,
            parties: session.parties,
        }
    }
}

/// A bounded map from session id to [`Facts`]. When full it starts over: each session
/// then costs one extra read, which is cheaper than tracking recency on every send.
pub struct FactsCache {
    capacity: usize,
    entries: RwLock<HashMap<Uuid, Facts>>,
}

impl FactsCache {
    /// A cache of at most `capacity` sessions; 0 keeps nothing.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, session_id: Uuid) -> Option<Facts> {
        // A poisoned lock only means a panic elsewhere mid-insert; the map is still a map.
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(&session_id).copied()
    }

    pub fn put(&self, session_id: Uuid, facts: Facts) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&session_id) {
            entries.clear();
        }
        entries.insert(session_id, facts);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn facts() -> Facts {
        Facts {
            property_id: Uuid::now_v7(),
            parties: Parties {
                tenant_id: Uuid::now_v7(),
                landlord_id: Uuid::now_v7(),
                assigned_guide_id: None,
            },
        }
    }

    #[test]
    fn keeps_at_most_its_capacity_and_replaces_an_entry_in_place() {
        let cache = FactsCache::new(2);
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        cache.put(a, facts());
        cache.put(b, facts());
        let mut changed = facts();
        changed.parties.assigned_guide_id = Some(Uuid::now_v7());
        cache.put(b, changed);
        assert_eq!(cache.get(b), Some(changed));
        assert!(cache.get(a).is_some(), "replacing b evicted nothing");
        cache.put(c, facts());
        assert!(cache.get(c).is_some());
        assert!(cache.get(a).is_none() && cache.get(b).is_none());
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = FactsCache::new(0);
        let id = Uuid::now_v7();
        cache.put(id, facts());
        assert_eq!(cache.get(id), None);
    }
}
