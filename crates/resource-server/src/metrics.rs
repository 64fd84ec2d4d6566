//! What the resource server counts for `/metrics` (docs/operations.md, "Metrics"), beside the HTTP
//! metrics both servers share: how often its token caches answer, and how full they are.

use std::sync::{Arc, LazyLock};

use prometheus::{IntCounter, IntCounterVec, IntGaugeVec};
use shared::metrics::{counter_vec, gauge_vec, Probe};

/// The two caches: introspection answers, and verified JWTs.
#[derive(Debug, Clone, Copy)]
pub enum TokenCache {
    Introspection,
    Jwt,
}

impl TokenCache {
    fn label(self) -> &'static str {
        match self {
            Self::Introspection => "introspection",
            Self::Jwt => "jwt",
        }
    }
}

struct Metrics {
    /// By [`TokenCache`], looked up once: every request counts a hit or a miss.
    hits: [Option<IntCounter>; 2],
    misses: [Option<IntCounter>; 2],
    entries: Option<IntGaugeVec>,
    introspections: Option<IntCounterVec>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    hits: by_cache(counter_vec(
        "token_cache_hits_total",
        "Tokens answered from a cache, by cache (introspection, jwt)",
        &["cache"],
    )),
    misses: by_cache(counter_vec(
        "token_cache_misses_total",
        "Tokens not in a cache (introspected, or a JWT verified), by cache",
        &["cache"],
    )),
    entries: gauge_vec(
        "token_cache_entries",
        "Tokens held by a cache, by cache",
        &["cache"],
    ),
    introspections: counter_vec(
        "introspection_requests_total",
        "Requests sent to the authorization server's introspection endpoint",
        &[],
    ),
});

fn by_cache(vec: Option<IntCounterVec>) -> [Option<IntCounter>; 2] {
    [TokenCache::Introspection, TokenCache::Jwt]
        .map(|cache| vec.as_ref().map(|v| v.with_label_values(&[cache.label()])))
}

/// A token was answered from `cache`.
pub fn hit(cache: TokenCache) {
    if let Some(counter) = &METRICS.hits[cache as usize] {
        counter.inc();
    }
}

/// A token had to be introspected or verified.
pub fn miss(cache: TokenCache) {
    if let Some(counter) = &METRICS.misses[cache as usize] {
        counter.inc();
    }
}

/// One request to the introspection endpoint.
pub fn introspection_sent() {
    if let Some(counter) = &METRICS.introspections {
        counter.with_label_values::<&str>(&[]).inc();
    }
}

/// Reads how many tokens `cache` holds when `/metrics` is scraped.
pub fn size_probe(cache: TokenCache, size: impl Fn() -> u64 + Send + Sync + 'static) -> Probe {
    Arc::new(move || {
        if let Some(gauge) = &METRICS.entries {
            gauge
                .with_label_values(&[cache.label()])
                .set(i64::try_from(size()).unwrap_or(i64::MAX));
        }
    })
}
