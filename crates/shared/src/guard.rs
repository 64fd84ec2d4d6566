//! Resource protection (RFC 6750), the same on both servers: take the bearer token from the
//! `Authorization` header or the `access_token` query parameter (never both), ask a validator what
//! it stands for, check audience and scope, and answer 401/403 with a `WWW-Authenticate` challenge.
//!
//! The auth server's validator reads its own token store; the resource server's calls
//! introspection. Handlers take [`Authenticated`] as their first argument and see only a token that
//! passed.

use std::borrow::Cow;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{Either, LocalBoxFuture};

use crate::params::lookup;
use crate::{ApiError, ErrorCode, Scope};

/// What a valid access token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub client_id: String,
    /// `None` for a client acting for itself.
    pub user_name: Option<String>,
    pub scope: Scope,
    pub authorities: Vec<String>,
    /// The resource ids of the token's client; empty means every resource server.
    pub audience: Vec<String>,
    /// Unix seconds; `None` for a token that never expires.
    pub expires_at: Option<i64>,
}

/// A validator's verdict on a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    /// Shared, not copied: a cached answer serves many requests.
    Active(Arc<TokenClaims>),
    /// Known but past its expiry (only a local store can tell this apart).
    Expired,
    /// Unknown, revoked, or expired as far as the validator can tell.
    Invalid,
}

pub type ValidationFuture<'a> = Pin<Box<dyn Future<Output = Result<Validation, ApiError>> + 'a>>;

/// Asks whoever knows what a token stands for. `Err` means it could not be asked (503).
pub trait TokenValidator: Send + Sync {
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a>;

    /// The verdict on a token this validator remembers, given at once; `None` when it has to be
    /// asked ([`TokenValidator::validate`]). Most requests of a busy client carry a token seen
    /// before: answering them without a future, a boxed call and a copy of the token is most of
    /// what a remembered token costs.
    fn remembered(&self, _token: &str) -> Option<Validation> {
        None
    }
}

/// The guard of one server: its validator, its resource id, and the scope every request needs.
pub struct Guard {
    validator: Arc<dyn TokenValidator>,
    resource_id: String,
    /// Empty: any valid token will do.
    required_scope: Scope,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// RFC 6750 §2.1 `b64token`: what a bearer token may be made of. Anything else is refused before
/// it reaches a validator (or a log, or an upstream request).
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    // Every byte is looked at with no early exit, so the loop runs in SIMD lanes: a JWT is a few
    // hundred bytes, and checking them one by one with a branch each cost 4% of a cached `/hi`.
    !body.is_empty()
        && token.len() <= 4096
        && body.bytes().fold(true, |ok, b| ok & is_b64token_byte(b))
}

/// `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`, without branches.
fn is_b64token_byte(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter
        | digit
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

impl Guard {
    pub fn new(
        validator: Arc<dyn TokenValidator>,
        resource_id: &str,
        required_scope: Scope,
    ) -> Self {
        Self {
            validator,
            resource_id: resource_id.to_owned(),
            required_scope,
        }
    }

    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }

    /// Whether `token` may access this resource, and as whom.
    pub async fn check(&self, token: &str) -> Result<Arc<TokenClaims>, ApiError> {
        if !is_b64token(token) {
            return Err(ApiError::new(ErrorCode::InvalidAccessToken));
        }
        self.admit(self.validator.validate(token).await?)
    }

    /// [`Guard::check`]'s answer when the validator remembers `token`, without waiting.
    pub fn check_remembered(&self, token: &str) -> Option<Result<Arc<TokenClaims>, ApiError>> {
        if !is_b64token(token) {
            return Some(Err(ApiError::new(ErrorCode::InvalidAccessToken)));
        }
        self.validator
            .remembered(token)
            .map(|verdict| self.admit(verdict))
    }

    /// The validator's verdict, held to this resource server's rules.
    fn admit(&self, verdict: Validation) -> Result<Arc<TokenClaims>, ApiError> {
        let claims = match verdict {
            Validation::Active(claims) => claims,
            Validation::Expired => return Err(ApiError::new(ErrorCode::ExpiredAccessToken)),
            Validation::Invalid => return Err(ApiError::new(ErrorCode::InvalidAccessToken)),
        };
        // Checked here as well as by the validator, so no cache can outlive a token.
        if claims.expires_at.is_some_and(|exp| exp <= now()) {
            return Err(ApiError::new(ErrorCode::ExpiredAccessToken));
        }
        if !claims.audience.is_empty() && !claims.audience.contains(&self.resource_id) {
            return Err(ApiError::new(ErrorCode::WrongAudience).with_arg(self.resource_id.clone()));
        }
        if !self.required_scope.is_subset_of(&claims.scope) {
            return Err(ApiError::new(ErrorCode::InsufficientScope));
        }
        Ok(claims)
    }
}

