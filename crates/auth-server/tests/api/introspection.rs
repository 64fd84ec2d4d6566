//! `POST /oauth/check_token` (Spring) and `POST /oauth2/introspect` (RFC 7662).

use test_support::{answer, on_both_backends, TestApp};

#[on_both_backends]
async fn check_token_answers_springs_shape(app: TestApp) {
    let token = app.password_grant().await.field("access_token");
    let answer = app.check_token(&token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let exp = answer.json()["exp"].as_i64().unwrap();
    assert_eq!(
        answer.body,
        format!(
            r#"{{"active":true,"exp":{exp},"user_name":"admin","authorities":["ROLE_ADMIN","ROLE_USER"],"client_id":"dev","scope":["app"]}}"#
        ),
        "no aud for a client without resource_ids"
    );
    app.add_client("svc", "client_credentials", |row| {
        row.resource_ids = Some("hi,reports".into());
        row.authorities = Some("ROLE_SVC".into());
    });
    let client_token = app
        .token_basic(("svc", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    let json = app.check_token(&client_token).await.json();
    assert!(json.get("user_name").is_none(), "client-only token");
    assert_eq!(json["authorities"], serde_json::json!(["ROLE_SVC"]));
    assert_eq!(json["aud"], serde_json::json!(["hi", "reports"]));
    assert_eq!(json["scope"], serde_json::json!(["app", "read"]));
}

#[on_both_backends]
async fn the_token_must_be_in_the_body(app: TestApp) {
    let token = app.password_grant().await.field("access_token");
    let response = app
        .http
        .post(app.url(&format!("/oauth/check_token?token={token}")))
        .basic_auth("resource", Some("resource-secret"))
        .send()
        .await
        .unwrap();
    answer(response).await.assert_error(
        400,
        "invalid_request",
        "Parameters must be sent in the request body, not the query string",
    );
    app.post_form(
        "/oauth/check_token",
        &[],
        Some(("resource", "resource-secret")),
    )
    .await
    .assert_error(400, "invalid_request", "Missing parameter: token");
    let get = app
        .http
        .get(app.url("/oauth2/introspect"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
}
