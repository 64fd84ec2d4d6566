//! The servers as child processes, throwaway databases, a TCP proxy that can play a stopped
//! PostgreSQL, and the few HTTP calls every scenario makes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Held for the whole of a scenario. Each one loads both cores; two at once would make each
/// other's timings (and the 10-second recovery limit) a measure of the machine, not the server.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    TURN.get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await
}

pub use test_support::{Backend, TestDb as Database};

/// A throwaway database of `backend`; `None` (the test says it was skipped) for PostgreSQL when
/// `TEST_DATABASE_URL` is not set.
pub fn database(backend: Backend) -> Option<Database> {
    Database::create(backend).map(|(db, _)| db)
}

/// Where PostgreSQL listens, for a proxy to stand in front of it.
pub fn postgres_address(db: &Database) -> SocketAddr {
    let url = url::Url::parse(&db.url()).expect("a database URL");
    let host = url.host_str().unwrap_or("127.0.0.1");
    (host, url.port().unwrap_or(5432))
        .to_socket_addrs()
        .expect("the PostgreSQL host resolves")
        .next()
        .expect("the PostgreSQL host has an address")
}

/// The same PostgreSQL database reached through `127.0.0.1:port`.
pub fn url_via(db: &Database, port: u16) -> String {
    let mut url = url::Url::parse(&db.url()).expect("a database URL");
    url.set_host(Some("127.0.0.1")).expect("a host can be set");
    url.set_port(Some(port)).expect("a port can be set");
    url.to_string()
}

/// A server binary running as a child process, its stderr kept in memory.
pub struct Process {
    name: &'static str,
    child: Child,
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    _cwd: tempfile::TempDir,
}

