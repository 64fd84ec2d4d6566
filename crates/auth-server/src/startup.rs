//! Building the server: storage, migrations, demo data, routes, listener.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Key;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use secrecy::ExposeSecret;

use crate::db::{AccessTokenLookups, Backend, BatchWriter, Opening, Readers, Store};
use crate::domain::password::Passwords;
use crate::domain::sign_in_throttle::SignInThrottle;
use crate::grants::client_directory::ClientDirectory;
use crate::grants::TokenService;
use crate::http::{self, AppState};
use crate::introspection::{IntrospectionPolicy, LocalValidator};
use crate::settings::Settings;
use crate::{seed, telemetry};
use shared::guard::Guard;

/// A server bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    store: Store,
    passwords: Arc<Passwords>,
}

/// Opens the database of the settings and brings its schema up to date.
pub fn open_store(settings: &Settings, opening: Opening) -> Result<Store, String> {
    crate::db::open(
        &settings.database.url,
        settings.database.pool_size,
        Duration::from_millis(settings.database.connect_timeout_ms),
        opening,
    )
    .map_err(|e| format!("cannot open the database {}: {e}", settings.database.url))
}

/// How `serve` and `migrate` open their database.
pub fn serving(settings: &Settings) -> Opening {
    Opening::CreateAndWait {
        wait: Duration::from_secs(settings.database.startup_wait_seconds),
    }
}

/// Most keys read in one query by the batched token lookups.
const LOOKUP_BATCH_MAX: usize = 128;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The key of browser sessions: `session.key`, or a random one for this process only.
fn session_key(settings: &Settings) -> Key {
    match &settings.session.key {
        Some(key) => Key::derive_from(key.expose_secret().as_bytes()),
        None => {
            log::warn!(
                "session.key is not set: browser sessions use a random key and end when this \
                 process stops; replicas must share one key"
            );
            Key::generate()
        }
    }
}

impl Application {
    /// Binds `server.host:server.port` (port 0 picks a free one), migrates, seeds if asked.
    pub async fn build(settings: Settings) -> Result<Self, String> {
        let store = open_store(&settings, serving(&settings))?;
        let passwords = Arc::new(
            Passwords::new(&settings.security.check_settings())
                .map_err(|e| format!("security.bcrypt_cost: {e}"))?,
        );
        if settings.demo.seed {
            for inserted in seed::demo(&store, &passwords).map_err(|e| format!("demo data: {e}"))? {
                log::info!("demo data: inserted {inserted}");
            }
        }
        // Two per core measured best on SQLite (31k introspections/s against 24k with one per core),
        // and PostgreSQL reads, waiting on the network, overlap at least as well.
        let reader_threads = match settings.database.readers {
            0 => cores() * 2,
            n => n,
        };
        let readers = Arc::new(Readers::new(reader_threads));
        // On PostgreSQL one thread, so that a batch gathers every lookup that arrives during the
        // previous one's round trip: 23k introspections/s of 5,000 distinct tokens against 15k with
        // two threads and 14k with four (the database shares the machine's cores).
        let lookups = Arc::new(AccessTokenLookups::new(
            store.clone(),
            match store.backend() {
                Backend::Sqlite => reader_threads,
                Backend::Postgres => 1,
            },
            LOOKUP_BATCH_MAX,
        ));
        let state = web::Data::new(AppState {
            store: store.clone(),
            readers,
            lookups: lookups.clone(),
            passwords: passwords.clone(),
            tokens: Arc::new(TokenService::new(
                store.clone(),
                ClientDirectory::new(
                    store.clone(),
                    settings.security.client_cache_seconds,
                    settings.security.secret_cache_capacity,
                ),
                Arc::new(BatchWriter::new(
                    store.clone(),
                    match (settings.database.writers, store.backend()) {
                        (0, Backend::Sqlite) => 1,
                        (0, Backend::Postgres) => 2,
                        (n, _) => n,
                    },
                    settings.database.write_batch_max,
                )),
                passwords.clone(),
                SignInThrottle::new(&settings.brute_force.limits()),
                settings.tokens.clone(),
            )),
            introspection: IntrospectionPolicy::new(
                &settings.introspection.authorities,
                &settings.introspection.clients,
            ),
            max_body_bytes: settings.security.max_body_bytes,
            trust_forwarded_for: settings.brute_force.trust_forwarded_for,
            session_max_age: settings.session.max_age_seconds,
        });
        crate::housekeeping::spawn(store.clone(), &settings.purge);
        crate::db::checkpoint::spawn(store.clone());
        let session_key = session_key(&settings);
        let tls = settings.server.tls.is_some();
        let secure_cookies = settings.session.secure_cookie.unwrap_or(tls);
        // The auth server guards its own /hi and /me with tokens from its own store.
        let required_scope = shared::Scope::parse(&settings.resource.required_scope)
            .map_err(|_| "resource.required_scope is malformed".to_owned())?;
        let guard = web::Data::new(Guard::new(
            LocalValidator::new(lookups),
            &settings.resource.id,
            Some(required_scope),
        ));
        let address = (settings.server.host.as_str(), settings.server.port);
        let listener = TcpListener::bind(address).map_err(|e| {
            format!(
                "cannot listen on {}:{}: {e}",
                settings.server.host, settings.server.port
            )
        })?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let server = HttpServer::new(move || {
            App::new()
                // The last wrapped runs first: oversized requests are refused, and logged.
                .wrap(actix_web::middleware::from_fn(
                    shared::request_limits::enforce,
                ))
                .wrap(actix_web::middleware::from_fn(telemetry::log_request))
                .app_data(state.clone())
                .app_data(guard.clone())
                .configure(http::routes)
                .configure(|cfg| http::pages(cfg, &session_key, secure_cookies))
                .default_service(web::to(http::not_found))
        });
        let mut server = match &settings.server.tls {
            Some(files) => server
                .listen_rustls_0_23(listener, shared::tls::server_config(files)?)
                .map_err(|e| e.to_string())?,
            None => server.listen(listener).map_err(|e| e.to_string())?,
        };
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        log::info!(
            "auth-server listening on {}://{}:{port}, database {}",
            if tls { "https" } else { "http" },
            settings.server.host,
            store.url()
        );
        Ok(Self {
            port,
            server: server.run(),
            store,
            passwords,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The password and secret checker, whose bcrypt work tests can count.
    pub fn passwords(&self) -> Arc<Passwords> {
        self.passwords.clone()
    }

    /// A handle to stop the server from elsewhere (tests, signal handlers).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
