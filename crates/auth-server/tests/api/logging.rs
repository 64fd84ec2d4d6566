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

/// The auth server as a process with its log going to a file, started with `env`.
struct Logged {
    server: std::process::Child,
    base: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Logged {
    async fn start(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("server.log");
        let server = Command::new(BIN)
            .env(
                "APP__DATABASE__URL",
                format!("sqlite://{}", dir.path().join("a.db").display()),
            )
            .env("APP__SERVER__PORT", port.to_string())
            .env("APP__METRICS__PORT", "0")
            .env("APP__DEMO__SEED", "true")
            .env("APP__SECURITY__BCRYPT_COST", "4")
            .env("RUST_LOG", "trace")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let logged = Self {
            server,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http
                .get(format!("{}/health", logged.base))
                .send()
                .await
                .is_ok()
            {
                return logged;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not start: {}", logged.stop());
    }

    /// Stops it as orchestrators do (SIGTERM: every line logged is written out) and reads the log.
    fn stop(mut self) -> String {
        // SAFETY: kill(2) on the child's pid, which we own and have not waited for yet.
        unsafe {
            libc::kill(self.server.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.server.wait();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

/// Requests that carry secrets every way a careless client sends them: the token and secrets
/// that went by, to look for in the log.
async fn requests_with_secrets(base: &str) -> Vec<String> {
    let http = reqwest::Client::new();
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
    vec![
        "123456".to_owned(),
        "wrong-secret-xyz".to_owned(),
        access,
        refresh,
        "$2".to_owned(),
    ]
}

fn assert_no_secret(logged: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !logged.contains(secret.as_str()),
            "{secret:?} is in the log:\n{logged}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_lines_are_logged_without_secrets() {
    let server = Logged::start(&[]).await;
    let secrets = requests_with_secrets(&server.base).await;
    let logged = server.stop();
    assert_no_secret(&logged, &secrets);
    let line = logged
        .lines()
        .find(|l| l.contains("POST /oauth/token 200"))
        .unwrap_or_else(|| panic!("no request line in:\n{logged}"));
    assert!(line.contains("ms"), "duration in {line}");
    assert!(logged.contains("GET /health 200"), "{logged}");
    assert!(logged.contains("POST /oauth/token 400"), "{logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_json_every_line_is_an_object_and_request_lines_carry_the_request_id() {
    let server = Logged::start(&[("APP__LOG__FORMAT", "json")]).await;
    let secrets = requests_with_secrets(&server.base).await;
    let answered = reqwest::get(format!("{}/health/live", server.base))
        .await
        .unwrap();
    let request_id = answered.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let logged = server.stop();
    assert_no_secret(&logged, &secrets);

    let lines: Vec<serde_json::Value> = logged
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    for line in &lines {
        for field in ["time", "level", "target"] {
            assert!(line[field].is_string(), "no {field} in {line}");
        }
    }
    let request = lines
        .iter()
        .find(|l| l["target"] == "http" && l["path"] == "/health/live")
        .unwrap_or_else(|| panic!("no request line in:\n{logged}"));
    assert_eq!(request["request_id"], request_id.as_str());
    assert_eq!(request["method"], "GET");
    assert_eq!(request["status"], 200);
    assert!(request["duration_ms"].as_f64().is_some(), "{request}");
    assert_eq!(request["peer"], "127.0.0.1");
    // Other records keep their message (the start-up line here).
    assert!(
        lines.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("auth-server listening on"))),
        "{logged}"
    );
}
