//! Where blocking work runs: named pools of dedicated threads (database reads, the batch writer,
//! token lookups, bcrypt). Services never choose a thread; the storage and password layers below
//! them submit to these pools, and `startup` stops them last, after the HTTP server.

mod pool;
mod priority;

pub use pool::{Pool, PoolError, PoolSpec, RunEach, Task, Worker};
pub use priority::Priority;
