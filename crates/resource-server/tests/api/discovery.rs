//! A resource server configured with the authorization server's issuer alone: the JWK set and the
//! introspection endpoint found in its RFC 8414 metadata (or its OpenID Connect configuration),
//! served by a fake authorization server (docs/jwt-resource-server.md#configuring-by-issuer).

use std::time::{Duration, Instant};

use resource_server::settings::{Settings, ValidationMode};
use serde_json::{json, Value};

use crate::helpers::{spawn_resource, ResourceServer};
use crate::key_server::{claims, KeyServer, SigningKey, INTROSPECTED_TOKEN};

/// Nothing listens there: a JWT-mode server must never ask it.
const NO_INTROSPECTION: &str = "http://127.0.0.1:9/oauth/check_token";
const RFC_8414: &str = "/.well-known/oauth-authorization-server";
const UNAVAILABLE: &str = "Token validation is temporarily unavailable; try again later";

/// A resource server in JWT mode told nothing but `issuer`.
async fn jwt_by_issuer(issuer: &str) -> ResourceServer {
    spawn_resource(NO_INTROSPECTION, |s: &mut Settings| {
        s.validation.mode = ValidationMode::Jwt;
        s.jwt.issuer = issuer.to_owned();
    })
    .await
}

async fn health(resource: &ResourceServer) -> Value {
    resource.get("/health", None).await.json()
}

