//! HTML responses. Every one, error pages and redirects included, carries the headers of
//! docs/security.md, item 12: no framing, no caching, no referrer.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use askama::Template;
use shared::ApiError;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";
/// The form-post page's: its one script, served from here, submits the form.
const CSP_WITH_SCRIPT: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                               script-src 'self'; frame-ancestors 'none'; base-uri 'none'";

fn secured(status: StatusCode) -> actix_web::HttpResponseBuilder {
    secured_with(status, CSP)
}

fn secured_with(status: StatusCode, csp: &'static str) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CONTENT_SECURITY_POLICY, csp))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    builder
}

/// A rendered page. A template that fails to render (a bug) is an opaque 500.
pub fn page(status: StatusCode, template: &impl Template) -> HttpResponse {
    render(status, template, CSP)
}

/// A page that runs this server's own scripts (`/assets/*.js`), and no other.
pub fn page_with_script(status: StatusCode, template: &impl Template) -> HttpResponse {
    render(status, template, CSP_WITH_SCRIPT)
}

fn render(status: StatusCode, template: &impl Template, csp: &'static str) -> HttpResponse {
    match template.render() {
        Ok(body) => secured_with(status, csp)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(body),
        Err(error) => {
            log::error!("page did not render: {error}");
            secured(StatusCode::INTERNAL_SERVER_ERROR)
                .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
                .body("Internal server error")
        }
    }
}

/// 303 See Other: after a POST the browser follows with a GET (docs/security.md, item 12).
pub fn see_other(location: &str) -> HttpResponse {
    secured(StatusCode::SEE_OTHER)
        .insert_header((header::LOCATION, location))
        .finish()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: String,
    error: &'a str,
    code: u16,
}

/// A catalogue error shown to the user, with the entry's status. Nothing of it is a redirect.
pub fn error_page(error: &ApiError) -> HttpResponse {
    let info = error.code().info();
    let status = StatusCode::from_u16(info.status).unwrap_or(StatusCode::BAD_REQUEST);
    if status.is_server_error() {
        log::error!("{error}");
    }
    let title = match status.as_u16() {
        403 => "Request refused",
        500..=599 => "Service unavailable",
        _ => "This request cannot be completed",
    };
    page(
        status,
        &ErrorPage {
            title,
            message: error.description(),
            error: info.error,
            code: info.code,
        },
    )
}

/// The stylesheet of every page, from the binary.
#[utoipa::path(
    get,
    path = "/assets/oauth.css",
    tag = "sign-in pages",
    responses((status = 200, description = "The pages' stylesheet", body = String,
               content_type = "text/css")),
)]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("../../assets/oauth.css"))
}

/// The form-post page's script, from the binary.
#[utoipa::path(
    get,
    path = "/assets/form-post.js",
    tag = "sign-in pages",
    responses((status = 200, description = "The script that submits a `form_post` page",
               body = String, content_type = "text/javascript")),
)]
pub async fn form_post_script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("../../assets/form-post.js"))
}
