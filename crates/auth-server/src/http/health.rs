//! `GET /health`: 200 when the database answers, 503 when it does not.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::db::Storage;

pub async fn health(storage: web::Data<Storage>) -> HttpResponse {
    match storage.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "UP"})),
        Err(error) => {
            log::warn!("health check: {error}");
            HttpResponse::ServiceUnavailable().json(json!({"status": "DOWN"}))
        }
    }
}
