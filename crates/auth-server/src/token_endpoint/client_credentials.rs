//! RFC 6749 §4.4: the client acts on its own behalf, with its own authorities.

use shared::{ApiError, Scope, TokenResponse};

use super::{require_confidential, TokenEndpoint};
use crate::domain::client::Client;
use crate::domain::grant_type::GrantType;
use crate::domain::scope;
use crate::issuing::{Grant, Joining, RefreshPlan, Subject};
use crate::stores::{ClientStore, TokenStore, UserStore};

impl<S: ClientStore + UserStore + TokenStore> TokenEndpoint<S> {
    pub(super) async fn client_credentials(
        &self,
        client: &Client,
        requested: Option<Scope>,
    ) -> Result<TokenResponse, ApiError> {
        require_confidential(client)?;
        let scope = scope::negotiate(requested, &client.scope)?;
        let grant = Grant {
            client,
            subject: &Subject::client(client),
            scope: &scope,
            grant_type: GrantType::ClientCredentials,
        };
        // §4.4.3: a refresh token SHOULD NOT be included; the client can simply ask again.
        let issued = self
            .authority
            .issuer
            .mint(&grant, Joining::NewGrant, RefreshPlan::None)?;
        self.answer_new_grant(issued).await
    }
}

#[cfg(test)]
mod tests {
    use shared::ErrorCode;

    use super::super::tests::{ask, code_of, endpoint};
    use crate::domain::client::tests::client;
    use crate::domain::secret::StoredSecret;
    use crate::domain::token_value;
    use crate::stores::memory::MemoryStore;

    #[tokio::test]
    async fn the_client_gets_a_token_of_its_own_with_no_refresh_token() {
        let store = MemoryStore::default();
        store.add_client(client("svc", |c| c.authorities = vec!["ROLE_SVC".into()]));
        let answer = ask(
            &endpoint(&store),
            "svc",
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await
        .unwrap();
        assert_eq!(answer.scope, "read");
        assert_eq!(answer.refresh_token, None);
        let state = store.state();
        let stored = &state.access[&token_value::hash(&answer.access_token)];
        assert_eq!(stored.user_name, None);
        assert_eq!(stored.authorities, "ROLE_SVC");
        assert_eq!(stored.grant_type, "client_credentials");
        assert!(
            state.families.is_empty(),
            "a lone token needs no family row"
        );
    }

    #[tokio::test]
    async fn a_public_client_or_a_scope_beyond_the_registration_gets_nothing() {
        let store = MemoryStore::default();
        store.add_client(client("svc", |_| {}));
        store.add_client(client("spa", |c| c.secret = StoredSecret::Absent));
        let endpoint = endpoint(&store);
        let wider = ask(
            &endpoint,
            "svc",
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        )
        .await;
        assert_eq!(code_of(wider), ErrorCode::InvalidScope);
        let params = super::super::tests::params(&[
            ("client_id", "spa"),
            ("grant_type", "client_credentials"),
        ]);
        let presented = crate::accounts::PresentedClient::from_request(None, &params).unwrap();
        let public = endpoint.token(&presented, &params, None).await;
        assert_eq!(code_of(public), ErrorCode::PublicClientNotAllowed);
        assert!(store.state().access.is_empty());
    }
}
