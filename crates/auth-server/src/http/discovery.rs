//! `GET /.well-known/oauth-authorization-server` (RFC 8414 §3) and
//! `GET /.well-known/openid-configuration`: the same metadata document.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use shared::wire::JSON_UTF8;
use shared::ApiError;

use crate::discovery::{Discovery, Metadata};

#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "discovery",
    responses(
        (status = 200, description = "The metadata (RFC 8414 §2, OpenID Connect Discovery 1.0 \
         §3); every URL is under `server.issuer`", body = Metadata),
        (status = 503, response = shared::openapi::Unavailable),
    )
)]
pub async fn metadata(discovery: web::Data<Discovery>) -> Result<HttpResponse, ApiError> {
    let json = discovery.document().await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, JSON_UTF8))
        .body(json.as_str().to_owned()))
}
