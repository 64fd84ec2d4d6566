//! The OAuth vocabulary, free of HTTP and storage: clients, users, grant types, secrets, token values.

pub mod bcrypt_pool;
pub mod client;
pub mod clock;
pub mod grant_type;
pub mod password;
pub mod pkce;
pub mod redirect_uri;
pub mod sign_in_throttle;
pub mod token_value;
pub mod user;
