//! Group commit: concurrent requests hand their writes to a writer thread, which stores as many as
//! are waiting in one transaction and answers each caller once it has committed.
//!
//! A token response is only sent after its row is durable, as before; what changes is that a
//! hundred tokens cost one commit instead of a hundred, and on SQLite, that the one writer never
//! fights other writers for the lock. On PostgreSQL the lone access tokens of a batch (the
//! client_credentials kind) also go in one multi-row INSERT: a round trip per token had cost more
//! than the rest of the request.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};

use super::tokens::{self, AccessTokenRecord};
use super::{write_transaction, DbConnection, PooledConnection, Store, StoreError};

/// Writes run in a batch's transaction; `false` is the caller's own refusal.
pub type Writes = Box<dyn Fn(&mut DbConnection) -> Result<bool, StoreError> + Send>;

/// One caller's writes. May run twice: a failed batch is retried job by job.
pub enum Write {
    Any(Writes),
    /// An access token that needs nothing else written: stored with the others of its batch.
    AccessToken(Box<AccessTokenRecord>),
}

impl Write {
    fn alone(&self, conn: &mut DbConnection) -> Result<bool, StoreError> {
        match self {
            Write::Any(write) => write(conn),
            Write::AccessToken(record) => tokens::insert_access(conn, record).map(|()| true),
        }
    }
}

/// Runs a batch's writes in the caller's transaction: the arbitrary ones in order, then every
/// lone access token together.
fn write_all(conn: &mut DbConnection, batch: &[Job]) -> Result<Vec<bool>, StoreError> {
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut lone = Vec::new();
    for job in batch {
        match &job.write {
            Write::Any(write) => outcomes.push(write(conn)?),
            Write::AccessToken(record) => {
                lone.push(&**record);
                outcomes.push(true);
            }
        }
    }
    tokens::insert_access_many(conn, &lone)?;
    Ok(outcomes)
}

/// Where a job's outcome goes: a thread blocked waiting, or a future.
enum Answer {
    Blocking(SyncSender<Result<bool, StoreError>>),
    Async(tokio::sync::oneshot::Sender<Result<bool, StoreError>>),
}

impl Answer {
    fn send(self, outcome: Result<bool, StoreError>) {
        match self {
            Answer::Blocking(answer) => {
                let _ = answer.send(outcome);
            }
            Answer::Async(answer) => {
                let _ = answer.send(outcome);
            }
        }
    }
}

struct Job {
    write: Write,
    answer: Answer,
}

pub struct BatchWriter {
    jobs: SyncSender<Job>,
}

impl BatchWriter {
    /// `writers` threads, each committing up to `max_batch` jobs at a time.
    pub fn new(store: Store, writers: usize, max_batch: usize) -> Self {
        let (jobs, waiting) = sync_channel::<Job>(max_batch * 16);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..writers.max(1) {
            let (store, waiting) = (store.clone(), waiting.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("db-writer-{n}"))
                .spawn(move || write_batches(&store, &waiting, max_batch.max(1)));
            if let Err(error) = spawned {
                log::error!("cannot start a database writer thread: {error}");
            }
        }
        Self { jobs }
    }

    /// Runs `write` in the next batch and waits until that batch has committed (or failed).
    pub fn write(&self, write: Write) -> Result<bool, StoreError> {
        let (answer, answered) = sync_channel(1);
        self.jobs
            .send(Job {
                write,
                answer: Answer::Blocking(answer),
            })
            .map_err(|_| stopped())?;
        answered.recv().map_err(|_| stopped())?
    }

