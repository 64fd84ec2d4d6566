//! A registered client, as read from Spring's `oauth_client_details` row.

use serde_json::{Map, Value};
use shared::Scope;

use super::grant_type::GrantType;
use super::secret::StoredSecret;

/// What an access token is: an opaque random value, looked up at every use, or a signed JWT
/// that resource servers can verify themselves (`tokens.access_token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenType {
    Opaque,
    Jwt,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub secret: StoredSecret,
    /// Audiences the client's tokens are good for; empty means every resource server.
    pub resource_ids: Vec<String>,
    /// What the client may ask for, and what it gets when it asks for nothing.
    pub scope: Scope,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    /// Granted to client-only tokens (client_credentials).
    pub authorities: Vec<String>,
    /// Seconds; `None` falls back to the server default.
    pub access_token_validity: Option<i64>,
    pub refresh_token_validity: Option<i64>,
    pub additional_information: Map<String, Value>,
    /// The raw `autoapprove` column: `true`, or a comma list of scope patterns.
    pub autoapprove: Option<String>,
}

/// The grants a client has when its `authorized_grant_types` column is empty (Spring's default).
pub const DEFAULT_GRANT_TYPES: [GrantType; 2] =
    [GrantType::AuthorizationCode, GrantType::RefreshToken];

/// Splits one of Spring's comma-list columns.
pub fn comma_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads `authorized_grant_types`; names this server does not know are dropped with a warning.
pub fn grant_types(client_id: &str, value: Option<&str>) -> Vec<GrantType> {
    let names = comma_list(value);
    if names.is_empty() {
        return DEFAULT_GRANT_TYPES.to_vec();
    }
    names
        .iter()
        .filter_map(|name| {
            let grant = GrantType::parse(name);
            if grant.is_none() {
                log::warn!("client {client_id}: unknown grant type {name:?} ignored");
            }
            grant
        })
        .collect()
}

