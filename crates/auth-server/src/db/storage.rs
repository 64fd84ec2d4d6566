//! The database as the services reach it, through the interfaces of [`crate::stores`]. This is the
//! one place that decides where database work runs:
//!
//! | work | threads |
//! |---|---|
//! | access-token lookups (introspection, the guard) | `db-lookup`, every key waiting in one query |
//! | every write (tokens, codes, revocations, approvals) | `db-writer`, group commit |
//! | other reads (clients, users, refresh tokens, approvals, `/health`) | `db-reader` |
//! | purge and SQLite checkpoints | `db-maintenance` |
//!
//! A caller awaits its answer without holding a thread.

use std::sync::Arc;

use super::codes::{self, CodeRecord};
use super::lookups::AccessTokenLookups;
use super::tokens::{self, AccessTokenRecord, NewTokens, RefreshTokenRecord, Stored};
use super::writer::BatchWriter;
use super::{approvals, clients, users, Backend, DbConnection, Store, StoreError};
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::token_value;
use crate::domain::user::User;
use crate::stores::{ApprovalStore, ClientStore, CodeDecision, Exchanged, TokenStore, UserStore};
use crate::workers::{Pool, PoolSpec, Priority, Task};

/// Threads and batch sizes of the storage pools (`database.*`, resolved for this machine).
#[derive(Debug, Clone, Copy)]
pub struct StorageThreads {
    pub readers: usize,
    pub lookups: usize,
    pub writers: usize,
    pub write_batch_max: usize,
}

impl StorageThreads {
    /// `0` means "what suits this machine and backend", measured:
    /// - readers: two per core (31k introspections/s on SQLite against 24k with one per core;
    ///   PostgreSQL reads, waiting on the network, overlap at least as well);
    /// - lookups: as many as readers on SQLite; one on PostgreSQL, so that a batch gathers every
    ///   lookup that arrives during the previous one's round trip (23k introspections/s of 5,000
    ///   distinct tokens against 15k with two threads and 14k with four);
    /// - writers: one on SQLite, which has one writer at a time, two on PostgreSQL.
    pub fn resolve(
        backend: Backend,
        readers: usize,
        writers: usize,
        write_batch_max: usize,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let readers = match readers {
            0 => cores * 2,
            n => n,
        };
        Self {
            readers,
            lookups: match backend {
                Backend::Sqlite => readers,
                Backend::Postgres => 1,
            },
            writers: match (writers, backend) {
                (0, Backend::Sqlite) => 1,
                (0, Backend::Postgres) => 2,
                (n, _) => n,
            },
            write_batch_max,
        }
    }
}

/// Most keys read in one query by the batched token lookups.
const LOOKUP_BATCH_MAX: usize = 128;

/// Cheap to clone: every clone shares the pools.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    readers: Pool<Task>,
    lookups: AccessTokenLookups,
    writer: BatchWriter,
    maintenance: Pool<Task>,
}

impl Storage {
    pub fn new(store: Store, threads: StorageThreads) -> Self {
        let tasks = |name, threads| {
            Pool::for_tasks(PoolSpec {
                name,
                threads,
                queue: 4096,
                batch: 1,
                priority: Priority::Normal,
            })
        };
        Self {
            inner: Arc::new(Inner {
                readers: tasks("db-reader", threads.readers),
                lookups: AccessTokenLookups::new(store.clone(), threads.lookups, LOOKUP_BATCH_MAX),
                writer: BatchWriter::new(store.clone(), threads.writers, threads.write_batch_max),
                maintenance: tasks("db-maintenance", 2),
                store,
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// A short read, on a reader thread.
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.inner.store.clone();
        self.inner
            .readers
            .run(move || store.with_conn(read))
            .await?
    }

    /// A write, in the next batch's transaction; answered once that has committed.
    pub async fn write<T: Send + 'static>(
        &self,
        write: impl FnMut(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner.writer.write(write).await
    }

    /// Long-running upkeep (a purge, a checkpoint), off the request path.
    pub async fn maintain<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.inner.store.clone();
        self.inner.maintenance.run(move || work(&store)).await?
    }

    /// For `/health`: a round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let store = self.inner.store.clone();
        self.inner.readers.run(move || store.ping()).await?
    }

    /// Finishes what is queued, writes first committed, then stops every thread. Blocks.
    pub fn shutdown(&self) {
        self.inner.writer.shutdown();
        self.inner.lookups.shutdown();
        self.inner.readers.shutdown();
        self.inner.maintenance.shutdown();
    }
}

/// The refresh token `value` stands for, under whichever of its keys it is stored.
fn find_refresh_by_value(
    conn: &mut DbConnection,
    value: &str,
) -> Result<Option<RefreshTokenRecord>, StoreError> {
    for key in token_value::stored_keys(value) {
        if let Some(found) = tokens::find_refresh(conn, &key)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

impl ClientStore for Storage {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let client_id = client_id.to_owned();
        self.read(move |conn| clients::find(conn, &client_id)).await
    }
}

impl UserStore for Storage {
    async fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let username = username.to_owned();
        self.read(move |conn| users::find(conn, &username)).await
    }
}

impl TokenStore for Storage {
    async fn store_tokens(&self, new: NewTokens) -> Result<Stored, StoreError> {
        if new.is_lone() {
            self.inner.writer.insert_access(new.access).await?;
            return Ok(Stored::Stored);
        }
        self.write(move |conn| tokens::store(conn, &new)).await
    }

    async fn access_token(&self, value: &str) -> Result<Option<AccessTokenRecord>, StoreError> {
        for key in token_value::stored_keys(value) {
            if let Some(found) = self.inner.lookups.find(key).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn refresh_token(&self, value: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let value = value.to_owned();
        self.read(move |conn| find_refresh_by_value(conn, &value))
            .await
    }

    async fn revoke_family(&self, family_id: &str) -> Result<usize, StoreError> {
        let family_id = family_id.to_owned();
        self.write(move |conn| tokens::revoke_family(conn, &family_id, clock::now()))
            .await
    }

    async fn store_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        self.write(move |conn| codes::store_new(conn, &code)).await
    }

    async fn exchange_code(&self, code: String, now: i64, mut decide: CodeDecision) -> Exchanged {
        self.write(move |conn| codes::exchange(conn, &code, now, &mut decide))
            .await
    }
}

impl ApprovalStore for Storage {
    async fn approved_scopes(
        &self,
        username: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let (username, client_id) = (username.to_owned(), client_id.to_owned());
        self.read(move |conn| approvals::approved_scopes(conn, &username, &client_id, now))
            .await
    }

    async fn save_approvals(
        &self,
        username: &str,
        client_id: &str,
        decisions: Vec<(String, bool)>,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let (username, client_id) = (username.to_owned(), client_id.to_owned());
        self.write(move |conn| {
            approvals::save(conn, &username, &client_id, &decisions, expires_at, now)
        })
        .await
    }
}
