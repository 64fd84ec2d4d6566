//! Checking a resource owner's username and password: the password grant and the login form.

use std::net::IpAddr;

use shared::{ApiError, ErrorCode};

use crate::db::{users, Store};
use crate::domain::password::Passwords;
use crate::domain::sign_in_throttle::SignInThrottle;
use crate::domain::user::User;

/// The user, if the password is right and the account usable, unless this account or the address
/// `from` has failed too often lately (SECURITY.md 17): then 429, before any bcrypt work.
pub fn authenticate_user(
    store: &Store,
    passwords: &Passwords,
    throttle: &SignInThrottle,
    from: Option<IpAddr>,
    username: &str,
    password: &str,
) -> Result<User, ApiError> {
    let locked = |wait: std::time::Duration| {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::new(ErrorCode::TooManyFailedSignIns).with_retry_after(seconds)
    };
    let attempt = throttle.begin(username, from).map_err(locked)?;
    match check_password(store, passwords, username, password) {
        Ok(user) => attempt.succeeded().map(|()| user).map_err(locked),
        Err(error) if error.code() == ErrorCode::BadCredentials => {
            attempt.failed().map_err(locked)?;
            Err(error)
        }
        // The right password for a disabled account: in a burst past the limit, answered like
        // every other attempt there.
        Err(error) if error.code() == ErrorCode::UserDisabled => match attempt.locked() {
            Some(wait) => Err(locked(wait)),
            None => Err(error),
        },
        // Not a verdict on the password (database down, bcrypt busy).
        Err(error) => Err(error),
    }
}

/// An unknown user costs the same bcrypt work as a wrong password (SECURITY.md 15). The password
/// is checked before the account state, so only someone who knows it learns that the account is
/// disabled. A user without authorities is refused, as Spring's `JdbcDaoImpl` refused it.
fn check_password(
    store: &Store,
    passwords: &Passwords,
    username: &str,
    password: &str,
) -> Result<User, ApiError> {
    let bad_credentials = || ApiError::new(ErrorCode::BadCredentials);
    let busy = |_| ApiError::new(ErrorCode::PasswordChecksBusy);
    // The connection goes back to the pool before the slow bcrypt check.
    let Some(user) = users::find(&mut *store.conn()?, username)? else {
        passwords.burn(password).map_err(busy)?;
        return Err(bad_credentials());
    };
    if !passwords.verify(&user.password, password).map_err(busy)? {
        return Err(bad_credentials());
    }
    if !user.enabled {
        return Err(ApiError::new(ErrorCode::UserDisabled));
    }
    if user.authorities.is_empty() {
        return Err(bad_credentials());
    }
    Ok(user)
}

/// The user a session or grant stands for, if it still exists and may sign in.
pub fn current_user(store: &Store, username: &str) -> Result<Option<User>, ApiError> {
    Ok(users::find(&mut *store.conn()?, username)?
        .filter(|u| u.enabled && !u.authorities.is_empty()))
}
