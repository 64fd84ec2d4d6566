//! Logging for both servers: env_logger, one line per request with its request id, in text or
//! JSON (`log.format`), written off the request path.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use serde::Deserialize;

use crate::log_writer;

/// env_logger's records, into this thread's buffer of [`log_writer`].
struct BackgroundStderr;

impl Write for BackgroundStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if log_writer::append(|lines| lines.extend_from_slice(buf)) {
            Ok(buf.len())
        } else {
            std::io::stderr().write(buf)
        }
    }

    /// env_logger flushes after every record; waiting here would make every request wait for the
    /// writer. [`flush`] is the real thing, for exits.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Waits until every line logged so far is on stderr. Call it before the process exits.
pub fn flush() {
    log_writer::flush();
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
    if log_writer::start() {
        builder
            .target(env_logger::Target::Pipe(Box::new(BackgroundStderr)))
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
        let _ = id.with_text(|id| serde_json::to_writer(&mut *line, id));
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
pub enum RequestId {
    /// Made here, and written out only where it is shown: making one allocates nothing.
    Fresh(uuid::Uuid),
    /// A trusted proxy's.
    Offered(Arc<str>),
}

impl RequestId {
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
            Some(id) => Self::Offered(id.into()),
            None => Self::Fresh(uuid::Uuid::from_u128(rand::random::<u128>())),
        }
    }

    /// Hands the id's text to `use_it`.
    pub fn with_text<R>(&self, use_it: impl FnOnce(&str) -> R) -> R {
        match self {
            Self::Fresh(uuid) => use_it(
                uuid.hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer()),
            ),
            Self::Offered(id) => use_it(id),
        }
    }
}

const REQUEST_ID_HEADER: &str = "x-request-id";

/// What [`observe`] needs from the settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observing {
    pub trust_request_id: bool,
}

/// The first step of [`crate::front_door`], around everything else a request goes through: gives
/// it a request id (sent back in `X-Request-Id`), counts it in the metrics by route and status, and
/// writes its log line, target `http`: in text
/// `POST /oauth/token 200 3.120ms 127.0.0.1 <request id>` (method, path, status, duration, peer, id),
/// or the same fields as one JSON object.
///
/// The path is logged without its query string, and no header or body is, so a token or password
/// sent by a careless client (`?access_token=…`) never lands in a log line. (One small function
/// rather than actix's `Logger`, which parses a format and clones it for every request.)
pub async fn observe<B, F>(
    observing: Observing,
    request: ServiceRequest,
    next: impl FnOnce(ServiceRequest) -> F,
) -> Result<ServiceResponse<B>, actix_web::Error>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    let started = Instant::now();
    let id = RequestId::of(&request, observing.trust_request_id);
    let method = request.method().clone();
    let logging = log::log_enabled!(target: "http", log::Level::Info);
    // The path is copied only when a line will be written.
    let path = logging.then(|| request.path().to_owned());
    let peer = request.peer_addr().map(|a| a.ip());
    // Only JSON records show the id of the request they were logged during; keeping it at hand
    // costs something on every poll of the request's future.
    let mut response = match format() {
        LogFormat::Json => REQUEST_ID.scope(Some(id.clone()), next(request)).await,
        LogFormat::Text => next(request).await,
    };
    let elapsed = started.elapsed();
    let status = match &mut response {
        Ok(response) => {
            if let Ok(value) = id.with_text(HeaderValue::from_str) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            let status = response.status().as_u16();
            match crate::routes::metrics(response.request()) {
                Some(route) => route.record(&method, status, elapsed),
                // Not routed: a 404, or refused before routing (414, 431, 413), which is
                // counted under the route its path matches, as before.
                None => {
                    let pattern = response.request().match_pattern();
                    let route = pattern.as_deref().unwrap_or("unmatched");
                    crate::metrics::record_request(route, &method, status, elapsed);
                }
            }
            status
        }
        Err(error) => {
            let status = error.as_response_error().status_code().as_u16();
            crate::metrics::record_request("unmatched", &method, status, elapsed);
            status
        }
    };
    if let Some(path) = path {
        let write = |line: &mut Vec<u8>| match format() {
            LogFormat::Text => write_text_line(line, &method, &path, status, elapsed, peer, &id),
            LogFormat::Json => write_json_line(line, &method, &path, status, elapsed, peer, &id),
        };
        if !log_writer::append(write) {
            log_through_env_logger(write);
        }
    }
    response
}

/// Milliseconds with three decimals from integer microseconds, without the float formatter (its
/// exact path for a precision) or `format!`: this runs for every request.
fn write_millis(line: &mut Vec<u8>, elapsed: Duration) {
    let micros = elapsed.as_micros();
    let mut digits = itoa::Buffer::new();
    line.extend_from_slice(digits.format(micros / 1000).as_bytes());
    let fraction = (micros % 1000) as u16;
    line.extend_from_slice(&[
        b'.',
        b'0' + (fraction / 100) as u8,
        b'0' + (fraction / 10 % 10) as u8,
        b'0' + (fraction % 10) as u8,
    ]);
}

