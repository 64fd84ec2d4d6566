//! What the browser session holds, typed: who signed in and when, the CSRF token, the
//! authorization request waiting for the user's decision, and where to go after signing in.
//!
//! Sessions live in a cookie encrypted and signed with `session.key` (actix-session's cookie store),
//! so any replica sharing the key can read them.

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::{Key, SameSite};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::authorization_endpoint::{AuthorizationRequest, AUTHORIZE_PARAMS};
use crate::domain::clock;
use crate::domain::token_value::{self, TokenFormat};
use crate::domain::user::SignedIn;
use shared::params::Params;
use shared::{ApiError, ErrorCode};

const USER: &str = "user";
const CSRF: &str = "csrf";
const PENDING: &str = "pending";
const CONTINUE: &str = "continue";
const JUST_SIGNED_IN: &str = "just_signed_in";

/// The form field carrying the CSRF token (Spring Security's name).
pub const CSRF_FIELD: &str = "_csrf";

pub fn middleware(key: Key, secure: bool) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name("SESSION".to_owned())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_secure(secure)
        .cookie_path("/".to_owned())
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(BrowserSession::default())
        .build()
}

/// Where the user was going when sent to sign in: the authorization request's query string.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Continue {
    pub query: String,
    pub client_id: Option<String>,
    /// The request wants a fresh sign-in although someone is signed in: show the form.
    #[serde(default)]
    pub again: bool,
}

impl Continue {
    /// The request's `login_hint`, to prefill the login form with.
    pub fn login_hint(&self) -> Option<String> {
        let params = Params::parse(self.query.as_bytes(), AUTHORIZE_PARAMS).ok()?;
        params.get("login_hint").map(str::to_owned)
    }
}

fn digest(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// The session of one request. Unreadable contents count as absent.
pub struct WebSession<'a> {
    session: &'a Session,
}

impl<'a> WebSession<'a> {
    pub fn new(session: &'a Session) -> Self {
        Self { session }
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.session.get(key).ok().flatten()
    }

    fn set<T: Serialize>(&self, key: &str, value: &T) -> Result<(), ApiError> {
        self.session
            .insert(key, value)
            .map_err(|e| ApiError::internal(format!("session: {e}")))
    }

    /// Who signed in and when, unless the sign-in is older than `max_age` seconds. Whether the
    /// user still accepts it is the authorization endpoint's to say.
    pub fn signed_in(&self, max_age: i64) -> Option<SignedIn> {
        let signed_in: SignedIn = self.get(USER)?;
        (clock::now() - signed_in.at < max_age).then_some(signed_in)
    }

    /// Signs in: a new session (renewed, so a fixated cookie is worthless) with a new CSRF token.
    pub fn sign_in(&self, username: &str) -> Result<(), ApiError> {
        let next: Option<Continue> = self.get(CONTINUE);
        // Not purge(): a purged session stays purged and its cookie is deleted.
        self.session.clear();
        self.session.renew();
        self.set(USER, &SignedIn::now(username))?;
        if let Some(next) = next {
            self.set(CONTINUE, &next)?;
        }
        self.new_csrf_token()?;
        Ok(())
    }

    /// Ends the session: the cookie is deleted.
    pub fn sign_out(&self) {
        self.session.purge();
    }

    /// Forgets who signed in (a user since deleted or disabled), keeping the rest.
    pub fn forget_user(&self) {
        self.session.remove(USER);
    }

    fn new_csrf_token(&self) -> Result<String, ApiError> {
        let token = token_value::generate(TokenFormat::Random);
        self.set(CSRF, &token)?;
        Ok(token)
    }

    /// The session's CSRF token, made on first use.
    pub fn csrf_token(&self) -> Result<String, ApiError> {
        match self.get::<String>(CSRF) {
            Some(token) => Ok(token),
            None => self.new_csrf_token(),
        }
    }

    /// A form's CSRF token must equal the session's (docs/security.md, item 11).
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), ApiError> {
        let expected: Option<String> = self.get(CSRF);
        match (expected, presented) {
            (Some(expected), Some(presented))
                if bool::from(expected.as_bytes().ct_eq(presented.as_bytes())) =>
            {
                Ok(())
            }
            _ => Err(ApiError::new(ErrorCode::InvalidCsrfToken)),
        }
    }

    pub fn set_pending(&self, request: &AuthorizationRequest) -> Result<(), ApiError> {
        self.set(PENDING, request)
    }

    pub fn pending(&self) -> Option<AuthorizationRequest> {
        self.get(PENDING)
    }

    pub fn clear_pending(&self) {
        self.session.remove(PENDING);
    }

    pub fn set_continue(&self, next: &Continue) -> Result<(), ApiError> {
        self.set(CONTINUE, next)
    }

    pub fn continuation(&self) -> Option<Continue> {
        self.get(CONTINUE)
    }

    pub fn take_continue(&self) -> Option<Continue> {
        let next = self.get(CONTINUE);
        self.session.remove(CONTINUE);
        next
    }

    /// Records that the user signed in for the authorization request `query` just now: that
    /// request, once, needs no other sign-in (`prompt=login`, `max_age=0`).
    pub fn set_just_signed_in(&self, query: &str) -> Result<(), ApiError> {
        // Its digest: the query is in the session once already, and cookies are small.
        self.set(JUST_SIGNED_IN, &digest(query))
    }

    /// Whether the user signed in for `query` just now; asked once.
    pub fn take_just_signed_in(&self, query: &str) -> bool {
        let recorded: Option<String> = self.get(JUST_SIGNED_IN);
        if recorded.is_some() {
            self.session.remove(JUST_SIGNED_IN);
        }
        recorded.is_some_and(|recorded| recorded == digest(query))
    }
}
