//! RFC 6749 §4.4: the client acts on its own behalf, with its own authorities.

use std::sync::Arc;

use shared::params::Params;
use shared::{ApiError, Scope, TokenResponse};

use super::client_auth::PresentedClient;
use super::issue::{Family, Issued, Subject};
use super::request::GrantRequest;
use super::{require_confidential, scope, TokenService};
use crate::db::BatchWriter;
use crate::domain::client::Client;
use crate::domain::grant_type::GrantType;

/// A client_credentials token minted without touching a database or bcrypt, waiting to be
/// committed. See [`TokenService::client_credentials_in_memory`].
pub struct InMemoryIssue {
    issued: Arc<Issued>,
    writer: Arc<BatchWriter>,
}

impl InMemoryIssue {
    /// Commits the token with the next batch, awaiting it without holding a thread.
    pub async fn commit(self) -> Result<TokenResponse, ApiError> {
        if !self.writer.write_async(self.issued.write()).await? {
            return Err(ApiError::internal("a new family cannot be revoked"));
        }
        Ok(self.issued.response())
    }
}

impl TokenService {
    /// The common case of a busy service client, served on the async worker: the client's
    /// registration and this exact secret are in memory, and the request is valid. Anything else
    /// (`None`) goes the blocking way, which also answers every error.
    pub fn client_credentials_in_memory(
        &self,
        presented: &PresentedClient,
        params: &Params,
    ) -> Option<InMemoryIssue> {
        let client = self.client_from_memory(presented)?;
        let Ok(GrantRequest::ClientCredentials { scope }) = GrantRequest::parse(params) else {
            return None;
        };
        if !client.allows(GrantType::ClientCredentials) || require_confidential(&client).is_err() {
            return None;
        }
        let scope = scope::negotiate(scope, &client.scope).ok()?;
        let issued = self.mint(
            Family::New,
            &client,
            &client_subject(&client),
            &scope,
            GrantType::ClientCredentials,
            false,
        );
        Some(InMemoryIssue {
            issued: Arc::new(issued),
            writer: self.writer.clone(),
        })
    }

    pub(super) fn client_credentials(
        &self,
        client: &Client,
        requested: Option<Scope>,
    ) -> Result<TokenResponse, ApiError> {
        require_confidential(client)?;
        let scope = scope::negotiate(requested, &client.scope)?;
        // §4.4.3: a refresh token SHOULD NOT be included; the client can simply ask again.
        self.issue(
            client,
            &client_subject(client),
            &scope,
            GrantType::ClientCredentials,
            false,
        )
    }
}

/// The client acts for itself, with its own authorities.
fn client_subject(client: &Client) -> Subject {
    Subject {
        user_name: None,
        authorities: client.authorities.clone(),
    }
}