/// The peer's address; an IPv4 one without the formatter, which pads every octet.
fn write_peer(line: &mut Vec<u8>, peer: IpAddr) {
    match peer {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (n, octet) in v4.octets().into_iter().enumerate() {
                if n > 0 {
                    line.push(b'.');
                }
                line.extend_from_slice(digits.format(octet).as_bytes());
            }
        }
        IpAddr::V6(_) => {
            let _ = write!(line, "{peer}");
        }
    }
}

fn write_text_line(
    line: &mut Vec<u8>,
    method: &Method,
    path: &str,
    status: u16,
    elapsed: Duration,
    peer: Option<IpAddr>,
    id: &RequestId,
) {
    write_prefix(line);
    line.extend_from_slice(method.as_str().as_bytes());
    line.push(b' ');
    line.extend_from_slice(path.as_bytes());
    line.push(b' ');
    line.extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
    line.push(b' ');
    write_millis(line, elapsed);
    line.extend_from_slice(b"ms ");
    match peer {
        Some(peer) => write_peer(line, peer),
        None => line.push(b'-'),
    }
    line.push(b' ');
    id.with_text(|id| line.extend_from_slice(id.as_bytes()));
    line.push(b'\n');
}

fn write_json_line(
    line: &mut Vec<u8>,
    method: &Method,
    path: &str,
    status: u16,
    elapsed: Duration,
    peer: Option<IpAddr>,
    id: &RequestId,
) {
    let _ = write!(
        line,
        "{{\"time\":\"{}\",\"level\":\"INFO\",\"target\":\"http\",\"request_id\":\"",
        json_time(),
    );
    id.with_text(|id| line.extend_from_slice(id.as_bytes()));
    line.extend_from_slice(b"\",\"method\":");
    let _ = serde_json::to_writer(&mut *line, method.as_str());
    line.extend_from_slice(b",\"path\":");
    let _ = serde_json::to_writer(&mut *line, path);
    let _ = write!(line, ",\"status\":{status},\"duration_ms\":");
    write_millis(line, elapsed);
    match peer {
        Some(peer) => {
            line.extend_from_slice(b",\"peer\":\"");
            write_peer(line, peer);
            line.extend_from_slice(b"\"}\n");
        }
        None => line.extend_from_slice(b",\"peer\":null}\n"),
    }
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

/// The request line through env_logger, without the background writer (tests): its message is
/// the line without the prefix env_logger writes itself.
fn log_through_env_logger(write: impl FnOnce(&mut Vec<u8>)) {
    let mut line = Vec::with_capacity(160);
    write(&mut line);
    let text = String::from_utf8_lossy(&line);
    let message = match text.strip_prefix('[') {
        Some(text) => text.split_once("] ").map_or(text, |(_, m)| m),
        None => text.as_ref(),
    };
    log::info!(target: "http", "{}", message.trim_end());
}

#[cfg(test)]
mod tests {
    use super::*;

    type WriteLine = fn(&mut Vec<u8>, &Method, &str, u16, Duration, Option<IpAddr>, &RequestId);

    fn written(
        write: WriteLine,
        (method, path, status): (&Method, &str, u16),
        elapsed: Duration,
        peer: Option<&str>,
        id: &RequestId,
    ) -> Vec<u8> {
        let mut line = Vec::new();
        let peer = peer.map(|peer| peer.parse().unwrap());
        write(&mut line, method, path, status, elapsed, peer, id);
        line
    }

    fn fresh() -> RequestId {
        RequestId::Fresh(uuid::Uuid::from_u128(
            0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
        ))
    }

    #[test]
    fn a_text_line_has_method_path_status_millis_peer_and_id() {
        let line = written(
            write_text_line,
            (&Method::POST, "/oauth/token", 400),
            Duration::from_micros(3_045),
            Some("127.0.0.1"),
            &fresh(),
        );
        let line = String::from_utf8(line).unwrap();
        assert!(
            line.starts_with('[') && line.contains(" INFO  http] "),
            "{line}"
        );
        assert!(
            line.ends_with(
                "] POST /oauth/token 400 3.045ms 127.0.0.1 \
                 01234567-89ab-cdef-0123-456789abcdef\n"
            ),
            "{line}"
        );
        let slow = written(
            write_text_line,
            (&Method::GET, "/", 200),
            Duration::from_micros(12_000_007),
            None,
            &RequestId::Offered("proxy-id:1".into()),
        );
        assert!(String::from_utf8(slow)
            .unwrap()
            .ends_with("] GET / 200 12000.007ms - proxy-id:1\n"));
    }

    #[test]
    fn a_json_line_is_one_object_with_the_same_fields() {
        let line = written(
            write_json_line,
            (&Method::GET, "/a \"quoted\" path", 404),
            Duration::from_micros(999),
            Some("::1"),
            &fresh(),
        );
        assert_eq!(line.last(), Some(&b'\n'));
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["request_id"], "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(value["method"], "GET");
        assert_eq!(value["path"], "/a \"quoted\" path");
        assert_eq!(value["status"], 404);
        assert_eq!(value["duration_ms"], 0.999);
        assert_eq!(value["peer"], "::1");
        assert_eq!(value["level"], "INFO");
        let no_peer = written(
            write_json_line,
            (&Method::GET, "/", 200),
            Duration::ZERO,
            None,
            &fresh(),
        );
        let value: serde_json::Value = serde_json::from_slice(&no_peer).unwrap();
        assert!(value["peer"].is_null());
        assert_eq!(value["duration_ms"], 0.0);
    }
}
