//! The login and approval pages: signing out. CSRF, session renewal, headers and escaping
//! (SECURITY.md 11–13) are proven in security.rs.

use crate::helpers::{csrf_of, spawn_app, Backend};
use crate::on_both_backends;

on_both_backends!(signing_out_ends_the_session,);

const WALKTHROUGH: &str =
    "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz";

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
