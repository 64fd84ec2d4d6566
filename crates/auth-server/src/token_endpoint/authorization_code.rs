//! RFC 6749 §4.1.3: an authorization code exchanged for tokens, with RFC 7636 PKCE.
//!
//! The code is consumed before anything else is checked: whatever goes wrong afterwards (a wrong
//! verifier, another client, another redirect URI), it cannot be tried again. A code presented a
//! second time revokes every token issued with it (§4.1.2, docs/security.md, item 6).

use std::sync::Arc;

use shared::{ApiError, ErrorCode, Scope, TokenResponse};

use super::TokenEndpoint;
use crate::db::codes::{CodeRecord, Exchange};
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::grant_type::GrantType;
use crate::domain::pkce::{self, Challenge, Method};
use crate::domain::token_value;
use crate::domain::user::User;
use crate::id_token::SignIn;
use crate::issuing::{Grant, Issued, Issuer, Joining, RefreshPlan, Subject};
use crate::openid;
use crate::stores::{ClientStore, TokenStore, UserStore};

impl<S: ClientStore + UserStore + TokenStore> TokenEndpoint<S> {
    /// Consuming the code, checking the request against it and storing the tokens happen in one
    /// transaction: concurrent exchanges of one code wait for it, then find the code used, so
    /// exactly one of them succeeds (and the others revoke what it got, as replays do).
    pub(super) async fn authorization_code(
        &self,
        client: Arc<Client>,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, ApiError> {
        let now = clock::now();
        let request = CodeRequest {
            client: client.clone(),
            redirect_uri: redirect_uri.map(str::to_owned),
            verifier: verifier.map(str::to_owned),
            issuer: self.authority.issuer.clone(),
            now,
        };
        let exchange = self
            .authority
            .store
            .exchange_code(
                token_value::hash(code),
                now,
                Box::new(move |record, user| request.issue(record, user)),
            )
            .await?;
        match exchange {
            Exchange::Issued(issued) => {
                let sign_in = issued.sign_in.as_ref();
                let id_token =
                    openid::id_token_for(&self.authority, &client, &issued.response, sign_in)
                        .await?;
                Ok(TokenResponse {
                    id_token,
                    ..issued.response
                })
            }
            Exchange::Refused(error) => Err(error),
            // The grant was revoked while the code was still unused: nothing to give.
            Exchange::Unknown | Exchange::GrantRevoked => {
                Err(ApiError::new(ErrorCode::InvalidAuthorizationCode))
            }
            Exchange::Replayed(record) => {
                let revoked = self
                    .authority
                    .store
                    .revoke_family(&record.family_id)
                    .await?;
                log::warn!(
                    "client {}: an authorization code was presented again; revoked {revoked} tokens issued with it",
                    record.client_id
                );
                Err(ApiError::new(ErrorCode::AuthorizationCodeReplayed))
            }
        }
    }
}

/// What the token request says, to be checked against the code once it is consumed.
struct CodeRequest {
    client: Arc<Client>,
    redirect_uri: Option<String>,
    verifier: Option<String>,
    issuer: Issuer,
    now: i64,
}

impl CodeRequest {
    /// The tokens for a consumed code, or why it gets none (the code stays burnt either way).
    fn issue(&self, record: &CodeRecord, user: Option<User>) -> Result<Issued, ApiError> {
        let client = &*self.client;
        check(
            record,
            client,
            self.redirect_uri.as_deref(),
            self.verifier.as_deref(),
            self.now,
        )?;
        let user = user
            .filter(User::may_sign_in)
            .ok_or(ApiError::new(ErrorCode::InvalidAuthorizationCode))?;
        let scope = Scope::from_comma_list(&record.scope);
        let grant = Grant {
            client,
            subject: &Subject::user(&user),
            scope: &scope,
            grant_type: GrantType::AuthorizationCode,
        };
        let refresh = if client.allows(GrantType::RefreshToken) {
            RefreshPlan::Issue
        } else {
            RefreshPlan::None
        };
        let mut issued = self
            .issuer
            .mint(&grant, Joining::Family(&record.family_id), refresh)?;
        issued.sign_in = SignIn::of(Some(&user.username), &scope).map(|sign_in| SignIn {
            auth_time: record.auth_time,
            nonce: record.nonce.clone(),
            ..sign_in
        });
        Ok(issued)
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

#[cfg(test)]
mod tests {
    use shared::{ErrorCode, Scope};

    use super::super::tests::{ask, code_of, endpoint};
    use crate::domain::client::tests::client;
    use crate::domain::pkce;
    use crate::issuing::{CodeGrant, Issuer};
    use crate::settings::Settings;
    use crate::stores::memory::MemoryStore;
    use crate::stores::{TokenStore, UserStore};

    const REDIRECT: &str = "https://app.example/cb";
    /// RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn store() -> MemoryStore {
        let store = MemoryStore::default();
        store.add_client(client("dev", |_| {}));
        store.add_client(client("other", |_| {}));
        store.add_user("admin", "123456", &["ROLE_USER"]);
        store
    }

    /// A code for admin at `dev`, as the authorization endpoint stores it.
    async fn code(store: &MemoryStore, challenge: Option<&str>) -> String {
        let dev = client("dev", |_| {});
        let user = store.user("admin").await.unwrap().unwrap();
        let minted = Issuer::new(
            Settings::defaults().tokens,
            crate::issuing::tests::no_keys(),
        )
        .mint_code(CodeGrant {
            client: &dev,
            user: &user,
            scope: &Scope::parse("app").unwrap(),
            redirect_uri: Some(REDIRECT.into()),
            code_challenge: challenge.map(str::to_owned),
            code_challenge_method: challenge.map(|_| pkce::Method::S256.as_str().to_owned()),
            nonce: None,
            auth_time: 1,
        });
        store.store_code(minted.record).await.unwrap();
        minted.value
    }

    fn form<'a>(code: &'a str, verifier: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        form
    }

