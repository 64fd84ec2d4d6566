//! Logging for both servers: env_logger, one line per request with its request id, in text or
//! JSON (`log.format`), written off the request path.

use std::io::{BufWriter, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::OnceLock;
use std::time::Duration;

use std::net::IpAddr;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use serde::Deserialize;

enum Line {
    Text(Vec<u8>),
    Flush(SyncSender<()>),
}

/// Hands each formatted line to a thread that writes to stderr in batches every 20 ms, so a request
/// never waits on a `write` system call. A full queue (64k lines) makes loggers wait rather than
/// drop lines; a crash loses at most the last 20 ms of lines.
struct BackgroundStderr {
    lines: SyncSender<Line>,
}

impl Write for BackgroundStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lines
            .send(Line::Text(buf.to_vec()))
            .map_err(|_| std::io::Error::other("the log writer stopped"))?;
        Ok(buf.len())
    }

    /// env_logger flushes after every record; waiting here would make every request wait for the
    /// writer. [`flush`] is the real thing, for exits.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LINES: OnceLock<SyncSender<Line>> = OnceLock::new();

/// Waits until every line logged so far is on stderr. Call it before the process exits.
pub fn flush() {
    if let Some(lines) = LINES.get() {
        let (done, flushed) = sync_channel(1);
        if lines.send(Line::Flush(done)).is_ok() {
            let _ = flushed.recv_timeout(Duration::from_secs(2));
        }
    }
}

/// How often the writer wakes to drain the queue. It never waits *on* the queue: a logging thread
/// that had to wake it would pay a futex call and a context switch per line, more than the write it
/// saves.
const DRAIN_EVERY: Duration = Duration::from_millis(20);

fn write_lines(lines: Receiver<Line>) {
    let mut stderr = BufWriter::with_capacity(64 * 1024, std::io::stderr());
    loop {
        std::thread::sleep(DRAIN_EVERY);
        loop {
            match lines.try_recv() {
                Ok(Line::Text(bytes)) => {
                    let _ = stderr.write_all(&bytes);
                }
                Ok(Line::Flush(done)) => {
                    let _ = stderr.flush();
                    let _ = done.send(());
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = stderr.flush();
                    return;
                }
            }
        }
        let _ = stderr.flush();
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    /// Take the request id from an incoming `X-Request-Id` (set it only behind a proxy that sets
    /// or strips that header); otherwise every request gets a new one.
    pub trust_request_id: bool,
}

/// `log.format`: env_logger's text lines, or one JSON object per line for log collectors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// `RUST_LOG` decides the levels; `info` by default. Call [`flush`] before exiting. Only the
/// first call in a process counts.
pub fn init(format: LogFormat) {
    if FORMAT.set(format).is_err() {
        return;
    }
    let (lines, waiting) = sync_channel(64 * 1024);
    let started = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(waiting));
    let mut builder = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,actix_server=warn"),
    );
    if format == LogFormat::Json {
        builder.format(|out, record| {
            let mut line = Vec::with_capacity(128);
            write_json_record(&mut line, record);
            out.write_all(&line)
        });
    }
    if started.is_ok() {
        let _ = LINES.set(lines.clone());
        builder
            .target(env_logger::Target::Pipe(Box::new(BackgroundStderr {
                lines,
            })))
            .write_style(env_logger::WriteStyle::Never);
    }
    let _ = builder.try_init();
}

/// A log record as one JSON line: time, level, target, the id of the request it was logged
/// during (when there is one), message.
fn write_json_record(line: &mut Vec<u8>, record: &log::Record<'_>) {
    let _ = write!(line, "{{\"time\":\"{}\",\"level\":", json_time());
    let _ = serde_json::to_writer(&mut *line, record.level().as_str());
    line.extend_from_slice(b",\"target\":");
    let _ = serde_json::to_writer(&mut *line, record.target());
    if let Ok(Some(id)) = REQUEST_ID.try_with(|id| id.clone()) {
        line.extend_from_slice(b",\"request_id\":");
        let _ = serde_json::to_writer(&mut *line, id.as_str());
    }
    line.extend_from_slice(b",\"message\":");
    let message = record.args().to_string();
    let _ = serde_json::to_writer(&mut *line, &message);
    line.extend_from_slice(b"}\n");
}

fn json_time() -> impl std::fmt::Display {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
}

tokio::task_local! {
    /// The id of the request being handled, for the JSON records logged while handling it.
    static REQUEST_ID: Option<RequestId>;
}

/// `X-Request-Id`: one per request, sent back in the answer and written in its log line.
#[derive(Clone)]
pub struct RequestId(String);

impl RequestId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The proxy's id when it is trusted and looks like an id (at most 128 characters of
    /// letters, digits and `-._:`, so that it can be logged as is), else a fresh random one.
    fn of(request: &ServiceRequest, trusted: bool) -> Self {
        let offered = trusted
            .then(|| request.headers().get(REQUEST_ID_HEADER))
            .flatten()
            .and_then(|value| value.to_str().ok())
            .filter(|id| {
                (1..=128).contains(&id.len())
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
            });
        match offered {
            Some(id) => Self(id.to_owned()),
            None => Self(
                uuid::Uuid::from_u128(rand::random::<u128>())
                    .hyphenated()
                    .to_string(),
            ),
        }
    }
}

