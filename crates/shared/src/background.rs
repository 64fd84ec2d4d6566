//! The periodic tasks of a server (the purge of expired rows, SQLite checkpoints, the resource
//! server's cache housekeeping), started and stopped through one place: a loop that has a name
//! and a handle, and ends when the server stops instead of when the runtime is torn down.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// How long [`Background::stop`] waits for a task to finish its current round.
const STOP_PATIENCE: Duration = Duration::from_secs(10);

pub struct Background {
    stopping: watch::Sender<bool>,
    tasks: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

impl Default for Background {
    fn default() -> Self {
        Self::new()
    }
}

impl Background {
    pub fn new() -> Self {
        Self {
            stopping: watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Runs `round` now and then every `interval` on the current runtime, until [`Self::stop`].
    /// After a stall, one round catches up; there is no burst of them.
    pub fn every<F, R>(&self, name: &'static str, interval: Duration, mut round: F)
    where
        F: FnMut() -> R + Send + 'static,
        R: Future<Output = ()> + Send,
    {
        let mut stopping = self.stopping.subscribe();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                let stop = tokio::select! {
                    _ = stopping.wait_for(|stop| *stop) => true,
                    _ = ticks.tick() => false,
                };
                if stop {
                    return;
                }
                round().await;
            }
        });
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name, task));
    }

    /// Names of the tasks running.
    pub fn names(&self) -> Vec<&'static str> {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, _)| *name)
            .collect()
    }

    /// Tells every task to stop, and waits for each to finish the round it is in (a purge's current
    /// batch, say); one that does not within a few seconds is abandoned with a warning.
    pub async fn stop(&self) {
        let _ = self.stopping.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for (name, mut task) in tasks {
            match tokio::time::timeout(STOP_PATIENCE, &mut task).await {
                Ok(Ok(())) => log::debug!("background task {name} stopped"),
                Ok(Err(error)) => log::error!("background task {name} failed: {error}"),
                Err(_) => {
                    log::warn!("background task {name} did not stop in time; abandoned");
                    task.abort();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn rounds_run_until_stopped_and_not_after() {
        let background = Background::new();
        let rounds = Arc::new(AtomicUsize::new(0));
        let counted = rounds.clone();
        background.every("count", Duration::from_millis(10), move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        assert_eq!(background.names(), ["count"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
        background.stop().await;
        let at_stop = rounds.load(Ordering::SeqCst);
        assert!(at_stop >= 2, "ran {at_stop} rounds");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            rounds.load(Ordering::SeqCst),
            at_stop,
            "no round after stop"
        );
        assert!(background.names().is_empty());
    }

    #[tokio::test]
    async fn stop_waits_for_the_round_in_progress() {
        let background = Background::new();
        let finished = Arc::new(AtomicUsize::new(0));
        let flag = finished.clone();
        background.every("slow", Duration::from_secs(60), move || {
            let flag = flag.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                flag.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        background.stop().await;
        assert_eq!(
            finished.load(Ordering::SeqCst),
            1,
            "the first round completed"
        );
    }
}
