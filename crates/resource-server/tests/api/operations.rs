//! What operators watch on the resource server (docs/operations.md): `/metrics` with its token
//! caches, and `/health/ready` following the validation source.

use auth_server::domain::client::AccessTokenType;
use resource_server::settings::ValidationMode;
use serde_json::json;
use test_support::metrics::sample;

use crate::helpers::{spawn_auth, spawn_auth_with, spawn_resource};

fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_introspection_cache_at_work() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&auth.url("/oauth/check_token"), |_| {}).await;
    let token = auth.user_token().await;
    for _ in 0..3 {
        resource.hi(&token).await.assert_status(200);
    }
    resource.get("/hi?name=x", None).await.assert_status(401);
    // The cache counts its entries in its upkeep, every 100 ms.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let text = resource.metrics().await;
    assert_eq!(
        value(&text, r#"token_cache_misses_total{cache="introspection"}"#),
        1.0
    );
    assert_eq!(
        value(&text, r#"token_cache_hits_total{cache="introspection"}"#),
        2.0
    );
    assert_eq!(
        value(&text, r#"token_cache_entries{cache="introspection"}"#),
        1.0
    );
    assert_eq!(value(&text, "introspection_requests_total"), 1.0);
    assert_eq!(
        value(
            &text,
            r#"http_requests_total{method="GET",route="/hi",status="200"}"#
        ),
        3.0
    );
    assert_eq!(
        value(
            &text,
            r#"http_requests_total{method="GET",route="/hi",status="401"}"#
        ),
        1.0
    );
    resource.get("/metrics", None).await.assert_status(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_follows_the_introspection_endpoint() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&auth.url("/oauth/check_token"), |_| {}).await;
    let ready = resource.get("/health/ready", None).await;
    ready.assert_status(200);
    assert_eq!(ready.json(), json!({"status": "UP"}));

    auth.stop().await;
    // The last check is reused for two seconds, so that probes cost the auth server little.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let ready = resource.get("/health/ready", None).await;
    ready.assert_status(503);
    assert_eq!(ready.json()["status"], "DOWN");
    let problems = ready.json()["problems"].to_string();
    assert!(problems.contains("introspection"), "{problems}");
    assert!(
        !problems.contains("127.0.0.1"),
        "no internal address is revealed: {problems}"
    );
    // Still alive: restarting the resource server would not bring the auth server back.
    resource.get("/health/live", None).await.assert_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_introspection_credentials_are_not_ready() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&auth.url("/oauth/check_token"), |s| {
        s.introspection.client_secret = "not-the-secret".to_owned().into();
    })
    .await;
    resource.get("/health/ready", None).await.assert_status(503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_jwt_mode_ready_means_keys_are_held_and_the_jwt_cache_is_counted() {
    let auth = spawn_auth_with(|s| s.tokens.access_token_type = AccessTokenType::Jwt).await;
    let resource = spawn_resource(&auth.url("/oauth/check_token"), |s| {
        s.validation.mode = ValidationMode::Jwt;
        s.jwt.jwks_url = auth.url("/oauth2/jwks");
        s.jwt.issuer = format!("http://localhost:{}", auth.port);
    })
    .await;
    let token = auth.client_token("dev", "11").await;
    resource.hi(&token).await.assert_status(200);
    resource.hi(&token).await.assert_status(200);
    resource.get("/health/ready", None).await.assert_status(200);
    let text = resource.metrics().await;
    assert_eq!(
        value(&text, r#"token_cache_misses_total{cache="jwt"}"#),
        1.0
    );
    assert_eq!(value(&text, r#"token_cache_hits_total{cache="jwt"}"#), 1.0);
    assert_eq!(value(&text, r#"token_cache_entries{cache="jwt"}"#), 1.0);

    // With no key ever fetched (the key set is unreachable), nothing can be validated.
    let orphan = spawn_resource("http://127.0.0.1:9/oauth/check_token", |s| {
        s.validation.mode = ValidationMode::Jwt;
        s.jwt.jwks_url = "http://127.0.0.1:9/oauth2/jwks".to_owned();
    })
    .await;
    let ready = orphan.get("/health/ready", None).await;
    ready.assert_status(503);
    assert_eq!(
        ready.json(),
        json!({"status": "DOWN", "problems": ["no JWT signing key is held yet"]})
    );
}
