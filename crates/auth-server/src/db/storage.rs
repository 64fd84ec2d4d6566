//! The database as the services reach it (through the interfaces of [`crate::stores`], which
//! `stores/database.rs` implements on this). This is the one place that decides where database work
//! runs:
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

use super::lookups::AccessTokenLookups;
use super::tokens::AccessTokenRecord;
use super::writer::BatchWriter;
use super::{Backend, DbConnection, Store, StoreError};
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

    /// Stores a lone access token with the others of its batch (in one INSERT on PostgreSQL).
    pub async fn insert_access(&self, record: AccessTokenRecord) -> Result<(), StoreError> {
        self.inner.writer.insert_access(record).await
    }

    /// The access token stored under `key`, read in one query with the other keys waiting.
    pub async fn find_access(&self, key: String) -> Result<Option<AccessTokenRecord>, StoreError> {
        self.inner.lookups.find(key).await
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

    /// See [`Store::pending_migrations`].
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        let store = self.inner.store.clone();
        self.inner
            .readers
            .run(move || store.pending_migrations())
            .await?
    }

    /// Finishes what is queued, writes first committed, then stops every thread. Blocks.
    pub fn shutdown(&self) {
        self.inner.writer.shutdown();
        self.inner.lookups.shutdown();
        self.inner.readers.shutdown();
        self.inner.maintenance.shutdown();
    }
}
