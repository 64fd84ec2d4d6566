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
