//! `GET /openapi.json`: the OpenAPI 3.1 description of the resource server's routes, held to the
//! routes it mounts and to what `/health` answers. Also the regression schemathesis found by
//! testing it against the description (scripts/schemathesis.sh).

use resource_server::settings::Settings;
use resource_server::startup::{route_table, Application};
use serde_json::Value;
use test_support::openapi::{assert_describes, described, property_names, statuses};
use test_support::{answer, Answer};

/// A resource server on a free port (nothing behind it: no request here needs a token checked).
async fn spawn() -> (String, reqwest::Client) {
    let mut settings = Settings::defaults();
    settings.server.port = 0;
    settings.metrics.port = 0;
    settings.server.workers = 1;
    let app = Application::build(settings).await.expect("server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    (address, reqwest::Client::new())
}

async fn request(http: &reqwest::Client, method: reqwest::Method, url: String) -> Answer {
    answer(http.request(method, url).send().await.expect("an answer")).await
}

#[tokio::test]
async fn the_description_is_openapi_3_1_and_lists_exactly_the_routes() {
    let (address, http) = spawn().await;
    let served = request(
        &http,
        reqwest::Method::GET,
        format!("{address}/openapi.json"),
    )
    .await;
    assert_eq!(served.status, 200);
    assert!(served
        .header("content-type")
        .starts_with("application/json"));
    let description: Value = served.json();
    assert!(description["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(description["info"]["title"], "resource-server");
    assert_describes(&description, &route_table());
    for (path, method) in described(&description) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let status = request(&http, method.clone(), format!("{address}{path}"))
            .await
            .status;
        assert!(status != 404 && status != 405, "{method} {path}: {status}");
    }
    for code in ["200", "400", "401", "403", "503"] {
        assert!(
            statuses(&description, "/hi", "get").contains(code),
            "{code}"
        );
    }
    // What /health reports is what the description says it reports.
    let health = request(&http, reqwest::Method::GET, format!("{address}/health")).await;
    let schema = &description["paths"]["/health"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    let described_fields = property_names(&description, schema);
    for field in health.json().as_object().unwrap().keys() {
        assert!(
            described_fields.contains(field),
            "/health's {field} is not described"
        );
    }
}

/// Found by schemathesis (unsupported_method, on the auth server's assets mounted the same way):
/// `/health` answered another method with 404 `not_found`, as if it did not exist, where `/hi`
/// and `/me` answer 405 with `Allow`.
#[tokio::test]
async fn health_answers_other_methods_with_405_and_allow() {
    let (address, http) = spawn().await;
    for method in [reqwest::Method::POST, reqwest::Method::DELETE] {
        let answer = request(&http, method, format!("{address}/health")).await;
        answer.assert_error(405, "method_not_allowed", "Request method not supported");
        assert_eq!(answer.header("allow"), "GET");
    }
}
