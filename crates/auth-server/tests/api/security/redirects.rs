//! Redirects: docs/security.md, items 1 to 5.

use super::*;

/// RFC 9700 §4.1.3: character for character, no prefix, case, normalisation or encoding games.
#[on_both_backends]
async fn item_01_redirect_uri_is_matched_exactly(app: TestApp) {
    app.add_client("web", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://client.example/cb".into());
    });
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    for attack in [
        "https://client.example/cb/x",
        "https://client.example/cb/",
        "https://client.example/cb?x=1",
        "https://client.example/cb?",
        "https://client.example/cb#frag",
        "https://client.example/cb#",
        "HTTPS://client.example/cb",
        "https://CLIENT.example/cb",
        "https://client.EXAMPLE/cb",
        "https://client.example/CB",
        "https://client.example/cb/..;/evil",
        "https://client.example/cb/../evil",
        "https://client.example/x/../cb",
        "https://client.example/./cb",
        "https://client.example@evil.example/cb",
        "https://c@evil.example/cb",
        "https://client.example:443/cb",
        "https://client.example./cb",
        "http://client.example/cb",
        "//client.example/cb",
        "https://evil.example/cb",
        "javascript:alert(1)",
        // Percent-encoded: never decoded into a match.
        "https://client.example/%63b",
        "https://client.example/c%62",
        "https://client.example/%63%62",
        "https://client%2Eexample/cb",
        "https://client.example/cb%2F",
        "https://client.example/cb%2Fx",
        "https://client.example/cb%2F..%2Fevil",
        "https://client.example/cb%3Fx=1",
        "https://client.example/cb%23frag",
        "https://client.example/cb%20",
        "https%3A%2F%2Fclient.example%2Fcb",
    ] {
        let query = format!(
            "response_type=code&client_id=web&state=s&redirect_uri={}",
            encoded(attack)
        );
        let answer = browser.authorize(&query).await;
        assert_eq!(answer.status, 400, "{attack}");
        assert!(
            answer.headers.get("location").is_none(),
            "{attack} must not redirect"
        );
        assert!(answer
            .body
            .contains("redirect_uri is missing, ambiguous or not registered"));
        assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
    }
    let exact = browser
        .authorize(
            "response_type=code&client_id=web&state=s&redirect_uri=https://client.example/cb",
        )
        .await;
    assert_eq!(exact.header("location"), "/oauth/confirm_access");
}

#[on_both_backends]
async fn item_02_an_unknown_client_or_untrusted_redirect_uri_gets_an_error_page_and_no_redirect(
    app: TestApp,
) {
    app.add_client("web", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://client.example/cb".into());
    });
    app.add_client("two-uris", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://a.example/cb,https://b.example/cb".into());
    });
    app.add_client("no-uri", "authorization_code", |row| {
        row.web_server_redirect_uri = None
    });
    // Before sign-in too: an untrusted request must not even reach the login page.
    for signed_in in [false, true] {
        let browser = app.browser();
        if signed_in {
            browser.sign_in("admin", "123456").await;
        }
        // Missing: fine with one registered URI, an error page with two or none.
        assert_eq!(
            browser
                .authorize("response_type=code&client_id=web&state=s")
                .await
                .status,
            303,
            "the one registered URI is used"
        );
        for (query, message) in [
            (
                "response_type=code&client_id=two-uris&state=s",
                "redirect_uri is missing, ambiguous or not registered",
            ),
            (
                "response_type=code&client_id=no-uri&state=s",
                "redirect_uri is missing, ambiguous or not registered",
            ),
            (
                "response_type=code&client_id=web&state=s&redirect_uri=https://evil.example/cb",
                "redirect_uri is missing, ambiguous or not registered",
            ),
            (
                "response_type=code&client_id=two-uris&redirect_uri=https://b.example/cb&redirect_uri=https://evil.example/cb",
                "Repeated parameter",
            ),
            (
                "response_type=code&client_id=web&client_id=dev&redirect_uri=https://client.example/cb",
                "Repeated parameter",
            ),
            (
                "response_type=code&client_id=web&redirect_uri=https://client.example/cb&state=s&state=t",
                "Repeated parameter",
            ),
            (
                "response_type=code&client_id=nobody&redirect_uri=http://www.baidu.com",
                "Unknown client",
            ),
            (
                "response_type=code&redirect_uri=http://www.baidu.com",
                "Unknown client",
            ),
        ] {
            let answer = browser.authorize(query).await;
            assert_eq!(answer.status, 400, "{query}: {}", answer.body);
            assert!(
                answer.headers.get("location").is_none(),
                "{query} must not redirect"
            );
            assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
            assert!(answer.body.contains(message), "{query}: {}", answer.body);
        }
    }
}

