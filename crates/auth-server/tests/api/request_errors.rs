//! Every malformed request gets a clear 4xx from the catalogue, never a 500 or a panic.

use crate::helpers::{answer, spawn_app, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_missing_grant_type_is_springs_invalid_request,
    unknown_and_implicit_grant_types_are_refused,
    a_repeated_parameter_is_invalid_request,
    a_body_that_is_not_a_form_is_415,
    a_huge_body_is_413,
    bytes_that_are_not_utf8_are_400,
    nul_cr_and_lf_are_400_on_every_backend,
    token_parameters_in_the_query_string_are_refused,
    other_methods_are_405_with_allow,
    unknown_paths_are_a_json_404,
);

async fn raw_post(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> crate::helpers::Answer {
    let mut request = app
        .http
        .post(app.url(path))
        .basic_auth("dev", Some("11"))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    answer(request.send().await.unwrap()).await
}

async fn a_missing_grant_type_is_springs_invalid_request(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.token_basic(("dev", "11"), &[("scope", "app")])
        .await
        .assert_error(400, "invalid_request", "Missing grant type");
}

async fn unknown_and_implicit_grant_types_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.token_basic(
        ("dev", "11"),
        &[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")],
    )
    .await
    .assert_error(400, "unsupported_grant_type", "Unsupported grant type");
    app.token_basic(("dev", "11"), &[("grant_type", "implicit")])
        .await
        .assert_error(
            400,
            "invalid_grant",
            "Implicit grant type not supported from token endpoint",
        );
}

async fn a_repeated_parameter_is_invalid_request(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    raw_post(
        &app,
        "/oauth/token",
        Some("application/x-www-form-urlencoded"),
        b"grant_type=client_credentials&scope=app&scope=app".to_vec(),
    )
    .await
    .assert_error(400, "invalid_request", "Repeated parameter: scope");
}

async fn a_body_that_is_not_a_form_is_415(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let answer = raw_post(
            &app,
            "/oauth/token",
            content_type,
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        )
        .await;
        answer.assert_error(
            415,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let with_charset = raw_post(
        &app,
        "/oauth/token",
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        b"grant_type=client_credentials".to_vec(),
    )
    .await;
    assert_eq!(with_charset.status, 200, "{}", with_charset.body);
}

async fn a_huge_body_is_413(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut body = b"grant_type=client_credentials&padding=".to_vec();
    body.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    raw_post(
        &app,
        "/oauth/token",
        Some("application/x-www-form-urlencoded"),
        body,
    )
    .await
    .assert_error(413, "invalid_request", "Request body too large");
}

async fn bytes_that_are_not_utf8_are_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for body in [
        &b"grant_type=password&username=%FF%FE&password=x"[..],
        b"grant_type=password&username=\xff\xfe&password=x",
    ] {
        raw_post(
            &app,
            "/oauth/token",
            Some("application/x-www-form-urlencoded"),
            body.to_vec(),
        )
        .await
        .assert_error(
            400,
            "invalid_request",
            "Malformed request: parameters must be UTF-8 and form-encoded",
        );
    }
}

async fn token_parameters_in_the_query_string_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app
        .http
        .post(app.url("/oauth/token?grant_type=password&username=admin&password=123456"))
        .basic_auth("dev", Some("11"))
        .send()
        .await
        .unwrap();
    answer(response).await.assert_error(
        400,
        "invalid_request",
        "Parameters must be sent in the request body, not the query string",
    );
    // An unrelated query parameter (a cache buster) does no harm.
    let harmless = app
        .http
        .post(app.url("/oauth/token?_=123"))
        .basic_auth("dev", Some("11"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(harmless.status(), 200);
}

async fn other_methods_are_405_with_allow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .http
            .request(method.clone(), app.url("/oauth/token"))
            .send()
            .await
            .unwrap();
        let answer = answer(response).await;
        answer.assert_error(405, "method_not_allowed", "Request method not supported");
        assert_eq!(answer.header("allow"), "POST", "{method}");
    }
    let response = app.http.post(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

async fn unknown_paths_are_a_json_404(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app.http.get(app.url("/oauth/nope")).send().await.unwrap();
    answer(response)
        .await
        .assert_error(404, "not_found", "No such endpoint");
}

/// PostgreSQL cannot store NUL: such input must be refused as malformed, not reach the database
/// and come back as a 503.
async fn nul_cr_and_lf_are_400_on_every_backend(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for body in [
        &b"grant_type=password&username=ad%00min&password=x"[..],
        b"grant_type=client_credentials&client_id=d%00ev&client_secret=11",
        b"grant_type=password&username=admin&password=1%0D%0A23456",
    ] {
        let answer = app
            .http
            .post(app.url("/oauth/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        answer_of(answer).await.assert_error(
            400,
            "invalid_request",
            "Malformed request: parameters must be UTF-8 and form-encoded",
        );
    }
    let nul_in_basic = app
        .http
        .post(app.url("/oauth/token"))
        .header("Authorization", "Basic ZABldjoxMQ==")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    answer_of(nul_in_basic).await.assert_error(
        401,
        "invalid_client",
        "Malformed client credentials in the Authorization header",
    );
}

use crate::helpers::answer as answer_of;
