//! Dedicated threads for work that must not run on the async workers: database reads and writes,
//! batched token lookups, bcrypt. Each pool has a name that says what it is for, a fixed number of
//! threads, and a bounded queue; a caller awaits its answer without holding a thread.
//!
//! Elastic thread pools (`web::block`, `spawn_blocking`) spread concurrent requests over dozens of
//! threads that then fight over the cores; these stay few, stay hot, and drain their queue without
//! sleeping under load. A worker takes every job waiting, up to the pool's batch size, at once: the
//! batch writer commits them in one transaction and the token lookups read them in one query.
//!
//! [`Pool::shutdown`] lets the threads finish every job queued before it, then joins them: the batch
//! writer commits what it was given before the process exits.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::JoinHandle;
use std::time::Instant;

use super::priority::Priority;
use crate::metrics::QueueMetrics;

/// What a pool's threads do with the jobs they take.
pub trait Worker<J>: Send + 'static {
    /// Handles the jobs taken together: one, or up to the pool's batch size.
    fn handle(&mut self, batch: Vec<J>);

    /// Called before the thread waits for work: a place to give back what is worth holding only
    /// while busy (the batch writer's database connection).
    fn idle(&mut self) {}
}

/// How a pool is made.
#[derive(Debug, Clone, Copy)]
pub struct PoolSpec {
    /// Names its threads (`NAME-0`, `NAME-1`, …) and its errors.
    pub name: &'static str,
    pub threads: usize,
    /// Jobs that may wait; past that, [`Pool::try_submit`] is refused.
    pub queue: usize,
    /// Most jobs one worker takes at once.
    pub batch: usize,
    pub priority: Priority,
}

/// A job could not be handed to the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("the {0} queue is full")]
    Busy(&'static str),
    #[error("the {0} threads have stopped")]
    Stopped(&'static str),
}

enum Message<J> {
    /// A job, and when it was queued.
    Job(J, Instant),
    /// Ends the thread that takes it, after everything queued before it.
    Stop,
}

pub struct Pool<J> {
    spec: PoolSpec,
    jobs: SyncSender<Message<J>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    queue: QueueMetrics,
}

impl<J: Send + 'static> Pool<J> {
    /// Starts `spec.threads` threads, each with the worker `make(n)` makes for it.
    pub fn start<W: Worker<J>>(spec: PoolSpec, make: impl Fn(usize) -> W) -> Self {
        let (jobs, waiting) = sync_channel::<Message<J>>(spec.queue);
        let waiting = Arc::new(Mutex::new(waiting));
        let queue = QueueMetrics::of(spec.name);
        let mut threads = Vec::new();
        for n in 0..spec.threads.max(1) {
            let (waiting, worker, queue) = (waiting.clone(), make(n), queue.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("{}-{n}", spec.name))
                .spawn(move || {
                    spec.priority.apply(spec.name);
                    work(&waiting, spec.batch.max(1), worker, &queue);
                });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(error) => log::error!("cannot start a {} thread: {error}", spec.name),
            }
        }
        Self {
            spec,
            jobs,
            threads: Mutex::new(threads),
            queue,
        }
    }

    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// Queues `job`, or refuses at once when the queue is full.
    pub fn try_submit(&self, job: J) -> Result<(), PoolError> {
        // Counted before it is sent, so that a thread taking it at once never sees less than 0.
        self.queue.queued();
        self.jobs
            .try_send(Message::Job(job, Instant::now()))
            .map_err(|refused| {
                self.queue.taken(1, None);
                match refused {
                    TrySendError::Full(_) => PoolError::Busy(self.spec.name),
                    TrySendError::Disconnected(_) => PoolError::Stopped(self.spec.name),
                }
            })
    }

    /// Queues `job`, waiting for room when the queue is full (without holding an async worker).
    pub async fn submit(&self, job: J) -> Result<(), PoolError> {
        self.queue.queued();
        let sent = match self.jobs.try_send(Message::Job(job, Instant::now())) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(_)) => Err(PoolError::Stopped(self.spec.name)),
            Err(TrySendError::Full(job)) => {
                let jobs = self.jobs.clone();
                tokio::task::spawn_blocking(move || jobs.send(job))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .ok_or(PoolError::Stopped(self.spec.name))
            }
        };
        if sent.is_err() {
            self.queue.taken(1, None);
        }
        sent
    }

    /// Lets the threads finish what is queued, then waits for them. Jobs queued after this are
    /// dropped, and their callers told the pool stopped. Blocks.
    pub fn shutdown(&self) {
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for _ in &threads {
            if self.jobs.send(Message::Stop).is_err() {
                break;
            }
        }
        for thread in threads {
            if thread.join().is_err() {
                log::error!("a {} thread panicked", self.spec.name);
            }
        }
    }
}

