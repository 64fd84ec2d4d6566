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
            crate::metrics::lockout();
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::new(ErrorCode::TooManyFailedSignIns).with_retry_after(seconds)
        }
        Refused::Unavailable(error) => {
            ApiError::new(ErrorCode::SignInLimitsUnavailable).with_cause(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::accounts::passwords::CheckSettings;
    use crate::domain::sign_in_throttle::{
        AttemptKeys, Counted, CountersUnavailable, FailureCounters,
    };
    use crate::stores::memory::MemoryStore;

    /// A shared store that answers its first `answers` calls, then no more: a Redis that dies
    /// while a password is being checked (1), or before (0).
    struct Dying {
        answers: usize,
        calls: AtomicUsize,
    }

    impl Dying {
        fn answer<'a>(&self) -> Counted<'a> {
            let call = self.calls.fetch_add(1, Ordering::Relaxed);
            Box::pin(std::future::ready(if call < self.answers {
                Ok(None)
            } else {
                Err(CountersUnavailable("gone".into()))
            }))
        }
    }

    impl FailureCounters for Dying {
        fn locked<'a>(&'a self, _: &'a AttemptKeys) -> Counted<'a> {
            self.answer()
        }
        fn failed<'a>(&'a self, _: &'a AttemptKeys) -> Counted<'a> {
            self.answer()
        }
        fn succeeded<'a>(&'a self, _: &'a AttemptKeys) -> Counted<'a> {
            self.answer()
        }
    }

    fn authenticator(answers: usize) -> UserAuthenticator<MemoryStore> {
        let store = MemoryStore::default();
        store.add_user("admin", "123456", &["ROLE_USER"]);
        store.add_user("gone", "pw", &["ROLE_USER"]);
        store
            .state()
            .users
            .entry("gone".into())
            .and_modify(|u| u.enabled = false);
        let passwords = Arc::new(Passwords::new(&CheckSettings::for_tools(4)).expect("bcrypt"));
        let counters = Dying {
            answers,
            calls: AtomicUsize::new(0),
        };
        UserAuthenticator::new(store, passwords, SignInThrottle::with_counters(counters), 0)
    }

    async fn sign_in(
        users: &UserAuthenticator<MemoryStore>,
        (username, password): (&str, &str),
    ) -> Result<(), ErrorCode> {
        let credentials = Credentials {
            from: Some("10.0.0.1".parse().expect("an address")),
            username,
            password,
        };
        users
            .sign_in(credentials)
            .await
            .map(drop)
            .map_err(|error| error.code())
    }

    #[tokio::test]
    async fn counters_that_do_not_answer_stop_the_attempt_before_any_bcrypt_work() {
        let users = authenticator(0);
        let before = users.passwords.bcrypt_runs();
        assert_eq!(
            sign_in(&users, ("admin", "123456")).await,
            Err(ErrorCode::SignInLimitsUnavailable)
        );
        assert_eq!(users.passwords.bcrypt_runs(), before);
    }

    /// A failure that was not counted must not be told, nor a success that did not clear the
    /// count, nor a disabled account whose lock could not be checked: each would be a guess
    /// answered outside the limit.
    #[tokio::test]
    async fn a_verdict_that_the_counters_did_not_record_is_not_given() {
        for who in [("admin", "wrong"), ("admin", "123456"), ("gone", "pw")] {
            let users = authenticator(1);
            assert_eq!(
                sign_in(&users, who).await,
                Err(ErrorCode::SignInLimitsUnavailable),
                "{who:?}"
            );
        }
        // With counters that answer, the same three are judged.
        for (who, verdict) in [
            (("admin", "wrong"), Err(ErrorCode::BadCredentials)),
            (("admin", "123456"), Ok(())),
            (("gone", "pw"), Err(ErrorCode::UserDisabled)),
        ] {
            let users = authenticator(usize::MAX);
            assert_eq!(sign_in(&users, who).await, verdict, "{who:?}");
        }
    }
}
