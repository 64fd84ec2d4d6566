//! Building the server: the introspection client and cache, the guard, routes and listener; and
//! stopping it in order (requests in flight first, then the cache's background task).

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError};
use serde_json::json;
use shared::background::Background;
use shared::guard::Guard;
use shared::request_body::BodyLimits;
use shared::serving::{self, ListenError};
use shared::{ApiError, ErrorCode};

use crate::http_client::ClientSetupError;
use crate::introspection::{CachingValidator, IntrospectionClient};
use crate::settings::Settings;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Introspection(#[from] ClientSetupError),
    #[error(transparent)]
    Listen(#[from] ListenError),
}

/// The protected API takes no bodies; anything larger than this is refused unread.
const MAX_BODY_BYTES: usize = 16 * 1024;

pub struct Application {
    port: u16,
    server: Server,
    background: Background,
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
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let client = Arc::new(IntrospectionClient::new(&settings.introspection)?);
        let validator = Arc::new(CachingValidator::new(client, &settings.introspection));
        let background = Background::new();
        validator.maintain_on(&background);
        let guard = web::Data::new(Guard::new(
            validator.clone(),
            &settings.resource.id,
            settings.resource.required_scope.clone(),
        ));
        let validator_data = web::Data::from(validator.clone());
        let bodies = web::Data::new(BodyLimits {
            max_bytes: MAX_BODY_BYTES,
            deadline: Duration::from_millis(settings.server.body_timeout_ms),
        });
        let server = HttpServer::new(move || {
            App::new()
                // The last wrapped runs first: oversized or slow requests are refused, and logged.
                .wrap(actix_web::middleware::from_fn(
                    shared::request_body::read_whole,
                ))
                .wrap(actix_web::middleware::from_fn(
                    shared::request_limits::enforce,
                ))
                .wrap(actix_web::middleware::from_fn(
                    shared::telemetry::log_request,
                ))
                .app_data(guard.clone())
                .app_data(bodies.clone())
                .app_data(validator_data.clone())
                .configure(shared::protected::routes)
                .route("/health", web::get().to(health))
                .default_service(web::to(not_found))
        });
        let (server, port) = serving::serve(server, &settings.server)?;
        log::info!(
            "resource-server listening on {}://{}:{port} as resource {:?}, introspecting at {} ({:?})",
            settings.server.scheme(),
            settings.server.host,
            settings.resource.id,
            settings.introspection.url,
            settings.introspection.protocol
        );
        Ok(Self {
            port,
            server,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then ends the background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.background.stop().await;
        log::info!("resource-server stopped");
        served
    }
}
