//! `POST /oauth2/revoke` and `POST /oauth/revoke` (RFC 7009 §2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::params::Params;
use shared::ApiError;

use super::body::{read_form, refuse_parameters_in_query};
use super::RequestSettings;
use crate::accounts::PresentedClient;
use crate::revocation::{Hint, Revocation};

const PARAMS: &[&str] = &["token", "token_type_hint", "client_id", "client_secret"];

/// §2.2: 200 with an empty body whether or not there was anything to revoke; errors are those of
/// the token endpoint (`invalid_client`, `invalid_request`), and 503 when nothing could be stored.
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
