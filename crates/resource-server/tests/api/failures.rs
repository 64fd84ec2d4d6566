//! The resource server fails closed (docs/security.md, item 20): 503, never 200, and recovers by itself.

use std::time::{Duration, Instant};

use crate::helpers::{spawn_auth, spawn_resource, stub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_auth_server_stopped_answers_are_503_until_it_returns() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&format!("{}/oauth/check_token", auth.address), |_| {}).await;
    let token = auth.user_token().await;
    auth.stop().await;
    for _ in 0..3 {
        resource.hi(&token).await.assert_error(
            503,
            "temporarily_unavailable",
            "Token validation is temporarily unavailable; try again later",
        );
    }
    let auth = auth.restart().await;
    assert_eq!(
        resource.hi(&token).await.status,
        200,
        "recovered without a restart of its own"
    );
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_auth_server_is_a_prompt_503() {
    let slow = stub(
        200,
        r#"{"active":true,"client_id":"dev","scope":["app"]}"#,
        Duration::from_secs(5),
    )
    .await;
    let resource = spawn_resource(&slow.url, |s| s.introspection.timeout_ms = 300).await;
    let start = Instant::now();
    resource.hi("any-token").await.assert_error(
        503,
        "temporarily_unavailable",
        "Token validation is temporarily unavailable; try again later",
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_introspection_credentials_fail_closed() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&format!("{}/oauth/check_token", auth.address), |s| {
        s.introspection.client_secret = "wrong".to_owned().into();
    })
    .await;
    let token = auth.user_token().await;
    assert_eq!(resource.hi(&token).await.status, 503);
    let as_dev = spawn_resource(&format!("{}/oauth/check_token", auth.address), |s| {
        s.introspection.client_id = "dev".into();
        s.introspection.client_secret = "11".to_owned().into();
    })
    .await;
    assert_eq!(
        as_dev.hi(&token).await.status,
        503,
        "a client that may not introspect"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_the_introspection_endpoint_is_never_a_200() {
    for (status, body) in [
        (200, "not json"),
        (200, r#"{"active":true}"#),
        (500, "{}"),
        (
            400,
            r#"{"error":"invalid_request","error_description":"x"}"#,
        ),
    ] {
        let broken = stub(status, body, Duration::ZERO).await;
        let resource = spawn_resource(&broken.url, |_| {}).await;
        assert_eq!(resource.hi("t").await.status, 503, "{status} {body}");
    }
}
