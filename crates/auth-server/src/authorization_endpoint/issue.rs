//! What an approved authorization request issues (RFC 6749 §4.1.2, §4.2.2): a code for the
//! redirect's query, or (implicit) an access token for its fragment, never a refresh token.

use shared::{ApiError, ErrorCode, Scope};

use super::{AuthorizationEndpoint, AuthorizationRequest, Decision, ResponseType};
use crate::db::tokens::Stored;
use crate::domain::client::Client;
use crate::domain::grant_type::GrantType;
use crate::domain::user::User;
use crate::issuing::{CodeGrant, Grant, Joining, RefreshPlan, Subject};
use crate::stores::{ApprovalStore, ClientStore, TokenStore, UserStore};

impl<S: ClientStore + UserStore + TokenStore + ApprovalStore> AuthorizationEndpoint<S> {
    /// Issues what the request asked for, for `user` and the `approved` scope: a code in the query,
    /// or an access token in the fragment.
    pub(super) async fn issue(
        &self,
        request: &AuthorizationRequest,
        client: &Client,
        user: &User,
        approved: &Scope,
    ) -> Decision {
        if approved.is_empty() {
            return request.error_redirect(&ApiError::new(ErrorCode::AccessDenied));
        }
        let approval = Approval {
            request,
            client,
            user,
            scope: approved,
        };
        let issued = match request.response_type {
            ResponseType::Code => self.issue_code(approval).await,
            ResponseType::Token => self.issue_token(approval).await,
        };
        issued.unwrap_or_else(Decision::ErrorPage)
    }

    async fn issue_code(&self, approval: Approval<'_>) -> Result<Decision, ApiError> {
        let Approval { request, .. } = approval;
        let code = self.authority.issuer.mint_code(CodeGrant {
            client: approval.client,
            user: approval.user,
            scope: approval.scope,
            redirect_uri: request
                .redirect_uri_given
                .then(|| request.redirect_uri.clone()),
            code_challenge: request.code_challenge.clone(),
            code_challenge_method: request.code_challenge_method.clone(),
        });
        self.authority.store.store_code(code.record).await?;
        Ok(request.redirect(&[("code", &code.value)]))
    }

    /// §4.2.2: no refresh token, and only in the fragment.
    async fn issue_token(&self, approval: Approval<'_>) -> Result<Decision, ApiError> {
        let grant = Grant {
            client: approval.client,
            subject: &Subject::user(approval.user),
            scope: approval.scope,
            grant_type: GrantType::Implicit,
        };
        let issued = self
            .authority
            .issuer
            .mint(&grant, Joining::NewGrant, RefreshPlan::None)?;
        if self.authority.store.store_tokens(issued.tokens).await? != Stored::Stored {
            return Err(ApiError::internal("a new grant was refused"));
        }
        let token = issued.response;
        let expires_in = token.expires_in.map(|s| s.to_string());
        let mut params = vec![
            ("access_token", token.access_token.as_str()),
            ("token_type", token.token_type.as_str()),
        ];
        if let Some(expires_in) = &expires_in {
            params.push(("expires_in", expires_in));
        }
        // Required only when it differs from what was asked.
        if approval.scope != &approval.request.scope() {
            params.push(("scope", &token.scope));
        }
        Ok(approval.request.redirect(&params))
    }
}

/// A request the user approved (or that needed no approval), and for what.
#[derive(Clone, Copy)]
struct Approval<'a> {
    request: &'a AuthorizationRequest,
    client: &'a Client,
    user: &'a User,
    scope: &'a Scope,
}
