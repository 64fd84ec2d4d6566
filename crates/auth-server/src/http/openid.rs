//! OpenID Connect's own endpoints: UserInfo (`GET`/`POST /userinfo`, Core §5.3) and
//! RP-initiated logout (`GET`/`POST /connect/logout`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use shared::guard::bearer_token;
use shared::params::Params;
use shared::{ApiError, ErrorCode};

use super::body::read_form;
use super::no_store_json;
use super::pages::{error_page, page, see_other};
use super::session::{WebSession, CSRF_FIELD};
use super::RequestSettings;
use crate::discovery::END_SESSION_PATH;
use crate::openid::end_session::{EndSessionRequest, Outcome, END_SESSION_PARAMS};
use crate::openid::OpenIdConnect;

/// §5.3.1: the access token as a Bearer token (RFC 6750 §2.1, or §2.3's query parameter), and
/// §5.3.3's RFC 6750 answers when it is missing, invalid, or has no `openid`.
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

/// `GET /connect/logout`: the relying party sent the browser here.
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