/// Environment for `auth-server` on `database_url`: the demo data, cheap bcrypt, two workers,
/// and a request log quiet enough to keep in memory under load.
pub fn auth_server_env(database_url: &str, port: u16) -> Vec<(String, String)> {
    [
        ("APP__SERVER__HOST", "127.0.0.1"),
        ("APP__SERVER__PORT", &port.to_string()),
        ("APP__METRICS__PORT", "0"),
        ("APP__SERVER__WORKERS", "2"),
        ("APP__DATABASE__URL", database_url),
        ("APP__DEMO__SEED", "true"),
        ("APP__SECURITY__BCRYPT_COST", "4"),
        ("RUST_LOG", "info,http=warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Starts `auth-server` (port 0: any free one) and waits until `/health` answers 200.
pub async fn start_auth_server(database_url: &str, port: u16, extra: &[(&str, &str)]) -> Process {
    let mut env = auth_server_env(database_url, port);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Process::start(
        "auth-server",
        Path::new(env!("CARGO_BIN_EXE_auth-server")),
        &env,
    )
    .await
}

/// Starts `resource-server` introspecting at the auth server on `auth_port`.
pub async fn start_resource_server(auth_port: u16, extra: &[(&str, &str)]) -> Process {
    let mut env: Vec<(String, String)> = [
        ("APP__SERVER__HOST", "127.0.0.1".to_owned()),
        ("APP__SERVER__PORT", "0".to_owned()),
        ("APP__METRICS__PORT", "0".to_owned()),
        ("APP__SERVER__WORKERS", "2".to_owned()),
        (
            "APP__INTROSPECTION__URL",
            format!("http://127.0.0.1:{auth_port}/oauth/check_token"),
        ),
        ("RUST_LOG", "info,http=warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Process::start("resource-server", &resource_server_binary(), &env).await
}

/// The `resource-server` binary beside this package's `auth-server`. `cargo test --workspace`
/// builds it; `cargo test -p auth-server` does not, so it is built here when older than its
/// sources. (Always asking cargo would rebuild it for nothing: `-p resource-server` resolves other
/// dependency features than the workspace build that made it.)
fn resource_server_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let auth = Path::new(env!("CARGO_BIN_EXE_auth-server"));
            let binary = auth.with_file_name("resource-server");
            if is_fresh(&binary) {
                return binary;
            }
            let profile_dir = auth.parent().expect("the binary is in a folder");
            let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            build.args(["build", "-p", "resource-server", "--bin", "resource-server"]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                build.arg("--release");
            }
            if let Some(target) = profile_dir.parent() {
                build.env("CARGO_TARGET_DIR", target);
            }
            match build.status() {
                Ok(status) if status.success() => {}
                outcome if binary.exists() => {
                    eprintln!(
                        "cannot rebuild resource-server ({outcome:?}); using the one built before"
                    )
                }
                outcome => panic!("resource-server is not built and cannot be: {outcome:?}"),
            }
            binary
        })
        .clone()
}

/// Whether `binary` was built after the last change to what it is built from.
fn is_fresh(binary: &Path) -> bool {
    let Ok(built) = std::fs::metadata(binary).and_then(|m| m.modified()) else {
        return false;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        "crates/resource-server/src",
        "crates/resource-server/Cargo.toml",
        "crates/shared/src",
        "crates/shared/Cargo.toml",
        "config/resource-server.toml",
        "Cargo.toml",
        "Cargo.lock",
    ]
    .iter()
    .all(|source| newest(&root.join(source)).is_none_or(|changed| changed <= built))
}

fn newest(path: &Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|entry| newest(&entry.ok()?.path()))
        .max()
}

impl Process {
    async fn start(name: &'static str, program: &Path, env: &[(String, String)]) -> Process {
        // A throwaway working directory: no config/*.toml of a developer's checkout applies.
        let cwd = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(program);
        command
            .current_dir(cwd.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars() {
            if key.starts_with("APP__") || key == "DATABASE_URL" || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        // SAFETY: both calls are async-signal-safe and touch only the child's own state.
        unsafe {
            command.pre_exec(|| {
                // An ignored signal stays ignored across exec: past RLIMIT_FSIZE a write then fails
                // with EFBIG, as on a full disk, instead of killing the process (see `limit_file_size`).
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                // No server outlives a test runner that was itself killed.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = listening_port(&line) {
                    let _ = port_tx.send(port);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let started = Instant::now();
        let port = loop {
            if let Ok(port) = port_rx.try_recv() {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!(
                    "{name} exited at start ({status}):\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{name} did not start listening within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let process = Process {
            name,
            child,
            port,
            log,
            _cwd: cwd,
        };
        let http = http();
        loop {
            if let Ok(reply) = get(&http, &process.url("/health"), None).await {
                if reply.status == 200 {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{name} /health did not answer 200 within 60 s:\n{}",
                process.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGKILL, and wait until the process is gone.
    pub fn kill_9(&mut self) {
        // std's `Child::kill` is SIGKILL on Unix.
        self.child.kill().expect("SIGKILL delivered");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, as `docker stop`, systemd and Kubernetes send it; does not wait.
    pub fn terminate(&self) {
        // SAFETY: a plain system call sending a signal to our own child.
        let sent = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM: {}", std::io::Error::last_os_error());
    }

    /// Waits up to `patience` for the process to exit; its status, or `None` if it still runs.
    pub async fn exited_within(&mut self, patience: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if started.elapsed() > patience {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(lines)..].join("\n")
    }

    /// Lines of the process's stderr containing `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    /// The distinct warnings and errors logged (timestamps left out), most frequent first.
    pub fn complaints(&self) -> Vec<(usize, String)> {
        let mut counts = std::collections::HashMap::<String, usize>::new();
        for line in self.log.lock().unwrap().iter() {
            let Some((_, rest)) = line.split_once(']') else {
                continue;
            };
            if line.contains(" WARN ") || line.contains(" ERROR ") {
                *counts.entry(rest.trim().to_owned()).or_default() += 1;
            }
        }
        let mut sorted: Vec<(usize, String)> = counts.into_iter().map(|(l, n)| (n, l)).collect();
        sorted.sort_by(|a, b| b.cmp(a));
        sorted
    }

    /// Fails the test if the process died or any thread of it panicked.
    pub fn assert_alive_without_panic(&mut self) {
        let panics = self.log_lines("panicked");
        assert!(
            panics.is_empty(),
            "{} panicked:\n{}",
            self.name,
            panics.join("\n")
        );
        assert!(
            self.is_running(),
            "{} is not running:\n{}",
            self.name,
            self.log_tail(30)
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of `… listening on http://127.0.0.1:PORT…`.
fn listening_port(line: &str) -> Option<u16> {
    let (_, after) = line.split_once("listening on ")?;
    let (_, address) = after.split_once("://")?;
    let (_, rest) = address.split_once(':')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Makes every file write of process `pid` at or past `bytes` fail with EFBIG (`None`: no limit):
/// to the server, its SQLite files have become unwritable, as on a full disk or a read-only
/// volume, while reads go on. Permissions cannot do this here: the tests run as root.
pub fn limit_file_size(pid: i32, bytes: Option<u64>) {
    let limit = libc::rlimit {
        rlim_cur: bytes.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain system call on valid pointers.
    let done = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &limit, std::ptr::null_mut()) };
    assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// A TCP proxy in front of PostgreSQL that can play the database stopping and coming back.
pub struct Proxy {
    pub port: u16,
    shared: Arc<ProxyShared>,
}

struct ProxyShared {
    upstream: SocketAddr,
    open: AtomicBool,
    listening: AtomicBool,
    stop: AtomicBool,
    /// (client side, database side) of every live connection.
    links: Mutex<Vec<(TcpStream, TcpStream)>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("bound").port();
        let shared = Arc::new(ProxyShared {
            upstream,
            open: AtomicBool::new(true),
            listening: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            links: Mutex::new(Vec::new()),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || accept(listener, port, &accepting));
        Proxy { port, shared }
    }

    /// What a server stopping looks like from outside: the port refuses connections, and every
    /// session ends. Each session is ended as PostgreSQL ends it, by closing its side: whatever
    /// the database already answered (a COMMIT's acknowledgement included) still reaches the
    /// client, and whatever it had not yet received is never executed.
    ///
    /// `FAULTS_PARTITION=1` cuts both directions at once instead: a network partition, in which no
    /// client can tell whether its last COMMIT happened. It shows a known limit rather than a
    /// regression: a refresh-token rotation committed just before the cut is answered 503, the
    /// client keeps the old token, and presenting it again revokes the grant as a replay.
    pub fn stop_database(&self) {
        let partition = std::env::var_os("FAULTS_PARTITION").is_some_and(|v| v == "1");
        self.shared.open.store(false, Ordering::SeqCst);
        let ended: Vec<_> = std::mem::take(&mut *self.shared.links.lock().unwrap());
        for (client, database) in &ended {
            let _ = database.shutdown(Shutdown::Write);
            if partition {
                let _ = client.shutdown(Shutdown::Both);
                let _ = database.shutdown(Shutdown::Both);
            }
        }
        wait_for(
            || !self.shared.listening.load(Ordering::SeqCst),
            "proxy closes",
        );
        // A session stuck behind a lock the database has not yet given up ends for good later.
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(2));
            for (client, database) in ended {
                let _ = client.shutdown(Shutdown::Both);
                let _ = database.shutdown(Shutdown::Both);
            }
        });
    }

    pub fn start_database(&self) {
        self.shared.open.store(true, Ordering::SeqCst);
        wait_for(
            || self.shared.listening.load(Ordering::SeqCst),
            "proxy listens again",
        );
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for (client, database) in self.shared.links.lock().unwrap().drain(..) {
            let _ = client.shutdown(Shutdown::Both);
            let _ = database.shutdown(Shutdown::Both);
        }
    }
}

fn wait_for(done: impl Fn() -> bool, what: &str) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: timed out"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn accept(first: TcpListener, port: u16, shared: &ProxyShared) {
    let mut listener = Some(first);
    while !shared.stop.load(Ordering::SeqCst) {
        if !shared.open.load(Ordering::SeqCst) {
            // Closed, not merely ignored: connecting gets "connection refused", as from a stopped
            // server, rather than a wait.
            listener = None;
            shared.listening.store(false, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let Some(open) = &listener else {
            // SO_REUSEADDR (std sets it) lets the port be bound again despite closed connections.
            if let Ok(again) = TcpListener::bind(("127.0.0.1", port)) {
                again.set_nonblocking(true).expect("non-blocking");
                listener = Some(again);
                shared.listening.store(true, Ordering::SeqCst);
            } else {
                std::thread::sleep(Duration::from_millis(10));
            }
            continue;
        };
        match open.accept() {
            Ok((client, _)) => link(client, shared),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn link(client: TcpStream, shared: &ProxyShared) {
    let Ok(database) = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(2)) else {
        return;
    };
    let _ = client.set_nonblocking(false);
    let _ = client.set_nodelay(true);
    let _ = database.set_nodelay(true);
    let mut links = shared.links.lock().unwrap();
    // Checked under the lock `stop_database` drains: a connection accepted just before the stop
    // is either ended with the others or never served.
    if !shared.open.load(Ordering::SeqCst) {
        return;
    }
    let (Ok(c1), Ok(c2), Ok(d1), Ok(d2)) = (
        client.try_clone(),
        client.try_clone(),
        database.try_clone(),
        database.try_clone(),
    ) else {
        return;
    };
    std::thread::spawn(move || pump(c1, d1));
    std::thread::spawn(move || pump(d2, c2));
    links.push((client, database));
}

/// Copies one direction until it ends, then passes the end on.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// One answer, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.json()?.get(name)?.as_str().map(str::to_owned)
    }

    /// 503 with a JSON `temporarily_unavailable` body: the one right answer while a dependency is
    /// down.
    pub fn is_unavailable_json(&self) -> bool {
        self.status == 503
            && self.content_type.starts_with("application/json")
            && self.field("error").as_deref() == Some("temporarily_unavailable")
    }
}

/// `Err`: no complete answer (connection refused or reset, body cut short).
pub async fn send(request: reqwest::RequestBuilder) -> Result<Reply, String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok(Reply {
        status,
        content_type,
        body,
    })
}

pub async fn get(http: &reqwest::Client, url: &str, bearer: Option<&str>) -> Result<Reply, String> {
    let mut request = http.get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    send(request).await
}

pub const CLIENT: (&str, &str) = ("dev", "11");

/// The demo password grant: admin / 123456 through client dev (form authentication).
pub fn password_form() -> Vec<(&'static str, String)> {
    [
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", "123456"),
        ("client_id", CLIENT.0),
        ("client_secret", CLIENT.1),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// Access tokens that `/oauth2/introspect` does not call active, each with the answer given.
pub async fn not_active(http: &reqwest::Client, auth: &Process, tokens: &[String]) -> Vec<String> {
    use futures_util::StreamExt;
    let url = auth.url("/oauth2/introspect");
    futures_util::stream::iter(tokens.iter().cloned())
        .map(|token| {
            let request = http
                .post(&url)
                .basic_auth("resource", Some("resource-secret"))
                .form(&[("token", token.as_str())]);
            async move {
                match send(request).await {
                    Ok(reply)
                        if reply.status == 200
                            && reply.json().and_then(|j| j["active"].as_bool()) == Some(true) =>
                    {
                        None
                    }
                    answer => Some(format!("{}…: {answer:?}", &token[..8.min(token.len())])),
                }
            }
        })
        .buffer_unordered(8)
        .filter_map(|failed| async move { failed })
        .collect()
        .await
}

/// Milliseconds, for the printed observations.
pub fn ms(duration: Duration) -> u128 {
    duration.as_millis()
}
