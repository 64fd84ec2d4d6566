//! `GET /health`: up as long as the process is, with the counters that tell an operator how
//! tokens are being validated; `/health/ready` for orchestrators (`/health/live` is shared).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use serde_json::json;
use utoipa::ToSchema;

use crate::introspection::CachingValidator;
use crate::jwt::JwtValidator;
use crate::settings::ValidationMode;

/// The validators in use (both in mixed mode).
pub struct Health {
    pub mode: ValidationMode,
    pub introspection: Option<Arc<CachingValidator>>,
    pub jwt: Option<Arc<JwtValidator>>,
}

impl Health {
    fn report(&self) -> serde_json::Value {
        let introspection = self.introspection.as_deref();
        let mut report = json!({
            "status": "UP",
            "validation": match self.mode {
                ValidationMode::Introspection => "introspection",
                ValidationMode::Jwt => "jwt",
                ValidationMode::Mixed => "mixed",
            },
            // How much the introspection cache saves (0 when tokens are not introspected).
            "introspection_calls": introspection.map_or(0, |v| v.client().calls()),
            "cached_tokens": introspection.map_or(0, CachingValidator::cached_tokens),
        });
        // Where a discovered endpoint is, or that it is not yet known (every token that needs it
        // is answered 503 meanwhile).
        let discovery = introspection.and_then(|v| v.client().discovery());
        if let (Some(discovery), Some(fields)) = (discovery, report.as_object_mut()) {
            fields.insert("introspection_discovery".into(), discovery.report());
        }
        if let (Some(jwt), Some(fields)) = (&self.jwt, report.as_object_mut()) {
            // 0 keys means every JWT is answered 503; fetches tell whether the refetch on unknown
            // keys is being provoked.
            fields.insert("jwt_keys".into(), jwt.keys().key_count().into());
            fields.insert("jwks_fetches".into(), jwt.keys().fetches().into());
            fields.insert("jwt_cached_tokens".into(), jwt.cached_tokens().into());
            if let Some(discovery) = jwt.keys().source().discovery() {
                fields.insert("jwt_discovery".into(), discovery.report());
            }
        }
        report
    }
}

/// What `/health` answers, as the OpenAPI description has it (`report` writes it with `json!`; a
/// test holds the two together).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResourceHealth {
    /// Always `UP` here: the process answers.
    status: shared::openapi::HealthStatus,
    /// `validation.mode`.
    #[schema(schema_with = validation_mode)]
    validation: String,
    /// Introspection calls made (0 when tokens are not introspected).
    introspection_calls: u64,
    /// Introspection answers in the cache.
    cached_tokens: u64,
    /// Where a discovered introspection endpoint is, or that it is not known yet.
    #[schema(nullable = false, value_type = Option<Object>)]
    introspection_discovery: Option<serde_json::Value>,
    /// JWT mode: the keys held (0: every JWT is answered 503).
    #[schema(nullable = false)]
    jwt_keys: Option<u64>,
    #[schema(nullable = false)]
    jwks_fetches: Option<u64>,
    #[schema(nullable = false)]
    jwt_cached_tokens: Option<u64>,
    #[schema(nullable = false, value_type = Option<Object>)]
    jwt_discovery: Option<serde_json::Value>,
}

fn validation_mode() -> utoipa::openapi::Object {
    shared::openapi::one_of(&["introspection", "jwt", "mixed"])
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Up, with how tokens are being validated",
         body = ResourceHealth),
    )
)]
pub async fn health(state: web::Data<Health>) -> HttpResponse {
    HttpResponse::Ok().json(state.report())
}

/// `GET /health/ready`: tokens can be validated, so a load balancer may send traffic. With
/// introspection, the authorization server answered an introspection request (with our
/// credentials) lately; with JWTs, signing keys are held. 503 with the reason otherwise.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic",
         body = shared::openapi::Readiness, example = json!({"status": "UP"})),
        (status = 503, description = "Not ready: the introspection endpoint does not answer or refuses our credentials, or no JWT signing key is held",
         body = shared::openapi::Readiness,
         example = json!({"status": "DOWN", "problems": ["introspection: Token validation is temporarily unavailable; try again later"]})),
    )
)]
pub async fn ready(state: web::Data<Health>, readiness: web::Data<Readiness>) -> HttpResponse {
    let mut problems = Vec::new();
    if let Some(introspection) = &state.introspection {
        if let Err(problem) = readiness.introspection(introspection).await {
            problems.push(problem);
        }
    }
    if let Some(jwt) = &state.jwt {
        if jwt.keys().key_count() == 0 {
            problems.push("no JWT signing key is held yet".to_owned());
        }
    }
    if problems.is_empty() {
        HttpResponse::Ok().json(json!({"status": "UP"}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({"status": "DOWN", "problems": problems}))
    }
}

/// The last introspection check, reused for [`RECHECK_AFTER`] so that probes from every node of
/// a cluster cost the authorization server one request per interval at most.
#[derive(Default)]
pub struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

const RECHECK_AFTER: Duration = Duration::from_secs(2);

/// A value no server issues as a token: it asks whether the endpoint answers and accepts our
/// credentials, and is answered "not active".
const PROBE_TOKEN: &str = "readiness-probe.not-a-token";

impl Readiness {
    async fn introspection(&self, validator: &CachingValidator) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, outcome)) = last.as_ref() {
            if at.elapsed() < RECHECK_AFTER {
                return outcome.clone();
            }
        }
        let outcome = validator
            .client()
            .introspect(PROBE_TOKEN)
            .await
            .map(|_| ())
            .map_err(|error| {
                // The cause names internal addresses: the log has it, the public answer not.
                log::warn!("not ready: {error}");
                format!("introspection: {}", error.description())
            });
        *last = Some((Instant::now(), outcome.clone()));
        outcome
    }
}
