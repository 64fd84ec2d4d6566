//! `auth-server spring import-tokens` against tokens "Spring" issued: the fixtures are real Java
//! serialization of Spring's classes, written as `JdbcTokenStore` wrote them
//! (tests/fixtures/spring_token_store). Imported, each opens `/hi`, introspects as it did, and
//! its refresh token refreshes.

use diesel::prelude::*;
use diesel::sql_types::{Binary, Nullable, Text};
use serde_json::Value;
use test_support::{on_both_backends, TestApp};

use crate::cli::ok;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../fixtures/spring_token_store/rows.json")).unwrap()
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn bytes(value: &Value) -> Option<Vec<u8>> {
    value.as_str().map(|hex| hex::decode(hex).unwrap())
}

/// Spring's two tables, with Spring's columns, holding every fixture row. (Spring's primary key on
/// `authentication_id` kept one token per user, client and scope; the fixtures share one, so
/// the key is left out: the import reads columns, not constraints.)
fn load_spring_tables(conn: &mut auth_server::db::DbConnection, suffix: &str, blob: &str) {
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&format!(
        "CREATE TABLE oauth_access_token{suffix} (token_id VARCHAR(256), token {blob}, \
         authentication_id VARCHAR(256), user_name VARCHAR(256), client_id VARCHAR(256), \
         authentication {blob}, refresh_token VARCHAR(256)); \
         CREATE TABLE oauth_refresh_token{suffix} (token_id VARCHAR(256), token {blob}, \
         authentication {blob});"
    ))
    .unwrap();
    let rows = fixtures();
    let pg = matches!(conn, auth_server::db::DbConnection::Pg(_));
    let placeholders = |n: usize| {
        if pg {
            (1..=n)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            vec!["?"; n].join(", ")
        }
    };
    let access_values = placeholders(7);
    for row in rows["oauth_access_token"].as_array().unwrap() {
        diesel::sql_query(format!(
            "INSERT INTO oauth_access_token{suffix} (token_id, token, authentication_id, user_name, \
             client_id, authentication, refresh_token) VALUES ({access_values})"
        ))
        .bind::<Nullable<Text>, _>(text(&row["token_id"]))
        .bind::<Nullable<Binary>, _>(bytes(&row["token"]))
        .bind::<Nullable<Text>, _>(text(&row["authentication_id"]))
        .bind::<Nullable<Text>, _>(text(&row["user_name"]))
        .bind::<Nullable<Text>, _>(text(&row["client_id"]))
        .bind::<Nullable<Binary>, _>(bytes(&row["authentication"]))
        .bind::<Nullable<Text>, _>(text(&row["refresh_token"]))
        .execute(conn)
        .unwrap();
    }
    let refresh_values = placeholders(3);
    for row in rows["oauth_refresh_token"].as_array().unwrap() {
        diesel::sql_query(format!(
            "INSERT INTO oauth_refresh_token{suffix} (token_id, token, authentication) \
             VALUES ({refresh_values})"
        ))
        .bind::<Nullable<Text>, _>(text(&row["token_id"]))
        .bind::<Nullable<Binary>, _>(bytes(&row["token"]))
        .bind::<Nullable<Binary>, _>(bytes(&row["authentication"]))
        .execute(conn)
        .unwrap();
    }
}

fn blob_type(app: &TestApp) -> &'static str {
    match *app.store.conn().unwrap() {
        auth_server::db::DbConnection::Pg(_) => "BYTEA",
        auth_server::db::DbConnection::Sqlite(_) => "BLOB",
    }
}

fn case(name: &str) -> Value {
    fixtures()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case"] == name)
        .unwrap()
        .clone()
}

/// What the import says, the numbers of its report.
const REPORT: &str = "imported: 5 access tokens, 4 refresh tokens
already imported: 0
skipped, expired: 3
skipped, client no longer registered: 1
skipped, user no longer exists: 1
unreadable: 2";

