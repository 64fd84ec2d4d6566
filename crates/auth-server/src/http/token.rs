//! `POST /oauth/token` and `POST /oauth2/token` (RFC 6749 §3.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::wire::JSON_UTF8;
use shared::{ApiError, ErrorCode};

use super::client_address::client_address;
use super::{body, AppState};
use crate::grants::{PresentedClient, TOKEN_PARAMS};
use shared::params::Params;

pub async fn token(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    refuse_parameters_in_query(&request)?;
    let form = body::read_form(&request, payload, state.max_body_bytes).await?;
    let params = Params::parse(&form, TOKEN_PARAMS)?;
    let authorization = request.headers().get(header::AUTHORIZATION);
    let presented = PresentedClient::from_request(authorization.map(|v| v.as_bytes()), &params)?;
    let token = match state
        .tokens
        .client_credentials_in_memory(&presented, &params)
    {
        Some(issue) => issue.commit().await?,
        None => {
            let service = state.tokens.clone();
            let from = client_address(&request, state.trust_forwarded_for);
            web::block(move || service.token(&presented, &params, from))
                .await
                .map_err(ApiError::internal)??
        }
    };
    let json = serde_json::to_string(&token).map_err(ApiError::internal)?;
    // §5.1: the response must not be cached.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::CONTENT_TYPE, JSON_UTF8))
        .body(json))
}

/// Spring read token parameters from the query string too, which put passwords and secrets into
/// access logs. Here a query naming any token parameter is refused.
fn refuse_parameters_in_query(request: &HttpRequest) -> Result<(), ApiError> {
    let query = request.query_string();
    if query.is_empty() {
        return Ok(());
    }
    match Params::parse(query.as_bytes(), TOKEN_PARAMS) {
        Ok(params) if params.is_empty() => Ok(()),
        _ => Err(ApiError::new(ErrorCode::ParametersInQuery)),
    }
}
