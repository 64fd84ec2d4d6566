//! `GET /oauth2/jwks` (RFC 7517) and legacy Spring's `GET /oauth/token_key`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::params::Params;
use shared::wire::JSON_UTF8;
use shared::ApiError;

use super::no_store_json;
use crate::accounts::PresentedClient;
use crate::key_publication::KeyPublication;

/// Public keys only; `application/json`, which Spring Boot 3, Nimbus and JOSE libraries all read.
pub async fn jwks(publication: web::Data<KeyPublication>) -> Result<HttpResponse, ApiError> {
    let json = serde_json::to_string(&publication.jwks()).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, JSON_UTF8))
        .body(json))
}

/// `{"alg":"SHA256withRSA","value":"-----BEGIN PUBLIC KEY-----…"}`, as Spring answered; client
/// credentials, when asked for, in the `Authorization` header as Spring took them.
pub async fn token_key(
    request: HttpRequest,
    publication: web::Data<KeyPublication>,
) -> Result<HttpResponse, ApiError> {
    let authorization = request.headers().get(header::AUTHORIZATION);
    let presented = PresentedClient::from_request(
        authorization.map(|value| value.as_bytes()),
        &Params::default(),
    );
    // Not cached: it may be a shared secret, and it changes when a rotated-in key starts signing.
    no_store_json(&publication.token_key(presented).await?)
}
