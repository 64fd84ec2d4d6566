//! The `auth-server` command line, run as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use test_support::{on_both_backends, start, test_settings, Backend, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_auth-server");

fn run(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("APP__DATABASE__URL", url)
        .env("APP__SECURITY__BCRYPT_COST", "4")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("auth-server runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn ok(url: &str, args: &[&str]) -> String {
    let output = run(url, args, None);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

pub(crate) fn fails(url: &str, args: &[&str], code: i32, message: &str) {
    let output = run(url, args, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in {stderr}"
    );
}

#[on_both_backends]
async fn clients_and_users_managed_from_the_cli_get_tokens(backend: Backend) {
    let Some((db, url)) = TestDb::create(backend) else {
        return;
    };
    assert!(ok(&url, &["migrate"]).contains("up to date"));
    let add = [
        "client",
        "add",
        "--client-id",
        "ci",
        "--secret",
        "ci-secret",
        "--scope",
        "read,write",
        "--grant-types",
        "password,client_credentials,refresh_token",
        "--authorities",
        "ROLE_CI",
        "--access-token-validity",
        "900",
        "--redirect-uri",
        "https://ci.example.com/cb",
    ];
    assert!(ok(&url, &add).contains("client ci added"));
    fails(&url, &add, 1, r#"client "ci" already exists"#);
    fails(
        &url,
        &["client", "add", "--client-id", "x", "--bogus"],
        2,
        "unexpected argument '--bogus'",
    );
    fails(
        &url,
        &[
            "client",
            "add",
            "--client-id",
            "x",
            "--grant-types",
            "pasword",
        ],
        1,
        "unknown grant type \"pasword\"",
    );
    fails(
        &url,
        &[
            "client",
            "add",
            "--client-id",
            "x",
            "--access-token-validity",
            "soon",
        ],
        2,
        "invalid value 'soon'",
    );
    fails(
        &url,
        &["client", "add", "--client-id", "a:b"],
        1,
        "must not contain ':'",
    );

    let list = ok(&url, &["client", "list"]);
    assert!(
        list.contains("ci") && list.contains("password,client_credentials,refresh_token"),
        "{list}"
    );
    let show = ok(&url, &["client", "show", "--client-id", "ci"]);
    assert!(
        show.contains("client_secret:           set (bcrypt)"),
        "{show}"
    );
    assert!(show.contains("access_token_validity:   900"), "{show}");
    assert!(!show.contains("ci-secret"), "the secret is never shown");
    fails(
        &url,
        &["client", "show", "--client-id", "nope"],
        1,
        r#"no client "nope""#,
    );

    // A password from standard input stays out of `ps` and the shell history.
    let added = run(
        &url,
        &[
            "user",
            "add",
            "--username",
            "dora",
            "--authorities",
            "ROLE_USER,ROLE_OPS",
        ],
        Some("first\n"),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    fails(
        &url,
        &["user", "add", "--username", "dora", "--password", "x"],
        1,
        r#"user "dora" already exists"#,
    );
    let users = ok(&url, &["user", "list"]);
    assert!(
        users.contains("dora") && users.contains("ROLE_OPS,ROLE_USER"),
        "{users}"
    );
    assert!(ok(
        &url,
        &[
            "user",
            "passwd",
            "--username",
            "dora",
            "--password",
            "second"
        ]
    )
    .contains("changed"));
    fails(
        &url,
        &["user", "passwd", "--username", "nobody", "--password", "x"],
        1,
        r#"no user "nobody""#,
    );
    assert!(ok(&url, &["seed-demo"]).contains("inserted client dev"));
    assert!(ok(&url, &["seed-demo"]).contains("already present"));

    let mut settings = test_settings(&url);
    settings.demo.seed = false;
    settings.security.client_cache_seconds = 1;
    let app = start(db, settings).await;
    let token = app
        .password_grant_as(("ci", "ci-secret"), ("dora", "second"))
        .await;
    assert_eq!(token.json()["expires_in"], 900, "{}", token.body);
    assert_eq!(token.json()["scope"], "read write");
    app.password_grant_as(("ci", "ci-secret"), ("dora", "first"))
        .await
        .assert_error(400, "invalid_grant", "Bad credentials");

    assert!(ok(&url, &["user", "remove", "--username", "dora"]).contains("removed"));
    assert!(ok(&url, &["client", "remove", "--client-id", "ci"]).contains("removed"));
    fails(
        &url,
        &["client", "remove", "--client-id", "ci"],
        1,
        r#"no client "ci""#,
    );
    // A running server sees the removal once its memory of the client expires
    // (security.client_cache_seconds, 1 s here).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.token_basic(("ci", "ci-secret"), &[("grant_type", "client_credentials")])
        .await
        .assert_error(401, "invalid_client", "Bad client credentials");
}

#[test]
fn a_bad_configuration_value_stops_the_server_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    for (variable, value, message) in [
        ("APP__SERVER__PORT", "eighty", "for key `server.port`"),
        ("APP__TOKENS__FORMAT", "jwt", "`tokens.format`"),
        (
            "APP__SECURITY__BCRYPT_COST",
            "99",
            "security.bcrypt_cost must be between 4 and 31",
        ),
        ("APP__DEMO__SEED", "perhaps", "`demo.seed`"),
        (
            "APP__SESSION__KEY",
            "short",
            "session.key must be at least 64 bytes",
        ),
        (
            "APP__BRUTE_FORCE__LOCKOUT_SECONDS",
            "0",
            "brute_force.lockout_seconds must be between 1 and 86400",
        ),
        (
            "APP__BRUTE_FORCE__WINDOW_SECONDS",
            "31536000",
            "brute_force.window_seconds must be at most 2592000",
        ),
        (
            "APP__PURGE__BATCH_SIZE",
            "50000",
            "purge.batch_size must be between 1 and 10000",
        ),
        (
            "APP__BRUTE_FORCE__TRUST_FORWARDED_FOR",
            "maybe",
            "`brute_force.trust_forwarded_for`",
        ),
        ("APP__BRUTE_FORCE__STORE", "valkey", "`brute_force.store`"),
        (
            "APP__BRUTE_FORCE__STORE",
            "redis",
            "brute_force.redis_url must be set when brute_force.store is redis",
        ),
        (
            "APP__BRUTE_FORCE__REDIS_TIMEOUT_MS",
            "0",
            "brute_force.redis_timeout_ms must be between 1 and 60000",
        ),
        (
            "APP__BRUTE_FORCE__KEY_PREFIX",
            "two words",
            "brute_force.key_prefix must be 1 to 100 printable ASCII characters",
        ),
    ] {
        let output = Command::new(BIN)
            .env("APP__DATABASE__URL", &url)
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{variable}: {stderr}");
    }
    let output = Command::new(BIN)
        .args(["--config", "/nonexistent.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent.toml does not exist"));
    let file = dir.path().join("auth.toml");
    std::fs::write(
        &file,
        format!("[database]\nurl = \"{url}\"\n[tokens]\naccess_token_validity = \"long\"\n"),
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["--config", file.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tokens.access_token_validity"), "{stderr}");
}

#[test]
fn a_config_file_changes_what_it_names_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth.toml");
    let db = dir.path().join("from-file.db");
    std::fs::write(
        &file,
        format!("[database]\nurl = \"sqlite://{}\"\n", db.display()),
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["--config", file.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(db.exists(), "database.url came from the file");
    let env_db = dir.path().join("from-env.db");
    let output = Command::new(BIN)
        .args(["--config", file.to_str().unwrap(), "migrate"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("alias.db").display()),
        )
        .env(
            "APP__DATABASE__URL",
            format!("sqlite://{}", env_db.display()),
        )
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        env_db.exists(),
        "APP__DATABASE__URL wins over the file and DATABASE_URL"
    );
    assert!(!dir.path().join("alias.db").exists());
}

#[test]
fn only_migrate_and_serve_create_a_database_and_other_commands_name_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("auht.db");
    let url = format!("sqlite://{}", typo.display());
    for args in [
        &["client", "list"][..],
        &["user", "list"],
        &["seed-demo"],
        &["purge"],
    ] {
        fails(&url, args, 1, &format!("no database at {}", typo.display()));
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
    assert!(ok(&url, &["migrate"]).contains("up to date"));
    assert!(ok(&url, &["client", "list"]).contains("CLIENT_ID"));
}

#[test]
fn serve_waits_for_a_database_that_answers_late_and_gives_up_when_told() {
    // Nothing listens on this port: every attempt fails at once, and the server gives up after
    // database.startup_wait_seconds, having said what it waits for.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let started = std::time::Instant::now();
    let output = Command::new(BIN)
        .args(["serve"])
        .env(
            "APP__DATABASE__URL",
            format!("postgres://nobody@127.0.0.1:{port}/none"),
        )
        .env("APP__DATABASE__STARTUP_WAIT_SECONDS", "3")
        .env("APP__DATABASE__CONNECT_TIMEOUT_MS", "200")
        .env("APP__SERVER__PORT", "0")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("does not answer yet (attempt 1"),
        "{stderr}"
    );
    assert!(stderr.contains("(attempt 2"), "it tried again: {stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(2) && took < std::time::Duration::from_secs(20),
        "gave up after {took:?}"
    );
}

#[test]
fn registering_a_public_client_with_refresh_tokens_warns_while_pkce_plain_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    ok(&url, &["migrate"]);
    let add = |id: &str| {
        [
            "client",
            "add",
            "--client-id",
            id,
            "--grant-types",
            "authorization_code,refresh_token",
            "--redirect-uri",
            "https://spa.example/cb",
        ]
        .map(str::to_owned)
    };
    let output = run(&url, &add("spa").each_ref().map(String::as_str), None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: public client spa gets refresh tokens"),
        "{stderr}"
    );
    let strict = Command::new(BIN)
        .args(add("spa2"))
        .env("APP__DATABASE__URL", &url)
        .env("APP__SECURITY__PKCE_PLAIN_ALLOWED", "false")
        .output()
        .unwrap();
    assert!(strict.status.success());
    assert!(
        !String::from_utf8_lossy(&strict.stderr).contains("warning"),
        "no warning when only S256 is accepted"
    );
}

#[on_both_backends]
async fn signing_keys_are_rotated_and_retired_and_clients_switched_to_jwt_from_the_cli(
    backend: Backend,
) {
    let update = |client: &'static str, kind: &'static str| {
        [
            "client",
            "update",
            "--client-id",
            client,
            "--access-token-type",
            kind,
        ]
    };
    let Some((db, url)) = TestDb::create(backend) else {
        return;
    };
    assert!(ok(&url, &["migrate"]).contains("up to date"));
    // Before any server made one, rotating makes the first key.
    let rotated = ok(&url, &["keys", "rotate", "--delay-seconds", "0"]);
    assert!(rotated.contains("added RS256 key"), "{rotated}");
    let list = ok(&url, &["keys", "list"]);
    assert!(list.contains("published, signing"), "{list}");
    let first = list
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    fails(
        &url,
        &["keys", "retire", "--kid", &first],
        1,
        "no other key signs yet",
    );
    let waiting = ok(&url, &["keys", "rotate"]);
    assert!(waiting.contains("signs from"), "{waiting}");
    // A key still in its delay does not count: retiring the first would make it sign early.
    fails(
        &url,
        &["keys", "retire", "--kid", &first],
        1,
        "no other key signs yet",
    );
    ok(&url, &["keys", "rotate", "--delay-seconds", "0"]);
    let retired = ok(&url, &["keys", "retire", "--kid", &first]);
    assert!(
        retired.contains(&format!("key {first} retired")),
        "{retired}"
    );
    let list = ok(&url, &["keys", "list"]);
    assert!(
        list.contains("retired") && list.contains("published, signs from"),
        "{list}"
    );
    fails(
        &url,
        &["keys", "retire", "--kid", "nope"],
        1,
        "no signing key \"nope\"",
    );

    fails(&url, &update("nope", "jwt"), 1, r#"no client "nope""#);
    let settings = test_settings(&url);
    let app = start(db, settings).await;
    let opaque = app.client_token("dev", "11").await;
    assert_eq!(opaque.len(), 43);
    let updated = ok(&url, &update("dev", "jwt"));
    assert!(updated.contains("new access tokens are jwt"), "{updated}");
    let show = ok(&url, &["client", "show", "--client-id", "dev"]);
    assert!(show.contains(r#""access_token_type":"jwt""#), "{show}");
    // The client cache (security.client_cache_seconds) is 5 s by default.
    tokio::time::sleep(std::time::Duration::from_millis(5200)).await;
    let jwt = app.client_token("dev", "11").await;
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    fails(&url, &update("dev", "paseto"), 2, "invalid value 'paseto'");
}

/// The day of a breach: every grant of a user, then of a client, revoked at once.
#[on_both_backends]
async fn token_revoke_ends_every_grant_of_a_user_or_a_client(backend: Backend) {
    let Some((db, url)) = TestDb::create(backend) else {
        return;
    };
    let app = start(db, test_settings(&url)).await;
    let active = |token: String| {
        let app = &app;
        async move { app.introspect(&[("token", &token)]).await.json()["active"] == true }
    };
    let user = app.password_grant().await;
    let another_grant = app.user_token().await;
    let machine = app.client_token("dev", "11").await;
    let revoked = ok(&url, &["token", "revoke", "--username", "admin"]);
    assert!(
        revoked.contains("revoked 2 grants of user admin"),
        "{revoked}"
    );
    assert!(!active(user.field("access_token")).await);
    assert!(!active(user.field("refresh_token")).await);
    assert!(!active(another_grant).await);
    assert!(
        active(machine.clone()).await,
        "the client's own token is not the user's"
    );
    let revoked = ok(&url, &["token", "revoke", "--client-id", "dev"]);
    assert!(
        revoked.contains("revoked 1 grants of client dev"),
        "{revoked}"
    );
    assert!(!active(machine).await);
    fails(
        &url,
        &["token", "revoke", "--client-id", "nosuch"],
        1,
        "no client nosuch",
    );
    fails(
        &url,
        &["token", "revoke", "--username", "nobody"],
        1,
        "no user nobody",
    );
    fails(&url, &["token", "revoke"], 2, "--client-id");
    fails(
        &url,
        &[
            "token",
            "revoke",
            "--client-id",
            "dev",
            "--username",
            "admin",
        ],
        2,
        "cannot be used with",
    );
}

/// The stored profile of `username`, read as the server reads it.
fn stored_profile(url: &str, username: &str) -> Option<auth_server::domain::profile::Profile> {
    let store = auth_server::db::Store::open(
        &auth_server::db::DatabaseUrl::parse(url).unwrap(),
        1,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    auth_server::db::profiles::find(&mut store.conn().unwrap(), username).unwrap()
}

#[on_both_backends]
async fn user_profiles_are_added_updated_in_part_and_cleared_from_the_cli(backend: Backend) {
    let Some((_db, url)) = TestDb::create(backend) else {
        return;
    };
    ok(&url, &["migrate"]);
    let before = auth_server::domain::clock::now();
    let added = ok(
        &url,
        &[
            "user",
            "add",
            "--username",
            "alice",
            "--password",
            "pw",
            "--name",
            "Alice Liddell",
            "--given-name",
            "Alice",
            "--family-name",
            "Liddell",
            "--picture",
            "https://cdn.example.com/alice.png",
            "--locale",
            "en-GB",
            "--zoneinfo",
            "Europe/London",
            "--email",
            "alice@example.com",
            "--email-verified",
        ],
    );
    assert_eq!(added, "user alice added\n");
    let profile = stored_profile(&url, "alice").expect("a profile row");
    assert_eq!(profile.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(profile.family_name.as_deref(), Some("Liddell"));
    assert_eq!(
        profile.picture.as_deref(),
        Some("https://cdn.example.com/alice.png")
    );
    assert_eq!(profile.zoneinfo.as_deref(), Some("Europe/London"));
    assert_eq!(profile.email.as_deref(), Some("alice@example.com"));
    assert!(profile.email_verified);
    assert_eq!(profile.nickname, None);
    assert!(profile.updated_at >= before, "{}", profile.updated_at);

    // A user added without profile flags has no profile row, as before.
    ok(
        &url,
        &["user", "add", "--username", "bob", "--password", "pw"],
    );
    assert_eq!(stored_profile(&url, "bob"), None);
    let show = ok(&url, &["user", "show", "--username", "bob"]);
    assert!(show.contains("profile:            none"), "{show}");

    // Only what is given changes; '' clears.
    let updated = ok(
        &url,
        &[
            "user",
            "update",
            "--username",
            "alice",
            "--nickname",
            "Al",
            "--locale",
            "",
            "--website",
            "http://alice.example",
        ],
    );
    assert_eq!(updated, "profile of alice updated\n");
    let after = stored_profile(&url, "alice").unwrap();
    assert_eq!(after.nickname.as_deref(), Some("Al"));
    assert_eq!(after.website.as_deref(), Some("http://alice.example"));
    assert_eq!(after.locale, None, "cleared");
    assert_eq!(
        (after.name.as_deref(), after.given_name.as_deref()),
        (Some("Alice Liddell"), Some("Alice")),
        "kept"
    );
    assert!(after.email_verified, "the address did not change");
    assert!(after.updated_at >= profile.updated_at);

    // A new address is not verified unless said so; --email-verified=false unsets it.
    ok(
        &url,
        &[
            "user",
            "update",
            "--username",
            "alice",
            "--email",
            "alice@wonderland.example",
        ],
    );
    let moved = stored_profile(&url, "alice").unwrap();
    assert_eq!(moved.email.as_deref(), Some("alice@wonderland.example"));
    assert!(!moved.email_verified);
    ok(
        &url,
        &["user", "update", "--username", "alice", "--email-verified"],
    );
    assert!(stored_profile(&url, "alice").unwrap().email_verified);
    ok(
        &url,
        &[
            "user",
            "update",
            "--username",
            "alice",
            "--email-verified=false",
        ],
    );
    assert!(!stored_profile(&url, "alice").unwrap().email_verified);

    // A user without a profile gets one on its first update.
    ok(
        &url,
        &["user", "update", "--username", "bob", "--name", "Bob"],
    );
    assert_eq!(
        stored_profile(&url, "bob").unwrap().name.as_deref(),
        Some("Bob")
    );

    let show = ok(&url, &["user", "show", "--username", "alice"]);
    for line in [
        "username:           alice",
        "authorities:        ROLE_USER",
        "nickname:           Al",
        "locale:             \n",
        "email:              alice@wonderland.example",
        "email_verified:     false",
    ] {
        assert!(show.contains(line), "{line:?} in {show}");
    }
    assert!(!show.contains("bcrypt"), "the password is never shown");
    let list = ok(&url, &["user", "list"]);
    assert_eq!(
        list.lines().next(),
        Some("USERNAME                 ENABLED  AUTHORITIES"),
        "{list}"
    );

    // Refused: nothing is written, and the exit status is 1 (2 for a flag that does not parse).
    let kept = stored_profile(&url, "alice").unwrap();
    let update = |flag: &'static str, value: &'static str| {
        ["user", "update", "--username", "alice", flag, value]
    };
    fails(
        &url,
        &update("--email", "alice.example.com"),
        1,
        r#"--email: "alice.example.com" is not an email address"#,
    );
    fails(
        &url,
        &update("--picture", "/alice.png"),
        1,
        "is not an absolute http(s) URL",
    );
    fails(
        &url,
        &update("--website", "javascript:alert(1)"),
        1,
        "is not an absolute http(s) URL",
    );
    let long = "x".repeat(257);
    fails(
        &url,
        &["user", "update", "--username", "alice", "--name", &long],
        1,
        "--name is longer than 256 characters",
    );
    fails(
        &url,
        &update("--email-verified", "maybe"),
        2,
        "invalid value 'maybe'",
    );
    assert_eq!(stored_profile(&url, "alice").unwrap(), kept);
    fails(
        &url,
        &["user", "update", "--username", "alice"],
        1,
        "nothing to change",
    );
    fails(
        &url,
        &["user", "update", "--username", "nobody", "--name", "No One"],
        1,
        r#"no user "nobody""#,
    );
    assert_eq!(stored_profile(&url, "nobody"), None);
    fails(
        &url,
        &["user", "show", "--username", "nobody"],
        1,
        r#"no user "nobody""#,
    );
    // An invalid profile on `user add` stops it before the user exists.
    fails(
        &url,
        &[
            "user",
            "add",
            "--username",
            "carol",
            "--password",
            "pw",
            "--email",
            "carol",
        ],
        1,
        "is not an email address",
    );
    assert!(!ok(&url, &["user", "list"]).contains("carol"));

    ok(&url, &["user", "remove", "--username", "alice"]);
    assert_eq!(stored_profile(&url, "alice"), None, "removed with the user");
}

#[on_both_backends]
async fn post_logout_redirect_uris_are_registered_in_additional_information(backend: Backend) {
    let Some((_db, url)) = TestDb::create(backend) else {
        return;
    };
    ok(&url, &["migrate"]);
    let info = |client: &str| -> serde_json::Value {
        let show = ok(&url, &["client", "show", "--client-id", client]);
        let json = show
            .lines()
            .find_map(|l| l.strip_prefix("additional_information:"))
            .unwrap_or_else(|| panic!("{show}"))
            .trim();
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {show}"))
    };
    let client = |id: &str| {
        let store = auth_server::db::Store::open(
            &auth_server::db::DatabaseUrl::parse(&url).unwrap(),
            1,
            std::time::Duration::from_secs(5),
        )
        .unwrap();
        auth_server::db::clients::find(&mut store.conn().unwrap(), id)
            .unwrap()
            .unwrap()
    };
    ok(
        &url,
        &[
            "client",
            "add",
            "--client-id",
            "rp",
            "--secret",
            "s",
            "--redirect-uri",
            "https://rp.example/cb",
            "--additional-information",
            r#"{"rotate_refresh_tokens":true}"#,
            "--access-token-type",
            "jwt",
            "--post-logout-redirect-uri",
            "https://rp.example/bye",
            "--post-logout-redirect-uri",
            "com.example.rp:/logout",
        ],
    );
    let stored = info("rp");
    assert_eq!(
        stored,
        serde_json::json!({
            "rotate_refresh_tokens": true,
            "access_token_type": "jwt",
            "post_logout_redirect_uris": ["https://rp.example/bye", "com.example.rp:/logout"],
        })
    );
    assert_eq!(
        client("rp").post_logout_redirect_uris(),
        ["https://rp.example/bye", "com.example.rp:/logout"]
    );

    // On update the list given replaces the stored one; the other keys stay.
    let updated = ok(
        &url,
        &[
            "client",
            "update",
            "--client-id",
            "rp",
            "--post-logout-redirect-uri",
            "https://rp.example/logged-out?from=op",
        ],
    );
    assert!(
        updated.contains("post-logout redirect URIs https://rp.example/logged-out?from=op"),
        "{updated}"
    );
    assert!(!updated.contains("new access tokens"), "{updated}");
    let stored = info("rp");
    assert_eq!(
        stored["post_logout_redirect_uris"],
        serde_json::json!(["https://rp.example/logged-out?from=op"])
    );
    assert_eq!(stored["rotate_refresh_tokens"], true);
    assert_eq!(stored["access_token_type"], "jwt");

    // Both at once, then '' alone removes them.
    let both = ok(
        &url,
        &[
            "client",
            "update",
            "--client-id",
            "rp",
            "--access-token-type",
            "opaque",
            "--post-logout-redirect-uri",
            "https://rp.example/bye",
        ],
    );
    assert!(both.contains("new access tokens are opaque"), "{both}");
    assert_eq!(info("rp")["access_token_type"], "opaque");
    let cleared = ok(
        &url,
        &[
            "client",
            "update",
            "--client-id",
            "rp",
            "--post-logout-redirect-uri",
            "",
        ],
    );
    assert!(
        cleared.contains("no post-logout redirect URIs"),
        "{cleared}"
    );
    assert_eq!(
        info("rp"),
        serde_json::json!({"rotate_refresh_tokens": true, "access_token_type": "opaque"})
    );
    assert!(client("rp").post_logout_redirect_uris().is_empty());

    // Refused, and nothing written.
    let before = info("rp");
    for (uri, message) in [
        ("/bye", "is not an absolute URI"),
        ("https://rp.example/bye#x", "must not have a fragment"),
        ("javascript:alert(1)", "scheme is not allowed"),
    ] {
        fails(
            &url,
            &[
                "client",
                "update",
                "--client-id",
                "rp",
                "--post-logout-redirect-uri",
                uri,
            ],
            1,
            message,
        );
        fails(
            &url,
            &[
                "client",
                "add",
                "--client-id",
                "rp2",
                "--post-logout-redirect-uri",
                uri,
            ],
            1,
            "--post-logout-redirect-uri",
        );
    }
    fails(
        &url,
        &[
            "client",
            "update",
            "--client-id",
            "rp",
            "--post-logout-redirect-uri",
            "",
            "--post-logout-redirect-uri",
            "https://rp.example/bye",
        ],
        1,
        "give it alone",
    );
    assert_eq!(info("rp"), before);
    assert!(!ok(&url, &["client", "list"]).contains("rp2"));
    fails(
        &url,
        &[
            "client",
            "update",
            "--client-id",
            "nope",
            "--post-logout-redirect-uri",
            "https://rp.example/bye",
        ],
        1,
        r#"no client "nope""#,
    );
    fails(
        &url,
        &["client", "update", "--client-id", "rp"],
        2,
        "required arguments were not provided",
    );
}
