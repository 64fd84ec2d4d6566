//! RFC 6749 §6: a refresh token exchanged for a new access token.
//!
//! By default the refresh token is kept (Spring's `reuseRefreshToken`). With rotation on, and
//! always for a public client, each refresh burns the presented token and returns a new one; a
//! burnt token presented again means it leaked, and the whole grant is revoked (RFC 9700 §4.14.2).

use shared::{ApiError, ErrorCode, Scope, TokenResponse};

use super::TokenEndpoint;
use crate::db::tokens::{RefreshTokenRecord, Stored};
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::grant_type::GrantType;
use crate::id_token::SignIn;
use crate::issuing::{Grant, Joining, RefreshPlan, Subject};
use crate::openid;
use crate::stores::{ClientStore, TokenStore, UserStore};

impl<S: ClientStore + UserStore + TokenStore> TokenEndpoint<S> {
    pub(super) async fn refresh_token(
        &self,
        client: &Client,
        presented: &str,
        requested: Option<Scope>,
    ) -> Result<TokenResponse, ApiError> {
        let record = self
            .authority
            .store
            .refresh_token(presented)
            .await?
            .ok_or(ApiError::new(ErrorCode::InvalidRefreshToken))?;
        if record.client_id != client.client_id {
            return Err(ApiError::new(ErrorCode::WrongClientForRefreshToken));
        }
        if record.rotated_at.is_some() {
            return Err(self.revoke_after_reuse(&record).await);
        }
        if clock::is_expired(record.expires_at, clock::now()) {
            return Err(ApiError::new(ErrorCode::ExpiredRefreshToken));
        }
        // Every check comes before anything is written: a refused request leaves the client's
        // refresh token as it was.
        let granted = Scope::from_comma_list(&record.scope);
        let scope = match requested {
            None => granted,
            Some(narrower) if narrower.is_subset_of(&granted) => narrower,
            Some(_) => return Err(ApiError::new(ErrorCode::ScopeWiderThanGrant)),
        };
        // A client whose registration was narrowed since cannot keep the old scope alive.
        if !scope.is_subset_of(&client.scope) {
            return Err(ApiError::new(ErrorCode::InvalidScope));
        }
        let subject = self.current_subject(client, &record).await?;
        // RFC 9700 §2.2.2: a public client's refresh tokens MUST be rotated (or sender-bound), so
        // a stolen one is found out at its next use; whatever the settings say.
        let rotate = client.is_public()
            || client
                .rotate_refresh_tokens()
                .unwrap_or(self.authority.issuer.rotates_by_default());
        let plan = if rotate {
            RefreshPlan::Rotate { record: &record }
        } else {
            RefreshPlan::Keep {
                value: presented,
                record: &record,
            }
        };
        let grant = Grant {
            client,
            subject: &subject,
            scope: &scope,
            grant_type: GrantType::RefreshToken,
        };
        let issued =
            self.authority
                .issuer
                .mint(&grant, Joining::Family(&record.family_id), plan)?;
        // OIDC Core §12.2: a refresh that keeps `openid` gets a fresh ID token, without `nonce`;
        // minted before anything is stored, so a failure leaves the refresh token as it was.
        let sign_in = SignIn::of(record.user_name.as_deref(), &scope);
        let id_token =
            openid::id_token_for(&self.authority, client, &issued.response, sign_in.as_ref())
                .await?;
        match self.authority.store.store_tokens(issued.tokens).await? {
            Stored::Stored => Ok(TokenResponse {
                id_token,
                ..issued.response
            }),
            // Revoked between our read and our write.
            Stored::FamilyRevoked | Stored::RefreshGone => {
                Err(ApiError::new(ErrorCode::InvalidRefreshToken))
            }
            // Another request rotated it between our read and our write: the same token was
            // presented twice.
            Stored::AlreadyRotated => Err(self.revoke_after_reuse(&record).await),
        }
    }

