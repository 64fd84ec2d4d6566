//! A resource owner from Spring Security's JDBC user store (`users` and `authorities`).

use super::secret::StoredSecret;

#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password: StoredSecret,
    pub enabled: bool,
    pub authorities: Vec<String>,
    /// Browser sessions signed in before this (Unix milliseconds) were ended: by a password
    /// change, say. `None`: none ever was.
    pub sessions_valid_after: Option<i64>,
}

/// A browser's sign-in, as its session cookie says: who, and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedIn {
    pub username: String,
    /// Unix seconds.
    pub at: i64,
    /// Unix milliseconds: a sign-in just after a password change must count as after it. Absent
    /// from sessions made before it was kept.
    #[serde(default)]
    pub at_millis: Option<i64>,
}

impl SignedIn {
    pub fn now(username: &str) -> Self {
        let at_millis = super::clock::now_millis();
        Self {
            username: username.to_owned(),
            at: at_millis / 1000,
            at_millis: Some(at_millis),
        }
    }

    /// Unix milliseconds of the sign-in.
    pub fn millis(&self) -> i64 {
        self.at_millis.unwrap_or(self.at.saturating_mul(1000))
    }
}

impl User {
    /// Whether tokens may be issued for this user now: enabled, and with at least one authority,
    /// as Spring's `JdbcDaoImpl` refused a user without.
    pub fn may_sign_in(&self) -> bool {
        self.enabled && !self.authorities.is_empty()
    }

    /// Whether a browser's sign-in still stands for this user.
    pub fn accepts(&self, signed_in: &SignedIn) -> bool {
        self.may_sign_in()
            && self
                .sessions_valid_after
                .is_none_or(|after| signed_in.millis() > after)
    }
}
