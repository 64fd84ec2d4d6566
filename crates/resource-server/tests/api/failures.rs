//! The resource server fails closed (docs/security.md, item 20): 503, never 200, and recovers by
//! itself; and it cuts off what would hold its connections (item 23).

use std::time::{Duration, Instant};

use test_support::{assert_cut_off, many_trickling};

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

/// Bodies trickled a byte at a time are cut off at the deadline here too (the protected API takes
/// no body, but a slow one would still hold its connection), while tokens go on being checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_trickled_a_byte_at_a_time_are_408_at_the_deadline_while_others_are_served() {
    let auth = spawn_auth().await;
    let token = auth.client_token("dev", "11").await;
    let resource = spawn_resource(&format!("{}/oauth/check_token", auth.address), |s| {
        s.server.body_timeout_ms = 1000;
    })
    .await;
    let address = resource.address.replace("http://localhost", "127.0.0.1");
    let (trickled, took, answer) = many_trickling(&address, "/hi", 50, resource.hi(&token)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        took < Duration::from_secs(1),
        "/hi took {took:?} beside 50 slow senders"
    );
    assert_cut_off(&trickled, Duration::from_secs(1));
}
