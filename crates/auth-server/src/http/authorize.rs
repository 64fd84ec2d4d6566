//! `GET /oauth/authorize`, the approval page at `GET /oauth/confirm_access` (Spring's path), and
//! the approval form's `POST /oauth/authorize` (RFC 6749 §4.1.1, §4.2.1).

use std::collections::HashMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use shared::params::{parse_pairs, Params};
use shared::{ApiError, ErrorCode, Scope};

use super::pages::{error_page, page, see_other};
use super::session::{Continue, WebSession, CSRF_FIELD};
use super::{body, AppState};
use crate::grants::authorize::{AuthorizeError, AUTHORIZE_PARAMS};
use crate::grants::user_auth::current_user;

/// The longest authorization request remembered across sign-in: the session cookie must stay under
/// the 4 KiB browsers keep.
const MAX_CONTINUE_BYTES: usize = 2048;

/// A page, or a redirect to the client.
fn outcome(result: Result<String, AuthorizeError>) -> HttpResponse {
    match result {
        Ok(location) | Err(AuthorizeError::Redirect(location)) => see_other(&location),
        Err(AuthorizeError::Page(error)) => error_page(&error),
    }
}

/// What happens after a request was found valid and the user is known.
enum Next {
    Redirect(Result<String, AuthorizeError>),
    Ask,
    SignIn,
}

pub async fn authorize(
    request: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
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
    let username = web_session.username(state.session_max_age);
    let tokens = state.tokens.clone();
    let decided = web::block(move || {
        let (authorization, client) = match tokens.authorization_request(&params) {
            Ok(valid) => valid,
            Err(error) => return (Next::Redirect(Err(error)), None),
        };
        let Some(username) = username else {
            return (Next::SignIn, Some(authorization));
        };
        let user = match current_user(tokens.store(), &username) {
            Ok(Some(user)) => user,
            Ok(None) => return (Next::SignIn, Some(authorization)),
            Err(error) => return (Next::Redirect(Err(error.into())), None),
        };
        match tokens.is_preapproved(&authorization, &client, &user.username) {
            Ok(true) => {
                let approved = authorization.scope();
                (
                    Next::Redirect(tokens.approve(&authorization, &client, &user, &approved)),
                    None,
                )
            }
            Ok(false) => (Next::Ask, Some(authorization)),
            Err(error) => (Next::Redirect(Err(error.into())), None),
        }
    })
    .await;
    let (next, authorization) = match decided {
        Ok(decided) => decided,
        Err(error) => return error_page(&ApiError::internal(error)),
    };
    match (next, authorization) {
        (Next::Redirect(result), _) => outcome(result),
        (Next::SignIn, authorization) => {
            web_session.forget_user();
            let next = Continue {
                query,
                client_id: authorization.map(|a| a.client_id),
            };
            match web_session.set_continue(&next) {
                Ok(()) => see_other("/login"),
                Err(error) => error_page(&error),
            }
        }
        (Next::Ask, Some(authorization)) => match web_session.set_pending(&authorization) {
            Ok(()) => see_other("/oauth/confirm_access"),
            Err(error) => error_page(&error),
        },
        (Next::Ask, None) => error_page(&ApiError::internal("approval without a request")),
    }
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

pub async fn confirm_access(session: Session, state: web::Data<AppState>) -> HttpResponse {
    let web_session = WebSession::new(&session);
    let Some(username) = web_session.username(state.session_max_age) else {
        return see_other("/login");
    };
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
struct Decision {
    approve: bool,
    csrf: Option<String>,
    authorization_id: Option<String>,
    /// `None` when the form named no scope: then approving approves everything asked for.
    scopes: Option<HashMap<String, bool>>,
}

fn read_decision(form: &[u8]) -> Result<Decision, ApiError> {
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
    Ok(Decision {
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
    state: web::Data<AppState>,
) -> HttpResponse {
    let web_session = WebSession::new(&session);
    let decision = match body::read_form(&request, payload, state.max_body_bytes).await {
        Ok(form) => read_decision(&form),
        Err(error) => Err(error),
    };
    let decision = match decision {
        Ok(decision) => decision,
        Err(error) => return error_page(&error),
    };
    if let Err(error) = web_session.check_csrf(decision.csrf.as_deref()) {
        return error_page(&error);
    }
    let Some(username) = web_session.username(state.session_max_age) else {
        return see_other("/login");
    };
    // The decision must be about the request the page showed, not one that replaced it since.
    let Some(authorization) = web_session
        .pending()
        .filter(|pending| decision.authorization_id.as_deref() == Some(pending.id.as_str()))
    else {
        return error_page(&ApiError::new(ErrorCode::NoPendingAuthorization));
    };
    web_session.clear_pending();
    if !decision.approve {
        return outcome(Err(
            authorization.error_redirect(&ApiError::new(ErrorCode::AccessDenied))
        ));
    }
    let approved = match &decision.scopes {
        None => authorization.scope(),
        Some(choices) => Scope::from_tokens(
            authorization
                .scope
                .iter()
                .filter(|s| choices.get(*s).copied().unwrap_or(false))
                .cloned(),
        )
        .unwrap_or_default(),
    };
    let tokens = state.tokens.clone();
    let result = web::block(move || {
        let client = tokens
            .client(&authorization.client_id)?
            .filter(|client| tokens.still_valid(&authorization, client))
            .ok_or(ApiError::new(ErrorCode::UnknownClient))?;
        let user = current_user(tokens.store(), &username)?
            .ok_or(ApiError::new(ErrorCode::BadCredentials))?;
        if !approved.is_empty() {
            tokens.remember_decisions(&authorization, &user.username, &approved)?;
        }
        tokens.approve(&authorization, &client, &user, &approved)
    })
    .await;
    match result {
        Ok(result) => outcome(result),
        Err(error) => error_page(&ApiError::internal(error)),
    }
}