fn token_of(key: &SigningKey, issuer: &str) -> String {
    key.sign(&claims(json!({ "iss": issuer })))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_mode_configured_by_the_issuer_alone_verifies_with_the_discovered_key_set() {
    let key = SigningKey::ec("ec-1");
    let auth = KeyServer::start(&[&key]).await;
    let issuer = auth.issuer("");
    auth.publish_metadata(RFC_8414, auth.metadata_of(&issuer));
    let resource = jwt_by_issuer(&issuer).await;

    let answer = resource.hi(&token_of(&key, &issuer)).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hi , 1111"));
    let report = health(&resource).await;
    assert_eq!(report["jwt_discovery"]["status"], "discovered", "{report}");
    assert_eq!(
        report["jwt_discovery"]["jwks_uri"],
        auth.jwks_url(),
        "{report}"
    );
    assert_eq!(report["jwt_keys"], 1, "{report}");

    // The issuer is still checked in the tokens, and the metadata is not asked again: not for
    // other tokens, nor when a token names a key this server lacks (only the key set is).
    let other_issuer = key.sign(&claims(json!({"iss": "http://elsewhere.example"})));
    assert_eq!(resource.hi(&other_issuer).await.status, 401);
    for jti in ["j-2", "j-3", "j-4"] {
        let token = key.sign(&claims(json!({"iss": issuer, "jti": jti})));
        assert_eq!(resource.hi(&token).await.status, 200);
    }
    let stranger = SigningKey::ec("made-up");
    assert_eq!(resource.hi(&token_of(&stranger, &issuer)).await.status, 401);
    assert_eq!(auth.metadata_requests(), [RFC_8414]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_jwks_url_is_used_as_before_and_the_metadata_never_asked() {
    let (configured, published) = (SigningKey::ec("configured"), SigningKey::ec("published"));
    let keys = KeyServer::start(&[&configured]).await;
    let auth = KeyServer::start(&[&published]).await;
    let issuer = auth.issuer("");
    auth.publish_metadata(RFC_8414, auth.metadata_of(&issuer));
    let resource = spawn_resource(NO_INTROSPECTION, |s| {
        s.validation.mode = ValidationMode::Jwt;
        s.jwt.issuer = issuer.clone();
        s.jwt.jwks_url = keys.jwks_url();
    })
    .await;
    assert_eq!(
        resource.hi(&token_of(&configured, &issuer)).await.status,
        200
    );
    assert_eq!(
        resource.hi(&token_of(&published, &issuer)).await.status,
        401
    );
    assert!(auth.metadata_requests().is_empty());
    assert!(health(&resource).await.get("jwt_discovery").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_with_a_path_has_its_metadata_where_rfc_8414_puts_it() {
    let key = SigningKey::ed("ed-1");
    let auth = KeyServer::start(&[&key]).await;
    let issuer = auth.issuer("/tenant1");
    auth.publish_metadata(
        "/.well-known/oauth-authorization-server/tenant1",
        auth.metadata_of(&issuer),
    );
    let resource = jwt_by_issuer(&issuer).await;
    let answer = resource.hi(&token_of(&key, &issuer)).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hi , 1111"));
    assert_eq!(
        auth.metadata_requests(),
        ["/.well-known/oauth-authorization-server/tenant1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rfc_8414_metadata_the_openid_configuration_is_used() {
    let key = SigningKey::rsa("rsa-1");
    let auth = KeyServer::start(&[&key]).await;
    let issuer = auth.issuer("/realms/demo");
    auth.publish_metadata(
        "/realms/demo/.well-known/openid-configuration",
        auth.metadata_of(&issuer),
    );
    let resource = jwt_by_issuer(&issuer).await;
    let answer = resource.hi(&token_of(&key, &issuer)).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hi , 1111"));
    assert_eq!(
        auth.metadata_requests(),
        [
            "/.well-known/oauth-authorization-server/realms/demo",
            "/realms/demo/.well-known/openid-configuration",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_naming_another_issuer_is_refused_and_tokens_are_503() {
    let key = SigningKey::ec("ec-1");
    let auth = KeyServer::start(&[&key]).await;
    let issuer = auth.issuer("");
    // Served where this issuer's metadata belongs, pointing to keys that would verify the token:
    // taken, it would open /hi.
    auth.publish_metadata(RFC_8414, auth.metadata_of("https://impostor.example"));
    let resource = jwt_by_issuer(&issuer).await;
    let token = token_of(&key, &issuer);
    for _ in 0..3 {
        resource
            .hi(&token)
            .await
            .assert_error(503, "temporarily_unavailable", UNAVAILABLE);
    }
    let report = health(&resource).await;
    assert_eq!(report["jwt_discovery"]["status"], "pending", "{report}");
    assert_eq!(report["jwt_keys"], 0, "{report}");
    assert_eq!(
        auth.jwks_requests(),
        0,
        "the impostor's key set is never read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_auth_server_down_at_start_tokens_are_503_until_it_is_up() {
    let key = SigningKey::ec("ec-1");
    let auth = KeyServer::start(&[&key]).await;
    let issuer = auth.issuer("");
    auth.publish_metadata(RFC_8414, auth.metadata_of(&issuer));
    auth.set_down(true);
    let resource = jwt_by_issuer(&issuer).await;
    let token = token_of(&key, &issuer);

    let answers = futures_util::future::join_all((0..20).map(|_| resource.hi(&token))).await;
    for answer in answers {
        answer.assert_error(503, "temporarily_unavailable", UNAVAILABLE);
    }
    for _ in 0..10 {
        resource
            .hi(&token)
            .await
            .assert_error(503, "temporarily_unavailable", UNAVAILABLE);
    }
    let asked = auth.metadata_requests().len();
    assert!(
        (1..5).contains(&asked),
        "30 tokens while the auth server is down are not 30 requests to it: {asked}"
    );
    assert_eq!(
        health(&resource).await["jwt_discovery"]["status"],
        "pending"
    );

    auth.set_down(false);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = resource.hi(&token).await;
        if answer.status == 200 {
            break;
        }
        answer.assert_error(503, "temporarily_unavailable", UNAVAILABLE);
        assert!(
            Instant::now() < deadline,
            "not served 15 s after the auth server came up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let report = health(&resource).await;
    assert_eq!(
        report["jwt_discovery"]["jwks_uri"],
        auth.jwks_url(),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_configured_by_the_issuer_alone_asks_the_discovered_endpoint_per_rfc_7662() {
    let auth = KeyServer::start(&[]).await;
    let issuer = auth.issuer("/tenant1");
    auth.publish_metadata(
        "/.well-known/oauth-authorization-server/tenant1",
        auth.metadata_of(&issuer),
    );
    // No URL; the protocol the helper sets (check_token) is not read with an issuer.
    let resource = spawn_resource("", |s| s.introspection.issuer = issuer.clone()).await;

    let answer = resource.hi(INTROSPECTED_TOKEN).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hi , 1111"));
    // RFC 7662's member names, which a check_token reading would have lost.
    let me = resource.get("/me", Some(INTROSPECTED_TOKEN)).await.json();
    assert_eq!(me["user_name"], "admin", "{me}");
    assert_eq!(me["scope"], json!(["app", "read"]), "{me}");
    resource.hi("a-token-nobody-issued").await.assert_error(
        401,
        "invalid_token",
        "Invalid access token",
    );
    assert_eq!(
        auth.introspection_requests(),
        2,
        "the second /me was cached"
    );

    let report = health(&resource).await;
    assert_eq!(
        report["introspection_discovery"]["introspection_endpoint"],
        auth.introspection_url(),
        "{report}"
    );
    assert_eq!(report["introspection_calls"], 2, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_introspection_issuer_not_yet_answering_is_503_not_401() {
    let auth = KeyServer::start(&[]).await;
    let issuer = auth.issuer("");
    auth.publish_metadata(RFC_8414, auth.metadata_of(&issuer));
    auth.set_down(true);
    let resource = spawn_resource("", |s| s.introspection.issuer = issuer.clone()).await;
    resource
        .hi(INTROSPECTED_TOKEN)
        .await
        .assert_error(503, "temporarily_unavailable", UNAVAILABLE);
    let report = health(&resource).await;
    assert_eq!(
        report["introspection_discovery"]["status"], "pending",
        "{report}"
    );
    assert_eq!(auth.introspection_requests(), 0);
    auth.set_down(false);
    let deadline = Instant::now() + Duration::from_secs(15);
    while resource.hi(INTROSPECTED_TOKEN).await.status != 200 {
        assert!(
            Instant::now() < deadline,
            "not served 15 s after the auth server came up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_introspection_issuer_and_url_together_stop_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_resource-server"))
        .env_clear()
        .current_dir(dir.path())
        .env("APP__SERVER__PORT", "0")
        .env("APP__INTROSPECTION__ISSUER", "http://127.0.0.1:9")
        .env(
            "APP__INTROSPECTION__URL",
            "http://127.0.0.1:9/oauth2/introspect",
        )
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the server stops at once rather than serving")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "error: configuration: introspection.issuer and introspection.url are set; set only one"
        ),
        "{stderr}"
    );
}

/// A redirect is not followed: the metadata must be where the issuer says, and the resource
/// server's requests never carry anything to another location.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirected_metadata_location_is_not_followed() {
    let key = SigningKey::ec("ec-1");
    let auth = KeyServer::start(&[&key]).await;
    let issuer = auth.issuer("");
    let moved = "/.well-known/moved";
    auth.publish_metadata(moved, auth.metadata_of(&issuer));
    auth.redirect(RFC_8414, moved);
    auth.redirect("/.well-known/openid-configuration", moved);
    let resource = jwt_by_issuer(&issuer).await;

    let answer = resource.hi(&token_of(&key, &issuer)).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(
        !auth.metadata_requests().iter().any(|path| path == moved),
        "followed to {moved}: {:?}",
        auth.metadata_requests()
    );
    assert_eq!(
        health(&resource).await["jwt_discovery"]["status"],
        "pending"
    );
}
