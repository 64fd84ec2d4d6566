//! A user's OpenID Connect profile (OIDC Core §5.1), and which of its claims a scope releases
//! (§5.4): `profile` the names, pictures and locale, `email` the address and whether it was
//! verified. Nothing else of the user is ever released.

use serde_json::{Map, Value};
use shared::Scope;

/// What the operator recorded of a user; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub preferred_username: Option<String>,
    pub picture: Option<String>,
    pub website: Option<String>,
    pub locale: Option<String>,
    pub zoneinfo: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

/// The claims each scope releases, as listed in discovery's `claims_supported`.
pub const PROFILE_CLAIMS: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "nickname",
    "preferred_username",
    "picture",
    "website",
    "locale",
    "zoneinfo",
    "updated_at",
];
pub const EMAIL_CLAIMS: &[&str] = &["email", "email_verified"];

impl Profile {
    /// The claims `scope` releases: only those with a value, so a claim is never `null`.
    pub fn claims(&self, scope: &Scope) -> Map<String, Value> {
        let mut claims = Map::new();
        let mut text = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                claims.insert(name.to_owned(), Value::String(value.clone()));
            }
        };
        if scope.contains("profile") {
            text("name", &self.name);
            text("given_name", &self.given_name);
            text("family_name", &self.family_name);
            text("nickname", &self.nickname);
            text("preferred_username", &self.preferred_username);
            text("picture", &self.picture);
            text("website", &self.website);
            text("locale", &self.locale);
            text("zoneinfo", &self.zoneinfo);
            claims.insert("updated_at".to_owned(), Value::from(self.updated_at));
        }
        if scope.contains("email") {
            if let Some(email) = &self.email {
                claims.insert("email".to_owned(), Value::String(email.clone()));
                claims.insert(
                    "email_verified".to_owned(),
                    Value::Bool(self.email_verified),
                );
            }
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Profile {
        Profile {
            name: Some("Alice Liddell".into()),
            given_name: Some("Alice".into()),
            email: Some("alice@example.com".into()),
            email_verified: true,
            updated_at: 7,
            ..Profile::default()
        }
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    #[test]
    fn each_scope_releases_its_own_claims_and_nothing_unset() {
        let openid_only = alice().claims(&scope("openid"));
        assert!(openid_only.is_empty());
        let profile = alice().claims(&scope("openid profile"));
        assert_eq!(profile["name"], "Alice Liddell");
        assert_eq!(profile["updated_at"], 7);
        assert!(!profile.contains_key("email"));
        assert!(
            !profile.contains_key("family_name"),
            "unset is absent, not null"
        );
        let email = alice().claims(&scope("openid email"));
        assert_eq!(email.len(), 2);
        assert_eq!(email["email_verified"], true);
    }

    #[test]
    fn no_address_means_no_email_verified_either() {
        let claims = Profile::default().claims(&scope("email"));
        assert!(claims.is_empty());
    }
}
