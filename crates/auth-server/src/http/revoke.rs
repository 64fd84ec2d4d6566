//! `POST /oauth2/revoke` and `POST /oauth/revoke` (RFC 7009 §2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::params::Params;
use shared::{ApiError, ErrorBody};

use super::body::{read_form, refuse_parameters_in_query};
use super::introspect::{TokenForm, PARAMS};
use super::RequestSettings;
use crate::accounts::PresentedClient;
use crate::revocation::{Hint, Revocation};

/// §2.2: 200 with an empty body whether or not there was anything to revoke; errors are those of
/// the token endpoint (`invalid_client`, `invalid_request`), and 503 when nothing could be stored.
#[utoipa::path(
    post,
    path = "/oauth2/revoke",
    tag = "revocation",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "Revoked, or nothing of the client's to revoke: the \
         caller learns nothing about other tokens. Empty body.",
         headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "invalid_request: no token, a repeated parameter, \
         parameters in the query string, two client authentication methods", body = ErrorBody),
        (status = 401, description = "invalid_client", body = ErrorBody,
         headers(("WWW-Authenticate" = String))),
        (status = 413, response = shared::openapi::BodyTooLarge),
        (status = 415, response = shared::openapi::NotAForm),
        (status = 503, response = shared::openapi::Unavailable),
    )
)]
pub async fn revoke(
    request: HttpRequest,
    payload: web::Payload,
    revocation: web::Data<Revocation>,
    settings: web::Data<RequestSettings>,
) -> Result<HttpResponse, ApiError> {
    refuse_parameters_in_query(&request, PARAMS)?;
    let form = read_form(&request, payload, settings.max_body_bytes).await?;
    let params = Params::parse(&form, PARAMS)?;
    let authorization = request.headers().get(header::AUTHORIZATION);
    let presented = PresentedClient::from_request(authorization.map(|v| v.as_bytes()), &params)?;
    let token = params.require("token")?;
    revocation
        .revoke(
            &presented,
            token,
            Hint::parse(params.get("token_type_hint")),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
