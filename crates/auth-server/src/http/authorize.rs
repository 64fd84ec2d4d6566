//! `GET /oauth/authorize`, the approval page at `GET /oauth/confirm_access` (Spring's path), and
//! the approval form's `POST /oauth/authorize` (RFC 6749 §4.1.1, §4.2.1).

use std::collections::HashMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use shared::openapi::scope;
use shared::params::{parse_pairs, Params};
use shared::{ApiError, ErrorCode};
use utoipa::openapi::Object;
use utoipa::{IntoParams, ToSchema};

use super::body::read_form;
use super::pages::{error_page, page, page_with_script, see_other};
use super::session::{Continue, WebSession, CSRF_FIELD};
use super::RequestSettings;
use crate::authorization_endpoint::{AuthorizationEndpoint, Choice, Decision, AUTHORIZE_PARAMS};

/// The longest authorization request remembered across sign-in: the session cookie must stay under
/// the 4 KiB browsers keep.
const MAX_CONTINUE_BYTES: usize = 2048;

/// The browser's next stop. `query` is the authorization request, kept in the session while the
/// user signs in.
fn respond(decision: Decision, web_session: &WebSession, query: Option<String>) -> HttpResponse {
    let stored = match decision {
        Decision::Redirect(location) => return see_other(&location),
        Decision::FormPost { action, params } => return form_post(&action, &params),
        Decision::ErrorPage(error) => return error_page(&error),
        Decision::SignIn { client_id, again } => {
            if !again {
                // Removed, disabled, or its sessions ended since.
                web_session.forget_user();
            }
            web_session.set_continue(&Continue {
                query: query.unwrap_or_default(),
                client_id: Some(client_id),
                again,
            })
        }
        Decision::Ask(request) => {
            return match web_session.set_pending(&request) {
                Ok(()) => see_other("/oauth/confirm_access"),
                Err(error) => error_page(&error),
            }
        }
    };
    match stored {
        Ok(()) => see_other("/login"),
        Err(error) => error_page(&error),
    }
}

/// The authorization request (RFC 6749 §4.1.1, §4.2.1; RFC 7636 §4.3; OpenID Connect Core
/// §3.1.2.1), as the description has it: the handler reads [`AUTHORIZE_PARAMS`]. Unknown
/// parameters are ignored; a repeated one is an error page.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuthorizeQuery {
    /// `code`, `token`, `id_token` or `id_token token` (the last two need scope `openid` and a
    /// `nonce`); another value goes back to the client as `unsupported_response_type`.
    #[param(schema_with = response_type, nullable = false)]
    response_type: Option<String>,
    /// A registered client; an unknown one is an error page, never a redirect.
    #[param(example = "dev")]
    client_id: String,
    /// One of the client's registered URIs, exactly; optional when it registered only one.
    #[param(nullable = false, example = "http://www.baidu.com")]
    redirect_uri: Option<String>,
    #[param(nullable = false, schema_with = scope)]
    scope: Option<String>,
    /// Given back with the answer, byte for byte (at most 512 bytes).
    #[param(nullable = false)]
    state: Option<String>,
    /// PKCE (RFC 7636): required of public clients.
    #[param(nullable = false)]
    code_challenge: Option<String>,
    /// `S256`, or `plain` (the default) unless `security.pkce_plain_allowed = false`.
    #[param(nullable = false)]
    code_challenge_method: Option<String>,
    #[param(nullable = false)]
    nonce: Option<String>,
    /// `query`, `fragment` or `form_post`.
    #[param(nullable = false)]
    response_mode: Option<String>,
    /// `none`, `login`, `consent`, `select_account` (space-separated; `none` alone).
    #[param(nullable = false)]
    prompt: Option<String>,
    /// Seconds since the user last signed in, at most.
    #[param(nullable = false)]
    max_age: Option<String>,
    /// A username to prefill the login page with.
    #[param(nullable = false)]
    login_hint: Option<String>,
}

fn response_type() -> Object {
    shared::openapi::one_of(&["code", "token", "id_token", "id_token token"])
}

