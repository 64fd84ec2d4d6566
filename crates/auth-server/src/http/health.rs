//! `GET /health`: 200 when the database answers, 503 when it does not.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    match web::block(move || store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"status": "UP"})),
        Ok(Err(error)) => {
            log::warn!("health check: {error}");
            HttpResponse::ServiceUnavailable().json(json!({"status": "DOWN"}))
        }
        Err(error) => {
            log::error!("health check could not run: {error}");
            HttpResponse::ServiceUnavailable().json(json!({"status": "DOWN"}))
        }
    }
}
