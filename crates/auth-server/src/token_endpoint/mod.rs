//! The token endpoint (RFC 6749 §3.2), with no HTTP in sight: the web layer hands over the
//! presented client credentials and the decoded parameters, and gets back a token response or a
//! catalogue error. One file per grant: §4.1.3 (authorization code, with RFC 7636 PKCE), §4.3
//! (password), §4.4 (client_credentials) and §6 (refresh_token); the implicit grant (§4.2) never
//! reaches this endpoint.

mod authorization_code;
mod client_credentials;
mod password;
mod refresh_token;
mod request;

use std::net::IpAddr;

use shared::params::Params;
use shared::{ApiError, ErrorCode, TokenResponse};

use crate::accounts::PresentedClient;
use crate::authority::Authority;
use crate::db::tokens::Stored;
use crate::db::Storage;
use crate::domain::client::Client;
use crate::issuing::Issued;
use crate::stores::{ClientStore, TokenStore, UserStore};
pub use request::{GrantRequest, TOKEN_PARAMS};

pub struct TokenEndpoint<S = Storage> {
    authority: Authority<S>,
}

impl<S: ClientStore + UserStore + TokenStore> TokenEndpoint<S> {
    pub fn new(authority: Authority<S>) -> Self {
        Self { authority }
    }

    /// `POST /oauth/token`, once the request was decoded. `from` is the caller's address, for the
    /// password grant's brute-force limits.
    ///
    /// The order is Spring's: authenticate the client, then read the grant, then check that the
    /// client may use it.
    pub async fn token(
        &self,
        presented: &PresentedClient,
        params: &Params,
        from: Option<IpAddr>,
    ) -> Result<TokenResponse, ApiError> {
        let client = self.authority.clients.authenticate(presented).await?;
        let request = GrantRequest::parse(params)?;
        let grant = request.grant_type();
        if !client.allows(grant) {
            return Err(ApiError::new(ErrorCode::UnauthorizedGrantType).with_arg(grant.as_str()));
        }
        let answer = match request {
            GrantRequest::ClientCredentials { scope } => {
                self.client_credentials(&client, scope).await
            }
            GrantRequest::Password {
                username,
                password,
                scope,
            } => {
                self.password(&client, from, username, password, scope)
                    .await
            }
            GrantRequest::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh_token(&client, refresh_token, scope).await,
            GrantRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.authorization_code(client, code, redirect_uri, code_verifier)
                    .await
            }
        };
        if answer.is_ok() {
            crate::metrics::token_issued(grant.as_str());
        }
        answer
    }

    /// Stores the tokens of a fresh grant and answers with them. A new grant has nothing that
    /// could have been revoked.
    async fn answer_new_grant(&self, issued: Issued) -> Result<TokenResponse, ApiError> {
        match self.authority.store.store_tokens(issued.tokens).await? {
            Stored::Stored => Ok(issued.response),
            refused => Err(ApiError::internal(format!(
                "a new grant was refused: {refused:?}"
            ))),
        }
    }
}

/// Grants that only a client able to keep a secret may use.
fn require_confidential(client: &Client) -> Result<(), ApiError> {
    if client.is_public() {
        return Err(ApiError::new(ErrorCode::PublicClientNotAllowed));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    //! What the grants' unit tests share: an endpoint on the in-memory stores.

    use super::*;
    use crate::authority::tests::in_memory;
    use crate::settings::Settings;
    use crate::stores::memory::MemoryStore;

    pub fn endpoint_with(
        store: &MemoryStore,
        change: impl FnOnce(&mut Settings),
    ) -> TokenEndpoint<MemoryStore> {
        let mut settings = Settings::defaults();
        change(&mut settings);
        TokenEndpoint::new(in_memory(store, &settings))
    }

    pub fn endpoint(store: &MemoryStore) -> TokenEndpoint<MemoryStore> {
        endpoint_with(store, |_| {})
    }

    /// A form as the token endpoint decodes it.
    pub fn params(form: &[(&str, &str)]) -> Params {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        Params::parse(body.as_bytes(), TOKEN_PARAMS).unwrap()
    }

    /// The answer of a request by the confidential client `client` with `form`.
    pub async fn ask(
        endpoint: &TokenEndpoint<MemoryStore>,
        client: &str,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, ApiError> {
        let mut all = vec![("client_id", client), ("client_secret", "s3cret")];
        all.extend_from_slice(form);
        let params = params(&all);
        let presented = PresentedClient::from_request(None, &params)?;
        endpoint.token(&presented, &params, None).await
    }

    pub fn code_of(result: Result<TokenResponse, ApiError>) -> ErrorCode {
        result.expect_err("refused").code()
    }

    #[tokio::test]
    async fn a_grant_the_client_does_not_have_is_unauthorized_client() {
        let store = MemoryStore::default();
        store.add_client(crate::domain::client::tests::client("narrow", |c| {
            c.grant_types = vec![crate::domain::grant_type::GrantType::Password];
        }));
        let refused = ask(
            &endpoint(&store),
            "narrow",
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(code_of(refused), ErrorCode::UnauthorizedGrantType);
    }

    #[tokio::test]
    async fn a_wrong_secret_is_refused_before_the_grant_is_read() {
        let store = MemoryStore::default();
        store.add_client(crate::domain::client::tests::client("dev", |_| {}));
        let params = params(&[
            ("client_id", "dev"),
            ("client_secret", "nope"),
            ("grant_type", "magic"),
        ]);
        let presented = PresentedClient::from_request(None, &params).unwrap();
        let refused = endpoint(&store).token(&presented, &params, None).await;
        assert_eq!(code_of(refused), ErrorCode::BadClientCredentials);
    }
}
