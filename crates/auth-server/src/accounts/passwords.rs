//! Hashing what this server writes and checking what callers present, with bcrypt on threads of
//! its own: slow on purpose, so never on the threads that serve everything else. A flood of
//! password attempts fills the user-password queue and is turned away (503) instead of starving
//! token validation and client_credentials.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use moka::future::Cache;
use sha2::Sha256;

use crate::domain::secret::{check, StoredSecret};
use crate::domain::token_value::{self, TokenFormat};
use crate::workers::{Pool, PoolError, PoolSpec, Priority, Task};

/// How password and secret checks run (`security.*`).
#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub cost: u32,
    /// Threads of the user-password pool, their priority, and how many checks may wait.
    pub threads: usize,
    pub priority: Priority,
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
            priority: Priority::Normal,
            queue: 16,
            secret_cache_seconds: 0,
            secret_cache_capacity: 1,
        }
    }
}

/// Too many password checks are waiting already (503).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl From<PoolError> for Busy {
    fn from(_: PoolError) -> Self {
        Busy
    }
}

pub struct Passwords {
    cost: u32,
    /// Verified against when there is nothing to verify, so an unknown user or client costs the
    /// same bcrypt work as a wrong password (docs/security.md, item 15).
    dummy_hash: Arc<str>,
    /// User passwords: the target of floods, so at the lowest priority.
    users: Pool<Task>,
    /// Client secrets: rare (remembered once checked) and needed by machines that must not queue
    /// behind a password flood, so on a thread of their own at normal priority.
    clients: Pool<Task>,
    /// Successful client-secret checks, by HMAC of (client, stored secret, presented secret) under
    /// a key made at start: the cache holds nothing a thief could test passwords against, and a
    /// changed stored secret simply stops matching.
    verified: Cache<[u8; 32], ()>,
    cache_key: [u8; 32],
    cache_enabled: bool,
    /// How many bcrypt verifications ran: what docs/security.md, item 15 is about, countable where
    /// wall-clock time is noise.
    bcrypt_runs: Arc<AtomicU64>,
}

impl Passwords {
    pub fn new(settings: &CheckSettings) -> Result<Self, bcrypt::BcryptError> {
        let dummy = token_value::generate(TokenFormat::Random);
        Ok(Self {
            cost: settings.cost,
            dummy_hash: bcrypt::hash(dummy, settings.cost)?.into(),
            users: Pool::for_tasks(PoolSpec {
                name: "bcrypt",
                threads: settings.threads,
                queue: settings.queue,
                batch: 1,
                priority: settings.priority,
            }),
            clients: Pool::for_tasks(PoolSpec {
                name: "bcrypt-clients",
                threads: 1,
                queue: settings.queue,
                batch: 1,
                priority: Priority::Normal,
            }),
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
    /// `PasswordEncoderFactories.createDelegatingPasswordEncoder()` writes. Blocks (CLI, seeding).
    pub fn encode(&self, plain: &str) -> Result<String, bcrypt::BcryptError> {
        Ok(format!("{{bcrypt}}{}", bcrypt::hash(plain, self.cost)?))
    }

    /// A user's password: checked with bcrypt every time. `stored: None` (no such user) costs the
    /// same and never matches.
    pub async fn verify(
        &self,
        stored: Option<&StoredSecret>,
        presented: &str,
    ) -> Result<bool, Busy> {
        let stored = stored.cloned().unwrap_or(StoredSecret::Absent);
        self.check_on(&self.users, stored, presented).await
    }

    /// Bcrypt verifications run since start.
    pub fn bcrypt_runs(&self) -> u64 {
        self.bcrypt_runs.load(Ordering::Relaxed)
    }

    async fn check_on(
        &self,
        pool: &Pool<Task>,
        stored: StoredSecret,
        presented: &str,
    ) -> Result<bool, Busy> {
        let presented = presented.to_owned();
        let (dummy, runs) = (self.dummy_hash.clone(), self.bcrypt_runs.clone());
        Ok(pool
            .run(move || {
                let matches = check(&stored, &presented, &dummy);
                runs.fetch_add(1, Ordering::Relaxed);
                matches
            })
            .await?)
    }

    /// A client's secret: as [`Self::verify`], but a success is remembered for
    /// `security.secret_cache_seconds`, so a client asking for tokens all day pays bcrypt once.
    /// `stored: None` (no such client) costs one check and never matches.
    pub async fn verify_client_secret(
        &self,
        client_id: &str,
        stored: Option<&StoredSecret>,
        presented: &str,
    ) -> Result<bool, Busy> {
        let stored = stored.cloned().unwrap_or(StoredSecret::Absent);
        if !self.cache_enabled || !stored.is_checkable() {
            return self.check_on(&self.clients, stored, presented).await;
        }
        let key = self.cache_key_of(client_id, &stored, presented);
        // Concurrent checks of the same secret share one bcrypt run: a busy client starting up with
        // 32 connections costs one check, not 32. Only successes are remembered.
        let checked = self
            .verified
            .try_get_with(key, async {
                match self
                    .check_on(&self.clients, stored.clone(), presented)
                    .await
                {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(Refused::Wrong),
                    Err(Busy) => Err(Refused::Busy),
                }
            })
            .await;
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

    /// Stops the bcrypt threads once the checks queued have run. Blocks.
    pub fn shutdown(&self) {
        self.users.shutdown();
        self.clients.shutdown();
    }
}

#[derive(Debug)]
enum Refused {
    Wrong,
    Busy,
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

    #[tokio::test]
    async fn what_it_writes_it_reads_back_and_a_missing_account_costs_a_check() {
        let p = passwords();
        let encoded = p.encode("123456").unwrap();
        assert!(encoded.starts_with("{bcrypt}$2"));
        let stored = StoredSecret::parse(Some(&encoded));
        assert!(p.verify(Some(&stored), "123456").await.unwrap());
        let before = p.bcrypt_runs();
        assert!(!p.verify(None, "123456").await.unwrap());
        assert_eq!(p.bcrypt_runs(), before + 1);
    }

    #[tokio::test]
    async fn a_verified_client_secret_is_remembered_until_the_stored_secret_changes() {
        let p = passwords();
        let stored = StoredSecret::parse(Some(&p.encode("s3cret").unwrap()));
        assert!(p
            .verify_client_secret("c", Some(&stored), "s3cret")
            .await
            .unwrap());
        assert!(p.is_remembered("c", &stored, "s3cret"), "remembered");
        let runs = p.bcrypt_runs();
        assert!(p
            .verify_client_secret("c", Some(&stored), "s3cret")
            .await
            .unwrap());
        assert_eq!(p.bcrypt_runs(), runs, "no bcrypt the second time");
        assert!(
            !p.verify_client_secret("c", Some(&stored), "wrong")
                .await
                .unwrap(),
            "failures are not remembered"
        );
        let changed = StoredSecret::parse(Some(&p.encode("new").unwrap()));
        assert!(!p
            .verify_client_secret("c", Some(&changed), "s3cret")
            .await
            .unwrap());
        assert!(
            !p.is_remembered("other", &stored, "s3cret"),
            "bound to the client"
        );
    }
}
