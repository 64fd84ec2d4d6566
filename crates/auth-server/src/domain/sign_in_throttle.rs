//! docs/security.md, item 17: password guessing is slowed down per account and per client address, at
//! every endpoint that checks a user's password (the login form and the password grant share one
//! throttle, so an attacker cannot split guesses between them).
//!
//! After `max` failed attempts with no quiet `window` in between, a key is locked: attempts are
//! answered 429 until `lockout` has passed since the last failure, then one more guess is allowed,
//! and a failure locks again. A guesser gets one try per lockout period; a user who mistyped gets
//! in as soon as the lockout ends.
//!
//! Guesses sent all at once are all checked before any has failed, so the verdict is given at the
//! end too: an attempt that finishes after concurrent failures locked its key is answered 429
//! whatever its password, and a right guess in a burst is not revealed. Concurrent attempts that
//! all succeed (a service signing in from many threads) are never held back.
//!
//! The counters live in this process's memory: with N replicas an attacker spread over all of
//! them gets N times the allowance (documented in the README, "Scaling out").

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use sha2::{Digest, Sha256};

/// The thresholds (`brute_force.*`). A `max` of 0 switches that limit off.
#[derive(Debug, Clone)]
pub struct SignInLimits {
    pub max_failures_per_user: u32,
    pub max_failures_per_address: u32,
    pub window: Duration,
    pub lockout: Duration,
    pub capacity: u64,
}

pub struct SignInThrottle {
    /// By SHA-256 of the case-folded username: a fixed 32 bytes per entry whatever was typed, and
    /// `Admin` counts as `admin` on a database whose usernames ignore case.
    users: Counter<[u8; 32]>,
    addresses: Counter<AddressKey>,
}

/// An attempt under way: end it with [`Attempt::succeeded`] or [`Attempt::failed`], or drop it
/// when the password could not be judged (database down, bcrypt busy, a disabled account).
pub struct Attempt<'a> {
    throttle: &'a SignInThrottle,
    user: [u8; 32],
    address: Option<AddressKey>,
}

fn user_key(username: &str) -> [u8; 32] {
    Sha256::digest(username.to_lowercase().as_bytes()).into()
}

impl SignInThrottle {
    pub fn new(limits: &SignInLimits) -> Self {
        Self {
            users: Counter::new(limits.max_failures_per_user, limits),
            addresses: Counter::new(limits.max_failures_per_address, limits),
        }
    }

    /// Starts an attempt for `username` from `address`, or says how long to wait.
    pub fn begin(&self, username: &str, address: Option<IpAddr>) -> Result<Attempt<'_>, Duration> {
        let attempt = Attempt {
            throttle: self,
            user: user_key(username),
            address: address.map(AddressKey::of),
        };
        match attempt.locked() {
            Some(wait) => Err(wait),
            None => Ok(attempt),
        }
    }
}

impl Attempt<'_> {
    /// The password was right. Unless concurrent failures locked the account or address meanwhile
    /// (then: how long to wait), the account's failures are forgotten. The address keeps its
    /// failures, or an attacker with one account of their own could wipe their record with it.
    pub fn succeeded(self) -> Result<(), Duration> {
        if let Some(wait) = self.locked() {
            return Err(wait);
        }
        self.throttle.users.forget(&self.user);
        Ok(())
    }

    /// How long the account or address is locked for, if it is (now).
    pub fn locked(&self) -> Option<Duration> {
        let user_wait = self.throttle.users.wait(&self.user);
        let address_wait = self
            .address
            .as_ref()
            .and_then(|a| self.throttle.addresses.wait(a));
        user_wait.into_iter().chain(address_wait).max()
    }

    /// The password was wrong: counted. `Err` when the key was already locked by concurrent
    /// failures, so this answer must be the same 429 as theirs.
    pub fn failed(self) -> Result<(), Duration> {
        let user_wait = self.throttle.users.fail(self.user);
        let address_wait = self
            .address
            .and_then(|address| self.throttle.addresses.fail(address));
        match user_wait.into_iter().chain(address_wait).max() {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }
}

