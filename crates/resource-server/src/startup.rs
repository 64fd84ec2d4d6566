//! Building the server: the validators `validation.mode` asks for (the introspection client and
//! cache, the JWT keys and cache), the guard, routes and listener; and stopping it in order
//! (requests in flight first, then the background tasks).

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError};
use shared::background::Background;
use shared::guard::{Guard, TokenValidator};
use shared::metrics::Probes;
use shared::request_body::BodyLimits;
use shared::routes::{get, Mounted, Router};
use shared::serving::{self, ListenError};
use shared::telemetry::Observing;
use shared::{ApiError, ErrorCode};

use crate::health::{self, health, Health, Readiness};
use crate::introspection::{CachingValidator, IntrospectionClient, IntrospectionSetupError};
use crate::jwt::{JwtValidator, KeyCache, KeySource, KeySourceError, Rules};
use crate::metrics::{self as counted, TokenCache};
use crate::mixed::MixedValidator;
use crate::settings::{Settings, ValidationMode};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Introspection(#[from] IntrospectionSetupError),
    #[error(transparent)]
    JwtKeys(#[from] KeySourceError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("metrics listener: {0}")]
    Metrics(ListenError),
    #[error("the OpenAPI description: {0}")]
    OpenApi(#[from] serde_json::Error),
}

/// The protected API takes no bodies; anything larger than this is refused unread.
const MAX_BODY_BYTES: usize = 16 * 1024;

pub struct Application {
    port: u16,
    server: Server,
    /// The separate `/metrics` listener, when there is one, and its port.
    metrics: Option<(Server, u16)>,
    background: Background,
}

fn introspection(
    settings: &Settings,
    background: &Background,
) -> Result<Arc<CachingValidator>, StartupError> {
    let client = Arc::new(IntrospectionClient::new(&settings.introspection)?);
    client.discover_on(background);
    let validator = Arc::new(CachingValidator::new(client, &settings.introspection));
    validator.maintain_on(background);
    Ok(validator)
}

/// The key set (and its location, when discovered) is fetched in the background from the start,
/// so the first JWT seldom waits for it; the server starts even while the auth server is down
/// (JWTs are 503 until it is back).
fn jwt(settings: &Settings, background: &Background) -> Result<Arc<JwtValidator>, StartupError> {
    let jwt = &settings.jwt;
    let keys = Arc::new(KeyCache::new(
        KeySource::new(settings)?,
        Duration::from_millis(jwt.refetch_min_interval_ms),
    ));
    keys.refresh_on(background, Duration::from_secs(jwt.cache_seconds));
    let rules = Rules {
        leeway_seconds: jwt.leeway_seconds,
        issuer: jwt.issuer().map(str::to_owned),
    };
    let validator = Arc::new(JwtValidator::new(keys, rules, jwt.token_cache_capacity));
    validator.maintain_on(background);
    Ok(validator)
}

/// The guard's validator for `validation.mode`, and what `/health` reports of it.
fn validators(
    settings: &Settings,
    background: &Background,
) -> Result<(Arc<dyn TokenValidator>, Health), StartupError> {
    let mode = settings.validation.mode;
    Ok(match mode {
        ValidationMode::Introspection => {
            let introspection = introspection(settings, background)?;
            let health = Health {
                mode,
                introspection: Some(introspection.clone()),
                jwt: None,
            };
            (introspection, health)
        }
        ValidationMode::Jwt => {
            let jwt = jwt(settings, background)?;
            let health = Health {
                mode,
                introspection: None,
                jwt: Some(jwt.clone()),
            };
            (jwt, health)
        }
        ValidationMode::Mixed => {
            let (introspection, jwt) = (
                introspection(settings, background)?,
                jwt(settings, background)?,
            );
            let health = Health {
                mode,
                introspection: Some(introspection.clone()),
                jwt: Some(jwt.clone()),
            };
            (Arc::new(MixedValidator { jwt, introspection }), health)
        }
    })
}

/// What `/metrics` reads when scraped: the sizes of the token caches in use.
fn probes(health: &Health) -> Probes {
    let mut probes = Vec::new();
    if let Some(introspection) = &health.introspection {
        let introspection = introspection.clone();
        probes.push(counted::size_probe(TokenCache::Introspection, move || {
            introspection.cached_tokens()
        }));
    }
    if let Some(jwt) = &health.jwt {
        let jwt = jwt.clone();
        probes.push(counted::size_probe(TokenCache::Jwt, move || {
            jwt.cached_tokens()
        }));
    }
    Probes(probes)
}

/// Where tokens are validated, for the start-up log.
fn validated_by(health: &Health) -> String {
    let verifying = health
        .jwt
        .as_ref()
        .map(|jwt| format!("verifying JWTs with {}", jwt.keys().source().describe()));
    let introspecting = health
        .introspection
        .as_ref()
        .map(|introspection| introspection.client().describe());
    [verifying, introspecting]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every route of the server; returns what was mounted.
pub fn mount(cfg: &mut web::ServiceConfig) -> Vec<Mounted> {
    let mut router = Router::new(cfg);
    shared::protected::routes(&mut router);
    router
        .mount("/health", [get(health)])
        .mount("/health/live", [get(shared::openapi::live)])
        .mount("/health/ready", [get(health::ready)])
        .mount("/openapi.json", [get(shared::openapi::serve)]);
    router.mounted()
}

/// What [`mount`] mounts, for the OpenAPI description's test.
pub fn route_table() -> Vec<Mounted> {
    let mut table = Vec::new();
    let _app = App::new().configure(|cfg| table = mount(cfg));
    table
}

async fn not_found() -> HttpResponse {
    ApiError::new(ErrorCode::NotFound).error_response()
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let background = Background::new();
        let (validator, health_state) = validators(&settings, &background)?;
        let validated_by = validated_by(&health_state);
        let guard = web::Data::new(Guard::new(
            validator,
            &settings.resource.id,
            settings.resource.required_scope.clone(),
        ));
        let probes = probes(&health_state);
        let metrics = shared::metrics::serve(&settings.metrics, probes.clone())
            .map_err(StartupError::Metrics)?;
        let metrics_on_main = settings.metrics.on_main();
        let probes = web::Data::new(probes);
        let readiness = web::Data::new(Readiness::default());
        let observing = Observing {
            trust_request_id: settings.log.trust_request_id,
        };
        let health_state = web::Data::new(health_state);
        let bodies = web::Data::new(BodyLimits {
            max_bytes: MAX_BODY_BYTES,
            deadline: Duration::from_millis(settings.server.body_timeout_ms),
        });
        let description = web::Data::new(shared::openapi::Description::new(
            &crate::openapi::description(),
        )?);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(move |request, next| {
                    shared::front_door::enter(observing, request, next)
                }))
                .app_data(guard.clone())
                .app_data(bodies.clone())
                .app_data(health_state.clone())
                .app_data(readiness.clone())
                .app_data(probes.clone())
                .app_data(description.clone())
                .configure(|cfg| {
                    mount(cfg);
                    if metrics_on_main {
                        Router::new(cfg).mount("/metrics", [get(shared::metrics::metrics)]);
                    }
                })
                .default_service(web::to(not_found))
        });
        let (server, port) = serving::serve(server, &settings.server)?;
        log::info!(
            "resource-server listening on {}://{}:{port} as resource {:?}, {validated_by}",
            settings.server.scheme(),
            settings.server.host,
            settings.resource.id,
        );
        if let Some((_, metrics_port)) = &metrics {
            log::info!(
                "resource-server metrics on http://{}:{metrics_port}/metrics",
                settings.metrics.host
            );
        }
        Ok(Self {
            port,
            server,
            metrics,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The separate metrics listener's port, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then ends the background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(server, _)| server);
        let served = shared::metrics::run_beside(self.server, metrics).await;
        self.background.stop().await;
        log::info!("resource-server stopped");
        served
    }
}
