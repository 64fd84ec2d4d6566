//! bcrypt runs here, on a few threads of its own at a lower priority, never on the threads that
//! serve everything else. bcrypt is slow on purpose; a flood of password attempts fills this pool's
//! queue and is turned away (503) instead of starving token validation and client_credentials.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The queue was full: too many password checks at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub struct BcryptPool {
    jobs: SyncSender<Job>,
}

impl BcryptPool {
    /// `threads` workers niced by `nice` (0 leaves the priority alone), at most `queue` jobs
    /// waiting.
    pub fn new(threads: usize, queue: usize, nice: i32) -> Self {
        let (jobs, waiting) = sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..threads.max(1) {
            let waiting = waiting.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("bcrypt-{n}"))
                .spawn(move || work(&waiting, nice));
            if let Err(error) = spawned {
                log::error!("cannot start a bcrypt thread: {error}");
            }
        }
        Self { jobs }
    }

    /// Runs `check` on the pool and waits for its answer.
    pub fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let (answer, answered) = sync_channel(1);
        self.jobs
            .try_send(Box::new(move || {
                let _ = answer.send(check());
            }))
            .map_err(|_| Busy)?;
        answered.recv().map_err(|_| Busy)
    }
}

fn work(waiting: &Mutex<Receiver<Job>>, nice: i32) {
    if nice != 0 {
        lower_priority(nice);
    }
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

/// Linux schedules threads as tasks: setting the niceness of this thread's id lowers only it. At
/// 19, the thread is moved to SCHED_IDLE: it runs only on a core nothing else wants, and never
/// delays the wake-up of a thread that serves requests.
#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) {
    // SAFETY: gettid has no preconditions; setpriority and sched_setscheduler on our own thread
    // only change how it is scheduled, and a failure (reported by the return value) is harmless.
    let result = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let mut result = libc::setpriority(libc::PRIO_PROCESS, tid, nice);
        if nice >= 19 {
            let param = libc::sched_param { sched_priority: 0 };
            result |= libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
        }
        result
    };
    if result != 0 {
        log::warn!("bcrypt threads keep their priority (setpriority/sched_setscheduler failed)");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn jobs_run_and_answer() {
        let pool = BcryptPool::new(2, 4, 5);
        assert_eq!(pool.run(|| 6 * 7), Ok(42));
    }

    #[test]
    fn work_nobody_can_take_is_turned_away_instead_of_waiting() {
        // One thread and no room to wait: while it is busy, the next check is refused at once.
        let pool = Arc::new(BcryptPool::new(1, 0, 0));
        let (started, running) = sync_channel::<()>(1);
        let (release, gate) = sync_channel::<()>(1);
        let gate = Arc::new(Mutex::new(gate));
        let busy = {
            let pool = pool.clone();
            std::thread::spawn(move || loop {
                // With no queue, a job is taken only while the thread waits for one.
                let (started, gate) = (started.clone(), gate.clone());
                let answer = pool.run(move || {
                    started.send(()).unwrap();
                    gate.lock().unwrap().recv().unwrap();
                });
                if answer.is_ok() {
                    return answer;
                }
                std::thread::sleep(Duration::from_millis(5));
            })
        };
        running.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(pool.run(|| ()), Err(Busy));
        release.send(()).unwrap();
        assert_eq!(busy.join().unwrap(), Ok(()));
        // Free again, it takes work.
        let mut answer = Err(Busy);
        for _ in 0..100 {
            answer = pool.run(|| "done");
            if answer.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(answer, Ok("done"));
    }
}
