//! Both servers for real, on random ports, and stub introspection servers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use resource_server::settings::{Protocol, Settings};
use resource_server::startup::Application;
use test_support::{answer, sqlite_app_with, Answer, TestApp};

/// The real auth server with the demo data on a throwaway SQLite file.
pub async fn spawn_auth() -> TestApp {
    spawn_auth_with(|_| {}).await
}

/// The same, with settings changed by `configure`.
pub async fn spawn_auth_with(
    configure: impl FnOnce(&mut auth_server::settings::Settings),
) -> TestApp {
    sqlite_app_with(configure).await
}

pub struct ResourceServer {
    pub address: String,
    /// The separate `/metrics` listener's port, when there is one.
    pub metrics_port: Option<u16>,
    handle: ServerHandle,
    pub http: reqwest::Client,
}

impl Drop for ResourceServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// The resource server introspecting at `introspection_url` (check_token protocol unless changed).
pub async fn spawn_resource(
    introspection_url: &str,
    configure: impl FnOnce(&mut Settings),
) -> ResourceServer {
    let mut settings = Settings::defaults();
    settings.server.port = 0;
    settings.metrics.port = 0;
    settings.server.workers = 1;
    settings.introspection.url = introspection_url.to_owned();
    settings.introspection.protocol = Protocol::CheckToken;
    configure(&mut settings);
    let scheme = if settings.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let app = Application::build(settings)
        .await
        .expect("resource server starts");
    let address = format!("{scheme}://localhost:{}", app.port());
    let handle = app.handle();
    let metrics_port = app.metrics_port();
    tokio::spawn(app.run_until_stopped());
    ResourceServer {
        address,
        metrics_port,
        handle,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    }
}

impl ResourceServer {
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.address));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.expect("resource server answers")).await
    }

    pub async fn hi(&self, token: &str) -> Answer {
        self.get("/hi?name=1111", Some(token)).await
    }

    /// What `/metrics` shows now, from the separate listener (the default).
    pub async fn metrics(&self) -> String {
        let port = self.metrics_port.expect("a separate metrics listener");
        test_support::metrics::scrape(&self.http, &format!("http://127.0.0.1:{port}/metrics")).await
    }

    /// Introspection requests sent so far, from `/health`.
    pub async fn introspection_calls(&self) -> u64 {
        self.get("/health", None).await.json()["introspection_calls"]
            .as_u64()
            .unwrap()
    }
}

/// A stand-in introspection endpoint: answers `status` + `body` after `delay`, counting calls.
pub struct Stub {
    pub url: String,
    pub calls: Arc<AtomicUsize>,
    handle: ServerHandle,
}

impl Drop for Stub {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl Stub {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

pub async fn stub(status: u16, body: impl Into<String>, delay: Duration) -> Stub {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let body: Arc<str> = body.into().into();
    let server = HttpServer::new(move || {
        let (counter, body) = (counter.clone(), body.clone());
        App::new().default_service(web::to(move || {
            let (counter, body) = (counter.clone(), body.to_string());
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                    .content_type("application/json")
                    .body(body)
            }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Stub {
        url: format!("http://127.0.0.1:{port}/oauth/check_token"),
        calls,
        handle,
    }
}

/// RFC 6750 §3.1: 403 `insufficient_scope`, in the body and in the challenge.
pub fn assert_insufficient_scope(answer: &Answer) {
    answer.assert_error(
        403,
        "insufficient_scope",
        "Insufficient scope for this resource",
    );
    assert!(answer
        .header("www-authenticate")
        .contains(r#"error="insufficient_scope""#));
}
