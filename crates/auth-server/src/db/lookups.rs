//! Access-token lookups by key, batched: concurrent requests hand their keys to a few threads, each
//! of which reads everything waiting in one query and answers every caller.
//!
//! On PostgreSQL a lookup was one round trip, and the database's own work per query (a backend
//! woken, a statement bound and executed, a result sent) cost more than the server's; one query for
//! a batch pays it once. A key joins a batch only before the batch's query starts, so every caller
//! reads the database as it was after its request arrived: a token revoked before then is never
//! reported active.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::oneshot;

use super::tokens::{self, AccessTokenRecord};
use super::{Store, StoreError};
use crate::workers::{Pool, PoolSpec, Priority, Worker};

/// How long a request waits for its lookup: past the pool's own wait for a connection
/// (`database.connect_timeout_ms`, 3 s by default), a lookup is not coming.
pub const PATIENCE: Duration = Duration::from_secs(5);

struct Lookup {
    token_id: String,
    answer: oneshot::Sender<Result<Option<AccessTokenRecord>, StoreError>>,
}

pub struct AccessTokenLookups {
    pool: Pool<Lookup>,
    patience: Duration,
}

impl AccessTokenLookups {
    /// `threads` threads, each reading up to `max_batch` keys a query.
    pub fn new(store: Store, threads: usize, max_batch: usize) -> Self {
        let spec = PoolSpec {
            name: "db-lookup",
            threads,
            queue: 4096,
            batch: max_batch,
            priority: Priority::Normal,
        };
        Self {
            pool: Pool::start(spec, |_| Reader {
                store: store.clone(),
            }),
            patience: PATIENCE,
        }
    }

    /// The access token stored under `token_id`, if any; the calling task waits without holding
    /// a thread, and for [`PATIENCE`] at most: a query stuck on an unreachable database must not
    /// hold every request that needs a token until TCP gives up.
    pub async fn find(&self, token_id: String) -> Result<Option<AccessTokenRecord>, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.pool.try_submit(Lookup { token_id, answer })?;
        match tokio::time::timeout(self.patience, answered).await {
            Ok(Ok(found)) => found,
            Ok(Err(_)) => Err(StoreError::Unavailable(
                "a token lookup thread stopped".into(),
            )),
            Err(_) => Err(StoreError::Unavailable(
                "no answer from the database in time".into(),
            )),
        }
    }

    /// Answers what is queued, then stops. Blocks.
    pub fn shutdown(&self) {
        self.pool.shutdown();
    }
}

/// A lookup thread: every key waiting, in one query.
struct Reader {
    store: Store,
}

impl Worker<Lookup> for Reader {
    fn handle(&mut self, batch: Vec<Lookup>) {
        let mut keys: Vec<&str> = batch.iter().map(|l| l.token_id.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let found = self
            .store
            .with_conn(|conn| tokens::find_access_many(conn, &keys));
        match found {
            Ok(records) => {
                let by_key: HashMap<String, AccessTokenRecord> = records
                    .into_iter()
                    .map(|record| (record.token_id.clone(), record))
                    .collect();
                for Lookup { token_id, answer } in batch {
                    let _ = answer.send(Ok(by_key.get(&token_id).cloned()));
                }
            }
            Err(error) => {
                for lookup in batch {
                    let _ = lookup.answer.send(Err(error.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_support::{access_token, sqlite_store, sqlite_store_with};
    use crate::db::tokens::insert_access;

    #[tokio::test]
    async fn a_lookup_that_cannot_get_an_answer_gives_up_with_unavailable() {
        // One connection, held here: the lookup thread waits 10 s for it.
        let (_dir, store) = sqlite_store_with(1, std::time::Duration::from_secs(10));
        let _held = store.conn().unwrap();
        let mut lookups = AccessTokenLookups::new(store.clone(), 1, 64);
        lookups.patience = std::time::Duration::from_millis(200);
        let started = std::time::Instant::now();
        let answer = lookups.find("k1".into()).await;
        assert!(
            matches!(answer, Err(StoreError::Unavailable(_))),
            "{answer:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[tokio::test]
    async fn concurrent_lookups_each_get_their_own_token_or_none() {
        let (_dir, store) = sqlite_store();
        for id in ["k1", "k2", "k3"] {
            insert_access(&mut store.conn().unwrap(), &access_token(id)).unwrap();
        }
        let lookups = AccessTokenLookups::new(store, 1, 64);
        let asked = ["k1", "nope", "k2", "k1", "k3", "k2", "gone"];
        let answers =
            futures_util::future::join_all(asked.iter().map(|id| lookups.find(id.to_string())))
                .await;
        for (id, answer) in asked.iter().zip(answers) {
            let found = answer.unwrap().map(|r| r.token_id);
            let expected = id.starts_with('k').then(|| id.to_string());
            assert_eq!(found, expected, "lookup of {id}");
        }
    }
}
