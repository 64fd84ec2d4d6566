//! Group commit: concurrent requests hand their writes to the writer threads, which store as many
//! as are waiting in one transaction and answer each caller once it has committed.
//!
//! A token response is only sent after its rows are durable; what group commit changes is that a
//! hundred tokens cost one commit instead of a hundred, and on SQLite, that the one writer never
//! fights other writers for the lock. On PostgreSQL the lone access tokens of a batch (the
//! client_credentials kind) also go in one multi-row INSERT: a round trip per token had cost more
//! than the rest of the request.

use std::time::Instant;

use tokio::sync::oneshot;

use super::tokens::{self, AccessTokenRecord};
use super::{write_transaction, DbConnection, PooledConnection, Store, StoreError};
use crate::workers::{Pool, PoolSpec, Priority, Worker};

/// One caller's writes with a typed outcome. May run twice: a failed batch is retried job by job,
/// so it must be repeatable (it only touches the database).
trait Transaction: Send {
    fn run(&mut self, conn: &mut DbConnection) -> Result<(), StoreError>;
    /// Tells the caller how its write ended, once the transaction it ran in has ended.
    fn answer(self: Box<Self>, outcome: Result<(), StoreError>);
}

struct Typed<T, F> {
    write: F,
    value: Option<T>,
    answer: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Transaction for Typed<T, F>
where
    T: Send,
    F: FnMut(&mut DbConnection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &mut DbConnection) -> Result<(), StoreError> {
        self.value = Some((self.write)(conn)?);
        Ok(())
    }

    fn answer(self: Box<Self>, outcome: Result<(), StoreError>) {
        let Self { value, answer, .. } = *self;
        let _ = answer.send(outcome.and_then(|()| {
            value.ok_or_else(|| StoreError::Internal("a committed write left no outcome".into()))
        }));
    }
}

enum Job {
    Transaction(Box<dyn Transaction>),
    /// An access token that needs nothing else written: stored with the others of its batch.
    AccessToken {
        record: Box<AccessTokenRecord>,
        answer: oneshot::Sender<Result<(), StoreError>>,
    },
}

impl Job {
    fn answer(self, outcome: Result<(), StoreError>) {
        match self {
            Job::Transaction(job) => job.answer(outcome),
            Job::AccessToken { answer, .. } => {
                let _ = answer.send(outcome);
            }
        }
    }

    /// This job in a transaction of its own.
    fn alone(&mut self, conn: &mut DbConnection) -> Result<(), StoreError> {
        write_transaction(conn, |conn| match self {
            Job::Transaction(job) => job.run(conn),
            Job::AccessToken { record, .. } => tokens::insert_access(conn, record),
        })
    }
}

pub struct BatchWriter {
    pool: Pool<Job>,
}

impl BatchWriter {
    /// `writers` threads, each committing up to `max_batch` jobs at a time.
    pub fn new(store: Store, writers: usize, max_batch: usize) -> Self {
        let spec = PoolSpec {
            name: "db-writer",
            threads: writers,
            queue: max_batch * 16,
            batch: max_batch,
            priority: Priority::Normal,
        };
        Self {
            pool: Pool::start(spec, |_| Committer {
                store: store.clone(),
                held: None,
            }),
        }
    }

    /// Runs `write` in the next batch's transaction and answers its outcome once that batch has
    /// committed (or failed). The caller waits without holding a thread; when the queue is full it
    /// waits for room.
    pub async fn write<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job = Job::Transaction(Box::new(Typed {
            write,
            value: None,
            answer,
        }));
        self.pool.submit(job).await?;
        answered.await.map_err(|_| self.stopped())?
    }

    /// Stores a lone access token with the others of its batch.
    pub async fn insert_access(&self, record: AccessTokenRecord) -> Result<(), StoreError> {
        let (answer, answered) = oneshot::channel();
        let job = Job::AccessToken {
            record: Box::new(record),
            answer,
        };
        self.pool.submit(job).await?;
        answered.await.map_err(|_| self.stopped())?
    }

    fn stopped(&self) -> StoreError {
        StoreError::Unavailable("the database writer stopped".into())
    }

    /// Commits what is queued, then stops. Blocks.
    pub fn shutdown(&self) {
        self.pool.shutdown();
    }
}

/// A writer thread. It keeps its connection, and with it the page cache another connection's
/// commit would empty, while it is busy, and gives it back when it waits.
struct Committer {
    store: Store,
    held: Option<PooledConnection>,
}

impl Committer {
    fn connection(&mut self) -> Result<&mut PooledConnection, StoreError> {
        match self.held.take() {
            Some(conn) => Ok(self.held.insert(conn)),
            None => Ok(self.held.insert(self.store.conn()?)),
        }
    }

