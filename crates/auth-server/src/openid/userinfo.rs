//! The UserInfo endpoint (OpenID Connect Core §5.3): `sub` and the claims the token's scopes
//! release, for an access token that was granted `openid` on behalf of a user.

use serde_json::{Map, Value};
use shared::guard::TokenClaims;
use shared::{ApiError, ErrorCode};

use crate::authority::Authority;
use crate::stores::UserStore;

/// The claims for the holder of a valid access token (the guard checked it).
pub async fn claims<S: UserStore>(
    authority: &Authority<S>,
    token: &TokenClaims,
) -> Result<Map<String, Value>, ApiError> {
    // §5.3.3: a token without `openid` does not reach the user's claims (RFC 6750 §3.1); nor
    // does a client's own token, which has no user.
    let username = match &token.user_name {
        Some(username) if token.scope.contains("openid") => username,
        _ => return Err(ApiError::new(ErrorCode::InsufficientScope)),
    };
    // A user removed or disabled since the token was issued has no claims to give.
    match authority.store.user(username).await? {
        Some(user) if user.may_sign_in() => {}
        _ => return Err(ApiError::new(ErrorCode::InvalidAccessToken)),
    }
    let mut claims = Map::new();
    claims.insert("sub".to_owned(), Value::String(username.clone()));
    let releases = token.scope.contains("profile") || token.scope.contains("email");
    if releases {
        if let Some(profile) = authority.store.profile(username).await? {
            claims.extend(profile.claims(&token.scope));
        }
    }
    Ok(claims)
}
