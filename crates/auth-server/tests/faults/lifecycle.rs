//! Starting and stopping as an operator's tooling does it: a database that answers only after the
//! server started (a container stack comes up in any order).

use std::time::{Duration, Instant};

use crate::harness::{get, http, ms, one_at_a_time, start_auth_server, Database, Proxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_waits_for_a_database_that_comes_up_after_it() {
    let _turn = one_at_a_time().await;
    let Some(db) = Database::postgres("a database that comes up after the server") else {
        return;
    };
    let proxy = Proxy::start(db.postgres_address());
    proxy.stop_database();
    let started = Instant::now();
    let url = db.url_via(proxy.port);
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
