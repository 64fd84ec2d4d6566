//! Pages: docs/security.md, items 11 to 13.

use super::*;

const PAYLOAD_ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;${7*7}{{7*7}}";

const PAYLOAD: &str = "<script>alert(1)</script>${7*7}{{7*7}}";

/// A page without its random hidden values, which may contain "49" by chance.
fn page_text(html: &str) -> String {
    let mut text = html.to_owned();
    for field in ["_csrf", "authorization_id"] {
        if html.contains(&format!(r#"name="{field}" value=""#)) {
            text = text.replace(&field_of(html, field), "");
        }
    }
    text
}

fn session_cookie(answer: &Answer) -> Option<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("SESSION="))
}

#[on_both_backends]
async fn item_11_forms_without_the_right_csrf_token_are_403_and_change_nothing(app: TestApp) {
    let browser = app.browser();
    browser.get("/login").await;
    for csrf in [None, Some("forged")] {
        let mut form = vec![("username", "admin"), ("password", "123456")];
        if let Some(csrf) = csrf {
            form.push(("_csrf", csrf));
        }
        let answer = browser.post("/login", &form).await;
        assert_eq!(answer.status, 403, "{csrf:?}");
        assert_secure_headers(&answer, "403 page");
    }
    assert_eq!(
        browser.authorize(WALKTHROUGH).await.header("location"),
        "/login",
        "not signed in"
    );
    browser.sign_in("admin", "123456").await;
    browser.authorize(WALKTHROUGH).await;
    for csrf in [None, Some("forged")] {
        let mut form = vec![("user_oauth_approval", "true"), ("scope.app", "true")];
        if let Some(csrf) = csrf {
            form.push(("_csrf", csrf));
        }
        let answer = browser.post("/oauth/authorize", &form).await;
        assert_eq!(answer.status, 403, "{csrf:?}: {}", answer.body);
        assert!(answer.headers.get("location").is_none(), "no code issued");
    }
    // The request is still waiting for a genuine decision.
    assert!(browser
        .decide(true, &[])
        .await
        .header("location")
        .contains("code="));
    // A CSRF token from another session does not work either.
    let other = app.browser();
    let foreign = csrf_of(&other.get("/login").await.body);
    assert_eq!(
        browser.post("/logout", &[("_csrf", &foreign)]).await.status,
        403
    );
}

#[on_both_backends]
async fn item_11_signing_in_renews_the_session(app: TestApp) {
    let browser = app.browser();
    let before = session_cookie(&browser.get("/login").await).expect("a session cookie");
    assert!(before.contains("HttpOnly"), "{before}");
    assert!(before.contains("SameSite=Lax"), "{before}");
    let csrf_before = csrf_of(&browser.get("/login").await.body);
    let signed_in = browser.sign_in("admin", "123456").await;
    let after = session_cookie(&signed_in).expect("a new session cookie at sign-in");
    assert_ne!(before.split(';').next(), after.split(';').next());
    let page = browser.get("/login").await;
    assert!(page
        .body
        .contains("You are signed in as <strong>admin</strong>"));
    assert_ne!(
        csrf_of(&page.body),
        csrf_before,
        "a new CSRF token after sign-in"
    );
}

