//! One introspection call: HTTP Basic as the configured client, `token=…` in a form body, to the
//! configured endpoint or the one discovered from the issuer's metadata.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use shared::background::Background;
use shared::guard::TokenClaims;
use shared::{ApiError, CheckTokenResponse, ErrorBody, ErrorCode, IntrospectionResponse, Scope};

use crate::discovery::{DiscoveredEndpoint, Field};
use crate::http_client::{self, ClientSetupError};
use crate::settings::{IntrospectionEndpointSettings, IntrospectionSettings, Protocol};

/// The introspection client cannot be set up from the settings.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectionSetupError {
    #[error(transparent)]
    Client(#[from] ClientSetupError),
    #[error("{0}")]
    Settings(String),
}

enum Endpoint {
    Configured {
        url: String,
        protocol: Protocol,
    },
    /// RFC 7662 by definition: RFC 8414 has no member for Spring's check_token.
    Discovered(Arc<DiscoveredEndpoint>),
}

pub struct IntrospectionClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    client_id: String,
    client_secret: SecretString,
    calls: AtomicU64,
}

/// What the authorization server said of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Active(TokenClaims),
    Expired,
    /// Unknown, revoked, not an access token, or expired as far as the answer tells.
    Invalid,
}

/// check_token's description of an expired token.
const EXPIRED: &str = "Token has expired";

fn unavailable(cause: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::TokenValidationUnavailable).with_cause(cause)
}

impl IntrospectionClient {
    pub fn new(settings: &IntrospectionSettings) -> Result<Self, IntrospectionSetupError> {
        let client = |url: &str| {
            http_client::build(
                url,
                Duration::from_millis(settings.timeout_ms),
                settings.ca_file.as_deref(),
            )
        };
        let (http, endpoint) = match settings
            .endpoint()
            .map_err(IntrospectionSetupError::Settings)?
        {
            IntrospectionEndpointSettings::Url { url, protocol } => {
                (client(&url)?, Endpoint::Configured { url, protocol })
            }
            // One client for the metadata and the introspection, https-only when the issuer is:
            // the metadata of an https issuer may name only https endpoints.
            IntrospectionEndpointSettings::Discovered { issuer } => {
                let http = client(issuer.as_str())?;
                let endpoint =
                    DiscoveredEndpoint::new(issuer, Field::IntrospectionEndpoint, http.clone());
                (http, Endpoint::Discovered(Arc::new(endpoint)))
            }
        };
        Ok(Self {
            http,
            endpoint,
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            calls: AtomicU64::new(0),
        })
    }

    /// How many introspection requests were sent since start.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The discovery of the endpoint, when it is discovered.
    pub fn discovery(&self) -> Option<&Arc<DiscoveredEndpoint>> {
        match &self.endpoint {
            Endpoint::Discovered(endpoint) => Some(endpoint),
            Endpoint::Configured { .. } => None,
        }
    }

    /// Discovers the endpoint in the background from the start, so that it is known before the
    /// first token needs it, and keeps trying while the authorization server cannot tell.
    pub fn discover_on(&self, background: &Background) {
        if let Some(endpoint) = self.discovery() {
            endpoint.keep_trying_on(background, "introspection-discovery");
        }
    }

    /// Where tokens are introspected, for logs.
    pub fn describe(&self) -> String {
        match &self.endpoint {
            Endpoint::Configured { url, protocol } => {
                format!("introspecting at {url} ({protocol:?})")
            }
            Endpoint::Discovered(endpoint) => {
                format!("introspecting (Rfc7662) at {}", endpoint.describe())
            }
        }
    }

    /// What the authorization server says of `token`. `Err`: it could not be asked (the endpoint
    /// is not discovered yet, say), or answered something unusable; the caller fails closed.
    pub async fn introspect(&self, token: &str) -> Result<Verdict, ApiError> {
        let (url, protocol) = match &self.endpoint {
            Endpoint::Configured { url, protocol } => (url.as_str(), *protocol),
            Endpoint::Discovered(endpoint) => (
                endpoint.url().await.map_err(unavailable)?.as_str(),
                Protocol::Rfc7662,
            ),
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        crate::metrics::introspection_sent();
        let response = self
            .http
            .post(url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            // Only access tokens may pass; an RFC 7662 server may search other kinds too.
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| unavailable(format!("introspection at {url}: {e}")))?;
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            log::error!(
                "{url} refused our credentials ({status}): check introspection.client_id and client_secret, \
                 and that the client may introspect"
            );
            return Err(unavailable(format!("introspection answered {status}")));
        }
        match protocol {
            Protocol::CheckToken => check_token_answer(status, response).await,
            Protocol::Rfc7662 => rfc7662_answer(status, response).await,
        }
    }
}

/// Spring answers 200 with the token's attributes, or 400 `invalid_token` when it does not know
/// the token ("Token was not recognised") or it expired ("Token has expired", Spring's wording and
/// this project's).
async fn check_token_answer(
    status: StatusCode,
    response: reqwest::Response,
) -> Result<Verdict, ApiError> {
    if status == StatusCode::BAD_REQUEST {
        let body: ErrorBody = response.json().await.map_err(unavailable)?;
        return match body.error.as_str() {
            "invalid_token" if body.error_description == EXPIRED => Ok(Verdict::Expired),
            "invalid_token" => Ok(Verdict::Invalid),
            other => Err(unavailable(format!("check_token answered 400 {other}"))),
        };
    }
    if status != StatusCode::OK {
        return Err(unavailable(format!("check_token answered {status}")));
    }
    let body: CheckTokenResponse = response.json().await.map_err(unavailable)?;
    if !body.active {
        return Ok(Verdict::Invalid);
    }
    Ok(Verdict::Active(TokenClaims {
        scope: Scope::from_tokens(body.scope).map_err(unavailable)?,
        client_id: body.client_id,
        user_name: body.user_name,
        authorities: body.authorities,
        audience: body.aud,
        expires_at: body.exp,
    }))
}

/// RFC 7662 says only `active: false` of an unknown, revoked or expired token, so they all read
/// as invalid here.
async fn rfc7662_answer(
    status: StatusCode,
    response: reqwest::Response,
) -> Result<Verdict, ApiError> {
    if status != StatusCode::OK {
        return Err(unavailable(format!("introspection answered {status}")));
    }
    let body: IntrospectionResponse = response.json().await.map_err(unavailable)?;
    if !body.active {
        return Ok(Verdict::Invalid);
    }
    // A refresh token (or anything but a bearer access token) is active, but not for us.
    if let Some(kind) = &body.token_type {
        if !kind.eq_ignore_ascii_case("bearer") && kind != "access_token" {
            return Ok(Verdict::Invalid);
        }
    }
    let client_id = body
        .client_id
        .ok_or_else(|| unavailable("an active introspection answer without client_id"))?;
    Ok(Verdict::Active(TokenClaims {
        scope: Scope::parse(body.scope.as_deref().unwrap_or_default()).map_err(unavailable)?,
        client_id,
        user_name: body.username,
        authorities: body.authorities,
        audience: body.aud,
        expires_at: body.exp,
    }))
}
