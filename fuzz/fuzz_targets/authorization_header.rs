//! The `Authorization` header: Basic client credentials at the token endpoint
//! (`PresentedClient::from_request`, RFC 6749 §2.3.1) and the bearer token of a protected request
//! (`guard::bearer_token` with the `access_token` query parameter, then `Guard::check`; RFC 6750).
//!
//! Input: lines; every line but the last is one `Authorization` header, the last the query string.
//! Each parser is held to a small statement of the grammar it promises, written out here: it may
//! accept nothing that is not well-formed and refuse nothing that is, and no token that is not a
//! `b64token` ever reaches a validator.
#![no_main]

use std::borrow::Cow;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use actix_web::http::Uri;
use actix_web::test::TestRequest;
use auth_server::accounts::client_auth::AuthMethod;
use auth_server::accounts::PresentedClient;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use shared::guard::{bearer_token, Guard, TokenValidator, Validation, ValidationFuture};
use shared::params::{Params, MAX_PARAMETERS, MAX_PARAMETER_BYTES};
use shared::{ErrorCode, Scope};

const REFUSED: [char; 4] = ['\u{fffd}', '\0', '\r', '\n'];

fuzz_target!(|data: &[u8]| {
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let query = if lines.len() > 1 { lines.pop() } else { None };
    for header in &lines {
        basic(header);
        if let Ok(token) = std::str::from_utf8(header) {
            guard_check(token);
        }
    }
    bearer(&lines, query.unwrap_or_default());
});

/// The only white space HTTP allows around a header value or after the scheme (RFC 9110 §5.6.3).
const OWS: [char; 2] = [' ', '\t'];

enum Basic {
    /// Another scheme, or no scheme: not client authentication at all.
    OtherScheme,
    Malformed,
    Client(String),
}

/// `Basic`, in any case, a space, then standard base64 (padding optional, but never wrong) of UTF-8
/// `id:secret` with a non-empty id and no NUL, CR or LF.
fn expected_basic(header: &[u8]) -> Basic {
    let Some((scheme, encoded)) = std::str::from_utf8(header)
        .ok()
        .and_then(|h| h.trim_matches(OWS).split_once(' '))
    else {
        return Basic::OtherScheme;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::OtherScheme;
    }
    let encoded = encoded.trim_matches(OWS);
    let unpadded = encoded.trim_end_matches('=');
    let padding = encoded.len() - unpadded.len();
    let padding_fits = match unpadded.len() % 4 {
        0 => padding == 0,
        2 => padding <= 2,
        3 => padding <= 1,
        _ => false,
    };
    let Some(decoded) = padding_fits
        .then(|| STANDARD_NO_PAD.decode(unpadded).ok())
        .flatten()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return Basic::Malformed;
    };
    match decoded.split_once(':') {
        Some((id, _)) if !id.is_empty() && !decoded.contains(['\0', '\r', '\n']) => {
            Basic::Client(id.to_owned())
        }
        _ => Basic::Malformed,
    }
}

fn basic(header: &[u8]) {
    // The token endpoint hands over a header value's bytes; the HTTP layer lets through no control
    // character but HTAB, and any byte above 0x7F.
    if HeaderValue::from_bytes(header).is_err() {
        return;
    }
    let presented = PresentedClient::from_request(Some(header), &Params::default());
    match (expected_basic(header), presented) {
        (Basic::OtherScheme, Err(error)) => {
            assert_eq!(error.code(), ErrorCode::ClientAuthenticationRequired)
        }
        (Basic::Malformed, Err(error)) => {
            assert_eq!(error.code(), ErrorCode::MalformedClientCredentials)
        }
        (Basic::Client(id), Ok(presented)) => {
            assert_eq!(presented.client_id, id);
            assert_eq!(presented.method, AuthMethod::Basic);
        }
        (Basic::OtherScheme, Ok(p)) | (Basic::Malformed, Ok(p)) => {
            panic!(
                "accepted a malformed Basic header as client {:?}",
                p.client_id
            )
        }
        (Basic::Client(id), Err(error)) => panic!(
            "refused a well-formed Basic header for {id:?}: {}",
            error.description()
        ),
    }
}

/// RFC 6750 §2.1 `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, at most 4 KiB.
fn is_b64token(token: &str) -> bool {
    let body_len = token.find('=').unwrap_or(token.len());
    let (body, padding) = token.split_at(body_len);
    token.len() <= 4096
        && !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
        && padding.bytes().all(|b| b == b'=')
}

