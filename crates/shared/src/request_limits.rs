//! Limits on the request head that both servers enforce before any handler runs. The body limit is
//! the auth server's (`security.max_body_bytes`); parameter count and length are checked where
//! forms and queries are decoded ([`crate::params`]).
//!
//! actix-web itself refuses a URI over about 64 KiB and more than 96 headers, but with an empty
//! 400 or 431 and after buffering them; these limits are lower, and answer with the catalogue's
//! JSON.

use std::future::Future;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};

use crate::{ApiError, ErrorCode};

/// Longest request target (path and query) accepted. An authorization request with a long
/// `state` and `redirect_uri` fits with room to spare.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Most bytes of header names and values together: nginx's default buffers for a request head
/// (4 × 8 KiB) hold twice this, and a session cookie is a fraction of it.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What is wrong with this request's head, if anything.
pub fn check_head(request: &actix_web::HttpRequest) -> Result<(), ApiError> {
    let uri = request.uri();
    let target = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(ApiError::new(ErrorCode::UriTooLong));
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return Err(ApiError::new(ErrorCode::HeadersTooLarge));
    }
    Ok(())
}

/// Middleware step ([`crate::front_door`]): refuses an oversized head before routing, else hands
/// the request to `next`.
pub async fn enforce<B, F>(
    request: ServiceRequest,
    next: impl FnOnce(ServiceRequest) -> F,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    B: MessageBody,
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    if let Err(error) = check_head(request.request()) {
        let response = actix_web::ResponseError::error_response(&error);
        return Ok(request.into_response(response).map_into_right_body());
    }
    Ok(next(request).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a_normal_request_passes() {
        let request = TestRequest::get()
            .uri("/oauth/authorize?response_type=code&client_id=dev&state=xyz")
            .insert_header(("Cookie", "id=".to_owned() + &"a".repeat(4000)))
            .to_http_request();
        assert!(check_head(&request).is_ok());
    }

    #[test]
    fn a_long_uri_is_414() {
        let request = TestRequest::get()
            .uri(&format!("/hi?name={}", "a".repeat(MAX_URI_BYTES)))
            .to_http_request();
        let error = check_head(&request).unwrap_err();
        assert_eq!(error.code().info().status, 414);
    }

    #[test]
    fn oversized_headers_are_431_whether_one_or_many() {
        let one = TestRequest::get()
            .insert_header(("X-Big", "a".repeat(MAX_HEADER_BYTES)))
            .to_http_request();
        assert_eq!(check_head(&one).unwrap_err().code().info().status, 431);
        let mut many = TestRequest::get();
        for n in 0..40 {
            many = many.append_header((format!("x-h{n}"), "b".repeat(500)));
        }
        assert_eq!(
            check_head(&many.to_http_request())
                .unwrap_err()
                .code()
                .info()
                .status,
            431
        );
    }
}
