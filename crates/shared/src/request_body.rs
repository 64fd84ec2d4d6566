//! Request bodies, read whole before any handler runs, within a size limit and a deadline, on both
//! servers. A body sent a byte at a time would otherwise hold its connection (and a file
//! descriptor) for as long as the sender likes: actix-web times out a slow request head, not a slow
//! body. A body that does not arrive in time is answered 408 and its connection closed; one that is
//! too large, 413 and closed, without reading the rest.

use std::future::Future;
use std::time::Duration;

use actix_http::error::PayloadError;
use actix_http::ConnectionType;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;

use crate::{ApiError, ErrorCode};

/// How bodies are read (`server.body_timeout_ms`, and the server's largest body).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    /// From the end of the request head to the last byte of the body.
    pub deadline: Duration,
}

/// Middleware step ([`crate::front_door`]): buffers the body of a request that has one, then hands
/// the request to `next` with the bytes in place of the connection's stream. Needs a
/// `web::Data<BodyLimits>` in the app data.
///
/// A body that fails (too large, too slow, broken) reaches the handler as a payload that fails the
/// same way, so each endpoint answers in its own form (a page for the login form, JSON for the
/// token endpoint); a handler that never reads its body gets the catalogue's JSON answer instead of
/// its own. Either way the connection is then closed: what is left of the body is never read.
pub async fn read_whole<B, F>(
    mut request: ServiceRequest,
    next: impl FnOnce(ServiceRequest) -> F,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    B: MessageBody,
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    let limits = request
        .app_data::<actix_web::web::Data<BodyLimits>>()
        .map(|limits| *limits.get_ref());
    let Some(limits) = limits else {
        let error = ApiError::internal("no BodyLimits in the app data");
        return Ok(request.error_response(error).map_into_right_body());
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = request.headers().contains_key(header::TRANSFER_ENCODING);
    let failure = match (declared, chunked) {
        (None | Some(0), false) => return Ok(next(request).await?.map_into_left_body()),
        (Some(n), _) if n > limits.max_bytes as u64 => PayloadError::Overflow,
        _ => match read(request.take_payload(), limits).await {
            Ok(body) => {
                request.set_payload(Payload::from(body));
                return Ok(next(request).await?.map_into_left_body());
            }
            Err(failure) => failure,
        },
    };
    let error = payload_error(&failure);
    request.set_payload(Payload::Stream {
        payload: Box::pin(futures_util::stream::once(async move { Err(failure) })),
    });
    let mut response = next(request).await?;
    if response.status() != error.status_code() {
        // The handler never read its body: the failure is the answer.
        let request = response.into_parts().0;
        return Ok(
            ServiceResponse::new(request, closing(error.error_response())).map_into_right_body(),
        );
    }
    response
        .response_mut()
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    Ok(response.map_into_left_body())
}

/// The whole body, at most `limits.max_bytes`, within `limits.deadline`.
async fn read(mut payload: Payload, limits: BodyLimits) -> Result<Bytes, PayloadError> {
    let whole = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > limits.max_bytes {
                return Err(PayloadError::Overflow);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(limits.deadline, whole)
        .await
        .unwrap_or_else(|_| Err(timed_out()))
}

fn timed_out() -> PayloadError {
    PayloadError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the body did not arrive in time",
    ))
}

/// What a body that could not be read means, in the catalogue.
pub fn payload_error(error: &PayloadError) -> ApiError {
    match error {
        PayloadError::Overflow => ApiError::new(ErrorCode::BodyTooLarge),
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            ApiError::new(ErrorCode::BodyTimeout)
        }
        other => ApiError::new(ErrorCode::MalformedBody).with_cause(other),
    }
}

/// The same for the error a handler's `web::Payload` gives.
pub fn read_error(error: &actix_web::Error) -> ApiError {
    match error.as_error::<PayloadError>() {
        Some(payload) => payload_error(payload),
        None => ApiError::new(ErrorCode::MalformedBody).with_cause(error),
    }
}

fn closing(mut response: HttpResponse) -> HttpResponse {
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    response
}
