//! Minting and storing tokens (RFC 6749 §5.1). Values go to the client; only hashes are stored.

use sha2::{Digest, Sha256};
use shared::{ApiError, Scope, TokenResponse};

use super::TokenService;
use crate::db::tokens::{self, AccessTokenRecord, RefreshTokenRecord};
use std::sync::Arc;

use crate::db::{DbConnection, StoreError, Write};
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::grant_type::GrantType;
use crate::domain::token_value;

/// On whose behalf a token acts.
pub struct Subject {
    /// `None` for a client acting for itself.
    pub user_name: Option<String>,
    pub authorities: Vec<String>,
}

/// A token value and the row that stands for it.
pub struct Minted<R> {
    pub value: String,
    pub record: R,
}

/// Which grant family new tokens join.
pub enum Family<'a> {
    /// A fresh authorization: the family is created with the tokens.
    New,
    /// One that exists already, such as an authorization code's: joined only if not revoked.
    Existing(&'a str),
}

/// Tokens minted for one answer, not yet stored.
pub struct Issued {
    family: String,
    family_is_new: bool,
    client_id: String,
    user_name: Option<String>,
    access: Minted<AccessTokenRecord>,
    refresh: Option<Minted<RefreshTokenRecord>>,
    now: i64,
}

impl Issued {
    /// Stores the tokens inside the caller's transaction: creates the family, or locks it and
    /// refuses (`false`) when it was revoked.
    pub fn store(&self, conn: &mut DbConnection) -> Result<bool, StoreError> {
        // Only a grant that can grow later (it has a refresh token) needs the row that refreshes
        // and revocations lock; a lone client_credentials or implicit token is revoked by its id.
        if self.family_is_new && self.refresh.is_some() {
            tokens::create_family(
                conn,
                &self.family,
                &self.client_id,
                self.user_name.as_deref(),
                self.now,
            )?;
        } else if !self.family_is_new && !tokens::lock_family(conn, &self.family, self.now)? {
            return Ok(false);
        }
        if let Some(refresh) = &self.refresh {
            tokens::insert_refresh(conn, &refresh.record)?;
        }
        tokens::insert_access(conn, &self.access.record)?;
        Ok(true)
    }

    /// The write that stores these tokens, for the batch writer.
    pub fn write(self: &Arc<Self>) -> Write {
        if self.family_is_new && self.refresh.is_none() {
            // Nothing to lock, no family row: the kind of write the writer can combine.
            return Write::AccessToken(Box::new(self.access.record.clone()));
        }
        let issued = self.clone();
        Write::Any(Box::new(move |conn| issued.store(conn)))
    }

    pub fn response(&self) -> TokenResponse {
        TokenResponse {
            access_token: self.access.value.clone(),
            token_type: "bearer".to_owned(),
            refresh_token: self.refresh.as_ref().map(|r| r.value.clone()),
            expires_in: self
                .access
                .record
                .expires_at
                .map(|at| (at - self.now).max(0)),
            scope: Scope::from_comma_list(&self.access.record.scope).to_string(),
        }
    }
}

impl TokenService {
    /// A fresh grant: a new family, an access token and, if asked, a refresh token, stored together.
    pub(super) fn issue(
        &self,
        client: &Client,
        subject: &Subject,
        scope: &Scope,
        grant: GrantType,
        with_refresh_token: bool,
    ) -> Result<TokenResponse, ApiError> {
        let issued = Arc::new(self.mint(
            Family::New,
            client,
            subject,
            scope,
            grant,
            with_refresh_token,
        ));
        // Committed with whatever else is being issued right now, before the answer goes out.
        if !self.writer.write(issued.write())? {
            return Err(ApiError::internal("a new family cannot be revoked"));
        }
        Ok(issued.response())
    }

    /// Mints an access token and, if asked, a refresh token for `family`; nothing is stored yet.
    pub(super) fn mint(
        &self,
        family: Family<'_>,
        client: &Client,
        subject: &Subject,
        scope: &Scope,
        grant: GrantType,
        with_refresh_token: bool,
    ) -> Issued {
        let now = clock::now();
        let (family, family_is_new) = match family {
            // Time-ordered, so the family indexes grow at their end instead of everywhere.
            Family::New => (uuid::Uuid::now_v7().to_string(), true),
            Family::Existing(id) => (id.to_owned(), false),
        };
        let refresh =
            with_refresh_token.then(|| self.mint_refresh(client, subject, scope, &family, now));
        let access = self.mint_access(
            client,
            subject,
            scope,
            grant,
            &family,
            refresh.as_ref().map(|r| r.record.token_id.clone()),
            now,
        );
        Issued {
            family,
            family_is_new,
            client_id: client.client_id.clone(),
            user_name: subject.user_name.clone(),
            access,
            refresh,
            now,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn mint_access(
        &self,
        client: &Client,
        subject: &Subject,
        scope: &Scope,
        grant: GrantType,
        family: &str,
        refresh_token_id: Option<String>,
        now: i64,
    ) -> Minted<AccessTokenRecord> {
        let value = token_value::generate(self.policy.format);
        let validity = client
            .access_token_validity
            .unwrap_or(self.policy.access_token_validity);
        let record = AccessTokenRecord {
            token_id: token_value::hash(&value),
            authentication_id: authentication_id(client, subject, scope),
            user_name: subject.user_name.clone(),
            client_id: client.client_id.clone(),
            refresh_token: refresh_token_id,
            family_id: family.to_owned(),
            grant_type: grant.as_str().to_owned(),
            scope: scope.to_comma_list(),
            authorities: subject.authorities.join(","),
            resource_ids: client.resource_ids.join(","),
            issued_at: now,
            expires_at: clock::expiry(now, validity),
        };
        Minted { value, record }
    }

    pub(super) fn mint_refresh(
        &self,
        client: &Client,
        subject: &Subject,
        scope: &Scope,
        family: &str,
        now: i64,
    ) -> Minted<RefreshTokenRecord> {
        let value = token_value::generate(self.policy.format);
        let validity = client
            .refresh_token_validity
            .unwrap_or(self.policy.refresh_token_validity);
        let record = RefreshTokenRecord {
            token_id: token_value::hash(&value),
            family_id: family.to_owned(),
            client_id: client.client_id.clone(),
            user_name: subject.user_name.clone(),
            scope: scope.to_comma_list(),
            authorities: subject.authorities.join(","),
            resource_ids: client.resource_ids.join(","),
            issued_at: now,
            expires_at: clock::expiry(now, validity),
            rotated_at: None,
        };
        Minted { value, record }
    }
}

/// The JSON of RFC 6749 §5.1 in Spring's field order.
pub fn response(
    access: Minted<AccessTokenRecord>,
    refresh_token: Option<String>,
    now: i64,
) -> TokenResponse {
    TokenResponse {
        access_token: access.value,
        token_type: "bearer".to_owned(),
        refresh_token,
        expires_in: access.record.expires_at.map(|at| (at - now).max(0)),
        scope: Scope::from_comma_list(&access.record.scope).to_string(),
    }
}

/// Spring's `authentication_id` was an MD5 of client, user and scope; ours is a SHA-256 of the same.
fn authentication_id(client: &Client, subject: &Subject, scope: &Scope) -> String {
    let mut digest = Sha256::new();
    digest.update(client.client_id.as_bytes());
    digest.update([0]);
    digest.update(subject.user_name.as_deref().unwrap_or_default().as_bytes());
    digest.update([0]);
    digest.update(scope.to_string().as_bytes());
    hex::encode(digest.finalize())
}
