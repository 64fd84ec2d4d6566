//! JSON bodies as Spring Security OAuth2 put them on the wire (docs/spring.md).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::openapi::one_of;

/// The exact Content-Type Spring answers JSON with; some clients compare it as a string.
pub const JSON_UTF8: &str = "application/json;charset=UTF-8";

// The `ToSchema` derives below are the OpenAPI description's schemas of these answers (served at
// `/openapi.json`). An absent field is left out, never `null`: hence `nullable = false` on the
// options.

/// RFC 6749 §5.1 access token response, fields in Spring's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`, lowercase, as Spring writes it.
    #[schema(schema_with = bearer)]
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires; absent for a token that never does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub expires_in: Option<i64>,
    /// Space-joined, sorted.
    pub scope: String,
    /// OpenID Connect Core §3.1.3.3: for a grant whose scope has `openid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token: Option<String>,
}

fn bearer() -> utoipa::openapi::Object {
    one_of(&["bearer"])
}

/// RFC 6749 §5.2 error response: the `error` and `error_description` of a catalogue entry
/// (docs/errors.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"error": "invalid_client", "error_description": "Bad client credentials"}))]
pub struct ErrorBody {
    pub error: String,
    pub error_description: String,
}

/// Spring's `/oauth/check_token` answer for an active token, fields in the order of
/// docs/spring.md. Read leniently, since Spring versions and forks differ: `active` may be
/// missing (older than 2.1), `scope` and `aud` may be a string or a list. This server always
/// writes `active` and lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckTokenResponse {
    #[serde(default = "yes")]
    #[schema(required = true)]
    pub active: bool,
    /// Unix seconds; absent for a token that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub exp: Option<i64>,
    /// Absent for client-only tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<String>,
    pub client_id: String,
    #[serde(default, deserialize_with = "string_or_list")]
    #[schema(required = true)]
    pub scope: Vec<String>,
    /// The client's resource ids; absent when it has none.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_or_list"
    )]
    pub aud: Vec<String>,
}

fn yes() -> bool {
    true
}

/// RFC 7662 §2.2 introspection answer. An inactive token is exactly `{"active":false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntrospectionResponse {
    pub active: bool,
    /// Space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// The user; absent for a client's own token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub username: Option<String>,
    /// `bearer` for an access token, `refresh_token` for a refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, schema_with = introspected_token_type)]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub iat: Option<i64>,
    /// The user, or the client for a client's own token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sub: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_or_list"
    )]
    pub aud: Vec<String>,
    /// An extension field (RFC 7662 §2.2 allows them): what Spring called the token's authorities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<String>,
}

fn introspected_token_type() -> utoipa::openapi::Object {
    one_of(&["bearer", "refresh_token"])
}

impl IntrospectionResponse {
    pub fn inactive() -> Self {
        Self {
            active: false,
            scope: None,
            client_id: None,
            username: None,
            token_type: None,
            exp: None,
            iat: None,
            sub: None,
            aud: Vec::new(),
            authorities: Vec::new(),
        }
    }
}

/// `"a b"` (RFC 7662), `"a"` or `["a","b"]` (Spring) all read as a list.
fn string_or_list<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
        Null(()),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(s) => s
            .split([' ', ','])
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        OneOrMany::Many(v) => v,
        OneOrMany::Null(()) => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_fields_come_in_springs_order_and_absent_ones_are_left_out() {
        let response = TokenResponse {
            access_token: "a".into(),
            token_type: "bearer".into(),
            refresh_token: Some("r".into()),
            expires_in: Some(3599),
            scope: "app read".into(),
            id_token: None,
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"access_token":"a","token_type":"bearer","refresh_token":"r","expires_in":3599,"scope":"app read"}"#
        );
        let client_only = TokenResponse {
            refresh_token: None,
            ..response
        };
        assert!(!serde_json::to_string(&client_only)
            .unwrap()
            .contains("refresh_token"));
    }
}

#[cfg(test)]
mod introspection_tests {
    use super::*;

    #[test]
    fn an_inactive_rfc7662_answer_is_exactly_active_false() {
        assert_eq!(
            serde_json::to_string(&IntrospectionResponse::inactive()).unwrap(),
            r#"{"active":false}"#
        );
    }

    #[test]
    fn check_token_answers_of_every_spring_vintage_are_read() {
        let modern: CheckTokenResponse = serde_json::from_str(
            r#"{"aud":["hi"],"user_name":"admin","scope":["app","read"],"active":true,"exp":1700000000,"authorities":["ROLE_USER"],"client_id":"dev"}"#,
        )
        .unwrap();
        assert_eq!(modern.scope, ["app", "read"]);
        assert_eq!(modern.aud, ["hi"]);
        let old: CheckTokenResponse =
            serde_json::from_str(r#"{"scope":"app read","client_id":"dev","aud":"hi"}"#).unwrap();
        assert!(old.active, "before Spring 2.1 there was no active field");
        assert_eq!(old.scope, ["app", "read"]);
        assert_eq!(old.aud, ["hi"]);
    }

    #[test]
    fn check_token_fields_come_in_the_documented_order() {
        let answer = CheckTokenResponse {
            active: true,
            exp: Some(1),
            user_name: Some("u".into()),
            authorities: vec!["R".into()],
            client_id: "c".into(),
            scope: vec!["app".into()],
            aud: vec![],
        };
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"active":true,"exp":1,"user_name":"u","authorities":["R"],"client_id":"c","scope":["app"]}"#
        );
    }
}
