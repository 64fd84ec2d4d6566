//! The HTTP client this server talks to the authorization server with, for introspection and for
//! fetching its signing keys: one timeout for connecting and answering, HTTPS only when the URL
//! says so, and the private CA of `introspection.ca_file` when there is one.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The HTTP client cannot be set up from its settings.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    #[error("introspection.ca_file: cannot read {path}: {cause}")]
    CaFile {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("introspection.ca_file: {path} is not a PEM certificate: {cause}")]
    CaCertificate {
        path: PathBuf,
        cause: reqwest::Error,
    },
    #[error("HTTP client for {url}: {cause}")]
    Http { url: String, cause: reqwest::Error },
}

/// A client for requests to `url`.
pub fn build(
    url: &str,
    timeout: Duration,
    ca_file: Option<&Path>,
) -> Result<reqwest::Client, ClientSetupError> {
    shared::tls::install_crypto_provider();
    let mut http = reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        // No redirects: the URLs are configured or come from the issuer's own metadata, and a
        // redirect from one of them (to another origin, with Basic credentials) is refused as an
        // error, failing closed. An https:// URL is never downgraded either.
        .redirect(reqwest::redirect::Policy::none())
        .https_only(url.starts_with("https://"));
    if let Some(ca_file) = ca_file {
        let pem = std::fs::read(ca_file).map_err(|cause| ClientSetupError::CaFile {
            path: ca_file.to_owned(),
            cause,
        })?;
        let ca = reqwest::Certificate::from_pem(&pem).map_err(|cause| {
            ClientSetupError::CaCertificate {
                path: ca_file.to_owned(),
                cause,
            }
        })?;
        http = http.add_root_certificate(ca);
    }
    http.build().map_err(|cause| ClientSetupError::Http {
        url: url.to_owned(),
        cause,
    })
}
