//! RFC 7662 and Spring's check_token, including a legacy Spring authorization server's answers.

use std::time::Duration;

use resource_server::settings::Protocol;

use crate::helpers::{spawn_auth, spawn_resource, stub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_7662_introspection_against_the_auth_server() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&format!("{}/oauth2/introspect", auth.address), |s| {
        s.introspection.protocol = Protocol::Rfc7662;
    })
    .await;
    let token = auth.user_token().await;
    assert_eq!(resource.hi(&token).await.body, "hi , 1111");
    let me = resource.get("/me", Some(&token)).await.json();
    assert_eq!(me["user_name"], "admin");
    assert_eq!(
        me["authorities"],
        serde_json::json!(["ROLE_ADMIN", "ROLE_USER"])
    );
    assert_eq!(resource.hi("unknown").await.status, 401);
}

/// What Spring Security OAuth2 2.3's CheckTokenEndpoint answered, key order and all.
const SPRING_ANSWER: &str = r#"{"aud":["hi"],"user_name":"legacy-user","scope":["read","write"],"active":true,"exp":4102444800,"authorities":["ROLE_USER"],"client_id":"legacy-client"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_spring_check_token_is_understood() {
    let spring = stub(200, SPRING_ANSWER, Duration::ZERO).await;
    let resource = spawn_resource(&spring.url, |_| {}).await;
    assert_eq!(resource.hi("spring-token").await.body, "hi , 1111");
    let me = resource.get("/me", Some("spring-token")).await.json();
    assert_eq!(me["user_name"], "legacy-user");
    assert_eq!(me["client_id"], "legacy-client");
    assert_eq!(me["scope"], serde_json::json!(["read", "write"]));
    assert_eq!(me["aud"], serde_json::json!(["hi"]));

    // Before Spring 2.1 there was no "active" and scope could be a string.
    let old = stub(
        200,
        r#"{"client_id":"c","scope":"read write","aud":"hi"}"#,
        Duration::ZERO,
    )
    .await;
    let resource = spawn_resource(&old.url, |_| {}).await;
    assert_eq!(resource.hi("old-token").await.status, 200);

    // Spring's answers for a token that expired, and for one it does not know.
    for (description, ours) in [
        ("Token has expired", "Access token expired"),
        ("Token was not recognised", "Invalid access token"),
    ] {
        let body = format!(r#"{{"error":"invalid_token","error_description":"{description}"}}"#);
        let spring = stub(400, body, Duration::ZERO).await;
        let resource = spawn_resource(&spring.url, |_| {}).await;
        resource
            .hi("old")
            .await
            .assert_error(401, "invalid_token", ours);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_token_for_another_resource_is_refused() {
    let spring = stub(
        200,
        r#"{"aud":["billing"],"scope":["read"],"active":true,"client_id":"legacy"}"#,
        Duration::ZERO,
    )
    .await;
    let resource = spawn_resource(&spring.url, |_| {}).await;
    resource.hi("t").await.assert_error(
        401,
        "invalid_token",
        "Invalid token does not contain resource id (hi)",
    );
}

/// A refresh token is active at RFC 7662 introspection, but it is not a bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_is_never_accepted_as_a_bearer_token() {
    let auth = spawn_auth().await;
    let refresh = auth
        .password_grant_for(("dev", "11"))
        .await
        .field("refresh_token");
    let refresh = refresh.as_str();
    for (path, protocol) in [
        ("/oauth2/introspect", Protocol::Rfc7662),
        ("/oauth/check_token", Protocol::CheckToken),
    ] {
        let resource = spawn_resource(&format!("{}{path}", auth.address), |s| {
            s.introspection.protocol = protocol;
        })
        .await;
        resource
            .hi(refresh)
            .await
            .assert_error(401, "invalid_token", "Invalid access token");
    }
    // Nor from a third-party RFC 7662 server that labels it.
    let labelled = stub(
        200,
        r#"{"active":true,"client_id":"c","scope":"app","token_type":"refresh_token"}"#,
        Duration::ZERO,
    )
    .await;
    let resource = spawn_resource(&labelled.url, |s| {
        s.introspection.protocol = Protocol::Rfc7662
    })
    .await;
    assert_eq!(resource.hi("t").await.status, 401);
}
