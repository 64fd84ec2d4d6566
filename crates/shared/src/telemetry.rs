//! Logging for both servers: env_logger, one line per request, written off the request path.

use std::io::{BufWriter, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::OnceLock;
use std::time::Duration;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

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

/// `RUST_LOG` decides the levels; `info` by default. Call [`flush`] before exiting.
pub fn init() {
    let (lines, waiting) = sync_channel(64 * 1024);
    let started = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(waiting));
    let mut builder = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,actix_server=warn"),
    );
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

/// One line per request, target `http`: `POST /oauth/token 200 3.120ms 127.0.0.1` (method, path,
/// status, duration, peer).
///
/// The path is logged without its query string, and no header or body is, so a token or password
/// sent by a careless client (`?access_token=…`) never lands in a log line. (A small function rather
/// than actix's `Logger`, which parses a format and clones it for every request.)
pub async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !log::log_enabled!(target: "http", log::Level::Info) {
        return next.call(request).await;
    }
    let started = Instant::now();
    // One buffer per line, its first half written before the request is handled.
    let mut line = Vec::with_capacity(128);
    write_prefix(&mut line);
    let _ = write!(line, "{} {} ", request.method(), request.path());
    let peer = request.peer_addr().map(|a| a.ip());
    let response = next.call(request).await;
    let status = match &response {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    // Milliseconds with three decimals from integer microseconds: formatting an `f64` with a
    // precision takes the slow exact path of the float formatter, on every request.
    let micros = started.elapsed().as_micros();
    let (millis, micros) = (micros / 1000, micros % 1000);
    let _ = match peer {
        Some(peer) => writeln!(line, "{status} {millis}.{micros:03}ms {peer}"),
        None => writeln!(line, "{status} {millis}.{micros:03}ms -"),
    };
    request_line(line);
    response
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
            let message = text.split_once("] ").map_or(text.as_ref(), |(_, m)| m);
            log::info!(target: "http", "{}", message.trim_end());
        }
    }
}
