//! One attempt at discovery: the RFC 8414 location, then OpenID Connect's if that one is not
//! there (404).

use reqwest::{StatusCode, Url};

use super::issuer::Issuer;
use super::metadata::{self, Field, Refused};
use super::well_known;

/// A metadata document larger than this is not a metadata document; reading stops there.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why an attempt found nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("{url}: {cause}")]
    Unreachable { url: Url, cause: reqwest::Error },
    #[error("{url} answered {status}")]
    Status { url: Url, status: StatusCode },
    #[error("no metadata at {authorization_server} nor at {openid_configuration} (404)")]
    NoMetadata {
        authorization_server: Url,
        openid_configuration: Url,
    },
    #[error("{url} answered more than {MAX_BODY_BYTES} bytes")]
    TooLarge { url: Url },
    #[error("the metadata at {url} is refused: {cause}")]
    Refused { url: Url, cause: Refused },
}

/// `field` of `issuer`'s metadata.
pub async fn discover(
    http: &reqwest::Client,
    issuer: &Issuer,
    field: Field,
) -> Result<Url, DiscoveryError> {
    let authorization_server = well_known::authorization_server_metadata(issuer);
    let (url, body) = match read(http, &authorization_server).await {
        Err(DiscoveryError::Status {
            status: StatusCode::NOT_FOUND,
            ..
        }) => {
            let openid_configuration = well_known::openid_configuration(issuer);
            match read(http, &openid_configuration).await {
                Err(DiscoveryError::Status {
                    status: StatusCode::NOT_FOUND,
                    ..
                }) => {
                    return Err(DiscoveryError::NoMetadata {
                        authorization_server,
                        openid_configuration,
                    })
                }
                read => (openid_configuration, read?),
            }
        }
        read => (authorization_server, read?),
    };
    metadata::endpoint(&body, issuer, field).map_err(|cause| DiscoveryError::Refused { url, cause })
}

/// The body of a 200 answer, at most [`MAX_BODY_BYTES`].
async fn read(http: &reqwest::Client, url: &Url) -> Result<Vec<u8>, DiscoveryError> {
    let unreachable = |cause| DiscoveryError::Unreachable {
        url: url.clone(),
        cause,
    };
    let mut response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    if status != StatusCode::OK {
        return Err(DiscoveryError::Status {
            url: url.clone(),
            status,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(DiscoveryError::TooLarge { url: url.clone() });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