    /// The arbitrary writes in order, then every lone access token together.
    fn write_all(conn: &mut DbConnection, batch: &mut [Job]) -> Result<(), StoreError> {
        let mut lone = Vec::new();
        for job in batch.iter_mut() {
            match job {
                Job::Transaction(job) => job.run(conn)?,
                Job::AccessToken { record, .. } => lone.push(&**record),
            }
        }
        tokens::insert_access_many(conn, &lone)
    }
}

impl Worker<Job> for Committer {
    fn idle(&mut self) {
        self.held = None;
    }

    fn handle(&mut self, mut batch: Vec<Job>) {
        let started = Instant::now();
        let together = self
            .connection()
            .and_then(|conn| write_transaction(conn, |conn| Self::write_all(conn, &mut batch)));
        crate::metrics::batch_committed(batch.len(), started.elapsed());
        match together {
            Ok(()) => batch.into_iter().for_each(|job| job.answer(Ok(()))),
            // The database is unreachable: every job would fail the same way, and the connection
            // goes back to the pool, which knows how to tell whether it is broken.
            Err(error @ StoreError::Unavailable(_)) => {
                self.held = None;
                self.store.note_trouble();
                for job in batch {
                    job.answer(Err(error.clone()));
                }
            }
            // One job's write failed and rolled back the others: give each its own transaction.
            Err(_) => {
                for mut job in batch {
                    let alone = self.connection().and_then(|conn| job.alone(conn));
                    // A connection that failed mid-retry goes back to the pool, which discards it
                    // if it is broken; the next job takes another.
                    if matches!(alone, Err(StoreError::Unavailable(_))) {
                        self.held = None;
                        self.store.note_trouble();
                    }
                    job.answer(alone);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_support::{access_token, sqlite_store, sqlite_store_with};

    #[tokio::test]
    async fn idle_writers_hold_no_connection() {
        let (_dir, store) = sqlite_store_with(1, std::time::Duration::from_millis(500));
        // Two writers: one waits for jobs holding the queue, the other for the queue.
        let writer = BatchWriter::new(store.clone(), 2, 64);
        for n in 0..3 {
            let written = writer.insert_access(access_token(&format!("t{n}"))).await;
            assert!(written.is_ok(), "{written:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        // The pool's only connection is free for everything else.
        assert!(store.conn().is_ok());
    }

    #[tokio::test]
    async fn a_failing_write_costs_only_its_own_caller() {
        let (_dir, store) = sqlite_store();
        let writer = std::sync::Arc::new(BatchWriter::new(store.clone(), 1, 64));
        // Lone tokens, and writes that fail (a key taken twice) or answer something, all at once.
        let jobs = (0..40).map(|n| {
            let writer = writer.clone();
            async move {
                match n % 4 {
                    0 => writer
                        .insert_access(access_token("taken"))
                        .await
                        .map(|()| None),
                    1 => writer.write(move |_| Ok(Some(n))).await,
                    _ => writer
                        .insert_access(access_token(&format!("t{n}")))
                        .await
                        .map(|()| None),
                }
            }
        });
        let outcomes = futures_util::future::join_all(jobs).await;
        for (n, outcome) in outcomes.iter().enumerate() {
            match n % 4 {
                0 => {}
                1 => assert_eq!(outcome.as_ref().ok(), Some(&Some(n)), "job {n}"),
                _ => assert!(outcome.is_ok(), "job {n}: {outcome:?}"),
            }
        }
        // Exactly one of the ten writers of "taken" got it.
        let took = (0..40).step_by(4).filter(|n| outcomes[*n].is_ok()).count();
        assert_eq!(took, 1);
        let mut conn = store.conn().unwrap();
        for n in (0..40).filter(|n| n % 4 >= 2) {
            assert!(tokens::find_access(&mut conn, &format!("t{n}"))
                .unwrap()
                .is_some());
        }
    }

    #[tokio::test]
    async fn shutdown_commits_what_was_queued() {
        let (_dir, store) = sqlite_store();
        let writer = std::sync::Arc::new(BatchWriter::new(store.clone(), 1, 8));
        let waiting: Vec<_> = (0..30)
            .map(|n| {
                let writer = writer.clone();
                tokio::spawn(
                    async move { writer.insert_access(access_token(&format!("s{n}"))).await },
                )
            })
            .collect();
        // Let every job reach the queue, then stop while the writer is still at it.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let stopping = writer.clone();
        tokio::task::spawn_blocking(move || stopping.shutdown())
            .await
            .unwrap();
        let mut conn = store.conn().unwrap();
        for (n, job) in waiting.into_iter().enumerate() {
            let answered = job.await.unwrap();
            let stored = tokens::find_access(&mut conn, &format!("s{n}"))
                .unwrap()
                .is_some();
            assert_eq!(answered.is_ok(), stored, "token {n}: {answered:?}");
            assert!(stored, "token {n} was queued before the shutdown");
        }
    }
}
