//! Storage: diesel over SQLite or PostgreSQL, chosen by the database URL. Nothing outside this
//! folder imports diesel; the rest of the server calls the repository functions below.

pub mod approvals;
mod batch;
pub mod clients;
pub mod codes;
mod connection;
mod error;
mod migrate;
pub mod purge;
mod readers;
pub mod schema;
pub mod tokens;
mod transaction;
pub mod users;

pub use batch::{BatchWriter, Write};
pub use connection::{Backend, DatabaseUrl, DbConnection, PooledConnection, Store};
pub use error::StoreError;
pub use readers::Readers;
pub use transaction::write_transaction;
