//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2–§3): a relying party sends the
//! browser here to end the user's session, naming itself with the ID token it got
//! (`id_token_hint`) and where the browser goes next (`post_logout_redirect_uri`, registered for
//! the client, exactly).
//!
//! Signing out is done at once only when the hint shows that the relying party speaks for the
//! user signed in here (or nobody is): otherwise any page could sign users out, so the user is
//! asked first (§2: the OP SHOULD ask).

use serde_json::Value;
use shared::{ApiError, ErrorCode};
use url::Url;

use crate::authority::Authority;
use crate::stores::{ClientStore, UserStore};

/// The request's parameters.
#[derive(Debug, Default, Clone)]
pub struct EndSessionRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

/// The parameters the end-session endpoint reads.
pub const END_SESSION_PARAMS: &[&str] = &[
    "id_token_hint",
    "post_logout_redirect_uri",
    "state",
    "client_id",
    "ui_locales",
    "logout_hint",
];

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// End the session; then to `redirect` (the relying party's page, with `state`) or to the
    /// login page saying so.
    SignOut { redirect: Option<String> },
    /// Ask the user first; a confirmed request comes back with the same client, URI and state.
    Confirm {
        client_id: Option<String>,
        post_logout_redirect_uri: Option<String>,
        state: Option<String>,
    },
}

/// What to do with `request`, from a browser where `signed_in` is signed in. `confirmed`: the
/// user said yes on the confirmation page (its CSRF token was checked).
pub async fn decide<S: ClientStore + UserStore>(
    authority: &Authority<S>,
    request: &EndSessionRequest,
    signed_in: Option<&str>,
    confirmed: bool,
) -> Result<Outcome, ApiError> {
    let hint = match &request.id_token_hint {
        None => None,
        // Signed here, and an ID token: JWT access tokens are signed with the same keys, and
        // whoever holds one (a resource server) must not sign its user out with it. Only ID
        // tokens name the party they were issued to (`azp`).
        Some(token) => Some(
            authority
                .issuer
                .keys()
                .verify_id_token_hint(token)
                .filter(|claims| claims.get("azp").is_some_and(Value::is_string))
                .ok_or(ApiError::new(ErrorCode::InvalidIdTokenHint))?,
        ),
    };
    let hinted_client = hint.as_ref().and_then(audience);
    let client_id = match (&request.client_id, hinted_client) {
        (Some(given), Some(hinted)) if *given != hinted => {
            return Err(ApiError::new(ErrorCode::InvalidIdTokenHint))
        }
        (Some(given), _) => Some(given.clone()),
        (None, hinted) => hinted,
    };
    let redirect = match &request.post_logout_redirect_uri {
        None => None,
        Some(uri) => Some(checked_redirect(authority, client_id.as_deref(), uri, request).await?),
    };
    let hinted_user = hint
        .as_ref()
        .and_then(|claims| claims.get("sub"))
        .and_then(Value::as_str);
    let speaks_for_the_session = match signed_in {
        None => true,
        Some(user) => hinted_user == Some(user),
    };
    if confirmed || speaks_for_the_session {
        return Ok(Outcome::SignOut { redirect });
    }
    Ok(Outcome::Confirm {
        client_id,
        post_logout_redirect_uri: request.post_logout_redirect_uri.clone(),
        state: request.state.clone(),
    })
}

/// The client an ID token was issued to: `azp`, else its one audience.
fn audience(claims: &serde_json::Map<String, Value>) -> Option<String> {
    if let Some(azp) = claims.get("azp").and_then(Value::as_str) {
        return Some(azp.to_owned());
    }
    match claims.get("aud")? {
        Value::String(aud) => Some(aud.clone()),
        Value::Array(auds) if auds.len() == 1 => auds[0].as_str().map(str::to_owned),
        _ => None,
    }
}

/// `uri`, registered for the client exactly, with the request's `state` added to its query.
async fn checked_redirect<S: ClientStore + UserStore>(
    authority: &Authority<S>,
    client_id: Option<&str>,
    uri: &str,
    request: &EndSessionRequest,
) -> Result<String, ApiError> {
    let refused = || ApiError::new(ErrorCode::InvalidPostLogoutRedirectUri);
    let client_id = client_id.ok_or_else(refused)?;
    let client = authority
        .clients
        .clients()
        .find(client_id)
        .await?
        .ok_or_else(refused)?;
    if !client.post_logout_redirect_uris().iter().any(|r| r == uri) {
        return Err(refused());
    }
    let mut url = Url::parse(uri).map_err(|_| refused())?;
    if let Some(state) = &request.state {
        url.query_pairs_mut().append_pair("state", state);
    }
    Ok(url.into())
}
