//! OpenID Connect's own endpoints: UserInfo (`GET`/`POST /userinfo`, Core §5.3) and
//! RP-initiated logout (`GET`/`POST /connect/logout`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use shared::guard::bearer_token;
use shared::params::Params;
use shared::{ApiError, ErrorBody, ErrorCode};
use utoipa::{IntoParams, ToSchema};

use super::body::read_form;
use super::no_store_json;
use super::pages::{error_page, page, see_other};
use super::session::{WebSession, CSRF_FIELD};
use super::RequestSettings;
use crate::discovery::END_SESSION_PATH;
use crate::openid::end_session::{EndSessionRequest, Outcome, END_SESSION_PARAMS};
use crate::openid::OpenIdConnect;

/// The claims of §5.3.2 (the description's: the handler answers a map of them): `sub`, and those
/// the token's scopes release that have a value.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UserInfo {
    /// The username.
    sub: String,
    #[schema(nullable = false)]
    name: Option<String>,
    #[schema(nullable = false)]
    given_name: Option<String>,
    #[schema(nullable = false)]
    family_name: Option<String>,
    #[schema(nullable = false)]
    nickname: Option<String>,
    #[schema(nullable = false)]
    preferred_username: Option<String>,
    #[schema(nullable = false)]
    picture: Option<String>,
    #[schema(nullable = false)]
    website: Option<String>,
    #[schema(nullable = false)]
    locale: Option<String>,
    #[schema(nullable = false)]
    zoneinfo: Option<String>,
    /// Unix seconds (scope `profile`).
    #[schema(nullable = false)]
    updated_at: Option<i64>,
    #[schema(nullable = false)]
    email: Option<String>,
    #[schema(nullable = false)]
    email_verified: Option<bool>,
}

/// §5.3.1: the access token as a Bearer token (RFC 6750 §2.1, or §2.3's query parameter), and
/// §5.3.3's RFC 6750 answers when it is missing, invalid, or has no `openid`.
#[utoipa::path(
    get,
    path = "/userinfo",
    tag = "OpenID Connect",
    security(("bearer" = []), ("access_token_query" = [])),
    responses(
        (status = 200, description = "The user's claims; not cached", body = UserInfo,
         headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "invalid_request: the token sent both in the header and \
         the query, or a malformed query", body = ErrorBody),
        (status = 401, description = "unauthorized (no token) or invalid_token (unknown, \
         expired, revoked, or its user removed or disabled)", body = ErrorBody,
         headers(("WWW-Authenticate" = String))),
        (status = 403, description = "insufficient_scope: a client's own token, or one without \
         `openid`", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 503, response = shared::openapi::Unavailable),
    )
)]
pub async fn userinfo(
    request: HttpRequest,
    openid: web::Data<OpenIdConnect>,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&request)?.ok_or(ApiError::new(ErrorCode::Unauthorized))?;
    let claims = openid.userinfo(&token).await?;
    no_store_json(&claims)
}

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    username: Option<&'a str>,
    client_id: Option<&'a str>,
    post_logout_redirect_uri: Option<&'a str>,
    state: Option<&'a str>,
}

fn end_session_request(params: &Params) -> EndSessionRequest {
    let get = |name: &str| params.get(name).map(str::to_owned);
    EndSessionRequest {
        id_token_hint: get("id_token_hint"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        state: get("state"),
        client_id: get("client_id"),
    }
}

/// RP-Initiated Logout 1.0 §2's parameters (the description's: the handler reads
/// [`END_SESSION_PARAMS`]).
#[derive(ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct EndSessionParams {
    /// An ID token this server issued (it may have expired).
    #[schema(nullable = false)]
    #[param(nullable = false)]
    id_token_hint: Option<String>,
    /// One of the client's registered `post_logout_redirect_uris`, exactly.
    #[schema(nullable = false)]
    #[param(nullable = false)]
    post_logout_redirect_uri: Option<String>,
    /// Given back to the `post_logout_redirect_uri`.
    #[schema(nullable = false)]
    #[param(nullable = false)]
    state: Option<String>,
    #[schema(nullable = false)]
    #[param(nullable = false)]
    client_id: Option<String>,
    /// Read and ignored.
    #[schema(nullable = false)]
    #[param(nullable = false)]
    ui_locales: Option<String>,
    /// Read and ignored.
    #[schema(nullable = false)]
    #[param(nullable = false)]
    logout_hint: Option<String>,
}

/// The confirmation page's form: the same parameters and the session's CSRF token. A form without
/// `_csrf` (a relying party's, from its own site) is sent on to the GET.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EndSessionForm {
    #[schema(nullable = false)]
    id_token_hint: Option<String>,
    #[schema(nullable = false)]
    post_logout_redirect_uri: Option<String>,
    #[schema(nullable = false)]
    state: Option<String>,
    #[schema(nullable = false)]
    client_id: Option<String>,
    #[schema(nullable = false)]
    ui_locales: Option<String>,
    #[schema(nullable = false)]
    logout_hint: Option<String>,
    #[schema(rename = "_csrf", nullable = false)]
    csrf: Option<String>,
}

