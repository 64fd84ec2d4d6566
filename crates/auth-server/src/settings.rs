//! The auth server's configuration (docs/configuration.md).

use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;
use shared::metrics::MetricsSettings;
use shared::serving::ServerSettings;
use shared::settings::{check, load, CommaList, Layers};
use shared::telemetry::LogSettings;
use shared::Scope;

use crate::accounts::passwords::CheckSettings;
use crate::db::DatabaseUrl;
use crate::domain::sign_in_throttle::SignInLimits;
use crate::issuing::TokenPolicy;
use crate::signing::{JwtSettings, SigningAlgorithm};
use crate::stores::redis_counters::{RedisCountersSettings, RedisUrl};
use crate::workers::Priority;

pub const DEFAULTS_TOML: &str = include_str!("../../../config/auth-server.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub database: DatabaseSettings,
    pub demo: DemoSettings,
    pub session: SessionSettings,
    pub tokens: TokenPolicy,
    pub jwt: JwtSettings,
    pub security: SecuritySettings,
    pub introspection: IntrospectionSettings,
    pub resource: ResourceSettings,
    pub brute_force: BruteForceSettings,
    pub purge: PurgeSettings,
    pub discovery: DiscoverySettings,
}

/// What the metadata document (RFC 8414) says beyond what the server knows of itself.
#[derive(Debug, Clone, Deserialize)]
pub struct DiscoverySettings {
    /// `service_documentation`: where this deployment documents its endpoints for developers
    /// (empty: not published).
    pub service_documentation: String,
}

impl DiscoverySettings {
    pub fn service_documentation(&self) -> Option<String> {
        Some(self.service_documentation.clone()).filter(|url| !url.is_empty())
    }
}

/// docs/security.md, item 17: password guessing at the login form and the password grant.
#[derive(Debug, Clone, Deserialize)]
pub struct BruteForceSettings {
    pub max_failures_per_user: u32,
    pub max_failures_per_address: u32,
    pub window_seconds: u64,
    pub lockout_seconds: u64,
    pub capacity: u64,
    /// Take the client address from the last `X-Forwarded-For` entry (the one the load balancer
    /// in front of this server appended) instead of the connection's peer.
    pub trust_forwarded_for: bool,
    /// Where failures are counted: in this process, or in Redis, shared by every replica.
    pub store: CounterStore,
    /// The Redis of `store = "redis"`; may hold a password, so it never prints one.
    pub redis_url: RedisUrl,
    /// Put before every key this server writes in Redis, so deployments can share one Redis.
    pub key_prefix: String,
    /// How long one Redis operation (connecting included) may take before the sign-in answers
    /// 503.
    pub redis_timeout_ms: u64,
}

/// `brute_force.store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CounterStore {
    /// Per process: N replicas give N times the allowance.
    Memory,
    /// Shared by every replica through one Redis.
    Redis,
}

impl BruteForceSettings {
    pub fn limits(&self) -> SignInLimits {
        SignInLimits {
            max_failures_per_user: self.max_failures_per_user,
            max_failures_per_address: self.max_failures_per_address,
            window: std::time::Duration::from_secs(self.window_seconds),
            lockout: std::time::Duration::from_secs(self.lockout_seconds),
            capacity: self.capacity,
        }
    }

    /// What the Redis counters of `store = "redis"` need.
    pub fn redis(&self) -> RedisCountersSettings {
        RedisCountersSettings {
            url: self.redis_url.clone(),
            key_prefix: self.key_prefix.clone(),
            timeout: std::time::Duration::from_millis(self.redis_timeout_ms),
            limits: self.limits(),
        }
    }
}

