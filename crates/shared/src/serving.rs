//! Where and how a server listens (`server.*`), the same for both: the address, the number of
//! HTTP workers, and HTTPS (rustls) when `server.tls` names a certificate and key.

use std::net::TcpListener;

use actix_http::{Request, Response};
use actix_service::IntoServiceFactory;
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Server, Service, ServiceFactory};
use actix_web::{Error, HttpServer};
use serde::Deserialize;

use crate::tls::{TlsError, TlsSettings};

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// HTTP worker threads; 0: one per core.
    pub workers: usize,
    /// How long a request's body may take to arrive, once its head has (then 408, and the
    /// connection is closed).
    pub body_timeout_ms: u64,
    /// HTTPS when set: `server.tls.cert` and `server.tls.key`.
    pub tls: Option<TlsSettings>,
    /// The auth server's issuer identifier (the `iss` of its JWTs); unset:
    /// `http(s)://localhost:<port>`. The resource server has none.
    pub issuer: Option<String>,
}

impl ServerSettings {
    /// `server.issuer`, or this server on localhost at `port` (the one it listens on).
    pub fn issuer(&self, port: u16) -> String {
        match &self.issuer {
            Some(issuer) if !issuer.is_empty() => issuer.clone(),
            _ => format!("{}://localhost:{port}", self.scheme()),
        }
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// Why a server could not listen.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen on {address}: {cause}")]
    Socket {
        address: String,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Binds `settings` (port 0 picks a free one) and starts `server` there: the running server and
/// its port. Signals are left to the binary (see [`crate::shutdown`]).
pub fn serve<F, I, S, B>(
    server: HttpServer<F, I, S, B>,
    settings: &ServerSettings,
) -> Result<(Server, u16), ListenError>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let address = format!("{}:{}", settings.host, settings.port);
    let failed = |cause| ListenError::Socket {
        address: address.clone(),
        cause,
    };
    let listener = TcpListener::bind((settings.host.as_str(), settings.port)).map_err(failed)?;
    let port = listener.local_addr().map_err(failed)?.port();
    let server = server.disable_signals();
    let mut server = match &settings.tls {
        Some(files) => server.listen_rustls_0_23(listener, crate::tls::server_config(files)?),
        None => server.listen(listener),
    }
    .map_err(failed)?;
    if settings.workers > 0 {
        server = server.workers(settings.workers);
    }
    Ok((server.run(), port))
}
