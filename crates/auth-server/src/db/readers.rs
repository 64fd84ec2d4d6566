//! A few threads reserved for short database reads on hot paths (token lookups). Elastic thread
//! pools (`web::block`) spread concurrent requests over dozens of threads that then fight over the
//! cores; these stay few, stay hot, and drain their queue without sleeping under load. Nothing
//! that may wait (bcrypt, a write batch) runs here.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use super::StoreError;

type Job = Box<dyn FnOnce() + Send>;

pub struct Readers {
    jobs: SyncSender<Job>,
}

impl Readers {
    pub fn new(threads: usize) -> Self {
        let (jobs, waiting) = sync_channel::<Job>(4096);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..threads.max(1) {
            let waiting = waiting.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("db-reader-{n}"))
                .spawn(move || read(&waiting));
            if let Err(error) = spawned {
                log::error!("cannot start a database reader thread: {error}");
            }
        }
        Self { jobs }
    }

    /// Runs `read` on a reader thread; the calling task waits without holding a thread.
    pub async fn run<T: Send + 'static>(
        &self,
        read: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send(Box::new(move || {
                let _ = answer.send(read());
            }))
            .map_err(|_| StoreError::Unavailable("too many database reads waiting".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable("a database reader stopped".into()))
    }
}

fn read(waiting: &Mutex<Receiver<Job>>) {
    loop {
        let job = match waiting.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}
