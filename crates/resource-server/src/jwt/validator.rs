//! The JWT validator behind the shared guard: a token verified once is remembered by its SHA-256
//! until its `exp`, so presenting it again costs a hash and a lookup, not a signature check.
//!
//! Only verified tokens are remembered: a refused one costs a signature check every time, which
//! keeps the cache for real clients (the guard has already refused anything that is not a
//! `b64token` of at most 4 KiB). A remembered token stops passing as soon as the key that verified
//! it leaves the key set.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use moka::future::Cache;
use moka::Expiry;
use sha2::{Digest, Sha256};
use shared::background::Background;
use shared::guard::{TokenClaims, TokenValidator, Validation, ValidationFuture};
use shared::{ApiError, ErrorCode};

use super::key_cache::KeyCache;
use super::keys::Fingerprint;
use super::verify::{read_header, Rules, Verdict};

/// SHA-256 of the token: the cache never holds token values.
type Digest256 = [u8; 32];

#[derive(Clone)]
struct Remembered {
    claims: Arc<TokenClaims>,
    /// The key that verified it.
    key: Fingerprint,
}

/// Until the token's `exp` (every token here has one: see `verify.rs`).
struct UntilExpiry;

impl Expiry<Digest256, Remembered> for UntilExpiry {
    fn expire_after_create(
        &self,
        _: &Digest256,
        entry: &Remembered,
        _: Instant,
    ) -> Option<Duration> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let left = entry
            .claims
            .expires_at
            .map_or(0, |exp| exp.saturating_sub(now).max(0));
        Some(Duration::from_secs(left as u64))
    }
}

/// The keys are there but none could be had for this token, or none at all: 503, fail closed.
fn unavailable(cause: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::TokenValidationUnavailable).with_cause(cause)
}

pub struct JwtValidator {
    keys: Arc<KeyCache>,
    rules: Rules,
    verified: Cache<Digest256, Remembered>,
}

impl JwtValidator {
    pub fn new(keys: Arc<KeyCache>, rules: Rules, capacity: u64) -> Self {
        Self {
            keys,
            rules,
            verified: Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExpiry)
                .build(),
        }
    }

    pub fn keys(&self) -> &KeyCache {
        &self.keys
    }

    pub fn cached_tokens(&self) -> u64 {
        self.verified.entry_count()
    }

    /// The cache's housekeeping off the request path, as the introspection cache does it.
    pub fn maintain_on(&self, background: &Background) {
        let cache = self.verified.clone();
        background.every("jwt-cache", Duration::from_millis(100), move || {
            let cache = cache.clone();
            async move { cache.run_pending_tasks().await }
        });
    }

    async fn check(&self, token: &str) -> Result<Validation, ApiError> {
        let digest: Digest256 = Sha256::digest(token.as_bytes()).into();
        let snapshot = self.keys.snapshot();
        if let Some(remembered) = self.verified.get(&digest).await {
            if snapshot.keys.contains(&remembered.key) {
                return Ok(Validation::Active(remembered.claims));
            }
            self.verified.invalidate(&digest).await;
        }
        let header = match read_header(token) {
            Ok(header) => header,
            Err(refusal) => {
                log::debug!("JWT refused: {refusal}");
                return Ok(Validation::Invalid);
            }
        };
        let kid = header.kid.as_deref();
        let keys = match snapshot.keys.find(kid) {
            Some(_) => snapshot.keys.clone(),
            None => self.keys.refetch(&snapshot).await.map_err(unavailable)?,
        };
        let Some(key) = keys.find(kid) else {
            if keys.is_empty() {
                return Err(unavailable("no usable JWT signing key"));
            }
            log::debug!("JWT refused: no key {kid:?}");
            return Ok(Validation::Invalid);
        };
        Ok(match self.rules.verify(token, key) {
            Verdict::Valid(claims) => {
                let claims = Arc::new(TokenClaims::from(*claims));
                self.verified
                    .insert(
                        digest,
                        Remembered {
                            claims: claims.clone(),
                            key: key.fingerprint,
                        },
                    )
                    .await;
                Validation::Active(claims)
            }
            Verdict::Expired => Validation::Expired,
            Verdict::Invalid(refusal) => {
                log::debug!("JWT refused: {refusal}");
                Validation::Invalid
            }
        })
    }
}

impl TokenValidator for JwtValidator {
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
        Box::pin(self.check(token))
    }
}
