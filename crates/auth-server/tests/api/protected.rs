//! The auth server guards its own `/hi` and `/me` with the shared guard and its own token store.

use test_support::{answer, on_both_backends, Answer, TestApp};

async fn get(app: &TestApp, path: &str, bearer: Option<&str>) -> Answer {
    let mut request = app.http.get(app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.unwrap()).await
}

#[on_both_backends]
async fn hi_answers_a_caller_with_a_valid_token(app: TestApp) {
    let token = app.password_grant().await.field("access_token");
    let by_query = get(&app, &format!("/hi?name=1111&access_token={token}"), None).await;
    assert_eq!(
        (by_query.status, by_query.body.as_str()),
        (200, "hi , 1111")
    );
    assert_eq!(by_query.header("content-type"), "text/plain;charset=UTF-8");
    let by_header = get(&app, "/hi?name=%3Cb%3Ex", Some(&token)).await;
    assert_eq!(by_header.body, "hi , <b>x");
    assert_eq!(by_header.header("x-content-type-options"), "nosniff");
    let me = get(&app, "/me", Some(&token)).await.json();
    assert_eq!(me["user_name"], "admin");
    assert_eq!(me["client_id"], "dev");
    assert_eq!(
        me["authorities"],
        serde_json::json!(["ROLE_ADMIN", "ROLE_USER"])
    );
}
