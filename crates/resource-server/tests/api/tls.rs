//! HTTPS on both servers, with the certificates scripts/dev-cert.sh makes.

use std::path::Path;

use shared::tls::TlsSettings;

use crate::helpers::{spawn_auth_with, spawn_resource};

/// A local CA and a localhost certificate, made by the script the README documents.
fn dev_certificates() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/dev-cert.sh");
    let output = std::process::Command::new(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir
}

fn tls(dir: &Path) -> Option<TlsSettings> {
    Some(TlsSettings {
        cert: dir.join("localhost.pem"),
        key: dir.join("localhost-key.pem"),
    })
}

fn trusting(dir: &Path) -> reqwest::Client {
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_servers_speak_https_and_introspection_verifies_the_certificate() {
    let certs = dev_certificates();
    let auth = spawn_auth_with(|s| s.server.tls = tls(certs.path())).await;
    assert!(auth.address.starts_with("https://localhost:"));
    let http = trusting(certs.path());

    // The documented first request, over HTTPS.
    let token: serde_json::Value = http
        .post(format!("{}/oauth2/token", auth.address))
        .header("Accept", "application/json")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "dev"),
            ("client_secret", "11"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();

    // Over HTTPS the session cookie is Secure.
    let login = http
        .get(format!("{}/login", auth.address))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let introspection = format!("{}/oauth/check_token", auth.address);
    let resource = spawn_resource(&introspection, |s| {
        s.server.tls = tls(certs.path());
        s.introspection.ca_file = Some(certs.path().join("ca.pem"));
    })
    .await;
    let hi = http
        .get(format!("{}/hi?name=1111", resource.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(hi.status(), 200);
    assert_eq!(hi.text().await.unwrap(), "hi , 1111");

    // Without the private CA the auth server's certificate is not trusted: 503, never 200.
    let untrusting = spawn_resource(&introspection, |_| {}).await;
    untrusting.hi(&token).await.assert_error(
        503,
        "temporarily_unavailable",
        "Token validation is temporarily unavailable; try again later",
    );

    // Plain HTTP to an HTTPS port gets nowhere.
    let plain = reqwest::get(format!("http://localhost:{}/health", auth.port)).await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));
}

#[test]
fn unreadable_certificate_files_stop_the_server_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.pem"), "not a certificate").unwrap();
    let error = shared::tls::server_config(&TlsSettings {
        cert: dir.path().join("bad.pem"),
        key: dir.path().join("missing.pem"),
    })
    .unwrap_err();
    assert!(error.to_string().starts_with("server.tls.cert"), "{error}");
    let certs = dev_certificates();
    let error = shared::tls::server_config(&TlsSettings {
        cert: certs.path().join("localhost.pem"),
        key: certs.path().join("ca-key.pem"),
    })
    .unwrap_err();
    assert!(error.to_string().contains("do not go together"), "{error}");
}
