//! The payload of a JWT access token, as both servers read and write it.
//!
//! Written in the shape Spring's `DefaultAccessTokenConverter` gave it (`user_name`, `authorities`,
//! `scope`, `client_id`, `aud`, `exp`, `jti`), so legacy Spring resource servers read it
//! unchanged, plus `iss`, `sub` and `iat` (RFC 9068 §2.2). `scope` is written as one
//! space-separated string, which legacy Spring, Spring Boot 3 and RFC 9068 parsers all accept;
//! it is read as a string or as the array legacy Spring wrote, and `aud` as a string or an array
//! (RFC 7519 §4.1.3), so tokens of a legacy Spring auth server read too.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::guard::TokenClaims;
use crate::Scope;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Absent from legacy Spring tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The username, or the client id for a client acting for itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Only in tokens issued to a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Left out when empty, as Spring's converter did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<String>,
    #[serde(
        default,
        serialize_with = "scope_as_string",
        deserialize_with = "scope_from_string_or_array"
    )]
    pub scope: Scope,
    pub client_id: String,
    /// The client's resource ids; absent when it has none (every resource server).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub aud: Vec<String>,
    /// Absent for a token that never expires, as Spring allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl From<AccessTokenClaims> for TokenClaims {
    fn from(claims: AccessTokenClaims) -> Self {
        TokenClaims {
            client_id: claims.client_id,
            user_name: claims.user_name,
            scope: claims.scope,
            authorities: claims.authorities,
            audience: claims.aud,
            expires_at: claims.exp,
        }
    }
}

fn scope_as_string<S: Serializer>(scope: &Scope, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(scope)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn scope_from_string_or_array<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Scope, D::Error> {
    let scope = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => Scope::parse(&text),
        OneOrMany::Many(tokens) => Scope::from_tokens(tokens),
    };
    scope.map_err(serde::de::Error::custom)
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn written_as_spring_and_rfc_9068_parsers_read_it() {
        let claims = AccessTokenClaims {
            iss: Some("http://localhost:8081".into()),
            sub: Some("admin".into()),
            user_name: Some("admin".into()),
            authorities: vec!["ROLE_USER".into()],
            scope: Scope::parse("read app").unwrap(),
            client_id: "dev".into(),
            aud: vec!["hi".into()],
            exp: Some(2_000_000_000),
            nbf: None,
            iat: Some(1_999_990_000),
            jti: Some("j".into()),
        };
        assert_eq!(
            serde_json::to_value(&claims).unwrap(),
            json!({
                "iss": "http://localhost:8081", "sub": "admin", "user_name": "admin",
                "authorities": ["ROLE_USER"], "scope": "app read", "client_id": "dev",
                "aud": ["hi"], "exp": 2_000_000_000i64, "iat": 1_999_990_000i64, "jti": "j"
            })
        );
    }

    #[test]
    fn a_legacy_spring_token_reads_with_its_scope_array_and_a_single_audience() {
        let claims: AccessTokenClaims = serde_json::from_value(json!({
            "user_name": "admin", "authorities": ["ROLE_USER"], "scope": ["read", "app"],
            "client_id": "dev", "aud": "hi", "exp": 2_000_000_000i64, "jti": "j"
        }))
        .unwrap();
        assert_eq!(claims.scope, Scope::parse("app read").unwrap());
        assert_eq!(claims.aud, vec!["hi".to_owned()]);
        assert_eq!(claims.iss, None);
        let claims = TokenClaims::from(claims);
        assert_eq!(claims.user_name.as_deref(), Some("admin"));
        assert_eq!(claims.expires_at, Some(2_000_000_000));
    }

    #[test]
    fn a_malformed_scope_is_refused_not_narrowed() {
        let read = serde_json::from_value::<AccessTokenClaims>(
            json!({"client_id": "dev", "scope": ["re\"ad"]}),
        );
        assert!(read.is_err());
    }
}
