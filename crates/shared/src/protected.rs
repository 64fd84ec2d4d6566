//! The protected API both servers serve behind the guard: `GET /hi?name=` and `GET /me`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::guard::Authenticated;
use crate::params::lookup;
use crate::routes::{get, Router};
use crate::wire::ErrorBody;
use crate::{ApiError, ErrorCode};

/// `hi , NAME` as plain text, to a caller with a valid token.
#[utoipa::path(
    get,
    path = "/hi",
    tag = "protected API",
    params(("name" = String, Query, min_length = 1, description = "Who to greet")),
    security(("bearer" = []), ("access_token_query" = [])),
    responses(
        (status = 200, description = "`hi , NAME`", body = String,
         content_type = "text/plain;charset=UTF-8", example = "hi , 1111"),
        (status = 400, description = "invalid_request: no `name`, a repeated or malformed \
         parameter, or the token sent both in the header and the query", body = ErrorBody),
        (status = 401, description = "unauthorized (no token) or invalid_token (unknown, \
         revoked, expired, or not for this resource server)", body = ErrorBody,
         headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"oauth2-resource\"`, \
          with `error` when a token was sent"))),
        (status = 403, description = "insufficient_scope: the token lacks \
         `resource.required_scope`", body = ErrorBody,
         headers(("WWW-Authenticate" = String))),
        (status = 503, response = crate::openapi::Unavailable),
    )
)]
pub async fn hi(_: Authenticated, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let name = lookup(request.query_string().as_bytes(), "name")?
        .ok_or_else(|| ApiError::new(ErrorCode::MissingParameter).with_arg("name"))?;
    let mut body = String::with_capacity(5 + name.len());
    body.push_str("hi , ");
    body.push_str(&name);
    Ok(HttpResponse::Ok()
        // Static header values: not parsed and copied from text for every answer.
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        ))
        // The name is the caller's own text: never let a browser sniff it into HTML.
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(body))
}

/// What the token says, for debugging a client.
#[derive(Serialize, ToSchema)]
pub struct Me<'a> {
    /// `null` for a client's own token.
    user_name: Option<&'a str>,
    client_id: &'a str,
    scope: Vec<&'a str>,
    authorities: &'a [String],
    /// The resource ids the token is good for; empty for every resource server.
    aud: &'a [String],
    /// Unix seconds; `null` for a token that never expires.
    exp: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/me",
    tag = "protected API",
    security(("bearer" = []), ("access_token_query" = [])),
    responses(
        (status = 200, description = "What the token stands for", body = Me),
        (status = 400, description = "invalid_request: the token sent both in the header and \
         the query, or a malformed query", body = ErrorBody),
        (status = 401, description = "unauthorized (no token) or invalid_token", body = ErrorBody,
         headers(("WWW-Authenticate" = String))),
        (status = 403, description = "insufficient_scope", body = ErrorBody,
         headers(("WWW-Authenticate" = String))),
        (status = 503, response = crate::openapi::Unavailable),
    )
)]
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

/// Mounts `/hi` and `/me`. The app must hold a `web::Data<Guard>`.
pub fn routes(router: &mut Router) {
    router.mount("/hi", [get(hi)]).mount("/me", [get(me)]);
}
