//! The resource server as its users see it: both servers for real on random ports, plus stub
//! introspection endpoints for the cases a real auth server cannot be made to produce.

mod helpers;
mod key_server;

mod cache;
mod discovery;
mod failures;
mod jwt;
mod jwt_with_auth_server;
mod openapi;
mod operations;
mod protocols;
mod revocation_with_auth_server;
mod tls;
mod walkthrough;

use resource_server::settings::Settings;
use resource_server::startup::Application;

#[tokio::test]
async fn health_answers_up() {
    let mut settings = Settings::defaults();
    settings.server.port = 0;
    settings.metrics.port = 0;
    settings.server.workers = 1;
    let app = Application::build(settings).await.expect("server builds");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let response = reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["status"], "UP");
    let missing = reqwest::get(format!("http://127.0.0.1:{port}/nope"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["x-error-code"], "1011");
}