    /// Who the new token speaks for now: a user must still exist and be enabled, and gets the
    /// authorities it has today, as Spring's refresh re-read the user.
    async fn current_subject(
        &self,
        client: &Client,
        record: &RefreshTokenRecord,
    ) -> Result<Subject, ApiError> {
        let Some(username) = &record.user_name else {
            return Ok(Subject::client(client));
        };
        let user = self
            .authority
            .store
            .user(username)
            .await?
            .filter(|u| !u.authorities.is_empty())
            .ok_or(ApiError::new(ErrorCode::InvalidRefreshToken))?;
        if !user.enabled {
            return Err(ApiError::new(ErrorCode::UserDisabled));
        }
        Ok(Subject::user(&user))
    }

    /// Revokes everything of the grant and says why. If the revocation cannot be stored, the
    /// answer is 503, never a claim that it happened.
    async fn revoke_after_reuse(&self, record: &RefreshTokenRecord) -> ApiError {
        match self.authority.store.revoke_family(&record.family_id).await {
            Ok(count) => {
                log::warn!(
                    "client {}: a rotated refresh token was presented again; revoked {count} tokens of its grant",
                    record.client_id
                );
                ApiError::new(ErrorCode::RefreshTokenReused)
            }
            Err(error) => error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared::{ErrorCode, TokenResponse};

    use super::super::tests::{ask, code_of, endpoint, endpoint_with};
    use crate::domain::client::tests::client;
    use crate::domain::token_value;
    use crate::stores::memory::MemoryStore;

    fn store() -> MemoryStore {
        let store = MemoryStore::default();
        store.add_client(client("dev", |_| {}));
        store.add_client(client("other", |_| {}));
        store.add_client(client("rotating", |c| {
            c.additional_information = json!({"rotate_refresh_tokens": true})
                .as_object()
                .unwrap()
                .clone();
        }));
        store.add_user("admin", "123456", &["ROLE_USER"]);
        store
    }

    async fn password_grant(
        endpoint: &super::TokenEndpoint<MemoryStore>,
        client: &str,
    ) -> TokenResponse {
        ask(
            endpoint,
            client,
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "123456"),
            ],
        )
        .await
        .unwrap()
    }

