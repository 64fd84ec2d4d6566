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
//! These are the rules; the counters they read and write are [`FailureCounters`]: in this
//! process's memory ([`MemoryCounters`], the default: with N replicas an attacker spread over all
//! of them gets N times the allowance), or in Redis, shared by every replica
//! (`stores::redis_counters`, the same rules in a Lua script). Both pass the same tests
//! (`rules_tests!`). A shared store can fail to answer: then no attempt goes on and no verdict
//! is given (docs/security.md, item 35), or a guesser would have unlimited tries while it lasts.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
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
    /// Keys the memory counters hold at once (a shared store expires its own).
    pub capacity: u64,
}

/// The counters could not be read or written (a shared store down or slow). Nothing was counted,
/// so nothing may be judged.
#[derive(Debug, thiserror::Error)]
#[error("the sign-in limit store does not answer: {0}")]
pub struct CountersUnavailable(pub String);

/// Why an attempt may not go on, or may not be given its verdict.
#[derive(Debug)]
pub enum Refused {
    /// Too many failures lately, for the account or the address: how long to wait.
    Locked(Duration),
    /// The failures cannot be counted now (docs/security.md, item 35).
    Unavailable(CountersUnavailable),
}

/// How long a key is locked for; `None` when it is not.
pub type Wait = Option<Duration>;

/// What every counting operation answers, boxed so a store can be chosen at start.
pub type Counted<'a> = Pin<Box<dyn Future<Output = Result<Wait, CountersUnavailable>> + Send + 'a>>;

/// Where failures are counted. Each operation acts on the account and the address together; a
/// shared store runs it as one step, so concurrent attempts on every replica see each other's
/// failures whole.
pub trait FailureCounters: Send + Sync {
    /// How long the account or the address is locked for, if either is (now).
    fn locked<'a>(&'a self, keys: &'a AttemptKeys) -> Counted<'a>;

    /// Counts a failure for both; how long either was locked already, if it was (concurrent
    /// failures got there first, so this answer must be the same 429 as theirs).
    fn failed<'a>(&'a self, keys: &'a AttemptKeys) -> Counted<'a>;

    /// Unless the account or the address is locked (then: how long), forgets the account's
    /// failures. The address keeps its failures, or an attacker with one account of their own
    /// could wipe their record with it.
    fn succeeded<'a>(&'a self, keys: &'a AttemptKeys) -> Counted<'a>;
}

/// What one attempt's failures are counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKeys {
    pub account: AccountKey,
    pub address: Option<AddressKey>,
}

/// An account, by SHA-256 of its case-folded username: a fixed 32 bytes whatever was typed, no
/// username in memory or in a shared store, and `Admin` counts as `admin` on a database whose
/// usernames ignore case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountKey([u8; 32]);

impl AccountKey {
    pub fn of(username: &str) -> Self {
        Self(Sha256::digest(username.to_lowercase().as_bytes()).into())
    }
}

/// Lowercase hex, as `printf %s admin | sha256sum` prints it: an operator can find an account's
/// counter in a shared store.
impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Where attempts come from. An IPv6 user holds a whole /64 (2^64 addresses), so IPv6 is counted
/// per /64 prefix; an IPv4-mapped address counts as its IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddressKey {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
}

impl AddressKey {
    pub fn of(address: IpAddr) -> Self {
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

/// `192.0.2.7`, or `2001:db8:1:2::/64`.
impl fmt::Display for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(octets) => write!(f, "{}", std::net::Ipv4Addr::from(*octets)),
            Self::V6Prefix(prefix) => {
                let mut octets = [0; 16];
                octets[..8].copy_from_slice(prefix);
                write!(f, "{}/64", Ipv6Addr::from(octets))
            }
        }
    }
}

pub struct SignInThrottle {
    counters: Box<dyn FailureCounters>,
}

/// An attempt under way: end it with [`Attempt::succeeded`] or [`Attempt::failed`], or drop it
/// when the password could not be judged (database down, bcrypt busy, a disabled account).
pub struct Attempt<'a> {
    throttle: &'a SignInThrottle,
    keys: AttemptKeys,
}

/// `Ok` when the key is not locked.
fn verdict(counted: Result<Wait, CountersUnavailable>) -> Result<(), Refused> {
    match counted {
        Ok(None) => Ok(()),
        Ok(Some(wait)) => Err(Refused::Locked(wait)),
        Err(unavailable) => Err(Refused::Unavailable(unavailable)),
    }
}

