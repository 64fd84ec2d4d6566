//! Who is asking: registered clients (remembered for a few seconds), client authentication
//! (RFC 6749 §2.3), resource owners' passwords (the login form and the password grant), and the
//! bcrypt work behind both. Shared by the token endpoint, the authorization endpoint and
//! introspection.

pub mod client_auth;
pub mod clients;
pub mod passwords;
pub mod users;

pub use client_auth::{ClientAuthenticator, PresentedClient};
pub use clients::ClientDirectory;
pub use passwords::Passwords;
pub use users::UserAuthenticator;
