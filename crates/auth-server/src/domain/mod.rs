//! The OAuth vocabulary, free of HTTP, storage and threads: clients, users, grant types, secrets,
//! scopes, PKCE, redirect URIs, token values, and the sign-in throttle's arithmetic.

pub mod client;
pub mod clock;
pub mod grant_type;
pub mod pkce;
pub mod profile;
pub mod redirect_uri;
pub mod scope;
pub mod secret;
pub mod sign_in_throttle;
pub mod token_value;
pub mod user;