impl SignInThrottle {
    /// Counters in this process's memory.
    pub fn new(limits: &SignInLimits) -> Self {
        Self::with_counters(MemoryCounters::new(limits))
    }

    pub fn with_counters(counters: impl FailureCounters + 'static) -> Self {
        Self {
            counters: Box::new(counters),
        }
    }

    /// Starts an attempt for `username` from `address`, or says why it may not go on.
    pub async fn begin(
        &self,
        username: &str,
        address: Option<IpAddr>,
    ) -> Result<Attempt<'_>, Refused> {
        let keys = AttemptKeys {
            account: AccountKey::of(username),
            address: address.map(AddressKey::of),
        };
        verdict(self.counters.locked(&keys).await)?;
        Ok(Attempt {
            throttle: self,
            keys,
        })
    }
}

impl Attempt<'_> {
    /// The password was right. Unless concurrent failures locked the account or address meanwhile
    /// (then: how long to wait), the account's failures are forgotten.
    pub async fn succeeded(self) -> Result<(), Refused> {
        verdict(self.throttle.counters.succeeded(&self.keys).await)
    }

    /// Whether the account and address are still not locked (now).
    pub async fn still_allowed(&self) -> Result<(), Refused> {
        verdict(self.throttle.counters.locked(&self.keys).await)
    }

    /// The password was wrong: counted. `Err` when the key was already locked by concurrent
    /// failures, so this answer must be the same 429 as theirs; or when the failure could not be
    /// counted, so the answer must not tell that the password was wrong.
    pub async fn failed(self) -> Result<(), Refused> {
        verdict(self.throttle.counters.failed(&self.keys).await)
    }
}

/// The counters in this process's memory: they never fail to answer.
pub struct MemoryCounters {
    users: Counter<AccountKey>,
    addresses: Counter<AddressKey>,
}

impl MemoryCounters {
    pub fn new(limits: &SignInLimits) -> Self {
        Self {
            users: Counter::new(limits.max_failures_per_user, limits),
            addresses: Counter::new(limits.max_failures_per_address, limits),
        }
    }

    fn locked_now(&self, keys: &AttemptKeys) -> Wait {
        let user_wait = self.users.wait(&keys.account);
        let address_wait = keys.address.as_ref().and_then(|a| self.addresses.wait(a));
        user_wait.into_iter().chain(address_wait).max()
    }
}

impl FailureCounters for MemoryCounters {
    fn locked<'a>(&'a self, keys: &'a AttemptKeys) -> Counted<'a> {
        Box::pin(std::future::ready(Ok(self.locked_now(keys))))
    }

    fn failed<'a>(&'a self, keys: &'a AttemptKeys) -> Counted<'a> {
        let user_wait = self.users.fail(keys.account);
        let address_wait = keys
            .address
            .clone()
            .and_then(|address| self.addresses.fail(address));
        Box::pin(std::future::ready(Ok(user_wait
            .into_iter()
            .chain(address_wait)
            .max())))
    }