#[on_both_backends]
async fn item_12_every_html_response_carries_the_four_headers(app: TestApp) {
    let browser = app.browser();
    assert_secure_headers(&browser.get("/login").await, "login page");
    assert_secure_headers(&browser.authorize(WALKTHROUGH).await, "redirect to login");
    assert_secure_headers(&browser.authorize("client_id=nobody").await, "error page");
    browser.sign_in("admin", "123456").await;
    browser.authorize(WALKTHROUGH).await;
    assert_secure_headers(&browser.get("/oauth/confirm_access").await, "approval page");
    let decided = browser.decide(true, &[]).await;
    assert_eq!(decided.status, 303);
    assert_secure_headers(&decided, "redirect to the client");
    let css = browser.get("/assets/oauth.css").await;
    assert_eq!(
        (css.status, css.header("content-type")),
        (200, "text/css; charset=utf-8")
    );
    // Error pages, and every other answer of the page endpoints.
    let stranger = app.browser();
    let raw_login = |content_type: &'static str, body: Vec<u8>| {
        let request = stranger
            .http
            .post(app.url("/login"))
            .header("Content-Type", content_type)
            .body(body);
        async move { answer(request.send().await.unwrap()).await }
    };
    let mut answers = vec![
        (
            "login page with an error",
            stranger.get("/login?error").await,
        ),
        (
            "login page after sign-out",
            stranger.get("/login?logout").await,
        ),
        (
            "approval page, signed out",
            stranger.get("/oauth/confirm_access").await,
        ),
        (
            "unregistered redirect_uri",
            stranger
                .authorize("response_type=code&client_id=dev&redirect_uri=https://evil.example/")
                .await,
        ),
        (
            "repeated parameter",
            stranger
                .authorize(&format!("{WALKTHROUGH}&state=again"))
                .await,
        ),
        (
            "parameter too long",
            stranger
                .authorize(&format!("{WALKTHROUGH}&scope={}", "a".repeat(2100)))
                .await,
        ),
        (
            "sign-in without a CSRF token",
            stranger
                .post("/login", &[("username", "admin"), ("password", "123456")])
                .await,
        ),
        (
            "sign-in that is not a form",
            raw_login("application/json", br#"{"username":"admin"}"#.to_vec()).await,
        ),
        (
            "sign-in too large",
            raw_login("application/x-www-form-urlencoded", vec![b'a'; 1024 * 1024]).await,
        ),
    ];
    let signed_in = browser.get("/login").await;
    let csrf = csrf_of(&signed_in.body);
    answers.push(("signed-in page", signed_in));
    answers.push((
        "approval page with nothing pending",
        browser.get("/oauth/confirm_access").await,
    ));
    answers.push((
        "approval posted with nothing pending",
        browser
            .post(
                "/oauth/authorize",
                &[("user_oauth_approval", "true"), ("_csrf", &csrf)],
            )
            .await,
    ));
    answers.push((
        "approval with a forged CSRF token",
        browser
            .post(
                "/oauth/authorize",
                &[("user_oauth_approval", "true"), ("_csrf", "forged")],
            )
            .await,
    ));
    answers.push((
        "sign-out",
        browser.post("/logout", &[("_csrf", &csrf)]).await,
    ));
    for (what, answer) in &answers {
        assert_secure_headers(answer, &format!("{what} ({})", answer.status));
        if answer.status != 303 {
            assert_eq!(
                answer.header("content-type"),
                "text/html; charset=utf-8",
                "{what}"
            );
        }
    }
}

#[on_both_backends]
async fn item_12_a_credentials_post_answers_303(app: TestApp) {
    let browser = app.browser();
    let answer = browser.sign_in("admin", "wrong").await;
    assert_eq!(
        (answer.status, answer.header("location")),
        (303, "/login?error")
    );
    assert_secure_headers(&answer, "303 after a credentials POST");
    let page = browser.get("/login?error").await;
    assert!(page.body.contains("Bad credentials"));
    let unknown = browser.sign_in("nobody", "x").await;
    assert_eq!(unknown.header("location"), "/login?error");
    let right = browser.sign_in("admin", "123456").await;
    assert_eq!((right.status, right.header("location")), (303, "/login"));
    assert_secure_headers(&right, "303 after a successful credentials POST");
}

#[on_both_backends]
async fn item_13_client_ids_and_scopes_render_literally(app: TestApp) {
    let evil_client = "<script>alert(1)</script>${7*7}{{7*7}}";
    app.add_client(evil_client, "authorization_code", |row| {
        row.scope = Some("<b>x</b>,${7*7},{{7*7}}".into());
        row.web_server_redirect_uri = Some("https://c.example/cb".into());
    });
    let browser = app.browser();
    let query = format!(
        "response_type=code&client_id={}",
        form_urlencoded::byte_serialize(evil_client.as_bytes()).collect::<String>()
    );
    browser.authorize(&query).await;
    let login = browser.get("/login").await;
    browser.sign_in("admin", "123456").await;
    browser.authorize(&query).await;
    let approve = browser.get("/oauth/confirm_access").await;
    for page in [&login.body, &approve.body] {
        assert!(!page.contains("<script>alert(1)"), "{page}");
        assert!(!page.contains("<b>x</b>"), "{page}");
        assert!(
            !page_text(page).contains("49"),
            "no template evaluated the input: {page}"
        );
    }
    assert!(
        login
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;${7*7}{{7*7}}"),
        "{}",
        login.body
    );
    assert!(
        approve.body.contains("&#60;b&#62;x&#60;/b&#62;"),
        "{}",
        approve.body
    );
    assert!(approve.body.contains("${7*7}") && approve.body.contains("{{7*7}}"));
}

