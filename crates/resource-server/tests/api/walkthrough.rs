//! The issue's four curl lines, and the RFC 6750 answers around them.

use crate::helpers::{assert_insufficient_scope, spawn_auth, spawn_resource};

fn check_token(auth: &test_support::TestApp) -> String {
    format!("{}/oauth/check_token", auth.address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_curl_lines_answer_as_shown() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&check_token(&auth), |_| {}).await;
    let none = resource.get("/hi?name=1111", None).await;
    none.assert_error(
        401,
        "unauthorized",
        "Full authentication is required to access this resource",
    );
    assert_eq!(
        none.header("www-authenticate"),
        r#"Bearer realm="oauth2-resource""#
    );

    let token = auth.client_token("dev", "11").await;
    let by_query = resource
        .get(&format!("/hi?name=1111&access_token={token}"), None)
        .await;
    assert_eq!(
        (by_query.status, by_query.body.as_str()),
        (200, "hi , 1111")
    );
    assert_eq!(by_query.header("content-type"), "text/plain;charset=UTF-8");
    let by_header = resource.get("/hi?name=1111", Some(&token)).await;
    assert_eq!(
        (by_header.status, by_header.body.as_str()),
        (200, "hi , 1111")
    );
    let on_auth = reqwest::get(format!(
        "{}/hi?name=1111&access_token={token}",
        auth.address
    ))
    .await
    .unwrap();
    assert_eq!(on_auth.status(), 200);
    assert_eq!(on_auth.text().await.unwrap(), "hi , 1111");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_rfc_6750_answers() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&check_token(&auth), |_| {}).await;
    let token = auth.client_token("dev", "11").await;
    resource
        .get(&format!("/hi?name=1&access_token={token}"), Some(&token))
        .await
        .assert_error(
            400,
            "invalid_request",
            "The access token must be sent in exactly one way",
        );
    let unknown = resource.get("/hi?name=1", Some("unknown-token")).await;
    unknown.assert_error(401, "invalid_token", "Invalid access token");
    assert_eq!(
        unknown.header("www-authenticate"),
        r#"Bearer realm="oauth2-resource", error="invalid_token", error_description="Invalid access token""#
    );
    resource.get("/hi", Some(&token)).await.assert_error(
        400,
        "invalid_request",
        "Missing parameter: name",
    );
    let post = reqwest::Client::new()
        .post(format!("{}/hi?name=1", resource.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_shows_what_the_token_says() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&check_token(&auth), |_| {}).await;
    let me = resource
        .get("/me", Some(&auth.user_token().await))
        .await
        .json();
    assert_eq!(me["user_name"], "admin");
    assert_eq!(me["client_id"], "dev");
    assert_eq!(me["scope"], serde_json::json!(["app"]));
    assert_eq!(
        me["authorities"],
        serde_json::json!(["ROLE_ADMIN", "ROLE_USER"])
    );
    assert!(me["exp"].as_i64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audience_must_include_this_resource() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&check_token(&auth), |_| {}).await;
    auth.add_client("for-hi", "client_credentials", |row| {
        row.resource_ids = Some("hi".into())
    });
    auth.add_client("for-reports", "client_credentials", |row| {
        row.resource_ids = Some("reports,billing".into())
    });
    assert_eq!(
        resource
            .hi(&auth.client_token("for-hi", "s3cret").await)
            .await
            .status,
        200
    );
    resource
        .hi(&auth.client_token("for-reports", "s3cret").await)
        .await
        .assert_error(
            401,
            "invalid_token",
            "Invalid token does not contain resource id (hi)",
        );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_scope_is_enforced_with_403() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&check_token(&auth), |s| {
        s.resource.required_scope = shared::Scope::parse("write").unwrap()
    })
    .await;
    let answer = resource.hi(&auth.client_token("dev", "11").await).await;
    assert_insufficient_scope(&answer);
}

/// Oversized requests are refused before a token is looked at: no introspection call is spent on
/// them (the stub would answer "active" to anything).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_are_a_clear_4xx() {
    let stub = crate::helpers::stub(
        200,
        r#"{"active":true,"client_id":"dev","scope":["app"]}"#,
        std::time::Duration::ZERO,
    )
    .await;
    let resource = spawn_resource(&stub.url, |_| {}).await;
    let long_name = "a".repeat(8 * 1024);
    resource
        .get(&format!("/hi?name={long_name}"), Some("any-token"))
        .await
        .assert_error(414, "invalid_request", "Request URI too long");
    let big = resource
        .http
        .get(format!("{}/hi?name=x", resource.address))
        .bearer_auth("any-token")
        .header("X-Padding", "a".repeat(16 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 431);
    let many: String = (0..100).map(|n| format!("&p{n}=1")).collect();
    resource
        .get(&format!("/hi?name=x{many}"), Some("any-token"))
        .await
        .assert_error(400, "invalid_request", "Too many parameters");
    assert_eq!(
        stub.calls.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no introspection for a refused request"
    );
}
