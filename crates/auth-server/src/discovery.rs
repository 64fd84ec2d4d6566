//! Authorization server metadata (RFC 8414 §2), also served as the OpenID discovery document.
//!
//! Every URL is the configured issuer plus a path, never the request's `Host`: a client that
//! trusts the document trusts the issuer, not whoever answered. What is offered (grant types,
//! response types, scopes) is what this server implements and its registered clients actually
//! have, read from `oauth_client_details` and remembered for a few seconds, so however often it
//! is asked the endpoint costs one database query every few seconds.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use shared::ApiError;

use crate::db::{clients, Storage};
use crate::domain::client::Client;
use crate::domain::grant_type::GrantType;
use crate::domain::profile::{EMAIL_CLAIMS, PROFILE_CLAIMS};
use crate::signing::KeyRing;

/// The paths of the endpoints, under the issuer.
pub const AUTHORIZATION_PATH: &str = "/oauth/authorize";
pub const TOKEN_PATH: &str = "/oauth2/token";
pub const JWKS_PATH: &str = "/oauth2/jwks";
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";
pub const REVOCATION_PATH: &str = "/oauth2/revoke";
pub const USERINFO_PATH: &str = "/userinfo";
/// Spring Authorization Server's path.
pub const END_SESSION_PATH: &str = "/connect/logout";

/// RFC 8414 §3: the well-known suffix, inserted between the host and the issuer's path.
pub const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery 1.0 §4: appended to the issuer, path included.
pub const OPENID_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Client authentication at the token and revocation endpoints: HTTP Basic, form parameters, and
/// a public client (PKCE) by its `client_id` alone.
const CLIENT_AUTH: &[&str] = &["client_secret_basic", "client_secret_post", "none"];
/// Introspection needs a client that can authenticate: no public ones.
const INTROSPECTION_AUTH: &[&str] = &["client_secret_basic", "client_secret_post"];

/// What an ID token may say (openid::id_token): its own claims, and the profile's.
const ID_TOKEN_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
];

/// How long what the clients offer is remembered: the client cache's few seconds.
const REMEMBERED_FOR: Duration = Duration::from_secs(5);

/// The metadata document: RFC 8414 §2's members and OpenID Connect Discovery 1.0 §3's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub response_types_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub scopes_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: &'static [&'static str],
    pub introspection_endpoint_auth_methods_supported: &'static [&'static str],
    pub revocation_endpoint_auth_methods_supported: &'static [&'static str],
    pub code_challenge_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub service_documentation: Option<String>,
    // OpenID Connect Discovery 1.0 §3.
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub subject_types_supported: &'static [&'static str],
    /// Those of the published keys; empty when only a shared HS256 secret signs, which no relying
    /// party can verify (docs/openid-connect.md).
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub response_modes_supported: &'static [&'static str],
    pub claims_supported: Vec<&'static str>,
    /// Its default is true: say that `request_uri` is not read.
    pub request_uri_parameter_supported: bool,
}

/// What the registered clients have, among what this server implements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offered {
    grant_types: BTreeSet<&'static str>,
    scopes: BTreeSet<String>,
}

impl Offered {
    pub fn of<'a>(clients: impl IntoIterator<Item = &'a Client>) -> Self {
        let mut offered = Self::default();
        for client in clients {
            offered
                .grant_types
                .extend(client.grant_types.iter().map(|g| g.as_str()));
            offered
                .scopes
                .extend(client.scope.iter().map(str::to_owned));
        }
        offered
    }

    fn has(&self, grant: GrantType) -> bool {
        self.grant_types.contains(grant.as_str())
    }
}

/// What a deployment publishes besides its clients: the issuer and its settings.
#[derive(Debug, Clone)]
pub struct Published {
    pub issuer: String,
    pub pkce_plain_allowed: bool,
    pub service_documentation: Option<String>,
    pub id_token_algorithms: Vec<&'static str>,
}

impl Published {
    fn url(&self, path: &str) -> String {
        // The issuer was checked at start to be an absolute URL with no query or fragment.
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }

    pub fn metadata(&self, offered: &Offered) -> Metadata {
        let mut response_types = Vec::new();
        if offered.has(GrantType::AuthorizationCode) {
            response_types.push("code");
        }
        if offered.has(GrantType::Implicit) {
            response_types.push("token");
            if offered.scopes.contains("openid") && !self.id_token_algorithms.is_empty() {
                response_types.extend(["id_token", "id_token token"]);
            }
        }
        // REQUIRED and never empty (§2): with no client of the authorization endpoint yet, the
        // code flow, which any client registered later can use.
        if response_types.is_empty() {
            response_types.push("code");
        }
        // In this server's order, which is RFC 6749's.
        let grant_types = GrantType::ALL
            .into_iter()
            .filter(|g| offered.has(*g))
            .map(GrantType::as_str)
            .collect();
        let mut challenge_methods = vec!["S256"];
        if self.pkce_plain_allowed {
            challenge_methods.push("plain");
        }
        Metadata {
            issuer: self.issuer.clone(),
            authorization_endpoint: self.url(AUTHORIZATION_PATH),
            token_endpoint: self.url(TOKEN_PATH),
            jwks_uri: self.url(JWKS_PATH),
            introspection_endpoint: self.url(INTROSPECTION_PATH),
            revocation_endpoint: self.url(REVOCATION_PATH),
            response_types_supported: response_types,
            grant_types_supported: grant_types,
            scopes_supported: offered.scopes.iter().cloned().collect(),
            token_endpoint_auth_methods_supported: CLIENT_AUTH,
            introspection_endpoint_auth_methods_supported: INTROSPECTION_AUTH,
            revocation_endpoint_auth_methods_supported: CLIENT_AUTH,
            code_challenge_methods_supported: challenge_methods,
            service_documentation: self.service_documentation.clone(),
            userinfo_endpoint: self.url(USERINFO_PATH),
            end_session_endpoint: self.url(END_SESSION_PATH),
            subject_types_supported: &["public"],
            id_token_signing_alg_values_supported: self.id_token_algorithms.clone(),
            response_modes_supported: &["query", "fragment", "form_post"],
            claims_supported: ID_TOKEN_CLAIMS
                .iter()
                .chain(PROFILE_CLAIMS)
                .chain(EMAIL_CLAIMS)
                .copied()
                .collect(),
            request_uri_parameter_supported: false,
        }
    }
}

/// The path under which an issuer's RFC 8414 document is served by this server: the well-known
/// suffix followed by the issuer's own path, if it has one (§3.1).
pub fn well_known_path(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    let path = url.path().trim_end_matches('/');
    (!path.is_empty()).then(|| format!("{WELL_KNOWN}{path}"))
}

pub struct Discovery {
    storage: Storage,
    keys: Arc<KeyRing>,
    pkce_plain_allowed: bool,
    service_documentation: Option<String>,
    remembered: Mutex<Option<(Instant, Arc<String>)>>,
    /// Held while the document is rebuilt: when it expires, one request reads the clients and
    /// the others wait for its answer instead of each running the same query.
    rebuilding: tokio::sync::Mutex<()>,
}

impl Discovery {
    pub fn new(
        storage: Storage,
        keys: Arc<KeyRing>,
        pkce_plain_allowed: bool,
        service_documentation: Option<String>,
    ) -> Self {
        Self {
            storage,
            keys,
            pkce_plain_allowed,
            service_documentation,
            remembered: Mutex::new(None),
            rebuilding: tokio::sync::Mutex::new(()),
        }
    }

