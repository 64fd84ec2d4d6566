//! Expired codes, tokens and approvals are deleted by a periodic task, so tables do not grow
//! without bound; what is still usable is never touched.

use std::time::Duration;

use auth_server::db::schema::{
    oauth_access_token as access, oauth_code as code, oauth_refresh_token as refresh,
    oauth_token_family as family,
};
use auth_server::db::{approvals, purge::Purged};
use auth_server::domain::clock;
use auth_server::housekeeping::purge_once;
use diesel::prelude::*;

use test_support::{answer, on_both_backends, params_of, sqlite_app_with, TestApp};

const AUTHORIZE: &str =
    "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=s";

/// Makes every row written so far look expired (and its family idle for two hours).
fn age_everything(app: &TestApp) {
    let now = clock::now();
    let mut conn = app.store.conn().unwrap();
    diesel::update(access::table)
        .set(access::expires_at.eq(now - 10))
        .execute(&mut *conn)
        .unwrap();
    diesel::update(refresh::table)
        .set(refresh::expires_at.eq(now - 10))
        .execute(&mut *conn)
        .unwrap();
    diesel::update(code::table)
        .set(code::expires_at.eq(now - 10))
        .execute(&mut *conn)
        .unwrap();
    diesel::update(family::table)
        .set(family::updated_at.eq(now - 7200))
        .execute(&mut *conn)
        .unwrap();
}

async fn hi(app: &TestApp, token: &str) -> u16 {
    app.http
        .get(app.url("/hi?name=x"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[on_both_backends(|s| s.purge.interval_seconds = 0)]
async fn expired_rows_are_purged_and_live_ones_kept(app: TestApp) {
    app.add_client("forever", "client_credentials", |c| {
        c.access_token_validity = Some(0);
    });
    // To be expired: a password grant's tokens and family, and a code with its family.
    let old = app.password_grant().await;
    let browser = app.browser();
    let old_code = params_of(&browser.code_for(AUTHORIZE).await)["code"].clone();
    age_everything(&app);
    // To be kept: fresh tokens, a token that never expires, a fresh code, the approval given above.
    let fresh = app.password_grant().await;
    let forever = app
        .token_basic(
            ("forever", "s3cret"),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let fresh_code = params_of(&browser.code_for(AUTHORIZE).await)["code"].clone();
    // And an approval that ran out yesterday.
    let now = clock::now();
    approvals::save(
        &mut app.store.conn().unwrap(),
        "admin",
        "forever",
        &[("app".to_owned(), true)],
        now - 86_400,
        now - 90_000,
    )
    .unwrap();

    // A batch of one exercises the batching: every row takes its own transaction.
    let purged = purge_once(&app.store, 1).unwrap();
    assert_eq!(
        purged,
        Purged {
            codes: 1,
            access_tokens: 1,
            refresh_tokens: 1,
            approvals: 1,
            families: 2,
        }
    );
    assert_eq!(purge_once(&app.store, 1000).unwrap(), Purged::default());

    // What was kept still works.
    assert_eq!(hi(&app, &fresh.field("access_token")).await, 200);
    assert_eq!(hi(&app, &forever.field("access_token")).await, 200);
    assert_eq!(hi(&app, &old.field("access_token")).await, 401);
    let refreshed = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &fresh.field("refresh_token")),
            ("client_id", "dev"),
            ("client_secret", "11"),
        ])
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let redeem = |code: String| {
        let app = &app;
        async move {
            app.token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://www.baidu.com"),
                ("client_id", "dev"),
                ("client_secret", "11"),
            ])
            .await
        }
    };
    assert_eq!(redeem(fresh_code).await.status, 200);
    redeem(old_code)
        .await
        .assert_error(400, "invalid_grant", "Invalid authorization code");
    // The remembered approval was kept: no approval page this time.
    let hop = browser.authorize(AUTHORIZE).await;
    assert!(hop
        .header("location")
        .starts_with("http://www.baidu.com/?code="));
}

/// The server purges by itself every `purge.interval_seconds`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_purges_on_its_own_schedule() {
    let app = sqlite_app_with(|s| s.purge.interval_seconds = 1).await;
    assert_eq!(app.password_grant().await.status, 200);
    age_everything(&app);
    let rows = || -> i64 {
        let mut conn = app.store.conn().unwrap();
        access::table.count().get_result::<i64>(&mut *conn).unwrap()
            + refresh::table
                .count()
                .get_result::<i64>(&mut *conn)
                .unwrap()
    };
    assert_eq!(rows(), 2);
    let mut waited = Duration::ZERO;
    while rows() > 0 && waited < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert_eq!(rows(), 0, "not purged within 5 s at a 1 s interval");
}

/// `auth-server purge` does one purge and says what it deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_command_deletes_expired_rows() {
    let app = sqlite_app_with(|s| s.purge.interval_seconds = 0).await;
    let token = app.password_grant().await;
    age_everything(&app);
    let url = format!(
        "sqlite://{}/auth.db",
        app.db.sqlite_dir().unwrap().display()
    );
    let out = crate::cli::ok(&url, &["purge"]);
    assert_eq!(
        out.trim(),
        "deleted 0 codes, 1 access tokens, 1 refresh tokens, 0 approvals, 1 token families"
    );
    let status = answer(
        app.http
            .get(app.url("/hi?name=x"))
            .bearer_auth(token.field("access_token"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .status;
    assert_eq!(status, 401);
}

/// RFC 9700 §4.14.2: a rotated refresh token presented again revokes the grant, however long after
/// its own expiry the real client comes back with it; so the purge keeps it while the grant lives.
#[on_both_backends(|s| s.purge.interval_seconds = 0)]
async fn a_rotated_refresh_token_outlives_its_expiry_while_its_grant_lives(app: TestApp) {
    app.add_client("rot", "password,refresh_token", |c| {
        c.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into());
    });
    let first = app.password_grant_for(("rot", "s3cret")).await;
    let stolen = first.field("refresh_token");
    let second = app.refresh(("rot", "s3cret"), &stolen, None).await;
    assert_eq!(second.status, 200, "{}", second.body);
    // The rotated token's own expiry passes; the grant's current token is still good.
    {
        let mut conn = app.store.conn().unwrap();
        diesel::update(refresh::table.filter(refresh::rotated_at.is_not_null()))
            .set(refresh::expires_at.eq(clock::now() - 10))
            .execute(&mut *conn)
            .unwrap();
    }
    assert_eq!(purge_once(&app.store, 1).unwrap().refresh_tokens, 0);
    app.refresh(("rot", "s3cret"), &stolen, None)
        .await
        .assert_error(
            400,
            "invalid_grant",
            "Refresh token already used; the grant has been revoked",
        );
    app.refresh(("rot", "s3cret"), &second.field("refresh_token"), None)
        .await
        .assert_error(400, "invalid_grant", "Invalid refresh token");
}
