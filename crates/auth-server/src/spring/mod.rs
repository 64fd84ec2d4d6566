//! Migrating from a live Spring Security OAuth2 deployment (docs/spring.md): reading what its
//! `JdbcTokenStore` wrote, so the tokens it issued keep working here.

pub mod import;
pub mod java_stream;
pub mod token_store;
