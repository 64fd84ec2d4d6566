//! What the OpenAPI 3.1 descriptions of both servers (`GET /openapi.json`) share: the security
//! schemes, the answers every endpoint can give before its handler runs, the reusable error
//! answers, and the handler that serves a description.
//!
//! Each endpoint is described by a `#[utoipa::path]` next to its handler, and each JSON body by a
//! `ToSchema` derive on the type that is serialized; `docs/openapi.md` says how the description is
//! checked (the route table test, and schemathesis against both servers).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Components, OpenApi, RefOr, Response};
use utoipa::{Modify, ToResponse, ToSchema};

use crate::wire::ErrorBody;

/// Client authentication with HTTP Basic (RFC 6749 §2.3.1): the token, introspection and
/// revocation endpoints, and `/oauth/token_key` when it is protected.
pub const CLIENT_BASIC: &str = "client_basic";
/// An access token in the `Authorization: Bearer` header (RFC 6750 §2.1).
pub const BEARER: &str = "bearer";
/// An access token in the `access_token` query parameter (RFC 6750 §2.3); never with the header.
pub const ACCESS_TOKEN_QUERY: &str = "access_token_query";
/// The browser's sign-in session, the `SESSION` cookie of the auth server's pages.
pub const SESSION_COOKIE: &str = "session_cookie";

/// A string that is one of `values`: for fields the derives would only call strings.
pub fn one_of(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// RFC 6749 §3.3: scope tokens of `%x21 / %x23-5B / %x5D-7E` separated by spaces, as
/// [`crate::Scope::parse`] reads them (a test holds the two together); others are 400
/// `invalid_scope`.
pub const SCOPE_PATTERN: &str = r"^[ !#-\[\]-~]*$";

/// A `scope` parameter's schema.
pub fn scope() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(SCOPE_PATTERN))
        .examples(["app"])
        .build()
}

/// The security schemes the operations name (`security(...)` in their `#[utoipa::path]`).
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Components::new);
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some(
            "A client's id and secret (RFC 6749 §2.3.1). The same endpoints also take them as \
             the `client_id` and `client_secret` form fields instead (`client_secret_post`), and a \
             public client names itself with `client_id` alone; never both ways in one request."
                .to_owned(),
        );
        components.add_security_scheme(CLIENT_BASIC, SecurityScheme::Http(basic));
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some(
            "An access token of the auth server (RFC 6750 §2.1): opaque, or a JWT when so \
             configured."
                .to_owned(),
        );
        components.add_security_scheme(BEARER, SecurityScheme::Http(bearer));
        components.add_security_scheme(
            ACCESS_TOKEN_QUERY,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "access_token",
                "The access token as a query parameter (RFC 6750 §2.3); a request that also \
                 sends the header is 400 invalid_request.",
            ))),
        );
        components.add_security_scheme(
            SESSION_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "SESSION",
                "The browser's session: encrypted and signed by the server, set by its pages.",
            ))),
        );
    }
}

/// 413: a body over the limit (`security.max_body_bytes` on the auth server, 16 KiB on the
/// resource server), by its `Content-Length` or as it arrives.
#[derive(ToResponse)]
#[response(description = "413 invalid_request: request body too large")]
pub struct BodyTooLarge(pub ErrorBody);

/// 415: a form endpoint was sent something else than `application/x-www-form-urlencoded`.
#[derive(ToResponse)]
#[response(description = "415 invalid_request: the body is not application/x-www-form-urlencoded")]
pub struct NotAForm(pub ErrorBody);

/// 503 `temporarily_unavailable`: the database (or, on the resource server, the token's
/// validation) did not answer in time; nothing was changed. `Retry-After` says when to retry.
#[derive(ToResponse)]
#[response(
    description = "503 temporarily_unavailable: try again after Retry-After seconds; nothing was \
                   changed",
    headers(("Retry-After" = u64, description = "Seconds to wait"))
)]
pub struct Unavailable(pub ErrorBody);

/// 414, from the request limits every request passes first.
#[derive(ToResponse)]
#[response(description = "414 invalid_request: the request URI is over 8 KiB")]
pub struct UriTooLong(pub ErrorBody);

/// 431, from the request limits every request passes first.
#[derive(ToResponse)]
#[response(description = "431 invalid_request: the request's header fields are over 16 KiB")]
pub struct HeadersTooLarge(pub ErrorBody);

/// 408: the body did not arrive within `server.body_timeout_ms`; the connection is closed.
#[derive(ToResponse)]
#[response(description = "408 invalid_request: the request body did not arrive in time")]
pub struct BodyTimeout(pub ErrorBody);

/// Whether a server is up: what `/health`, `/health/live` and `/health/ready` answer (more fields
/// may follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HealthStatus {
    Up,
    Down,
}

/// A health answer: `status`, and on the resource server counters of its token validation.
#[derive(ToSchema)]
pub struct HealthReport {
    pub status: HealthStatus,
}

/// What `/health/ready` answers: `problems` says what is missing when it is `DOWN`.
#[derive(ToSchema)]
pub struct Readiness {
    pub status: HealthStatus,
    /// Present when `DOWN`: what keeps the server from serving (never an internal address).
    #[schema(nullable = false)]
    pub problems: Option<Vec<String>>,
}

/// The answers every operation can give before its handler runs, added to each one so that the
/// handlers' annotations list only their own: 414 and 431 from the request limits, and for an
/// operation with a body 408 (body too slow), in the media type of its 413.
pub struct RequestLimits;

impl Modify for RequestLimits {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Components::new);
        for (name, response) in [
            UriTooLong::response(),
            HeadersTooLarge::response(),
            BodyTimeout::response(),
            BodyTooLarge::response(),
            NotAForm::response(),
            Unavailable::response(),
        ] {
            components.responses.insert(name.to_owned(), response);
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                add_limits(operation);
            }
        }
    }
}

fn reference(name: &str) -> RefOr<Response> {
    RefOr::Ref(utoipa::openapi::Ref::from_response_name(name))
}

fn add_limits(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    responses
        .entry("414".to_owned())
        .or_insert_with(|| reference(UriTooLong::response().0));
    responses
        .entry("431".to_owned())
        .or_insert_with(|| reference(HeadersTooLarge::response().0));
    if operation.request_body.is_some() && !responses.contains_key("408") {
        // The page handlers read their own bodies and answer an HTML page; the others JSON.
        let timeout = match responses.get("413") {
            Some(RefOr::T(page)) => {
                let mut page = page.clone();
                page.description = "408: the request body did not arrive in time".to_owned();
                RefOr::T(page)
            }
            _ => reference(BodyTimeout::response().0),
        };
        responses.insert("408".to_owned(), timeout);
    }
}

/// A description rendered once, at start, and served as it is.
#[derive(Clone)]
pub struct Description(Arc<String>);

impl Description {
    pub fn new(openapi: &OpenApi) -> Result<Self, serde_json::Error> {
        Ok(Self(Arc::new(openapi.to_json()?)))
    }
}

/// `GET /openapi.json`: this description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses(
        (status = 200, description = "This OpenAPI 3.1 description", body = Object,
         content_type = "application/json"),
    )
)]
pub async fn serve(description: web::Data<Description>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        // It changes only with the binary (and the issuer's path), but a proxy need not keep it.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(description.0.as_str().to_owned())
}

/// `GET /health/live`, the same on both servers: the process answers requests (restart it if
/// not). Nothing it depends on is asked: an outage of the database or the auth server is no reason
/// to restart every replica.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    responses(
        (status = 200, description = "Alive: the process answers requests",
         body = HealthReport, example = json!({"status": "UP"})),
    )
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "UP"}))
}
