//! HTTPS for both servers (rustls): `server.tls.cert` and `server.tls.key`, PEM files.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// `[server.tls]`: both files, or no TLS at all.
#[derive(Debug, Clone, Deserialize)]
pub struct TlsSettings {
    /// The certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A certificate or key file that cannot be used; the message names the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

/// Uses ring for rustls's cryptography, once per process.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The server configuration for the files of `settings`; the error names the file at fault.
pub fn server_config(settings: &TlsSettings) -> Result<rustls::ServerConfig, TlsError> {
    install_crypto_provider();
    let certs = read_certificates(&settings.cert)?;
    let key = PrivateKeyDer::from_pem_file(&settings.key).map_err(|e| {
        TlsError(format!(
            "server.tls.key: cannot read a private key from {}: {e}",
            settings.key.display()
        ))
    })?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            TlsError(format!(
                "server.tls: the certificate and key do not go together: {e}"
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            TlsError(format!(
                "server.tls.cert: cannot read {}: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(TlsError(format!(
            "server.tls.cert: no certificate in {}",
            path.display()
        )));
    }
    Ok(certs)
}
