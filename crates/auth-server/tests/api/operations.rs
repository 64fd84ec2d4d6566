//! What operators watch (docs/operations.md): `/metrics`, `/health/live` and `/health/ready`, and
//! the request id every answer carries.

use test_support::metrics::sample;
use test_support::{on_both_backends, sqlite_app_with, TestApp};

/// The value of `series`, which must be there.
fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[on_both_backends]
async fn metrics_count_requests_tokens_bcrypt_the_pool_and_the_batch_writer(app: TestApp) {
    app.password_grant().await.assert_status(200);
    app.token_basic(("dev", "11"), &[("grant_type", "client_credentials")])
        .await
        .assert_status(200);
    app.get("/no/such/page").await.assert_status(404);

    let text = app.metrics().await;
    for (series, at_least) in [
        (r#"oauth_tokens_issued_total{grant_type="password"}"#, 1.0),
        (
            r#"oauth_tokens_issued_total{grant_type="client_credentials"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{method="POST",route="/oauth/token",status="200"}"#,
            2.0,
        ),
        (
            r#"http_request_duration_seconds_count{method="POST",route="/oauth/token"}"#,
            2.0,
        ),
        // A path that matched no route is counted under one label, whatever the path.
        (
            r#"http_requests_total{method="GET",route="unmatched",status="404"}"#,
            1.0,
        ),
        // The user's password and the client's secret were checked by bcrypt threads.
        (r#"worker_queue_wait_seconds_count{pool="bcrypt"}"#, 1.0),
        (
            r#"worker_queue_wait_seconds_count{pool="bcrypt-clients"}"#,
            1.0,
        ),
        ("db_pool_wait_seconds_count", 1.0),
        // The tokens were committed by the batch writer.
        ("db_writer_batch_size_count", 1.0),
        ("db_writer_commit_seconds_count", 1.0),
    ] {
        let seen = value(&text, series);
        assert!(seen >= at_least, "{series} is {seen}, expected {at_least}+");
    }
    // Nothing is waiting once every answer is in.
    assert_eq!(value(&text, r#"worker_queue_depth{pool="bcrypt"}"#), 0.0);
    let (idle, in_use) = (
        value(&text, r#"db_pool_connections{state="idle"}"#),
        value(&text, r#"db_pool_connections{state="in_use"}"#),
    );
    assert!(idle + in_use >= 1.0, "idle {idle}, in use {in_use}");
    // A separate listener by default: the server's own port does not reveal the figures.
    assert!(app.metrics_port.is_some());
    app.get("/metrics").await.assert_status(404);
}

#[tokio::test]
async fn metrics_can_be_served_on_the_main_port_or_not_at_all() {
    let app = sqlite_app_with(|s| s.metrics.on_main_port = true).await;
    assert_eq!(app.metrics_port, None);
    app.get("/health").await.assert_status(200);
    let text = app.metrics().await;
    let seen = value(
        &text,
        r#"http_requests_total{method="GET",route="/health",status="200"}"#,
    );
    assert!(seen >= 1.0);

    let app = sqlite_app_with(|s| s.metrics.enabled = false).await;
    assert_eq!(app.metrics_port, None);
    app.get("/metrics").await.assert_status(404);
}

#[tokio::test]
async fn sign_in_lockouts_are_counted() {
    let app = sqlite_app_with(|s| s.brute_force.max_failures_per_user = 2).await;
    let before = sample(&app.metrics().await, "oauth_sign_in_lockouts_total").unwrap_or(0.0);
    for _ in 0..2 {
        app.password_grant_as(("dev", "11"), ("admin", "wrong"))
            .await
            .assert_status(400);
    }
    app.password_grant_as(("dev", "11"), ("admin", "wrong"))
        .await
        .assert_status(429);
    let after = value(&app.metrics().await, "oauth_sign_in_lockouts_total");
    assert!(after >= before + 1.0, "{before} then {after}");
}

#[on_both_backends]
async fn ready_means_the_database_answers_with_every_migration_applied(app: TestApp) {
    let live = app.get("/health/live").await;
    live.assert_status(200);
    assert_eq!(live.json(), serde_json::json!({"status": "UP"}));
    let ready = app.get("/health/ready").await;
    ready.assert_status(200);
    assert_eq!(ready.json(), serde_json::json!({"status": "UP"}));

    // A database restored from a backup taken before the latest migration.
    {
        use diesel::connection::SimpleConnection;
        app.store
            .conn()
            .unwrap()
            .batch_execute(
                "DELETE FROM __diesel_schema_migrations WHERE version = \
                 (SELECT MAX(version) FROM __diesel_schema_migrations)",
            )
            .unwrap();
    }
    let ready = app.get("/health/ready").await;
    ready.assert_status(503);
    assert_eq!(
        ready.json(),
        serde_json::json!({"status": "DOWN", "problems": ["1 database migrations are not applied"]})
    );
    // Alive all the same: restarting would not help, and it migrates at start anyway.
    app.get("/health/live").await.assert_status(200);
    app.post_form("/health/ready", &[], None)
        .await
        .assert_status(405);
}

fn is_uuid(id: &str) -> bool {
    uuid_shape(id) && id.len() == 36
}

fn uuid_shape(id: &str) -> bool {
    id.split('-').map(str::len).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

async fn request_id_of(app: &TestApp, offered: Option<&str>) -> String {
    let mut request = app.http.get(app.url("/health"));
    if let Some(offered) = offered {
        request = request.header("X-Request-Id", offered);
    }
    let response = request.send().await.unwrap();
    response
        .headers()
        .get("x-request-id")
        .expect("an X-Request-Id header")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_answer_carries_a_request_id_a_client_cannot_choose() {
    let app = sqlite_app_with(|_| {}).await;
    let (first, second) = (
        request_id_of(&app, None).await,
        request_id_of(&app, None).await,
    );
    assert!(is_uuid(&first), "{first}");
    assert_ne!(first, second);
    // Untrusted by default: a client could otherwise forge ids to muddle the logs.
    let answered = request_id_of(&app, Some("chosen-by-client")).await;
    assert!(is_uuid(&answered), "{answered}");
    // Errors carry one too.
    let response = app.http.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_its_request_id_is_kept_when_it_looks_like_one() {
    let app = sqlite_app_with(|s| s.log.trust_request_id = true).await;
    let proxy_id = "lb-7f3a9c2e.0042:1";
    assert_eq!(request_id_of(&app, Some(proxy_id)).await, proxy_id);
    // Not something that could forge a log line or fill it.
    for bad in ["two words".to_owned(), "x\"}".to_owned(), "a".repeat(129)] {
        let answered = request_id_of(&app, Some(&bad)).await;
        assert!(is_uuid(&answered), "{bad:?} was answered {answered}");
    }
}
