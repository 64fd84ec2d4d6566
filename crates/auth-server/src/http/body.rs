//! Reading a form body with a size limit, and refusing what is not a form.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::HttpRequest;
use shared::{ApiError, ErrorCode};

const FORM: &str = "application/x-www-form-urlencoded";

fn is_form(request: &HttpRequest) -> Option<bool> {
    let value = request.headers().get(header::CONTENT_TYPE)?;
    let mime = value.to_str().ok()?.split(';').next()?.trim();
    Some(mime.eq_ignore_ascii_case(FORM))
}

/// The body of a form POST, at most `limit` bytes. An empty body needs no Content-Type.
pub async fn read_form(
    request: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let content_type = is_form(request);
    if content_type == Some(false) {
        return Err(ApiError::new(ErrorCode::UnsupportedContentType));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::new(ErrorCode::BodyTooLarge));
    }
    let body = payload
        .to_bytes_limited(limit)
        .await
        .map_err(|_| ApiError::new(ErrorCode::BodyTooLarge))?
        .map_err(|e| shared::request_body::read_error(&e))?;
    if !body.is_empty() && content_type.is_none() {
        return Err(ApiError::new(ErrorCode::UnsupportedContentType));
    }
    Ok(body)
}

/// Spring read token parameters from the query string too, which put passwords, secrets and tokens
/// into access logs. Here a query naming any of the endpoint's parameters, or one that cannot be
/// read, is refused; other query parameters are ignored.
pub fn refuse_parameters_in_query(
    request: &HttpRequest,
    known: &[&'static str],
) -> Result<(), ApiError> {
    let query = request.query_string();
    if query.is_empty() {
        return Ok(());
    }
    match shared::params::Params::parse(query.as_bytes(), known) {
        Ok(params) if params.is_empty() => Ok(()),
        _ => Err(ApiError::new(ErrorCode::ParametersInQuery)),
    }
}
