//! Starting and stopping as an operator's tooling does it: a database that answers only after the
//! server started (a container stack comes up in any order), and SIGTERM under load.

use std::time::{Duration, Instant};

use test_support::on_both_backends;

use crate::harness::{
    database, get, http, ms, not_active, one_at_a_time, postgres_address, start_auth_server,
    url_via, Backend, Proxy,
};
use crate::load::Load;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_waits_for_a_database_that_comes_up_after_it() {
    let _turn = one_at_a_time().await;
    let Some(db) = database(Backend::Postgres) else {
        return;
    };
    let proxy = Proxy::start(postgres_address(&db));
    proxy.stop_database();
    let started = Instant::now();
    let url = url_via(&db, proxy.port);
    let (auth, opened_at) = tokio::join!(
        start_auth_server(&url, 0, &[("APP__DATABASE__CONNECT_TIMEOUT_MS", "300")]),
        async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            proxy.start_database();
            Instant::now()
        }
    );
    let waited = auth.log_lines("does not answer yet");
    println!(
        "the database answered {} ms after the server started; the server logged {} attempts \
         and served /health {} ms after that",
        ms(opened_at - started),
        waited.len(),
        ms(Instant::now().saturating_duration_since(opened_at)),
    );
    assert!(!waited.is_empty(), "{}", auth.log_tail(20));
    let health = get(&http(), &auth.url("/health"), None).await.unwrap();
    assert_eq!(health.status, 200, "{}", health.body);
}

/// A graceful stop under a token-issuing load: the process exits 0 within a few seconds, having
/// answered what it accepted, and every token it answered 200 validates after a restart (the batch
/// writer committed before the process went).
#[on_both_backends]
async fn sigterm_under_load_finishes_the_requests_in_flight_and_loses_no_token(backend: Backend) {
    let _turn = one_at_a_time().await;
    let Some(db) = database(backend) else {
        return;
    };
    let http = http();
    let mut auth = start_auth_server(&db.url(), 0, &[]).await;
    let load = Load::issuing(&auth, 300).await;
    auth.terminate();
    let signalled = Instant::now();
    let status = auth.exited_within(Duration::from_secs(15)).await;
    let stopped_in = signalled.elapsed();
    let finished = load.stop().await;

    let mut restarted = start_auth_server(&db.url(), 0, &[]).await;
    let tokens = finished.access_tokens();
    let unstored = not_active(&http, &restarted, &tokens).await;
    let answered_late =
        finished.count(|o| o.sent < signalled && o.received > signalled && o.is_ok());
    let cut_off = finished.count(|o| o.sent < signalled && o.reply.is_err());
    println!(
        "SIGTERM under load on {}: answers {}\n  exited {status:?} {} ms after the signal; {} \
         requests sent before it were answered after it, {} cut off\n  {} access tokens \
         answered 200: {} not active after a restart",
        db.label(),
        finished.tally(),
        ms(stopped_in),
        answered_late,
        cut_off,
        tokens.len(),
        unstored.len(),
    );
    let status = status
        .unwrap_or_else(|| panic!("still running 15 s after SIGTERM:\n{}", auth.log_tail(20)));
    assert!(status.success(), "{status:?}:\n{}", auth.log_tail(20));
    for said in ["SIGTERM received", "auth-server stopped"] {
        assert!(
            !auth.log_lines(said).is_empty(),
            "the log says {said:?}:\n{}",
            auth.log_tail(20)
        );
    }
    assert!(
        auth.log_lines("panicked").is_empty(),
        "{}",
        auth.log_tail(20)
    );
    assert!(tokens.len() >= 50, "too little load: {}", finished.tally());
    assert!(
        unstored.is_empty(),
        "{} of {} tokens answered 200 are lost:\n{}",
        unstored.len(),
        tokens.len(),
        unstored[..unstored.len().min(10)].join("\n")
    );
    restarted.assert_alive_without_panic();
}
