//! Logging: the shared set-up (one line per request, written off the request path).

pub use shared::telemetry::{flush, init, log_request};