/// A thread's life: take the jobs waiting (blocking when there are none), handle them, repeat,
/// until a `Stop` or a closed queue.
fn work<J, W: Worker<J>>(
    waiting: &Mutex<Receiver<Message<J>>>,
    max: usize,
    mut worker: W,
    queue: &QueueMetrics,
) {
    loop {
        let (batch, stop) = {
            let receiver = match waiting.try_lock() {
                Ok(receiver) => receiver,
                // Another thread holds the queue: this one may wait a while.
                Err(TryLockError::WouldBlock) => {
                    worker.idle();
                    match waiting.lock() {
                        Ok(receiver) => receiver,
                        Err(_) => return,
                    }
                }
                Err(TryLockError::Poisoned(_)) => return,
            };
            let first = match receiver.try_recv() {
                Ok(message) => message,
                Err(TryRecvError::Empty) => {
                    worker.idle();
                    match receiver.recv() {
                        Ok(message) => message,
                        Err(_) => return,
                    }
                }
                Err(TryRecvError::Disconnected) => return,
            };
            let Message::Job(first, queued) = first else {
                return;
            };
            let mut batch = vec![first];
            let mut stop = false;
            while batch.len() < max {
                match receiver.try_recv() {
                    Ok(Message::Job(job, _)) => batch.push(job),
                    Ok(Message::Stop) => {
                        stop = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            queue.taken(batch.len(), Some(queued.elapsed()));
            (batch, stop)
        };
        worker.handle(batch);
        if stop {
            return;
        }
    }
}

/// A job that is a closure, for pools whose threads just run what they are given.
pub type Task = Box<dyn FnOnce() + Send>;

/// The worker of a [`Task`] pool.
pub struct RunEach;

impl Worker<Task> for RunEach {
    fn handle(&mut self, batch: Vec<Task>) {
        for task in batch {
            task();
        }
    }
}

impl Pool<Task> {
    /// A pool whose threads run closures one at a time.
    pub fn for_tasks(spec: PoolSpec) -> Self {
        Self::start(PoolSpec { batch: 1, ..spec }, |_| RunEach)
    }

    /// Runs `f` on the pool; the caller waits without holding a thread. `Busy` when the queue is
    /// full: the work is refused, not delayed.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.try_submit(Box::new(move || {
            let _ = answer.send(f());
        }))?;
        answered
            .await
            .map_err(|_| PoolError::Stopped(self.spec.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn spec(threads: usize, queue: usize, batch: usize) -> PoolSpec {
        PoolSpec {
            name: "test",
            threads,
            queue,
            batch,
            priority: Priority::Normal,
        }
    }

    #[tokio::test]
    async fn tasks_run_on_the_pool_and_answer() {
        let pool = Pool::for_tasks(spec(2, 4, 1));
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("test-"));
        assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_nobody_can_take_is_refused_instead_of_waiting() {
        // One thread, held busy, and no room to wait: the next task is refused at once.
        let pool = Arc::new(Pool::for_tasks(spec(1, 0, 1)));
        let (started, running) = std::sync::mpsc::sync_channel::<()>(1);
        let (release, gate) = std::sync::mpsc::sync_channel::<()>(1);
        let busy = {
            let pool = pool.clone();
            let gate = Arc::new(Mutex::new(gate));
            tokio::spawn(async move {
                // With no queue, a task is taken only while the thread waits for one.
                loop {
                    let (started, gate) = (started.clone(), gate.clone());
                    let answer = pool
                        .run(move || {
                            started.send(()).unwrap();
                            gate.lock().unwrap().recv().unwrap();
                        })
                        .await;
                    if answer.is_ok() {
                        return answer;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        running.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(pool.run(|| ()).await, Err(PoolError::Busy("test")));
        release.send(()).unwrap();
        assert_eq!(busy.await.unwrap(), Ok(()));
    }

    struct Batches(Arc<Mutex<Vec<usize>>>);

    impl Worker<usize> for Batches {
        fn handle(&mut self, batch: Vec<usize>) {
            std::thread::sleep(Duration::from_millis(20));
            self.0.lock().unwrap().push(batch.len());
        }
    }

    #[test]
    fn a_worker_takes_what_is_waiting_together_and_shutdown_drains_the_queue() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let pool = Pool::start(spec(1, 100, 8), |_| Batches(seen.clone()));
        for n in 0..20 {
            pool.try_submit(n).unwrap();
        }
        pool.shutdown();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.iter().sum::<usize>(), 20, "every job before the stop");
        assert!(seen.iter().all(|n| *n <= 8), "{seen:?}");
        assert!(
            seen.len() < 20,
            "jobs waiting together are taken together: {seen:?}"
        );
        assert_eq!(pool.try_submit(99), Err(PoolError::Stopped("test")));
    }

    #[test]
    fn shutdown_stops_every_thread() {
        let count = Arc::new(AtomicUsize::new(0));
        struct Count(Arc<AtomicUsize>);
        impl Worker<()> for Count {
            fn handle(&mut self, batch: Vec<()>) {
                self.0.fetch_add(batch.len(), Ordering::SeqCst);
            }
        }
        let pool = Pool::start(spec(3, 10, 4), |_| Count(count.clone()));
        for _ in 0..5 {
            pool.try_submit(()).unwrap();
        }
        pool.shutdown();
        assert_eq!(count.load(Ordering::SeqCst), 5);
        assert!(pool.threads.lock().unwrap().is_empty());
    }
}
