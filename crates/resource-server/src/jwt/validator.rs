//! The JWT validator behind the shared guard: a token verified once is remembered by its SHA-256
//! until its `exp`, so presenting it again costs a hash and a lookup, not a signature check.
//!
//! The memory is a plain concurrent cache (quick_cache) bounded by `jwt.token_cache_capacity`,
//! not moka: every hit here is a request, and moka's bookkeeping on each read (its read log, its
//! per-entry expiry) cost a measured 5.6% of the resource server's CPU on a repeated token. An
//! entry past its `exp` is never served: the lookup checks it, and a sweep drops such entries.
//!
//! Only verified tokens are remembered: a refused one costs a signature check every time, which
//! keeps the cache for real clients (the guard has already refused anything that is not a
//! `b64token` of at most 4 KiB). A remembered token stops passing as soon as the key that verified
//! it leaves the key set.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};
use shared::background::Background;
use shared::guard::{TokenClaims, TokenValidator, Validation, ValidationFuture};
use shared::{ApiError, ErrorCode};

use super::key_cache::KeyCache;
use super::keys::Fingerprint;
use super::verify::{read_header, Rules, Verdict};
use crate::metrics::{self, TokenCache};

/// SHA-256 of the token: the cache never holds token values.
type Digest256 = [u8; 32];

/// How often entries past their `exp` are dropped, so expired tokens do not hold memory until
/// newer ones push them out.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct Remembered {
    claims: Arc<TokenClaims>,
    /// The key that verified it.
    key: Fingerprint,
    /// The token's `exp` (every token here has one: see `verify.rs`).
    expires_at: i64,
}

impl Remembered {
    fn live_at(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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
            verified: Cache::new(usize::try_from(capacity).unwrap_or(usize::MAX).max(1)),
        }
    }

    pub fn keys(&self) -> &KeyCache {
        &self.keys
    }

    pub fn cached_tokens(&self) -> u64 {
        self.verified.len() as u64
    }

    /// Drops the entries past their `exp`, off the request path.
    pub fn maintain_on(self: &Arc<Self>, background: &Background) {
        let validator = Arc::clone(self);
        background.every("jwt-cache", SWEEP_INTERVAL, move || {
            let now = unix_now();
            validator.verified.retain(|_, entry| entry.live_at(now));
            async {}
        });
    }

    /// The claims of a token verified before, if it is still live and the key that verified it
    /// still in the key set.
    fn recall(&self, digest: &Digest256) -> Option<Arc<TokenClaims>> {
        let remembered = self.verified.get(digest)?;
        if remembered.live_at(unix_now()) && self.keys.holds(&remembered.key) {
            return Some(remembered.claims);
        }
        self.verified.remove(digest);
        None
    }

    async fn check(&self, token: &str) -> Result<Validation, ApiError> {
        let digest: Digest256 = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.recall(&digest) {
            metrics::hit(TokenCache::Jwt);
            return Ok(Validation::Active(claims));
        }
        metrics::miss(TokenCache::Jwt);
        let snapshot = self.keys.snapshot();
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
                if let Some(expires_at) = claims.expires_at {
                    self.verified.insert(
                        digest,
                        Remembered {
                            claims: claims.clone(),
                            key: key.fingerprint,
                            expires_at,
                        },
                    );
                }
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

    fn remembered(&self, token: &str) -> Option<Validation> {
        let claims = self.recall(&Sha256::digest(token.as_bytes()).into())?;
        metrics::hit(TokenCache::Jwt);
        Some(Validation::Active(claims))
    }
}
