//! The real auth server on a random port with a throwaway database, and the calls tests make to it.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use auth_server::accounts::Passwords;
use auth_server::db::clients::{self, ClientRow};
use auth_server::db::{DatabaseUrl, Store};
use auth_server::settings::Settings;
use auth_server::startup::Application;

use crate::{answer, Answer, Backend, TestDb};

/// Settings for a test server: a free port, one worker, cheap bcrypt, the demo data.
pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::defaults();
    settings.server.port = 0;
    settings.metrics.port = 0;
    settings.server.workers = 1;
    settings.database.url = DatabaseUrl::parse(database_url).expect("a database URL");
    settings.database.pool_size = 4;
    settings.demo.seed = true;
    settings.security.bcrypt_cost = 4;
    settings
}

pub struct TestApp {
    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` (the name on test certificates).
    pub address: String,
    pub port: u16,
    /// The separate `/metrics` listener's port, when there is one.
    pub metrics_port: Option<u16>,
    pub store: Store,
    pub http: reqwest::Client,
    pub db: Arc<TestDb>,
    pub passwords: Arc<Passwords>,
    pub settings: Settings,
    handle: ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the database is dropped after.
        drop(self.handle.stop(false));
    }
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the server with settings adjusted by `configure`; `None` when the backend is not
/// available (PostgreSQL without `TEST_DATABASE_URL`).
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let (db, url) = TestDb::create(backend)?;
    let mut settings = test_settings(&url);
    configure(&mut settings);
    Some(start(db, settings).await)
}

/// The server on a throwaway SQLite file, which is always there.
pub async fn sqlite_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(Backend::Sqlite, configure)
        .await
        .expect("SQLite is always there")
}

/// Starts the server on an existing test database.
pub async fn start(db: impl Into<Arc<TestDb>>, settings: Settings) -> TestApp {
    let app = Application::build(settings.clone())
        .await
        .expect("server starts");
    let port = app.port();
    let metrics_port = app.metrics_port();
    let address = match settings.server.tls {
        Some(_) => format!("https://localhost:{port}"),
        None => format!("http://127.0.0.1:{port}"),
    };
    let (store, handle, passwords) = (app.store().clone(), app.handle(), app.passwords());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        port,
        metrics_port,
        store,
        passwords,
        settings,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client"),
        db: db.into(),
        handle,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Stops serving, as a crashed or stopped auth server does.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// Starts again on the same port and database.
    pub async fn restart(&self) -> TestApp {
        let mut settings = self.settings.clone();
        settings.server.port = self.port;
        start(self.db.clone(), settings).await
    }

    /// What `/metrics` shows now, from the separate listener or else the server's own port.
    pub async fn metrics(&self) -> String {
        let url = match self.metrics_port {
            Some(port) => format!("http://127.0.0.1:{port}/metrics"),
            None => self.url("/metrics"),
        };
        crate::metrics::scrape(&self.http, &url).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        answer(
            self.http
                .get(self.url(path))
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    /// `POST /oauth/token` with a form body, no Authorization header.
    pub async fn token(&self, form: &[(&str, &str)]) -> Answer {
        self.post_form("/oauth/token", form, None).await
    }

    /// `POST /oauth/token` with HTTP Basic client authentication.
    pub async fn token_basic(&self, client: (&str, &str), form: &[(&str, &str)]) -> Answer {
        self.post_form("/oauth/token", form, Some(client)).await
    }

    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Answer {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        answer(request.send().await.expect("request sent")).await
    }

    /// A POST with exactly these bytes, as `basic` authenticated with HTTP Basic if given.
    pub async fn post_bytes(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut request = self.http.post(self.url(path)).body(body);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        answer(request.send().await.expect("request sent")).await
    }

    /// `POST /oauth/check_token` as the demo resource server asks it.
    pub async fn check_token(&self, token: &str) -> Answer {
        self.post_form(
            "/oauth/check_token",
            &[("token", token)],
            Some(("resource", "resource-secret")),
        )
        .await
    }

    /// `POST /oauth2/introspect` with `form`, as the demo resource server.
    pub async fn introspect(&self, form: &[(&str, &str)]) -> Answer {
        self.post_form(
            "/oauth2/introspect",
            form,
            Some(("resource", "resource-secret")),
        )
        .await
    }

    /// The demo password grant: admin / 123456 through client dev.
    pub async fn password_grant(&self) -> Answer {
        self.token(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "123456"),
            ("client_id", "dev"),
            ("client_secret", "11"),
        ])
        .await
    }

    /// The password grant for admin / 123456 through `client`, authenticated with HTTP Basic.
    pub async fn password_grant_for(&self, client: (&str, &str)) -> Answer {
        self.password_grant_as(client, ("admin", "123456")).await
    }

    /// The password grant for `user` (username, password) through `client` (HTTP Basic).
    pub async fn password_grant_as(&self, client: (&str, &str), user: (&str, &str)) -> Answer {
        let (username, password) = user;
        self.token_basic(
            client,
            &[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// A refresh_token grant through `client`, optionally narrowing the scope.
    pub async fn refresh(&self, client: (&str, &str), token: &str, scope: Option<&str>) -> Answer {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token_basic(client, &form).await
    }

    /// An access token of `client` by client_credentials.
    pub async fn client_token(&self, client: &str, secret: &str) -> String {
        self.token_basic((client, secret), &[("grant_type", "client_credentials")])
            .await
            .field("access_token")
    }

    /// An access token of the demo user admin, through the demo client.
    pub async fn user_token(&self) -> String {
        self.password_grant().await.field("access_token")
    }

    /// Writes a client row directly, as an existing Spring deployment would have it.
    pub fn insert_client(&self, row: ClientRow) {
        clients::insert(&mut self.store.conn().expect("a connection"), &row)
            .expect("client inserted");
    }

    /// A confidential client with the given grants, scope "app read", secret "s3cret" ({noop}).
    pub fn add_client(&self, id: &str, grants: &str, extra: impl FnOnce(&mut ClientRow)) {
        let mut row = ClientRow {
            client_id: id.into(),
            client_secret: Some("{noop}s3cret".into()),
            scope: Some("app,read".into()),
            authorized_grant_types: Some(grants.into()),
            ..ClientRow::default()
        };
        extra(&mut row);
        self.insert_client(row);
    }

    /// An enabled user with a `{noop}` password.
    pub fn add_user(&self, username: &str, password: &str, authorities: &[&str]) {
        let authorities: Vec<String> = authorities.iter().map(|a| a.to_string()).collect();
        auth_server::db::users::insert(
            &mut self.store.conn().expect("a connection"),
            username,
            &format!("{{noop}}{password}"),
            &authorities,
        )
        .expect("user inserted");
    }
}
