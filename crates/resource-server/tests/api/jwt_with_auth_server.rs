//! Both real servers with JWT access tokens: the auth server signs, the resource server verifies
//! with the auth server's /oauth2/jwks (configured, or found in its metadata) and never asks it
//! about a token.

use auth_server::domain::client::AccessTokenType;
use resource_server::settings::ValidationMode;
use serde_json::Value;

use crate::helpers::{spawn_auth_with, spawn_resource};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwts_of_the_auth_server_open_hi_without_a_call_per_token() {
    let auth = spawn_auth_with(|s| s.tokens.access_token_type = AccessTokenType::Jwt).await;
    let issuer = format!("http://localhost:{}", auth.port);
    let resource = spawn_resource(&auth.url("/oauth/check_token"), |s| {
        s.validation.mode = ValidationMode::Jwt;
        s.jwt.jwks_url = auth.url("/oauth2/jwks");
        s.jwt.issuer = issuer.clone();
    })
    .await;

    let user = auth.user_token().await;
    let client = auth.client_token("dev", "11").await;
    for token in [&user, &client, &user] {
        let hi = resource.hi(token).await;
        assert_eq!(hi.status, 200, "{}", hi.body);
        assert_eq!(hi.body, "hi , 1111");
    }
    let me = resource.get("/me", Some(&user)).await;
    assert_eq!(me.json()["user_name"], "admin", "{}", me.body);

    let health: Value = resource.get("/health", None).await.json();
    assert_eq!(health["introspection_calls"], 0, "{health}");
    assert_eq!(
        health["jwks_fetches"], 1,
        "one fetch of the key set served every token: {health}"
    );

    // A token of another issuer's keys is nothing to this resource server.
    let other = spawn_auth_with(|s| s.tokens.access_token_type = AccessTokenType::Jwt).await;
    let foreign = other.client_token("dev", "11").await;
    let refused = resource.hi(&foreign).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(refused.header("www-authenticate").contains("invalid_token"));
}

/// Told only the auth server's issuer, the resource server finds `/oauth2/jwks` and
/// `/oauth2/introspect` in its metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_servers_issuer_is_all_a_mixed_mode_resource_server_needs() {
    let auth = spawn_auth_with(|s| s.tokens.access_token_type = AccessTokenType::Jwt).await;
    let issuer = format!("http://localhost:{}", auth.port);
    let resource = spawn_resource("", |s| {
        s.validation.mode = ValidationMode::Mixed;
        s.jwt.issuer = issuer.clone();
        s.introspection.issuer = issuer.clone();
    })
    .await;

    let hi = resource.hi(&auth.user_token().await).await;
    assert_eq!((hi.status, hi.body.as_str()), (200, "hi , 1111"));
    // Not a JWT: introspected at the discovered endpoint, which does not know it.
    resource
        .hi("an-opaque-token-nobody-issued")
        .await
        .assert_error(401, "invalid_token", "Invalid access token");

    let health: Value = resource.get("/health", None).await.json();
    assert_eq!(health["introspection_calls"], 1, "{health}");
    assert_eq!(
        health["jwt_discovery"]["jwks_uri"],
        format!("{issuer}/oauth2/jwks"),
        "{health}"
    );
    assert_eq!(
        health["introspection_discovery"]["introspection_endpoint"],
        format!("{issuer}/oauth2/introspect"),
        "{health}"
    );
}
