//! Stored secrets in the formats of Spring Security's password encoders, and checking them.
//!
//! Client secrets and user passwords share this: `{bcrypt}$2a$…` (DelegatingPasswordEncoder),
//! a bare `$2a$`/`$2b$`/`$2y$` hash (BCryptPasswordEncoder before Spring Security 5), and
//! `{noop}plain`. Anything else (`{pbkdf2}`, `{scrypt}`, bare plain text) is refused, as
//! DelegatingPasswordEncoder refused an unmapped id, and logged so an operator can re-set it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::bcrypt_pool::{BcryptPool, Busy};

/// A secret as read from the database, classified by encoding.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSecret {
    /// NULL or empty: a public client (RFC 6749 §2.1). Never matches a presented secret.
    Absent,
    Bcrypt(String),
    Noop(String),
    /// An encoding this server cannot check; the string names it for the log.
    Unsupported(String),
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.encoding())
    }
}

fn is_bcrypt_hash(value: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| value.starts_with(p))
}

impl StoredSecret {
    pub fn parse(stored: Option<&str>) -> Self {
        let Some(stored) = stored.filter(|s| !s.is_empty()) else {
            return Self::Absent;
        };
        if let Some(hash) = stored.strip_prefix("{bcrypt}") {
            return Self::Bcrypt(hash.to_owned());
        }
        if let Some(plain) = stored.strip_prefix("{noop}") {
            return Self::Noop(plain.to_owned());
        }
        if is_bcrypt_hash(stored) {
            return Self::Bcrypt(stored.to_owned());
        }
        match stored
            .strip_prefix('{')
            .and_then(|rest| rest.split_once('}'))
        {
            Some((id, _)) => Self::Unsupported(format!("{{{id}}}")),
            None => Self::Unsupported("plain text without an encoding id".to_owned()),
        }
    }

    pub fn encoding(&self) -> &str {
        match self {
            Self::Absent => "none",
            Self::Bcrypt(_) => "bcrypt",
            Self::Noop(_) => "noop",
            Self::Unsupported(id) => id,
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// Whether a presented secret could ever match.
    fn is_checkable(&self) -> bool {
        matches!(self, Self::Bcrypt(_) | Self::Noop(_))
    }

    /// The stored hash or value, for the verification cache's key.
    fn material(&self) -> &[u8] {
        match self {
            Self::Bcrypt(value) | Self::Noop(value) | Self::Unsupported(value) => value.as_bytes(),
            Self::Absent => b"",
        }
    }
}

/// How password and secret checks run (`security.*`).
#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub cost: u32,
    /// Threads of the bcrypt pool, their niceness, and how many checks may wait.
    pub threads: usize,
    pub nice: i32,
    pub queue: usize,
    /// How long a successful client-secret check is remembered (0: never).
    pub secret_cache_seconds: u64,
    pub secret_cache_capacity: u64,
}

impl CheckSettings {
    /// For command-line tools: one thread, no cache.
    pub fn for_tools(cost: u32) -> Self {
        Self {
            cost,
            threads: 1,
            nice: 0,
            queue: 16,
            secret_cache_seconds: 0,
            secret_cache_capacity: 1,
        }
    }
}

/// Hashes what this server writes and checks what callers present.
pub struct Passwords {
    cost: u32,
    /// Verified against when there is nothing to verify, so an unknown user or client costs the
    /// same bcrypt work as a wrong password (SECURITY.md item 15).
    dummy_hash: Arc<str>,
    /// User passwords: the target of floods, so at the lowest priority.
    pool: BcryptPool,
    /// Client secrets: rare (remembered once checked) and needed by machines that must not queue
    /// behind a password flood, so on a thread of their own at normal priority.
    client_pool: BcryptPool,
    /// Successful client-secret checks, by HMAC of (client, stored secret, presented secret) under
    /// a key made at start: the cache holds nothing a thief could test passwords against, and a
    /// changed stored secret simply stops matching.
    verified: Cache<[u8; 32], ()>,
    cache_key: [u8; 32],
    cache_enabled: bool,
    /// How many bcrypt verifications ran: what SECURITY.md item 15 is about, countable where
    /// wall-clock time is noise.
    bcrypt_runs: Arc<AtomicU64>,
}

impl Passwords {
    pub fn new(settings: &CheckSettings) -> Result<Self, bcrypt::BcryptError> {
        let dummy =
            crate::domain::token_value::generate(crate::domain::token_value::TokenFormat::Random);
        Ok(Self {
            cost: settings.cost,
            dummy_hash: bcrypt::hash(dummy, settings.cost)?.into(),
            pool: BcryptPool::new(settings.threads, settings.queue, settings.nice),
            client_pool: BcryptPool::new(1, settings.queue, 0),
            // Forgotten after `secret_cache_seconds` without use, and after an hour at most. The
            // stored secret is part of the key, so a changed secret is never served from here.
            verified: Cache::builder()
                .max_capacity(settings.secret_cache_capacity)
                .time_to_idle(Duration::from_secs(settings.secret_cache_seconds.max(1)))
                .time_to_live(Duration::from_secs(settings.secret_cache_seconds.max(3600)))
                .build(),
            cache_key: rand::random(),
            cache_enabled: settings.secret_cache_seconds > 0,
            bcrypt_runs: Arc::default(),
        })
    }

