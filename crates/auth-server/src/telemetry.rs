//! Logging and metrics: the shared set-up (one line per request, written off the request path),
//! and what the auth server counts (`metrics`).

pub use shared::telemetry::{flush, init, observe};
