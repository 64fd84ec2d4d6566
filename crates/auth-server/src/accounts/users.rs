//! Checking a resource owner's username and password: the login form and the password grant share
//! this, and its brute-force limits (docs/security.md, item 17), so a guesser cannot split guesses between
//! them.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use shared::{ApiError, ErrorCode};

use super::passwords::{Busy, Passwords};
use crate::domain::sign_in_throttle::{Refused, SignInThrottle};
use crate::domain::user::{SignedIn, User};
use crate::stores::UserStore;

/// A sign-in attempt: who says they are whom, with what password.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The caller's address, for the per-address limit.
    pub from: Option<IpAddr>,
    pub username: &'a str,
    pub password: &'a str,
}

pub struct UserAuthenticator<S> {
    store: S,
    passwords: Arc<Passwords>,
    throttle: SignInThrottle,
    /// Whether a user may still sign in, remembered `security.user_cache_seconds` for the checks
    /// of every token of theirs.
    active: Cache<String, bool>,
    cache_enabled: bool,
}

impl<S: UserStore> UserAuthenticator<S> {
    pub fn new(
        store: S,
        passwords: Arc<Passwords>,
        throttle: SignInThrottle,
        cache_seconds: u64,
    ) -> Self {
        Self {
            store,
            passwords,
            throttle,
            active: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(cache_seconds.max(1)))
                .build(),
            cache_enabled: cache_seconds > 0,
        }
    }

    /// Whether `username` still exists and may sign in: what a token of theirs needs to stay
    /// valid. Remembered for `security.user_cache_seconds`, so a busy user's tokens cost no read.
    pub async fn is_active(&self, username: &str) -> Result<bool, ApiError> {
        if let Some(active) = self
            .cache_enabled
            .then(|| self.active.get(username))
            .flatten()
        {
            return Ok(active);
        }
        let active = self
            .store
            .user(username)
            .await?
            .is_some_and(|u| u.may_sign_in());
        if self.cache_enabled {
            self.active.insert(username.to_owned(), active);
        }
        Ok(active)
    }

    /// The user, if the password is right and the account usable, unless this account or the
    /// address `from` has failed too often lately: then 429, before any bcrypt work. When the
    /// failures cannot be counted (a shared limit store down or slow), 503 before any bcrypt work,
    /// and 503 again instead of any verdict that was not counted (docs/security.md, item 35).
    pub async fn sign_in(&self, credentials: Credentials<'_>) -> Result<User, ApiError> {
        let Credentials {
            from,
            username,
            password,
        } = credentials;
        let attempt = self.throttle.begin(username, from).await.map_err(refused)?;
        match self.check_password(username, password).await {
            Ok(user) => attempt.succeeded().await.map(|()| user).map_err(refused),
            Err(error) if error.code() == ErrorCode::BadCredentials => {
                attempt.failed().await.map_err(refused)?;
                Err(error)
            }
            // The right password for a disabled account: in a burst past the limit, answered like
            // every other attempt there.
            Err(error) if error.code() == ErrorCode::UserDisabled => {
                attempt.still_allowed().await.map_err(refused)?;
                Err(error)
            }
            // Not a verdict on the password (database down, bcrypt busy).
            Err(error) => Err(error),
        }
    }

    /// An unknown user costs the same bcrypt work as a wrong password (docs/security.md, item 15). The
    /// password is checked before the account state, so only someone who knows it learns that the
    /// account is disabled.
    async fn check_password(&self, username: &str, password: &str) -> Result<User, ApiError> {
        let user = self.store.user(username).await?;
        let matches = self
            .passwords
            .verify(user.as_ref().map(|u| &u.password), password)
            .await
            .map_err(|Busy| ApiError::new(ErrorCode::PasswordChecksBusy))?;
        match user {
            Some(user) if matches && !user.enabled => Err(ApiError::new(ErrorCode::UserDisabled)),
            Some(user) if matches && user.may_sign_in() => Ok(user),
            _ => Err(ApiError::new(ErrorCode::BadCredentials)),
        }
    }

    /// The user a browser's sign-in stands for, if it still exists, may sign in, and has not had
    /// its sessions ended since (a password change).
    pub async fn current(&self, signed_in: &SignedIn) -> Result<Option<User>, ApiError> {
        Ok(self
            .store
            .user(&signed_in.username)
            .await?
            .filter(|u| u.accepts(signed_in)))
    }
}

/// 429 with how long to wait, in whole seconds rounded up; or 503 when the failures could not be
/// counted.
fn refused(refused: Refused) -> ApiError {
    match refused {
        Refused::Locked(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::new(ErrorCode::TooManyFailedSignIns).with_retry_after(seconds)
        }
        Refused::Unavailable(error) => {
            ApiError::new(ErrorCode::SignInLimitsUnavailable).with_cause(error)
        }
    }
}