/// Failures per key, forgotten after a quiet window.
struct Counter<K> {
    max: u32,
    lockout: Duration,
    /// Failures older than this are forgotten. Judged from the failure's own time: the cache's
    /// idle expiry only frees memory, and a busy address that never idles still gets a fresh count.
    window: Duration,
    entries: Cache<K, Arc<Mutex<Failures>>>,
}

#[derive(Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

impl<K> Counter<K>
where
    K: std::hash::Hash + Eq + Send + Sync + Clone + 'static,
{
    fn new(max: u32, limits: &SignInLimits) -> Self {
        Self {
            max,
            lockout: limits.lockout,
            window: limits.window,
            entries: Cache::builder()
                .max_capacity(limits.capacity)
                .time_to_idle(limits.window.max(Duration::from_secs(1)))
                .build(),
        }
    }

    fn wait(&self, key: &K) -> Option<Duration> {
        if self.max == 0 {
            return None;
        }
        let entry = self.entries.get(key)?;
        let failures = entry.lock().unwrap_or_else(PoisonError::into_inner);
        self.locked(&failures)
    }

    fn locked(&self, failures: &Failures) -> Option<Duration> {
        if failures.count < self.max || failures.last.elapsed() >= self.window {
            return None;
        }
        (failures.last + self.lockout)
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
    }

    /// Counts a failure; if the key was locked already, how long it stays locked.
    fn fail(&self, key: K) -> Option<Duration> {
        if self.max == 0 {
            return None;
        }
        let entry = self.entries.get_with(key, || {
            Arc::new(Mutex::new(Failures {
                count: 0,
                last: Instant::now(),
            }))
        });
        let mut failures = entry.lock().unwrap_or_else(PoisonError::into_inner);
        let locked = self.locked(&failures);
        if failures.last.elapsed() >= self.window {
            failures.count = 0;
        }
        failures.count = failures.count.saturating_add(1);
        failures.last = Instant::now();
        locked
    }

    fn forget(&self, key: &K) {
        self.entries.invalidate(key);
    }
}

/// Where attempts come from. An IPv6 user holds a whole /64 (2^64 addresses), so IPv6 is counted
/// per /64 prefix; an IPv4-mapped address counts as its IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AddressKey {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
}