/// Reads `additional_information`; Spring ignored a value that was not a JSON object, and so do we.
pub fn additional_information(client_id: &str, value: Option<&str>) -> Map<String, Value> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Map::new(),
        Some(json) => match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(map)) => map,
            _ => {
                log::warn!(
                    "client {client_id}: additional_information is not a JSON object; ignored"
                );
                Map::new()
            }
        },
    }
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// RFC 6749 §2.1: a client without a secret cannot keep one.
    pub fn is_public(&self) -> bool {
        self.secret.is_absent()
    }

    /// Spring's `isAutoApprove`: `autoapprove` is `true`, or lists a pattern (a regular expression
    /// matched against the whole scope) for every requested scope.
    pub fn auto_approves(&self, scope: &Scope) -> bool {
        let Some(entries) = &self.autoapprove else {
            return false;
        };
        let patterns: Vec<String> = comma_list(Some(entries));
        if patterns.iter().any(|p| p == "true") {
            return true;
        }
        let compiled: Vec<regex::Regex> = patterns
            .iter()
            .filter_map(|p| match regex::Regex::new(&format!("^(?:{p})$")) {
                Ok(re) => Some(re),
                Err(_) => {
                    log::warn!(
                        "client {}: autoapprove pattern {p:?} is not a regular expression",
                        self.client_id
                    );
                    None
                }
            })
            .collect();
        !scope.is_empty()
            && scope
                .iter()
                .all(|s| compiled.iter().any(|re| re.is_match(s)))
    }

    /// The per-client override of `tokens.access_token_type`: `{"access_token_type": "jwt"}`.
    pub fn access_token_type(&self) -> Option<AccessTokenType> {
        match self
            .additional_information
            .get("access_token_type")?
            .as_str()?
        {
            "jwt" => Some(AccessTokenType::Jwt),
            "opaque" => Some(AccessTokenType::Opaque),
            _ => None,
        }
    }

    /// The per-client override of `tokens.rotate_refresh_tokens`.
    pub fn rotate_refresh_tokens(&self) -> Option<bool> {
        self.additional_information
            .get("rotate_refresh_tokens")
            .and_then(Value::as_bool)
    }

    /// Where the client may send the user after logging out (OpenID Connect RP-initiated
    /// logout): `{"post_logout_redirect_uris": ["https://…"]}`; entries that are not strings are
    /// ignored.
    pub fn post_logout_redirect_uris(&self) -> Vec<String> {
        self.additional_information
            .get("post_logout_redirect_uris")
            .and_then(Value::as_array)
            .map(|uris| {
                uris.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A confidential client (`{noop}s3cret`) with every grant and scope `app read`, changed by
    /// `change`: the fixture of the flows' unit tests.
    pub fn client(id: &str, change: impl FnOnce(&mut Client)) -> Client {
        let mut client = Client {
            client_id: id.into(),
            secret: StoredSecret::parse(Some("{noop}s3cret")),
            resource_ids: vec![],
            scope: Scope::parse("app read").unwrap(),
            grant_types: GrantType::ALL.to_vec(),
            redirect_uris: vec!["https://app.example/cb".into()],
            authorities: vec!["ROLE_CLIENT".into()],
            access_token_validity: None,
            refresh_token_validity: None,
            additional_information: Map::new(),
            autoapprove: None,
        };
        change(&mut client);
        client
    }

    #[test]
    fn empty_grant_types_mean_springs_default() {
        assert_eq!(grant_types("c", None), DEFAULT_GRANT_TYPES.to_vec());
        assert_eq!(grant_types("c", Some(" ")), DEFAULT_GRANT_TYPES.to_vec());
        assert_eq!(
            grant_types("c", Some("password, client_credentials,bogus")),
            vec![GrantType::Password, GrantType::ClientCredentials]
        );
    }

    fn client_with_autoapprove(value: Option<&str>) -> Client {
        client("c", |c| c.autoapprove = value.map(str::to_owned))
    }

    #[test]
    fn autoapprove_is_true_or_a_list_of_whole_scope_patterns() {
        let scope = |s: &str| Scope::parse(s).unwrap();
        assert!(client_with_autoapprove(Some("true")).auto_approves(&scope("a b")));
        assert!(!client_with_autoapprove(Some("false")).auto_approves(&scope("a")));
        assert!(!client_with_autoapprove(None).auto_approves(&scope("a")));
        let listed = client_with_autoapprove(Some("read,profile.*"));
        assert!(listed.auto_approves(&scope("read profile.email")));
        assert!(
            !listed.auto_approves(&scope("read write")),
            "every scope must match"
        );
        assert!(
            !listed.auto_approves(&scope("readwrite")),
            "patterns match whole scopes"
        );
        assert!(!client_with_autoapprove(Some("(")).auto_approves(&scope("(")));
    }

    #[test]
    fn post_logout_redirect_uris_are_the_strings_of_their_array() {
        let with = |info: &str| {
            client("c", |c| {
                c.additional_information = additional_information("c", Some(info))
            })
            .post_logout_redirect_uris()
        };
        assert!(client("c", |_| {}).post_logout_redirect_uris().is_empty());
        assert_eq!(
            with(r#"{"post_logout_redirect_uris":["https://a.example/bye",7,null,"app:/out"]}"#),
            vec!["https://a.example/bye".to_owned(), "app:/out".to_owned()]
        );
        assert!(with(r#"{"post_logout_redirect_uris":"https://a.example/bye"}"#).is_empty());
    }

    #[test]
    fn additional_information_that_is_not_an_object_is_ignored() {
        assert!(additional_information("c", Some("[1]")).is_empty());
        assert!(additional_information("c", Some("{oops")).is_empty());
        assert_eq!(
            additional_information("c", Some(r#"{"rotate_refresh_tokens":true}"#)).len(),
            1
        );
    }
}
