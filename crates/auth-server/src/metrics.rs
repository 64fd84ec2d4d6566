//! What the auth server counts for `/metrics` (docs/operations.md, "Metrics"), beside the HTTP
//! metrics both servers share: tokens issued, the worker queues (bcrypt among them), the database
//! pool, the batch writer and sign-in lockouts.
//!
//! A metric that cannot be registered is logged and skipped (`None`): counting never stops the
//! server.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use prometheus::{HistogramVec, IntCounterVec, IntGaugeVec};
use shared::metrics::{counter_vec, gauge_vec, histogram_vec, latency_buckets, Probe};

use crate::db::Store;

struct Metrics {
    tokens_issued: Option<IntCounterVec>,
    lockouts: Option<IntCounterVec>,
    queue_depth: Option<IntGaugeVec>,
    queue_wait: Option<HistogramVec>,
    pool_connections: Option<IntGaugeVec>,
    pool_wait: Option<HistogramVec>,
    pool_timeouts: Option<IntCounterVec>,
    batch_size: Option<HistogramVec>,
    commit: Option<HistogramVec>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    tokens_issued: counter_vec(
        "oauth_tokens_issued_total",
        "Access tokens issued, by grant type",
        &["grant_type"],
    ),
    lockouts: counter_vec(
        "oauth_sign_in_lockouts_total",
        "Password checks refused because the account or address failed too often (429)",
        &[],
    ),
    queue_depth: gauge_vec(
        "worker_queue_depth",
        "Jobs waiting for a worker thread, by pool (bcrypt, bcrypt-clients, db-reader, db-writer, \
         db-lookup, db-maintenance)",
        &["pool"],
    ),
    queue_wait: histogram_vec(
        "worker_queue_wait_seconds",
        "Time a job waited for a worker thread, by pool",
        &["pool"],
        latency_buckets(),
    ),
    pool_connections: gauge_vec(
        "db_pool_connections",
        "Database connections of the pool, by state (in_use, idle)",
        &["state"],
    ),
    pool_wait: histogram_vec(
        "db_pool_wait_seconds",
        "Time taken to get a database connection from the pool",
        &[],
        latency_buckets(),
    ),
    pool_timeouts: counter_vec(
        "db_pool_timeouts_total",
        "Waits for a database connection that ran out of time (database.connect_timeout_ms)",
        &[],
    ),
    batch_size: histogram_vec(
        "db_writer_batch_size",
        "Writes committed together in one transaction by the batch writer",
        &[],
        prometheus::exponential_buckets(1.0, 2.0, 10).unwrap_or_default(),
    ),
    commit: histogram_vec(
        "db_writer_commit_seconds",
        "Time the batch writer took to write and commit one batch",
        &[],
        latency_buckets(),
    ),
});

/// An access token was issued by `grant_type`.
pub fn token_issued(grant_type: &str) {
    if let Some(counter) = &METRICS.tokens_issued {
        counter.with_label_values(&[grant_type]).inc();
    }
}

/// A password check was refused with 429.
pub fn lockout() {
    if let Some(counter) = &METRICS.lockouts {
        counter.with_label_values::<&str>(&[]).inc();
    }
}

/// The queue of one worker pool.
#[derive(Clone)]
pub struct QueueMetrics {
    depth: Option<prometheus::IntGauge>,
    wait: Option<prometheus::Histogram>,
}

impl QueueMetrics {
    pub fn of(pool: &str) -> Self {
        Self {
            depth: METRICS
                .queue_depth
                .as_ref()
                .map(|g| g.with_label_values(&[pool])),
            wait: METRICS
                .queue_wait
                .as_ref()
                .map(|h| h.with_label_values(&[pool])),
        }
    }

    pub fn queued(&self) {
        if let Some(depth) = &self.depth {
            depth.inc();
        }
    }

    /// `taken` jobs left the queue, the first of them queued `waited` ago.
    pub fn taken(&self, taken: usize, waited: Option<Duration>) {
        if let Some(depth) = &self.depth {
            depth.sub(i64::try_from(taken).unwrap_or(i64::MAX));
        }
        if let (Some(wait), Some(waited)) = (&self.wait, waited) {
            wait.observe(waited.as_secs_f64());
        }
    }
}

/// One batch of `size` writes was committed (or failed) in `took`.
pub fn batch_committed(size: usize, took: Duration) {
    if let Some(histogram) = &METRICS.batch_size {
        histogram
            .with_label_values::<&str>(&[])
            .observe(size as f64);
    }
    if let Some(histogram) = &METRICS.commit {
        histogram
            .with_label_values::<&str>(&[])
            .observe(took.as_secs_f64());
    }
}

/// The pool's events: how long checkouts waited, and which ran out of time.
#[derive(Debug)]
pub struct PoolEvents;

impl r2d2::HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        if let Some(histogram) = &METRICS.pool_wait {
            histogram
                .with_label_values::<&str>(&[])
                .observe(event.duration().as_secs_f64());
        }
    }

    fn handle_timeout(&self, _event: r2d2::event::TimeoutEvent) {
        if let Some(counter) = &METRICS.pool_timeouts {
            counter.with_label_values::<&str>(&[]).inc();
        }
    }
}

/// Reads the pool's occupancy when `/metrics` is scraped.
pub fn pool_probe(store: Store) -> Probe {
    Arc::new(move || {
        if let Some(gauge) = &METRICS.pool_connections {
            let state = store.pool_state();
            let idle = i64::from(state.idle_connections);
            gauge.with_label_values(&["idle"]).set(idle);
            gauge
                .with_label_values(&["in_use"])
                .set(i64::from(state.connections) - idle);
        }
    })
}
