//! Building the server: the introspection client and cache, the guard, routes and listener.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError};
use serde_json::json;
use shared::guard::Guard;
use shared::{ApiError, ErrorCode, Scope};

use crate::introspection::{CachingValidator, IntrospectionClient};
use crate::settings::Settings;

pub struct Application {
    port: u16,
    server: Server,
}

/// Up as long as the process is; the introspection counters tell how much the cache saves.
async fn health(validator: web::Data<CachingValidator>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "UP",
        "introspection_calls": validator.client().calls(),
        "cached_tokens": validator.cached_tokens(),
    }))
}

async fn not_found() -> HttpResponse {
    ApiError::new(ErrorCode::NotFound).error_response()
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, String> {
        let client = Arc::new(IntrospectionClient::new(&settings.introspection)?);
        let validator = Arc::new(CachingValidator::new(client, &settings.introspection));
        validator.maintain_in_background();
        let required_scope = Scope::parse(&settings.resource.required_scope)
            .map_err(|_| "resource.required_scope is malformed".to_owned())?;
        let guard = web::Data::new(Guard::new(
            validator.clone(),
            &settings.resource.id,
            Some(required_scope),
        ));
        let validator_data = web::Data::from(validator.clone());
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .map_err(|e| {
                format!(
                    "cannot listen on {}:{}: {e}",
                    settings.server.host, settings.server.port
                )
            })?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let server = HttpServer::new(move || {
            App::new()
                // The last wrapped runs first: oversized requests are refused, and logged.
                .wrap(actix_web::middleware::from_fn(
                    shared::request_limits::enforce,
                ))
                .wrap(actix_web::middleware::from_fn(
                    shared::telemetry::log_request,
                ))
                .app_data(guard.clone())
                .app_data(validator_data.clone())
                .configure(shared::protected::routes)
                .route("/health", web::get().to(health))
                .default_service(web::to(not_found))
        });
        let mut server = match &settings.server.tls {
            Some(files) => server
                .listen_rustls_0_23(listener, shared::tls::server_config(files)?)
                .map_err(|e| e.to_string())?,
            None => server.listen(listener).map_err(|e| e.to_string())?,
        };
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        log::info!(
            "resource-server listening on {}://{}:{port} as resource {:?}, introspecting at {} ({:?})",
            if settings.server.tls.is_some() { "https" } else { "http" },
            settings.server.host,
            settings.resource.id,
            settings.introspection.url,
            settings.introspection.protocol
        );
        Ok(Self {
            port,
            server: server.run(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
