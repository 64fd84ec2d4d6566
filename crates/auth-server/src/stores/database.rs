//! The stores on the database: [`Storage`] decides which thread runs each call (see
//! `db/storage.rs`), the repository functions of `db/` do the work.

use super::{ApprovalStore, ClientStore, CodeDecision, Exchanged, TokenStore, UserStore};
use crate::db::codes::{self, CodeRecord};
use crate::db::tokens::{self, AccessTokenRecord, NewTokens, RefreshTokenRecord, Stored};
use crate::db::{approvals, clients, profiles, revocation, users, Storage, StoreError};
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::profile::Profile;
use crate::domain::token_value;
use crate::domain::user::User;

impl ClientStore for Storage {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let client_id = client_id.to_owned();
        self.read(move |conn| clients::find(conn, &client_id)).await
    }
}

impl UserStore for Storage {
    async fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let username = username.to_owned();
        self.read(move |conn| users::find(conn, &username)).await
    }

    async fn profile(&self, username: &str) -> Result<Option<Profile>, StoreError> {
        let username = username.to_owned();
        self.read(move |conn| profiles::find(conn, &username)).await
    }
}

impl TokenStore for Storage {
    async fn store_tokens(&self, new: NewTokens) -> Result<Stored, StoreError> {
        if new.is_lone() {
            self.insert_access(new.access).await?;
            return Ok(Stored::Stored);
        }
        self.write(move |conn| tokens::store(conn, &new)).await
    }

    async fn access_token(&self, value: &str) -> Result<Option<AccessTokenRecord>, StoreError> {
        for key in token_value::stored_keys(value) {
            if let Some(found) = self.find_access(key).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn refresh_token(&self, value: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let value = value.to_owned();
        self.read(move |conn| tokens::find_refresh_by_value(conn, &value))
            .await
    }

    async fn revoke_access_token(&self, token_id: &str) -> Result<bool, StoreError> {
        let token_id = token_id.to_owned();
        self.write(move |conn| revocation::revoke_access_token(conn, &token_id))
            .await
    }

    async fn revoke_family(&self, family_id: &str) -> Result<usize, StoreError> {
        let family_id = family_id.to_owned();
        self.write(move |conn| revocation::revoke_family(conn, &family_id, clock::now()))
            .await
    }

    async fn store_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        self.write(move |conn| codes::store_new(conn, &code)).await
    }

    async fn exchange_code(&self, code: String, now: i64, mut decide: CodeDecision) -> Exchanged {
        self.write(move |conn| codes::exchange(conn, &code, now, &mut decide))
            .await
    }
}

impl ApprovalStore for Storage {
    async fn approved_scopes(
        &self,
        username: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let (username, client_id) = (username.to_owned(), client_id.to_owned());
        self.read(move |conn| approvals::approved_scopes(conn, &username, &client_id, now))
            .await
    }

    async fn save_approvals(
        &self,
        username: &str,
        client_id: &str,
        decisions: Vec<(String, bool)>,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let (username, client_id) = (username.to_owned(), client_id.to_owned());
        self.write(move |conn| {
            approvals::save(conn, &username, &client_id, &decisions, expires_at, now)
        })
        .await
    }
}
