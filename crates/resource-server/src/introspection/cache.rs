//! The introspection cache: bounded in size and in time, keyed by a hash of the token.
//!
//! A positive answer lives `cache_ttl_seconds` at most and never past the token's `exp`; a negative
//! one `negative_cache_ttl_seconds`. Concurrent requests for one uncached token share a single
//! introspection call (moka's `try_get_with`). Failures are not cached: the next request asks again,
//! so the server recovers as soon as the authorization server does.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use moka::future::Cache;
use moka::Expiry;
use sha2::{Digest, Sha256};
use shared::background::Background;
use shared::guard::{TokenClaims, TokenValidator, Validation, ValidationFuture};
use shared::{ApiError, ErrorCode};

use super::client::Verdict;
use super::IntrospectionClient;
use crate::metrics::{self, TokenCache};
use crate::settings::IntrospectionSettings;

/// SHA-256 of the token: the cache never holds token values.
type Key = [u8; 32];

/// A remembered answer: the claims of an active token shared by every request that presents it.
#[derive(Clone)]
enum Remembered {
    Active(Arc<TokenClaims>),
    Expired,
    Invalid,
}

struct Lifetimes {
    positive: Duration,
    negative: Duration,
}

fn seconds_until(exp: i64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Duration::from_secs(exp.saturating_sub(now).max(0) as u64)
}

impl Expiry<Key, Remembered> for Lifetimes {
    fn expire_after_create(&self, _: &Key, answer: &Remembered, _: Instant) -> Option<Duration> {
        Some(match answer {
            Remembered::Expired | Remembered::Invalid => self.negative,
            Remembered::Active(claims) => match claims.expires_at {
                Some(exp) => self.positive.min(seconds_until(exp)),
                None => self.positive,
            },
        })
    }
}

pub struct CachingValidator {
    client: Arc<IntrospectionClient>,
    cache: Cache<Key, Remembered>,
}

impl CachingValidator {
    pub fn new(client: Arc<IntrospectionClient>, settings: &IntrospectionSettings) -> Self {
        let cache = Cache::builder()
            .max_capacity(settings.cache_capacity)
            .expire_after(Lifetimes {
                positive: Duration::from_secs(settings.cache_ttl_seconds),
                negative: Duration::from_secs(settings.negative_cache_ttl_seconds),
            })
            .build();
        Self { client, cache }
    }

    pub fn client(&self) -> &IntrospectionClient {
        &self.client
    }

    pub fn cached_tokens(&self) -> u64 {
        self.cache.entry_count()
    }

    /// moka applies buffered writes and expiries on whichever thread trips its housekeeping; a burst
    /// of tokens expiring together then stalls one request (measured: over 500 ms after 10,000
    /// tokens expired at once). A background task does the housekeeping every 100 ms instead, in
    /// small pieces.
    pub fn maintain_on(&self, background: &Background) {
        let cache = self.cache.clone();
        background.every(
            "introspection-cache",
            Duration::from_millis(100),
            move || {
                let cache = cache.clone();
                async move { cache.run_pending_tasks().await }
            },
        );
    }
}

impl TokenValidator for CachingValidator {
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
        Box::pin(async move {
            let key: Key = Sha256::digest(token.as_bytes()).into();
            // Set when this request is the one that asks (concurrent askers of one token wait
            // for it: hits).
            let mut asked = false;
            let remembered = self
                .cache
                .try_get_with(key, async {
                    asked = true;
                    self.client
                        .introspect(token)
                        .await
                        .map(|verdict| match verdict {
                            Verdict::Active(claims) => Remembered::Active(Arc::new(claims)),
                            Verdict::Expired => Remembered::Expired,
                            Verdict::Invalid => Remembered::Invalid,
                        })
                })
                .await
                .map_err(|e: Arc<ApiError>| {
                    ApiError::new(ErrorCode::TokenValidationUnavailable).with_cause(&e)
                })?;
            match asked {
                true => metrics::miss(TokenCache::Introspection),
                false => metrics::hit(TokenCache::Introspection),
            }
            Ok(match remembered {
                Remembered::Active(claims) => Validation::Active(claims),
                Remembered::Expired => Validation::Expired,
                Remembered::Invalid => Validation::Invalid,
            })
        })
    }
}