    /// `{bcrypt}` + a bcrypt hash at the configured cost: the format Spring's
    /// `PasswordEncoderFactories.createDelegatingPasswordEncoder()` writes.
    pub fn encode(&self, plain: &str) -> Result<String, bcrypt::BcryptError> {
        Ok(format!("{{bcrypt}}{}", bcrypt::hash(plain, self.cost)?))
    }

    /// A user's password: checked with bcrypt every time, on the pool. Every outcome costs at
    /// least one bcrypt verification, so the time of an answer tells neither whether the user
    /// exists nor how its password is stored (SECURITY.md 15).
    pub fn verify(&self, stored: &StoredSecret, presented: &str) -> Result<bool, Busy> {
        self.check_on(&self.pool, stored, presented)
    }

    /// Bcrypt verifications run since start.
    pub fn bcrypt_runs(&self) -> u64 {
        self.bcrypt_runs.load(Ordering::Relaxed)
    }

    fn check_on(
        &self,
        pool: &BcryptPool,
        stored: &StoredSecret,
        presented: &str,
    ) -> Result<bool, Busy> {
        let (stored, presented) = (stored.clone(), presented.to_owned());
        let (dummy, runs) = (self.dummy_hash.clone(), self.bcrypt_runs.clone());
        pool.run(move || {
            let matches = check(&stored, &presented, &dummy);
            runs.fetch_add(1, Ordering::Relaxed);
            matches
        })
    }

    /// A client's secret: as [`Self::verify`], but a success is remembered for
    /// `security.secret_cache_seconds`, so a client asking for tokens all day pays bcrypt once.
    pub fn verify_client_secret(
        &self,
        client_id: &str,
        stored: &StoredSecret,
        presented: &str,
    ) -> Result<bool, Busy> {
        let check_now = || self.check_on(&self.client_pool, stored, presented);
        if !self.cache_enabled || !stored.is_checkable() {
            return check_now();
        }
        let key = self.cache_key_of(client_id, stored, presented);
        // Concurrent checks of the same secret share one bcrypt run: a busy client starting up with
        // 32 connections costs one check, not 32. Only successes are remembered.
        let checked = self.verified.try_get_with(key, || match check_now() {
            Ok(true) => Ok(()),
            Ok(false) => Err(Refused::Wrong),
            Err(Busy) => Err(Refused::Busy),
        });
        match checked {
            Ok(()) => Ok(true),
            Err(refused) => match *refused {
                Refused::Wrong => Ok(false),
                Refused::Busy => Err(Busy),
            },
        }
    }

    /// Whether this exact secret checked out recently; never runs bcrypt.
    pub fn is_remembered(&self, client_id: &str, stored: &StoredSecret, presented: &str) -> bool {
        self.cache_enabled
            && stored.is_checkable()
            && self
                .verified
                .contains_key(&self.cache_key_of(client_id, stored, presented))
    }

    /// Spends one bcrypt verification for nothing (an unknown user).
    pub fn burn(&self, presented: &str) -> Result<(), Busy> {
        self.check_on(&self.pool, &StoredSecret::Absent, presented)
            .map(|_| ())
    }

    /// The same for an unknown client, on the clients' thread.
    pub fn burn_for_client(&self, presented: &str) -> Result<(), Busy> {
        self.check_on(&self.client_pool, &StoredSecret::Absent, presented)
            .map(|_| ())
    }