#[on_both_backends]
async fn item_13_usernames_states_and_error_texts_render_literally(app: TestApp) {
    app.add_user(PAYLOAD, "pw", &["ROLE_USER"]);
    let browser = app.browser();
    let query = format!(
        "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state={}",
        encoded(PAYLOAD)
    );
    browser.authorize(&query).await;
    let mut pages = vec![("login page", browser.get("/login").await)];
    assert_eq!(browser.sign_in(PAYLOAD, "pw").await.status, 303);
    browser.authorize(&query).await;
    let approve = browser.get("/oauth/confirm_access").await;
    assert!(
        approve.body.contains(PAYLOAD_ESCAPED),
        "the username: {}",
        approve.body
    );
    pages.push(("approval page", approve));
    let decided = browser.decide(true, &[]).await;
    assert_eq!(params_of(decided.header("location"))["state"], PAYLOAD);
    let signed_in = browser.get("/login").await;
    assert!(
        signed_in.body.contains(PAYLOAD_ESCAPED),
        "{}",
        signed_in.body
    );
    pages.push(("signed-in page", signed_in));
    // Error pages, with the payload wherever a request can carry it.
    let stranger = app.browser();
    let evil = encoded(PAYLOAD);
    for path in [
        format!("/oauth/authorize?response_type=code&client_id={evil}&state={evil}"),
        format!(
            "/oauth/authorize?response_type=code&client_id=dev&redirect_uri={evil}&state={evil}"
        ),
        format!("/oauth/authorize?response_type=code&client_id=dev&state={evil}&state={evil}"),
        format!(
            "/oauth/authorize?client_id=dev&scope={evil}{}",
            "a".repeat(2100)
        ),
        format!("/login?error={evil}"),
        format!("/login?logout={evil}&{evil}"),
    ] {
        pages.push(("error page", stranger.get(&path).await));
    }
    for (what, page) in &pages {
        let text = page_text(&page.body);
        assert!(!text.contains("<script>"), "{what}: {}", page.body);
        assert!(!text.contains("49"), "{what}: {}", page.body);
    }
}

/// `user passwd` ends the user's refresh tokens and browser sessions, as Keycloak does: a session
/// signed in before is sent to sign in again, and a refresh token taken before is refused.
#[on_both_backends]
async fn item_11_a_password_change_ends_the_users_browser_sessions_and_refresh_tokens(
    app: TestApp,
) {
    let browser = app.browser();
    assert_eq!(browser.sign_in("admin", "123456").await.status, 303);
    let first = browser.authorize(WALKTHROUGH).await;
    assert_eq!(first.header("location"), "/oauth/confirm_access");
    let refresh = app.password_grant().await.field("refresh_token");
    let printed = crate::cli::ok(
        &app.db.url(),
        &[
            "user",
            "passwd",
            "--username",
            "admin",
            "--password",
            "changed",
        ],
    );
    assert!(
        printed.contains("password of admin changed; ended 1 grants"),
        "{printed}"
    );
    assert_eq!(
        browser.authorize(WALKTHROUGH).await.header("location"),
        "/login"
    );
    let login = browser.get("/login").await;
    assert!(
        login.body.contains(r#"name="password""#),
        "the login form again"
    );
    app.refresh(("dev", "11"), &refresh, None)
        .await
        .assert_error(400, "invalid_grant", "Invalid refresh token");
    assert_eq!(browser.sign_in("admin", "changed").await.status, 303);
    assert_eq!(
        browser.authorize(WALKTHROUGH).await.header("location"),
        "/oauth/confirm_access"
    );
}
