//! docs/security.md, item 22: the database goes away under a token-issuing load and comes back. While it
//! is gone every answer is 200 or a 503 `temporarily_unavailable` JSON (never a 500, never an
//! `invalid_client` or `invalid_grant` that is not true, never a panic); every token answered 200,
//! at any moment, is stored; no refresh token is lost; service resumes within 10 s by itself.

use std::time::{Duration, Instant};

use crate::harness::{
    database, get, http, limit_file_size, ms, not_active, one_at_a_time, password_form,
    postgres_address, send, start_auth_server, url_via, Backend, Process, Proxy, CLIENT,
};
use crate::load::{Call, Load, Mix};

const WARM_UP: Duration = Duration::from_millis(1000);
const OUTAGE: Duration = Duration::from_secs(3);
const RECOVERY_LIMIT: Duration = Duration::from_secs(10);
const CALLS: [Call; 4] = [
    Call::ClientCredentials,
    Call::Password,
    Call::RefreshToken,
    Call::CheckToken,
];

const OUTAGE_ENV: [(&str, &str); 3] = [
    // A refresh token lost to the outage then shows: the client's latest one no longer refreshes.
    ("APP__TOKENS__ROTATE_REFRESH_TOKENS", "true"),
    // Shorter than the outage, so the client registration must be read again while the database
    // is gone: that read failing must be a 503, not "Bad client credentials".
    ("APP__SECURITY__CLIENT_CACHE_SECONDS", "1"),
    // How long a request waits for a connection before its 503; the default 3 s only slows the test.
    ("APP__DATABASE__CONNECT_TIMEOUT_MS", "1000"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_22_postgres_stopped_under_load_answers_503_json_loses_nothing_and_recovers() {
    let _turn = one_at_a_time().await;
    let Some(db) = database(Backend::Postgres) else {
        return;
    };
    let proxy = Proxy::start(postgres_address(&db));
    let mut auth = start_auth_server(&url_via(&db, proxy.port), 0, &OUTAGE_ENV).await;
    outage_under_load(
        "PostgreSQL stopped",
        &mut auth,
        || proxy.stop_database(),
        || proxy.start_database(),
        true,
    )
    .await;
}

/// Running as root, `chmod` cannot make a file unwritable; the kernel's file-size limit can: with
/// RLIMIT_FSIZE at 0 every write of the server to its database, WAL or journal fails with EFBIG (the
/// server ignores SIGXFSZ), exactly where a full disk or a read-only volume would fail it, while
/// reads go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_22_sqlite_unwritable_under_load_answers_503_json_loses_nothing_and_recovers() {
    let _turn = one_at_a_time().await;
    let db = database(Backend::Sqlite).expect("SQLite is always there");
    let mut auth = start_auth_server(&db.url(), 0, &OUTAGE_ENV).await;
    let pid = auth.pid();
    outage_under_load(
        "SQLite file unwritable",
        &mut auth,
        || limit_file_size(pid, Some(0)),
        || limit_file_size(pid, None),
        false,
    )
    .await;
}

/// Signed milliseconds from `origin` to `at`, for messages.
fn offset(origin: Instant, at: Instant) -> String {
    if at >= origin {
        format!("+{} ms", ms(at - origin))
    } else {
        format!("-{} ms", ms(origin - at))
    }
}

async fn outage_under_load(
    fault: &str,
    auth: &mut Process,
    begin: impl Fn(),
    end: impl Fn(),
    health_goes_down: bool,
) {
    let http = http();
    // Each refresh worker owns one grant, so that a lost refresh token shows as its worker's; the
    // check_token worker asks about the first grant's access token, which stays good throughout.
    let mut grants = Vec::new();
    for _ in 0..3 {
        let reply = send(http.post(auth.url("/oauth/token")).form(&password_form()))
            .await
            .expect("answered");
        match (reply.field("refresh_token"), reply.field("access_token")) {
            (Some(refresh), Some(access)) => grants.push((refresh, access)),
            _ => panic!("tokens: {reply:?}"),
        }
    }
    let checked_tokens = vec![grants[0].1.clone()];
    let refresh_tokens = grants.into_iter().map(|(refresh, _)| refresh).collect();
    let load = Load::start(
        auth,
        Mix {
            client_credentials: 2,
            password: 2,
            refresh_tokens,
            checked_tokens,
        },
    );
    tokio::time::sleep(WARM_UP).await;
    assert!(
        load.successes() > 0,
        "nothing issued before the fault:\n{}",
        auth.log_tail(20)
    );

    begin();
    let began = Instant::now();
    tokio::time::sleep(OUTAGE / 2).await;
    let health = get(&http, &auth.url("/health"), None).await;
    let (live, ready) = (
        get(&http, &auth.url("/health/live"), None).await,
        get(&http, &auth.url("/health/ready"), None).await,
    );
    tokio::time::sleep(OUTAGE.saturating_sub(began.elapsed())).await;
    end();
    let ended = Instant::now();

    let recovered = loop {
        let first = load.first_successes_since(ended);
        if first.len() == CALLS.len() || ended.elapsed() > RECOVERY_LIMIT {
            break first;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Service as usual for a while after recovery.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let finished = load.stop().await;

    let mut wrong = Vec::new();
    for outcome in &finished.outcomes {
        let call = outcome.call;
        let when = offset(began, outcome.sent);
        match &outcome.reply {
            Err(error) => wrong.push(format!("{call} sent {when}: no answer: {error}")),
            Ok(reply) if reply.status == 200 => {
                let whole = match call {
                    Call::ClientCredentials => reply.field("access_token").is_some(),
                    Call::Password | Call::RefreshToken => {
                        reply.field("access_token").is_some()
                            && reply.field("refresh_token").is_some()
                    }
                    // A good token is never called inactive, least of all for want of a database.
                    Call::CheckToken => {
                        reply.json().and_then(|j| j["active"].as_bool()) == Some(true)
                    }
                };
                if !whole {
                    wrong.push(format!("{call} sent {when}: 200 {}", reply.body));
                }
                // Nothing can be stored while the database is gone, so nothing may be issued.
                if call != Call::CheckToken
                    && outcome.sent >= began + Duration::from_millis(200)
                    && outcome.received <= ended
                {
                    wrong.push(format!(
                        "{call} sent {when}: 200 while the database was gone"
                    ));
                }
            }
            Ok(reply) if reply.is_unavailable_json() => {}
            Ok(reply) => wrong.push(format!(
                "{call} sent {when}: {} {}",
                reply.status, reply.body
            )),
        }
    }
    let unavailable: Vec<_> = finished
        .outcomes
        .iter()
        .filter(|o| matches!(&o.reply, Ok(r) if r.status == 503))
        .collect();
    let slowest_503 = unavailable
        .iter()
        .map(|o| o.received - o.sent)
        .max()
        .unwrap_or_default();

    let tokens = finished.access_tokens();
    let unstored = not_active(&http, auth, &tokens).await;
    let mut lost = Vec::new();
    for token in &finished.refresh_tokens {
        let reply = send(
            http.post(auth.url("/oauth/token"))
                .basic_auth(CLIENT.0, Some(CLIENT.1))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", token)]),
        )
        .await;
        if !matches!(&reply, Ok(r) if r.status == 200) {
            lost.push(format!("{reply:?}"));
        }
    }
    let health_after = get(&http, &auth.url("/health"), None).await;
    let ready_after = get(&http, &auth.url("/health/ready"), None).await;

    let recovery: Vec<String> = CALLS
        .iter()
        .map(|call| match recovered.get(call) {
            Some(at) => format!("{call} {} ms", ms(*at - ended)),
            None => format!("{call} not within {} s", RECOVERY_LIMIT.as_secs()),
        })
        .collect();
    println!(
        "item 22, {fault} for {} ms under load (2 client_credentials, 2 password, 3 rotating \
         refresh_token, 1 check_token workers):\n  answers: {}\n  503s answered within {} ms each; /health \
         during the outage: {}\n  first 200 after the database came back: {}\n  {} access tokens \
         answered 200: {} not active at /oauth2/introspect afterwards\n  {} refresh tokens (the \
         latest of each rotating chain): {} no longer refresh\n  server warnings and errors \
         logged: {}",
        ms(ended - began),
        finished.tally(),
        ms(slowest_503),
        match &health {
            Ok(reply) => format!("{} {}", reply.status, reply.body),
            Err(error) => error.clone(),
        },
        recovery.join(", "),
        tokens.len(),
        unstored.len(),
        finished.refresh_tokens.len(),
        lost.len(),
        auth.log_lines(" WARN ").len() + auth.log_lines(" ERROR ").len(),
    );
    for (n, line) in auth.complaints().iter().take(8) {
        println!("    {n}× {line}");
    }

    auth.assert_alive_without_panic();
    assert!(
        wrong.is_empty(),
        "{} wrong answers, the first ones:\n{}\nserver log:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(20)].join("\n"),
        auth.log_tail(40)
    );
    assert!(
        !unavailable.is_empty(),
        "the fault was not felt: no 503 at all ({})",
        finished.tally()
    );
    assert!(
        recovered.len() == CALLS.len(),
        "no recovery within {} s of the database's return: {}\n{}",
        RECOVERY_LIMIT.as_secs(),
        recovery.join(", "),
        auth.log_tail(40)
    );
    assert!(
        unstored.is_empty(),
        "{} of {} tokens answered 200 are not active:\n{}",
        unstored.len(),
        tokens.len(),
        unstored[..unstored.len().min(10)].join("\n")
    );
    assert_eq!(finished.refresh_tokens.len(), 3);
    assert!(lost.is_empty(), "refresh tokens lost:\n{}", lost.join("\n"));
    if health_goes_down {
        let health = health.expect("/health answered during the outage");
        assert_eq!(
            (health.status, health.body.as_str()),
            (503, r#"{"status":"DOWN"}"#)
        );
        // Not ready (take it out of the load balancer), but alive (do not restart it).
        let ready = ready.expect("/health/ready answered during the outage");
        assert_eq!(
            (ready.status, ready.body.as_str()),
            (
                503,
                r#"{"problems":["the database does not answer"],"status":"DOWN"}"#
            )
        );
    }
    let live = live.expect("/health/live answered during the outage");
    assert_eq!(live.status, 200, "{}", live.body);
    let ready_after = ready_after.expect("/health/ready answered after recovery");
    assert_eq!(ready_after.status, 200, "{}", ready_after.body);
    let health_after = health_after.expect("/health answered after recovery");
    assert_eq!(
        (health_after.status, health_after.body.as_str()),
        (200, r#"{"status":"UP"}"#)
    );
}