impl AddressKey {
    fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.octets()),
                None => {
                    let mut prefix = [0; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    Self::V6Prefix(prefix)
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_user: u32, per_address: u32, lockout_ms: u64) -> SignInThrottle {
        SignInThrottle::new(&SignInLimits {
            max_failures_per_user: per_user,
            max_failures_per_address: per_address,
            window: Duration::from_secs(60),
            lockout: Duration::from_millis(lockout_ms),
            capacity: 1000,
        })
    }

    fn fail(t: &SignInThrottle, user: &str, from: &str) -> Result<(), Duration> {
        t.begin(user, Some(from.parse().unwrap()))?.failed()
    }

    #[test]
    fn an_account_is_locked_after_its_failures_from_anywhere() {
        let t = throttle(3, 0, 60_000);
        for from in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
            assert!(fail(&t, "admin", from).is_ok());
        }
        let wait = fail(&t, "admin", "10.0.0.4").unwrap_err();
        assert!(wait > Duration::from_secs(59), "{wait:?}");
        // Other accounts are not affected.
        assert!(fail(&t, "alice", "10.0.0.4").is_ok());
    }

    #[test]
    fn an_address_is_locked_after_its_failures_on_any_account() {
        let t = throttle(0, 3, 60_000);
        for user in ["a", "b", "c"] {
            assert!(fail(&t, user, "192.0.2.7").is_ok());
        }
        assert!(fail(&t, "d", "192.0.2.7").is_err());
        assert!(fail(&t, "d", "192.0.2.8").is_ok());
    }

    #[test]
    fn ipv6_is_counted_per_64_prefix_and_mapped_ipv4_as_ipv4() {
        let t = throttle(0, 2, 60_000);
        assert!(fail(&t, "a", "2001:db8:1:2::1").is_ok());
        assert!(fail(&t, "a", "2001:db8:1:2:ffff::9").is_ok());
        assert!(fail(&t, "a", "2001:db8:1:2::77").is_err());
        assert!(fail(&t, "a", "2001:db8:1:3::1").is_ok());
        assert!(fail(&t, "a", "::ffff:198.51.100.1").is_ok());
        assert!(fail(&t, "a", "198.51.100.1").is_ok());
        assert!(fail(&t, "a", "198.51.100.1").is_err());
    }

    #[test]
    fn a_success_forgets_the_accounts_failures_but_not_the_addresss() {
        let t = throttle(2, 3, 60_000);
        let from = Some("10.1.1.1".parse().unwrap());
        t.begin("admin", from).unwrap().failed().unwrap();
        t.begin("admin", from).unwrap().succeeded().unwrap();
        t.begin("admin", from).unwrap().failed().unwrap();
        assert!(t.begin("admin", from).is_ok(), "one failure since success");
        t.begin("other", from).unwrap().failed().unwrap();
        // The address saw three failures: locked, whatever the account.
        assert!(t.begin("someone", from).is_err());
    }

    #[test]
    fn attempts_that_judged_nothing_are_not_counted() {
        let t = throttle(1, 1, 60_000);
        let from = Some("10.2.2.2".parse().unwrap());
        for _ in 0..5 {
            let _unjudged = t.begin("admin", from).unwrap();
        }
        assert!(t.begin("admin", from).is_ok());
    }

    #[test]
    fn after_the_lockout_one_more_guess_is_allowed_and_a_failure_locks_again() {
        let t = throttle(2, 0, 50);
        assert!(fail(&t, "admin", "10.3.3.3").is_ok());
        assert!(fail(&t, "admin", "10.3.3.3").is_ok());
        assert!(fail(&t, "admin", "10.3.3.3").is_err());
        std::thread::sleep(Duration::from_millis(80));
        assert!(fail(&t, "admin", "10.3.3.3").is_ok());
        assert!(fail(&t, "admin", "10.3.3.3").is_err());
    }

    #[test]
    fn a_burst_of_guesses_learns_nothing_past_the_limit() {
        let t = throttle(3, 0, 60_000);
        let from = Some("10.4.4.4".parse().unwrap());
        // Ten guesses in flight at once, all let in before any is judged.
        let burst: Vec<_> = (0..10).map(|_| t.begin("admin", from).unwrap()).collect();
        let mut verdicts = burst.into_iter();
        for attempt in verdicts.by_ref().take(3) {
            assert!(
                attempt.failed().is_ok(),
                "the first three are plain failures"
            );
        }
        // The right password among the rest is answered like the wrong ones: locked.
        let right = verdicts.next().unwrap();
        assert!(right.succeeded().is_err());
        for attempt in verdicts {
            assert!(attempt.failed().is_err());
        }
    }

    #[test]
    fn a_busy_address_still_forgets_failures_older_than_the_window() {
        let t = SignInThrottle::new(&SignInLimits {
            max_failures_per_user: 0,
            max_failures_per_address: 2,
            window: Duration::from_millis(60),
            lockout: Duration::from_millis(10),
            capacity: 100,
        });
        let from = Some("10.6.6.6".parse().unwrap());
        t.begin("a", from).unwrap().failed().unwrap();
        // Successes keep the address busy; the failure still ages out.
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(20));
            t.begin("b", from).unwrap().succeeded().unwrap();
        }
        t.begin("a", from).unwrap().failed().unwrap();
        t.begin("a", from).unwrap().failed().unwrap();
        assert!(t.begin("a", from).is_err(), "two fresh failures lock");
    }

    #[test]
    fn usernames_are_counted_whatever_their_case() {
        let t = throttle(2, 0, 60_000);
        assert!(fail(&t, "Admin", "10.7.7.7").is_ok());
        assert!(fail(&t, "ADMIN", "10.7.7.7").is_ok());
        assert!(t.begin("admin", None).is_err());
    }

    #[test]
    fn concurrent_successes_are_never_held_back() {
        let t = throttle(2, 2, 60_000);
        let from = Some("10.5.5.5".parse().unwrap());
        let burst: Vec<_> = (0..20).map(|_| t.begin("svc", from).unwrap()).collect();
        for attempt in burst {
            assert!(attempt.succeeded().is_ok());
        }
    }
}
