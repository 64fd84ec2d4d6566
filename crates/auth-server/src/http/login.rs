//! `GET /login`, `POST /login` and `POST /logout`: form sign-in with a CSRF token.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use shared::params::{parse_pairs, Params};
use shared::{ApiError, ErrorCode};
use utoipa::ToSchema;

use super::body::read_form;
use super::client_address::client_address;
use super::pages::{error_page, page, see_other};
use super::session::{Continue, WebSession, CSRF_FIELD};
use super::RequestSettings;
use crate::accounts::users::Credentials;
use crate::authorization_endpoint::AuthorizationEndpoint;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    client_id: Option<&'a str>,
    /// Prefilled: the authorization request's `login_hint`.
    username: Option<&'a str>,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "signed_in.html")]
struct SignedInPage<'a> {
    username: &'a str,
    csrf: &'a str,
}

/// Where a signed-in user goes next: back into the authorization request that sent them here.
/// `fresh`: they signed in just now, for that request.
fn after_sign_in(web_session: &WebSession, fresh: bool) -> HttpResponse {
    match web_session.take_continue() {
        Some(next) => {
            if fresh {
                if let Err(error) = web_session.set_just_signed_in(&next.query) {
                    return error_page(&error);
                }
            }
            see_other(&format!("/oauth/authorize?{}", next.query))
        }
        None => see_other("/login"),
    }
}

#[utoipa::path(
    get,
    path = "/login",
    tag = "sign-in pages",
    params(
        ("error" = Option<String>, Query, nullable = false,
         description = "Shows why the last attempt failed (`disabled`: the account is)"),
        ("logout" = Option<String>, Query, nullable = false,
         description = "Shows that the user signed out"),
    ),
    security((), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The login form (or, signed in, a page to sign out)",
         body = String, content_type = "text/html"),
        (status = 303, description = "Signed in, with an authorization request waiting: back to \
         it", headers(("Location" = String))),
        (status = 503, description = "An error page: the database did not answer",
         body = String, content_type = "text/html"),
    )
)]
pub async fn form(
    request: HttpRequest,
    session: Session,
    endpoint: web::Data<AuthorizationEndpoint>,
    settings: web::Data<RequestSettings>,
) -> HttpResponse {
    let web_session = WebSession::new(&session);
    let csrf = match web_session.csrf_token() {
        Ok(csrf) => csrf,
        Err(error) => return error_page(&error),
    };
    if let Some(signed_in) = web_session.signed_in(settings.session_max_age) {
        match endpoint.signed_in_user(&signed_in).await {
            // On with the authorization request, unless it asks for a fresh sign-in.
            Ok(Some(_)) if web_session.continuation().is_some_and(|next| !next.again) => {
                return after_sign_in(&web_session, false);
            }
            Ok(Some(_)) if web_session.continuation().is_some() => {}
            Ok(Some(user)) => {
                return page(
                    StatusCode::OK,
                    &SignedInPage {
                        username: &user.username,
                        csrf: &csrf,
                    },
                );
            }
            // Removed, disabled, or its sessions ended since: sign in again.
            Ok(None) => web_session.forget_user(),
            Err(error) => return error_page(&error),
        }
    }
    // Flags without values (`/login?error`, `/login?logout`), as Spring's login page used them.
    let flags = parse_pairs(request.query_string().as_bytes()).unwrap_or_default();
    let flag = |name: &str| {
        flags
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let error = flag("error").map(|e| match e {
        "disabled" => "This account is disabled.",
        _ => "Bad credentials: check the username and password.",
    });
    let notice = flag("logout").map(|_| "You have been signed out.");
    let next = web_session.continuation();
    let hint = next.as_ref().and_then(Continue::login_hint);
    page(
        StatusCode::OK,
        &LoginPage {
            csrf: &csrf,
            client_id: next.as_ref().and_then(|n| n.client_id.as_deref()),
            username: hint.as_deref(),
            error,
            notice,
        },
    )
}

/// The login form's fields (the handler reads them as parameters).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SignInForm {
    #[schema(examples("admin"))]
    username: String,
    password: String,
    /// The session's CSRF token, from the login page.
    #[schema(rename = "_csrf")]
    csrf: String,
}

