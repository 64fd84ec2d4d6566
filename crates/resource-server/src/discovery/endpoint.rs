//! An endpoint discovered from an issuer's metadata. Found once, it is kept: the metadata is not
//! asked again, per request or otherwise. Until then the metadata is asked again after a delay
//! that grows to a few seconds and no more, whoever asks: requests waiting for the endpoint cannot
//! turn into a flood of requests to an authorization server that is down or misconfigured.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::{json, Value};
use shared::background::Background;
use tokio::sync::Mutex;

use super::fetch;
use super::issuer::Issuer;
use super::metadata::Field;

/// How often background tasks look whether an endpoint still to be discovered is due another
/// attempt (the attempts themselves are further apart).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// The delay after the first failure; it doubles after each further one, up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// The endpoint is not known yet: whatever needs it fails closed (503).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field} not yet discovered from {issuer}: {why}")]
pub struct NotYetDiscovered {
    field: Field,
    issuer: Issuer,
    why: Arc<str>,
}

struct Attempts {
    failures: u32,
    /// No attempt before this; `None` before the first.
    next: Option<Instant>,
    last_failure: Option<Arc<str>>,
}

pub struct DiscoveredEndpoint {
    issuer: Issuer,
    field: Field,
    http: reqwest::Client,
    found: OnceLock<Url>,
    /// Held for the whole of an attempt: one at a time, and requests that arrive meanwhile (the
    /// first ones after start, say) wait for its outcome instead of failing.
    attempts: Mutex<Attempts>,
    attempt_count: AtomicU64,
}

fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_RETRY)
}

impl DiscoveredEndpoint {
    pub fn new(issuer: Issuer, field: Field, http: reqwest::Client) -> Self {
        Self {
            issuer,
            field,
            http,
            found: OnceLock::new(),
            attempts: Mutex::new(Attempts {
                failures: 0,
                next: None,
                last_failure: None,
            }),
            attempt_count: AtomicU64::new(0),
        }
    }

    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    pub fn field(&self) -> Field {
        self.field
    }

    /// The endpoint, if discovered.
    pub fn found(&self) -> Option<&Url> {
        self.found.get()
    }

    /// Attempts ended since start (successful or not).
    pub fn attempts(&self) -> u64 {
        self.attempt_count.load(Ordering::Relaxed)
    }

    /// The endpoint: as found, or discovered now if an attempt is due, or waited for if one is
    /// under way. `Err` while it cannot be had.
    pub async fn url(&self) -> Result<&Url, NotYetDiscovered> {
        if let Some(url) = self.found.get() {
            return Ok(url);
        }
        let mut attempts = self.attempts.lock().await;
        if self.found.get().is_none() && attempts.next.is_none_or(|at| Instant::now() >= at) {
            self.attempt(&mut attempts).await;
        }
        self.found.get().ok_or_else(|| NotYetDiscovered {
            field: self.field,
            issuer: self.issuer.clone(),
            why: attempts
                .last_failure
                .clone()
                .unwrap_or_else(|| "no attempt yet".into()),
        })
    }

    /// Keeps attempting in the background until found, so the endpoint is there before a request
    /// needs it. (The JWT key cache drives its own attempts, to fetch the keys at once after.)
    pub fn keep_trying_on(self: &Arc<Self>, background: &Background, name: &'static str) {
        let endpoint = self.clone();
        background.every(name, POLL_INTERVAL, move || {
            let endpoint = endpoint.clone();
            async move {
                if endpoint.found().is_none() {
                    // A failure is logged by the attempt; requests get their own error.
                    let _ = endpoint.url().await;
                }
            }
        });
    }

    async fn attempt(&self, attempts: &mut Attempts) {
        let outcome = fetch::discover(&self.http, &self.issuer, self.field).await;
        self.attempt_count.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(url) => {
                log::info!(
                    "{} {url} discovered from the metadata of {}",
                    self.field,
                    self.issuer
                );
                attempts.last_failure = None;
                // Only this attempt, under the lock, ever sets it.
                let _ = self.found.set(url);
            }
            Err(error) => {
                attempts.failures = attempts.failures.saturating_add(1);
                let delay = retry_delay(attempts.failures);
                attempts.next = Some(Instant::now() + delay);
                log::error!(
                    "cannot discover {} from {} (attempt {}, next in {} s; tokens that need it \
                     are answered 503): {error}",
                    self.field,
                    self.issuer,
                    attempts.failures,
                    delay.as_secs()
                );
                attempts.last_failure = Some(error.to_string().into());
            }
        }
    }

    /// What `/health` shows of it.
    pub fn report(&self) -> Value {
        let mut report = json!({
            "issuer": self.issuer.as_str(),
            "attempts": self.attempts(),
            "status": if self.found().is_some() { "discovered" } else { "pending" },
        });
        if let (Some(url), Some(fields)) = (self.found(), report.as_object_mut()) {
            fields.insert(self.field.name().into(), url.as_str().into());
        }
        report
    }

    /// Where the endpoint comes from, for logs.
    pub fn describe(&self) -> String {
        match self.found() {
            Some(url) => format!("{url} (discovered from the metadata of {})", self.issuer),
            None => format!(
                "the {} discovered from the metadata of {}",
                self.field, self.issuer
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_a_second_apart_at_first_and_never_more_than_five() {
        let delays: Vec<u64> = (1..=6).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5, 5]);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY);
    }
}