    fn succeeded<'a>(&'a self, keys: &'a AttemptKeys) -> Counted<'a> {
        let wait = self.locked_now(keys);
        if wait.is_none() {
            self.users.forget(&keys.account);
        }
        Box::pin(std::future::ready(Ok(wait)))
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

/// The rules' tests, for any [`FailureCounters`]: `rules_tests!(make)` writes them in a module
/// `rules` beside `make`, a `fn(SignInLimits) -> Option<SignInThrottle>` (`None`: that store is
/// not available here, and the test says it was skipped). The memory counters run them below, the
/// Redis counters in `stores::redis_counters`.
#[cfg(test)]
macro_rules! rules_tests {
    ($make:ident) => {
        mod rules {
            use std::time::Duration;

            use $crate::domain::sign_in_throttle::{Refused, SignInLimits, SignInThrottle};

            fn make(limits: SignInLimits) -> Option<SignInThrottle> {
                super::$make(limits)
            }

            fn throttle(
                per_user: u32,
                per_address: u32,
                lockout_ms: u64,
            ) -> Option<SignInThrottle> {
                make(SignInLimits {
                    max_failures_per_user: per_user,
                    max_failures_per_address: per_address,
                    window: Duration::from_secs(60),
                    lockout: Duration::from_millis(lockout_ms),
                    capacity: 1000,
                })
            }

            /// How long the answer says to wait; `None` when it let the attempt go on. A store that
            /// does not answer fails the test: it must not pass for a lock.
            fn wait(answer: Result<(), Refused>) -> Option<Duration> {
                match answer {
                    Ok(()) => None,
                    Err(Refused::Locked(wait)) => Some(wait),
                    Err(Refused::Unavailable(error)) => panic!("{error}"),
                }
            }

            fn locked(answer: Result<(), Refused>) -> bool {
                wait(answer).is_some()
            }

            fn at(address: &str) -> Option<std::net::IpAddr> {
                Some(address.parse().expect("an IP address"))
            }

            async fn fail(t: &SignInThrottle, user: &str, from: &str) -> Result<(), Refused> {
                t.begin(user, at(from)).await?.failed().await
            }

            async fn begin(
                t: &SignInThrottle,
                user: &str,
                from: Option<std::net::IpAddr>,
            ) -> Result<(), Refused> {
                t.begin(user, from).await.map(drop)
            }

            #[tokio::test]
            async fn an_account_is_locked_after_its_failures_from_anywhere() {
                let Some(t) = throttle(3, 0, 60_000) else {
                    return;
                };
                for from in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
                    assert!(!locked(fail(&t, "admin", from).await));
                }
                let wait = wait(fail(&t, "admin", "10.0.0.4").await).expect("locked");
                assert!(wait > Duration::from_secs(59), "{wait:?}");
                // Other accounts are not affected.
                assert!(!locked(fail(&t, "alice", "10.0.0.4").await));
            }

            #[tokio::test]
            async fn an_address_is_locked_after_its_failures_on_any_account() {
                let Some(t) = throttle(0, 3, 60_000) else {
                    return;
                };
                for user in ["a", "b", "c"] {
                    assert!(!locked(fail(&t, user, "192.0.2.7").await));
                }
                assert!(locked(fail(&t, "d", "192.0.2.7").await));
                assert!(!locked(fail(&t, "d", "192.0.2.8").await));
            }

            #[tokio::test]
            async fn ipv6_is_counted_per_64_prefix_and_mapped_ipv4_as_ipv4() {
                let Some(t) = throttle(0, 2, 60_000) else {
                    return;
                };
                assert!(!locked(fail(&t, "a", "2001:db8:1:2::1").await));
                assert!(!locked(fail(&t, "a", "2001:db8:1:2:ffff::9").await));
                assert!(locked(fail(&t, "a", "2001:db8:1:2::77").await));
                assert!(!locked(fail(&t, "a", "2001:db8:1:3::1").await));
                assert!(!locked(fail(&t, "a", "::ffff:198.51.100.1").await));
                assert!(!locked(fail(&t, "a", "198.51.100.1").await));
                assert!(locked(fail(&t, "a", "198.51.100.1").await));
            }

            #[tokio::test]
            async fn a_success_forgets_the_accounts_failures_but_not_the_addresss() {
                let Some(t) = throttle(2, 3, 60_000) else {
                    return;
                };
                let from = at("10.1.1.1");
                let attempt = || t.begin("admin", from);
                assert!(!locked(attempt().await.expect("open").failed().await));
                assert!(!locked(attempt().await.expect("open").succeeded().await));
                assert!(!locked(attempt().await.expect("open").failed().await));
                assert!(
                    !locked(begin(&t, "admin", from).await),
                    "one failure since success"
                );
                assert!(!locked(
                    t.begin("other", from).await.expect("open").failed().await
                ));
                // The address saw three failures: locked, whatever the account.
                assert!(locked(begin(&t, "someone", from).await));
            }

            #[tokio::test]
            async fn attempts_that_judged_nothing_are_not_counted() {
                let Some(t) = throttle(1, 1, 60_000) else {
                    return;
                };
                let from = at("10.2.2.2");
                for _ in 0..5 {
                    let _unjudged = t.begin("admin", from).await.expect("open");
                }
                assert!(!locked(begin(&t, "admin", from).await));
            }

            #[tokio::test]
            async fn after_the_lockout_one_more_guess_is_allowed_and_a_failure_locks_again() {
                let Some(t) = throttle(2, 0, 50) else { return };
                assert!(!locked(fail(&t, "admin", "10.3.3.3").await));
                assert!(!locked(fail(&t, "admin", "10.3.3.3").await));
                assert!(locked(fail(&t, "admin", "10.3.3.3").await));
                tokio::time::sleep(Duration::from_millis(80)).await;
                assert!(!locked(fail(&t, "admin", "10.3.3.3").await));
                assert!(locked(fail(&t, "admin", "10.3.3.3").await));
            }

            #[tokio::test]
            async fn a_burst_of_guesses_learns_nothing_past_the_limit() {
                let Some(t) = throttle(3, 0, 60_000) else {
                    return;
                };
                let from = at("10.4.4.4");
                // Ten guesses in flight at once, all let in before any is judged.
                let mut burst = Vec::new();
                for _ in 0..10 {
                    burst.push(t.begin("admin", from).await.expect("open"));
                }
                let mut verdicts = burst.into_iter();
                for attempt in verdicts.by_ref().take(3) {
                    assert!(
                        !locked(attempt.failed().await),
                        "the first three are plain failures"
                    );
                }
                // The right password among the rest is answered like the wrong ones: locked.
                let right = verdicts.next().expect("ten");
                assert!(locked(right.succeeded().await));
                for attempt in verdicts {
                    assert!(locked(attempt.failed().await));
                }
            }

            #[tokio::test]
            async fn a_busy_address_still_forgets_failures_older_than_the_window() {
                let Some(t) = make(SignInLimits {
                    max_failures_per_user: 0,
                    max_failures_per_address: 2,
                    window: Duration::from_millis(60),
                    lockout: Duration::from_millis(10),
                    capacity: 100,
                }) else {
                    return;
                };
                let from = at("10.6.6.6");
                assert!(!locked(
                    t.begin("a", from).await.expect("open").failed().await
                ));
                // Successes keep the address busy; the failure still ages out.
                for _ in 0..4 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    assert!(!locked(
                        t.begin("b", from).await.expect("open").succeeded().await
                    ));
                }
                assert!(!locked(
                    t.begin("a", from).await.expect("open").failed().await
                ));
                assert!(!locked(
                    t.begin("a", from).await.expect("open").failed().await
                ));
                assert!(
                    locked(begin(&t, "a", from).await),
                    "two fresh failures lock"
                );
            }

            #[tokio::test]
            async fn usernames_are_counted_whatever_their_case() {
                let Some(t) = throttle(2, 0, 60_000) else {
                    return;
                };
                assert!(!locked(fail(&t, "Admin", "10.7.7.7").await));
                assert!(!locked(fail(&t, "ADMIN", "10.7.7.7").await));
                assert!(locked(begin(&t, "admin", None).await));
            }

            #[tokio::test]
            async fn concurrent_successes_are_never_held_back() {
                let Some(t) = throttle(2, 2, 60_000) else {
                    return;
                };
                let from = at("10.5.5.5");
                let mut burst = Vec::new();
                for _ in 0..20 {
                    burst.push(t.begin("svc", from).await.expect("open"));
                }
                for attempt in burst {
                    assert!(!locked(attempt.succeeded().await));
                }
            }

            #[tokio::test]
            async fn a_disabled_accounts_check_sees_a_lock_and_counts_nothing() {
                let Some(t) = throttle(2, 0, 60_000) else {
                    return;
                };
                let from = at("10.8.8.8");
                let attempt = t.begin("gone", from).await.expect("open");
                assert!(!locked(attempt.still_allowed().await));
                assert!(!locked(fail(&t, "gone", "10.8.8.8").await));
                assert!(
                    !locked(attempt.still_allowed().await),
                    "one failure is not a lock"
                );
                assert!(!locked(fail(&t, "gone", "10.8.8.8").await));
                assert!(locked(attempt.still_allowed().await));
            }

            #[tokio::test]
            async fn limits_of_zero_count_nothing() {
                let Some(t) = throttle(0, 0, 60_000) else {
                    return;
                };
                for _ in 0..8 {
                    assert!(!locked(fail(&t, "admin", "10.9.9.9").await));
                }
            }
        }
    };
}

#[cfg(test)]
pub(crate) use rules_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_throttle(limits: SignInLimits) -> Option<SignInThrottle> {
        Some(SignInThrottle::new(&limits))
    }

    rules_tests!(memory_throttle);

    #[test]
    fn keys_print_as_an_operator_looks_them_up() {
        // printf %s admin | sha256sum
        assert_eq!(
            AccountKey::of("Admin").to_string(),
            "8c6976e5b5410415bde908bd4dee15dfb167a9c873fc4bb8a81f6f2ab448a918"
        );
        let key = |a: &str| AddressKey::of(a.parse().unwrap()).to_string();
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    }
}
