//! Whether the user must be asked, and remembering what they answered, as Spring's
//! `ApprovalStoreUserApprovalHandler` did: decisions are kept per scope for one calendar month.

use shared::{ApiError, Scope};

use super::{AuthorizationEndpoint, AuthorizationRequest};
use crate::domain::client::Client;
use crate::domain::clock;
use crate::stores::{ApprovalStore, ClientStore, TokenStore, UserStore};

impl<S: ClientStore + UserStore + TokenStore + ApprovalStore> AuthorizationEndpoint<S> {
    /// Whether the user need not be asked: the client auto-approves these scopes, or the user
    /// approved every one of them before and the approvals have not expired.
    pub(super) async fn is_preapproved(
        &self,
        request: &AuthorizationRequest,
        client: &Client,
        username: &str,
    ) -> Result<bool, ApiError> {
        let scope = request.scope();
        if client.auto_approves(&scope) {
            return Ok(true);
        }
        let approved = self
            .authority
            .store
            .approved_scopes(username, &client.client_id, clock::now())
            .await?;
        Ok(!scope.is_empty() && scope.iter().all(|s| approved.iter().any(|a| a == s)))
    }

    /// Remembers the user's decision on each requested scope for a month.
    pub(super) async fn remember(
        &self,
        request: &AuthorizationRequest,
        username: &str,
        approved: &Scope,
    ) -> Result<(), ApiError> {
        let now = clock::now();
        let decisions = request
            .scope
            .iter()
            .map(|s| (s.clone(), approved.contains(s)))
            .collect();
        self.authority
            .store
            .save_approvals(
                username,
                &request.client_id,
                decisions,
                clock::one_month_later(now),
                now,
            )
            .await?;
        Ok(())
    }
}
