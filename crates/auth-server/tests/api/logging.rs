//! One log line per request, and never a secret, password or token in any of them.

use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_auth-server");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_lines_are_logged_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = dir.path().join("server.log");
    let mut server = Command::new(BIN)
        .env(
            "APP__DATABASE__URL",
            format!("sqlite://{}", dir.path().join("a.db").display()),
        )
        .env("APP__SERVER__PORT", port.to_string())
        .env("APP__DEMO__SEED", "true")
        .env("APP__SECURITY__BCRYPT_COST", "4")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        up,
        "server did not start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    let token: serde_json::Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "123456"),
            ("client_id", "dev"),
            ("client_secret", "11"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap().to_owned();
    let refresh = token["refresh_token"].as_str().unwrap().to_owned();
    http.post(format!("{base}/oauth/token"))
        .basic_auth("dev", Some("wrong-secret-xyz"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    http.get(format!("{base}/health?access_token={access}"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    http.post(format!("{base}/oauth/token?password=123456"))
        .send()
        .await
        .unwrap();
    // A graceful stop (SIGTERM, what orchestrators send) writes out every line logged.
    // SAFETY: kill(2) on the child's pid, which we own and have not waited for yet.
    unsafe {
        libc::kill(server.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = server.wait();

    let logged = std::fs::read_to_string(&log).unwrap();
    for secret in [
        "123456",
        "wrong-secret-xyz",
        access.as_str(),
        refresh.as_str(),
        "$2",
    ] {
        assert!(
            !logged.contains(secret),
            "{secret:?} is in the log:\n{logged}"
        );
    }
    let line = logged
        .lines()
        .find(|l| l.contains("POST /oauth/token 200"))
        .unwrap_or_else(|| panic!("no request line in:\n{logged}"));
    assert!(line.contains("ms"), "duration in {line}");
    assert!(logged.contains("GET /health 200"), "{logged}");
    assert!(logged.contains("POST /oauth/token 400"), "{logged}");
}
