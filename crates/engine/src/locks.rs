//! Async locks by key (an OKR, a link), for work in this process that must
//! not interleave; an entry lives only while someone holds or awaits it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub(crate) struct KeyedLocks(Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>);

impl KeyedLocks {
    /// Waits for the lock of `key`; held until the guard is dropped.
    pub(crate) async fn lock(&self, key: i64) -> KeyedGuard<'_> {
        let lock = {
            let mut locks = self.0.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(key).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        KeyedGuard {
            locks: self,
            key,
            _guard: guard,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

pub(crate) struct KeyedGuard<'a> {
    locks: &'a KeyedLocks,
    key: i64,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for KeyedGuard<'_> {
    fn drop(&mut self) {
        let mut locks = self.locks.0.lock().unwrap_or_else(|e| e.into_inner());
        // Referenced by the map and this guard only: nobody else holds or
        // waits for it.
        if locks
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) <= 2)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_key_and_no_leftovers() {
        let locks = Arc::new(KeyedLocks::default());
        let first = locks.lock(1).await;
        let _other_key = locks.lock(2).await;
        let waiting = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _second = locks.lock(1).await;
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the second waits for the first");
        drop(first);
        waiting.await.expect("acquired after the first let go");
        drop(_other_key);
        assert_eq!(locks.len(), 0);
    }
}
