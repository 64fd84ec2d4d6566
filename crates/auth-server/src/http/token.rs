//! `POST /oauth/token` and `POST /oauth2/token` (RFC 6749 §3.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::params::Params;
use shared::ApiError;

use super::body::{read_form, refuse_parameters_in_query};
use super::client_address::client_address;
use super::RequestSettings;
use crate::accounts::PresentedClient;
use crate::token_endpoint::{TokenEndpoint, TOKEN_PARAMS};

pub async fn token(
    request: HttpRequest,
    payload: web::Payload,
    endpoint: web::Data<TokenEndpoint>,
    settings: web::Data<RequestSettings>,
) -> Result<HttpResponse, ApiError> {
    refuse_parameters_in_query(&request, TOKEN_PARAMS)?;
    let form = read_form(&request, payload, settings.max_body_bytes).await?;
    let params = Params::parse(&form, TOKEN_PARAMS)?;
    let authorization = request.headers().get(header::AUTHORIZATION);
    let presented = PresentedClient::from_request(authorization.map(|v| v.as_bytes()), &params)?;
    let from = client_address(&request, settings.trust_forwarded_for);
    let token = endpoint.token(&presented, &params, from).await?;
    // §5.1: the response must not be cached.
    super::no_store_json(&token)
}
