//! The protected API: `/hi` and `/me` behind the shared bearer guard, tokens validated by
//! introspection against the authorization server (answers cached), or verified here as JWTs
//! signed with its keys, or both (`validation.mode`); the authorization server's endpoints either
//! configured or discovered from its issuer's metadata.

pub mod discovery;
pub mod health;
pub mod http_client;
pub mod introspection;
pub mod jwt;
pub mod metrics;
pub mod mixed;
pub mod openapi;
pub mod settings;
pub mod startup;
