//! How urgently a pool's threads are scheduled. The only `unsafe` of the server: two scheduling
//! system calls about the calling thread itself.

/// The scheduling of a pool's threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Normal,
    /// A niceness from 1 to 19; at 19 the thread is moved to SCHED_IDLE: it runs only on a core
    /// nothing else wants, and never delays the wake-up of a thread that serves requests.
    Lowered(i32),
}

impl Priority {
    /// Applies to the calling thread; a failure is logged and harmless (the thread keeps its
    /// priority).
    pub fn apply(self, pool: &str) {
        if let Priority::Lowered(nice) = self {
            if !lower(nice) {
                log::warn!(
                    "{pool} threads keep their priority (setpriority/sched_setscheduler failed)"
                );
            }
        }
    }
}

/// Linux schedules threads as tasks: setting the niceness of this thread's id lowers only it.
#[cfg(target_os = "linux")]
fn lower(nice: i32) -> bool {
    // SAFETY: gettid has no preconditions; setpriority and sched_setscheduler on our own thread
    // only change how it is scheduled, and a failure is reported by the return value.
    let result = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let mut result = libc::setpriority(libc::PRIO_PROCESS, tid, nice);
        if nice >= 19 {
            let param = libc::sched_param { sched_priority: 0 };
            result |= libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
        }
        result
    };
    result == 0
}

#[cfg(not(target_os = "linux"))]
fn lower(_nice: i32) -> bool {
    true
}
