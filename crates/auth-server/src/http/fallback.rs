//! Answers for a path that does not exist or a method a path does not take, in the catalogue's JSON.

use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use shared::{ApiError, ErrorCode};

pub async fn not_found() -> HttpResponse {
    ApiError::new(ErrorCode::NotFound).error_response()
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = ApiError::new(ErrorCode::MethodNotAllowed).error_response();
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

pub async fn only_post() -> HttpResponse {
    method_not_allowed("POST")
}

pub async fn only_get() -> HttpResponse {
    method_not_allowed("GET")
}

pub async fn only_get_post() -> HttpResponse {
    method_not_allowed("GET, POST")
}
