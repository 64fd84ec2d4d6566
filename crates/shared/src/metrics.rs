//! Prometheus metrics (docs/operations.md, "Metrics"): what both servers count, and the
//! `GET /metrics` endpoint that shows them, on a port of its own unless `metrics.on_main_port`.
//!
//! Every metric lives in the process's default registry, so any module can count without a
//! handle being passed down to it. What is cheaper to read than to keep up to date (pool
//! occupancy, cache sizes) is read when scraped, by the [`Probe`]s the server hands to
//! [`serve`].

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::{web, App, HttpResponse, HttpServer};
use prometheus::{
    exponential_buckets, register_histogram_vec, register_int_counter_vec, Encoder, Histogram,
    HistogramVec, IntCounter, IntCounterVec, TextEncoder,
};
use serde::Deserialize;

use crate::serving::{self, ListenError, ServerSettings};

/// `[metrics]`.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    /// false: no `/metrics` anywhere.
    pub enabled: bool,
    /// Where the separate metrics listener binds (127.0.0.1 by default: the figures reveal load).
    pub host: String,
    /// The separate listener's port; 0 picks a free one.
    pub port: u16,
    /// true: `/metrics` on the server's own port instead of a separate listener.
    pub on_main_port: bool,
}

impl MetricsSettings {
    /// Whether `/metrics` is a route of the main server.
    pub fn on_main(&self) -> bool {
        self.enabled && self.on_main_port
    }

    /// A separate listener cannot share the server's port.
    pub fn validate(&self, server: &ServerSettings) -> Result<(), String> {
        let separate = self.enabled && !self.on_main_port;
        crate::settings::check(
            !separate || self.port == 0 || self.port != server.port || self.host != server.host,
            "metrics.port",
            "must differ from server.port (or set metrics.on_main_port = true)",
        )?;
        crate::settings::check(
            !separate || !self.host.is_empty(),
            "metrics.host",
            "must not be empty",
        )
    }
}

/// Something read when `/metrics` is scraped, to set the gauges it owns.
pub type Probe = Arc<dyn Fn() + Send + Sync>;

/// Requests by route and status, and how long they took.
struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
}

static HTTP: LazyLock<Option<HttpMetrics>> = LazyLock::new(|| {
    let requests = register_int_counter_vec!(
        "http_requests_total",
        "HTTP requests answered, by route pattern, method and status",
        &["route", "method", "status"]
    );
    let duration = register_histogram_vec!(
        "http_request_duration_seconds",
        "Time from the request's head to its answer, by route pattern and method",
        &["route", "method"],
        exponential_buckets(0.000_25, 2.0, 16).unwrap_or_default()
    );
    match (requests, duration) {
        (Ok(requests), Ok(duration)) => Some(HttpMetrics { requests, duration }),
        (Err(error), _) | (_, Err(error)) => {
            log::error!("HTTP metrics unavailable: {error}");
            None
        }
    }
});

/// The method label: the standard methods by name, anything else as `other` (a bounded set).
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::HEAD, "HEAD"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::PATCH, "PATCH"),
        (Method::TRACE, "TRACE"),
        (Method::CONNECT, "CONNECT"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, name)| name)
}

/// The handles of the HTTP metrics for one method and status of a route.
struct Handles {
    method: &'static str,
    status: u16,
    requests: IntCounter,
    duration: Histogram,
}

/// The HTTP metrics of one route (labelled with the pattern it was mounted at, the pattern
/// `HttpRequest::match_pattern` gives), as one worker counts them: kept in the route's app data (each
/// worker builds its own), so that counting a request neither hashes its labels nor takes the
/// metric's lock, as `with_label_values` does.
pub struct RouteMetrics {
    route: String,
    handles: RefCell<Vec<Handles>>,
}

impl RouteMetrics {
    pub fn new(route: &str) -> Self {
        Self {
            route: route.to_owned(),
            handles: RefCell::new(Vec::new()),
        }
    }

    /// Counts one answered request. The handles of a method and status are looked up once per
    /// worker, and are as few as the labels.
    pub fn record(&self, method: &Method, status: u16, elapsed: Duration) {
        let Some(http) = HTTP.as_ref() else {
            return;
        };
        let method = method_label(method);
        let mut handles = self.handles.borrow_mut();
        let index = match handles
            .iter()
            .position(|h| h.status == status && h.method == method)
        {
            Some(index) => index,
            None => {
                let mut digits = itoa::Buffer::new();
                let route = self.route.as_str();
                handles.push(Handles {
                    method,
                    status,
                    requests: http.requests.with_label_values(&[
                        route,
                        method,
                        digits.format(status),
                    ]),
                    duration: http.duration.with_label_values(&[route, method]),
                });
                handles.len() - 1
            }
        };
        handles[index].requests.inc();
        handles[index].duration.observe(elapsed.as_secs_f64());
    }
}

/// Counts one answered request by its route label, for requests no route answered: their label is
/// `unmatched` (the default service's 404), so that scanners probing random paths cannot grow
/// the label set.
pub fn record_request(route: &str, method: &Method, status: u16, elapsed: Duration) {
    let Some(http) = HTTP.as_ref() else {
        return;
    };
    let method = method_label(method);
    let mut digits = itoa::Buffer::new();
    http.requests
        .with_label_values(&[route, method, digits.format(status)])
        .inc();
    http.duration
        .with_label_values(&[route, method])
        .observe(elapsed.as_secs_f64());
}

