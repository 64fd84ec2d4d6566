//! Storage: diesel over SQLite or PostgreSQL, chosen by the database URL. Nothing outside this
//! folder imports diesel; the rest of the server calls the repository functions below.
//!
//! Lookups by key use `get_result`, never `first`: `first` adds `LIMIT ?`, and SQLite (3.53)
//! re-prepares a statement whose LIMIT is a bound parameter every time it is bound again, which
//! cost an introspection 30% of its CPU.

pub mod approvals;
mod batch;
pub mod checkpoint;
pub mod clients;
pub mod codes;
mod connection;
mod error;
mod lookups;
mod migrate;
mod open;
pub mod purge;
mod readers;
pub mod schema;
#[cfg(test)]
mod test_support;
pub mod tokens;
mod transaction;
pub mod users;

pub use batch::{BatchWriter, Write};
pub use connection::{Backend, DatabaseUrl, DbConnection, PooledConnection, Store};
pub use error::StoreError;
pub use lookups::AccessTokenLookups;
pub use open::{open, Opening};
pub use readers::Readers;
pub use transaction::write_transaction;
