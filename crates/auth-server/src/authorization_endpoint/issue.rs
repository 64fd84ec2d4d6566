//! What an approved authorization request issues (RFC 6749 §4.1.2, §4.2.2; OpenID Connect Core
//! §3.2.2.5): a code, or (implicit) an access token, an ID token or both, never a refresh token.

use shared::{ApiError, ErrorCode, Scope};

use super::{AuthorizationEndpoint, AuthorizationRequest, Decision, ResponseType};
use crate::db::tokens::Stored;
use crate::domain::client::Client;
use crate::domain::grant_type::GrantType;
use crate::domain::user::User;
use crate::id_token::SignIn;
use crate::issuing::{CodeGrant, Grant, Joining, RefreshPlan, Subject};
use crate::openid;
use crate::stores::{ApprovalStore, ClientStore, TokenStore, UserStore};

impl<S: ClientStore + UserStore + TokenStore + ApprovalStore> AuthorizationEndpoint<S> {
    /// Issues what the request asked for, for `user` (signed in at `auth_time`) and the
    /// `approved` scope.
    pub(super) async fn issue(
        &self,
        request: &AuthorizationRequest,
        client: &Client,
        user: &User,
        approved: &Scope,
        auth_time: i64,
    ) -> Decision {
        if approved.is_empty() {
            return request.error_redirect(&ApiError::new(ErrorCode::AccessDenied));
        }
        // The user may have unticked `openid` on the approval page: no ID token can be had then.
        if request.response_type.has_id_token() && !approved.contains("openid") {
            return request.error_redirect(&ApiError::new(ErrorCode::AccessDenied));
        }
        let approval = Approval {
            request,
            client,
            user,
            scope: approved,
            auth_time,
        };
        let issued = match request.response_type {
            ResponseType::Code => self.issue_code(approval).await,
            _ => self.issue_implicit(approval).await,
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
            nonce: request.nonce.clone(),
            auth_time: approval.auth_time,
        });
        self.authority.store.store_code(code.record).await?;
        Ok(request.redirect(&[("code", &code.value)]))
    }

    /// §4.2.2: no refresh token, and never in the query. With `id_token`, an ID token too (or
    /// alone), bound to the access token by `at_hash`.
    async fn issue_implicit(&self, approval: Approval<'_>) -> Result<Decision, ApiError> {
        let request = approval.request;
        let mut params: Vec<(&str, String)> = Vec::new();
        let mut access_token = None;
        if request.response_type.has_access_token() {
            let token = self.issue_access_token(approval).await?;
            params.push(("access_token", token.access_token.clone()));
            params.push(("token_type", token.token_type.clone()));
            if let Some(expires_in) = token.expires_in {
                params.push(("expires_in", expires_in.to_string()));
            }
            // Required only when it differs from what was asked.
            if approval.scope != &request.scope() {
                params.push(("scope", token.scope.clone()));
            }
            access_token = Some(token.access_token);
        }
        if request.response_type.has_id_token() {
            let sign_in = SignIn {
                username: approval.user.username.clone(),
                scope: approval.scope.clone(),
                auth_time: Some(approval.auth_time),
                nonce: request.nonce.clone(),
            };
            let id_token = openid::id_token(
                &self.authority,
                approval.client,
                &sign_in,
                access_token.as_deref(),
            )
            .await?;
            params.push(("id_token", id_token));
        }
        let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        Ok(request.redirect(&params))
    }

    async fn issue_access_token(
        &self,
        approval: Approval<'_>,
    ) -> Result<shared::TokenResponse, ApiError> {
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
        crate::metrics::token_issued(GrantType::Implicit.as_str());
        Ok(issued.response)
    }
}

/// A request the user approved (or that needed no approval), and for what.
#[derive(Clone, Copy)]
struct Approval<'a> {
    request: &'a AuthorizationRequest,
    client: &'a Client,
    user: &'a User,
    scope: &'a Scope,
    auth_time: i64,
}
