//! Finding the authorization server's endpoints from its issuer alone (RFC 8414 metadata, with
//! OpenID Connect Discovery's location as the fallback), so that a resource server can be
//! configured with `jwt.issuer` or `introspection.issuer` and nothing else
//! (docs/jwt-resource-server.md).
//!
//! `issuer.rs` is what an issuer identifier may be; `well_known.rs` where its metadata lives;
//! `metadata.rs` reads one document and checks it belongs to the issuer; `fetch.rs` is one attempt
//! at the well-known locations; `endpoint.rs` keeps the endpoint once found and retries until then.

mod endpoint;
mod fetch;
mod issuer;
mod metadata;
mod well_known;

pub use endpoint::{DiscoveredEndpoint, NotYetDiscovered, POLL_INTERVAL};
pub use issuer::{Issuer, NotAnIssuer};
pub use metadata::Field;
