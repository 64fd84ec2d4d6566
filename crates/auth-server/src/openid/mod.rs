//! OpenID Connect on top of the OAuth flows (docs/openid-connect.md): ID tokens for grants with
//! scope `openid` (Core §3.1.3.3, §3.2.2.5, §12.2), the UserInfo endpoint (§5.3) and
//! RP-initiated logout. Sign-in itself, `prompt`, `max_age` and `nonce` live with the
//! authorization endpoint, which asks for them.

pub mod end_session;
pub mod userinfo;

use serde_json::{Map, Value};
use shared::{ApiError, ErrorCode, TokenResponse};

use crate::authority::Authority;
use crate::db::Storage;
use crate::domain::client::Client;
use crate::domain::clock;
use crate::id_token::{IdTokenFor, SignIn};
use crate::introspection::{self, Inspection};
use crate::stores::UserStore;
use crate::stores::{ClientStore, TokenStore};
use end_session::{EndSessionRequest, Outcome};

/// The UserInfo endpoint and RP-initiated logout, on the stores.
pub struct OpenIdConnect<S = Storage> {
    authority: Authority<S>,
}

impl<S: ClientStore + UserStore + TokenStore> OpenIdConnect<S> {
    pub fn new(authority: Authority<S>) -> Self {
        Self { authority }
    }

    /// The claims for the holder of access token `token` (§5.3.2), or an RFC 6750 error.
    pub async fn userinfo(&self, token: &str) -> Result<Map<String, Value>, ApiError> {
        let claims = match introspection::access_token(&self.authority.store, token).await? {
            Inspection::Active(active) => active.claims,
            Inspection::Expired => return Err(ApiError::new(ErrorCode::ExpiredAccessToken)),
            Inspection::Unknown => return Err(ApiError::new(ErrorCode::InvalidAccessToken)),
        };
        userinfo::claims(&self.authority, &claims).await
    }

    /// What RP-initiated logout does with `request` (see [`end_session::decide`]).
    pub async fn end_session(
        &self,
        request: &EndSessionRequest,
        signed_in: Option<&str>,
        confirmed: bool,
    ) -> Result<Outcome, ApiError> {
        end_session::decide(&self.authority, request, signed_in, confirmed).await
    }
}

/// A signed ID token for `sign_in` at `client`, with `at_hash` of `access_token` when one is
/// issued with it, and the profile claims its scope releases.
pub async fn id_token<S: UserStore>(
    authority: &Authority<S>,
    client: &Client,
    sign_in: &SignIn,
    access_token: Option<&str>,
) -> Result<String, ApiError> {
    let scope = &sign_in.scope;
    let profile = if scope.contains("profile") || scope.contains("email") {
        authority.store.profile(&sign_in.username).await?
    } else {
        None
    };
    let issuer = &authority.issuer;
    Ok(issuer.id_token(&IdTokenFor {
        client_id: &client.client_id,
        username: &sign_in.username,
        scope,
        auth_time: sign_in.auth_time,
        nonce: sign_in.nonce.as_deref(),
        access_token,
        profile: profile.as_ref(),
        now: clock::now(),
        validity: issuer.id_token_validity(client),
    })?)
}

/// The ID token that goes with `response` when the grant is an OpenID Connect one (`sign_in`),
/// bound to its access token by `at_hash`.
pub async fn id_token_for<S: UserStore>(
    authority: &Authority<S>,
    client: &Client,
    response: &TokenResponse,
    sign_in: Option<&SignIn>,
) -> Result<Option<String>, ApiError> {
    match sign_in {
        Some(sign_in) => Ok(Some(
            id_token(authority, client, sign_in, Some(&response.access_token)).await?,
        )),
        None => Ok(None),
    }
}
