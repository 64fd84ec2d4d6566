//! `GET /health`: 200 when the database answers, 503 when it does not.

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
