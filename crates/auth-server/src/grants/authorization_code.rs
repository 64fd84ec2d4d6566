//! RFC 6749 §4.1.3: an authorization code exchanged for tokens, with RFC 7636 PKCE.
//!
//! The code is consumed before anything else is checked: whatever goes wrong afterwards (a wrong
//! verifier, another client, another redirect URI), it cannot be tried again. A code presented a
//! second time revokes every token issued with it (§4.1.2, SECURITY.md item 6).

use shared::{ApiError, ErrorCode, Scope, TokenResponse};

use super::issue::{Family, Issued, Subject};
use super::TokenService;
use crate::db::codes::{self, CodeRecord};
use crate::db::{tokens, users, write_transaction};
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::grant_type::GrantType;
use crate::domain::pkce::{self, Challenge, Method};
use crate::domain::token_value;

/// How a code exchange ended, as its one transaction commits.
enum Exchange {
    Unknown,
    Replayed(CodeRecord),
    /// Consumed but refused; the code stays burnt.
    Refused(ApiError),
    Issued(Box<Issued>),
}

impl TokenService {
    /// Consuming the code, checking the request against it and storing the tokens happen in one
    /// transaction: concurrent exchanges of one code wait for it, then find the code used, so
    /// exactly one of them succeeds (and the others revoke what it got, as replays do).
    pub(super) fn authorization_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, ApiError> {
        let code_id = token_value::hash(code);
        let now = clock::now();
        let exchange = write_transaction(&mut *self.conn()?, |conn| {
            let claimed = codes::claim(conn, &code_id, now)?;
            let record = match (codes::find(conn, &code_id)?, claimed) {
                (None, _) => return Ok(Exchange::Unknown),
                (Some(record), false) => return Ok(Exchange::Replayed(record)),
                (Some(record), true) => record,
            };
            if let Err(refused) = check(&record, client, redirect_uri, verifier, now) {
                return Ok(Exchange::Refused(refused));
            }
            let Some(user) = users::find(conn, &record.user_name)?
                .filter(|u| u.enabled && !u.authorities.is_empty())
            else {
                return Ok(Exchange::Refused(ApiError::new(
                    ErrorCode::InvalidAuthorizationCode,
                )));
            };
            let issued = self.mint(
                Family::Existing(&record.family_id),
                client,
                &Subject {
                    user_name: Some(user.username),
                    authorities: user.authorities,
                },
                &Scope::from_comma_list(&record.scope),
                GrantType::AuthorizationCode,
                client.allows(GrantType::RefreshToken),
            );
            if !issued.store(conn)? {
                // The family was revoked while the code was still unused: nothing to give.
                return Ok(Exchange::Refused(ApiError::new(
                    ErrorCode::InvalidAuthorizationCode,
                )));
            }
            Ok(Exchange::Issued(Box::new(issued)))
        })?;
        match exchange {
            Exchange::Issued(issued) => Ok(issued.response()),
            Exchange::Refused(error) => Err(error),
            Exchange::Unknown => Err(ApiError::new(ErrorCode::InvalidAuthorizationCode)),
            Exchange::Replayed(record) => {
                let revoked = tokens::revoke_family(&mut *self.conn()?, &record.family_id, now)?;
                log::warn!(
                    "client {}: an authorization code was presented again; revoked {revoked} tokens issued with it",
                    record.client_id
                );
                Err(ApiError::new(ErrorCode::AuthorizationCodeReplayed))
            }
        }
    }
}

/// Everything the request must agree on with the code, checked once the code is consumed.
fn check(
    record: &CodeRecord,
    client: &Client,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: i64,
) -> Result<(), ApiError> {
    if record.expires_at <= now {
        return Err(ApiError::new(ErrorCode::ExpiredAuthorizationCode));
    }
    if record.client_id != client.client_id {
        return Err(ApiError::new(ErrorCode::CodeIssuedToAnotherClient));
    }
    check_redirect_uri(record, client, redirect_uri)?;
    check_pkce(record, client, verifier)
}

/// §4.1.3: identical to the authorization request's, when it named one. When it relied on the one
/// registered URI, a `redirect_uri` sent now must still be a registered one.
fn check_redirect_uri(
    record: &CodeRecord,
    client: &Client,
    given: Option<&str>,
) -> Result<(), ApiError> {
    let matches = match (&record.redirect_uri, given) {
        (Some(original), Some(given)) => original == given,
        (Some(_), None) => false,
        (None, Some(given)) => client.redirect_uris.iter().any(|r| r == given),
        (None, None) => true,
    };
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::RedirectUriMismatch))
    }
}

/// RFC 7636 §4.6, and its downgrade: a verifier for a code that had no challenge is refused.
fn check_pkce(
    record: &CodeRecord,
    client: &Client,
    verifier: Option<&str>,
) -> Result<(), ApiError> {
    let challenge = match (&record.code_challenge, &record.code_challenge_method) {
        (Some(value), method) => Some(Challenge {
            value: value.clone(),
            method: method
                .as_deref()
                .and_then(Method::parse)
                .unwrap_or(Method::Plain),
        }),
        (None, _) => None,
    };
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(&challenge, verifier) => Ok(()),
        (Some(_), _) => Err(ApiError::new(ErrorCode::PkceVerificationFailed)),
        (None, Some(_)) => Err(ApiError::new(ErrorCode::UnexpectedCodeVerifier)),
        // Public clients were made to send a challenge; this only guards against old rows.
        (None, None) if client.is_public() => Err(ApiError::new(ErrorCode::PkceVerificationFailed)),
        (None, None) => Ok(()),
    }
}
