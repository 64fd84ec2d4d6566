//! The login and approval pages: signing out. CSRF, session renewal, headers and escaping
//! (docs/security.md, items 11–13) are proven in security/pages.rs.

use test_support::{csrf_of, on_both_backends, TestApp};

const WALKTHROUGH: &str =
    "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz";

#[on_both_backends]
async fn signing_out_ends_the_session(app: TestApp) {
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
