//! Introspection and the resource server: docs/security.md, items 19 to 21.

use super::*;

#[on_both_backends]
async fn item_19_a_revoked_token_is_inactive_at_both_endpoints(app: TestApp) {
    let code = code(&app, WALKTHROUGH).await;
    let first = exchange(&app, &code, &[]).await;
    let (access, refresh) = (first.field("access_token"), first.field("refresh_token"));
    assert_eq!(
        app.introspect(&[("token", &access)]).await.json()["active"],
        true
    );
    // A replayed code revokes what the first exchange issued.
    assert_eq!(exchange(&app, &code, &[]).await.status, 400);
    for token in [&access, &refresh] {
        for hint in [None, Some("access_token"), Some("refresh_token")] {
            let mut form = vec![("token", token.as_str())];
            form.extend(hint.map(|hint| ("token_type_hint", hint)));
            let answer = app.introspect(&form).await;
            assert_eq!(
                (answer.status, answer.body.as_str()),
                (200, r#"{"active":false}"#),
                "{hint:?}"
            );
        }
    }
    let refused = app.check_token(&access).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let json = refused.json();
    assert_eq!(json["error"], "invalid_token");
    assert_eq!(json.as_object().unwrap().len(), 2, "{}", refused.body);
}

#[on_both_backends]
async fn item_19_only_authenticated_trusted_clients_may_introspect(app: TestApp) {
    let token = app.password_grant().await.field("access_token");
    for path in ["/oauth/check_token", "/oauth2/introspect"] {
        app.post_form(path, &[("token", &token)], None)
            .await
            .assert_error(401, "invalid_client", "Client authentication is required");
        app.post_form(path, &[("token", &token)], Some(("resource", "wrong")))
            .await
            .assert_error(401, "invalid_client", "Bad client credentials");
        app.post_form(path, &[("token", &token)], Some(("dev", "11")))
            .await
            .assert_error(403, "access_denied", "Access is denied");
    }
    // A public client cannot authenticate, so it may not introspect even when trusted.
    app.add_client("trusted-but-public", "authorization_code", |row| {
        row.client_secret = None;
        row.authorities = Some("ROLE_TRUSTED_CLIENT".into());
    });
    app.post_form(
        "/oauth/check_token",
        &[("token", &token), ("client_id", "trusted-but-public")],
        None,
    )
    .await
    .assert_error(403, "access_denied", "Access is denied");
    // Any client holding ROLE_TRUSTED_CLIENT may, as in Spring's usual checkTokenAccess.
    app.add_client("gateway", "client_credentials", |row| {
        row.authorities = Some("ROLE_TRUSTED_CLIENT".into())
    });
    let answer = app
        .post_form(
            "/oauth/check_token",
            &[("token", &token)],
            Some(("gateway", "s3cret")),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[on_both_backends]
async fn item_19_check_token_refuses_unknown_and_expired_tokens_with_springs_400(app: TestApp) {
    app.check_token("no-such-token").await.assert_error(
        400,
        "invalid_token",
        "Token was not recognised",
    );
    // Two seconds, not one: a token of one second can expire before a slow machine checks it.
    app.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(2)
    });
    let token = app
        .token_basic(("brief", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    assert_eq!(app.check_token(&token).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    app.check_token(&token)
        .await
        .assert_error(400, "invalid_token", "Token has expired");
    // A refresh token is not an access token, for check_token.
    let refresh = app.password_grant().await.field("refresh_token");
    app.check_token(&refresh)
        .await
        .assert_error(400, "invalid_token", "Token was not recognised");
}

#[on_both_backends]
async fn item_19_an_unknown_or_expired_token_is_exactly_active_false(app: TestApp) {
    let token = app.password_grant().await.field("access_token");
    let answer = app.introspect(&[("token", &token)]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), "no-store");
    let json = answer.json();
    assert_eq!(json["active"], true);
    assert_eq!(json["scope"], "app");
    assert_eq!(json["client_id"], "dev");
    assert_eq!(json["username"], "admin");
    assert_eq!(json["sub"], "admin");
    assert_eq!(json["token_type"], "bearer");
    let (iat, exp) = (json["iat"].as_i64().unwrap(), json["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    for unknown in ["nope", "x".repeat(300).as_str()] {
        let inactive = app.introspect(&[("token", unknown)]).await;
        assert_eq!(
            (inactive.status, inactive.body.as_str()),
            (200, r#"{"active":false}"#)
        );
    }
    app.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(1)
    });
    let brief = app
        .token_basic(("brief", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        app.introspect(&[("token", &brief)]).await.body,
        r#"{"active":false}"#
    );
}

#[on_both_backends]
async fn item_19_a_rotated_refresh_token_is_inactive(app: TestApp) {
    app.add_client("rot", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into())
    });
    let refresh = app
        .password_grant_as(("rot", "s3cret"), ("admin", "123456"))
        .await
        .field("refresh_token");
    let hinted = app
        .introspect(&[("token", &refresh), ("token_type_hint", "refresh_token")])
        .await;
    assert_eq!(hinted.json()["active"], true);
    assert_eq!(
        hinted.json()["token_type"],
        "refresh_token",
        "never mistaken for a bearer token"
    );
    let unhinted = app.introspect(&[("token", &refresh)]).await;
    assert_eq!(
        unhinted.json()["active"],
        true,
        "the hint only orders the search"
    );
    app.token_basic(
        ("rot", "s3cret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .field("refresh_token");
    assert_eq!(
        app.introspect(&[("token", &refresh)]).await.body,
        r#"{"active":false}"#
    );
}

#[on_both_backends]
async fn item_21_no_token_or_a_bad_token_gets_rfc_6750_answers(app: TestApp) {
    let none = get(&app, "/hi?name=1111", None).await;
    none.assert_error(
        401,
        "unauthorized",
        "Full authentication is required to access this resource",
    );
    assert_eq!(
        none.header("www-authenticate"),
        r#"Bearer realm="oauth2-resource""#
    );
    let bad = get(&app, "/hi?name=1111", Some("not-a-token")).await;
    bad.assert_error(401, "invalid_token", "Invalid access token");
    assert!(bad
        .header("www-authenticate")
        .contains(r#"error="invalid_token""#));
    let token = app.password_grant().await.field("access_token");
    get(
        &app,
        &format!("/hi?name=1&access_token={token}"),
        Some(&token),
    )
    .await
    .assert_error(
        400,
        "invalid_request",
        "The access token must be sent in exactly one way",
    );
    get(&app, "/hi", Some(&token)).await.assert_error(
        400,
        "invalid_request",
        "Missing parameter: name",
    );
    // Authentication comes first: no token and no name is a 401.
    assert_eq!(get(&app, "/hi", None).await.status, 401);
}

#[on_both_backends]
async fn item_21_an_expired_or_revoked_token_is_invalid_token(app: TestApp) {
    // Two seconds, not one: a token of one second can expire before a slow machine checks it.
    app.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(2)
    });
    let brief = app
        .token_basic(("brief", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    let fresh = get(&app, "/hi?name=a", Some(&brief)).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    get(&app, "/hi?name=a", Some(&brief)).await.assert_error(
        401,
        "invalid_token",
        "Access token expired",
    );
    // Revocation: a rotated refresh token reused revokes its family, access tokens included.
    app.add_client("rot", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into())
    });
    let first = app
        .password_grant_as(("rot", "s3cret"), ("admin", "123456"))
        .await;
    let access = first.field("access_token");
    let refresh = first.field("refresh_token");
    assert_eq!(get(&app, "/hi?name=a", Some(&access)).await.status, 200);
    for _ in 0..2 {
        app.token_basic(
            ("rot", "s3cret"),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    }
    get(&app, "/hi?name=a", Some(&access)).await.assert_error(
        401,
        "invalid_token",
        "Invalid access token",
    );
}

#[on_both_backends]
async fn item_21_a_token_for_another_resource_is_invalid_token(app: TestApp) {
    app.add_client("for-hi", "client_credentials", |row| {
        row.resource_ids = Some("hi".into())
    });
    let token = app
        .token_basic(
            ("for-hi", "s3cret"),
            &[("grant_type", "client_credentials")],
        )
        .await
        .field("access_token");
    get(&app, "/hi?name=a", Some(&token)).await.assert_error(
        401,
        "invalid_token",
        "Invalid token does not contain resource id (oauth2-resource)",
    );
}

/// The resource server's `resource.required_scope`, here on the auth server's own guard.
#[on_both_backends(|s| {
        s.resource.required_scope = shared::Scope::parse("write").unwrap()
    })]
async fn item_21_a_missing_scope_is_403_insufficient_scope(app: TestApp) {
    let token = app.password_grant().await.field("access_token");
    let answer = get(&app, "/hi?name=a", Some(&token)).await;
    answer.assert_error(
        403,
        "insufficient_scope",
        "Insufficient scope for this resource",
    );
    let challenge = answer.header("www-authenticate");
    assert!(
        challenge.starts_with(r#"Bearer realm="oauth2-resource""#)
            && challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    app.add_client("writer", "client_credentials", |row| {
        row.scope = Some("app,write".into())
    });
    let writer = app
        .token_basic(
            ("writer", "s3cret"),
            &[("grant_type", "client_credentials")],
        )
        .await
        .field("access_token");
    assert_eq!(get(&app, "/hi?name=a", Some(&writer)).await.status, 200);
    // Authentication still comes first.
    assert_eq!(get(&app, "/hi?name=a", None).await.status, 401);
}

/// Removing a client, or removing or disabling a user, with the CLI ends every token of it at
/// once: at both introspection endpoints, at this server's own `/hi`, and for refresh (RFC 6819
/// §5.2.3.6: an operator's first lever against a compromised client or account).
#[on_both_backends]
async fn item_19_the_tokens_of_a_removed_client_or_a_removed_or_disabled_user_end_at_once(
    app: TestApp,
) {
    app.add_client("doomed", "client_credentials", |_| {});
    app.add_user("eve", "pw-eve", &["ROLE_USER"]);
    app.add_user("mallory", "pw-mallory", &["ROLE_USER"]);
    let client_token = app.client_token("doomed", "s3cret").await;
    let eve = app
        .password_grant_as(("dev", "11"), ("eve", "pw-eve"))
        .await;
    let mallory = app
        .password_grant_as(("dev", "11"), ("mallory", "pw-mallory"))
        .await;
    let access = [
        client_token,
        eve.field("access_token"),
        mallory.field("access_token"),
    ];
    for token in &access {
        assert_eq!(app.check_token(token).await.status, 200);
    }
    let url = app.db.url();
    for (command, said) in [
        (
            &["client", "remove", "--client-id", "doomed"][..],
            "ended 1 grants (1 tokens)",
        ),
        (
            &["user", "disable", "--username", "eve"],
            "ended 1 grants (2 tokens)",
        ),
        (
            &["user", "remove", "--username", "mallory"],
            "ended 1 grants (2 tokens)",
        ),
    ] {
        let printed = crate::cli::ok(&url, command);
        assert!(printed.contains(said), "{command:?}: {printed}");
    }
    for token in &access {
        app.check_token(token)
            .await
            .assert_error(400, "invalid_token", "Token was not recognised");
        assert_eq!(
            app.introspect(&[("token", token)]).await.body,
            r#"{"active":false}"#
        );
        get(&app, &format!("/hi?name=x&access_token={token}"), None)
            .await
            .assert_error(401, "invalid_token", "Invalid access token");
    }
    for refresh in [eve.field("refresh_token"), mallory.field("refresh_token")] {
        assert_eq!(
            app.introspect(&[("token", &refresh)]).await.body,
            r#"{"active":false}"#
        );
        app.refresh(("dev", "11"), &refresh, None)
            .await
            .assert_error(400, "invalid_grant", "Invalid refresh token");
    }
}

/// A client or user removed or disabled in SQL (a Spring-era admin tool, or another replica's
/// cache) ends its tokens too, within the few seconds the registrations are remembered.
#[on_both_backends(|s| {
    s.security.client_cache_seconds = 1;
    s.security.user_cache_seconds = 1;
})]
async fn item_19_a_client_or_user_removed_in_sql_ends_its_tokens_within_the_cache_time(
    app: TestApp,
) {
    app.add_client("doomed", "client_credentials", |_| {});
    app.add_user("eve", "pw-eve", &["ROLE_USER"]);
    let client_token = app.client_token("doomed", "s3cret").await;
    let eve = app
        .password_grant_as(("dev", "11"), ("eve", "pw-eve"))
        .await;
    let (eve_access, eve_refresh) = (eve.field("access_token"), eve.field("refresh_token"));
    for token in [&client_token, &eve_access] {
        assert_eq!(get(&app, "/hi?name=x", Some(token)).await.status, 200);
    }
    {
        let mut conn = app.store.conn().unwrap();
        auth_server::db::clients::delete(&mut conn, "doomed").unwrap();
        auth_server::db::users::set_enabled(&mut conn, "eve", false).unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for token in [&client_token, &eve_access] {
        app.check_token(token)
            .await
            .assert_error(400, "invalid_token", "Token was not recognised");
        get(&app, "/hi?name=x", Some(token)).await.assert_error(
            401,
            "invalid_token",
            "Invalid access token",
        );
    }
    for token in [&client_token, &eve_access, &eve_refresh] {
        assert_eq!(
            app.introspect(&[("token", token)]).await.body,
            r#"{"active":false}"#
        );
    }
    app.refresh(("dev", "11"), &eve_refresh, None)
        .await
        .assert_error(400, "invalid_grant", "User is disabled");
}
