//! The auth server as its users see it: HTTP against the real app on a random port, each test with
//! its own database, on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set.

mod authorize;
mod caches;
mod cli;
mod client_authentication;
mod client_credentials;
mod discovery;
mod introspection;
mod jwt;
mod logging;
mod openapi;
mod openid;
mod operations;
mod pages;
mod password;
mod protected;
mod purge;
mod refresh_token;
mod request_errors;
mod request_limits;
mod revocation;
mod security;
mod spring_database;
mod spring_import;
mod storage;