/// Expired codes, tokens and approvals are deleted in the background.
#[derive(Debug, Clone, Deserialize)]
pub struct PurgeSettings {
    /// Seconds between two purges (0: never).
    pub interval_seconds: u64,
    /// Rows deleted per transaction, so a purge never holds the write lock for long.
    pub batch_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IntrospectionSettings {
    /// Authorities that let a client introspect.
    pub authorities: CommaList,
    /// Client ids that may introspect.
    pub clients: CommaList,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ResourceSettings {
    pub id: String,
    /// A scope every request to /hi and /me must carry, as on the resource server (empty: none).
    pub required_scope: Scope,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// May hold a password: kept out of `Debug` output and logs.
    pub url: DatabaseUrl,
    pub pool_size: u32,
    pub connect_timeout_ms: u64,
    /// How long `serve` and `migrate` keep trying a database that does not answer yet.
    pub startup_wait_seconds: u64,
    /// Threads that commit new tokens in batches (0: 1 on SQLite, 2 on PostgreSQL), and the most
    /// writes one batch commits.
    pub writers: usize,
    pub write_batch_max: usize,
    /// Threads for the short reads of hot paths (token lookups); 0: two per core.
    pub readers: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoSettings {
    pub seed: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    pub key: Option<SecretString>,
    /// How long a sign-in lasts.
    pub max_age_seconds: i64,
    /// Mark the session cookie `Secure`. Unset: only when this server speaks HTTPS itself; set it
    /// to true behind a proxy that terminates TLS.
    pub secure_cookie: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    pub bcrypt_cost: u32,
    pub max_body_bytes: usize,
    /// Threads that run bcrypt (0: one fewer than the cores, at least one), their niceness, and
    /// how many checks may wait before the next one is turned away with 503.
    pub bcrypt_threads: usize,
    pub bcrypt_nice: i32,
    pub bcrypt_queue: usize,
    /// How long a successful client-secret check is remembered (0: never), and how many.
    pub secret_cache_seconds: u64,
    pub secret_cache_capacity: u64,
    /// How long a client's registration is remembered (0: read it for every request).
    pub client_cache_seconds: u64,
    /// Whether PKCE's `plain` method is accepted; false: only S256.
    pub pkce_plain_allowed: bool,
    /// Whether `user passwd` ends the user's grants and browser sessions.
    pub revoke_on_password_change: bool,
    /// How long a user's record is remembered when a token of theirs is checked (0: read it every
    /// time): a removed or disabled user's tokens stop working within this.
    pub user_cache_seconds: u64,
}

impl SecuritySettings {
    pub fn check_settings(&self) -> CheckSettings {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        CheckSettings {
            cost: self.bcrypt_cost,
            threads: match self.bcrypt_threads {
                0 => cores.saturating_sub(1).max(1),
                n => n,
            },
            priority: match self.bcrypt_nice {
                0 => Priority::Normal,
                nice => Priority::Lowered(nice),
            },
            queue: self.bcrypt_queue,
            secret_cache_seconds: self.secret_cache_seconds,
            secret_cache_capacity: self.secret_cache_capacity,
        }
    }
}

impl Settings {
    /// Defaults, then `config/auth-server.toml` or `explicit_file`, then `APP__…` variables.
    pub fn load(explicit_file: Option<&Path>) -> Result<Self, String> {
        let settings: Settings = load(&Layers {
            defaults_toml: DEFAULTS_TOML,
            default_file: Path::new("config/auth-server.toml"),
            explicit_file,
            aliases: &[("DATABASE_URL", "database.url")],
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// The defaults alone, for tests and tools.
    pub fn defaults() -> Self {
        let settings: Settings = load(&Layers {
            defaults_toml: DEFAULTS_TOML,
            default_file: Path::new("/nonexistent"),
            explicit_file: None,
            aliases: &[],
        })
        .expect("the embedded defaults file is valid");
        settings
    }

    fn validate(&self) -> Result<(), String> {
        self.metrics.validate(&self.server)?;
        if let Some(issuer) = self.server.issuer.as_deref().filter(|i| !i.is_empty()) {
            check(
                url::Url::parse(issuer).is_ok_and(|url| {
                    matches!(url.scheme(), "http" | "https")
                        && url.host().is_some()
                        && url.query().is_none()
                        && url.fragment().is_none()
                        // Its path is served as given (RFC 8414 §3); percent-escapes would not
                        // match the path a request arrives at.
                        && !url.path().contains('%')
                }),
                "server.issuer",
                "must be an absolute http:// or https:// URL with no query, fragment or \
                 percent-escape",
            )?;
        }
        if let Some(url) = self.discovery.service_documentation() {
            check(
                url::Url::parse(&url).is_ok_and(|url| matches!(url.scheme(), "http" | "https")),
                "discovery.service_documentation",
                "must be an absolute http:// or https:// URL",
            )?;
        }
        check(
            self.jwt.algorithm != SigningAlgorithm::HS256 || self.jwt.secret.is_some(),
            "jwt.secret",
            "must be set when jwt.algorithm is HS256 (the secret shared with resource servers)",
        )?;
        check(
            self.jwt.rotation_delay_seconds >= 0,
            "jwt.rotation_delay_seconds",
            "must be 0 or more",
        )?;
        check(
            self.jwt.reload_seconds >= 1,
            "jwt.reload_seconds",
            "must be at least 1",
        )?;
        check(
            self.database.pool_size >= 1,
            "database.pool_size",
            "must be at least 1",
        )?;
        check(
            (1..=10_000).contains(&self.database.write_batch_max),
            "database.write_batch_max",
            "must be between 1 and 10000",
        )?;
        check(
            self.database.connect_timeout_ms >= 1,
            "database.connect_timeout_ms",
            "must be at least 1",
        )?;
        check(
            (1..=600).contains(&self.tokens.code_validity),
            "tokens.code_validity",
            "must be between 1 and 600 seconds (RFC 6749 §4.1.2: at most 10 minutes)",
        )?;
        check(
            self.session.max_age_seconds >= 60,
            "session.max_age_seconds",
            "must be at least 60",
        )?;
        check(
            (4..=31).contains(&self.security.bcrypt_cost),
            "security.bcrypt_cost",
            "must be between 4 and 31",
        )?;
        check(
            (0..=19).contains(&self.security.bcrypt_nice),
            "security.bcrypt_nice",
            "must be between 0 and 19",
        )?;
        check(
            self.security.bcrypt_queue >= 1,
            "security.bcrypt_queue",
            "must be at least 1",
        )?;
        check(
            self.security.secret_cache_capacity >= 1,
            "security.secret_cache_capacity",
            "must be at least 1",
        )?;
        check(
            self.security.max_body_bytes >= 1024,
            "security.max_body_bytes",
            "must be at least 1024",
        )?;
        check(
            (1..=86_400).contains(&self.brute_force.lockout_seconds),
            "brute_force.lockout_seconds",
            "must be between 1 and 86400 (a day)",
        )?;
        check(
            self.brute_force.window_seconds <= 30 * 86_400,
            "brute_force.window_seconds",
            "must be at most 2592000 (30 days)",
        )?;
        check(
            self.brute_force.window_seconds >= self.brute_force.lockout_seconds,
            "brute_force.window_seconds",
            "must be at least brute_force.lockout_seconds",
        )?;
        check(
            self.brute_force.capacity >= 1,
            "brute_force.capacity",
            "must be at least 1",
        )?;
        if self.brute_force.store == CounterStore::Redis {
            check(
                !self.brute_force.redis_url.is_empty(),
                "brute_force.redis_url",
                "must be set when brute_force.store is redis",
            )?;
            check(
                self.brute_force.redis_url.is_usable(),
                "brute_force.redis_url",
                "must be a redis://host[:port][/db] or redis+unix:///path URL (rediss:// is not \
                 supported)",
            )?;
        }
        check(
            !self.brute_force.key_prefix.is_empty()
                && self.brute_force.key_prefix.len() <= 100
                && self
                    .brute_force
                    .key_prefix
                    .bytes()
                    .all(|b| b.is_ascii_graphic()),
            "brute_force.key_prefix",
            "must be 1 to 100 printable ASCII characters without spaces",
        )?;
        check(
            (1..=60_000).contains(&self.brute_force.redis_timeout_ms),
            "brute_force.redis_timeout_ms",
            "must be between 1 and 60000",
        )?;
        check(
            (1..=10_000).contains(&self.purge.batch_size),
            "purge.batch_size",
            "must be between 1 and 10000",
        )?;
        check(
            shared::Scope::parse(&self.resource.id).is_ok_and(|s| s.iter().count() == 1),
            "resource.id",
            "must be one word of printable ASCII without quotes",
        )?;
        if let Some(key) = &self.session.key {
            use secrecy::ExposeSecret;
            check(
                key.expose_secret().len() >= 64,
                "session.key",
                "must be at least 64 bytes long",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redis_store_needs_a_usable_url_and_never_prints_its_password() {
        let with = |url: &str| {
            let mut settings = Settings::defaults();
            settings.brute_force.store = CounterStore::Redis;
            settings.brute_force.redis_url = RedisUrl::new(url);
            settings.validate()
        };
        for good in [
            "redis://127.0.0.1:6379",
            "redis://:secret@redis.internal/2",
            "redis+unix:///run/redis.sock",
        ] {
            assert!(with(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "127.0.0.1:6379",
            "rediss://redis.internal",
            "http://x",
            "redis://host/not-a-db",
        ] {
            let refused = with(bad).unwrap_err();
            assert!(
                refused.contains("brute_force.redis_url"),
                "{bad}: {refused}"
            );
        }
        let url = RedisUrl::new("redis://user:secret@redis.internal:6380/1");
        assert_eq!(url.to_string(), "redis://user:***@redis.internal:6380/1");
        assert!(!format!("{url:?}").contains("secret"));
        // The memory store ignores the URL.
        assert!(Settings::defaults().validate().is_ok());
    }

    #[test]
    fn the_issuer_is_checked_at_start() {
        let with_issuer = |issuer: &str| {
            let mut settings = Settings::defaults();
            settings.server.issuer = Some(issuer.into());
            settings.validate()
        };
        for good in [
            "https://auth.example.com",
            "https://auth.example.com/tenant",
            "http://localhost:8081",
        ] {
            assert!(with_issuer(good).is_ok(), "{good}");
        }
        for bad in [
            "auth.example.com",
            "ftp://auth.example.com",
            "https://auth.example.com?x=1",
            "https://auth.example.com#top",
            "https://auth.example.com/t%C3%A9nant",
            "/relative",
        ] {
            let refused = with_issuer(bad).unwrap_err();
            assert!(refused.contains("server.issuer"), "{bad}: {refused}");
        }
    }
}
