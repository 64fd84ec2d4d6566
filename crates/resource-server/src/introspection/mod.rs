//! Asking the authorization server what a token stands for (RFC 7662, or Spring's check_token),
//! and remembering the answer for a while.

mod cache;
mod client;

pub use cache::CachingValidator;
pub use client::{IntrospectionClient, IntrospectionSetupError};
