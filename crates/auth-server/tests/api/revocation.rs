//! `POST /oauth2/revoke` and `/oauth/revoke` (RFC 7009), and `auth-server token revoke`.

use test_support::{answer, on_both_backends, params_of, Answer, Backend, TestApp};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn revoke(app: &TestApp, path: &str, client: (&str, &str), form: &[(&str, &str)]) -> Answer {
    app.post_form(path, form, Some(client)).await
}

/// §2.2: 200, an empty body, whatever happened.
fn assert_revoked(answer: &Answer) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, "", "nothing is told");
}

async fn active(app: &TestApp, token: &str) -> bool {
    let answer = app.introspect(&[("token", token)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["active"] == true
}

async fn hi_status(app: &TestApp, token: &str) -> u16 {
    app.http
        .get(app.url("/hi?name=x"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[on_both_backends]
async fn revoking_an_access_token_ends_only_it(app: TestApp) {
    for path in ["/oauth2/revoke", "/oauth/revoke"] {
        let grant = app.password_grant().await;
        let (access, refresh) = (grant.field("access_token"), grant.field("refresh_token"));
        assert_eq!(hi_status(&app, &access).await, 200);
        assert_revoked(&revoke(&app, path, ("dev", "11"), &[("token", &access)]).await);
        assert!(
            !active(&app, &access).await,
            "{path}: introspection refuses it"
        );
        assert_eq!(
            hi_status(&app, &access).await,
            401,
            "{path}: /hi refuses it"
        );
        let refreshed = app.refresh(("dev", "11"), &refresh, None).await;
        assert_eq!(
            refreshed.status, 200,
            "the grant lives on: {}",
            refreshed.body
        );
    }
}

#[on_both_backends]
async fn revoking_a_refresh_token_ends_its_whole_grant(app: TestApp) {
    let grant = app.password_grant().await;
    let first_access = grant.field("access_token");
    let refreshed = app
        .refresh(("dev", "11"), &grant.field("refresh_token"), None)
        .await;
    let (second_access, refresh) = (
        refreshed.field("access_token"),
        refreshed.field("refresh_token"),
    );
    let other_grant = app.user_token().await;
    assert_revoked(
        &revoke(
            &app,
            "/oauth2/revoke",
            ("dev", "11"),
            &[("token", &refresh), ("token_type_hint", "refresh_token")],
        )
        .await,
    );
    for token in [&first_access, &second_access, &refresh] {
        assert!(!active(&app, token).await, "every token of the grant ends");
    }
    app.refresh(("dev", "11"), &refresh, None)
        .await
        .assert_error(400, "invalid_grant", "Invalid refresh token");
    assert!(
        active(&app, &other_grant).await,
        "another grant is untouched"
    );
}

#[on_both_backends]
async fn a_wrong_hint_still_finds_the_token(app: TestApp) {
    let grant = app.password_grant().await;
    let (access, refresh) = (grant.field("access_token"), grant.field("refresh_token"));
    assert_revoked(
        &revoke(
            &app,
            "/oauth2/revoke",
            ("dev", "11"),
            &[("token", &access), ("token_type_hint", "refresh_token")],
        )
        .await,
    );
    assert!(!active(&app, &access).await);
    assert!(active(&app, &refresh).await, "only the access token went");
    assert_revoked(
        &revoke(
            &app,
            "/oauth2/revoke",
            ("dev", "11"),
            &[("token", &refresh), ("token_type_hint", "access_token")],
        )
        .await,
    );
    assert!(!active(&app, &refresh).await);
}

#[on_both_backends]
async fn another_clients_or_an_unknown_token_is_200_and_changes_nothing(app: TestApp) {
    app.add_client("other", "password,client_credentials", |_| {});
    let grant = app.password_grant().await;
    let (access, refresh) = (grant.field("access_token"), grant.field("refresh_token"));
    for token in [&access, &refresh] {
        assert_revoked(
            &revoke(
                &app,
                "/oauth2/revoke",
                ("other", "s3cret"),
                &[("token", token)],
            )
            .await,
        );
        assert!(
            active(&app, token).await,
            "another client's token is left alone"
        );
    }
    for unknown in ["never-issued", "a.b.c"] {
        assert_revoked(&revoke(&app, "/oauth2/revoke", ("dev", "11"), &[("token", unknown)]).await);
    }
    // Revoking twice is no error either.
    for _ in 0..2 {
        assert_revoked(&revoke(&app, "/oauth2/revoke", ("dev", "11"), &[("token", &access)]).await);
    }
}

#[on_both_backends]
async fn the_caller_must_be_a_client_and_send_a_token(app: TestApp) {
    let access = app.user_token().await;
    revoke(
        &app,
        "/oauth2/revoke",
        ("dev", "wrong"),
        &[("token", &access)],
    )
    .await
    .assert_error(401, "invalid_client", "Bad client credentials");
    let anonymous = app
        .post_form("/oauth2/revoke", &[("token", &access)], None)
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert!(
        active(&app, &access).await,
        "nothing revoked without a client"
    );
    revoke(&app, "/oauth2/revoke", ("dev", "11"), &[])
        .await
        .assert_error(400, "invalid_request", "Missing parameter: token");
    let get = answer(
        app.http
            .get(app.url("/oauth2/revoke"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), "POST");
}

#[on_both_backends]
async fn a_public_client_revokes_its_refresh_token_by_its_client_id(app: TestApp) {
    app.add_client("spa", "authorization_code,refresh_token", |row| {
        row.client_secret = None;
        row.web_server_redirect_uri = Some("https://spa.example/cb".into());
    });
    let location = app
        .browser()
        .code_for(&format!("response_type=code&client_id=spa&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256"))
        .await;
    let tokens = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &params_of(&location)["code"]),
            ("client_id", "spa"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    let (access, refresh) = (tokens.field("access_token"), tokens.field("refresh_token"));
    let revoked = app
        .post_form(
            "/oauth2/revoke",
            &[("token", &refresh), ("client_id", "spa")],
            None,
        )
        .await;
    assert_revoked(&revoked);
    assert!(!active(&app, &refresh).await);
    assert!(!active(&app, &access).await, "the grant's access token too");
}

#[on_both_backends]
async fn a_jwt_access_token_is_revoked_and_refused_by_introspection_at_once(app: TestApp) {
    app.add_client("jwt-client", "client_credentials", |c| {
        c.additional_information = Some(r#"{"access_token_type":"jwt"}"#.into())
    });
    let jwt = app.client_token("jwt-client", "s3cret").await;
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    assert!(active(&app, &jwt).await);
    assert_revoked(
        &revoke(
            &app,
            "/oauth2/revoke",
            ("jwt-client", "s3cret"),
            &[("token", &jwt)],
        )
        .await,
    );
    assert!(!active(&app, &jwt).await);
    assert_eq!(hi_status(&app, &jwt).await, 401);
}

/// A refresh and a revocation of the same grant, racing: whichever commits first, nothing of the
/// grant is left alive.
#[on_both_backends]
async fn a_refresh_racing_a_revocation_leaves_no_live_token_of_the_grant(app: TestApp) {
    // With the refresh token kept (Spring's default), and rotated at every refresh.
    app.add_client("rotating", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into());
    });
    for round in 0..20 {
        let client = if round % 2 == 0 {
            ("dev", "11")
        } else {
            ("rotating", "s3cret")
        };
        let grant = app.password_grant_for(client).await;
        let refresh = grant.field("refresh_token");
        let form = [("token", refresh.as_str())];
        let (refreshed, revoked) = tokio::join!(
            app.refresh(client, &refresh, None),
            revoke(&app, "/oauth2/revoke", client, &form),
        );
        assert_revoked(&revoked);
        let mut tokens = vec![grant.field("access_token"), refresh.clone()];
        if refreshed.status == 200 {
            tokens.push(refreshed.field("access_token"));
            tokens.push(refreshed.field("refresh_token"));
        } else {
            assert_eq!(refreshed.status, 400, "round {round}: {}", refreshed.body);
        }
        for token in &tokens {
            assert!(
                !active(&app, token).await,
                "round {round}: a token survived"
            );
        }
    }
}

/// docs/security.md, item 22: a revocation that cannot be stored is a 503, never a 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_gone_a_revocation_is_503_never_200() {
    let Some(app) = test_support::spawn_app_with(Backend::Postgres, |s| {
        s.database.connect_timeout_ms = 500;
    })
    .await
    else {
        return;
    };
    let access = app.user_token().await;
    // The client's registration and secret are remembered: only the revocation needs the database.
    assert_revoked(
        &revoke(
            &app,
            "/oauth2/revoke",
            ("dev", "11"),
            &[("token", "warm-up")],
        )
        .await,
    );
    app.db.drop_now();
    let answer = revoke(&app, "/oauth2/revoke", ("dev", "11"), &[("token", &access)]).await;
    answer.assert_error(
        503,
        "temporarily_unavailable",
        "The service is temporarily unavailable; try again later",
    );
    assert_eq!(answer.header("retry-after"), "1");
}
