//! Both servers for real, on random ports, and stub introspection servers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use resource_server::settings::{Protocol, Settings};
use resource_server::startup::Application;

pub struct AuthServer {
    pub address: String,
    pub port: u16,
    pub store: auth_server::db::Store,
    pub settings: auth_server::settings::Settings,
    handle: ServerHandle,
    _dir: Arc<tempfile::TempDir>,
}

/// The real auth server with the demo data on a throwaway SQLite file.
pub async fn spawn_auth() -> AuthServer {
    spawn_auth_with(|_| {}).await
}

/// The same, with settings changed by `configure`.
pub async fn spawn_auth_with(
    configure: impl FnOnce(&mut auth_server::settings::Settings),
) -> AuthServer {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = auth_server::settings::Settings::defaults();
    settings.server.port = 0;
    settings.server.workers = 1;
    settings.database.url = auth_server::db::DatabaseUrl::parse(&format!(
        "sqlite://{}",
        dir.path().join("auth.db").display()
    ))
    .unwrap();
    settings.demo.seed = true;
    settings.security.bcrypt_cost = 4;
    configure(&mut settings);
    start_auth(settings, dir).await
}

async fn start_auth(
    settings: auth_server::settings::Settings,
    dir: Arc<tempfile::TempDir>,
) -> AuthServer {
    let app = auth_server::startup::Application::build(settings.clone())
        .await
        .expect("auth server starts");
    let port = app.port();
    let store = app.store().clone();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let scheme = if settings.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    AuthServer {
        address: format!("{scheme}://localhost:{port}"),
        port,
        store,
        settings,
        handle,
        _dir: dir,
    }
}

impl AuthServer {
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// Starts again on the same port and database.
    pub async fn restart(&self) -> AuthServer {
        let mut settings = self.settings.clone();
        settings.server.port = self.port;
        start_auth(settings, self._dir.clone()).await
    }

    /// A token for `client` (secret "s3cret" unless it is a demo client) by client_credentials.
    pub async fn client_token(&self, client: &str, secret: &str) -> String {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/oauth/token", self.address))
            .basic_auth(client, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"))
            .to_owned()
    }

    pub async fn user_token(&self) -> String {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/oauth/token", self.address))
            .basic_auth("dev", Some("11"))
            .form(&[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "123456"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access_token"].as_str().unwrap().to_owned()
    }

    pub fn add_client(
        &self,
        id: &str,
        extra: impl FnOnce(&mut auth_server::db::clients::ClientRow),
    ) {
        let mut row = auth_server::db::clients::ClientRow {
            client_id: id.into(),
            client_secret: Some("{noop}s3cret".into()),
            scope: Some("app".into()),
            authorized_grant_types: Some("client_credentials".into()),
            ..Default::default()
        };
        extra(&mut row);
        auth_server::db::clients::insert(&mut self.store.conn().unwrap(), &row).unwrap();
    }
}

pub struct ResourceServer {
    pub address: String,
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
    tokio::spawn(app.run_until_stopped());
    ResourceServer {
        address,
        handle,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .to_str()
            .unwrap()
    }

    pub fn assert_error(&self, status: u16, error: &str, description: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.json()["error"], error, "{}", self.body);
        assert_eq!(
            self.json()["error_description"],
            description,
            "{}",
            self.body
        );
    }
}

impl ResourceServer {
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.address));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("resource server answers");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn hi(&self, token: &str) -> Answer {
        self.get("/hi?name=1111", Some(token)).await
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

pub async fn stub(status: u16, body: &'static str, delay: Duration) -> Stub {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().default_service(web::to(move || {
            let counter = counter.clone();
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