#[utoipa::path(
    get,
    path = "/oauth/authorize",
    tag = "authorization endpoint",
    params(AuthorizeQuery),
    security((), ("session_cookie" = [])),
    responses(
        (status = 200, description = "`response_mode=form_post`: a page that posts the answer to \
         the client", body = String, content_type = "text/html"),
        (status = 303, description = "To `/login` (not signed in), to \
         `/oauth/confirm_access` (approval needed), or to the client's `redirect_uri` with a \
         code, tokens (in the fragment) or an `error`", headers(("Location" = String))),
        (status = 400, description = "An error page, never a redirect: an unknown client, an \
         unregistered `redirect_uri`, a repeated, malformed or too long parameter",
         body = String, content_type = "text/html"),
        (status = 503, description = "An error page: the database or the signing key is not \
         available", body = String, content_type = "text/html"),
    )
)]
pub async fn authorize(
    request: HttpRequest,
    session: Session,
    endpoint: web::Data<AuthorizationEndpoint>,
    settings: web::Data<RequestSettings>,
) -> HttpResponse {
    let web_session = WebSession::new(&session);
    let params = match Params::from_query(&request, AUTHORIZE_PARAMS) {
        Ok(params) => params,
        Err(error) => return error_page(&error),
    };
    // Kept in the session cookie while the user signs in: only what the endpoint reads, bounded.
    let query = params.encode();
    if query.len() > MAX_CONTINUE_BYTES {
        return error_page(
            &ApiError::new(ErrorCode::ParameterTooLong).with_arg("authorization request"),
        );
    }
    let signed_in = web_session.signed_in(settings.session_max_age);
    let just_signed_in = web_session.take_just_signed_in(&query);
    let decision = endpoint
        .authorize(&params, signed_in.as_ref(), just_signed_in)
        .await;
    respond(decision, &web_session, Some(query))
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    params: &'a [(String, String)],
}

/// OAuth 2.0 Form Post Response Mode §2: a page whose form the browser posts to the client, by
/// script at once or by the user's press where scripts do not run.
fn form_post(action: &str, params: &[(String, String)]) -> HttpResponse {
    page_with_script(StatusCode::OK, &FormPostPage { action, params })
}

#[derive(Template)]
#[template(path = "approve.html")]
struct ApprovePage<'a> {
    authorization_id: &'a str,
    client_id: &'a str,
    username: &'a str,
    scopes: Vec<&'a str>,
    destination: String,
    csrf: &'a str,
}

#[utoipa::path(
    get,
    path = "/oauth/confirm_access",
    tag = "authorization endpoint",
    security((), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The approval page: the client, the user, each scope with \
         an Approve/Deny choice", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to `/login`",
         headers(("Location" = String))),
        (status = 400, description = "An error page: no authorization request is waiting",
         body = String, content_type = "text/html"),
    )
)]
pub async fn confirm_access(
    session: Session,
    settings: web::Data<RequestSettings>,
) -> HttpResponse {
    let web_session = WebSession::new(&session);
    let Some(signed_in) = web_session.signed_in(settings.session_max_age) else {
        return see_other("/login");
    };
    let username = signed_in.username;
    let Some(authorization) = web_session.pending() else {
        return error_page(&ApiError::new(ErrorCode::NoPendingAuthorization));
    };
    let csrf = match web_session.csrf_token() {
        Ok(csrf) => csrf,
        Err(error) => return error_page(&error),
    };
    let destination = url::Url::parse(&authorization.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| authorization.redirect_uri.clone());
    page(
        StatusCode::OK,
        &ApprovePage {
            authorization_id: &authorization.id,
            client_id: &authorization.client_id,
            username: &username,
            scopes: authorization.scope.iter().map(String::as_str).collect(),
            destination,
            csrf: &csrf,
        },
    )
}

/// The approval form, as the description has it (the handler reads it with [`read_approval`]).
/// Besides these, one `scope.<name>` field per requested scope, `true` to approve it; a form with
/// none approves every requested scope.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Approval {
    /// `true` approves, anything else denies.
    #[schema(examples("true", "false"))]
    user_oauth_approval: String,
    /// The session's CSRF token, from the page.
    #[schema(rename = "_csrf")]
    csrf: String,
    /// The request the page showed.
    authorization_id: String,
}