    /// The same from async code: the calling task waits for the commit without holding a thread.
    /// Needs no thread when the queue has room; when it is full, it waits for room on a blocking
    /// thread.
    pub async fn write_async(
        self: &std::sync::Arc<Self>,
        write: Write,
    ) -> Result<bool, StoreError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = Job {
            write,
            answer: Answer::Async(answer),
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => {
                let jobs = self.jobs.clone();
                actix_web::web::block(move || jobs.send(job))
                    .await
                    .map_err(|_| stopped())?
                    .map_err(|_| stopped())?;
            }
            Err(TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        answered.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the database writer stopped".into())
}

/// The jobs waiting, up to `max_batch`; blocks until there is one. Before blocking (on the queue,
/// or on another writer holding it), gives the held connection back to the pool: a writer keeps
/// its connection, and its page cache (another connection's commit would empty it), only while it
/// is busy.
fn next_batch(
    waiting: &Mutex<Receiver<Job>>,
    max_batch: usize,
    held: &mut Option<PooledConnection>,
) -> Option<Vec<Job>> {
    let receiver = match waiting.try_lock() {
        Ok(receiver) => receiver,
        Err(std::sync::TryLockError::WouldBlock) => {
            *held = None;
            waiting.lock().ok()?
        }
        Err(std::sync::TryLockError::Poisoned(_)) => return None,
    };
    let first = match receiver.try_recv() {
        Ok(job) => job,
        Err(TryRecvError::Empty) => {
            *held = None;
            receiver.recv().ok()?
        }
        Err(TryRecvError::Disconnected) => return None,
    };
    Some(fill_batch(&receiver, first, max_batch))
}

/// `first` and whatever else is already waiting, up to `max_batch`; never blocks.
pub(super) fn fill_batch<T>(receiver: &Receiver<T>, first: T, max_batch: usize) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < max_batch {
        match receiver.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    batch
}

fn write_batches(store: &Store, waiting: &Mutex<Receiver<Job>>, max_batch: usize) {
    let mut held: Option<PooledConnection> = None;
    while let Some(batch) = next_batch(waiting, max_batch, &mut held) {
        let conn = match held.take().map_or_else(|| store.conn(), Ok) {
            Ok(conn) => held.insert(conn),
            Err(error) => {
                for job in batch {
                    job.answer.send(Err(error.clone()));
                }
                continue;
            }
        };
        let together = write_transaction(conn, |conn| write_all(conn, &batch));
        match together {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    job.answer.send(Ok(outcome));
                }
            }
            // The database is unreachable: every job would fail the same way, and the connection
            // goes back to the pool, which knows how to tell whether it is broken.
            Err(error @ StoreError::Unavailable(_)) => {
                held = None;
                for job in batch {
                    job.answer.send(Err(error.clone()));
                }
            }
            // One job's write failed and rolled back the others: give each its own transaction.
            Err(_) => {
                for job in batch {
                    let alone = match held.take().map_or_else(|| store.conn(), Ok) {
                        Ok(conn) => {
                            let conn = held.insert(conn);
                            write_transaction(conn, |conn| job.write.alone(conn))
                        }
                        Err(error) => Err(error),
                    };
                    // A connection that failed mid-retry goes back to the pool, which discards it
                    // if it is broken; the next job takes another.
                    if matches!(alone, Err(StoreError::Unavailable(_))) {
                        held = None;
                    }
                    job.answer.send(alone);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_support::{access_token, sqlite_store, sqlite_store_with};

    #[test]
    fn idle_writers_hold_no_connection() {
        let (_dir, store) = sqlite_store_with(1, std::time::Duration::from_millis(500));
        // Two writers: one waits for jobs holding the queue, the other for the queue.
        let writer = BatchWriter::new(store.clone(), 2, 64);
        for n in 0..3 {
            let written =
                writer.write(Write::AccessToken(Box::new(access_token(&format!("t{n}")))));
            assert!(matches!(written, Ok(true)), "{written:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        // The pool's only connection is free for everything else.
        assert!(store.conn().is_ok());
    }

    #[test]
    fn a_failing_write_costs_only_its_own_caller() {
        let (_dir, store) = sqlite_store();
        let writer = std::sync::Arc::new(BatchWriter::new(store.clone(), 1, 64));
        // Lone tokens, and writes that fail (a key taken twice) or refuse, all at once.
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let jobs: Vec<_> = (0..40)
                .map(|n| {
                    let writer = writer.clone();
                    scope.spawn(move || match n % 4 {
                        0 => writer.write(Write::AccessToken(Box::new(access_token("taken")))),
                        1 => writer.write(Write::Any(Box::new(|_| Ok(false)))),
                        _ => writer
                            .write(Write::AccessToken(Box::new(access_token(&format!("t{n}"))))),
                    })
                })
                .collect();
            jobs.into_iter().map(|job| job.join().unwrap()).collect()
        });
        for (n, outcome) in outcomes.iter().enumerate() {
            match n % 4 {
                0 => {}
                1 => assert!(matches!(outcome, Ok(false)), "job {n}: {outcome:?}"),
                _ => assert!(matches!(outcome, Ok(true)), "job {n}: {outcome:?}"),
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
}
