//! The protected API: `/hi` and `/me` behind the shared bearer guard, tokens validated by
//! introspection against the authorization server, answers cached.

pub mod http_client;
pub mod introspection;
pub mod settings;
pub mod startup;