#[on_both_backends]
async fn item_02_a_redirect_uri_unregistered_while_the_user_decided_is_never_used(app: TestApp) {
    app.add_client("moving", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://old.example/cb".into())
    });
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    browser
        .authorize("response_type=code&client_id=moving&state=s")
        .await;
    {
        use auth_server::db::schema::oauth_client_details::dsl::*;
        use diesel::prelude::*;
        diesel::update(oauth_client_details.find("moving"))
            .set(web_server_redirect_uri.eq(Some("https://new.example/cb")))
            .execute(&mut *app.store.conn().unwrap())
            .unwrap();
    }
    let decided = browser.decide(true, &[]).await;
    assert_eq!(decided.status, 400, "{}", decided.body);
    assert!(
        decided.headers.get("location").is_none(),
        "never sent to the old URI"
    );
}

#[on_both_backends]
async fn item_03_other_errors_go_back_to_the_registered_redirect_uri(app: TestApp) {
    let browser = app.browser();
    let base = "client_id=dev&redirect_uri=http://www.baidu.com&state=s";
    for (query, error) in [
        (base.to_string(), "invalid_request"),
        (
            format!("response_type=code+token&{base}"),
            "unsupported_response_type",
        ),
        (
            format!("response_type=code&scope=admin&{base}"),
            "invalid_scope",
        ),
        (
            format!("response_type=code&scope=a%22b&{base}"),
            "invalid_scope",
        ),
        (
            format!("response_type=code&code_challenge=short&code_challenge_method=S256&{base}"),
            "invalid_request",
        ),
        (
            format!(
                "response_type=code&code_challenge={}&code_challenge_method=S512&{base}",
                "a".repeat(43)
            ),
            "invalid_request",
        ),
    ] {
        let answer = browser.authorize(&query).await;
        assert_eq!(answer.status, 303, "{query}: {}", answer.body);
        let params = params_of(answer.header("location"));
        assert_eq!(params["error"], error, "{query}");
        assert_eq!(params["state"], "s");
    }
    // The implicit flow answers in the fragment, and only there.
    let implicit = browser
        .authorize(&format!("response_type=token&scope=admin&{base}"))
        .await;
    let location = url::Url::parse(implicit.header("location")).unwrap();
    assert_eq!(location.query(), None, "{location}");
    let params = params_of(location.as_str());
    assert_eq!(
        (params["error"].as_str(), params["state"].as_str()),
        ("invalid_scope", "s")
    );
}

#[on_both_backends]
async fn item_03_state_is_echoed_byte_for_byte(app: TestApp) {
    let browser = app.browser();
    let state = "a b+c&d=e/f?g%h#i\u{e9}<script>";
    let query = format!(
        "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state={}",
        form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
    );
    let location = browser.code_for(&query).await;
    assert_eq!(params_of(&location)["state"], state);
    let error = browser
        .authorize(&query.replace("response_type=code", "response_type=nope"))
        .await;
    assert_eq!(params_of(error.header("location"))["state"], state);
}

