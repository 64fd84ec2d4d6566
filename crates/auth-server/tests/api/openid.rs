//! OpenID Connect as a relying party sees it (docs/openid-connect.md): ID tokens from the code
//! flow, the implicit flow and refreshes, `prompt`, `max_age`, `login_hint`, UserInfo,
//! `response_mode=form_post`, RP-initiated logout and discovery. The demo client `rp` and the demo
//! user's profile are the walkthrough's.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};
use test_support::{csrf_of, on_both_backends, params_of, Answer, Browser, TestApp};

const CALLBACK: &str = "http://127.0.0.1:8000/callback";
const SIGNED_OUT: &str = "http://127.0.0.1:8000/signed-out";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn code_request(scope: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id=rp&redirect_uri={CALLBACK}&scope={scope}&state=st\
         &nonce=n-0S6_WzA2Mj&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

async fn issuer(app: &TestApp) -> String {
    app.get("/.well-known/openid-configuration").await.json()["issuer"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The claims of `id_token`, once its signature checks out with the published JWK set and its
/// `iss`, `aud` (`rp`) and `exp` are right.
async fn verified(app: &TestApp, id_token: &str) -> HashMap<String, Value> {
    verified_for(app, id_token, "rp").await
}

async fn verified_for(app: &TestApp, id_token: &str, client_id: &str) -> HashMap<String, Value> {
    let header = decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let jwks: JwkSet = serde_json::from_str(&app.get("/oauth2/jwks").await.body).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[issuer(app).await]);
    decode::<HashMap<String, Value>>(id_token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap_or_else(|e| panic!("the ID token does not verify: {e}"))
        .claims
}

/// `GET /userinfo` with `token` as a Bearer token.
async fn userinfo(app: &TestApp, token: &str) -> Answer {
    let request = app.http.get(app.url("/userinfo")).bearer_auth(token);
    test_support::answer(request.send().await.unwrap()).await
}

/// OIDC Core §3.1.3.6.
fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    let digest = Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

async fn exchange(app: &TestApp, code: &str) -> Value {
    let answer = app
        .token_basic(
            ("rp", "rp-secret"),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// Signs in as admin, approves everything, and exchanges the code.
async fn signed_in_tokens(browser: &Browser<'_>, scope: &str) -> Value {
    let landed = browser.code_for(&code_request(scope, "")).await;
    assert!(landed.starts_with(CALLBACK), "{landed}");
    let params = params_of(&landed);
    assert_eq!(params["state"], "st");
    exchange(browser.app, &params["code"]).await
}

#[on_both_backends]
async fn the_code_flow_with_openid_answers_an_id_token_with_every_claim(app: TestApp) {
    let before = chrono::Utc::now().timestamp();
    let tokens = signed_in_tokens(&app.browser(), "openid%20profile%20email").await;
    let access_token = tokens["access_token"].as_str().unwrap();
    let claims = verified(&app, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "admin");
    assert_eq!(claims["aud"], "rp");
    assert_eq!(claims["azp"], "rp");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["at_hash"], at_hash(access_token));
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!(
        (before - 1..=before + 30).contains(&auth_time),
        "{auth_time}"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(claims["name"], "Demo Admin");
    assert_eq!(claims["given_name"], "Demo");
    assert_eq!(claims["email"], "admin@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(tokens["scope"], "email openid profile");

    // Without `profile` and `email`, none of their claims.
    let narrow = signed_in_tokens(&app.browser(), "openid").await;
    let claims = verified(&app, narrow["id_token"].as_str().unwrap()).await;
    assert!(
        !claims.contains_key("name") && !claims.contains_key("email"),
        "{claims:?}"
    );
}

#[on_both_backends]
async fn a_grant_without_openid_gets_no_id_token(app: TestApp) {
    let browser = app.browser();
    let landed = browser
        .code_for("response_type=code&client_id=dev&redirect_uri=http://www.baidu.com")
        .await;
    let answer = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &params_of(&landed)["code"]),
            ("client_id", "dev"),
            ("client_secret", "11"),
            ("redirect_uri", "http://www.baidu.com"),
        ])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.json().get("id_token").is_none(), "{}", answer.body);
}

#[on_both_backends]
async fn a_refresh_of_an_openid_grant_answers_a_fresh_id_token_without_nonce(app: TestApp) {
    let tokens = signed_in_tokens(&app.browser(), "openid%20email").await;
    let first = verified(&app, tokens["id_token"].as_str().unwrap()).await;
    let refreshed = app
        .refresh(
            ("rp", "rp-secret"),
            tokens["refresh_token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refreshed = refreshed.json();
    let claims = verified(&app, refreshed["id_token"].as_str().unwrap()).await;
    assert_eq!(
        (&claims["sub"], &claims["aud"]),
        (&first["sub"], &first["aud"])
    );
    assert!(!claims.contains_key("nonce"), "{claims:?}");
    assert_eq!(
        claims["at_hash"],
        at_hash(refreshed["access_token"].as_str().unwrap())
    );
    assert_eq!(claims["email"], "admin@example.com");
}

#[on_both_backends]
async fn userinfo_answers_the_claims_the_token_s_scopes_release(app: TestApp) {
    let tokens = signed_in_tokens(&app.browser(), "openid%20profile").await;
    let access_token = tokens["access_token"].as_str().unwrap();
    for post in [false, true] {
        let request = if post {
            app.http.post(app.url("/userinfo"))
        } else {
            app.http.get(app.url("/userinfo"))
        };
        let answer =
            test_support::answer(request.bearer_auth(access_token).send().await.unwrap()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.header("cache-control"), "no-store");
        let claims = answer.json();
        assert_eq!(claims["sub"], "admin");
        assert_eq!(claims["name"], "Demo Admin");
        assert!(
            claims.get("email").is_none(),
            "email was not granted: {claims}"
        );
    }

    // RFC 6750 answers: no token, a token that is not one, a token without `openid`.
    let none = app.get("/userinfo").await;
    assert_eq!(none.status, 401);
    assert!(none.header("www-authenticate").starts_with("Bearer"));
    let invalid = userinfo(&app, "not-a-token").await;
    invalid.assert_error(401, "invalid_token", "Invalid access token");
    let plain_oauth = app.user_token().await;
    let refused = userinfo(&app, &plain_oauth).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused
            .header("www-authenticate")
            .contains("insufficient_scope"),
        "{}",
        refused.header("www-authenticate")
    );
    let wrong_method =
        test_support::answer(app.http.delete(app.url("/userinfo")).send().await.unwrap()).await;
    assert_eq!(wrong_method.status, 405);
}

#[on_both_backends]
async fn prompt_none_never_shows_a_page(app: TestApp) {
    let browser = app.browser();
    let silent = code_request("openid", "&prompt=none");
    // Nobody signed in.
    let landed = browser.authorize(&silent).await;
    let params = params_of(landed.header("location"));
    assert_eq!(
        (params["error"].as_str(), params["state"].as_str()),
        ("login_required", "st")
    );
    // Signed in, never approved.
    assert_eq!(browser.sign_in("admin", "123456").await.status, 303);
    let landed = browser.authorize(&silent).await;
    assert_eq!(
        params_of(landed.header("location"))["error"],
        "consent_required"
    );
    // Approved once: then a code, with no page.
    browser.code_for(&code_request("openid", "")).await;
    let landed = browser.authorize(&silent).await;
    assert!(params_of(landed.header("location")).contains_key("code"));
    // `none` with anything else is refused.
    let mixed = browser
        .authorize(&code_request("openid", "&prompt=none%20login"))
        .await;
    assert_eq!(
        params_of(mixed.header("location"))["error"],
        "invalid_request"
    );
}

#[on_both_backends]
async fn prompt_login_and_max_age_make_the_user_sign_in_again_once(app: TestApp) {
    for extra in ["&prompt=login", "&max_age=0"] {
        let browser = app.browser();
        let query = code_request("openid", extra);
        browser.code_for(&code_request("openid", "")).await;
        // Signed in and approved, yet sent to sign in again.
        assert_eq!(browser.authorize(&query).await.header("location"), "/login");
        let signed_in = browser.sign_in("admin", "123456").await;
        let back = signed_in.header("location").to_owned();
        assert!(back.starts_with("/oauth/authorize?"), "{back}");
        // The sign-in just made answers the request: no loop.
        let landed = browser.get(&back).await;
        let code = params_of(landed.header("location"))["code"].clone();
        let tokens = exchange(&app, &code).await;
        let claims = verified(&app, tokens["id_token"].as_str().unwrap()).await;
        assert!(claims.contains_key("auth_time"));
        // And only once: the same request again asks again.
        assert_eq!(
            browser.authorize(&query).await.header("location"),
            "/login",
            "{extra}"
        );
    }
    // A generous max_age accepts the sign-in there is.
    let browser = app.browser();
    browser.code_for(&code_request("openid", "")).await;
    let landed = browser
        .authorize(&code_request("openid", "&max_age=3600"))
        .await;
    assert!(params_of(landed.header("location")).contains_key("code"));
    let malformed = browser
        .authorize(&code_request("openid", "&max_age=soon"))
        .await;
    assert_eq!(
        params_of(malformed.header("location"))["error"],
        "invalid_request"
    );
}

#[on_both_backends]
async fn prompt_consent_asks_again_and_login_hint_prefills_the_form(app: TestApp) {
    let browser = app.browser();
    browser.code_for(&code_request("openid", "")).await;
    let again = browser
        .authorize(&code_request("openid", "&prompt=consent"))
        .await;
    assert_eq!(again.header("location"), "/oauth/confirm_access");

    let stranger = app.browser();
    let hinted = stranger
        .authorize(&code_request("openid", "&login_hint=%22%3E%3Cb%3Ealice"))
        .await;
    assert_eq!(hinted.header("location"), "/login");
    let page = stranger.get("/login").await;
    assert!(
        page.body.contains(r#"value="&#34;&#62;&#60;b&#62;alice""#)
            || page.body.contains(r#"value="&quot;&gt;&lt;b&gt;alice""#),
        "prefilled and escaped: {}",
        page.body
    );
}

#[on_both_backends]
async fn implicit_id_token_flows_put_tokens_in_the_fragment(app: TestApp) {
    let browser = app.browser();
    browser
        .code_for(&code_request("openid%20profile", ""))
        .await;
    let implicit = |response_type: &str, extra: &str| {
        format!(
            "response_type={response_type}&client_id=rp&redirect_uri={CALLBACK}\
             &scope=openid%20profile&state=s{extra}"
        )
    };
    let landed = browser
        .authorize(&implicit("id_token%20token", "&nonce=abc"))
        .await;
    let location = landed.header("location");
    assert!(location.starts_with(&format!("{CALLBACK}#")), "{location}");
    let fragment = params_of(location);
    let claims = verified(&app, &fragment["id_token"]).await;
    assert_eq!(claims["nonce"], "abc");
    assert_eq!(claims["at_hash"], at_hash(&fragment["access_token"]));
    assert_eq!(claims["name"], "Demo Admin");
    assert_eq!(fragment["state"], "s");

    let alone = params_of(
        browser
            .authorize(&implicit("id_token", "&nonce=xyz"))
            .await
            .header("location"),
    );
    assert!(!alone.contains_key("access_token"), "{alone:?}");
    assert!(!verified(&app, &alone["id_token"])
        .await
        .contains_key("at_hash"));

    // OIDC Core §3.2.2.1: a nonce is required; the error goes back in the fragment.
    let landed = browser.authorize(&implicit("id_token", "")).await;
    let location = landed.header("location");
    assert!(location.starts_with(&format!("{CALLBACK}#")), "{location}");
    assert_eq!(
        params_of(location)["error_description"],
        "nonce is required for this response_type"
    );
    // Tokens never go in a query.
    let query = params_of(
        browser
            .authorize(&implicit("id_token", "&nonce=x&response_mode=query"))
            .await
            .header("location"),
    );
    assert_eq!(query["error"], "invalid_request");
    // No ID token without `openid`.
    let no_openid = browser
        .authorize(&format!(
            "response_type=id_token&client_id=rp&redirect_uri={CALLBACK}&scope=profile&nonce=x"
        ))
        .await;
    assert_eq!(
        params_of(no_openid.header("location"))["error"],
        "invalid_scope"
    );
}

#[on_both_backends]
async fn form_post_answers_with_a_page_the_browser_posts(app: TestApp) {
    let browser = app.browser();
    browser.code_for(&code_request("openid", "")).await;
    let page = browser
        .authorize(
            &code_request("openid", "&response_mode=form_post").replace("state=st", "state=a%22b"),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains(&format!(r#"<form method="post" action="{CALLBACK}""#)));
    assert!(page.body.contains(r#"name="code""#));
    assert!(
        page.body.contains(r#"value="a&#34;b""#) || page.body.contains(r#"value="a&quot;b""#),
        "state escaped: {}",
        page.body
    );
    assert!(
        page.body.contains(r#"<button type="submit""#),
        "works without scripts"
    );
    assert!(page
        .header("content-security-policy")
        .contains("script-src 'self'"));
    let script = app.get("/assets/form-post.js").await;
    assert_eq!(script.status, 200);
    assert!(script.body.contains("submit()"));
}

#[on_both_backends]
async fn rp_initiated_logout_ends_the_session_and_returns_to_the_registered_uri(app: TestApp) {
    let browser = app.browser();
    let tokens = signed_in_tokens(&browser, "openid").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let logout = |uri: &str| {
        format!(
            "/connect/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
            urlencoding(uri)
        )
    };
    // Not registered: a page, never a redirect.
    let refused = browser
        .get(&logout("http://127.0.0.1:8000/elsewhere"))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("not registered"), "{}", refused.body);
    let tampered = browser
        .get(&format!("/connect/logout?id_token_hint={id_token}x"))
        .await;
    assert_eq!(tampered.status, 400);

    let done = browser.get(&logout(SIGNED_OUT)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location"), format!("{SIGNED_OUT}?state=bye"));
    let after = browser
        .authorize(&code_request("openid", "&prompt=none"))
        .await;
    assert_eq!(
        params_of(after.header("location"))["error"],
        "login_required"
    );
}

#[on_both_backends]
async fn logout_without_a_hint_asks_the_user_first(app: TestApp) {
    let browser = app.browser();
    browser.code_for(&code_request("openid", "")).await;
    let asked = browser
        .get(&format!(
            "/connect/logout?client_id=rp&post_logout_redirect_uri={}&state=s1",
            urlencoding(SIGNED_OUT)
        ))
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("Sign out?"));
    // Still signed in until the user says so.
    let still = browser
        .authorize(&code_request("openid", "&prompt=none"))
        .await;
    assert!(params_of(still.header("location")).contains_key("code"));
    // A forged form (wrong CSRF token) does nothing.
    let forged = browser
        .post(
            "/connect/logout",
            &[("_csrf", "forged"), ("client_id", "rp")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let confirmed = browser
        .post(
            "/connect/logout",
            &[
                ("_csrf", &csrf_of(&asked.body)),
                ("client_id", "rp"),
                ("post_logout_redirect_uri", SIGNED_OUT),
                ("state", "s1"),
            ],
        )
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert_eq!(
        confirmed.header("location"),
        format!("{SIGNED_OUT}?state=s1")
    );
    let after = browser
        .authorize(&code_request("openid", "&prompt=none"))
        .await;
    assert_eq!(
        params_of(after.header("location"))["error"],
        "login_required"
    );
}

#[on_both_backends]
async fn discovery_lists_what_openid_connect_offers(app: TestApp) {
    let metadata = app.get("/.well-known/openid-configuration").await.json();
    let issuer = metadata["issuer"].as_str().unwrap();
    assert_eq!(metadata["userinfo_endpoint"], format!("{issuer}/userinfo"));
    assert_eq!(
        metadata["end_session_endpoint"],
        format!("{issuer}/connect/logout")
    );
    assert_eq!(
        metadata["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        metadata["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let listed =
        |field: &str| -> Vec<String> { serde_json::from_value(metadata[field].clone()).unwrap() };
    for response_type in ["code", "token", "id_token", "id_token token"] {
        assert!(listed("response_types_supported").contains(&response_type.to_owned()));
    }
    assert_eq!(
        listed("response_modes_supported"),
        ["query", "fragment", "form_post"]
    );
    for claim in [
        "sub",
        "nonce",
        "auth_time",
        "name",
        "email",
        "email_verified",
    ] {
        assert!(
            listed("claims_supported").contains(&claim.to_owned()),
            "{claim}"
        );
    }
    assert!(listed("scopes_supported").contains(&"openid".to_owned()));
    assert_eq!(metadata["request_uri_parameter_supported"], false);
}

fn urlencoding(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[on_both_backends]
async fn a_link_asking_for_a_fresh_sign_in_signs_nobody_out(app: TestApp) {
    let browser = app.browser();
    browser.code_for(&code_request("openid", "")).await;
    // Any site can send the browser here; the user is only shown the login form.
    let again = browser
        .authorize(&code_request("openid", "&prompt=login"))
        .await;
    assert_eq!(again.header("location"), "/login");
    let form = browser.get("/login").await;
    assert!(
        form.body.contains(r#"name="password""#),
        "the form, not the shortcut"
    );
    let still = browser
        .authorize(&code_request("openid", "&prompt=none"))
        .await;
    assert!(
        params_of(still.header("location")).contains_key("code"),
        "still signed in"
    );
}

#[on_both_backends]
async fn the_password_grant_and_its_refreshes_answer_id_tokens_while_they_keep_openid(
    app: TestApp,
) {
    app.add_client("pw", "password,refresh_token", |c| {
        c.scope = Some("openid,profile,app".into());
    });
    let answer = app
        .password_grant_as(("pw", "s3cret"), ("admin", "123456"))
        .await
        .json();
    let claims = verified_for(&app, answer["id_token"].as_str().unwrap(), "pw").await;
    assert_eq!(claims["sub"], "admin");
    assert_eq!(claims["name"], "Demo Admin");
    assert!(claims.contains_key("auth_time"));
    let refresh = answer["refresh_token"].as_str().unwrap();
    let narrowed = app
        .refresh(("pw", "s3cret"), refresh, Some("app"))
        .await
        .json();
    assert!(
        narrowed.get("id_token").is_none(),
        "no openid, no ID token: {narrowed}"
    );
    let kept = app.refresh(("pw", "s3cret"), refresh, None).await.json();
    assert!(kept["id_token"].is_string(), "{kept}");
}

#[on_both_backends]
async fn only_an_id_token_of_this_server_is_a_hint_and_another_users_asks_first(app: TestApp) {
    // A JWT access token is signed with the same keys, but is no ID token.
    app.add_client("jwt", "password", |c| {
        c.additional_information = Some(r#"{"access_token_type":"jwt"}"#.into());
    });
    let access = app
        .password_grant_as(("jwt", "s3cret"), ("admin", "123456"))
        .await
        .field("access_token");
    assert_eq!(access.split('.').count(), 3);
    let browser = app.browser();
    let refused = browser
        .get(&format!("/connect/logout?id_token_hint={access}"))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);

    // admin's ID token, in a browser where bob is signed in: bob is asked.
    let admin_token = signed_in_tokens(&app.browser(), "openid").await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.add_user("bob", "secret", &["ROLE_USER"]);
    assert_eq!(browser.sign_in("bob", "secret").await.status, 303);
    let asked = browser
        .get(&format!("/connect/logout?id_token_hint={admin_token}"))
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("Sign out?"));

    // A relying party's form posted from its own site comes without the session cookie: it is
    // sent on as a GET, which carries it.
    let posted = browser
        .post(
            "/connect/logout",
            &[("id_token_hint", admin_token.as_str()), ("state", "x")],
        )
        .await;
    assert_eq!(posted.status, 303);
    let location = posted.header("location");
    assert!(location.starts_with("/connect/logout?"), "{location}");
    assert!(location.contains("state=x"), "{location}");
}

#[tokio::test]
async fn userinfo_refuses_the_token_of_a_user_disabled_since() {
    let app = test_support::sqlite_app_with(|s| s.security.user_cache_seconds = 0).await;
    let tokens = signed_in_tokens(&app.browser(), "openid").await;
    auth_server::db::users::set_enabled(&mut app.store.conn().unwrap(), "admin", false).unwrap();
    let answer = userinfo(&app, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
}

#[tokio::test]
async fn with_only_a_shared_secret_openid_is_refused_at_once_and_not_offered() {
    let app = test_support::sqlite_app_with(|s| {
        s.jwt.algorithm = auth_server::signing::SigningAlgorithm::HS256;
        s.jwt.secret = Some("a shared secret of at least thirty-two bytes".into());
    })
    .await;
    let landed = app.browser().authorize(&code_request("openid", "")).await;
    let params = params_of(landed.header("location"));
    assert_eq!(params["error"], "temporarily_unavailable", "{params:?}");
    let metadata = app.get("/.well-known/openid-configuration").await.json();
    assert_eq!(
        metadata["id_token_signing_alg_values_supported"],
        serde_json::json!([])
    );
    assert_eq!(
        metadata["response_types_supported"],
        serde_json::json!(["code", "token"])
    );
}
