//! Redis for the tests of the shared sign-in limits (`brute_force.store = "redis"`): the Redis of
//! `TEST_REDIS_URL` under a key prefix of the test's own, so tests share it in parallel, and a
//! throwaway `redis-server` a test can kill and start again.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_server::settings::{CounterStore, Settings};
use auth_server::stores::redis_counters::RedisUrl;

/// Where a test's counters go: a Redis and a key prefix no other test uses.
#[derive(Debug, Clone)]
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    /// The Redis of `TEST_REDIS_URL`; `None`, and a note on stderr, when it is not set.
    pub fn shared() -> Option<Self> {
        let Ok(url) = std::env::var("TEST_REDIS_URL") else {
            eprintln!("skipped: TEST_REDIS_URL is not set, the shared sign-in limits not tested");
            return None;
        };
        Some(Self::at(url))
    }

    fn at(url: String) -> Self {
        Self {
            url,
            prefix: format!("test:{}:", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Counts sign-in failures there, with a short timeout so a test of a Redis that is down
    /// does not wait long.
    pub fn configure(&self, settings: &mut Settings) {
        settings.brute_force.store = CounterStore::Redis;
        settings.brute_force.redis_url = RedisUrl::new(&self.url);
        settings.brute_force.key_prefix = self.prefix.clone();
        settings.brute_force.redis_timeout_ms = 500;
    }
}

/// A `redis-server` of the test's own on a free port, keeping nothing on disk. Killed when
/// dropped.
pub struct OwnRedis {
    port: u16,
    process: Option<Child>,
}

impl OwnRedis {
    /// Starts one, when Redis tests are asked for (`TEST_REDIS_URL` set): `None`, and a note on
    /// stderr, otherwise. Then `redis-server` must be on the PATH (or named by `REDIS_SERVER`).
    pub fn start() -> Option<Self> {
        TestRedis::shared()?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Self {
            port,
            process: None,
        };
        redis.restart();
        Some(redis)
    }

    /// Where it listens, under a key prefix of its own.
    pub fn redis(&self) -> TestRedis {
        TestRedis::at(format!("redis://127.0.0.1:{}", self.port))
    }

    /// Kills it (SIGKILL): no goodbye to its clients.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Stops it without closing anything (SIGSTOP): connections are accepted, nothing answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused one go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let process = self.process.as_ref().expect("redis-server is running");
        let sent = Command::new("kill")
            .args([signal, &process.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill {signal} redis-server");
    }

    /// Starts it again, on the same port, empty; returns once it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let process = Command::new(&program)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("{program}: {error} (TEST_REDIS_URL is set: Redis tests need redis-server)")
            });
        self.process = Some(process);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on port {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
