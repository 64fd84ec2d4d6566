//! Where log lines go: each thread appends its lines to a buffer of its own, and a writer thread
//! takes every buffer and writes it to stderr every 20 ms. A request never waits on a `write`
//! system call, allocates nothing for its line, and shares nothing with the other workers: with a
//! queue between the workers and the writer instead, the request line cost a measured 6-7% of the
//! throughput of a cached `/hi` (an allocation, a contended queue and a free on another thread for
//! every line).
//!
//! The lines of one thread stay in order; lines that two threads log within the same 20 ms are
//! written one thread's after the other's. A thread whose lines pile up (the writer cannot keep
//! up: a slow pipe) writes them itself rather than drop them or grow without bound, as a logger
//! with a full queue would wait. A crash loses at most the last 20 ms of lines; [`flush`] before
//! exiting loses none.

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

/// How often the writer takes the buffers. It is never woken for a line: a logging thread that
/// had to wake it would pay a futex call and a context switch per line, more than the write it
/// saves.
const DRAIN_EVERY: Duration = Duration::from_millis(20);

/// A thread's buffer past this size is written by the thread itself.
const MOST_PENDING: usize = 4 * 1024 * 1024;

type Pending = Arc<Mutex<Vec<u8>>>;

/// Every thread's buffer, for the writer; a finished thread's is dropped once written.
static BUFFERS: Mutex<Vec<Pending>> = Mutex::new(Vec::new());

/// Asks the writer to write everything now, and answers when it has.
static FLUSHES: OnceLock<SyncSender<SyncSender<()>>> = OnceLock::new();

thread_local! {
    static MINE: Pending = {
        let mine = Pending::default();
        locked(&BUFFERS).push(mine.clone());
        mine
    };
}

/// A lock whose holder panicked still guards bytes that are fine to write.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the writer thread; `false` if it could not be started (lines then go nowhere through
/// [`append`], which says so). Only the first call in a process starts one.
pub fn start() -> bool {
    if FLUSHES.get().is_some() {
        return true;
    }
    let (flushes, asked) = sync_channel(16);
    let started = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(asked));
    started.is_ok() && (FLUSHES.set(flushes).is_ok() || FLUSHES.get().is_some())
}

/// Appends what `write` writes to this thread's buffer; `false` (and nothing written) when no
/// writer was started.
pub fn append(write: impl FnOnce(&mut Vec<u8>)) -> bool {
    if FLUSHES.get().is_none() {
        return false;
    }
    append_here(write);
    true
}

fn append_here(write: impl FnOnce(&mut Vec<u8>)) {
    let mut write = Some(write);
    let appended = MINE.try_with(|mine| {
        let full = {
            let mut lines = locked(mine);
            if let Some(write) = write.take() {
                write(&mut lines);
            }
            lines.len() >= MOST_PENDING
        };
        if full {
            // In the writer's lock order (stderr, then a buffer), so neither waits on the other
            // holding what it needs, and this thread's lines stay in order.
            let mut stderr = std::io::stderr().lock();
            let lines = std::mem::take(&mut *locked(mine));
            let _ = stderr.write_all(&lines);
        }
    });
    if let (Err(_), Some(write)) = (appended, write) {
        // Logged while this thread's buffer is being destroyed (the thread is ending).
        let mut lines = Vec::new();
        write(&mut lines);
        let _ = std::io::stderr().lock().write_all(&lines);
    }
}

/// Waits until every line appended so far is on stderr (at most 2 s). Call it before the process
/// exits.
pub fn flush() {
    if let Some(flushes) = FLUSHES.get() {
        let (done, flushed) = sync_channel(1);
        if flushes.send(done).is_ok() {
            let _ = flushed.recv_timeout(Duration::from_secs(2));
        }
    }
}

fn write_lines(asked: Receiver<SyncSender<()>>) {
    // Swapped with each full buffer, so buffers keep their capacity and nothing is allocated.
    let mut spare = Vec::with_capacity(64 * 1024);
    loop {
        let flush = match asked.recv_timeout(DRAIN_EVERY) {
            Ok(done) => Some(done),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                drain(&mut spare, &mut || std::io::stderr().lock());
                return;
            }
        };
        drain(&mut spare, &mut || std::io::stderr().lock());
        if let Some(done) = flush {
            let _ = done.send(());
        }
    }
}

/// Writes every thread's lines to `out`. Each buffer is taken and written while `out` is held, as
/// a thread writing its own lines does, so that a thread's lines stay in order; no buffer is
/// held while waiting for `out`.
fn drain<W: Write>(spare: &mut Vec<u8>, out: &mut impl FnMut() -> W) {
    let buffers = locked(&BUFFERS).clone();
    for buffer in &buffers {
        let mut out = out();
        {
            let mut lines = locked(buffer);
            if lines.is_empty() {
                continue;
            }
            std::mem::swap(&mut *lines, spare);
        }
        let _ = out.write_all(spare);
        let _ = out.flush();
        spare.clear();
    }
    drop(buffers);
    // Held by the list alone: its thread has ended; dropped once its lines are out.
    locked(&BUFFERS).retain(|buffer| Arc::strong_count(buffer) > 1 || !locked(buffer).is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Into<'a>(&'a RefCell<Vec<u8>>);

    impl Write for Into<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_once_each_thread_in_order_and_finished_threads_let_go() {
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                std::thread::spawn(move || {
                    for n in 0..1000 {
                        append_here(|lines| {
                            lines.extend_from_slice(format!("{thread} {n}\n").as_bytes())
                        });
                    }
                })
            })
            .collect();
        let written = RefCell::new(Vec::new());
        let mut spare = Vec::new();
        // Drained while the threads are still appending, and once more after.
        drain(&mut spare, &mut || Into(&written));
        for thread in threads {
            thread.join().unwrap();
        }
        drain(&mut spare, &mut || Into(&written));
        let text = String::from_utf8(written.into_inner()).unwrap();
        let mut next = [0; 4];
        for line in text.lines() {
            let (thread, n) = line.split_once(' ').unwrap();
            let (thread, n): (usize, usize) = (thread.parse().unwrap(), n.parse().unwrap());
            assert_eq!(n, next[thread], "thread {thread} out of order");
            next[thread] += 1;
        }
        assert_eq!(next, [1000; 4]);
        assert!(locked(&BUFFERS).is_empty(), "buffers of ended threads kept");
    }
}
