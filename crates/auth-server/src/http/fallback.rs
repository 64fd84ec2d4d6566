//! The answer for a path that does not exist, in the catalogue's JSON (a method a path does not
//! take is answered where the path is mounted: `shared::routes`).

use actix_web::{HttpResponse, ResponseError};
use shared::{ApiError, ErrorCode};

pub async fn not_found() -> HttpResponse {
    ApiError::new(ErrorCode::NotFound).error_response()
}
