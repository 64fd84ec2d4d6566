//! docs/security.md, items 17 and 35: the sign-in failure counters in Redis (`brute_force.store =
//! "redis"`), shared by every replica, so N replicas give a guesser the allowance of one.
//!
//! The rules are `domain::sign_in_throttle`'s, and `redis_counters.lua` applies them: one script
//! call per operation, run whole by Redis, timed by Redis' clock, each counter expiring when the
//! rules would forget it. Keys are `{key_prefix}user:{SHA-256 of the case-folded username}` and
//! `{key_prefix}address:{IPv4 address or IPv6 /64}`: no username reaches Redis.
//!
//! Redis may be down or slow. Every operation, connecting included, has `brute_force.
//! redis_timeout_ms`; one that does not answer in time is [`CountersUnavailable`], which the
//! sign-in answers 503 before any bcrypt work, never an uncounted guess. Nothing at start needs
//! Redis (a PING there only logs whether it answers), so the server starts without it; a failed
//! connection is made again by a later operation, so it recovers without a restart. Going down and
//! coming back are logged once each.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::domain::sign_in_throttle::{
    AttemptKeys, Counted, CountersUnavailable, FailureCounters, SignInLimits, Wait,
};

/// The rules, as Redis runs them.
const RULES: &str = include_str!("redis_counters.lua");

/// After a failed operation, a new connection is made at most this often. The connection manager
/// reconnects by itself after a dropped connection; a new one also covers what it does not retry
/// (a connection refused while it was being set up, e.g. while Redis loads its data).
const RENEW_AFTER: Duration = Duration::from_secs(1);

/// `brute_force.redis_url`: `redis://[user:password@]host[:port][/db]` or `redis+unix:///path`;
/// empty when not set.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "String")]
pub struct RedisUrl(String);

impl RedisUrl {
    pub fn new(url: &str) -> Self {
        Self(url.to_owned())
    }

    /// The URL itself, password included: for the Redis client only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the client can use it (it reads it without connecting). `rediss://` (TLS) is
    /// refused rather than silently sent in clear: this build has no TLS for Redis.
    pub fn is_usable(&self) -> bool {
        let scheme_ok = url::Url::parse(&self.0).is_ok_and(|url| match url.scheme() {
            "redis" => url.host().is_some(),
            "redis+unix" | "unix" => !url.path().is_empty(),
            _ => false,
        });
        scheme_ok && redis::Client::open(self.0.as_str()).is_ok()
    }
}

impl From<String> for RedisUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

/// Never prints a password: `redis://:***@host:6379`.
impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) => {
                if parsed.password().is_some() {
                    let _ = parsed.set_password(Some("***"));
                }
                write!(f, "{parsed}")
            }
            Err(_) if self.0.is_empty() => f.write_str("(none)"),
            Err(_) => f.write_str("(unparsable URL)"),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What the counters need from `brute_force.*`.
#[derive(Debug, Clone)]
pub struct RedisCountersSettings {
    pub url: RedisUrl,
    /// Put before every key, so deployments can share one Redis.
    pub key_prefix: String,
    /// For one operation, connecting included.
    pub timeout: Duration,
    pub limits: SignInLimits,
}

pub struct RedisCounters {
    client: redis::Client,
    /// For the log: never prints a password.
    url: RedisUrl,
    prefix: String,
    limits: SignInLimits,
    timeout: Duration,
    script: redis::Script,
    connection: Mutex<Option<Connection>>,
    /// Whether the last operation was answered: the log says when this changes, not at every
    /// request.
    answering: AtomicBool,
}

struct Connection {
    manager: ConnectionManager,
    made: Instant,
}

/// Why an operation got no answer.
enum Failure {
    Redis(redis::RedisError),
    Timeout,
}

#[derive(Debug, thiserror::Error)]
#[error("brute_force.redis_url: {0}")]
pub struct BadRedisUrl(String);

