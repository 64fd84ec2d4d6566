//! JWT access tokens (docs/jwt.md): Spring's claims, verified with the keys this server publishes
//! at /oauth2/jwks and /oauth/token_key; stored keys shared by replicas and kept across restarts;
//! rotation; the HS256 legacy mode; introspection and the guard on JWTs.

use std::time::Duration;

use auth_server::domain::client::AccessTokenType;
use auth_server::settings::Settings;
use auth_server::signing::{store as keys, SigningAlgorithm, TokenKeyAccess, TokenTyp};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Header, Validation};
use serde_json::Value;
use test_support::{on_both_backends, sqlite_app_with, start, TestApp};

fn jwt_for_all(settings: &mut Settings) {
    settings.tokens.access_token_type = AccessTokenType::Jwt;
}

async fn jwks(app: &TestApp) -> JwkSet {
    let answer = app.get("/oauth2/jwks").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        "application/json;charset=UTF-8"
    );
    serde_json::from_str(&answer.body).expect("an RFC 7517 key set")
}

/// The token's claims, verified with `key` for `algorithm` (the audience is the resource
/// server's business).
fn verified_with(token: &str, key: &DecodingKey, algorithm: Algorithm) -> Value {
    let mut validation = Validation::new(algorithm);
    validation.validate_aud = false;
    decode::<Value>(token, key, &validation)
        .expect("verifies")
        .claims
}

/// The token's claims, verified with the published key its `kid` names.
async fn verified(app: &TestApp, token: &str) -> (Header, Value) {
    let header = decode_header(token).expect("a JWS");
    let set = jwks(app).await;
    let kid = header.kid.clone().expect("a kid");
    let jwk = set.find(&kid).expect("its key is published");
    let claims = verified_with(token, &DecodingKey::from_jwk(jwk).unwrap(), header.alg);
    (header, claims)
}

/// `GET /oauth/token_key` with HTTP Basic client credentials.
async fn token_key_as(app: &TestApp, client: &str, secret: &str) -> reqwest::Response {
    app.http
        .get(app.url("/oauth/token_key"))
        .basic_auth(client, Some(secret))
        .send()
        .await
        .expect("an answer")
}