    #[tokio::test]
    async fn a_code_gives_tokens_once_and_its_replay_revokes_them() {
        let store = store();
        let endpoint = endpoint(&store);
        let code = code(&store, None).await;
        let answer = ask(&endpoint, "dev", &form(&code, None)).await.unwrap();
        assert!(answer.refresh_token.is_some());
        assert_eq!(answer.scope, "app");
        assert_eq!(store.state().access.len(), 1);
        let replay = ask(&endpoint, "dev", &form(&code, None)).await;
        assert_eq!(code_of(replay), ErrorCode::AuthorizationCodeReplayed);
        assert!(
            store.state().access.is_empty(),
            "what the code gave is revoked"
        );
    }

    #[tokio::test]
    async fn a_mismatch_burns_the_code() {
        for (client_id, redirect, verifier, refusal) in [
            (
                "other",
                REDIRECT,
                Some(VERIFIER),
                ErrorCode::CodeIssuedToAnotherClient,
            ),
            (
                "dev",
                "https://evil.example/cb",
                Some(VERIFIER),
                ErrorCode::RedirectUriMismatch,
            ),
            (
                "dev",
                REDIRECT,
                Some("wrong-verifier-wrong-verifier-wrong-verifier"),
                ErrorCode::PkceVerificationFailed,
            ),
            ("dev", REDIRECT, None, ErrorCode::PkceVerificationFailed),
        ] {
            let store = store();
            let endpoint = endpoint(&store);
            let code = code(&store, Some(CHALLENGE)).await;
            let mut request = form(&code, verifier);
            request[2] = ("redirect_uri", redirect);
            let refused = ask(&endpoint, client_id, &request).await;
            assert_eq!(
                code_of(refused),
                refusal,
                "{client_id} {redirect} {verifier:?}"
            );
            // Burnt: the right request now finds it used.
            let right = ask(&endpoint, "dev", &form(&code, Some(VERIFIER))).await;
            assert_eq!(code_of(right), ErrorCode::AuthorizationCodeReplayed);
        }
    }

    #[tokio::test]
    async fn pkce_s256_verifies_and_a_verifier_without_a_challenge_is_a_downgrade() {
        let store = store();
        let endpoint = endpoint(&store);
        let with = code(&store, Some(CHALLENGE)).await;
        assert!(ask(&endpoint, "dev", &form(&with, Some(VERIFIER)))
            .await
            .is_ok());
        let without = code(&store, None).await;
        let downgrade = ask(&endpoint, "dev", &form(&without, Some(VERIFIER))).await;
        assert_eq!(code_of(downgrade), ErrorCode::UnexpectedCodeVerifier);
    }

    #[tokio::test]
    async fn an_expired_code_or_a_user_who_may_no_longer_sign_in_gets_nothing() {
        let store = store();
        let endpoint = endpoint(&store);
        let old = code(&store, None).await;
        for record in store.state().codes.values_mut() {
            record.expires_at = 0;
        }
        let expired = ask(&endpoint, "dev", &form(&old, None)).await;
        assert_eq!(code_of(expired), ErrorCode::ExpiredAuthorizationCode);
        let fresh = code(&store, None).await;
        store.state().users.get_mut("admin").unwrap().enabled = false;
        let disabled = ask(&endpoint, "dev", &form(&fresh, None)).await;
        assert_eq!(code_of(disabled), ErrorCode::InvalidAuthorizationCode);
        let unknown = ask(&endpoint, "dev", &form("no-such-code", None)).await;
        assert_eq!(code_of(unknown), ErrorCode::InvalidAuthorizationCode);
    }
}
