//! Where the signing keys come from, and one fetch of them: the auth server's JWK set
//! (`/oauth2/jwks`, configured or discovered from its issuer's metadata), Spring's legacy
//! `/oauth/token_key`, or a secret in the settings.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use super::jwks::{self, NotAJwkSet};
use super::keys::{fingerprint, KeySet, VerificationKey};
use super::token_key::{self, TokenKeyError};
use crate::discovery::{DiscoveredEndpoint, Field, NotYetDiscovered};
use crate::http_client::{self, ClientSetupError};
use crate::settings::{KeySourceSettings, Settings};

/// A key document larger than this is not a key document; reading stops there.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The keys could not be had from their source.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {cause}")]
    Unreachable { url: String, cause: reqwest::Error },
    #[error("{url} answered {status}")]
    Status { url: String, status: StatusCode },
    #[error("{url} answered more than {MAX_BODY_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url}: {cause}")]
    JwkSet { url: String, cause: NotAJwkSet },
    #[error("{url}: {cause}")]
    TokenKey { url: String, cause: TokenKeyError },
    /// Nothing was fetched: where from is not known yet.
    #[error(transparent)]
    NotDiscovered(#[from] NotYetDiscovered),
}

/// The key source cannot be set up from the settings.
#[derive(Debug, thiserror::Error)]
pub enum KeySourceError {
    #[error(transparent)]
    Client(#[from] ClientSetupError),
    #[error("jwt.secret: {0}")]
    Secret(jsonwebtoken::errors::Error),
    #[error("{0}")]
    Settings(String),
}

pub enum KeySource {
    Jwks {
        http: reqwest::Client,
        url: String,
    },
    /// The JWK set the issuer's metadata names.
    Discovered {
        http: reqwest::Client,
        jwks: Arc<DiscoveredEndpoint>,
    },
    /// Asked as the introspection client: a legacy server hands a symmetric secret to an
    /// authenticated client only, and some guard the public key the same way.
    TokenKey {
        http: reqwest::Client,
        url: String,
        client_id: String,
        client_secret: SecretString,
    },
    /// Nothing to fetch: the one key is in the settings.
    Secret(Arc<KeySet>),
}

impl KeySource {
    pub fn new(settings: &Settings) -> Result<Self, KeySourceError> {
        let client = |url: &str| {
            http_client::build(
                url,
                Duration::from_millis(settings.introspection.timeout_ms),
                settings.introspection.ca_file.as_deref(),
            )
        };
        Ok(
            match settings
                .jwt
                .key_source()
                .map_err(KeySourceError::Settings)?
            {
                KeySourceSettings::Jwks { url } => Self::Jwks {
                    http: client(&url)?,
                    url,
                },
                KeySourceSettings::TokenKey { url } => Self::TokenKey {
                    http: client(&url)?,
                    url,
                    client_id: settings.introspection.client_id.clone(),
                    client_secret: settings.introspection.client_secret.clone(),
                },
                KeySourceSettings::Secret(secret) => Self::Secret(Arc::new(secret_key(&secret)?)),
                // One client for the metadata and the keys, https-only when the issuer is: the
                // metadata of an https issuer may name only https endpoints.
                KeySourceSettings::Discovered { issuer } => {
                    let http = client(issuer.as_str())?;
                    Self::Discovered {
                        jwks: Arc::new(DiscoveredEndpoint::new(
                            issuer,
                            Field::JwksUri,
                            http.clone(),
                        )),
                        http,
                    }
                }
            },
        )
    }

    /// Where the keys come from, for logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Jwks { url, .. } => format!("the JWK set at {url}"),
            Self::Discovered { jwks, .. } => format!("the JWK set at {}", jwks.describe()),
            Self::TokenKey { url, .. } => format!("the token key at {url}"),
            Self::Secret(_) => "the shared secret jwt.secret".to_owned(),
        }
    }

    /// The discovery of the JWK set's location, when it is discovered.
    pub fn discovery(&self) -> Option<&Arc<DiscoveredEndpoint>> {
        match self {
            Self::Discovered { jwks, .. } => Some(jwks),
            _ => None,
        }
    }

    /// The keys as the source has them now.
    pub async fn fetch(&self) -> Result<Arc<KeySet>, FetchError> {
        match self {
            Self::Jwks { http, url } => fetch_jwks(http, url).await,
            Self::Discovered { http, jwks } => fetch_jwks(http, jwks.url().await?.as_str()).await,
            Self::TokenKey {
                http,
                url,
                client_id,
                client_secret,
            } => {
                let request = http
                    .get(url)
                    .basic_auth(client_id, Some(client_secret.expose_secret()));
                let body = read(request, url).await?;
                token_key::parse(&body)
                    .map(|key| Arc::new(KeySet::new(vec![key])))
                    .map_err(|cause| FetchError::TokenKey {
                        url: url.clone(),
                        cause,
                    })
            }
            Self::Secret(keys) => Ok(keys.clone()),
        }
    }
}

async fn fetch_jwks(http: &reqwest::Client, url: &str) -> Result<Arc<KeySet>, FetchError> {
    let body = read(http.get(url), url).await?;
    jwks::parse(&body)
        .map(Arc::new)
        .map_err(|cause| FetchError::JwkSet {
            url: url.to_owned(),
            cause,
        })
}

/// The HS256 key of `jwt.secret`: its bytes as they are, as Spring's `MacSigner` keys HMAC.
fn secret_key(secret: &SecretString) -> Result<KeySet, KeySourceError> {
    let bytes = secret.expose_secret().as_bytes();
    if bytes.len() < 32 {
        log::warn!(
            "jwt.secret is {} bytes: RFC 7518 §3.2 asks for at least 32",
            bytes.len()
        );
    }
    let key = DecodingKey::from_secret(bytes).map_err(KeySourceError::Secret)?;
    Ok(KeySet::new(vec![VerificationKey {
        kid: None,
        algorithm: Algorithm::HS256,
        key,
        fingerprint: fingerprint(bytes),
    }]))
}

/// The body of a 200 answer, at most [`MAX_BODY_BYTES`].
async fn read(request: reqwest::RequestBuilder, url: &str) -> Result<Vec<u8>, FetchError> {
    let unreachable = |cause| FetchError::Unreachable {
        url: url.to_owned(),
        cause,
    };
    let mut response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    if status != StatusCode::OK {
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            log::error!(
                "{url} refused us ({status}): check introspection.client_id and client_secret, \
                 and that the client may read the key"
            );
        }
        return Err(FetchError::Status {
            url: url.to_owned(),
            status,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
