//! A resource owner from Spring Security's JDBC user store (`users` and `authorities`).

use super::secret::StoredSecret;

#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password: StoredSecret,
    pub enabled: bool,
    pub authorities: Vec<String>,
}

impl User {
    /// Whether tokens may be issued for this user now: enabled, and with at least one authority,
    /// as Spring's `JdbcDaoImpl` refused a user without.
    pub fn may_sign_in(&self) -> bool {
        self.enabled && !self.authorities.is_empty()
    }
}
