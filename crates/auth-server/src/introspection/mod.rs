//! What a token stands for, read from the store: the answer behind Spring's `/oauth/check_token`,
//! RFC 7662 introspection, and the auth server's own resource guard ([`LocalValidator`]).
//! Introspection needs an authenticated client that `introspection.*` allows (docs/security.md, item 19).

mod local;

use shared::guard::TokenClaims;
use shared::{ApiError, ErrorCode, Scope};

pub use local::LocalValidator;

use crate::accounts::PresentedClient;
use crate::authority::Authority;
use crate::db::tokens::{AccessTokenRecord, RefreshTokenRecord};
use crate::db::{Storage, StoreError};
use crate::domain::client::{comma_list, Client};
use crate::domain::clock;
use crate::stores::{ClientStore, TokenStore, UserStore};

/// A stored token, found and judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection {
    Active(ActiveToken),
    Expired,
    /// Never issued, revoked, or (for a refresh token) already rotated.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    pub kind: TokenKind,
    pub claims: TokenClaims,
    pub issued_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

fn claims(
    client_id: &str,
    user_name: Option<&str>,
    scope: &str,
    authorities: &str,
    resource_ids: &str,
    expires_at: Option<i64>,
) -> TokenClaims {
    TokenClaims {
        client_id: client_id.to_owned(),
        user_name: user_name.map(str::to_owned),
        scope: Scope::from_comma_list(scope),
        authorities: comma_list(Some(authorities)),
        audience: comma_list(Some(resource_ids)),
        expires_at,
    }
}

fn judge(expires_at: Option<i64>, active: impl FnOnce() -> ActiveToken) -> Inspection {
    if clock::is_expired(expires_at, clock::now()) {
        Inspection::Expired
    } else {
        Inspection::Active(active())
    }
}

fn judge_access(found: Option<AccessTokenRecord>) -> Inspection {
    match found {
        None => Inspection::Unknown,
        Some(AccessTokenRecord {
            client_id,
            user_name,
            scope,
            authorities,
            resource_ids,
            issued_at,
            expires_at,
            ..
        }) => judge(expires_at, || ActiveToken {
            kind: TokenKind::Access,
            claims: claims(
                &client_id,
                user_name.as_deref(),
                &scope,
                &authorities,
                &resource_ids,
                expires_at,
            ),
            issued_at,
        }),
    }
}

fn judge_refresh(found: Option<RefreshTokenRecord>) -> Inspection {
    match found {
        None
        | Some(RefreshTokenRecord {
            rotated_at: Some(_),
            ..
        }) => Inspection::Unknown,
        Some(record) => judge(record.expires_at, || ActiveToken {
            kind: TokenKind::Refresh,
            claims: claims(
                &record.client_id,
                record.user_name.as_deref(),
                &record.scope,
                &record.authorities,
                &record.resource_ids,
                record.expires_at,
            ),
            issued_at: record.issued_at,
        }),
    }
}

/// An access token, found and judged.
pub async fn access_token(store: &impl TokenStore, value: &str) -> Result<Inspection, StoreError> {
    Ok(judge_access(store.access_token(value).await?))
}

/// A token stands for nothing once its client is removed, or its user removed or disabled: its
/// grant ended with them (docs/security.md, item 19). The CLI deletes such tokens at once; this
/// also covers a change made in SQL, or on another replica, within the caches' few seconds.
pub async fn still_held<S: ClientStore + UserStore>(
    authority: &Authority<S>,
    found: Inspection,
) -> Result<Inspection, ApiError> {
    let Inspection::Active(active) = &found else {
        return Ok(found);
    };
    let claims = &active.claims;
    if authority
        .clients
        .clients()
        .find(&claims.client_id)
        .await?
        .is_none()
    {
        return Ok(Inspection::Unknown);
    }
    if let Some(user) = &claims.user_name {
        if !authority.users.is_active(user).await? {
            return Ok(Inspection::Unknown);
        }
    }
    Ok(found)
}

/// Who may introspect (`introspection.authorities` and `introspection.clients`).
#[derive(Debug, Clone)]
pub struct IntrospectionPolicy {
    pub authorities: Vec<String>,
    pub clients: Vec<String>,
}

impl IntrospectionPolicy {
    pub fn allows(&self, client: &Client) -> bool {
        self.clients.contains(&client.client_id)
            || client
                .authorities
                .iter()
                .any(|a| self.authorities.contains(a))
    }
}

/// Which store to look in first (RFC 7662 §2.1 `token_type_hint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Spring's `check_token`: access tokens only.
    AccessOnly,
    AccessFirst,
    RefreshFirst,
}

pub struct Introspection<S = Storage> {
    authority: Authority<S>,
    policy: IntrospectionPolicy,
}

impl<S: ClientStore + UserStore + TokenStore> Introspection<S> {
    pub fn new(authority: Authority<S>, policy: IntrospectionPolicy) -> Self {
        Self { authority, policy }
    }

    /// What `token` stands for, asked by the presented client.
    pub async fn inspect(
        &self,
        presented: &PresentedClient,
        token: &str,
        lookup: Lookup,
    ) -> Result<Inspection, ApiError> {
        let client = self.authority.clients.authenticate(presented).await?;
        // Introspection requires client *authentication*, which a public client, known by its id
        // alone, cannot give.
        if client.is_public() || !self.policy.allows(&client) {
            return Err(ApiError::new(ErrorCode::IntrospectionDenied));
        }
        let found = self.find(token, lookup).await?;
        still_held(&self.authority, found).await
    }

    async fn find(&self, token: &str, lookup: Lookup) -> Result<Inspection, StoreError> {
        let store = &self.authority.store;
        let access = || access_token(store, token);
        let refresh =
            || async { Ok::<_, StoreError>(judge_refresh(store.refresh_token(token).await?)) };
        Ok(match lookup {
            Lookup::AccessOnly => access().await?,
            Lookup::AccessFirst => match access().await? {
                Inspection::Unknown => refresh().await?,
                found => found,
            },
            Lookup::RefreshFirst => match refresh().await? {
                Inspection::Unknown => access().await?,
                found => found,
            },
        })
    }
}