/// The approval form as Spring's posted it: `user_oauth_approval=true|false` and, per scope,
/// `scope.<name>=true|false`.
struct ApprovalForm {
    approve: bool,
    csrf: Option<String>,
    authorization_id: Option<String>,
    /// `None` when the form named no scope: then approving approves everything asked for.
    scopes: Option<HashMap<String, bool>>,
}

fn read_approval(form: &[u8]) -> Result<ApprovalForm, ApiError> {
    let mut approve = None;
    let mut csrf = None;
    let mut authorization_id = None;
    let mut scopes: Option<HashMap<String, bool>> = None;
    for (name, value) in parse_pairs(form)? {
        if let Some(scope) = name.strip_prefix("scope.") {
            let seen = scopes
                .get_or_insert_with(HashMap::new)
                .insert(scope.to_owned(), value == "true");
            if seen.is_some() {
                return Err(ApiError::new(ErrorCode::RepeatedParameter).with_arg("scope.*"));
            }
        } else if name == "user_oauth_approval" {
            if approve.replace(value == "true").is_some() {
                return Err(
                    ApiError::new(ErrorCode::RepeatedParameter).with_arg("user_oauth_approval")
                );
            }
        } else if name == CSRF_FIELD {
            if csrf.replace(value).is_some() {
                return Err(ApiError::new(ErrorCode::RepeatedParameter).with_arg(CSRF_FIELD));
            }
        } else if name == "authorization_id" && authorization_id.replace(value).is_some() {
            return Err(ApiError::new(ErrorCode::RepeatedParameter).with_arg("authorization_id"));
        }
    }
    Ok(ApprovalForm {
        approve: approve.ok_or_else(|| {
            ApiError::new(ErrorCode::MissingParameter).with_arg("user_oauth_approval")
        })?,
        csrf,
        authorization_id,
        scopes,
    })
}

#[utoipa::path(
    post,
    path = "/oauth/authorize",
    tag = "authorization endpoint",
    request_body(content = Approval, content_type = "application/x-www-form-urlencoded"),
    security((), ("session_cookie" = [])),
    responses(
        (status = 200, description = "`response_mode=form_post`: a page that posts the answer to \
         the client", body = String, content_type = "text/html"),
        (status = 303, description = "To the client's `redirect_uri` with a code, tokens or \
         `error=access_denied`; to `/login` when the session ended",
         headers(("Location" = String))),
        (status = 400, description = "An error page: no such request waiting, a malformed form",
         body = String, content_type = "text/html"),
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
pub async fn decide(
    request: HttpRequest,
    payload: web::Payload,
    session: Session,
    endpoint: web::Data<AuthorizationEndpoint>,
    settings: web::Data<RequestSettings>,
) -> HttpResponse {
    let web_session = WebSession::new(&session);
    let form = match read_form(&request, payload, settings.max_body_bytes).await {
        Ok(form) => read_approval(&form),
        Err(error) => Err(error),
    };
    let form = match form {
        Ok(form) => form,
        Err(error) => return error_page(&error),
    };
    if let Err(error) = web_session.check_csrf(form.csrf.as_deref()) {
        return error_page(&error);
    }
    let Some(signed_in) = web_session.signed_in(settings.session_max_age) else {
        return see_other("/login");
    };
    // The decision must be about the request the page showed, not one that replaced it since.
    let Some(authorization) = web_session
        .pending()
        .filter(|pending| form.authorization_id.as_deref() == Some(pending.id.as_str()))
    else {
        return error_page(&ApiError::new(ErrorCode::NoPendingAuthorization));
    };
    web_session.clear_pending();
    let choice = if form.approve {
        Choice::Approve(authorization.approved(form.scopes.as_ref()))
    } else {
        Choice::Deny
    };
    let decided = endpoint.decide(&authorization, &signed_in, choice).await;
    respond(decided, &web_session, None)
}
