//! Concurrent requests to the token and check_token endpoints, every answer recorded with when it
//! was sent and received.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{http, password_form, send, Process, Reply, CLIENT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Call {
    ClientCredentials,
    Password,
    RefreshToken,
    /// What a resource server asks (Spring's `/oauth/check_token`), about a token known good.
    CheckToken,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Call::ClientCredentials => "client_credentials",
            Call::Password => "password",
            Call::RefreshToken => "refresh_token",
            Call::CheckToken => "check_token",
        })
    }
}

pub struct Outcome {
    pub call: Call,
    pub sent: Instant,
    pub received: Instant,
    /// `Err`: no complete answer.
    pub reply: Result<Reply, String>,
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(&self.reply, Ok(r) if r.status == 200)
    }
}

/// How many workers of each kind. Each refresh worker starts from its own refresh token and keeps
/// refreshing the latest one it was given; each check_token worker checks its own access token.
pub struct Mix {
    pub client_credentials: usize,
    pub password: usize,
    pub refresh_tokens: Vec<String>,
    pub checked_tokens: Vec<String>,
}

type Outcomes = Arc<Mutex<Vec<Outcome>>>;

pub struct Load {
    stop: Arc<AtomicBool>,
    outcomes: Outcomes,
    workers: Vec<tokio::task::JoinHandle<Option<String>>>,
}

impl Load {
    pub fn start(auth: &Process, mix: Mix) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes: Outcomes = Arc::default();
        let url = auth.url("");
        let mut workers = Vec::new();
        let mut spawn = |call, token: Option<String>| {
            workers.push(tokio::spawn(worker(
                url.clone(),
                call,
                token,
                stop.clone(),
                outcomes.clone(),
            )));
        };
        for _ in 0..mix.client_credentials {
            spawn(Call::ClientCredentials, None);
        }
        for _ in 0..mix.password {
            spawn(Call::Password, None);
        }
        for token in mix.refresh_tokens {
            spawn(Call::RefreshToken, Some(token));
        }
        for token in mix.checked_tokens {
            spawn(Call::CheckToken, Some(token));
        }
        Load {
            stop,
            outcomes,
            workers,
        }
    }

    /// Tokens issued as fast as the server answers (three client_credentials workers and one
    /// password worker), until `successes` were answered 200, or 5 s passed.
    pub async fn issuing(auth: &Process, successes: usize) -> Load {
        let load = Load::start(
            auth,
            Mix {
                client_credentials: 3,
                password: 1,
                refresh_tokens: Vec::new(),
                checked_tokens: Vec::new(),
            },
        );
        let started = Instant::now();
        while load.successes() < successes && started.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        load
    }

    /// When each call first answered 200 among answers received at or after `since`.
    pub fn first_successes_since(&self, since: Instant) -> BTreeMap<Call, Instant> {
        let mut first = BTreeMap::new();
        for outcome in self.outcomes.lock().unwrap().iter() {
            if outcome.is_ok() && outcome.received >= since {
                let at = first.entry(outcome.call).or_insert(outcome.received);
                *at = (*at).min(outcome.received);
            }
        }
        first
    }

    pub fn successes(&self) -> usize {
        self.outcomes
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.is_ok())
            .count()
    }

    /// Stops the workers after their current request.
    pub async fn stop(self) -> Finished {
        self.stop.store(true, Ordering::SeqCst);
        let mut refresh_tokens = Vec::new();
        for worker in self.workers {
            if let Some(token) = worker.await.expect("load worker") {
                refresh_tokens.push(token);
            }
        }
        let outcomes = std::mem::take(&mut *self.outcomes.lock().unwrap());
        Finished {
            outcomes,
            refresh_tokens,
        }
    }
}

async fn worker(
    auth: String,
    call: Call,
    mut token: Option<String>,
    stop: Arc<AtomicBool>,
    outcomes: Outcomes,
) -> Option<String> {
    let http = http();
    let (token_url, check_url) = (
        format!("{auth}/oauth/token"),
        format!("{auth}/oauth/check_token"),
    );
    while !stop.load(Ordering::SeqCst) {
        let value = token.as_deref().unwrap_or_default();
        let request = match call {
            Call::ClientCredentials => http
                .post(&token_url)
                .basic_auth(CLIENT.0, Some(CLIENT.1))
                .form(&[("grant_type", "client_credentials")]),
            Call::Password => http.post(&token_url).form(&password_form()),
            Call::RefreshToken => http
                .post(&token_url)
                .basic_auth(CLIENT.0, Some(CLIENT.1))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", value)]),
            Call::CheckToken => http
                .post(&check_url)
                .basic_auth("resource", Some("resource-secret"))
                .form(&[("token", value)]),
        };
        let sent = Instant::now();
        let reply = send(request).await;
        let received = Instant::now();
        if let (Call::RefreshToken, Ok(reply)) = (call, &reply) {
            if reply.status == 200 {
                // With rotation on, the token just presented is spent: only this one refreshes.
                if let Some(next) = reply.field("refresh_token") {
                    token = Some(next);
                }
            }
        }
        let unanswered = reply.is_err();
        outcomes.lock().unwrap().push(Outcome {
            call,
            sent,
            received,
            reply,
        });
        if unanswered {
            // The server is gone (kill -9): do not spin on refused connections.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    token.filter(|_| call == Call::RefreshToken)
}

/// Everything the load saw.
pub struct Finished {
    pub outcomes: Vec<Outcome>,
    /// The latest refresh token of each refresh worker.
    pub refresh_tokens: Vec<String>,
}

impl Finished {
    /// The access token of every 200 answer that arrived whole.
    pub fn access_tokens(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|o| o.is_ok())
            .filter_map(|o| o.reply.as_ref().ok()?.field("access_token"))
            .collect()
    }

    /// `client_credentials 200×512 503×31 · password …`, answers without a status as `none`.
    pub fn tally(&self) -> String {
        let mut counts: BTreeMap<Call, BTreeMap<String, usize>> = BTreeMap::new();
        for outcome in &self.outcomes {
            let status = match &outcome.reply {
                Ok(reply) => reply.status.to_string(),
                Err(_) => "no answer".to_owned(),
            };
            *counts
                .entry(outcome.call)
                .or_default()
                .entry(status)
                .or_default() += 1;
        }
        counts
            .iter()
            .map(|(call, statuses)| {
                let statuses: Vec<String> = statuses
                    .iter()
                    .map(|(status, n)| format!("{status}×{n}"))
                    .collect();
                format!("{call} {}", statuses.join(" "))
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }

    pub fn count(&self, matching: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| matching(o)).count()
    }
}
