//! Validating JWT access tokens here, with the authorization server's signing keys, instead of
//! asking it about each token (docs/jwt-resource-server.md).
//!
//! `keys.rs` is what a key is (fixed to one algorithm); `jwks.rs` and `token_key.rs` read the two
//! documents keys come in; `key_source.rs` fetches them; `key_cache.rs` keeps the set in use and
//! decides when to fetch again; `verify.rs` checks one token against one key; `validator.rs` is
//! the guard's validator, with its cache of verified tokens.

mod jwks;
mod key_cache;
mod key_source;
mod keys;
mod token_key;
mod validator;
mod verify;

pub use key_cache::KeyCache;
pub use key_source::{KeySource, KeySourceError};
pub use validator::JwtValidator;
pub use verify::Rules;
