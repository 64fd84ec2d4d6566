//! The login and approval pages: CSRF, session renewal, headers, escaping (SECURITY.md 11–13).

use crate::helpers::{csrf_of, spawn_app, Answer, Backend};
use crate::on_both_backends;

on_both_backends!(
    forms_without_the_right_csrf_token_are_403_and_change_nothing,
    signing_in_renews_the_session_and_the_cookie_is_httponly_and_lax,
    a_wrong_password_goes_back_to_the_login_page_with_303,
    signing_out_ends_the_session,
    every_html_answer_carries_the_security_headers,
    whatever_a_page_echoes_is_escaped,
);

const WALKTHROUGH: &str =
    "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz";

fn assert_secure_headers(answer: &Answer, what: &str) {
    assert_eq!(answer.header("x-frame-options"), "DENY", "{what}");
    assert!(
        answer
            .header("content-security-policy")
            .contains("frame-ancestors 'none'"),
        "{what}"
    );
    assert_eq!(answer.header("cache-control"), "no-store", "{what}");
    assert_eq!(answer.header("referrer-policy"), "no-referrer", "{what}");
}

async fn forms_without_the_right_csrf_token_are_403_and_change_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
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

fn session_cookie(answer: &Answer) -> Option<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("SESSION="))
}

async fn signing_in_renews_the_session_and_the_cookie_is_httponly_and_lax(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
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

async fn a_wrong_password_goes_back_to_the_login_page_with_303(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
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
}

async fn signing_out_ends_the_session(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    let csrf = csrf_of(&browser.get("/login").await.body);
    let out = browser.post("/logout", &[("_csrf", &csrf)]).await;
    assert_eq!((out.status, out.header("location")), (303, "/login?logout"));
    assert!(browser
        .get("/login?logout")
        .await
        .body
        .contains("You have been signed out."));
    assert_eq!(
        browser.authorize(WALKTHROUGH).await.header("location"),
        "/login"
    );
    assert_eq!(browser.get("/logout").await.status, 405);
}

async fn every_html_answer_carries_the_security_headers(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
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
}

async fn whatever_a_page_echoes_is_escaped(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
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
            !page.contains("49"),
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
