//! Request limits: every oversized part of a request answers a clear 4xx with the catalogue's JSON,
//! before any work is done for it. (The body limit, 413, is docs/security.md, item 23, in security/faults_and_input.rs.)

use test_support::{answer, sqlite_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_parameters_is_400() {
    let app = sqlite_app_with(|_| {}).await;
    let mut form = vec![
        ("grant_type".to_owned(), "client_credentials".to_owned()),
        ("client_id".to_owned(), "dev".to_owned()),
        ("client_secret".to_owned(), "11".to_owned()),
    ];
    form.extend((0..100).map(|n| (format!("p{n}"), "1".to_owned())));
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    app.token(&form)
        .await
        .assert_error(400, "invalid_request", "Too many parameters");
    // The authorization endpoint decodes its query with the same rules: an HTML page, no redirect.
    let query: String = (0..101).map(|n| format!("&p{n}=1")).collect();
    let page = app
        .browser()
        .get(&format!(
            "/oauth/authorize?response_type=code&client_id=dev{query}"
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(!page.headers.contains_key("location"));
    assert!(page.body.contains("Too many parameters"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_over_4_kib_is_400_naming_it() {
    let app = sqlite_app_with(|_| {}).await;
    let long = "a".repeat(4097);
    let before = app.passwords.bcrypt_runs();
    app.token(&[
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", &long),
        ("client_id", "dev"),
        ("client_secret", "11"),
    ])
    .await
    .assert_error(400, "invalid_request", "Parameter too long: password");
    assert_eq!(app.passwords.bcrypt_runs(), before, "no bcrypt work for it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_uri_over_8_kib_is_414_and_headers_over_16_kib_are_431() {
    let app = sqlite_app_with(|_| {}).await;
    let long_uri = answer(
        app.http
            .get(app.url(&format!("/hi?name={}", "a".repeat(8 * 1024))))
            .send()
            .await
            .unwrap(),
    )
    .await;
    long_uri.assert_error(414, "invalid_request", "Request URI too long");

    let big_headers = answer(
        app.http
            .post(app.url("/oauth/token"))
            .basic_auth("dev", Some("11"))
            .header("X-Padding", "a".repeat(16 * 1024))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    big_headers.assert_error(431, "invalid_request", "Request header fields too large");

    // Just under the limits, the same requests work.
    let fits = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth("dev", Some("11"))
        .header("X-Padding", "a".repeat(12 * 1024))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(fits.status(), 200);
}
