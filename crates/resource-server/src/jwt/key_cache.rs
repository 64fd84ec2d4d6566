//! The key set in use, fetched again in the background every `jwt.cache_seconds`, and at once when
//! a token names a key it lacks (a key rotated in at the auth server) — at most once every
//! `jwt.refetch_min_interval_ms`, so tokens naming made-up keys cannot turn into a flood of
//! requests to the auth server. Requests that need a fetch while one is under way wait for it and
//! share its result.
//!
//! A failed fetch keeps the keys the last good one brought: signing keys outlive an outage of the
//! auth server. A fetch that succeeds replaces them, so a key withdrawn from the set stops
//! verifying at once.
//!
//! When the key set's location is discovered from the issuer's metadata, a fetch first asks the
//! discovery for it. While it is not known, nothing is fetched and the throttle above does not
//! apply (the discovery throttles its own attempts): the keys are fetched as soon as it is found.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use shared::background::Background;
use tokio::sync::Mutex;

use super::key_source::{FetchError, KeySource};
use super::keys::{Fingerprint, KeySet};
use crate::discovery;

/// No key can be had for a token: the caller fails closed with a 503.
#[derive(Debug, Clone, thiserror::Error)]
#[error("signing keys unavailable: {0}")]
pub struct KeysUnavailable(Arc<str>);

/// The keys in use and the number of the fetch that brought them.
#[derive(Clone)]
pub struct Snapshot {
    pub keys: Arc<KeySet>,
    generation: u64,
}

struct FetchState {
    last_attempt: Option<Instant>,
    /// Why the last attempt failed; `None` after a success (or before the first attempt).
    last_failure: Option<Arc<str>>,
    /// The last attempt fetched nothing: the key set's location is still being discovered.
    waiting_for_discovery: bool,
}

pub struct KeyCache {
    source: KeySource,
    current: RwLock<Snapshot>,
    /// Held for the whole of a fetch: one fetch at a time, and those waiting see its result.
    fetching: Mutex<FetchState>,
    fetches: AtomicU64,
    min_interval: Duration,
}

impl KeyCache {
    pub fn new(source: KeySource, min_interval: Duration) -> Self {
        let keys = match &source {
            KeySource::Secret(keys) => keys.clone(),
            _ => Arc::new(KeySet::default()),
        };
        Self {
            source,
            current: RwLock::new(Snapshot {
                keys,
                generation: 0,
            }),
            fetching: Mutex::new(FetchState {
                last_attempt: None,
                last_failure: None,
                waiting_for_discovery: false,
            }),
            fetches: AtomicU64::new(0),
            min_interval,
        }
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    pub fn snapshot(&self) -> Snapshot {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Whether the key `fingerprint` is in the set now (read in place: no copy of the set).
    pub fn holds(&self, fingerprint: &Fingerprint) -> bool {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .keys
            .contains(fingerprint)
    }

    /// Keys usable now, for `/health`.
    pub fn key_count(&self) -> usize {
        self.snapshot().keys.len()
    }

    /// Fetches (succeeded or failed) ended since start, for `/health`.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Keys possibly newer than `seen`, for a token whose key `seen` lacks: fetched now unless a
    /// fetch ended since `seen` was taken or the last one is too recent. `Err` when that latest
    /// fetch failed: the token may well be signed with a key this server could not get, so it is
    /// not the token's fault.
    pub async fn refetch(&self, seen: &Snapshot) -> Result<Arc<KeySet>, KeysUnavailable> {
        if matches!(self.source, KeySource::Secret(_)) {
            return Ok(seen.keys.clone());
        }
        let mut state = self.fetching.lock().await;
        let fetched_since = self.snapshot().generation != seen.generation;
        let too_soon = !state.waiting_for_discovery
            && state
                .last_attempt
                .is_some_and(|at| at.elapsed() < self.min_interval);
        if !fetched_since && !too_soon {
            self.fetch(&mut state).await;
        }
        match &state.last_failure {
            Some(why) => Err(KeysUnavailable(why.clone())),
            None => Ok(self.snapshot().keys),
        }
    }

    /// A fetch now, whenever the last one was: the background refresh.
    pub async fn refresh(&self) {
        let mut state = self.fetching.lock().await;
        self.fetch(&mut state).await;
    }

    /// Refreshes the keys now and then every `interval`, until the server stops. A secret in the
    /// settings has nothing to refresh. While the key set's location is being discovered, the
    /// discovery is kept going (at its own pace), and the keys fetched as soon as it succeeds.
    pub fn refresh_on(self: &Arc<Self>, background: &Background, interval: Duration) {
        if matches!(self.source, KeySource::Secret(_)) {
            return;
        }
        let cache = self.clone();
        background.every("jwt-keys", interval, move || {
            let cache = cache.clone();
            async move { cache.refresh().await }
        });
        if self.source.discovery().is_some() {
            let cache = self.clone();
            background.every("jwt-discovery", discovery::POLL_INTERVAL, move || {
                let cache = cache.clone();
                async move { cache.refresh_while_discovering().await }
            });
        }
    }

    async fn refresh_while_discovering(&self) {
        let mut state = self.fetching.lock().await;
        if state.waiting_for_discovery {
            self.fetch(&mut state).await;
        }
    }

    async fn fetch(&self, state: &mut FetchState) {
        state.last_attempt = Some(Instant::now());
        let fetched = self.source.fetch().await;
        if let Err(FetchError::NotDiscovered(pending)) = &fetched {
            // No fetch happened, and the discovery has logged why.
            state.waiting_for_discovery = true;
            state.last_failure = Some(pending.to_string().into());
            return;
        }
        state.waiting_for_discovery = false;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        current.generation += 1;
        match fetched {
            Ok(keys) => {
                if keys.is_empty() {
                    log::error!(
                        "{} holds no key this server can use: every JWT is refused (503)",
                        self.source.describe()
                    );
                } else if keys.len() != current.keys.len() {
                    log::info!("{} keys from {}", keys.len(), self.source.describe());
                }
                current.keys = keys;
                state.last_failure = None;
            }
            Err(error) => {
                log::error!(
                    "cannot fetch the JWT signing keys ({} kept): {error}",
                    current.keys.len()
                );
                state.last_failure = Some(error.to_string().into());
            }
        }
    }
}
