//! `GET /health`: up as long as the process is, with the counters that tell an operator how
//! tokens are being validated.

use std::sync::Arc;

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
