//! Starting the real server on a random port with a throwaway database, and talking to it.

use std::time::Duration;

use auth_server::db::clients::{self, ClientRow};
use auth_server::db::Store;
use auth_server::settings::Settings;
use auth_server::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that disappears with the test.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// `None` (and a note on stderr) for PostgreSQL when `TEST_DATABASE_URL` is not set.
    pub fn create(backend: Backend) -> Option<(TestDb, String)> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("auth.db").display());
                Some((TestDb::Sqlite(dir), url))
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!("skipped: TEST_DATABASE_URL is not set, PostgreSQL not tested");
                    return None;
                };
                let name = format!("oauth_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin =
                    PgConnection::establish(&admin_url).expect("TEST_DATABASE_URL answers");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                Some((TestDb::Postgres { admin_url, name }, url.to_string()))
            }
        }
    }

    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match self {
            TestDb::Sqlite(dir) => Some(dir.path()),
            TestDb::Postgres { .. } => None,
        }
    }

    /// Drops a PostgreSQL test database now, connections and all (a database outage).
    pub fn drop_now(&self) {
        if let TestDb::Postgres { admin_url, name } = self {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.drop_now();
    }
}

/// Settings for a test server: a free port, one worker, cheap bcrypt, the demo data.
pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::defaults();
    settings.server.port = 0;
    settings.server.workers = 1;
    settings.database.url = auth_server::db::DatabaseUrl::parse(database_url).unwrap();
    settings.database.pool_size = 4;
    settings.demo.seed = true;
    settings.security.bcrypt_cost = 4;
    settings
}

pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub http: reqwest::Client,
    pub db: TestDb,
    pub passwords: std::sync::Arc<auth_server::accounts::Passwords>,
    handle: actix_web::dev::ServerHandle,
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

/// Starts the server with settings adjusted by `configure`.
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let (db, url) = TestDb::create(backend)?;
    let mut settings = test_settings(&url);
    configure(&mut settings);
    Some(start(db, settings).await)
}

/// Starts the server on an existing test database.
pub async fn start(db: TestDb, settings: Settings) -> TestApp {
    let app = Application::build(settings).await.expect("server starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let store = app.store().clone();
    let handle = app.handle();
    let passwords = app.passwords();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        store,
        passwords,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        db,
        handle,
    }
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    /// Asserts an OAuth error answer: status, `error` and `error_description`.
    pub fn assert_error(&self, status: u16, error: &str, description: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let json = self.json();
        assert_eq!(json["error"], error, "{}", self.body);
        assert_eq!(json["error_description"], description, "{}", self.body);
        assert_eq!(
            json.as_object().unwrap().len(),
            2,
            "only error and description: {}",
            self.body
        );
        assert_eq!(self.header("cache-control"), "no-store");
        assert_eq!(self.header("pragma"), "no-cache");
    }

    /// The field of a successful token answer.
    pub fn field(&self, name: &str) -> String {
        assert_eq!(self.status, 200, "{}", self.body);
        self.json()[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
            .to_owned()
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
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
        self.token_basic(
            client,
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "123456"),
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

    /// Writes a client row directly, as an existing Spring deployment would have it.
    pub fn insert_client(&self, row: ClientRow) {
        clients::insert(&mut self.store.conn().unwrap(), &row).expect("client inserted");
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

    pub fn add_user(&self, username: &str, password: &str, authorities: &[&str]) {
        let authorities: Vec<String> = authorities.iter().map(|a| a.to_string()).collect();
        auth_server::db::users::insert(
            &mut self.store.conn().unwrap(),
            username,
            &format!("{{noop}}{password}"),
            &authorities,
        )
        .expect("user inserted");
    }
}

/// Runs each named `async fn(Backend)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A user agent with a cookie jar that does not follow redirects, so each hop can be checked.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub http: reqwest::Client,
}

/// The `_csrf` value of a page's form.
pub fn csrf_of(html: &str) -> String {
    field_of(html, "_csrf")
}

/// The value of a hidden field of a page's form.
pub fn field_of(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The query or fragment parameters of a redirect target.
pub fn params_of(location: &str) -> std::collections::HashMap<String, String> {
    let url = url::Url::parse(location).unwrap_or_else(|e| panic!("{location}: {e}"));
    let encoded = url
        .fragment()
        .map(str::to_owned)
        .or(url.query().map(str::to_owned))
        .unwrap_or_default();
    form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect()
}

impl TestApp {
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }
}

impl Browser<'_> {
    pub async fn get(&self, path: &str) -> Answer {
        answer(self.http.get(self.app.url(path)).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        answer(
            self.http
                .post(self.app.url(path))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Signs in through the login form; returns the answer to the POST.
    pub async fn sign_in(&self, username: &str, password: &str) -> Answer {
        let csrf = csrf_of(&self.get("/login").await.body);
        self.post(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("_csrf", &csrf),
            ],
        )
        .await
    }

    /// `GET /oauth/authorize?{query}`.
    pub async fn authorize(&self, query: &str) -> Answer {
        self.get(&format!("/oauth/authorize?{query}")).await
    }

    /// Posts the approval form with these `scope.<name>` choices.
    pub async fn decide(&self, approve: bool, scopes: &[(&str, bool)]) -> Answer {
        let page = self.get("/oauth/confirm_access").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = csrf_of(&page.body);
        let fields: Vec<(String, String)> = scopes
            .iter()
            .map(|(s, ok)| (format!("scope.{s}"), ok.to_string()))
            .collect();
        let mut form: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push((
            "user_oauth_approval",
            if approve { "true" } else { "false" },
        ));
        form.push(("_csrf", &csrf));
        let id = field_of(&page.body, "authorization_id");
        form.push(("authorization_id", &id));
        self.post("/oauth/authorize", &form).await
    }

    /// Signs in as admin and runs the code flow for `query`, approving everything; the redirect.
    pub async fn code_for(&self, query: &str) -> String {
        let first = self.authorize(query).await;
        if first.header("location") == "/login" {
            assert_eq!(self.sign_in("admin", "123456").await.status, 303);
        }
        let mut hop = self.authorize(query).await;
        if hop.header("location") == "/oauth/confirm_access" {
            hop = self.decide(true, &[]).await;
        }
        assert_eq!(hop.status, 303, "{}", hop.body);
        hop.header("location").to_owned()
    }
}
