//! `validation.mode = "jwt"` and `"mixed"`: JWT access tokens verified with the keys a (fake)
//! authorization server publishes, as a client sees the answers (docs/jwt-resource-server.md).

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use resource_server::settings::{Settings, ValidationMode};
use serde_json::{json, Value};

use crate::helpers::{assert_insufficient_scope, spawn_auth, spawn_resource, ResourceServer};
use crate::key_server::{b64, claims, now, KeyServer, SigningKey};

/// Nothing listens there: a JWT-mode server must never ask it.
const NO_INTROSPECTION: &str = "http://127.0.0.1:9/oauth/check_token";
const INVALID: &str = "Invalid access token";
const UNAVAILABLE: &str = "Token validation is temporarily unavailable; try again later";
const INVALID_CHALLENGE: &str = r#"Bearer realm="oauth2-resource", error="invalid_token", error_description="Invalid access token""#;

/// A resource server in JWT mode with the keys of `keys`, once it has fetched them.
async fn spawn_jwt(keys: &KeyServer, configure: impl FnOnce(&mut Settings)) -> ResourceServer {
    let resource = spawn_resource(NO_INTROSPECTION, |s| {
        s.validation.mode = ValidationMode::Jwt;
        s.jwt.jwks_url = keys.jwks_url();
        configure(s);
    })
    .await;
    wait_for_first_fetch(&resource).await;
    resource
}

async fn health(resource: &ResourceServer) -> Value {
    resource.get("/health", None).await.json()
}