const REQUEST_ID_HEADER: &str = "x-request-id";

/// What [`observe`] needs from the settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observing {
    pub trust_request_id: bool,
}

/// Middleware around every request: gives it a request id (sent back in `X-Request-Id`), counts it
/// in the metrics by route and status, and writes its log line, target `http`: in text
/// `POST /oauth/token 200 3.120ms 127.0.0.1 <request id>` (method, path, status, duration, peer, id),
/// or the same fields as one JSON object.
///
/// The path is logged without its query string, and no header or body is, so a token or password
/// sent by a careless client (`?access_token=…`) never lands in a log line. (One small function
/// rather than actix's `Logger`, which parses a format and clones it for every request.)
pub async fn observe(
    observing: Observing,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = RequestId::of(&request, observing.trust_request_id);
    let method = request.method().clone();
    let logging = log::log_enabled!(target: "http", log::Level::Info);
    // The path is copied only when a line will be written.
    let path = logging.then(|| request.path().to_owned());
    let peer = request.peer_addr().map(|a| a.ip());
    let mut response = REQUEST_ID.scope(Some(id.clone()), next.call(request)).await;
    let elapsed = started.elapsed();
    let status = match &mut response {
        Ok(response) => {
            if let Ok(value) = HeaderValue::from_str(id.as_str()) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            let route = response.request().match_pattern();
            crate::metrics::record_request(
                crate::metrics::route_label(route.as_deref()),
                &method,
                response.status().as_u16(),
                elapsed,
            );
            response.status().as_u16()
        }
        Err(error) => {
            let status = error.as_response_error().status_code().as_u16();
            crate::metrics::record_request("unmatched", &method, status, elapsed);
            status
        }
    };
    if let Some(path) = path {
        let line = match format() {
            LogFormat::Text => text_line(&method, &path, status, elapsed, peer, &id),
            LogFormat::Json => json_line(&method, &path, status, elapsed, peer, &id),
        };
        request_line(line);
    }
    response
}

/// Milliseconds with three decimals from integer microseconds: formatting an `f64` with a
/// precision takes the slow exact path of the float formatter, on every request.
fn millis(elapsed: Duration) -> impl std::fmt::Display {
    let micros = elapsed.as_micros();
    let (millis, micros) = (micros / 1000, micros % 1000);
    format!("{millis}.{micros:03}")
}

fn text_line(
    method: &Method,
    path: &str,
    status: u16,
    elapsed: Duration,
    peer: Option<IpAddr>,
    id: &RequestId,
) -> Vec<u8> {
    let mut line = Vec::with_capacity(160);
    write_prefix(&mut line);
    let _ = write!(line, "{method} {path} {status} {}ms ", millis(elapsed));
    let _ = match peer {
        Some(peer) => writeln!(line, "{peer} {}", id.as_str()),
        None => writeln!(line, "- {}", id.as_str()),
    };
    line
}

fn json_line(
    method: &Method,
    path: &str,
    status: u16,
    elapsed: Duration,
    peer: Option<IpAddr>,
    id: &RequestId,
) -> Vec<u8> {
    let mut line = Vec::with_capacity(256);
    let _ = write!(
        line,
        "{{\"time\":\"{}\",\"level\":\"INFO\",\"target\":\"http\",\"request_id\":\"{}\",\"method\":",
        json_time(),
        id.as_str()
    );
    let _ = serde_json::to_writer(&mut line, method.as_str());
    line.extend_from_slice(b",\"path\":");
    let _ = serde_json::to_writer(&mut line, path);
    let _ = write!(
        line,
        ",\"status\":{status},\"duration_ms\":{}",
        millis(elapsed)
    );
    let _ = match peer {
        Some(peer) => writeln!(line, ",\"peer\":\"{peer}\"}}"),
        None => writeln!(line, ",\"peer\":null}}"),
    };
    line
}

thread_local! {
    /// The `[2026-11-22T03:40:09Z INFO  http] ` prefix of this second, remade when it changes.
    static PREFIX: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
}

/// `[2026-11-22T03:40:09Z INFO  http] `: env_logger's layout, the timestamp formatted once a second.
fn write_prefix(line: &mut Vec<u8>) {
    let now = chrono::Utc::now();
    PREFIX.with(|prefix| {
        let mut prefix = prefix.borrow_mut();
        if prefix.0 != now.timestamp() {
            *prefix = (
                now.timestamp(),
                format!("[{} INFO  http] ", now.format("%Y-%m-%dT%H:%M:%SZ")),
            );
        }
        line.extend_from_slice(prefix.1.as_bytes());
    });
}

/// Hands the request line straight to the background writer: env_logger formatting every record
/// cost a measured 15-25% of a cached `/hi`. Other records go through env_logger as usual; without
/// the background writer (tests), this one does too.
fn request_line(line: Vec<u8>) {
    match LINES.get() {
        Some(lines) => {
            let _ = lines.send(Line::Text(line));
        }
        None => {
            let text = String::from_utf8_lossy(&line);
            let message = match text.strip_prefix('[') {
                Some(text) => text.split_once("] ").map_or(text, |(_, m)| m),
                None => text.as_ref(),
            };
            log::info!(target: "http", "{}", message.trim_end());
        }
    }
}
