//! Building the server from its settings, and stopping it in order.
//!
//! Storage, then the services, then the HTTP server that routes to them; the background upkeep
//! beside it. Stopping runs the other way: the HTTP server finishes the requests in flight, the
//! background tasks end their round, and the worker pools finish what was queued (the batch writer
//! commits every token it was handed) before the process exits.

use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Key;
use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpServer};
use secrecy::ExposeSecret;
use shared::background::Background;
use shared::guard::Guard;
use shared::metrics::Probes;
use shared::request_body::BodyLimits;
use shared::serving::{self, ListenError};
use shared::telemetry::Observing;

use crate::accounts::{ClientAuthenticator, ClientDirectory, Passwords, UserAuthenticator};
use crate::authority::Authority;
use crate::authorization_endpoint::{AuthorizationEndpoint, AuthorizePolicy};
use crate::db::{Opening, Storage, StorageThreads, Store, StoreError};
use crate::discovery::Discovery;
use crate::domain::clock;
use crate::domain::sign_in_throttle::SignInThrottle;
use crate::http::{self, RequestSettings};
use crate::introspection::{Introspection, IntrospectionPolicy, LocalValidator};
use crate::issuing::Issuer;
use crate::key_publication::KeyPublication;
use crate::openid::OpenIdConnect;
use crate::revocation::Revocation;
use crate::settings::{CounterStore, Settings};
use crate::signing::{self, KeyRing, SigningError};
use crate::stores::redis_counters::{BadRedisUrl, RedisCounters};
use crate::token_endpoint::TokenEndpoint;
use crate::{housekeeping, seed};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database {url}: {cause}")]
    Database { url: String, cause: StoreError },
    #[error("security.bcrypt_cost: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    #[error("demo data: {0}")]
    DemoData(StoreError),
    #[error("JWT signing keys: {0}")]
    Signing(#[from] SigningError),
    #[error(transparent)]
    SignInLimits(#[from] BadRedisUrl),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("metrics listener: {0}")]
    Metrics(ListenError),
    #[error("the OpenAPI description: {0}")]
    OpenApi(#[from] serde_json::Error),
}

/// Opens the database of the settings and brings its schema up to date.
pub fn open_store(settings: &Settings, opening: Opening) -> Result<Store, StartupError> {
    // A command of the command line uses one connection at a time. With a pool of one, taking it
    // never makes the pool open another in the background, which a process about to exit would
    // race: libpq's exit handlers under a connection still opening killed `client show` by a
    // signal now and then.
    let pool_size = match opening {
        Opening::Existing => 1,
        Opening::CreateAndWait { .. } => settings.database.pool_size,
    };
    crate::db::open(
        &settings.database.url,
        pool_size,
        Duration::from_millis(settings.database.connect_timeout_ms),
        opening,
    )
    .map_err(|cause| StartupError::Database {
        url: settings.database.url.to_string(),
        cause,
    })
}

/// How `serve` and `migrate` open their database.
pub fn serving(settings: &Settings) -> Opening {
    Opening::CreateAndWait {
        wait: Duration::from_secs(settings.database.startup_wait_seconds),
    }
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

fn introspection_policy(settings: &Settings) -> IntrospectionPolicy {
    IntrospectionPolicy {
        authorities: settings.introspection.authorities.0.clone(),
        clients: settings.introspection.clients.0.clone(),
    }
}

/// docs/security.md, items 17 and 35: the sign-in throttle on the counters of `brute_force.store`.
/// A Redis that does not answer at start is a warning, not a failure: password checks answer 503
/// until it does, and everything else is served.
async fn sign_in_throttle(settings: &Settings) -> Result<SignInThrottle, StartupError> {
    let brute_force = &settings.brute_force;
    match brute_force.store {
        CounterStore::Memory => Ok(SignInThrottle::new(&brute_force.limits())),
        CounterStore::Redis => {
            let counters = RedisCounters::new(brute_force.redis())?;
            // A Redis that does not answer was logged as a warning by `ping`.
            if counters.ping().await.is_ok() {
                log::info!(
                    "sign-in limits: counted in Redis at {} (keys {}*), shared by every replica",
                    counters.url(),
                    brute_force.key_prefix
                );
            }
            Ok(SignInThrottle::with_counters(counters))
        }
    }
}

/// The services behind the HTTP layer, on one storage and one password checker.
struct Services {
    tokens: web::Data<TokenEndpoint>,
    authorization: web::Data<AuthorizationEndpoint>,
    introspection: web::Data<Introspection>,
    revocation: web::Data<Revocation>,
    keys: web::Data<KeyPublication>,
    /// The auth server guards its own /hi and /me with tokens from its own store.
    guard: web::Data<Guard>,
    openid: web::Data<OpenIdConnect>,
}

impl Services {
    fn new(
        settings: &Settings,
        storage: &Storage,
        passwords: &Arc<Passwords>,
        keys: &Arc<KeyRing>,
        throttle: SignInThrottle,
    ) -> Self {
        let clients = Arc::new(ClientAuthenticator::new(
            ClientDirectory::new(
                storage.clone(),
                settings.security.client_cache_seconds,
                settings.security.secret_cache_capacity,
            ),
            passwords.clone(),
        ));
        let users = Arc::new(UserAuthenticator::new(
            storage.clone(),
            passwords.clone(),
            throttle,
            settings.security.user_cache_seconds,
        ));
        let authority = Authority {
            store: storage.clone(),
            clients: clients.clone(),
            users,
            issuer: Issuer::new(settings.tokens.clone(), keys.clone()),
        };
        Self {
            keys: web::Data::new(KeyPublication::new(
                keys.clone(),
                clients,
                settings.jwt.token_key_access,
                introspection_policy(settings),
            )),
            guard: web::Data::new(Guard::new(
                LocalValidator::new(authority.clone()),
                &settings.resource.id,
                settings.resource.required_scope.clone(),
            )),
            tokens: web::Data::new(TokenEndpoint::new(authority.clone())),
            revocation: web::Data::new(Revocation::new(authority.clone())),
            introspection: web::Data::new(Introspection::new(
                authority.clone(),
                introspection_policy(settings),
            )),
            openid: web::Data::new(OpenIdConnect::new(authority.clone())),
            authorization: web::Data::new(AuthorizationEndpoint::new(
                authority,
                AuthorizePolicy {
                    pkce_plain_allowed: settings.security.pkce_plain_allowed,
                },
            )),
        }
    }
}

/// A server bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    /// The separate `/metrics` listener, when there is one, and its port.
    metrics: Option<(Server, u16)>,
    storage: Storage,
    passwords: Arc<Passwords>,
    background: Background,
}

impl Application {
    /// Binds `server.host:server.port` (port 0 picks a free one), migrates, seeds if asked.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let store = open_store(&settings, serving(&settings))?;
        let passwords = Arc::new(Passwords::new(&settings.security.check_settings())?);
        if settings.demo.seed {
            for inserted in seed::demo(&store, &passwords).map_err(StartupError::DemoData)? {
                log::info!("demo data: inserted {inserted}");
            }
        }
        let threads = StorageThreads::resolve(
            store.backend(),
            settings.database.readers,
            settings.database.writers,
            settings.database.write_batch_max,
        );
        let (keys, key_source) = signing::store::open(&settings.jwt, &store, clock::now())?;
        let keys = Arc::new(keys);
        let storage = Storage::new(store, threads);
        let throttle = sign_in_throttle(&settings).await?;
        let services = Services::new(&settings, &storage, &passwords, &keys, throttle);
        let background = Background::new();
        housekeeping::schedule(&background, &storage, &settings.purge);
        signing::store::schedule_reload(
            &background,
            &storage,
            keys.clone(),
            key_source,
            Duration::from_secs(settings.jwt.reload_seconds),
        );

        let requests = web::Data::new(RequestSettings {
            max_body_bytes: settings.security.max_body_bytes,
            trust_forwarded_for: settings.brute_force.trust_forwarded_for,
            session_max_age: settings.session.max_age_seconds,
        });
        let health = web::Data::new(storage.clone());
        let bodies = web::Data::new(BodyLimits {
            max_bytes: settings.security.max_body_bytes,
            deadline: Duration::from_millis(settings.server.body_timeout_ms),
        });
        let discovery = web::Data::new(Discovery::new(
            storage.clone(),
            keys.clone(),
            settings.security.pkce_plain_allowed,
            settings.discovery.service_documentation(),
        ));
        let issuer_path = settings
            .server
            .issuer
            .as_deref()
            .and_then(crate::discovery::well_known_path);
        let probes = Probes(vec![crate::metrics::pool_probe(storage.store().clone())]);
        let metrics = shared::metrics::serve(&settings.metrics, probes.clone())
            .map_err(StartupError::Metrics)?;
        let metrics_on_main = settings.metrics.on_main();
        let probes = web::Data::new(probes);
        let observing = Observing {
            trust_request_id: settings.log.trust_request_id,
        };
        let description = web::Data::new(shared::openapi::Description::new(
            &http::openapi::description(issuer_path.as_deref()),
        )?);
        let session_key = session_key(&settings);
        let secure_cookies = settings
            .session
            .secure_cookie
            .unwrap_or(settings.server.tls.is_some());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(move |request, next| {
                    shared::front_door::enter(observing, request, next)
                }))
                .app_data(services.tokens.clone())
                .app_data(services.authorization.clone())
                .app_data(services.introspection.clone())
                .app_data(services.revocation.clone())
                .app_data(services.keys.clone())
                .app_data(requests.clone())
                .app_data(bodies.clone())
                .app_data(health.clone())
                .app_data(services.guard.clone())
                .app_data(services.openid.clone())
                .app_data(discovery.clone())
                .app_data(probes.clone())
                .app_data(description.clone())
                .configure(|cfg| {
                    http::mount(
                        cfg,
                        &http::Mounting {
                            session_key: &session_key,
                            secure_cookies,
                            issuer_path: issuer_path.as_deref(),
                        },
                    );
                })
                .configure(|cfg| http::metrics(cfg, metrics_on_main))
                .default_service(web::to(http::not_found))
        });
        let (server, port) = serving::serve(server, &settings.server)?;
        keys.set_issuer(settings.server.issuer(port));
        log::info!(
            "auth-server listening on {}://{}:{port}, database {}",
            settings.server.scheme(),
            settings.server.host,
            storage.store().url()
        );
        if let Some((_, metrics_port)) = &metrics {
            log::info!(
                "auth-server metrics on http://{}:{metrics_port}/metrics",
                settings.metrics.host
            );
        }
        Ok(Self {
            port,
            server,
            metrics,
            storage,
            passwords,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The separate metrics listener's port, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    pub fn store(&self) -> &Store {
        self.storage.store()
    }

    /// The password and secret checker, whose bcrypt work tests can count.
    pub fn passwords(&self) -> Arc<Passwords> {
        self.passwords.clone()
    }

    /// A handle to stop the server from elsewhere (tests, signal handlers).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then stops everything behind the HTTP server in order.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(server, _)| server);
        let served = shared::metrics::run_beside(self.server, metrics).await;
        self.background.stop().await;
        let (storage, passwords) = (self.storage, self.passwords);
        let stopped = tokio::task::spawn_blocking(move || {
            storage.shutdown();
            passwords.shutdown();
        })
        .await;
        if let Err(error) = stopped {
            log::error!("stopping the worker threads failed: {error}");
        }
        log::info!("auth-server stopped");
        served
    }
}
