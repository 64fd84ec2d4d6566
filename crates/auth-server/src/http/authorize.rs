//! `GET /oauth/authorize`, the approval page at `GET /oauth/confirm_access` (Spring's path), and
//! the approval form's `POST /oauth/authorize` (RFC 6749 §4.1.1, §4.2.1).

use std::collections::HashMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use shared::params::{parse_pairs, Params};
use shared::{ApiError, ErrorCode};

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
