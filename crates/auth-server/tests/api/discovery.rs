//! `GET /.well-known/oauth-authorization-server` (RFC 8414) and `/.well-known/openid-configuration`.

use serde_json::json;
use test_support::{answer, on_both_backends, sqlite_app_with, TestApp};

#[on_both_backends]
async fn the_metadata_names_every_endpoint_under_the_issuer(app: TestApp) {
    let issuer = format!("http://localhost:{}", app.port);
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let metadata = app.get(path).await;
        assert_eq!(metadata.status, 200, "{path}: {}", metadata.body);
        assert!(
            metadata
                .header("content-type")
                .starts_with("application/json"),
            "{path}"
        );
        let json = metadata.json();
        assert_eq!(json["issuer"], issuer);
        assert_eq!(
            json["authorization_endpoint"],
            format!("{issuer}/oauth/authorize")
        );
        assert_eq!(json["token_endpoint"], format!("{issuer}/oauth2/token"));
        assert_eq!(json["jwks_uri"], format!("{issuer}/oauth2/jwks"));
        assert_eq!(
            json["introspection_endpoint"],
            format!("{issuer}/oauth2/introspect")
        );
        assert_eq!(
            json["revocation_endpoint"],
            format!("{issuer}/oauth2/revoke")
        );
        // What the demo clients have: every grant, the scopes "app", (the resource server's)
        // "introspect" and (the relying party's) "openid", "profile" and "email".
        assert_eq!(
            json["response_types_supported"],
            json!(["code", "token", "id_token", "id_token token"])
        );
        assert_eq!(
            json["grant_types_supported"],
            json!([
                "authorization_code",
                "implicit",
                "password",
                "client_credentials",
                "refresh_token"
            ])
        );
        assert_eq!(
            json["scopes_supported"],
            json!(["app", "email", "introspect", "openid", "profile"])
        );
        assert_eq!(
            json["token_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post", "none"])
        );
        assert_eq!(
            json["introspection_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post"])
        );
        assert_eq!(
            json["revocation_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post", "none"])
        );
        assert_eq!(
            json["code_challenge_methods_supported"],
            json!(["S256", "plain"])
        );
        assert!(
            json.get("service_documentation").is_none(),
            "not configured"
        );
    }
    // Every published endpoint answers where the document says.
    let json = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json();
    let jwks = app
        .http
        .get(json["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    let revoked = app
        .http
        .post(json["revocation_endpoint"].as_str().unwrap())
        .basic_auth("dev", Some("11"))
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
}

#[on_both_backends]
async fn the_host_header_changes_nothing(app: TestApp) {
    let response = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .send()
        .await
        .unwrap();
    let metadata = answer(response).await;
    assert_eq!(metadata.status, 200);
    assert!(!metadata.body.contains("evil"), "{}", metadata.body);
    let post = answer(
        app.http
            .post(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(post.status, 405);
}

#[tokio::test]
async fn an_issuer_with_a_path_is_served_at_the_inserted_well_known_path() {
    let app = sqlite_app_with(|s| {
        s.server.issuer = Some("https://auth.example/tenant".into());
        s.security.pkce_plain_allowed = false;
        s.discovery.service_documentation = "https://developer.example/oauth".into();
    })
    .await;
    let metadata = app
        .get("/.well-known/oauth-authorization-server/tenant")
        .await;
    assert_eq!(metadata.status, 200, "{}", metadata.body);
    let json = metadata.json();
    assert_eq!(json["issuer"], "https://auth.example/tenant");
    assert_eq!(
        json["token_endpoint"],
        "https://auth.example/tenant/oauth2/token"
    );
    assert_eq!(json["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        json["service_documentation"],
        "https://developer.example/oauth"
    );
    assert_eq!(
        app.get("/.well-known/oauth-authorization-server/other")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn what_the_clients_offer_is_what_is_listed() {
    let app = sqlite_app_with(|s| s.demo.seed = false).await;
    app.add_client("svc", "client_credentials", |row| {
        row.scope = Some("reports,read".into())
    });
    let json = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(json["grant_types_supported"], json!(["client_credentials"]));
    // Required and never empty (RFC 8414 §2): the code flow, for the clients to come.
    assert_eq!(json["response_types_supported"], json!(["code"]));
    assert_eq!(json["scopes_supported"], json!(["read", "reports"]));
}