    fn cache_key_of(&self, client_id: &str, stored: &StoredSecret, presented: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.cache_key)
            .expect("HMAC takes keys of any length");
        for part in [
            client_id.as_bytes(),
            stored.encoding().as_bytes(),
            stored.material(),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(presented.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

enum Refused {
    Wrong,
    Busy,
}

/// The check itself, on a pool thread.
fn check(stored: &StoredSecret, presented: &str, dummy: &str) -> bool {
    match stored {
        StoredSecret::Bcrypt(hash) => match bcrypt::verify(presented, hash) {
            Ok(matches) => matches,
            Err(_) => {
                log::warn!("a stored bcrypt hash is malformed; re-set it with the CLI");
                let _ = bcrypt::verify(presented, dummy);
                false
            }
        },
        StoredSecret::Noop(plain) => {
            // Comparing digests keeps the length of the stored secret out of the timing too.
            let a = Sha256::digest(plain.as_bytes());
            let b = Sha256::digest(presented.as_bytes());
            let _ = bcrypt::verify(presented, dummy);
            bool::from(a.ct_eq(&b))
        }
        StoredSecret::Absent => {
            let _ = bcrypt::verify(presented, dummy);
            false
        }
        StoredSecret::Unsupported(encoding) => {
            log::warn!(
                "a stored secret uses the unsupported encoding {encoding}; re-set it with the CLI"
            );
            let _ = bcrypt::verify(presented, dummy);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwords() -> Passwords {
        let mut settings = CheckSettings::for_tools(4);
        settings.secret_cache_seconds = 60;
        settings.secret_cache_capacity = 100;
        Passwords::new(&settings).unwrap()
    }

    fn verify(p: &Passwords, stored: &StoredSecret, presented: &str) -> bool {
        p.verify(stored, presented).unwrap()
    }

    #[test]
    fn reads_every_format_spring_writes() {
        let p = passwords();
        // The example of Spring Security's reference (DelegatingPasswordEncoder), for "password".
        let spring = "$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG";
        assert!(verify(&p, &StoredSecret::parse(Some(spring)), "password"));
        assert!(verify(
            &p,
            &StoredSecret::parse(Some(&format!("{{bcrypt}}{spring}"))),
            "password"
        ));
        assert!(!verify(&p, &StoredSecret::parse(Some(spring)), "Password"));
        assert!(verify(&p, &StoredSecret::parse(Some("{noop}11")), "11"));
        assert!(!verify(&p, &StoredSecret::parse(Some("{noop}11")), "111"));
    }

    #[test]
    fn what_it_writes_it_reads_back() {
        let p = passwords();
        let encoded = p.encode("123456").unwrap();
        assert!(encoded.starts_with("{bcrypt}$2"));
        assert!(verify(&p, &StoredSecret::parse(Some(&encoded)), "123456"));
    }

    #[test]
    fn unknown_encodings_and_public_clients_never_match() {
        let p = passwords();
        for stored in [None, Some(""), Some("{pbkdf2}abc"), Some("plaintext")] {
            let secret = StoredSecret::parse(stored);
            assert!(!verify(&p, &secret, ""), "{stored:?}");
            assert!(!verify(&p, &secret, "plaintext"), "{stored:?}");
        }
        assert_eq!(
            StoredSecret::parse(Some("{pbkdf2}abc")).encoding(),
            "{pbkdf2}"
        );
    }

    #[test]
    fn long_passwords_are_checked_as_spring_checked_them() {
        // bcrypt reads 72 bytes; Spring's BCrypt did the same, so existing hashes keep working.
        let p = passwords();
        let long = "x".repeat(100);
        let encoded = format!("{{bcrypt}}{}", bcrypt::hash(&long, 4).unwrap());
        assert!(verify(&p, &StoredSecret::parse(Some(&encoded)), &long));
    }

    #[test]
    fn a_verified_client_secret_is_remembered_until_the_stored_secret_changes() {
        let p = passwords();
        let stored = StoredSecret::parse(Some(&p.encode("s3cret").unwrap()));
        assert!(p.verify_client_secret("c", &stored, "s3cret").unwrap());
        let key = p.cache_key_of("c", &stored, "s3cret");
        assert!(p.verified.contains_key(&key), "remembered");
        assert!(p.verify_client_secret("c", &stored, "s3cret").unwrap());
        assert!(
            !p.verify_client_secret("c", &stored, "wrong").unwrap(),
            "failures are not"
        );
        let changed = StoredSecret::parse(Some(&p.encode("new").unwrap()));
        assert!(!p.verify_client_secret("c", &changed, "s3cret").unwrap());
        assert_ne!(p.cache_key_of("c", &changed, "s3cret"), key);
        assert_ne!(
            p.cache_key_of("other", &stored, "s3cret"),
            key,
            "bound to the client"
        );
    }
}
