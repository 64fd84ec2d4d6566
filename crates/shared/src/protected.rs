//! The protected API both servers serve behind the guard: `GET /hi?name=` and `GET /me`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

use crate::guard::Authenticated;
use crate::params::lookup;
use crate::{ApiError, ErrorCode};

/// `hi , NAME` as plain text, to a caller with a valid token.
pub async fn hi(_: Authenticated, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let name = lookup(request.query_string().as_bytes(), "name")?
        .ok_or_else(|| ApiError::new(ErrorCode::MissingParameter).with_arg("name"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain;charset=UTF-8"))
        // The name is the caller's own text: never let a browser sniff it into HTML.
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(format!("hi , {name}")))
}

/// What the token says, for debugging a client.
#[derive(Serialize)]
struct Me<'a> {
    user_name: Option<&'a str>,
    client_id: &'a str,
    scope: Vec<&'a str>,
    authorities: &'a [String],
    aud: &'a [String],
    exp: Option<i64>,
}

pub async fn me(Authenticated(claims): Authenticated) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Me {
            user_name: claims.user_name.as_deref(),
            client_id: &claims.client_id,
            scope: claims.scope.iter().collect(),
            authorities: &claims.authorities,
            aud: &claims.audience,
            exp: claims.expires_at,
        })
}

async fn only_get() -> HttpResponse {
    let mut response = ApiError::new(ErrorCode::MethodNotAllowed).error_response();
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET"));
    response
}

/// Mounts `/hi` and `/me`. The app must hold a `web::Data<Guard>`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/hi")
            .route(web::get().to(hi))
            .default_service(web::to(only_get)),
    )
    .service(
        web::resource("/me")
            .route(web::get().to(me))
            .default_service(web::to(only_get)),
    );
}