    fn remembered(&self) -> Option<Arc<String>> {
        match &*self.remembered.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((at, json)) if at.elapsed() < REMEMBERED_FOR => Some(json.clone()),
            _ => None,
        }
    }

    /// The document as JSON.
    pub async fn document(&self) -> Result<Arc<String>, ApiError> {
        if let Some(json) = self.remembered() {
            return Ok(json);
        }
        let _rebuilding = self.rebuilding.lock().await;
        if let Some(json) = self.remembered() {
            return Ok(json);
        }
        let clients = self
            .storage
            .read(|conn| {
                Ok(clients::list(conn)?
                    .into_iter()
                    .map(|row| row.into_client())
                    .collect::<Vec<_>>())
            })
            .await?;
        let published = Published {
            // Known once the server is bound: the keys hold it (`KeyRing::set_issuer`).
            issuer: self.keys.issuer().to_owned(),
            pkce_plain_allowed: self.pkce_plain_allowed,
            service_documentation: self.service_documentation.clone(),
            id_token_algorithms: self.keys.id_token_algorithms(),
        };
        let metadata = published.metadata(&Offered::of(&clients));
        let json = Arc::new(serde_json::to_string(&metadata).map_err(ApiError::internal)?);
        *self.remembered.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), json.clone()));
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::tests::client;
    use shared::Scope;

    fn published(issuer: &str) -> Published {
        Published {
            issuer: issuer.into(),
            pkce_plain_allowed: true,
            service_documentation: None,
            id_token_algorithms: vec!["RS256"],
        }
    }

    #[test]
    fn every_endpoint_is_under_the_issuer_with_or_without_a_trailing_slash() {
        for issuer in [
            "https://auth.example/tenant",
            "https://auth.example/tenant/",
        ] {
            let metadata = published(issuer).metadata(&Offered::default());
            assert_eq!(metadata.issuer, issuer, "the issuer exactly as configured");
            assert_eq!(
                metadata.token_endpoint,
                "https://auth.example/tenant/oauth2/token"
            );
            assert_eq!(
                metadata.revocation_endpoint,
                "https://auth.example/tenant/oauth2/revoke"
            );
        }
    }

    #[test]
    fn only_what_some_client_has_is_offered() {
        let service = client("svc", |c| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.scope = Scope::parse("read").unwrap();
        });
        let spa = client("spa", |c| {
            c.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            c.scope = Scope::parse("openid app").unwrap();
        });
        let metadata = published("http://localhost:8081").metadata(&Offered::of([&service, &spa]));
        assert_eq!(metadata.response_types_supported, ["code"]);
        assert_eq!(
            metadata.grant_types_supported,
            ["authorization_code", "client_credentials", "refresh_token"]
        );
        assert_eq!(metadata.scopes_supported, ["app", "openid", "read"]);
    }

    #[test]
    fn id_token_response_types_need_an_implicit_client_with_openid() {
        let implicit = |scope: &str| {
            client("spa", |c| {
                c.grant_types = vec![GrantType::Implicit];
                c.scope = Scope::parse(scope).unwrap();
            })
        };
        let offered = |scope| {
            published("http://localhost:8081")
                .metadata(&Offered::of([&implicit(scope)]))
                .response_types_supported
        };
        assert_eq!(offered("app"), ["token"]);
        assert_eq!(
            offered("openid app"),
            ["token", "id_token", "id_token token"]
        );
        let metadata = published("http://localhost:8081").metadata(&Offered::default());
        assert_eq!(metadata.userinfo_endpoint, "http://localhost:8081/userinfo");
        assert_eq!(metadata.subject_types_supported, ["public"]);
        assert!(metadata.claims_supported.contains(&"email_verified"));
    }

    #[test]
    fn plain_pkce_is_listed_only_when_allowed() {
        let mut strict = published("http://localhost:8081");
        strict.pkce_plain_allowed = false;
        let metadata = strict.metadata(&Offered::default());
        assert_eq!(metadata.code_challenge_methods_supported, ["S256"]);
    }

    #[test]
    fn the_well_known_suffix_goes_before_the_issuers_path() {
        assert_eq!(well_known_path("http://localhost:8081"), None);
        assert_eq!(well_known_path("http://localhost:8081/"), None);
        assert_eq!(
            well_known_path("https://auth.example/tenant/one").as_deref(),
            Some("/.well-known/oauth-authorization-server/tenant/one")
        );
    }
}
