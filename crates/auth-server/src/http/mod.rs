//! HTTP: routes, and handlers that translate requests into calls and results into responses.

mod authorize;
mod body;
mod client_address;
mod discovery;
mod fallback;
mod health;
mod introspect;
mod keys;
mod login;
pub mod openapi;
mod openid;
mod pages;
mod revoke;
mod session;
mod token;

use actix_web::cookie::Key;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
pub use introspect::PARAMS as TOKEN_FORM_PARAMS;
use serde::Serialize;
use shared::routes::{get, post, Mounted, Router};
use shared::wire::JSON_UTF8;
use shared::ApiError;

/// How requests are read, the same for every handler (from `security.*`, `brute_force.*` and
/// `session.*`).
#[derive(Debug, Clone)]
pub struct RequestSettings {
    /// Largest form body accepted.
    pub max_body_bytes: usize,
    /// Whether the client address comes from `X-Forwarded-For` (behind a trusted balancer).
    pub trust_forwarded_for: bool,
    /// Seconds a sign-in lasts.
    pub session_max_age: i64,
}

/// What the routes depend on besides the app's data.
pub struct Mounting<'a> {
    /// The key of the pages' session cookies.
    pub session_key: &'a Key,
    pub secure_cookies: bool,
    /// The metadata's location under an issuer with a path (`/.well-known/…/tenant`), if any.
    pub issuer_path: Option<&'a str>,
}

/// Every route of the server; returns what was mounted.
pub fn mount(cfg: &mut web::ServiceConfig, mounting: &Mounting) -> Vec<Mounted> {
    let mut router = Router::new(cfg);
    routes(&mut router);
    discovery(&mut router, mounting.issuer_path);
    pages(&mut router, mounting.session_key, mounting.secure_cookies);
    router.mounted()
}

/// What [`mount`] mounts, for the OpenAPI description's test (the session key changes no path).
pub fn route_table(issuer_path: Option<&str>) -> Vec<Mounted> {
    let mut table = Vec::new();
    let mounting = Mounting {
        session_key: &Key::generate(),
        secure_cookies: false,
        issuer_path,
    };
    let _app = actix_web::App::new().configure(|cfg| table = mount(cfg, &mounting));
    table
}

/// The browser-facing pages, each behind the cookie session.
fn pages(router: &mut Router, key: &Key, secure_cookies: bool) {
    let sessions = |resource: actix_web::Resource| {
        resource.wrap(session::middleware(key.clone(), secure_cookies))
    };
    router
        .mount_with(
            "/oauth/authorize",
            [get(authorize::authorize), post(authorize::decide)],
            sessions,
        )
        .mount_with(
            "/oauth/confirm_access",
            [get(authorize::confirm_access)],
            sessions,
        )
        .mount_with("/login", [get(login::form), post(login::sign_in)], sessions)
        .mount_with("/logout", [post(login::sign_out)], sessions)
        .mount_with(
            crate::discovery::END_SESSION_PATH,
            [get(openid::end_session), post(openid::end_session_form)],
            sessions,
        )
        .mount("/assets/oauth.css", [get(pages::stylesheet)])
        .mount("/assets/form-post.js", [get(pages::form_post_script)]);
}

fn routes(router: &mut Router) {
    for path in ["/oauth/token", "/oauth2/token"] {
        router.mount(path, [post(token::token)]);
    }
    for path in ["/oauth2/revoke", "/oauth/revoke"] {
        router.mount(path, [post(revoke::revoke)]);
    }
    router
        .mount("/oauth/check_token", [post(introspect::check_token)])
        .mount("/oauth2/introspect", [post(introspect::introspect)])
        .mount("/oauth2/jwks", [get(keys::jwks)])
        .mount("/oauth/token_key", [get(keys::token_key)])
        .mount(
            crate::discovery::USERINFO_PATH,
            [get(openid::userinfo), post(openid::userinfo)],
        );
    shared::protected::routes(router);
    router
        .mount("/health", [get(health::health)])
        .mount("/health/live", [get(shared::openapi::live)])
        .mount("/health/ready", [get(health::ready)])
        .mount("/openapi.json", [get(shared::openapi::serve)]);
}

/// `/metrics` on the server's own port, when `metrics.on_main_port` asks for it. Not in the
/// OpenAPI description, which describes the API, not the scraper's endpoint.
pub fn metrics(cfg: &mut web::ServiceConfig, on_main_port: bool) {
    if on_main_port {
        Router::new(cfg).mount("/metrics", [get(shared::metrics::metrics)]);
    }
}

/// The metadata document at its RFC 8414 location, at the same location under the issuer's path
/// when it has one (`issuer_path`: `/.well-known/oauth-authorization-server/tenant`), and at the
/// OpenID Connect location.
fn discovery(router: &mut Router, issuer_path: Option<&str>) {
    let paths = [
        Some(crate::discovery::WELL_KNOWN),
        issuer_path,
        Some(crate::discovery::OPENID_WELL_KNOWN),
    ];
    for path in paths.into_iter().flatten() {
        router.mount(path, [get(discovery::metadata)]);
    }
}

pub use fallback::not_found;

/// A JSON answer that must not be cached: tokens (RFC 6749 §5.1) and what they stand for.
fn no_store_json<T: Serialize>(body: &T) -> Result<HttpResponse, ApiError> {
    let json = serde_json::to_string(body).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::CONTENT_TYPE, JSON_UTF8))
        .body(json))
}
