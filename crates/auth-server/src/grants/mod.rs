//! The grants, with no HTTP in sight: RFC 6749 §4.1 (authorization code, with RFC 7636 PKCE),
//! §4.2 (implicit), §4.3 (password), §4.4 (client_credentials) and §6 (refresh_token). The web
//! layer hands over decoded parameters and the presented client credentials, and gets back a token
//! response, a redirect, or a catalogue error.

mod authorization_code;
pub mod authorize;
pub mod client_auth;
mod client_credentials;
pub mod client_directory;
mod issue;
mod password;
mod refresh_token;
mod request;
mod scope;
pub mod user_auth;

use std::net::IpAddr;
use std::sync::Arc;

use shared::{ApiError, ErrorCode, TokenResponse};

pub use client_auth::PresentedClient;
pub use client_credentials::InMemoryIssue;
pub use request::TOKEN_PARAMS;

use crate::db::{BatchWriter, PooledConnection, Store};
use crate::domain::client::Client;
use crate::domain::password::Passwords;
use crate::domain::sign_in_throttle::SignInThrottle;
use crate::domain::user::User;
use crate::settings::TokenSettings;
use client_directory::ClientDirectory;
pub use request::GrantRequest;
use shared::params::Params;

/// Everything a grant needs: storage, the password checker and the token policy.
pub struct TokenService {
    store: Store,
    clients: ClientDirectory,
    /// Where new tokens are written, in batches.
    writer: Arc<BatchWriter>,
    passwords: Arc<Passwords>,
    /// Failed password checks, shared by the password grant and the login form.
    sign_ins: SignInThrottle,
    policy: TokenSettings,
}

impl TokenService {
    pub fn new(
        store: Store,
        clients: ClientDirectory,
        writer: Arc<BatchWriter>,
        passwords: Arc<Passwords>,
        sign_ins: SignInThrottle,
        policy: TokenSettings,
    ) -> Self {
        Self {
            store,
            clients,
            writer,
            passwords,
            sign_ins,
            policy,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// A resource owner's password, from the login form or the password grant. Blocks (database,
    /// bcrypt).
    pub fn authenticate_user(
        &self,
        from: Option<IpAddr>,
        username: &str,
        password: &str,
    ) -> Result<User, ApiError> {
        user_auth::authenticate_user(
            &self.store,
            &self.passwords,
            &self.sign_ins,
            from,
            username,
            password,
        )
    }

    /// `POST /oauth/token`, after the request was decoded. Blocks: run it off the async workers.
    ///
    /// The order is Spring's: authenticate the client, then read the grant, then check that the
    /// client may use it.
    /// `from` is the client's address, for the password grant's brute-force limits.
    pub fn token(
        &self,
        presented: &PresentedClient,
        params: &Params,
        from: Option<IpAddr>,
    ) -> Result<TokenResponse, ApiError> {
        let client = self.authenticate_client(presented)?;
        let request = GrantRequest::parse(params)?;
        let grant = request.grant_type();
        if !client.allows(grant) {
            return Err(ApiError::new(ErrorCode::UnauthorizedGrantType).with_arg(grant.as_str()));
        }
        match request {
            GrantRequest::ClientCredentials { scope } => self.client_credentials(&client, scope),
            GrantRequest::Password {
                username,
                password,
                scope,
            } => self.password(&client, from, username, password, scope),
            GrantRequest::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh_token(&client, refresh_token, scope),
            GrantRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => self.authorization_code(&client, code, redirect_uri, code_verifier),
        }
    }

    /// The client, if its registration and this secret are already in memory; never blocks.
    pub fn client_from_memory(&self, presented: &PresentedClient) -> Option<Arc<Client>> {
        client_auth::authenticate_from_memory(&self.clients, &self.passwords, presented)
    }

    /// RFC 6749 §2.3 client authentication. Blocks (database, bcrypt).
    pub fn authenticate_client(
        &self,
        presented: &PresentedClient,
    ) -> Result<Arc<Client>, ApiError> {
        client_auth::authenticate(&self.clients, &self.passwords, presented)
    }

    fn conn(&self) -> Result<PooledConnection, ApiError> {
        Ok(self.store.conn()?)
    }
}

/// Grants that only a client able to keep a secret may use.
fn require_confidential(client: &Client) -> Result<(), ApiError> {
    if client.is_public() {
        return Err(ApiError::new(ErrorCode::PublicClientNotAllowed));
    }
    Ok(())
}
