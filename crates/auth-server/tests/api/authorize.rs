//! `/oauth/authorize` with the login and approval pages (RFC 6749 §4.1.1–§4.2.2). docs/security.md
//! items 1–5 are proven in security/redirects.rs.

use test_support::{on_both_backends, params_of, TestApp};

const WALKTHROUGH: &str =
    "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz";

#[on_both_backends]
async fn the_documented_walkthrough_ends_with_a_code_and_tokens(app: TestApp) {
    let browser = app.browser();
    let first = browser.authorize(WALKTHROUGH).await;
    assert_eq!((first.status, first.header("location")), (303, "/login"));
    let login = browser.get("/login").await;
    assert!(
        login.body.contains("to continue to <strong>dev</strong>"),
        "{}",
        login.body
    );
    let signed_in = browser.sign_in("admin", "123456").await;
    assert_eq!(signed_in.status, 303);
    let back = signed_in.header("location");
    assert!(back.starts_with("/oauth/authorize?"), "{back}");
    assert_eq!(
        params_of(&format!("http://x{back}")),
        params_of(&format!("http://x/?{WALKTHROUGH}")),
        "back to the same request"
    );
    let ask = browser.authorize(WALKTHROUGH).await;
    assert_eq!(ask.header("location"), "/oauth/confirm_access");
    let page = browser.get("/oauth/confirm_access").await;
    assert!(
        page.body
            .contains(r#"Authorize <span class="client">dev</span>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"name="scope.app" value="true""#));
    assert!(page.body.contains("www.baidu.com"));
    let approved = browser.decide(true, &[("app", true)]).await;
    let location = approved.header("location");
    assert!(
        location.starts_with("http://www.baidu.com/?code="),
        "{location}"
    );
    let params = params_of(location);
    assert_eq!(params["state"], "xyz");
    let token = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("client_id", "dev"),
            ("client_secret", "11"),
            ("redirect_uri", "http://www.baidu.com"),
        ])
        .await;
    assert_eq!(token.json()["scope"], "app", "{}", token.body);
    token.field("refresh_token");
    // The same with HTTP Basic, for a second code.
    let second = params_of(&browser.code_for(WALKTHROUGH).await)["code"].clone();
    let basic = app
        .token_basic(
            ("dev", "11"),
            &[
                ("grant_type", "authorization_code"),
                ("code", &second),
                ("redirect_uri", "http://www.baidu.com"),
            ],
        )
        .await;
    basic.field("access_token");
}

#[on_both_backends]
async fn approvals_are_remembered_for_a_month_and_asked_again_when_expired(app: TestApp) {
    let browser = app.browser();
    browser.code_for(WALKTHROUGH).await;
    let again = browser.authorize(WALKTHROUGH).await;
    assert!(
        again
            .header("location")
            .starts_with("http://www.baidu.com/?code="),
        "not asked again"
    );
    use auth_server::db::schema::oauth_approvals::dsl::*;
    use diesel::prelude::*;
    let mut conn = app.store.conn().unwrap();
    let (saved_status, expiry): (Option<String>, Option<chrono::NaiveDateTime>) = oauth_approvals
        .filter(userid.eq("admin"))
        .filter(clientid.eq("dev"))
        .filter(scope.eq("app"))
        .select((status, expiresat))
        .first(&mut *conn)
        .unwrap();
    assert_eq!(saved_status.as_deref(), Some("APPROVED"));
    let days = (expiry.unwrap() - chrono::Utc::now().naive_utc()).num_days();
    assert!(
        (27..=31).contains(&days),
        "a calendar month, got {days} days"
    );
    diesel::update(oauth_approvals)
        .set(expiresat.eq(Some(
            chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1),
        )))
        .execute(&mut *conn)
        .unwrap();
    drop(conn);
    assert_eq!(
        browser.authorize(WALKTHROUGH).await.header("location"),
        "/oauth/confirm_access"
    );
}

#[on_both_backends]
async fn autoapprove_skips_the_approval_page(app: TestApp) {
    for (id, autoapprove, asked) in [
        ("auto", "true", false),
        ("pattern", "ap+,read", false),
        ("never", "false", true),
        ("partial", "read", true),
    ] {
        app.add_client(id, "authorization_code", |row| {
            row.autoapprove = Some(autoapprove.into());
            row.web_server_redirect_uri = Some("https://client.example/cb".into());
        });
        let browser = app.browser();
        browser.sign_in("admin", "123456").await;
        let answer = browser
            .authorize(&format!(
                "response_type=code&client_id={id}&scope=app%20read"
            ))
            .await;
        assert_eq!(
            answer.header("location") == "/oauth/confirm_access",
            asked,
            "{id}: {}",
            answer.header("location")
        );
    }
}

#[on_both_backends]
async fn deny_and_approving_nothing_redirect_access_denied(app: TestApp) {
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    browser.authorize(WALKTHROUGH).await;
    let denied = browser.decide(false, &[("app", true)]).await;
    assert_eq!(
        denied.header("location"),
        "http://www.baidu.com/?error=access_denied&error_description=User+denied+access&state=xyz"
    );
    browser.authorize(WALKTHROUGH).await;
    let nothing = browser.decide(true, &[("app", false)]).await;
    assert_eq!(
        params_of(nothing.header("location"))["error"],
        "access_denied"
    );
    // A denial is not remembered as an approval: the next request asks again.
    assert_eq!(
        browser.authorize(WALKTHROUGH).await.header("location"),
        "/oauth/confirm_access"
    );
}

