//! Which scope a new token gets (RFC 6749 §3.3).

use shared::{ApiError, ErrorCode, Scope};

/// The requested scope if the client may have all of it; the client's whole scope when nothing was
/// requested. Stricter than Spring, which let a client registered with no scope ask for anything.
pub fn negotiate(requested: Option<Scope>, allowed: &Scope) -> Result<Scope, ApiError> {
    let scope = match requested {
        None => allowed.clone(),
        Some(requested) if requested.is_subset_of(allowed) => requested,
        Some(_) => return Err(ApiError::new(ErrorCode::InvalidScope)),
    };
    if scope.is_empty() {
        return Err(ApiError::new(ErrorCode::EmptyScope));
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    #[test]
    fn nothing_requested_means_everything_allowed() {
        assert_eq!(
            negotiate(None, &scope("app read")).unwrap(),
            scope("app read")
        );
    }

    #[test]
    fn a_subset_is_granted_as_asked() {
        assert_eq!(
            negotiate(Some(scope("read")), &scope("app read")).unwrap(),
            scope("read")
        );
    }

    #[test]
    fn anything_beyond_the_client_scope_is_refused() {
        assert_eq!(
            negotiate(Some(scope("app admin")), &scope("app"))
                .unwrap_err()
                .code(),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            negotiate(Some(scope("app")), &Scope::default())
                .unwrap_err()
                .code(),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            negotiate(None, &Scope::default()).unwrap_err().code(),
            ErrorCode::EmptyScope
        );
    }
}