#[utoipa::path(
    post,
    path = "/login",
    tag = "sign-in pages",
    request_body(content = SignInForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("session_cookie" = [])),
    responses(
        (status = 303, description = "Signed in: on to the authorization request that sent the \
         browser here (or `/login`); a wrong password or a disabled account: \
         `/login?error`", headers(("Location" = String))),
        (status = 400, description = "An error page: a repeated or malformed field",
         body = String, content_type = "text/html"),
        (status = 403, description = "An error page: a wrong CSRF token", body = String,
         content_type = "text/html"),
        (status = 413, description = "An error page: the body is too large", body = String,
         content_type = "text/html"),
        (status = 415, description = "An error page: not a form", body = String,
         content_type = "text/html"),
        (status = 429, description = "The login page again: too many failed passwords for \
         this account or from this address (`brute_force.*`)", body = String,
         content_type = "text/html",
         headers(("Retry-After" = u64, description = "Seconds until the lockout ends"))),
        (status = 503, description = "An error page: the database did not answer, or too many \
         password checks at once", body = String, content_type = "text/html"),
    )
)]
pub async fn sign_in(
    request: HttpRequest,
    payload: web::Payload,
    session: Session,
    endpoint: web::Data<AuthorizationEndpoint>,
    settings: web::Data<RequestSettings>,
) -> HttpResponse {
    let web_session = WebSession::new(&session);
    let form = match read(
        &request,
        payload,
        &settings,
        &["username", "password", CSRF_FIELD],
    )
    .await
    {
        Ok(form) => form,
        Err(error) => return error_page(&error),
    };
    if let Err(error) = web_session.check_csrf(form.get(CSRF_FIELD)) {
        return error_page(&error);
    }
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return see_other("/login?error");
    };
    let from = client_address(&request, settings.trust_forwarded_for);
    let credentials = Credentials {
        from,
        username,
        password,
    };
    match endpoint.sign_in(credentials).await {
        Ok(user) => match web_session.sign_in(&user.username) {
            Ok(()) => after_sign_in(&web_session, true),
            Err(error) => error_page(&error),
        },
        Err(error) if error.code() == ErrorCode::UserDisabled => see_other("/login?error=disabled"),
        Err(error) if error.code() == ErrorCode::BadCredentials => see_other("/login?error"),
        Err(error) if error.code() == ErrorCode::TooManyFailedSignIns => {
            locked_out(&web_session, error.retry_after().unwrap_or(1))
        }
        Err(error) => error_page(&error),
    }
}

/// The sign-out form.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SignOutForm {
    /// The session's CSRF token.
    #[schema(rename = "_csrf")]
    csrf: String,
}

#[utoipa::path(
    post,
    path = "/logout",
    tag = "sign-in pages",
    request_body(content = SignOutForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("session_cookie" = [])),
    responses(
        (status = 303, description = "Signed out: to `/login?logout`",
         headers(("Location" = String))),
        (status = 400, description = "An error page: a repeated or malformed field",
         body = String, content_type = "text/html"),
        (status = 403, description = "An error page: a wrong CSRF token", body = String,
         content_type = "text/html"),
        (status = 413, description = "An error page: the body is too large", body = String,
         content_type = "text/html"),
        (status = 415, description = "An error page: not a form", body = String,
         content_type = "text/html"),
    )
)]
pub async fn sign_out(
    request: HttpRequest,
    payload: web::Payload,
    session: Session,
    settings: web::Data<RequestSettings>,
) -> HttpResponse {
    let web_session = WebSession::new(&session);
    let form = match read(&request, payload, &settings, &[CSRF_FIELD]).await {
        Ok(form) => form,
        Err(error) => return error_page(&error),
    };
    if let Err(error) = web_session.check_csrf(form.get(CSRF_FIELD)) {
        return error_page(&error);
    }
    web_session.sign_out();
    see_other("/login?logout")
}

/// The login page again, answered 429 with `Retry-After`: no redirect, so the wait is shown where
/// the user typed.
fn locked_out(web_session: &WebSession, seconds: u64) -> HttpResponse {
    let csrf = match web_session.csrf_token() {
        Ok(csrf) => csrf,
        Err(error) => return error_page(&error),
    };
    let error = format!(
        "Too many failed sign-in attempts for this account or from this network. \
         Try again in {seconds} seconds."
    );
    let next = web_session.continuation();
    let hint = next.as_ref().and_then(Continue::login_hint);
    let mut response = page(
        StatusCode::TOO_MANY_REQUESTS,
        &LoginPage {
            csrf: &csrf,
            client_id: next.as_ref().and_then(|n| n.client_id.as_deref()),
            username: hint.as_deref(),
            error: Some(&error),
            notice: None,
        },
    );
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&seconds.to_string()) {
        response
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    response
}

async fn read(
    request: &HttpRequest,
    payload: web::Payload,
    settings: &RequestSettings,
    known: &[&'static str],
) -> Result<Params, ApiError> {
    let form = read_form(request, payload, settings.max_body_bytes).await?;
    Params::parse(&form, known)
}
