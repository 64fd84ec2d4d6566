//! The way every request comes in, on both servers, before it is routed: it is observed (request
//! id, metrics, log line: [`crate::telemetry`]), its head is held to the limits
//! ([`crate::request_limits`]), and its body is read whole within a deadline
//! ([`crate::request_body`]). Refusals of the later steps are observed like any answer.
//!
//! One middleware calling the three steps in turn, each a plain async function handed the next:
//! wrapped as three `from_fn` layers instead, every request paid for three boxed futures and
//! three calls through boxed services (measured: 6 of the 26 allocations of a cached `/hi`).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::telemetry::Observing;
use crate::{request_body, request_limits, telemetry};

/// Middleware, for `App::wrap(from_fn(...))`: needs a `web::Data<BodyLimits>` in the app data.
pub async fn enter(
    observing: Observing,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    telemetry::observe(observing, request, |request| {
        request_limits::enforce(request, |request| {
            request_body::read_whole(request, |request| next.call(request))
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::{test, web, App, HttpResponse};

    use super::*;
    use crate::request_body::BodyLimits;
    use crate::routes::{get, Router};

    async fn ok() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[actix_web::test]
    async fn every_answer_is_counted_under_its_route_with_a_request_id() {
        let app = test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(|request, next| {
                    enter(Observing::default(), request, next)
                }))
                .app_data(web::Data::new(BodyLimits {
                    max_bytes: 16,
                    deadline: Duration::from_secs(1),
                }))
                .configure(|cfg| {
                    Router::new(cfg).mount("/front/door", [get(ok)]);
                }),
        )
        .await;
        let long = format!("/front/door?q={}", "a".repeat(9000));
        for (method, uri, status) in [
            ("GET", "/front/door", 200),
            ("POST", "/front/door", 405),
            ("GET", long.as_str(), 414),
            ("GET", "/front/nowhere", 404),
        ] {
            let request = test::TestRequest::default()
                .method(method.parse().unwrap())
                .uri(uri)
                .to_request();
            let response = test::call_service(&app, request).await;
            assert_eq!(response.status().as_u16(), status, "{method} {uri}");
            assert!(response.headers().contains_key("x-request-id"));
        }
        let text = crate::metrics::render(&[]).unwrap();
        for counted in [
            r#"{method="GET",route="/front/door",status="200"} 1"#,
            r#"{method="POST",route="/front/door",status="405"} 1"#,
            r#"{method="GET",route="/front/door",status="414"} 1"#,
            r#"{method="GET",route="unmatched",status="404"} 1"#,
        ] {
            assert!(
                text.contains(&format!("http_requests_total{counted}")),
                "no {counted} in {text}"
            );
        }
    }
}
