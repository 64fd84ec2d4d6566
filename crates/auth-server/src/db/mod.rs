//! Storage: diesel over SQLite or PostgreSQL, chosen by the database URL. Nothing outside this
//! folder imports diesel; the services reach it through [`Storage`], which implements the
//! interfaces of [`crate::stores`] and decides which threads run what.
//!
//! One file per table (`clients`, `users`, `tokens`, `codes`, `approvals`), each a few repository
//! functions that run inside the caller's connection or transaction.
//!
//! Lookups by key use `get_result`, never `first`: `first` adds `LIMIT ?`, and SQLite (3.53)
//! re-prepares a statement whose LIMIT is a bound parameter every time it is bound again, which
//! cost an introspection 30% of its CPU.

pub mod approvals;
pub mod checkpoint;
pub mod clients;
pub mod codes;
mod connection;
mod error;
pub mod keys;
mod lookups;
mod migrate;
mod open;
pub mod profiles;
pub mod purge;
pub mod revocation;
pub mod schema;
pub mod spring_tokens;
mod storage;
#[cfg(test)]
mod test_support;
pub mod tokens;
mod transaction;
pub mod users;
mod writer;

pub use connection::{Backend, DatabaseUrl, DbConnection, PooledConnection, Store};
pub use error::StoreError;
pub use open::{open, Opening};
pub use storage::{Storage, StorageThreads};
pub use transaction::write_transaction;
