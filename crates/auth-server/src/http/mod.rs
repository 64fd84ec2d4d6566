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
mod openid;
mod pages;
mod revoke;
mod session;
mod token;

use actix_web::cookie::Key;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
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

/// The browser-facing pages, each behind the cookie session.
pub fn pages(cfg: &mut web::ServiceConfig, key: &Key, secure_cookies: bool) {
    let sessions = || session::middleware(key.clone(), secure_cookies);
    cfg.service(
        web::resource("/oauth/authorize")
            .wrap(sessions())
            .route(web::get().to(authorize::authorize))
            .route(web::post().to(authorize::decide))
            .default_service(web::to(fallback::only_get_post)),
    )
    .service(
        web::resource("/oauth/confirm_access")
            .wrap(sessions())
            .route(web::get().to(authorize::confirm_access))
            .default_service(web::to(fallback::only_get)),
    )
    .service(
        web::resource("/login")
            .wrap(sessions())
            .route(web::get().to(login::form))
            .route(web::post().to(login::sign_in))
            .default_service(web::to(fallback::only_get_post)),
    )
    .service(
        web::resource("/logout")
            .wrap(sessions())
            .route(web::post().to(login::sign_out))
            .default_service(web::to(fallback::only_post)),
    )
    .service(
        web::resource(crate::discovery::END_SESSION_PATH)
            .wrap(sessions())
            .route(web::get().to(openid::end_session))
            .route(web::post().to(openid::end_session_form))
            .default_service(web::to(fallback::only_get_post)),
    )
    .route("/assets/oauth.css", web::get().to(pages::stylesheet))
    .route(
        "/assets/form-post.js",
        web::get().to(pages::form_post_script),
    );
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    // One resource per path: a resource with a list of paths is matched by a regex set, which
    // took 2% of every request routed past it.
    for path in ["/oauth/token", "/oauth2/token"] {
        cfg.service(
            web::resource(path)
                .route(web::post().to(token::token))
                .default_service(web::to(fallback::only_post)),
        );
    }
    for path in ["/oauth2/revoke", "/oauth/revoke"] {
        cfg.service(
            web::resource(path)
                .route(web::post().to(revoke::revoke))
                .default_service(web::to(fallback::only_post)),
        );
    }
    cfg.service(
        web::resource("/oauth/check_token")
            .route(web::post().to(introspect::check_token))
            .default_service(web::to(fallback::only_post)),
    )
    .service(
        web::resource("/oauth2/introspect")
            .route(web::post().to(introspect::introspect))
            .default_service(web::to(fallback::only_post)),
    )
    .service(
        web::resource("/oauth2/jwks")
            .route(web::get().to(keys::jwks))
            .default_service(web::to(fallback::only_get)),
    )
    .service(
        web::resource("/oauth/token_key")
            .route(web::get().to(keys::token_key))
            .default_service(web::to(fallback::only_get)),
    )
    .service(
        web::resource(crate::discovery::USERINFO_PATH)
            .route(web::get().to(openid::userinfo))
            .route(web::post().to(openid::userinfo))
            .default_service(web::to(fallback::only_get_post)),
    )
    .configure(shared::protected::routes)
    .service(
        web::resource("/health")
            .route(web::get().to(health::health))
            .default_service(web::to(fallback::only_get)),
    )
    .service(
        web::resource("/health/live")
            .route(web::get().to(health::live))
            .default_service(web::to(fallback::only_get)),
    )
    .service(
        web::resource("/health/ready")
            .route(web::get().to(health::ready))
            .default_service(web::to(fallback::only_get)),
    );
}

/// `/metrics` on the server's own port, when `metrics.on_main_port` asks for it.
pub fn metrics(cfg: &mut web::ServiceConfig, on_main_port: bool) {
    if on_main_port {
        cfg.service(
            web::resource("/metrics")
                .route(web::get().to(shared::metrics::metrics))
                .default_service(web::to(fallback::only_get)),
        );
    }
}

/// The metadata document at its RFC 8414 location, at the same location under the issuer's path
/// when it has one (`issuer_path`: `/.well-known/oauth-authorization-server/tenant`), and at the
/// OpenID Connect location.
pub fn discovery(cfg: &mut web::ServiceConfig, issuer_path: Option<&str>) {
    let paths = [
        Some(crate::discovery::WELL_KNOWN),
        issuer_path,
        Some(crate::discovery::OPENID_WELL_KNOWN),
    ];
    for path in paths.into_iter().flatten() {
        cfg.service(
            web::resource(path)
                .route(web::get().to(discovery::metadata))
                .default_service(web::to(fallback::only_get)),
        );
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