/// The key set is fetched in the background from the start; tests that count fetches begin once
/// that one has ended.
async fn wait_for_first_fetch(resource: &ResourceServer) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while health(resource).await["jwks_fetches"].as_u64() == Some(0) {
        assert!(Instant::now() < deadline, "no key fetch within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The same token with its payload replaced and its signature kept.
fn tampered(token: &str, payload: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        b64(payload.to_string().as_bytes()),
        parts[2]
    )
}

fn assert_invalid(answer: &test_support::Answer) {
    answer.assert_error(401, "invalid_token", INVALID);
    assert_eq!(answer.header("www-authenticate"), INVALID_CHALLENGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_es256_and_eddsa_tokens_are_served() {
    let (rsa, ec, ed) = (
        SigningKey::rsa("rsa-1"),
        SigningKey::ec("ec-1"),
        SigningKey::ed("ed-1"),
    );
    let keys = KeyServer::start(&[&rsa, &ec, &ed]).await;
    let resource = spawn_jwt(&keys, |_| {}).await;
    for key in [&rsa, &ec, &ed] {
        let answer = resource.hi(&key.sign(&claims(json!({})))).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "hi , 1111"),
            "{:?}",
            key.algorithm
        );
    }
    let me = resource
        .get(
            "/me",
            Some(&rsa.sign(&claims(json!({"scope": ["app", "read"]})))),
        )
        .await
        .json();
    assert_eq!(me["user_name"], "admin");
    assert_eq!(me["client_id"], "dev");
    assert_eq!(me["scope"], json!(["app", "read"]));
    assert_eq!(me["aud"], json!(["hi"]));
    let report = health(&resource).await;
    assert_eq!(report["validation"], "jwt");
    assert_eq!(report["jwt_keys"], 3);
    assert_eq!(report["introspection_calls"], 0);
    // RFC 9068's media type is accepted as well as Spring's JWT.
    let mut header = ec.header();
    header.typ = Some("at+jwt".into());
    assert_eq!(
        resource
            .hi(&ec.sign_with(&header, &claims(json!({}))))
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_payload_is_401() {
    let key = SigningKey::ec("ec-1");
    let keys = KeyServer::start(&[&key]).await;
    let resource = spawn_jwt(&keys, |_| {}).await;
    let token = key.sign(&claims(json!({"scope": "app"})));
    assert_eq!(resource.hi(&token).await.status, 200);
    let widened = tampered(&token, &claims(json!({"scope": "app admin"})));
    assert_invalid(&resource.hi(&widened).await);
    // A signature from another key with the same kid is no better.
    let impostor = SigningKey::ec("ec-1");
    assert_invalid(&resource.hi(&impostor.sign(&claims(json!({})))).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_claims_are_enforced() {
    let key = SigningKey::ed("ed-1");
    let keys = KeyServer::start(&[&key]).await;
    let resource = spawn_jwt(&keys, |s| s.jwt.leeway_seconds = 30).await;
    let expired = key.sign(&claims(json!({"iat": now() - 600, "exp": now() - 120})));
    let answer = resource.hi(&expired).await;
    answer.assert_error(401, "invalid_token", "Access token expired");
    assert_eq!(
        answer.header("www-authenticate"),
        r#"Bearer realm="oauth2-resource", error="invalid_token", error_description="Access token expired""#
    );
    let not_yet = key.sign(&claims(json!({"nbf": now() + 600})));
    assert_invalid(&resource.hi(&not_yet).await);
    // A clock a few seconds behind the auth server's is what the leeway is for.
    let just_issued = key.sign(&claims(json!({"nbf": now() + 10})));
    assert_eq!(resource.hi(&just_issued).await.status, 200);
    // Without exp a JWT would be good for ever: nothing here could revoke it.
    let for_ever = key.sign(&claims(json!({"exp": null})));
    assert_invalid(&resource.hi(&for_ever).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_must_match_when_configured() {
    let key = SigningKey::ec("ec-1");
    let keys = KeyServer::start(&[&key]).await;
    let resource = spawn_jwt(&keys, |s| s.jwt.issuer = "https://auth.example".into()).await;
    let ours = key.sign(&claims(json!({"iss": "https://auth.example"})));
    assert_eq!(resource.hi(&ours).await.status, 200);
    let theirs = key.sign(&claims(json!({"iss": "https://evil.example"})));
    assert_invalid(&resource.hi(&theirs).await);
    let without = key.sign(&claims(json!({"iss": null})));
    assert_invalid(&resource.hi(&without).await);
    // The default is the auth server's default issuer.
    let default = spawn_jwt(&keys, |_| {}).await;
    assert_invalid(&default.hi(&ours).await);
    assert_eq!(default.hi(&key.sign(&claims(json!({})))).await.status, 200);
    // Set empty, for legacy Spring tokens, which have no iss: not checked.
    let unchecked = spawn_jwt(&keys, |s| s.jwt.issuer.clear()).await;
    assert_eq!(unchecked.hi(&without).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audience_and_scope_are_the_guards_as_with_introspection() {
    let key = SigningKey::ec("ec-1");
    let keys = KeyServer::start(&[&key]).await;
    let resource = spawn_jwt(&keys, |_| {}).await;
    resource
        .hi(&key.sign(&claims(json!({"aud": ["reports", "billing"]}))))
        .await
        .assert_error(
            401,
            "invalid_token",
            "Invalid token does not contain resource id (hi)",
        );
    // A single string is an audience too (RFC 7519 §4.1.3), and no aud means every resource.
    for aud in [json!("hi"), Value::Null] {
        let token = key.sign(&claims(json!({ "aud": aud })));
        assert_eq!(resource.hi(&token).await.status, 200, "aud {aud}");
    }
    let writer = spawn_jwt(&keys, |s| {
        s.resource.required_scope = shared::Scope::parse("write").unwrap()
    })
    .await;
    let answer = writer.hi(&key.sign(&claims(json!({"scope": "app"})))).await;
    assert_insufficient_scope(&answer);
    let legacy_array = key.sign(&claims(json!({"scope": ["app", "write"]})));
    assert_eq!(writer.hi(&legacy_array).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_added_after_start_is_fetched_when_a_token_names_it() {
    let old = SigningKey::ec("2024");
    let keys = KeyServer::start(&[&old]).await;
    let resource = spawn_jwt(&keys, |s| s.jwt.refetch_min_interval_ms = 300).await;
    assert_eq!(keys.jwks_requests(), 1);
    assert_eq!(resource.hi(&old.sign(&claims(json!({})))).await.status, 200);
    let new = SigningKey::ed("2025");
    keys.publish(&new);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let answer = resource.hi(&new.sign(&claims(json!({})))).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hi , 1111"));
    assert_eq!(keys.jwks_requests(), 2, "one refetch for the new kid");
    assert_eq!(health(&resource).await["jwt_keys"], 2);
    assert_eq!(resource.hi(&old.sign(&claims(json!({})))).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kids_are_401_and_cause_at_most_one_fetch_per_interval() {
    let key = SigningKey::ec("known");
    let keys = KeyServer::start(&[&key]).await;
    let resource = spawn_jwt(&keys, |s| s.jwt.refetch_min_interval_ms = 1000).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stranger = SigningKey::ec("made-up");
    // Twenty at once, each naming another made-up key: they wait for one shared fetch.
    let tokens: Vec<String> = (0..20)
        .map(|n| {
            let mut header = stranger.header();
            header.kid = Some(format!("made-up-{n}"));
            stranger.sign_with(&header, &claims(json!({})))
        })
        .collect();
    let answers =
        futures_util::future::join_all(tokens.iter().map(|token| resource.hi(token))).await;
    for answer in &answers {
        assert_invalid(answer);
    }
    assert_eq!(keys.jwks_requests(), 2, "the start's fetch and one refetch");
    for _ in 0..10 {
        assert_invalid(&resource.hi(&stranger.sign(&claims(json!({})))).await);
    }
    assert_eq!(keys.jwks_requests(), 2, "no refetch within the interval");
    assert_eq!(health(&resource).await["jwks_fetches"], 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_invalid(&resource.hi(&stranger.sign(&claims(json!({})))).await);
    assert_eq!(keys.jwks_requests(), 3, "the next interval allows the next");
    assert_eq!(resource.hi(&key.sign(&claims(json!({})))).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_never_chooses_how_the_key_is_used() {
    let rsa = SigningKey::rsa("rsa-1");
    let keys = KeyServer::start(&[&rsa]).await;
    let resource = spawn_jwt(&keys, |_| {}).await;
    let payload = b64(claims(json!({})).to_string().as_bytes());
    // alg none, with and without a kid, with and without a signature.
    for header in [
        json!({"alg": "none", "typ": "JWT", "kid": "rsa-1"}),
        json!({"alg": "none"}),
    ] {
        let header = b64(header.to_string().as_bytes());
        assert_invalid(&resource.hi(&format!("{header}.{payload}.")).await);
        assert_invalid(&resource.hi(&format!("{header}.{payload}.c2ln")).await);
    }
    // HS256 "signed" with the RSA public key, which anyone can read, as the HMAC secret.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    for secret in [
        rsa.public_pem.as_bytes(),
        rsa.jwk["n"].as_str().unwrap().as_bytes(),
    ] {
        let forged = jsonwebtoken::encode(
            &header,
            &claims(json!({})),
            &EncodingKey::from_secret(secret).unwrap(),
        )
        .unwrap();
        assert_invalid(&resource.hi(&forged).await);
    }
    // An RSA key signs PS256 too, but this key is published as RS256: the header cannot switch.
    let mut pss = rsa.header();
    pss.alg = Algorithm::PS256;
    assert_invalid(&resource.hi(&rsa.sign_with(&pss, &claims(json!({})))).await);
    // A JWT of another type (here a logout token's) is no access token.
    let mut logout = rsa.header();
    logout.typ = Some("logout+jwt".into());
    assert_invalid(
        &resource
            .hi(&rsa.sign_with(&logout, &claims(json!({}))))
            .await,
    );
    assert_eq!(resource.hi(&rsa.sign(&claims(json!({})))).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keys_every_jwt_is_503_never_200_and_service_resumes_with_them() {
    // Nothing listens on the port of a stopped server.
    let gone = KeyServer::start(&[]).await;
    let url = gone.jwks_url();
    drop(gone);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let key = SigningKey::ec("ec-1");
    let token = key.sign(&claims(json!({})));
    let resource = spawn_resource(NO_INTROSPECTION, |s| {
        s.validation.mode = ValidationMode::Jwt;
        s.jwt.jwks_url = url;
    })
    .await;
    for _ in 0..3 {
        resource
            .hi(&token)
            .await
            .assert_error(503, "temporarily_unavailable", UNAVAILABLE);
    }
    let report = health(&resource).await;
    assert_eq!(
        (report["status"].as_str(), report["jwt_keys"].as_u64()),
        (Some("UP"), Some(0))
    );

    // A key server that answers 503, then recovers.
    let keys = KeyServer::start(&[&key]).await;
    keys.set_down(true);
    let resource = spawn_jwt(&keys, |s| s.jwt.refetch_min_interval_ms = 300).await;
    resource
        .hi(&token)
        .await
        .assert_error(503, "temporarily_unavailable", UNAVAILABLE);
    keys.set_down(false);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(resource.hi(&token).await.status, 200, "recovered by itself");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_already_fetched_outlive_an_outage_of_the_key_server() {
    let key = SigningKey::ec("ec-1");
    let keys = KeyServer::start(&[&key]).await;
    let resource = spawn_jwt(&keys, |s| s.jwt.refetch_min_interval_ms = 100).await;
    keys.set_down(true);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let other = SigningKey::ec("ec-2");
    // A kid it lacks while the keys cannot be fetched: maybe a new key, so not the token's fault.
    resource
        .hi(&other.sign(&claims(json!({}))))
        .await
        .assert_error(503, "temporarily_unavailable", UNAVAILABLE);
    assert_eq!(resource.hi(&key.sign(&claims(json!({})))).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_token_key_endpoint_serves_the_key() {
    let rsa = SigningKey::rsa("ignored");
    let keys = KeyServer::start(&[]).await;
    keys.set_token_key("SHA256withRSA", &rsa.public_pem);
    let resource = spawn_jwt(&keys, |s| {
        s.jwt.jwks_url.clear();
        s.jwt.key_url = keys.key_url();
        // A legacy Spring auth server's tokens have no iss.
        s.jwt.issuer.clear();
    })
    .await;
    assert_eq!(keys.token_key_requests(), 1);
    // Legacy Spring tokens: no kid, no iss, scope as an array, a single aud.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = None;
    let legacy = rsa.sign_with(
        &header,
        &claims(json!({"iss": null, "sub": null, "scope": ["app"], "aud": "hi"})),
    );
    let answer = resource.hi(&legacy).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hi , 1111"));
    // The public key is published: HS256 with it as the secret must not pass.
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(rsa.public_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_invalid(&resource.hi(&forged).await);

    let ec = SigningKey::ec("ignored");
    keys.set_token_key("SHA256withECDSA", &ec.public_pem);
    let resource = spawn_jwt(&keys, |s| {
        s.jwt.jwks_url.clear();
        s.jwt.key_url = keys.key_url();
    })
    .await;
    assert_eq!(resource.hi(&ec.sign(&claims(json!({})))).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_hs256_secret_verifies_legacy_symmetric_tokens() {
    const SECRET: &str = "a-legacy-shared-secret-of-32-bytes-or-more";
    let hs256 = |secret: &str, claims: &Value| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    let resource = spawn_resource(NO_INTROSPECTION, |s| {
        s.validation.mode = ValidationMode::Jwt;
        s.jwt.jwks_url.clear();
        s.jwt.secret = SECRET.to_owned().into();
    })
    .await;
    let answer = resource.hi(&hs256(SECRET, &claims(json!({})))).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hi , 1111"));
    assert_invalid(
        &resource
            .hi(&hs256(
                "another-secret-entirely-32-bytes-long",
                &claims(json!({})),
            ))
            .await,
    );
    let report = health(&resource).await;
    assert_eq!(
        (report["jwt_keys"].as_u64(), report["jwks_fetches"].as_u64()),
        (Some(1), Some(0))
    );

    // The same secret handed out by a legacy /oauth/token_key to the authenticated client.
    let keys = KeyServer::start(&[]).await;
    keys.set_token_key("HMACSHA256", SECRET);
    let from_key_url = spawn_jwt(&keys, |s| {
        s.jwt.jwks_url.clear();
        s.jwt.key_url = keys.key_url();
    })
    .await;
    assert_eq!(
        from_key_url
            .hi(&hs256(SECRET, &claims(json!({}))))
            .await
            .status,
        200
    );
    // Credentials the key server refuses: no key, so 503.
    let refused = spawn_jwt(&keys, |s| {
        s.jwt.jwks_url.clear();
        s.jwt.key_url = keys.key_url();
        s.introspection.client_secret = "wrong".to_owned().into();
    })
    .await;
    refused
        .hi(&hs256(SECRET, &claims(json!({}))))
        .await
        .assert_error(503, "temporarily_unavailable", UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_mode_introspects_opaque_tokens_and_verifies_jwts() {
    let auth = spawn_auth().await;
    let key = SigningKey::ec("ec-1");
    let keys = KeyServer::start(&[&key]).await;
    let resource = spawn_resource(&format!("{}/oauth/check_token", auth.address), |s| {
        s.validation.mode = ValidationMode::Mixed;
        s.jwt.jwks_url = keys.jwks_url();
    })
    .await;
    let opaque = auth.client_token("dev", "11").await;
    assert_eq!(resource.hi(&opaque).await.body, "hi , 1111");
    assert_eq!(
        resource.hi(&key.sign(&claims(json!({})))).await.body,
        "hi , 1111"
    );
    let report = health(&resource).await;
    assert_eq!(report["validation"], "mixed");
    assert_eq!(report["introspection_calls"], 1, "only the opaque token");
    assert_eq!(report["jwt_keys"], 1);
    assert_invalid(&resource.hi("not-a-token-the-auth-server-issued").await);
    // A forged JWT is refused here, without asking the auth server.
    let forged = tampered(
        &key.sign(&claims(json!({}))),
        &claims(json!({"scope": "admin"})),
    );
    assert_invalid(&resource.hi(&forged).await);
    assert_eq!(health(&resource).await["introspection_calls"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_token_is_served_from_the_cache() {
    let key = SigningKey::rsa("rsa-1");
    let keys = KeyServer::start(&[&key]).await;
    let resource = spawn_jwt(&keys, |_| {}).await;
    let token = key.sign(&claims(json!({})));
    let answers = futures_util::future::join_all((0..20).map(|_| resource.hi(&token))).await;
    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    for _ in 0..20 {
        assert_eq!(resource.hi(&token).await.status, 200);
    }
    assert_eq!(keys.jwks_requests(), 1, "no request to the key server");
    // moka counts entries once its housekeeping (every 100 ms) has run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(health(&resource).await["jwt_cached_tokens"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_token_ends_with_its_exp_or_its_key() {
    let (old, new) = (SigningKey::ec("old"), SigningKey::ec("new"));
    let keys = KeyServer::start(&[&old, &new]).await;
    let resource = spawn_jwt(&keys, |s| s.jwt.refetch_min_interval_ms = 100).await;
    let brief = new.sign(&claims(json!({"exp": now() + 2})));
    assert_eq!(resource.hi(&brief).await.status, 200);
    let by_old = old.sign(&claims(json!({})));
    assert_eq!(resource.hi(&by_old).await.status, 200);
    assert_eq!(resource.hi(&by_old).await.status, 200);

    // The old key is withdrawn (say it leaked); the next fetch drops it, and with it the tokens
    // it verified, even those remembered.
    keys.withdraw("old");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let stranger = SigningKey::ec("unknown");
    assert_invalid(&resource.hi(&stranger.sign(&claims(json!({})))).await);
    assert_invalid(&resource.hi(&by_old).await);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    resource
        .hi(&brief)
        .await
        .assert_error(401, "invalid_token", "Access token expired");
}
