//! HTTP: routes, and handlers that translate requests into calls and results into responses.

mod authorize;
mod body;
mod client_address;
mod fallback;
mod health;
mod introspect;
mod login;
mod pages;
mod session;
mod token;

use std::sync::Arc;

use actix_web::cookie::Key;
use actix_web::web;

use crate::db::{AccessTokenLookups, Readers, Store};
use crate::domain::password::Passwords;
use crate::grants::TokenService;
use crate::introspection::IntrospectionPolicy;

/// What every handler can reach.
pub struct AppState {
    pub store: Store,
    /// Threads for short database reads on hot paths.
    pub readers: Arc<Readers>,
    /// Access-token lookups, batched.
    pub lookups: Arc<AccessTokenLookups>,
    pub passwords: Arc<Passwords>,
    pub tokens: Arc<TokenService>,
    pub introspection: IntrospectionPolicy,
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
    .route("/assets/oauth.css", web::get().to(pages::stylesheet));
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
    .configure(shared::protected::routes)
    .service(
        web::resource("/health")
            .route(web::get().to(health::health))
            .default_service(web::to(fallback::only_get)),
    );
}

pub use fallback::not_found;