#[on_both_backends(jwt_for_all)]
async fn client_credentials_get_a_spring_shaped_rs256_jwt(app: TestApp) {
    let answer = app
        .token_basic(("dev", "11"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["token_type"], "bearer");
    assert_eq!(answer.json()["expires_in"], 3600);
    let token = answer.field("access_token");
    let (header, claims) = verified(&app, &token).await;
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(claims["iss"], format!("http://localhost:{}", app.port));
    assert_eq!(claims["sub"], "dev");
    assert_eq!(claims["client_id"], "dev");
    assert_eq!(claims["scope"], "app");
    assert!(
        claims.get("authorities").is_none(),
        "left out when empty, as Spring did: {claims}"
    );
    assert!(
        claims.get("user_name").is_none(),
        "a client acting for itself"
    );
    assert!(claims.get("aud").is_none(), "dev has no resource ids");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    // The same token, verified with legacy Spring's /oauth/token_key.
    let key = app.get("/oauth/token_key").await;
    assert_eq!(key.status, 200, "{}", key.body);
    assert_eq!(key.json()["alg"], "SHA256withRSA");
    let pem = key.json()["value"].as_str().unwrap().to_owned();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    verified_with(
        &token,
        &DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        Algorithm::RS256,
    );
    let jwk = serde_json::to_value(&jwks(&app).await.keys[0]).unwrap();
    assert_eq!(
        (jwk["use"].as_str(), jwk["alg"].as_str()),
        (Some("sig"), Some("RS256"))
    );
    assert_eq!(jwk["kty"], "RSA");
    assert!(jwk.get("d").is_none(), "never a private part: {jwk}");
}

#[on_both_backends(jwt_for_all)]
async fn a_user_token_names_the_user_and_its_authorities_and_refreshes_stay_opaque(app: TestApp) {
    app.add_client("svc", "password,refresh_token", |c| {
        c.resource_ids = Some("hi,oauth2-resource".into())
    });
    let answer = app.password_grant_for(("svc", "s3cret")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let (_, claims) = verified(&app, &answer.field("access_token")).await;
    assert_eq!(claims["user_name"], "admin");
    assert_eq!(claims["sub"], "admin");
    assert_eq!(
        claims["authorities"],
        serde_json::json!(["ROLE_ADMIN", "ROLE_USER"])
    );
    assert_eq!(claims["aud"], serde_json::json!(["hi", "oauth2-resource"]));
    assert_eq!(claims["scope"], "app read");
    let refresh = answer.field("refresh_token");
    assert_eq!(refresh.len(), 43, "refresh tokens stay opaque and stored");
    let refreshed = app.refresh(("svc", "s3cret"), &refresh, Some("read")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let (_, claims) = verified(&app, &refreshed.field("access_token")).await;
    assert_eq!(claims["scope"], "read");
}

#[on_both_backends]
async fn the_format_is_chosen_per_client(app: TestApp) {
    app.add_client("jwt-client", "client_credentials", |c| {
        c.additional_information = Some(r#"{"access_token_type":"jwt"}"#.into())
    });
    let jwt = app.client_token("jwt-client", "s3cret").await;
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    verified(&app, &jwt).await;
    let opaque = app.client_token("dev", "11").await;
    assert_eq!(
        opaque.len(),
        43,
        "the server default stays opaque: {opaque}"
    );
}

#[on_both_backends(jwt_for_all)]
async fn introspection_check_token_and_the_guard_accept_a_jwt_until_its_grant_ends(app: TestApp) {
    app.add_client("svc", "client_credentials", |_| {});
    let token = app.client_token("svc", "s3cret").await;
    let introspected = app.introspect(&[("token", &token)]).await;
    assert_eq!(introspected.json()["active"], true, "{}", introspected.body);
    assert_eq!(introspected.json()["client_id"], "svc");
    let checked = app.check_token(&token).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    let hi = app
        .http
        .get(app.url("/hi?name=jwt"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(hi.status(), 200);
    assert_eq!(hi.text().await.unwrap(), "hi , jwt");

    // A signature that does not match is nothing this server issued.
    let mut tampered = token.clone().into_bytes();
    let at = token.find('.').unwrap() + 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(
        app.introspect(&[("token", &tampered)]).await.json()["active"],
        false
    );

    // Removing the client ends its tokens, JWTs too.
    let mut conn = app.store.conn().unwrap();
    auth_server::db::clients::remove(&mut conn, "svc", auth_server::domain::clock::now())
        .unwrap()
        .expect("removed");
    assert_eq!(
        app.introspect(&[("token", &token)]).await.json()["active"],
        false
    );
    app.check_token(&token)
        .await
        .assert_error(400, "invalid_token", "Token was not recognised");
}

#[on_both_backends(jwt_for_all)]
async fn keys_are_kept_across_a_restart_and_shared_by_a_second_server(app: TestApp) {
    let before = jwks(&app).await;
    assert_eq!(before.keys.len(), 1, "a first key is made at first start");
    let token = app.client_token("dev", "11").await;
    let second = start(app.db.clone(), app.settings.clone()).await;
    assert_eq!(
        serde_json::to_value(jwks(&second).await).unwrap(),
        serde_json::to_value(&before).unwrap(),
        "one key set for every server on the database"
    );
    verified(&second, &token).await;
    let from_second = second.client_token("dev", "11").await;
    assert_eq!(
        decode_header(&from_second).unwrap().kid,
        decode_header(&token).unwrap().kid
    );
    app.stop().await;
    let restarted = app.restart().await;
    assert_eq!(
        serde_json::to_value(jwks(&restarted).await).unwrap(),
        serde_json::to_value(&before).unwrap()
    );
    verified(&restarted, &token).await;
}

fn fast_reload(settings: &mut Settings) {
    jwt_for_all(settings);
    settings.jwt.reload_seconds = 1;
}

#[on_both_backends(fast_reload)]
async fn a_rotated_key_is_published_first_signs_after_its_delay_and_a_retired_one_stays_published(
    app: TestApp,
) {
    let old_token = app.client_token("dev", "11").await;
    let old_kid = decode_header(&old_token).unwrap().kid.unwrap();
    let now = auth_server::domain::clock::now();
    let new = {
        let mut conn = app.store.conn().unwrap();
        keys::rotate(&mut conn, SigningAlgorithm::RS256, None, now, 5).unwrap()
    };
    // Every replica rereads the keys each second here: the new key shows up well before it signs.
    let mut published_at = None;
    for _ in 0..40 {
        if jwks(&app).await.find(&new.kid).is_some() {
            published_at = Some(auth_server::domain::clock::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let published_at = published_at.expect("the rotated-in key is published");
    assert!(published_at < new.signs_from, "published before it signs");
    // Which key signs is decided by the time of the signature: the old one before signs_from.
    let kid_and_iat = |token: &str| {
        let kid = decode_header(token).unwrap().kid.unwrap();
        let iat: Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                token.split('.').nth(1).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        (kid, iat["iat"].as_i64().unwrap())
    };
    let (kid, iat) = kid_and_iat(&app.client_token("dev", "11").await);
    let expected = if iat < new.signs_from {
        &old_kid
    } else {
        &new.kid
    };
    assert_eq!(
        &kid, expected,
        "issued at {iat}, new key signs from {}",
        new.signs_from
    );

    let wait = new.signs_from - auth_server::domain::clock::now() + 1;
    tokio::time::sleep(Duration::from_secs(wait.max(0) as u64)).await;
    let (kid, _) = kid_and_iat(&app.client_token("dev", "11").await);
    assert_eq!(kid, new.kid, "the new key signs once its delay has passed");
    {
        let mut conn = app.store.conn().unwrap();
        let now = auth_server::domain::clock::now();
        let retired = keys::retire(&mut conn, &old_kid, now, 43200, 90).unwrap();
        assert_eq!(
            retired,
            keys::Retired::Until(now + 43200 + 90),
            "validity and grace"
        );
        assert_eq!(
            keys::retire(
                &mut conn,
                &new.kid,
                auth_server::domain::clock::now(),
                43200,
                90
            )
            .unwrap(),
            keys::Retired::LastKey,
            "the last key that signs cannot be retired"
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    verified(&app, &old_token).await;
    assert_eq!(jwks(&app).await.keys.len(), 2);
    let latest = app.client_token("dev", "11").await;
    assert_eq!(
        decode_header(&latest).unwrap().kid.as_deref(),
        Some(new.kid.as_str())
    );
}

#[tokio::test]
async fn es256_eddsa_and_at_jwt_by_configuration() {
    for algorithm in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA] {
        let app = sqlite_app_with(|s| {
            jwt_for_all(s);
            s.jwt.algorithm = algorithm;
            s.jwt.typ = TokenTyp::AtJwt;
        })
        .await;
        let token = app.client_token("dev", "11").await;
        let (header, _) = verified(&app, &token).await;
        assert_eq!(header.alg, algorithm_of(algorithm));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let key = app.get("/oauth/token_key").await;
        let expected = match algorithm {
            SigningAlgorithm::ES256 => "SHA256withECDSA",
            _ => "Ed25519",
        };
        assert_eq!(key.json()["alg"], expected);
    }
}

fn algorithm_of(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::ES256 => Algorithm::ES256,
        SigningAlgorithm::EdDSA => Algorithm::EdDSA,
        SigningAlgorithm::HS256 => Algorithm::HS256,
        SigningAlgorithm::RS256 => Algorithm::RS256,
    }
}

const SECRET: &str = "a legacy signing-key of at least 32 bytes";

#[tokio::test]
async fn an_hs256_secret_signs_is_never_published_and_token_key_gives_it_only_to_clients() {
    let app = sqlite_app_with(|s| {
        jwt_for_all(s);
        s.jwt.algorithm = SigningAlgorithm::HS256;
        s.jwt.secret = Some(SECRET.into());
    })
    .await;
    let token = app.client_token("dev", "11").await;
    let header = decode_header(&token).unwrap();
    assert_eq!((header.alg, header.kid), (Algorithm::HS256, None));
    verified_with(
        &token,
        &DecodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        Algorithm::HS256,
    );
    assert!(
        jwks(&app).await.keys.is_empty(),
        "a secret is never published"
    );

    let anonymous = app.get("/oauth/token_key").await;
    anonymous.assert_error(401, "invalid_client", "Client authentication is required");
    let key = token_key_as(&app, "resource", "resource-secret").await;
    assert_eq!(key.status(), 200);
    assert_eq!(key.headers()["cache-control"], "no-store");
    let key: Value = key.json().await.unwrap();
    assert_eq!(
        key,
        serde_json::json!({"alg": "HMACSHA256", "value": SECRET})
    );
    let wrong = token_key_as(&app, "resource", "wrong").await;
    assert_eq!(wrong.status(), 401);
    // A client that is no resource server (it may not introspect) could forge tokens with it.
    let dev = token_key_as(&app, "dev", "11").await;
    assert_eq!(dev.status(), 403);
    assert!(!dev.text().await.unwrap().contains(SECRET));
}

#[tokio::test]
async fn token_key_can_be_kept_to_authenticated_clients_and_takes_only_get() {
    let app = sqlite_app_with(|s| s.jwt.token_key_access = TokenKeyAccess::Clients).await;
    assert_eq!(app.get("/oauth/token_key").await.status, 401);
    let key = token_key_as(&app, "dev", "11").await;
    assert_eq!(key.status(), 200);
    let posted = app.post_form("/oauth2/jwks", &[], None).await;
    assert_eq!(posted.status, 405, "{}", posted.body);
}

#[tokio::test]
async fn private_keys_sealed_with_a_kek_need_it_to_start() {
    use base64::Engine;
    let kek = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let app = sqlite_app_with(|s| {
        jwt_for_all(s);
        s.jwt.key_encryption_key = Some(kek.clone().into());
    })
    .await;
    let token = app.client_token("dev", "11").await;
    verified(&app, &token).await;
    let rows = auth_server::db::keys::all(&mut app.store.conn().unwrap()).unwrap();
    assert!(rows[0].private_key.starts_with("sealed:v1:"));
    assert!(!rows[0].private_key.contains("PRIVATE KEY"));
    // Nor can a key be added beside them without the KEK, in clear or under another one.
    let now = auth_server::domain::clock::now();
    let mut conn = app.store.conn().unwrap();
    let clear = keys::rotate(&mut conn, SigningAlgorithm::RS256, None, now, 0);
    assert!(clear.is_err_and(|e| e.to_string().contains("sealed")));
    let other = auth_server::signing::Kek::from_config(
        &base64::engine::general_purpose::STANDARD
            .encode([8u8; 32])
            .into(),
    )
    .unwrap();
    assert!(keys::rotate(&mut conn, SigningAlgorithm::RS256, Some(&other), now, 0).is_err());
    drop(conn);
    assert_eq!(
        auth_server::db::keys::all(&mut app.store.conn().unwrap())
            .unwrap()
            .len(),
        1
    );

    let mut without = app.settings.clone();
    without.jwt.key_encryption_key = None;
    without.server.port = 0;
    let failed = auth_server::startup::Application::build(without).await;
    let error = failed.err().expect("refuses to start").to_string();
    assert!(error.contains("sealed"), "{error}");
}
