//! What the services need from storage, as four narrow interfaces: registered clients, users,
//! tokens (with codes and grant families), and remembered approvals.
//!
//! `db::Storage` implements them on the database (`database.rs`), running each call on the thread
//! meant for it; the flows' unit tests implement them in memory ([`memory`]), so a grant is tested
//! without a database. Every method is async: a caller awaits storage without holding a thread.
//!
//! Beside them, the sign-in failure counters that replicas share through Redis
//! ([`redis_counters`]), behind the throttle's own interface (`domain::sign_in_throttle`).

use std::future::Future;

use shared::ApiError;

use crate::db::codes::{CodeRecord, Exchange};
use crate::db::tokens::{AccessTokenRecord, NewTokens, RefreshTokenRecord, Stored};
use crate::db::StoreError;
use crate::domain::client::Client;
use crate::domain::profile::Profile;
use crate::domain::user::User;
use crate::issuing::Issued;

mod database;
#[cfg(test)]
pub mod memory;
pub mod redis_counters;

/// `oauth_client_details`.
pub trait ClientStore: Send + Sync + 'static {
    fn client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send;
}

/// Spring Security's `users` and `authorities`.
pub trait UserStore: Send + Sync + 'static {
    fn user(&self, username: &str)
        -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The user's OpenID Connect profile (`oauth_user_profile`), if one was recorded.
    fn profile(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<Profile>, StoreError>> + Send;
}

/// Access and refresh tokens, authorization codes, and the grant families that tie them together.
/// Lookups take the token's value: only the store knows how values are keyed.
pub trait TokenStore: Send + Sync + 'static {
    /// Stores what one answer issues, all of it or nothing.
    fn store_tokens(
        &self,
        tokens: NewTokens,
    ) -> impl Future<Output = Result<Stored, StoreError>> + Send;

    fn access_token(
        &self,
        value: &str,
    ) -> impl Future<Output = Result<Option<AccessTokenRecord>, StoreError>> + Send;

    fn refresh_token(
        &self,
        value: &str,
    ) -> impl Future<Output = Result<Option<RefreshTokenRecord>, StoreError>> + Send;

    /// Deletes one access token by its stored key (`AccessTokenRecord::token_id`); whether it was
    /// there.
    fn revoke_access_token(
        &self,
        token_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every token of a grant; how many went.
    fn revoke_family(
        &self,
        family_id: &str,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Stores a new code and the grant family its tokens will join.
    fn store_code(&self, code: CodeRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Consumes the code stored under `code_id` and, in the same transaction, stores the tokens
    /// `decide` mints from it (see [`crate::db::codes::exchange`]). `decide` may run twice.
    fn exchange_code(
        &self,
        code_id: String,
        now: i64,
        decide: CodeDecision,
    ) -> impl Future<Output = Exchanged> + Send;
}

/// How a code exchange ended (see [`Exchange`]).
pub type Exchanged = Result<Exchange<Issued, ApiError>, StoreError>;

/// Checks a consumed code against the token request and mints its tokens, or says why not.
pub type CodeDecision =
    Box<dyn FnMut(&CodeRecord, Option<User>) -> Result<Issued, ApiError> + Send>;

/// A user's decision on a client's scope, remembered (Spring's `oauth_approvals`).
pub trait ApprovalStore: Send + Sync + 'static {
    /// The scopes `username` approved for `client_id` that have not expired at `now`.
    fn approved_scopes(
        &self,
        username: &str,
        client_id: &str,
        now: i64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Records a decision per scope (`true`: approved), until `expires_at`.
    fn save_approvals(
        &self,
        username: &str,
        client_id: &str,
        decisions: Vec<(String, bool)>,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
