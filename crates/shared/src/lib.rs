//! What both servers agree on: the error catalogue, the JSON they put on the wire, and scope rules.
//!
//! This crate has no storage dependency; it depends on actix-web only so that one `ResponseError`
//! implementation turns every failure into the same response on both servers.

pub mod api_error;
pub mod background;
pub mod catalogue;
pub mod front_door;
pub mod guard;
pub mod jwt_claims;
pub mod log_writer;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod protected;
pub mod request_body;
pub mod request_limits;
pub mod routes;
pub mod scope;
pub mod serving;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod wire;

pub use api_error::ApiError;
pub use catalogue::{Challenge, CodeMessage, ErrorCode};
pub use scope::{Scope, ScopeError};
pub use wire::{CheckTokenResponse, ErrorBody, IntrospectionResponse, TokenResponse};