#[on_both_backends]
async fn item_04_the_redirect_uri_must_be_repeated_exactly_at_the_token_endpoint(app: TestApp) {
    for (given, status) in [
        (None, 400),
        (Some("http://www.baidu.com/"), 400),
        (Some("http://www.baidu.com"), 200),
    ] {
        let code = code(&app, WALKTHROUGH).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        if let Some(uri) = given {
            form.push(("redirect_uri", uri));
        }
        let answer = app.token_basic(("dev", "11"), &form).await;
        assert_eq!(answer.status, status, "{given:?}: {}", answer.body);
        if status == 400 {
            answer.assert_error(400, "invalid_grant", "Redirect URI mismatch.");
        }
    }
    // Not given in the authorization request (one registered URI): may be left out, or repeated.
    let code = code(&app, "response_type=code&client_id=dev&state=xyz").await;
    let answer = app
        .token_basic(
            ("dev", "11"),
            &[("grant_type", "authorization_code"), ("code", &code)],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // Another URI the client registered is still not the one of the request.
    app.add_client("two-uris", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://a.example/cb,https://b.example/cb".into());
    });
    let exchange_with = |uri: &'static str| {
        let app = &app;
        async move {
            let code = params_of(
                &app.browser()
                    .code_for(
                        "response_type=code&client_id=two-uris&redirect_uri=https://a.example/cb",
                    )
                    .await,
            )["code"]
                .clone();
            app.token_basic(
                ("two-uris", "s3cret"),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", uri),
                ],
            )
            .await
        }
    };
    exchange_with("https://b.example/cb").await.assert_error(
        400,
        "invalid_grant",
        "Redirect URI mismatch.",
    );
    assert_eq!(exchange_with("https://a.example/cb").await.status, 200);
}

/// Registration is the command line's (there is no registration endpoint): run it as an operator.
#[test]
fn item_05_a_fragment_or_script_scheme_redirect_uri_cannot_be_registered() {
    let Some((_db, url)) = TestDb::create(Backend::Sqlite) else {
        return;
    };
    crate::cli::ok(&url, &["migrate"]);
    for (uri, message) in [
        ("https://x.example/cb#f", "must not have a fragment"),
        ("https://x.example/cb#", "must not have a fragment"),
        (
            "javascript:alert(1)",
            "the javascript scheme is not allowed",
        ),
        (
            "JavaScript:alert(1)",
            "the javascript scheme is not allowed",
        ),
        (
            "data:text/html,<script>alert(1)</script>",
            "the data scheme is not allowed",
        ),
        ("vbscript:msgbox(1)", "the vbscript scheme is not allowed"),
        (
            "https://ok.example/cb,javascript:alert(1)",
            "the javascript scheme is not allowed",
        ),
    ] {
        crate::cli::fails(
            &url,
            &["client", "add", "--client-id", "x", "--redirect-uri", uri],
            1,
            message,
        );
        crate::cli::fails(
            &url,
            &["client", "show", "--client-id", "x"],
            1,
            r#"no client "x""#,
        );
    }
    crate::cli::ok(
        &url,
        &[
            "client",
            "add",
            "--client-id",
            "x",
            "--redirect-uri",
            "https://x.example/cb,com.example.app:/oauth2redirect",
        ],
    );
}

/// Rows written in SQL or by Spring's tools never went through that check: what it would refuse
/// is never redirected to either.
#[on_both_backends]
async fn item_05_an_unsafe_redirect_uri_stored_outside_the_cli_is_never_used(app: TestApp) {
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    for (id, uri) in [
        ("js", "javascript:alert(1)"),
        // No comma: the column holds a comma-separated list.
        (
            "data",
            "data:text/html;base64%2CPHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg",
        ),
        ("fragment", "https://x.example/cb#frag"),
        ("relative", "/cb"),
    ] {
        app.add_client(id, "authorization_code,implicit", |row| {
            row.web_server_redirect_uri = Some(uri.into());
            row.autoapprove = Some("true".into());
        });
        for query in [
            format!("response_type=code&client_id={id}&state=s"),
            format!(
                "response_type=token&client_id={id}&state=s&redirect_uri={}",
                encoded(uri)
            ),
            format!("response_type=nope&client_id={id}&state=s"),
        ] {
            let answer = browser.authorize(&query).await;
            assert_eq!(answer.status, 400, "{query}: {}", answer.body);
            assert!(
                answer.headers.get("location").is_none(),
                "{query} must not redirect"
            );
        }
    }
}