/// The bearer token of a request, from exactly one place (RFC 6750 §2.1 and §2.3).
pub fn bearer_token(request: &HttpRequest) -> Result<Option<Cow<'_, str>>, ApiError> {
    let mut from_header = None;
    for value in request.headers().get_all(header::AUTHORIZATION) {
        // What `HeaderValue::to_str` accepts, checked a word at a time rather than a character at
        // a time (a JWT is hundreds of them): a header value holds no control byte but HTAB, so
        // it is visible ASCII exactly when it is ASCII. Any other Authorization header, whatever
        // its scheme, makes the request unreadable.
        let bytes = value.as_bytes();
        let value = std::str::from_utf8(bytes)
            .ok()
            .filter(|_| bytes.is_ascii())
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidAccessToken))?;
        if let Some((scheme, token)) = value.trim().split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") {
                if from_header.is_some() {
                    return Err(ApiError::new(ErrorCode::TokenSentTwice));
                }
                from_header = Some(Cow::Borrowed(token.trim()));
            }
        }
    }
    let from_query =
        lookup(request.query_string().as_bytes(), "access_token").map_err(|e| match e.code() {
            ErrorCode::RepeatedParameter => ApiError::new(ErrorCode::TokenSentTwice),
            _ => e,
        })?;
    match (from_header, from_query) {
        (Some(_), Some(_)) => Err(ApiError::new(ErrorCode::TokenSentTwice)),
        (header, query) => Ok(header.or(query)),
    }
}

/// A request whose bearer token passed the guard. Put it first among a handler's arguments, so that
/// a request without a valid token is answered 401 before anything else is looked at.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Arc<TokenClaims>);