/// Remembers the token it was asked about, and knows none.
struct Recorder(Mutex<Option<String>>);

impl TokenValidator for Recorder {
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
        if let Ok(mut seen) = self.0.lock() {
            *seen = Some(token.to_owned());
        }
        Box::pin(async { Ok(Validation::Invalid) })
    }
}

/// One guard for the whole run: `Guard::new` keeps its resource id for the life of the process.
fn guard() -> &'static (Guard, Arc<Recorder>) {
    static GUARD: OnceLock<(Guard, Arc<Recorder>)> = OnceLock::new();
    GUARD.get_or_init(|| {
        let recorder = Arc::new(Recorder(Mutex::new(None)));
        (
            Guard::new(recorder.clone(), "fuzz", Scope::default()),
            recorder,
        )
    })
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("nothing here waits"),
    }
}

fn guard_check(token: &str) {
    let (guard, recorder) = guard();
    // The recorder remembers nothing: only what is not a b64token is answered without asking it.
    let remembered = guard
        .check_remembered(token)
        .map(|verdict| verdict.map(|_| ()).map_err(|e| e.code()));
    assert_eq!(
        remembered,
        (!is_b64token(token)).then_some(Err(ErrorCode::InvalidAccessToken))
    );
    assert!(recorder.0.lock().ok().is_some_and(|seen| seen.is_none()));
    let verdict = ready(guard.check(token));
    let seen = recorder.0.lock().ok().and_then(|mut seen| seen.take());
    assert_eq!(
        verdict.map(|_| ()).map_err(|e| e.code()),
        Err(ErrorCode::InvalidAccessToken)
    );
    if is_b64token(token) {
        assert_eq!(seen.as_deref(), Some(token), "a b64token must be validated");
    } else {
        assert_eq!(
            seen, None,
            "{token:?} is not a b64token but reached the validator"
        );
    }
}

fn bearer(headers: &[&[u8]], query: &[u8]) {
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let uri = format!("/hi?{query}");
    // What no HTTP parser would deliver needs no answer.
    if uri.parse::<Uri>().is_err() {
        return;
    }
    let mut request = TestRequest::default().uri(&uri);
    let mut values = Vec::new();
    for header in headers {
        let Ok(value) = HeaderValue::from_bytes(header) else {
            return;
        };
        values.push(value.clone());
        request = request.append_header((AUTHORIZATION, value));
    }
    let request = request.to_http_request();

    let texts: Option<Vec<&str>> = values.iter().map(|v| v.to_str().ok()).collect();
    let from_headers: Vec<&str> = values
        .iter()
        .filter_map(|v| v.to_str().ok()?.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .collect();
    let from_query: Vec<Cow<str>> = form_urlencoded::parse(request.query_string().as_bytes())
        .filter(|(name, _)| name == "access_token")
        .map(|(_, value)| value)
        .collect();
    let sent_twice = from_headers.len() > 1
        || from_query.len() > 1
        || (!from_headers.is_empty() && from_query.iter().any(|t| !t.is_empty()));
    let unreadable = texts.is_none()
        || form_urlencoded::parse(request.query_string().as_bytes()).count() > MAX_PARAMETERS
        || from_query
            .iter()
            .any(|t| t.contains(REFUSED) || t.len() > MAX_PARAMETER_BYTES);

    match bearer_token(&request) {
        Ok(token) => {
            assert!(!sent_twice && !unreadable, "accepted {token:?}");
            let expected = from_headers.first().map(|t| t.to_string()).or_else(|| {
                from_query
                    .first()
                    .filter(|t| !t.is_empty())
                    .map(|t| t.to_string())
            });
            assert_eq!(token.as_deref(), expected.as_deref());
            if let Some(token) = token {
                assert!(!token.is_empty() && !token.contains(REFUSED), "{token:?}");
                guard_check(&token);
            }
        }
        Err(error) => {
            assert!(
                sent_twice || unreadable,
                "refused a readable token sent once: {}",
                error.description()
            );
            assert!(matches!(
                error.code(),
                ErrorCode::InvalidAccessToken
                    | ErrorCode::TokenSentTwice
                    | ErrorCode::MalformedBody
                    | ErrorCode::TooManyParameters
                    | ErrorCode::ParameterTooLong
            ));
        }
    }
}