impl RedisCounters {
    /// Reads the settings; connects at the first operation.
    pub fn new(settings: RedisCountersSettings) -> Result<Self, BadRedisUrl> {
        let client = redis::Client::open(settings.url.expose())
            .map_err(|error| BadRedisUrl(error.to_string()))?;
        Ok(Self {
            client,
            url: settings.url,
            prefix: settings.key_prefix,
            limits: settings.limits,
            timeout: settings.timeout,
            script: redis::Script::new(RULES),
            connection: Mutex::new(None),
            answering: AtomicBool::new(true),
        })
    }

    pub fn url(&self) -> &RedisUrl {
        &self.url
    }

    /// Whether Redis answers now (a PING), for the log at start.
    pub async fn ping(&self) -> Result<(), CountersUnavailable> {
        self.run(|mut manager| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut manager)
                .await
                .map(drop)
        })
        .await
    }

    /// The connection manager, made now if there is none, or if `renew` and the one there is
    /// is old enough to be replaced. It connects when first used.
    fn manager(&self, renew: bool) -> redis::RedisResult<ConnectionManager> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = connection.as_ref() {
            if !(renew && current.made.elapsed() >= RENEW_AFTER) {
                return Ok(current.manager.clone());
            }
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            // No retries inside the manager: the next operation tries again. A Redis that is down
            // costs each sign-in one refused connection rather than the whole timeout, and one
            // that is back is found by the first sign-in after.
            .set_number_of_retries(0);
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        *connection = Some(Connection {
            manager: manager.clone(),
            made: Instant::now(),
        });
        Ok(manager)
    }

    /// Runs one operation within the timeout, connecting first if needed; logs when Redis stops
    /// or starts answering again.
    async fn run<T, F, Fut>(&self, operation: F) -> Result<T, CountersUnavailable>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut outcome = self.try_once(&operation, deadline).await;
        // A refused connection sent nothing, so nothing was counted: once more, on the connection
        // the manager began making when it was refused. Without this, the first sign-in after an
        // outage would get the refusal of a connection tried before Redis was back.
        if matches!(&outcome, Err(Failure::Redis(error)) if error.is_connection_refusal()) {
            outcome = self.try_once(&operation, deadline).await;
        }
        match outcome {
            Ok(value) => {
                if !self.answering.swap(true, Ordering::Relaxed) {
                    log::info!(
                        "sign-in limit store {} answers again: password checks resume",
                        self.url
                    );
                }
                Ok(value)
            }
            Err(failure) => {
                let cause = match failure {
                    Failure::Redis(error) => error.to_string(),
                    Failure::Timeout => {
                        format!("no answer within {} ms", self.timeout.as_millis())
                    }
                };
                if self.answering.swap(false, Ordering::Relaxed) {
                    log::warn!(
                        "sign-in limit store {} does not answer ({cause}): password checks \
                         answer 503 until it does",
                        self.url
                    );
                }
                // The next operation runs on a new connection, unless this one is too recent.
                if let Err(error) = self.manager(true) {
                    log::error!("sign-in limit store {}: {error}", self.url);
                }
                Err(CountersUnavailable(cause))
            }
        }
    }

    async fn try_once<T, F, Fut>(
        &self,
        operation: &F,
        deadline: tokio::time::Instant,
    ) -> Result<T, Failure>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let manager = self.manager(false).map_err(Failure::Redis)?;
        match tokio::time::timeout_at(deadline, operation(manager)).await {
            Ok(answer) => answer.map_err(Failure::Redis),
            Err(_elapsed) => Err(Failure::Timeout),
        }
    }

    /// One operation of `redis_counters.lua` on the attempt's keys.
    fn invoke<'a>(&'a self, operation: &'static str, keys: &'a AttemptKeys) -> Counted<'a> {
        Box::pin(async move {
            let mut invocation = self.script.prepare_invoke();
            invocation.key(format!("{}user:{}", self.prefix, keys.account));
            if let Some(address) = &keys.address {
                invocation.key(format!("{}address:{address}", self.prefix));
            }
            invocation
                .arg(operation)
                .arg(self.limits.max_failures_per_user)
                .arg(self.limits.max_failures_per_address)
                .arg(millis(self.limits.window))
                .arg(millis(self.limits.lockout));
            let invocation = &invocation;
            let waited: u64 = self
                .run(|mut manager| async move { invocation.invoke_async(&mut manager).await })
                .await?;
            Ok(wait_of(waited))
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn wait_of(milliseconds: u64) -> Wait {
    (milliseconds > 0).then(|| Duration::from_millis(milliseconds))
}

impl FailureCounters for RedisCounters {
    fn locked<'a>(&'a self, keys: &'a AttemptKeys) -> Counted<'a> {
        self.invoke("locked", keys)
    }

    fn failed<'a>(&'a self, keys: &'a AttemptKeys) -> Counted<'a> {
        self.invoke("failed", keys)
    }

    fn succeeded<'a>(&'a self, keys: &'a AttemptKeys) -> Counted<'a> {
        self.invoke("succeeded", keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sign_in_throttle::{Refused, SignInThrottle};

    /// Settings for counters at `url`, under a key prefix no other test uses.
    fn settings(url: &str, limits: SignInLimits) -> RedisCountersSettings {
        RedisCountersSettings {
            url: RedisUrl::new(url),
            key_prefix: format!("test:{}:", uuid::Uuid::new_v4().simple()),
            timeout: Duration::from_secs(2),
            limits,
        }
    }

    fn limits() -> SignInLimits {
        SignInLimits {
            max_failures_per_user: 5,
            max_failures_per_address: 20,
            window: Duration::from_secs(900),
            lockout: Duration::from_secs(60),
            capacity: 1,
        }
    }

    fn test_redis_url() -> Option<String> {
        let url = std::env::var("TEST_REDIS_URL").ok();
        if url.is_none() {
            eprintln!("skipped: TEST_REDIS_URL is not set, the Redis counters not tested");
        }
        url
    }

    /// Counters in the Redis of `TEST_REDIS_URL`, so tests run in parallel on one Redis; `None`
    /// without it.
    fn redis_throttle(limits: SignInLimits) -> Option<SignInThrottle> {
        let counters = RedisCounters::new(settings(&test_redis_url()?, limits))
            .expect("TEST_REDIS_URL is a Redis URL");
        Some(SignInThrottle::with_counters(counters))
    }

    // The rules' tests, as the memory counters pass them.
    crate::domain::sign_in_throttle::rules_tests!(redis_throttle);

    #[test]
    fn a_bad_url_is_refused_when_read() {
        assert!(RedisCounters::new(settings("http://not-redis", limits())).is_err());
    }

    #[tokio::test]
    async fn a_redis_that_does_not_answer_is_unavailable_within_the_timeout() {
        // A port nothing listens on: connections are refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut settings = settings(&format!("redis://127.0.0.1:{port}"), limits());
        settings.timeout = Duration::from_millis(300);
        let counters = RedisCounters::new(settings).expect("a Redis URL");
        let started = Instant::now();
        assert!(counters.ping().await.is_err());
        let throttle = SignInThrottle::with_counters(counters);
        let refused = throttle.begin("admin", None).await;
        assert!(matches!(refused, Err(Refused::Unavailable(_))));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn keys_name_no_username_and_expire_with_the_window() {
        let Some(url) = test_redis_url() else {
            return;
        };
        let settings = settings(&url, limits());
        let prefix = settings.key_prefix.clone();
        let throttle = SignInThrottle::with_counters(RedisCounters::new(settings).expect("URL"));
        let from = Some("203.0.113.9".parse().expect("an address"));
        throttle
            .begin("Secret.Name", from)
            .await
            .expect("open")
            .failed()
            .await
            .expect("counted");

        let client = redis::Client::open(url).expect("URL");
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .expect("Redis answers");
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut connection)
            .await
            .expect("KEYS");
        keys.sort();
        let account = crate::domain::sign_in_throttle::AccountKey::of("secret.name");
        assert_eq!(
            keys,
            [
                format!("{prefix}address:203.0.113.9"),
                format!("{prefix}user:{account}"),
            ]
        );
        for key in &keys {
            assert!(!key.to_lowercase().contains("secret.name"), "{key}");
            let ttl: i64 = redis::cmd("PTTL")
                .arg(key)
                .query_async(&mut connection)
                .await
                .expect("PTTL");
            assert!((899_000..=900_000).contains(&ttl), "{key}: {ttl}");
        }
    }
}
