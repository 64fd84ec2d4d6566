//! Faults and input: docs/security.md, items 22 to 23.

use super::*;

/// docs/security.md, item 22 in its first form: the database gone, answers are 503 JSON, never a lie
/// such as "invalid_client", and never a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_22_with_the_database_gone_answers_are_503_json_and_never_a_lie() {
    let Some(app) = test_support::spawn_app_with(Backend::Postgres, |s| {
        s.database.connect_timeout_ms = 500;
    })
    .await
    else {
        return;
    };
    let issued = app.password_grant().await.field("access_token");
    app.db.drop_now();
    let token = app.password_grant().await;
    token.assert_error(
        503,
        "temporarily_unavailable",
        "The service is temporarily unavailable; try again later",
    );
    assert_eq!(token.header("retry-after"), "1");
    let cc = app
        .token_basic(("dev", "11"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(cc.status, 503, "{}", cc.body);
    // Without the database an unknown client cannot be told from a known one.
    let unknown = app
        .token_basic(("nobody", "x"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(unknown.status, 503, "{}", unknown.body);
    // Nor a live token from a revoked one.
    for path in ["/oauth/check_token", "/oauth2/introspect"] {
        let introspected = app
            .post_form(
                path,
                &[("token", &issued)],
                Some(("resource", "resource-secret")),
            )
            .await;
        assert_eq!(introspected.status, 503, "{path}: {}", introspected.body);
        assert_eq!(introspected.json()["error"], "temporarily_unavailable");
    }
    let hi = get(&app, "/hi?name=a", Some(&issued)).await;
    assert_eq!(hi.status, 503, "{}", hi.body);
    assert_eq!(hi.json()["error"], "temporarily_unavailable");
    // Nor a right password from a wrong one: no "Bad credentials" at the login form.
    let signed_in = app.browser().sign_in("admin", "123456").await;
    assert_eq!(signed_in.status, 503, "{}", signed_in.body);
    assert_secure_headers(&signed_in, "the login form's 503 page");
    let health = answer(app.http.get(app.url("/health")).send().await.unwrap()).await;
    assert_eq!(health.status, 503);
    assert_eq!(health.body, r#"{"status":"DOWN"}"#);
}

/// A PostgreSQL restart kills every pooled connection behind the server's back. The first request
/// may find a dead one and answer 503; from then on connections are checked before use, dead ones
/// replaced, and service resumes by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_22_connections_killed_by_the_database_are_replaced() {
    let Some(app) = test_support::spawn_app(Backend::Postgres).await else {
        return;
    };
    let warm = futures_util::future::join_all((0..8).map(|_| app.password_grant())).await;
    assert!(warm.iter().all(|a| a.status == 200));
    let test_support::TestDb::Postgres { admin_url, name } = &*app.db else {
        unreachable!()
    };
    {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
        admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .unwrap();
    }
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let answer = app.password_grant().await;
        statuses.push(answer.status);
        assert_ne!(answer.status, 500, "{}", answer.body);
        if statuses.ends_with(&[200, 200, 200]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        statuses.ends_with(&[200, 200, 200]),
        "did not recover: {statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= 2,
        "{statuses:?}"
    );
}

#[on_both_backends]
async fn item_23_a_repeated_parameter_is_invalid_request(app: TestApp) {
    app.post_bytes(
        "/oauth/token",
        Some(("dev", "11")),
        Some("application/x-www-form-urlencoded"),
        b"grant_type=client_credentials&scope=app&scope=app".to_vec(),
    )
    .await
    .assert_error(400, "invalid_request", "Repeated parameter: scope");
}

#[on_both_backends]
async fn item_23_a_body_that_is_not_a_form_is_415(app: TestApp) {
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let answer = app
            .post_bytes(
                "/oauth/token",
                Some(("dev", "11")),
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
    let with_charset = app
        .post_bytes(
            "/oauth/token",
            Some(("dev", "11")),
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            b"grant_type=client_credentials".to_vec(),
        )
        .await;
    assert_eq!(with_charset.status, 200, "{}", with_charset.body);
}

#[on_both_backends]
async fn item_23_a_huge_body_is_413(app: TestApp) {
    let mut body = b"grant_type=client_credentials&padding=".to_vec();
    body.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    app.post_bytes(
        "/oauth/token",
        Some(("dev", "11")),
        Some("application/x-www-form-urlencoded"),
        body,
    )
    .await
    .assert_error(413, "invalid_request", "Request body too large");
}

#[on_both_backends]
async fn item_23_bytes_that_are_not_utf8_are_400(app: TestApp) {
    for body in [
        &b"grant_type=password&username=%FF%FE&password=x"[..],
        b"grant_type=password&username=\xff\xfe&password=x",
    ] {
        app.post_bytes(
            "/oauth/token",
            Some(("dev", "11")),
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

/// PostgreSQL cannot store NUL: such input must be refused as malformed, not reach the database
/// and come back as a 503.
#[on_both_backends]
async fn item_23_nul_cr_and_lf_are_400_on_every_backend(app: TestApp) {
    for body in [
        &b"grant_type=password&username=ad%00min&password=x"[..],
        b"grant_type=client_credentials&client_id=d%00ev&client_secret=11",
        b"grant_type=password&username=admin&password=1%0D%0A23456",
    ] {
        let response = app
            .http
            .post(app.url("/oauth/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        answer(response).await.assert_error(
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
    answer(nul_in_basic).await.assert_error(
        401,
        "invalid_client",
        "Malformed client credentials in the Authorization header",
    );
}

#[on_both_backends]
async fn item_23_other_methods_are_405_with_allow(app: TestApp) {
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

#[on_both_backends]
async fn item_23_oversized_authorization_requests_are_refused_before_they_reach_the_session(
    app: TestApp,
) {
    let browser = app.browser();
    // Unknown parameters are ignored and never stored.
    let padded = browser
        .authorize(&format!("{WALKTHROUGH}&padding={}", "x".repeat(3000)))
        .await;
    assert_eq!((padded.status, padded.header("location")), (303, "/login"));
    let cookie_sizes: Vec<usize> = padded
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.len())
        .collect();
    assert!(cookie_sizes.iter().all(|n| *n < 4000), "{cookie_sizes:?}");
    // A long state is refused back to the client, without echoing it.
    let long_state = browser
        .authorize(&format!(
            "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state={}",
            "%C3%A9".repeat(300)
        ))
        .await;
    let params = params_of(long_state.header("location"));
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["error_description"], "Parameter too long: state");
    assert!(!params.contains_key("state"));
    // Known parameters too long to keep: an error page, still with the security headers.
    let huge = browser
        .authorize(&format!("{WALKTHROUGH}&scope={}", "a".repeat(2100)))
        .await;
    assert_eq!(huge.status, 400, "{}", huge.body);
    assert_eq!(huge.header("x-frame-options"), "DENY");
    assert!(huge.body.contains("Parameter too long"), "{}", huge.body);
}

/// Each kind of malformed input, at every endpoint that reads a form, a query or a method.
#[on_both_backends]
async fn item_23_every_endpoint_answers_malformed_input_with_a_clear_4xx(app: TestApp) {
    let token = app.password_grant().await.field("access_token");
    let form = "application/x-www-form-urlencoded";
    // Each endpoint finds the parameter it reads repeated, broken or oversized.
    let known = [
        "grant_type",
        "token",
        "username",
        "_csrf",
        "user_oauth_approval",
    ];
    let each = |value: &str| -> Vec<u8> {
        known
            .iter()
            .map(|name| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    };
    let mut repeated = each("a");
    repeated.push(b'&');
    repeated.extend(each("b"));
    let mut raw_not_utf8 = each("a");
    raw_not_utf8.extend(b"&username=\xff\xfe&token=\xff&grant_type=\xff");
    let bodies: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("repeated parameters", Some(form), repeated),
        (
            "percent-encoded bytes that are not UTF-8",
            Some(form),
            each("%FF%FE"),
        ),
        ("raw bytes that are not UTF-8", Some(form), raw_not_utf8),
        ("NUL", Some(form), each("a%00b")),
        (
            "JSON",
            Some("application/json"),
            br#"{"token":"x"}"#.to_vec(),
        ),
        (
            "multipart",
            Some("multipart/form-data; boundary=x"),
            b"--x--".to_vec(),
        ),
        ("no content type", None, each("a")),
        ("a huge body", Some(form), vec![b'a'; 2 * 1024 * 1024]),
    ];
    for path in [
        "/oauth/token",
        "/oauth2/token",
        "/oauth/check_token",
        "/oauth2/introspect",
        "/login",
        "/logout",
        "/oauth/authorize",
    ] {
        for (what, content_type, body) in &bodies {
            let mut request = app
                .http
                .post(app.url(path))
                .basic_auth("resource", Some("resource-secret"))
                .body(body.clone());
            if let Some(content_type) = content_type {
                request = request.header("Content-Type", *content_type);
            }
            let answer = answer(request.send().await.unwrap()).await;
            assert!(
                (400..500).contains(&answer.status) && !answer.body.is_empty(),
                "{path}, {what}: {} {}",
                answer.status,
                answer.body
            );
        }
    }
    for (path, allowed) in [
        ("/oauth/token", "POST"),
        ("/oauth2/token", "POST"),
        ("/oauth/check_token", "POST"),
        ("/oauth2/introspect", "POST"),
        ("/logout", "POST"),
        ("/login", "GET, POST"),
        ("/oauth/authorize", "GET, POST"),
        ("/oauth/confirm_access", "GET"),
        ("/hi", "GET"),
        ("/me", "GET"),
        ("/health", "GET"),
    ] {
        for method in [
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
            reqwest::Method::PATCH,
        ] {
            let answer = answer(
                app.http
                    .request(method.clone(), app.url(path))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(answer.status, 405, "{method} {path}: {}", answer.body);
            assert_eq!(answer.header("allow"), allowed, "{method} {path}");
        }
    }
    let browser = app.browser();
    for path in [
        "/oauth/authorize?response_type=code&client_id=%FF".to_owned(),
        "/oauth/authorize?response_type=code&client_id=d%00ev".to_owned(),
        "/oauth/authorize?response_type=code&client_id=dev&client_id=dev".to_owned(),
        format!("/hi?name=%FF&access_token={token}"),
        format!("/hi?name=a&name=b&access_token={token}"),
        format!("/hi?name=a&access_token={token}&access_token={token}"),
        format!("/me?access_token=%FF{token}"),
    ] {
        let answer = browser.get(&path).await;
        assert!(
            (400..500).contains(&answer.status) && !answer.body.is_empty(),
            "{path}: {} {}",
            answer.status,
            answer.body
        );
    }
}

/// A body sent a byte at a time holds a connection as long as its sender likes unless the server
/// gives up: 50 of them are answered 408 and closed at the deadline, while a token request goes on
/// being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_23_bodies_trickled_a_byte_at_a_time_are_408_at_the_deadline_while_others_are_served()
{
    let deadline = Duration::from_secs(1);
    let app = sqlite_app_with(|s| s.server.body_timeout_ms = 1000).await;
    let address = format!("127.0.0.1:{}", app.port);
    let (trickled, took, token) =
        many_trickling(&address, "/oauth/token", 50, app.client_token("dev", "11")).await;
    assert!(!token.is_empty());
    assert!(
        took < deadline,
        "a token took {took:?} beside 50 slow senders"
    );
    assert_cut_off(&trickled, deadline);
}
