//! The one error type handlers return, and the one place it becomes an HTTP response.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::catalogue::{Challenge, ErrorCode};
use crate::wire::ErrorBody;

/// A failure, named by its catalogue entry.
///
/// `cause` is for the log only: it never reaches the response body.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    arg: Option<Cow<'static, str>>,
    cause: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            arg: None,
            cause: None,
            retry_after: None,
        }
    }

    /// Tells the caller how many seconds to wait (`Retry-After`, RFC 9110 §10.2.3).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// Fills the `{}` of the entry's description, e.g. the name of a missing parameter. Never
    /// request input: a name the code chooses, or configuration.
    pub fn with_arg(mut self, arg: impl Into<Cow<'static, str>>) -> Self {
        self.arg = Some(arg.into());
        self
    }

    /// Records why, for the log.
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::new(ErrorCode::ServerError).with_cause(cause)
    }

    pub fn unavailable(cause: impl fmt::Display) -> Self {
        Self::new(ErrorCode::StorageUnavailable).with_cause(cause)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn description(&self) -> String {
        let message = self.code.info().message;
        match &self.arg {
            Some(arg) => message.replacen("{}", arg, 1),
            None => message.replacen("{}", "", 1),
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code.info().error.to_owned(),
            error_description: self.description(),
        }
    }

    fn challenge(&self) -> Option<String> {
        let info = self.code.info();
        match info.challenge {
            Challenge::None => None,
            Challenge::Basic => Some(r#"Basic realm="oauth2/client""#.to_owned()),
            // RFC 6750 §3.1: without credentials the challenge carries no error code.
            Challenge::Bearer if info.error == "unauthorized" => {
                Some(r#"Bearer realm="oauth2-resource""#.to_owned())
            }
            Challenge::Bearer => Some(format!(
                r#"Bearer realm="oauth2-resource", error="{}", error_description="{}""#,
                info.error,
                self.description()
            )),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.code.info();
        write!(f, "[{}] {}: {}", info.code, info.error, self.description())?;
        if let Some(cause) = &self.cause {
            write!(f, " (cause: {cause})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.info().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            log::error!("{self}");
        } else if self.cause.is_some() {
            log::debug!("{self}");
        }
        let mut response = HttpResponse::build(status);
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .insert_header(("X-Error-Code", self.code.info().code.to_string()))
            .insert_header((header::CONTENT_TYPE, crate::wire::JSON_UTF8));
        if let Some(challenge) = self.challenge() {
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.insert_header((header::WWW_AUTHENTICATE, value));
            }
        }
        match self.retry_after {
            Some(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            None if status == StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            None => {}
        }
        match serde_json::to_string(&self.body()) {
            Ok(json) => response.body(json),
            Err(_) => response.finish(),
        }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn bad_client_credentials_answer_as_spring_did() {
        let response = ApiError::new(ErrorCode::BadClientCredentials).error_response();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            r#"Basic realm="oauth2/client""#
        );
        assert_eq!(
            response.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
        let body = to_bytes(response.into_body()).await.unwrap();
        assert_eq!(
            body,
            r#"{"error":"invalid_client","error_description":"Bad client credentials"}"#
        );
    }

    #[test]
    fn the_argument_fills_the_placeholder_and_the_cause_stays_out_of_the_body() {
        let error = ApiError::new(ErrorCode::MissingParameter)
            .with_arg("username")
            .with_cause("secret detail");
        assert_eq!(error.description(), "Missing parameter: username");
        assert!(!serde_json::to_string(&error.body())
            .unwrap()
            .contains("secret"));
    }
}
