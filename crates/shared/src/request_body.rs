//! Request bodies, read whole before any handler runs, within a size limit and a deadline, on both
//! servers. A body sent a byte at a time would otherwise hold its connection (and a file
//! descriptor) for as long as the sender likes: actix-web times out a slow request head, not a slow
//! body. A body that does not arrive in time is answered 408 and its connection closed; one that is
//! too large, 413 and closed, without reading the rest.

use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
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

enum Refused {
    TooLarge,
    Malformed(String),
}

/// Middleware: buffers the body of a request that has one, then hands the request on with the
/// bytes in place of the connection's stream. Needs a `web::Data<BodyLimits>` in the app data.
pub async fn read_whole(
    mut request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(limits) = request
        .app_data::<actix_web::web::Data<BodyLimits>>()
        .map(|limits| *limits.get_ref())
    else {
        return refuse(request, ApiError::internal("no BodyLimits in the app data"));
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = request.headers().contains_key(header::TRANSFER_ENCODING);
    match (declared, chunked) {
        (None | Some(0), false) => return Ok(next.call(request).await?.map_into_left_body()),
        (Some(n), _) if n > limits.max_bytes as u64 => {
            return refuse(request, ApiError::new(ErrorCode::BodyTooLarge));
        }
        _ => {}
    }
    let mut payload = request.take_payload();
    let read = tokio::time::timeout(limits.deadline, async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| Refused::Malformed(e.to_string()))?;
            if body.len() + chunk.len() > limits.max_bytes {
                return Err(Refused::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    })
    .await;
    let body: Bytes = match read {
        Ok(Ok(body)) => body,
        Ok(Err(Refused::TooLarge)) => {
            return refuse(request, ApiError::new(ErrorCode::BodyTooLarge))
        }
        Ok(Err(Refused::Malformed(cause))) => {
            return refuse(
                request,
                ApiError::new(ErrorCode::MalformedBody).with_cause(cause),
            )
        }
        Err(_) => return refuse(request, ApiError::new(ErrorCode::BodyTimeout)),
    };
    request.set_payload(actix_web::dev::Payload::from(body));
    Ok(next.call(request).await?.map_into_left_body())
}

/// The catalogue's answer, on a connection that is then closed: what is left of the body is never
/// read.
fn refuse<B>(
    request: ServiceRequest,
    error: ApiError,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let mut response: HttpResponse = error.error_response();
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    Ok(request.into_response(response).map_into_right_body())
}