/// A counter vector in the default registry; `None` (logged) if it cannot be registered, so a
/// metric never stops a server.
pub fn counter_vec(name: &str, help: &str, labels: &[&str]) -> Option<IntCounterVec> {
    register_int_counter_vec!(name, help, labels)
        .map_err(|error| log::error!("metric {name} unavailable: {error}"))
        .ok()
}

/// A histogram vector in the default registry, as [`counter_vec`].
pub fn histogram_vec(
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> Option<HistogramVec> {
    register_histogram_vec!(name, help, labels, buckets)
        .map_err(|error| log::error!("metric {name} unavailable: {error}"))
        .ok()
}

/// A gauge vector in the default registry, as [`counter_vec`].
pub fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> Option<prometheus::IntGaugeVec> {
    prometheus::register_int_gauge_vec!(name, help, labels)
        .map_err(|error| log::error!("metric {name} unavailable: {error}"))
        .ok()
}

/// Latency buckets from 50 µs to about 3 s: bcrypt waits, commits, pool checkouts.
pub fn latency_buckets() -> Vec<f64> {
    exponential_buckets(0.000_05, 2.0, 16).unwrap_or_default()
}

/// Everything registered, in the Prometheus text format, after the probes have run.
pub fn render(probes: &[Probe]) -> Result<String, prometheus::Error> {
    for probe in probes {
        probe();
    }
    let mut text = Vec::with_capacity(16 * 1024);
    TextEncoder::new().encode(&prometheus::gather(), &mut text)?;
    String::from_utf8(text).map_err(|e| prometheus::Error::Msg(e.to_string()))
}

/// The probes of one server, as app data of whichever listener serves `/metrics`.
#[derive(Clone, Default)]
pub struct Probes(pub Vec<Probe>);

/// `GET /metrics`.
pub async fn metrics(probes: web::Data<Probes>) -> HttpResponse {
    match render(&probes.0) {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(error) => actix_web::ResponseError::error_response(&crate::ApiError::internal(error)),
    }
}

/// The separate metrics listener, when `metrics` asks for one: one worker, plain HTTP (it is meant
/// for a scraper on a private network), `/metrics` and nothing else. Its port, for the log.
pub fn serve(
    settings: &MetricsSettings,
    probes: Probes,
) -> Result<Option<(Server, u16)>, ListenError> {
    if !settings.enabled || settings.on_main_port {
        return Ok(None);
    }
    let listener = ServerSettings {
        host: settings.host.clone(),
        port: settings.port,
        workers: 1,
        body_timeout_ms: 5_000,
        tls: None,
        issuer: None,
    };
    let probes = web::Data::new(probes);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(probes.clone())
            .route("/metrics", web::get().to(metrics))
    });
    serving::serve(server, &listener).map(Some)
}

/// Serves `main` and, beside it, the metrics listener if there is one (an actix `Server` runs only
/// while polled), until `main` stops; then stops the metrics listener too.
pub async fn run_beside(main: Server, metrics: Option<Server>) -> std::io::Result<()> {
    let Some(metrics) = metrics else {
        return main.await;
    };
    let handle = metrics.handle();
    let listener = tokio::spawn(metrics);
    let served = main.await;
    handle.stop(true).await;
    let _ = listener.await;
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_a_bounded_set() {
        assert_eq!(method_label(&Method::POST), "POST");
        let odd = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&odd), "other");
    }

    #[test]
    fn a_recorded_request_shows_in_the_text_format_and_probes_run_first() {
        record_request("/test/metrics", &Method::GET, 200, Duration::from_millis(3));
        let probed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = probed.clone();
        let probe: Probe = Arc::new(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
        let text = render(&[probe]).unwrap();
        assert!(probed.load(std::sync::atomic::Ordering::SeqCst));
        assert!(
            text.contains(
                r#"http_requests_total{method="GET",route="/test/metrics",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("http_request_duration_seconds_bucket"));
    }

    #[test]
    fn a_route_counts_by_method_and_status_under_its_pattern() {
        let route = RouteMetrics::new("/test/route/{id}");
        for status in [200, 200, 404] {
            route.record(&Method::GET, status, Duration::from_millis(1));
        }
        route.record(&Method::POST, 200, Duration::from_secs(2));
        let text = render(&[]).unwrap();
        for line in [
            r#"http_requests_total{method="GET",route="/test/route/{id}",status="200"} 2"#,
            r#"http_requests_total{method="GET",route="/test/route/{id}",status="404"} 1"#,
            r#"http_requests_total{method="POST",route="/test/route/{id}",status="200"} 1"#,
            r#"http_request_duration_seconds_count{method="GET",route="/test/route/{id}"} 3"#,
            r#"http_request_duration_seconds_sum{method="POST",route="/test/route/{id}"} 2"#,
        ] {
            assert!(text.contains(line), "no {line} in {text}");
        }
    }
}
