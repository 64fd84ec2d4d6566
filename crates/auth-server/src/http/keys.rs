//! `GET /oauth2/jwks` (RFC 7517) and legacy Spring's `GET /oauth/token_key`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::params::Params;
use shared::wire::JSON_UTF8;
use shared::{ApiError, ErrorBody};
use utoipa::ToSchema;

use super::no_store_json;
use crate::accounts::PresentedClient;
use crate::key_publication::KeyPublication;
use crate::signing::TokenKey;

/// An RFC 7517 JWK set, as `jsonwebtoken`'s `JwkSet` writes it (the description's: that type is
/// not ours to derive on).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

/// A public key: RSA (`n`, `e`), EC P-256 (`crv`, `x`, `y`) or Ed25519 (`crv`, `x`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwk {
    #[schema(examples("RSA", "EC", "OKP"))]
    kty: String,
    /// Always `sig`.
    #[schema(rename = "use")]
    use_: String,
    #[schema(examples("RS256", "ES256", "EdDSA"))]
    alg: String,
    kid: String,
    #[schema(nullable = false)]
    n: Option<String>,
    #[schema(nullable = false)]
    e: Option<String>,
    #[schema(nullable = false)]
    crv: Option<String>,
    #[schema(nullable = false)]
    x: Option<String>,
    #[schema(nullable = false)]
    y: Option<String>,
}

/// Public keys only; `application/json`, which Spring Boot 3, Nimbus and JOSE libraries all read.
#[utoipa::path(
    get,
    path = "/oauth2/jwks",
    tag = "keys",
    responses(
        (status = 200, description = "Every published public key; a shared HS256 secret never \
         (then `{\"keys\":[]}`)", body = JwkSet),
    )
)]
pub async fn jwks(publication: web::Data<KeyPublication>) -> Result<HttpResponse, ApiError> {
    let json = serde_json::to_string(&publication.jwks()).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, JSON_UTF8))
        .body(json))
}

/// `{"alg":"SHA256withRSA","value":"-----BEGIN PUBLIC KEY-----…"}`, as Spring answered; client
/// credentials, when asked for, in the `Authorization` header as Spring took them.
#[utoipa::path(
    get,
    path = "/oauth/token_key",
    tag = "keys",
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "The key signing now, as Spring's TokenKeyEndpoint; \
         not cached", body = TokenKey,
         headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "invalid_client: credentials needed \
         (`jwt.token_key_access = \"clients\"`, or an HS256 secret) and missing or wrong",
         body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "access_denied: an HS256 secret, and a client that may \
         not introspect", body = ErrorBody),
        (status = 503, response = shared::openapi::Unavailable),
    )
)]
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
