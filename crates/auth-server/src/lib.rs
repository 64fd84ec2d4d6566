//! OAuth 2.0 authorization server compatible with Spring Security OAuth2 2.x.
//!
//! `main.rs` only parses the command line; everything a test needs is reachable from here:
//! [`startup::Application`] starts the real server on any port. `docs/architecture.md` follows a
//! request through the layers.

pub mod accounts;
pub mod authority;
pub mod authorization_endpoint;
pub mod cli;
pub mod db;
pub mod discovery;
pub mod domain;
pub mod housekeeping;
pub mod http;
pub mod id_token;
pub mod introspection;
pub mod issuing;
pub mod key_publication;
pub mod metrics;
pub mod openid;
pub mod revocation;
pub mod seed;
pub mod settings;
pub mod signing;
pub mod spring;
pub mod startup;
pub mod stores;
pub mod telemetry;
pub mod token_endpoint;
pub mod workers;