impl FromRequest for Authenticated {
    type Error = ApiError;
    /// Ready at once for a token the validator remembers; boxed only when it must be asked.
    type Future =
        Either<Ready<Result<Self, ApiError>>, LocalBoxFuture<'static, Result<Self, ApiError>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(guard) = request.app_data::<web::Data<Guard>>() else {
            return Either::Left(ready(Err(ApiError::internal("no Guard in the app data"))));
        };
        let token = match bearer_token(request) {
            Ok(Some(token)) => token,
            Ok(None) => return Either::Left(ready(Err(ApiError::new(ErrorCode::Unauthorized)))),
            Err(error) => return Either::Left(ready(Err(error))),
        };
        if let Some(checked) = guard.check_remembered(&token) {
            return Either::Left(ready(checked.map(Authenticated)));
        }
        let (guard, token) = (guard.clone(), token.into_owned());
        Either::Right(Box::pin(async move {
            Ok(Authenticated(guard.check(&token).await?))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    struct Fixed(Validation);

    impl TokenValidator for Fixed {
        fn validate<'a>(&'a self, _: &'a str) -> ValidationFuture<'a> {
            let verdict = self.0.clone();
            Box::pin(async move { Ok(verdict) })
        }
    }

    fn claims(audience: &[&str], scope: &str, expires_at: Option<i64>) -> Arc<TokenClaims> {
        Arc::new(TokenClaims {
            client_id: "dev".into(),
            user_name: Some("admin".into()),
            scope: Scope::parse(scope).unwrap(),
            authorities: vec!["ROLE_USER".into()],
            audience: audience.iter().map(|a| a.to_string()).collect(),
            expires_at,
        })
    }

    fn guard(verdict: Validation, required: Option<&str>) -> Guard {
        Guard::new(
            Arc::new(Fixed(verdict)),
            "hi",
            Scope::parse(required.unwrap_or_default()).unwrap(),
        )
    }

    #[actix_web::test]
    async fn audience_scope_and_expiry_are_enforced() {
        let ok = claims(&[], "app", Some(now() + 60));
        assert!(guard(Validation::Active(ok.clone()), None)
            .check("t")
            .await
            .is_ok());
        let other = claims(&["other"], "app", None);
        let error = guard(Validation::Active(other), None)
            .check("t")
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::WrongAudience);
        assert_eq!(
            error.description(),
            "Invalid token does not contain resource id (hi)"
        );
        assert!(
            guard(Validation::Active(claims(&["x", "hi"], "app", None)), None)
                .check("t")
                .await
                .is_ok()
        );
        let past = claims(&[], "app", Some(now() - 1));
        assert_eq!(
            guard(Validation::Active(past), None)
                .check("t")
                .await
                .unwrap_err()
                .code(),
            ErrorCode::ExpiredAccessToken
        );
        assert_eq!(
            guard(Validation::Active(ok), Some("write"))
                .check("t")
                .await
                .unwrap_err()
                .code(),
            ErrorCode::InsufficientScope
        );
    }

    #[actix_web::test]
    async fn tokens_that_are_not_b64token_never_reach_the_validator() {
        for bad in ["", "a b", "a\"b", "tok,en", "é"] {
            assert_eq!(
                guard(Validation::Invalid, None)
                    .check(bad)
                    .await
                    .unwrap_err()
                    .code(),
                ErrorCode::InvalidAccessToken
            );
        }
    }

    /// Remembers every token, with its one verdict; asking it fails.
    struct Remembers(Validation);

    impl TokenValidator for Remembers {
        fn validate<'a>(&'a self, _: &'a str) -> ValidationFuture<'a> {
            Box::pin(async { Err(ApiError::internal("asked instead of remembered")) })
        }

        fn remembered(&self, _: &str) -> Option<Validation> {
            Some(self.0.clone())
        }
    }

    fn remembering(verdict: Validation) -> web::Data<Guard> {
        web::Data::new(Guard::new(
            Arc::new(Remembers(verdict)),
            "hi",
            Scope::default(),
        ))
    }

    async fn extract(guard: web::Data<Guard>, token: &str) -> Result<Authenticated, ApiError> {
        let request = TestRequest::get()
            .uri("/hi")
            .app_data(guard)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_http_request();
        Authenticated::extract(&request).await
    }

    #[actix_web::test]
    async fn a_remembered_token_is_held_to_the_same_rules_without_asking() {
        let ok = claims(&["hi"], "app", Some(now() + 60));
        let admitted = extract(remembering(Validation::Active(ok.clone())), "t")
            .await
            .unwrap();
        assert_eq!(admitted.0, ok);
        for (verdict, refusal) in [
            (
                Validation::Active(claims(&["other"], "app", None)),
                ErrorCode::WrongAudience,
            ),
            (
                Validation::Active(claims(&[], "app", Some(now() - 1))),
                ErrorCode::ExpiredAccessToken,
            ),
            (Validation::Expired, ErrorCode::ExpiredAccessToken),
            (Validation::Invalid, ErrorCode::InvalidAccessToken),
        ] {
            let error = extract(remembering(verdict), "t").await.unwrap_err();
            assert_eq!(error.code(), refusal);
        }
        // Not a b64token: refused before the validator is consulted, remembered or not.
        let error = extract(remembering(Validation::Active(ok)), "t,t")
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidAccessToken);
    }

    #[actix_web::test]
    async fn a_token_not_remembered_is_asked_about() {
        let guard = web::Data::new(guard(Validation::Invalid, None));
        let error = extract(guard, "t").await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidAccessToken);
        let ok = claims(&[], "app", Some(now() + 60));
        let guard = web::Data::new(super::Guard::new(
            Arc::new(Fixed(Validation::Active(ok.clone()))),
            "hi",
            Scope::default(),
        ));
        assert_eq!(extract(guard, "t").await.unwrap().0, ok);
    }

    #[test]
    fn every_byte_is_classified_as_rfc_6750_says() {
        for b in 0..=u8::MAX {
            let expected = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_byte(b), expected, "byte {b:#04x}");
        }
        assert!(is_b64token("eyJh.bGci-_~+/=="));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("ab=c"));
        assert!(!is_b64token(&"a".repeat(4097)));
    }

    #[test]
    fn a_token_comes_from_the_header_or_the_query_never_both() {
        let header = TestRequest::get()
            .uri("/hi")
            .insert_header(("Authorization", "Bearer abc"))
            .to_http_request();
        assert_eq!(bearer_token(&header).unwrap().as_deref(), Some("abc"));
        let query = TestRequest::get()
            .uri("/hi?access_token=abc&name=x")
            .to_http_request();
        assert_eq!(bearer_token(&query).unwrap().as_deref(), Some("abc"));
        let both = TestRequest::get()
            .uri("/hi?access_token=abc")
            .insert_header(("Authorization", "bearer abc"))
            .to_http_request();
        assert_eq!(
            bearer_token(&both).unwrap_err().code(),
            ErrorCode::TokenSentTwice
        );
        let twice = TestRequest::get()
            .uri("/hi?access_token=a&access_token=b")
            .to_http_request();
        assert_eq!(
            bearer_token(&twice).unwrap_err().code(),
            ErrorCode::TokenSentTwice
        );
        let basic = TestRequest::get()
            .uri("/hi")
            .insert_header(("Authorization", "Basic ZGV2OjEx"))
            .to_http_request();
        assert_eq!(bearer_token(&basic).unwrap(), None);
        // Found by the authorization_header fuzz target: a header that is not visible ASCII is
        // unreadable whatever its scheme, as `HeaderValue::to_str` made it.
        let unreadable = TestRequest::get()
            .uri("/hi")
            .insert_header((
                "Authorization",
                header::HeaderValue::from_bytes(b"\xc2\x85Basic Z=#=").unwrap(),
            ))
            .to_http_request();
        assert_eq!(
            bearer_token(&unreadable).unwrap_err().code(),
            ErrorCode::InvalidAccessToken
        );
    }
}