#[on_both_backends]
async fn tokens_spring_issued_keep_working_after_the_import(app: TestApp) {
    // The usual case: this server points at Spring's database, whose token tables its migration
    // set aside as *_spring.
    let blob = blob_type(&app);
    load_spring_tables(&mut app.store.conn().unwrap(), "_spring", blob);
    let url = app.db.url();

    let dry = ok(&url, &["spring", "import-tokens", "--dry-run"]);
    assert!(dry.contains("nothing was written"), "{dry}");
    assert!(dry.contains(REPORT), "{dry}");
    let user_token = case("user_token");
    let access = user_token["access_token"].as_str().unwrap();
    assert_eq!(
        app.check_token(access).await.status,
        400,
        "a dry run writes nothing"
    );

    let report = ok(&url, &["spring", "import-tokens"]);
    assert!(report.contains(REPORT), "{report}");
    // Rows named by Spring's token_id, never by their value.
    assert!(report.contains("the stream ends too early"), "{report}");
    assert!(
        report.contains("not a Java serialization stream"),
        "{report}"
    );
    for case in fixtures()["cases"].as_array().unwrap() {
        for token in ["access_token", "refresh_token"] {
            if let Some(value) = case[token].as_str() {
                assert!(!report.contains(value), "{report}");
            }
        }
    }

    // Every imported access token opens /hi and introspects as Spring's check_token said.
    for name in [
        "user_token",
        "client_token",
        "expiring_refresh",
        "custom_value",
        "client_token_with_refresh",
    ] {
        let expected = case(name);
        let access = expected["access_token"].as_str().unwrap();
        let hi = test_support::answer(
            app.http
                .get(app.url("/hi?name=spring"))
                .bearer_auth(access)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (hi.status, hi.body.as_str()),
            (200, "hi , spring"),
            "{name}"
        );
        let checked = app.check_token(access).await.json();
        assert_eq!(checked["client_id"], expected["client_id"], "{name}");
        assert_eq!(
            checked.get("user_name").cloned().unwrap_or(Value::Null),
            expected["user_name"],
            "{name}"
        );
        assert_eq!(checked["scope"], expected["scope"], "{name}");
        assert_eq!(checked["exp"], expected["access_expires_at"], "{name}");
        if name != "client_token" && name != "client_token_with_refresh" {
            assert_eq!(checked["authorities"], expected["authorities"], "{name}");
        }
    }
    // Refused: expired, unknown client or user, unreadable.
    for name in [
        "access_expired_refresh_live",
        "all_expired",
        "unknown_client",
        "unknown_user",
        "corrupted",
    ] {
        let access = case(name)["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.check_token(&access).await.status, 400, "{name}");
    }
    // Refresh tokens refresh: with an access token alive, and alone (its access token expired).
    for name in [
        "user_token",
        "expiring_refresh",
        "access_expired_refresh_live",
    ] {
        let refresh = case(name)["refresh_token"].as_str().unwrap().to_owned();
        let refreshed = app.refresh(("dev", "11"), &refresh, None).await;
        assert_eq!(refreshed.status, 200, "{name}: {}", refreshed.body);
        let fresh = refreshed.field("access_token");
        assert_eq!(
            app.check_token(&fresh).await.json()["user_name"],
            "admin",
            "{name}"
        );
    }
    let dead = case("all_expired")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.refresh(("dev", "11"), &dead, None).await.status, 400);

    // Revoked here after the import: a later import does not bring it back.
    let revoked = case("client_token")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let revocation = app
        .http
        .post(app.url("/oauth2/revoke"))
        .basic_auth("dev", Some("11"))
        .form(&[("token", revoked.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revocation.status(), 200);

    // Again, right before the switch-over: nothing changes.
    let again = ok(&url, &["spring", "import-tokens"]);
    assert_eq!(app.check_token(&revoked).await.status, 400, "still revoked");
    assert!(
        again.contains("imported: 0 access tokens, 0 refresh tokens\nalready imported: 9"),
        "{again}"
    );
    // Spring's tables are as they were.
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM oauth_access_token_spring")
        .get_result(&mut *app.store.conn().unwrap())
        .unwrap();
    assert_eq!(count.n, 11);
}

#[tokio::test]
async fn from_spring_s_own_database_while_it_still_runs() {
    let app = test_support::sqlite_app_with(|_| {}).await;
    let spring = tempfile::tempdir().unwrap();
    let spring_url = format!("sqlite://{}", spring.path().join("spring.db").display());
    {
        let url = auth_server::db::DatabaseUrl::parse(&spring_url).unwrap();
        let store =
            auth_server::db::Store::open(&url, 1, std::time::Duration::from_secs(5)).unwrap();
        load_spring_tables(&mut store.conn().unwrap(), "", "BLOB");
    }
    let report = ok(
        &app.db.url(),
        &["spring", "import-tokens", "--from", &spring_url],
    );
    assert!(report.contains(REPORT), "{report}");
    let access = case("custom_value")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.check_token(&access).await.status, 200);
    // Pointed at a database without Spring's tables, it says so.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .args(["spring", "import-tokens", "--from", &app.db.url()])
        .env("APP__DATABASE__URL", app.db.url())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no Spring token table"));
}
