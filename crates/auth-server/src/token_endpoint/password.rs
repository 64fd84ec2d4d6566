//! RFC 6749 §4.3: the resource owner's username and password, exchanged once for tokens.

use std::net::IpAddr;

use shared::{ApiError, Scope, TokenResponse};

use super::{require_confidential, TokenEndpoint};
use crate::accounts::users::Credentials;
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::grant_type::GrantType;
use crate::domain::scope;
use crate::id_token::SignIn;
use crate::issuing::{Grant, Joining, RefreshPlan, Subject};
use crate::openid;
use crate::stores::{ClientStore, TokenStore, UserStore};

impl<S: ClientStore + UserStore + TokenStore> TokenEndpoint<S> {
    pub(super) async fn password(
        &self,
        client: &Client,
        from: Option<IpAddr>,
        username: &str,
        password: &str,
        requested: Option<Scope>,
    ) -> Result<TokenResponse, ApiError> {
        require_confidential(client)?;
        // Scope first, as Spring's request validator did: a doomed request costs no bcrypt work.
        let scope = scope::negotiate(requested, &client.scope)?;
        let credentials = Credentials {
            from,
            username,
            password,
        };
        let user = self.authority.users.sign_in(credentials).await?;
        let grant = Grant {
            client,
            subject: &Subject::user(&user),
            scope: &scope,
            grant_type: GrantType::Password,
        };
        let refresh = if client.allows(GrantType::RefreshToken) {
            RefreshPlan::Issue
        } else {
            RefreshPlan::None
        };
        let issued = self
            .authority
            .issuer
            .mint(&grant, Joining::NewGrant, refresh)?;
        // With `openid`, an ID token too (the user signed in just now), minted before anything is
        // stored: if it cannot be, the user tries again with nothing half issued.
        let sign_in = SignIn::of(Some(&user.username), &scope).map(|sign_in| SignIn {
            auth_time: Some(clock::now()),
            ..sign_in
        });
        let id_token =
            openid::id_token_for(&self.authority, client, &issued.response, sign_in.as_ref())
                .await?;
        let mut response = self.answer_new_grant(issued).await?;
        response.id_token = id_token;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use shared::ErrorCode;

    use super::super::tests::{ask, code_of, endpoint};
    use crate::domain::client::tests::client;
    use crate::domain::grant_type::GrantType;
    use crate::domain::token_value;
    use crate::stores::memory::MemoryStore;

    fn store() -> MemoryStore {
        let store = MemoryStore::default();
        store.add_client(client("dev", |_| {}));
        store.add_client(client("no-refresh", |c| {
            c.grant_types = vec![GrantType::Password];
        }));
        store.add_user("admin", "123456", &["ROLE_ADMIN", "ROLE_USER"]);
        store.add_user("nobody", "123456", &[]);
        store
    }

    fn form<'a>(username: &'a str, password: &'a str) -> [(&'static str, &'a str); 3] {
        [
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ]
    }

    #[tokio::test]
    async fn the_user_gets_tokens_with_its_authorities_and_a_refresh_token_when_allowed() {
        let store = store();
        let endpoint = endpoint(&store);
        let answer = ask(&endpoint, "dev", &form("admin", "123456"))
            .await
            .unwrap();
        let refresh = answer
            .refresh_token
            .expect("dev has the refresh_token grant");
        {
            let state = store.state();
            let access = &state.access[&token_value::hash(&answer.access_token)];
            assert_eq!(access.user_name.as_deref(), Some("admin"));
            assert_eq!(access.authorities, "ROLE_ADMIN,ROLE_USER");
            assert_eq!(
                state.refresh[&token_value::hash(&refresh)].family_id,
                access.family_id
            );
        }
        let without = ask(&endpoint, "no-refresh", &form("admin", "123456"))
            .await
            .unwrap();
        assert_eq!(without.refresh_token, None);
    }

    #[tokio::test]
    async fn a_wrong_password_an_unknown_user_and_a_user_without_authorities_are_bad_credentials() {
        let store = store();
        let endpoint = endpoint(&store);
        for (username, password) in [("admin", "nope"), ("ghost", "123456"), ("nobody", "123456")] {
            let refused = ask(&endpoint, "dev", &form(username, password)).await;
            assert_eq!(code_of(refused), ErrorCode::BadCredentials, "{username}");
        }
        store.state().users.get_mut("admin").unwrap().enabled = false;
        let disabled = ask(&endpoint, "dev", &form("admin", "123456")).await;
        assert_eq!(code_of(disabled), ErrorCode::UserDisabled);
        assert!(store.state().access.is_empty());
    }
}
