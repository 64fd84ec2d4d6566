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
