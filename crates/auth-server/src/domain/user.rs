//! A resource owner from Spring Security's JDBC user store (`users` and `authorities`).

use super::password::StoredSecret;

#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password: StoredSecret,
    pub enabled: bool,
    pub authorities: Vec<String>,
}
