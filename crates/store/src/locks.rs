//! Serialising work across instances: one lock per [`LockKey`], held by one
//! task of one Cairn process at a time, whichever process it is.
//!
//! Every backend first takes an in-process lock for the key, so tasks of one
//! process queue in order without touching the database. PostgreSQL then
//! takes a session advisory lock (`pg_try_advisory_lock`) on one connection
//! per process kept for locks only: a waiter asks again after a short,
//! growing pause, so waiting never holds a pooled connection (nested locks
//! such as a link's then its OKR's cannot starve the pool), and an instance
//! that dies loses its connection and with it every lock it held. The work
//! done under a lock commits its writes before the guard is dropped, so the
//! next holder, in any instance, reads them. SQLite needs only the
//! in-process lock: one process owns the file.
//!
//! The design and its limits are in docs/decisions.md ("Serialising work
//! across instances").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What must not be worked on by two tasks at once, in any instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockKey {
    /// Recomputing one OKR: its progress is read, assessed and recorded as
    /// one step, so no point is recorded twice or out of order.
    Okr(i64),
    /// Applying item changes to one data link, in the order they were read.
    Link(i64),
    /// One notification channel's deliveries, one request at a time.
    Channel(i64),
    /// The Jira webhook batch of one connection: one search of its pending
    /// deliveries at a time, so an older search is never applied last.
    JiraBatch(i64),
    /// Reserved for two-way sync: one synced item of a pair (pair id, item
    /// id) at a time.
    SyncItem(i64, i64),
    /// Reserved for two-way sync: one run of a pair at a time.
    SyncPair(i64),
}

impl LockKey {
    /// The 64-bit key of PostgreSQL's advisory locks: the variant in the top
    /// byte, the id in the other 56 bits (ids are far below 2^56; a pair's
    /// item is mixed in). Two keys sharing a number only wait for each
    /// other needlessly; they never let two holders of one key in.
    pub fn advisory_key(self) -> i64 {
        const ID: i64 = (1 << 56) - 1;
        let (namespace, id) = match self {
            LockKey::Okr(id) => (1, id),
            LockKey::Link(id) => (2, id),
            LockKey::Channel(id) => (3, id),
            LockKey::JiraBatch(id) => (4, id),
            LockKey::SyncItem(pair, item) => (
                5,
                pair.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64) ^ item,
            ),
            LockKey::SyncPair(id) => (6, id),
        };
        (namespace << 56) | (id & ID)
    }
}

type Slot = Arc<tokio::sync::Mutex<()>>;

/// Async locks by key within this process; an entry lives only while
/// someone holds or awaits it.
#[derive(Default)]
pub(crate) struct KeyedLocks(Arc<Mutex<HashMap<LockKey, Slot>>>);

impl KeyedLocks {
    /// Waits for the lock of `key`; held until the guard is dropped.
    pub(crate) async fn lock(&self, key: LockKey) -> LocalGuard {
        let slot = {
            let mut locks = self.0.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(key).or_default().clone()
        };
        let guard = slot.lock_owned().await;
        LocalGuard {
            locks: self.0.clone(),
            key,
            guard: Some(guard),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// This process's hold on a key.
pub(crate) struct LocalGuard {
    locks: Arc<Mutex<HashMap<LockKey, Slot>>>,
    key: LockKey,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        // Let go first, then forget the entry if nobody else holds a clone
        // (the map's is the only one left): nobody holds or waits for it.
        drop(self.guard.take());
        if locks
            .get(&self.key)
            .is_some_and(|slot| Arc::strong_count(slot) <= 1)
        {
            locks.remove(&self.key);
        }
    }
}

/// Gives a key back to other instances when a guard is dropped.
pub(crate) trait Release: Send + Sync {
    fn release(&self, key: LockKey);
}

/// A held [`LockKey`]; dropping it lets the next holder in, in this process
/// or another. Commit what was written under it before dropping it.
pub struct KeyLock {
    key: LockKey,
    shared: Option<Arc<dyn Release>>,
    _local: LocalGuard,
}

impl KeyLock {
    pub(crate) fn new(key: LockKey, local: LocalGuard, shared: Option<Arc<dyn Release>>) -> Self {
        KeyLock {
            key,
            shared,
            _local: local,
        }
    }

    /// The key held.
    pub fn key(&self) -> LockKey {
        self.key
    }
}

impl Drop for KeyLock {
    fn drop(&mut self) {
        // The database lock is given back before the local one (dropped
        // after this body): the next local holder re-enters the session's
        // lock, which PostgreSQL counts, so the two never overlap wrongly.
        if let Some(shared) = self.shared.take() {
            shared.release(self.key);
        }
    }
}

impl std::fmt::Debug for KeyLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLock").field("key", &self.key).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_key_and_no_leftovers() {
        let locks = Arc::new(KeyedLocks::default());
        let first = locks.lock(LockKey::Okr(1)).await;
        let other_key = locks.lock(LockKey::Link(1)).await;
        let waiting = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _second = locks.lock(LockKey::Okr(1)).await;
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the second waits for the first");
        drop(first);
        waiting.await.expect("acquired after the first let go");
        drop(other_key);
        assert_eq!(locks.len(), 0);
    }

    #[test]
    fn advisory_keys_of_different_kinds_differ() {
        let keys = [
            LockKey::Okr(7),
            LockKey::Link(7),
            LockKey::Channel(7),
            LockKey::JiraBatch(7),
            LockKey::SyncItem(7, 7),
            LockKey::SyncPair(7),
        ];
        let numbers: std::collections::BTreeSet<i64> =
            keys.iter().map(|k| k.advisory_key()).collect();
        assert_eq!(numbers.len(), keys.len());
        assert_ne!(
            LockKey::SyncItem(1, 2).advisory_key(),
            LockKey::SyncItem(2, 1).advisory_key()
        );
    }
}
