//! Every malformed request gets a clear 4xx from the catalogue, never a 500 or a panic.

use test_support::{answer, on_both_backends, TestApp};

#[on_both_backends]
async fn a_missing_grant_type_is_springs_invalid_request(app: TestApp) {
    app.token_basic(("dev", "11"), &[("scope", "app")])
        .await
        .assert_error(400, "invalid_request", "Missing grant type");
}

#[on_both_backends]
async fn unknown_and_implicit_grant_types_are_refused(app: TestApp) {
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

#[on_both_backends]
async fn token_parameters_in_the_query_string_are_refused(app: TestApp) {
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

#[on_both_backends]
async fn unknown_paths_are_a_json_404(app: TestApp) {
    let response = app.http.get(app.url("/oauth/nope")).send().await.unwrap();
    answer(response)
        .await
        .assert_error(404, "not_found", "No such endpoint");
}