/// `GET /connect/logout`: the relying party sent the browser here.
#[utoipa::path(
    get,
    path = "/connect/logout",
    tag = "OpenID Connect",
    params(EndSessionParams),
    security((), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A page asking the user to confirm (no valid \
         `id_token_hint`)", body = String, content_type = "text/html"),
        (status = 303, description = "Signed out: to the `post_logout_redirect_uri` (with \
         `state`), or to `/login?logout`", headers(("Location" = String))),
        (status = 400, description = "An error page: a `post_logout_redirect_uri` that is not \
         registered, an `id_token_hint` this server did not issue, a repeated or malformed \
         parameter", body = String, content_type = "text/html"),
        (status = 503, description = "An error page: the database did not answer",
         body = String, content_type = "text/html"),
    )
)]
pub async fn end_session(
    request: HttpRequest,
    session: Session,
    openid: web::Data<OpenIdConnect>,
    settings: web::Data<RequestSettings>,
) -> HttpResponse {
    match Params::from_query(&request, END_SESSION_PARAMS) {
        Ok(params) => end(&params, &session, &openid, &settings, false).await,
        Err(error) => error_page(&error),
    }
}

/// `POST /connect/logout`: the same from a relying party's form, or the user's answer on the
/// confirmation page (which carries the session's CSRF token).
#[utoipa::path(
    post,
    path = "/connect/logout",
    tag = "OpenID Connect",
    request_body(content = Option<EndSessionForm>, content_type = "application/x-www-form-urlencoded",
                 description = "Optional: a relying party may post no body at all"),
    security((), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The confirmation page", body = String,
         content_type = "text/html"),
        (status = 303, description = "Without `_csrf`: on to `GET /connect/logout` with the \
         same parameters; with it: signed out, as the GET", headers(("Location" = String))),
        (status = 400, description = "An error page", body = String, content_type = "text/html"),
        (status = 403, description = "An error page: a wrong CSRF token", body = String,
         content_type = "text/html"),
        (status = 413, description = "An error page: the body is too large", body = String,
         content_type = "text/html"),
        (status = 415, description = "An error page: not a form", body = String,
         content_type = "text/html"),
        (status = 503, description = "An error page: the database did not answer",
         body = String, content_type = "text/html"),
    )
)]
pub async fn end_session_form(
    request: HttpRequest,
    payload: web::Payload,
    session: Session,
    openid: web::Data<OpenIdConnect>,
    settings: web::Data<RequestSettings>,
) -> HttpResponse {
    let mut known = END_SESSION_PARAMS.to_vec();
    known.push(CSRF_FIELD);
    let params = match read_form(&request, payload, settings.max_body_bytes).await {
        Ok(form) => Params::parse(&form, &known),
        Err(error) => Err(error),
    };
    let params = match params {
        Ok(params) => params,
        Err(error) => return error_page(&error),
    };
    let confirmed = match params.get(CSRF_FIELD) {
        // A relying party's form, posted from its own site: the browser sends no `SameSite=Lax`
        // cookie with it, so the session is out of sight. The same request as a top-level GET
        // carries it.
        None => return see_other(&format!("{}?{}", END_SESSION_PATH, params.encode())),
        Some(csrf) => match WebSession::new(&session).check_csrf(Some(csrf)) {
            Ok(()) => true,
            Err(error) => return error_page(&error),
        },
    };
    end(&params, &session, &openid, &settings, confirmed).await
}

async fn end(
    params: &Params,
    session: &Session,
    openid: &OpenIdConnect,
    settings: &RequestSettings,
    confirmed: bool,
) -> HttpResponse {
    let web_session = WebSession::new(session);
    let signed_in = web_session.signed_in(settings.session_max_age);
    let username = signed_in.as_ref().map(|s| s.username.as_str());
    let request = end_session_request(params);
    match openid.end_session(&request, username, confirmed).await {
        Ok(Outcome::SignOut { redirect }) => {
            web_session.sign_out();
            see_other(redirect.as_deref().unwrap_or("/login?logout"))
        }
        Ok(Outcome::Confirm {
            client_id,
            post_logout_redirect_uri,
            state,
        }) => match web_session.csrf_token() {
            Ok(csrf) => page(
                StatusCode::OK,
                &ConfirmPage {
                    csrf: &csrf,
                    username,
                    client_id: client_id.as_deref(),
                    post_logout_redirect_uri: post_logout_redirect_uri.as_deref(),
                    state: state.as_deref(),
                },
            ),
            Err(error) => error_page(&error),
        },
        Err(error) => error_page(&error),
    }
}
