//! `GET /health`: 200 when the database answers, 503 when it does not; `/health/ready` for
//! orchestrators (`/health/live`, the same on both servers, is `shared::openapi::live`).

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::db::Storage;

#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Up: the database answers",
         body = shared::openapi::HealthReport, example = json!({"status": "UP"})),
        (status = 503, description = "Down: the database does not answer",
         body = shared::openapi::HealthReport, example = json!({"status": "DOWN"})),
    )
)]
pub async fn health(storage: web::Data<Storage>) -> HttpResponse {
    match storage.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "UP"})),
        Err(error) => {
            log::warn!("health check: {error}");
            HttpResponse::ServiceUnavailable().json(json!({"status": "DOWN"}))
        }
    }
}

/// `GET /health/ready`: the database answers and has every migration this build knows, so a load
/// balancer may send traffic here. 503 with the reason otherwise.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic",
         body = shared::openapi::Readiness, example = json!({"status": "UP"})),
        (status = 503, description = "Not ready: the database does not answer, or lacks migrations this build has",
         body = shared::openapi::Readiness,
         example = json!({"status": "DOWN", "problems": ["the database does not answer"]})),
    )
)]
pub async fn ready(storage: web::Data<Storage>) -> HttpResponse {
    let problem = match storage.pending_migrations().await {
        Ok(0) => return HttpResponse::Ok().json(json!({"status": "UP"})),
        Ok(pending) => format!("{pending} database migrations are not applied"),
        Err(error) => {
            log::warn!("not ready: {error}");
            "the database does not answer".to_owned()
        }
    };
    HttpResponse::ServiceUnavailable().json(json!({"status": "DOWN", "problems": [problem]}))
}