#[on_both_backends]
async fn a_partial_approval_narrows_the_scope_and_is_remembered_per_scope(app: TestApp) {
    app.add_client("two", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://client.example/cb".into());
    });
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    let query = "response_type=code&client_id=two&scope=app+read";
    browser.authorize(query).await;
    let page = browser.get("/oauth/confirm_access").await;
    assert!(page.body.contains("scope.app") && page.body.contains("scope.read"));
    browser.authorize(query).await;
    let location = browser
        .decide(true, &[("app", false), ("read", true)])
        .await
        .header("location")
        .to_owned();
    let token = app
        .token_basic(
            ("two", "s3cret"),
            &[
                ("grant_type", "authorization_code"),
                ("code", &params_of(&location)["code"]),
            ],
        )
        .await;
    assert_eq!(token.json()["scope"], "read", "{}", token.body);
    // Asking for what was approved goes through; asking for the denied scope asks again.
    assert!(browser
        .authorize("response_type=code&client_id=two&scope=read")
        .await
        .header("location")
        .contains("code="));
    assert_eq!(
        browser.authorize(query).await.header("location"),
        "/oauth/confirm_access"
    );
}

#[on_both_backends]
async fn a_user_disabled_after_signing_in_must_sign_in_again(app: TestApp) {
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    {
        use auth_server::db::schema::users::dsl::*;
        use diesel::prelude::*;
        diesel::update(users.find("admin"))
            .set(enabled.eq(false))
            .execute(&mut *app.store.conn().unwrap())
            .unwrap();
    }
    assert_eq!(
        browser.authorize(WALKTHROUGH).await.header("location"),
        "/login"
    );
    let refused = browser.sign_in("admin", "123456").await;
    assert_eq!(refused.header("location"), "/login?error=disabled");
    assert!(browser
        .get("/login?error=disabled")
        .await
        .body
        .contains("This account is disabled."));
}

/// A forged navigation replaces the request waiting for approval; the victim's click on the page
/// that named `dev` must not approve the attacker's client.
#[on_both_backends]
async fn an_approval_only_approves_the_request_its_page_showed(app: TestApp) {
    app.add_client("evil", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://evil.example/cb".into())
    });
    let victim = app.browser();
    victim.sign_in("admin", "123456").await;
    victim.authorize(WALKTHROUGH).await;
    let page = victim.get("/oauth/confirm_access").await;
    let (csrf, id) = (
        test_support::csrf_of(&page.body),
        test_support::field_of(&page.body, "authorization_id"),
    );
    // The attacker makes the victim's browser open another authorization request.
    victim
        .authorize("response_type=code&client_id=evil&state=attacker")
        .await;
    let clicked = victim
        .post(
            "/oauth/authorize",
            &[
                ("user_oauth_approval", "true"),
                ("scope.app", "true"),
                ("_csrf", &csrf),
                ("authorization_id", &id),
            ],
        )
        .await;
    assert_eq!(clicked.status, 400, "{}", clicked.body);
    assert!(
        clicked.headers.get("location").is_none(),
        "nothing issued to anyone"
    );
    assert!(clicked
        .body
        .contains("No authorization request is waiting for this approval"));
    // Nor without the id at all.
    let bare = victim
        .post(
            "/oauth/authorize",
            &[("user_oauth_approval", "true"), ("_csrf", &csrf)],
        )
        .await;
    assert_eq!(bare.status, 400);
    // No approval was remembered for evil.
    assert_eq!(
        victim
            .authorize("response_type=code&client_id=evil&state=s")
            .await
            .header("location"),
        "/oauth/confirm_access"
    );
}

#[on_both_backends]
async fn a_double_submitted_approval_never_fails(app: TestApp) {
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    for _ in 0..4 {
        browser.authorize(WALKTHROUGH).await;
        let page = browser.get("/oauth/confirm_access").await;
        let (csrf, id) = (
            test_support::csrf_of(&page.body),
            test_support::field_of(&page.body, "authorization_id"),
        );
        let form = [
            ("user_oauth_approval", "true"),
            ("scope.app", "true"),
            ("_csrf", csrf.as_str()),
            ("authorization_id", id.as_str()),
        ];
        let clicks =
            futures_util::future::join_all((0..4).map(|_| browser.post("/oauth/authorize", &form)))
                .await;
        for click in &clicks {
            assert_ne!(click.status, 500, "{}", click.body);
        }
        assert!(clicks.iter().any(|c| c.status == 303));
        // Forget the approval again, so the next round is asked too.
        use auth_server::db::schema::oauth_approvals::dsl::*;
        use diesel::prelude::*;
        diesel::delete(oauth_approvals)
            .execute(&mut *app.store.conn().unwrap())
            .unwrap();
    }
}

#[on_both_backends]
async fn codes_are_stored_only_as_hashes(app: TestApp) {
    let code = params_of(&app.browser().code_for(WALKTHROUGH).await)["code"].clone();
    let stored = auth_server::db::codes::find(
        &mut app.store.conn().unwrap(),
        &auth_server::domain::token_value::hash(&code),
    )
    .unwrap()
    .expect("stored under its hash");
    assert_ne!(stored.code, code);
    assert_eq!(stored.user_name, "admin");
}