    async fn refresh(
        endpoint: &super::TokenEndpoint<MemoryStore>,
        client: &str,
        token: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, shared::ApiError> {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        ask(endpoint, client, &form).await
    }

    #[tokio::test]
    async fn by_default_the_refresh_token_is_kept_and_a_narrower_scope_granted() {
        let store = store();
        let endpoint = endpoint(&store);
        let first = password_grant(&endpoint, "dev").await;
        let token = first.refresh_token.unwrap();
        let again = refresh(&endpoint, "dev", &token, Some("read"))
            .await
            .unwrap();
        assert_eq!(again.refresh_token.as_deref(), Some(token.as_str()));
        assert_eq!(again.scope, "read");
        assert_ne!(again.access_token, first.access_token);
        let wider = refresh(&endpoint, "dev", &token, Some("app read admin")).await;
        assert_eq!(code_of(wider), ErrorCode::ScopeWiderThanGrant);
    }

    #[tokio::test]
    async fn a_refresh_token_is_bound_to_its_client_and_to_a_user_who_may_still_sign_in() {
        let store = store();
        let endpoint = endpoint(&store);
        let token = password_grant(&endpoint, "dev")
            .await
            .refresh_token
            .unwrap();
        let stolen = refresh(&endpoint, "other", &token, None).await;
        assert_eq!(code_of(stolen), ErrorCode::WrongClientForRefreshToken);
        store.state().users.get_mut("admin").unwrap().enabled = false;
        let disabled = refresh(&endpoint, "dev", &token, None).await;
        assert_eq!(code_of(disabled), ErrorCode::UserDisabled);
        store.state().users.clear();
        let gone = refresh(&endpoint, "dev", &token, None).await;
        assert_eq!(code_of(gone), ErrorCode::InvalidRefreshToken);
        let unknown = refresh(&endpoint, "dev", "no-such-token", None).await;
        assert_eq!(code_of(unknown), ErrorCode::InvalidRefreshToken);
    }

    #[tokio::test]
    async fn rotation_burns_the_token_and_its_reuse_revokes_the_whole_grant() {
        let store = store();
        let endpoint = endpoint(&store);
        let first = password_grant(&endpoint, "rotating").await;
        let old = first.refresh_token.unwrap();
        let rotated = refresh(&endpoint, "rotating", &old, None).await.unwrap();
        let new = rotated.refresh_token.unwrap();
        assert_ne!(new, old);
        let family = store.state().refresh[&token_value::hash(&new)]
            .family_id
            .clone();
        assert_eq!(store.access_tokens_of(&family), 2);
        let replay = refresh(&endpoint, "rotating", &old, None).await;
        assert_eq!(code_of(replay), ErrorCode::RefreshTokenReused);
        assert_eq!(
            store.access_tokens_of(&family),
            0,
            "every token of the grant"
        );
        let after = refresh(&endpoint, "rotating", &new, None).await;
        assert_eq!(code_of(after), ErrorCode::InvalidRefreshToken);
    }

    #[tokio::test]
    async fn the_global_setting_rotates_unless_the_client_says_otherwise() {
        let store = store();
        store.add_client(client("keeps", |c| {
            c.additional_information = json!({"rotate_refresh_tokens": false})
                .as_object()
                .unwrap()
                .clone();
        }));
        let endpoint = endpoint_with(&store, |s| s.tokens.rotate_refresh_tokens = true);
        let token = password_grant(&endpoint, "dev")
            .await
            .refresh_token
            .unwrap();
        let rotated = refresh(&endpoint, "dev", &token, None).await.unwrap();
        assert_ne!(rotated.refresh_token.unwrap(), token);
        let kept = password_grant(&endpoint, "keeps")
            .await
            .refresh_token
            .unwrap();
        let same = refresh(&endpoint, "keeps", &kept, None).await.unwrap();
        assert_eq!(same.refresh_token.unwrap(), kept);
    }

    #[tokio::test]
    async fn a_public_clients_refresh_tokens_always_rotate() {
        let store = store();
        store.add_client(client("spa", |c| {
            c.secret = crate::domain::secret::StoredSecret::Absent;
            c.additional_information = json!({"rotate_refresh_tokens": false})
                .as_object()
                .unwrap()
                .clone();
        }));
        let endpoint = endpoint(&store);
        let issued = stored_refresh_token(&store, "spa").await;
        let ask_as_spa = |token: String| {
            let params = super::super::tests::params(&[
                ("client_id", "spa"),
                ("grant_type", "refresh_token"),
                ("refresh_token", &token),
            ]);
            let endpoint = &endpoint;
            async move {
                let presented =
                    crate::accounts::PresentedClient::from_request(None, &params).unwrap();
                endpoint.token(&presented, &params, None).await
            }
        };
        let rotated = ask_as_spa(issued.clone()).await.unwrap();
        assert_ne!(rotated.refresh_token.as_deref(), Some(issued.as_str()));
        let replay = ask_as_spa(issued).await;
        assert_eq!(code_of(replay), ErrorCode::RefreshTokenReused);
    }

    /// A refresh token of `client` for admin, stored as a code exchange would have stored it.
    async fn stored_refresh_token(store: &MemoryStore, client_id: &str) -> String {
        use crate::issuing::{Grant, Issuer, Joining, RefreshPlan, Subject};
        use crate::stores::{ClientStore, TokenStore, UserStore};
        let client = store.client(client_id).await.unwrap().unwrap();
        let user = store.user("admin").await.unwrap().unwrap();
        let issued = Issuer::new(
            crate::settings::Settings::defaults().tokens,
            crate::issuing::tests::no_keys(),
        )
        .mint(
            &Grant {
                client: &client,
                subject: &Subject::user(&user),
                scope: &client.scope,
                grant_type: crate::domain::grant_type::GrantType::AuthorizationCode,
            },
            Joining::NewGrant,
            RefreshPlan::Issue,
        )
        .unwrap();
        let token = issued.response.refresh_token.clone().unwrap();
        store.store_tokens(issued.tokens).await.unwrap();
        token
    }

    #[tokio::test]
    async fn a_refused_refresh_leaves_the_token_usable() {
        let store = store();
        let endpoint = endpoint(&store);
        let token = password_grant(&endpoint, "rotating")
            .await
            .refresh_token
            .unwrap();
        let wider = refresh(&endpoint, "rotating", &token, Some("admin")).await;
        assert_eq!(code_of(wider), ErrorCode::ScopeWiderThanGrant);
        assert!(refresh(&endpoint, "rotating", &token, None).await.is_ok());
    }
}
