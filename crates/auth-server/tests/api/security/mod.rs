//! The project's security checklist (docs/security.md), item by item, as black-box tests: HTTP
//! against the real server (or the real binary, for what only the command line can do), on SQLite
//! and, with TEST_DATABASE_URL, on PostgreSQL. Every test is named after the item it proves
//! (`item_NN_what_it_shows`), in the file of the checklist's section:
//!
//! | items | section | file |
//! |---|---|---|
//! | 1–5 | redirects | `redirects.rs` |
//! | 6–8 | codes and PKCE | `codes_and_pkce.rs` |
//! | 9–10 | refresh tokens | `refresh_tokens.rs` |
//! | 11–13 | pages | `pages.rs` |
//! | 14–18 | token endpoint and clients | `token_endpoint.rs` |
//! | 19–21 | introspection and the resource server | `introspection.rs` |
//! | 22–23 | faults and input | `faults_and_input.rs` |
//! | 17 across replicas, 35 | sign-in limits shared through Redis | `shared_limits.rs` |
//!
//! What needs real processes is in `crates/auth-server/tests/faults/`: item 20 (the resource
//! server fails closed), 22 under load, 24 (kill -9), and SIGTERM. Parameter count and length, URI
//! and header limits (item 23) are in `tests/api/request_limits.rs`; the parsers are fuzzed by the
//! `cargo fuzz` targets in `fuzz/`.

mod codes_and_pkce;
mod faults_and_input;
mod introspection;
mod pages;
mod redirects;
mod refresh_tokens;
mod shared_limits;
mod token_endpoint;

use std::collections::HashSet;
use std::time::Duration;

use auth_server::domain::token_value::{self, hash, TokenFormat};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use test_support::{
    answer, assert_cut_off, csrf_of, field_of, many_trickling, on_both_backends, params_of,
    sqlite_app_with, start, test_settings, Answer, Backend, TestApp, TestDb,
};

const WALKTHROUGH: &str =
    "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz";

async fn code(app: &TestApp, query: &str) -> String {
    params_of(&app.browser().code_for(query).await)["code"].clone()
}

/// Exchanges a code of the demo client `dev`, with its walkthrough redirect URI.
async fn exchange(app: &TestApp, code: &str, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "http://www.baidu.com"),
    ];
    form.extend_from_slice(extra);
    app.token_basic(("dev", "11"), &form).await
}

/// `GET` of the auth server's own protected API.
async fn get(app: &TestApp, path: &str, bearer: Option<&str>) -> Answer {
    let mut request = app.http.get(app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.unwrap()).await
}

fn encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn assert_secure_headers(answer: &Answer, what: &str) {
    assert_eq!(answer.header("x-frame-options"), "DENY", "{what}");
    assert!(
        answer
            .header("content-security-policy")
            .contains("frame-ancestors 'none'"),
        "{what}"
    );
    assert_eq!(answer.header("cache-control"), "no-store", "{what}");
    assert_eq!(answer.header("referrer-policy"), "no-referrer", "{what}");
}
