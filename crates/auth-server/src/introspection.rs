//! What a token stands for, read from the store: the answer behind Spring's `/oauth/check_token`,
//! RFC 7662 introspection and the auth server's own resource guard.

use std::sync::Arc;

use shared::guard::{TokenClaims, TokenValidator, Validation, ValidationFuture};
use shared::Scope;

use crate::db::tokens::{self, AccessTokenRecord, RefreshTokenRecord};
use crate::db::{AccessTokenLookups, DbConnection, Store, StoreError};
use crate::domain::client::{comma_list, Client};
use crate::domain::clock;
use crate::domain::token_value;

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

pub fn access_token(store: &Store, value: &str) -> Result<Inspection, StoreError> {
    let mut conn = store.conn()?;
    for key in token_value::stored_keys(value) {
        if let Some(found) = tokens::find_access(&mut conn, &key)? {
            return Ok(judge_access(Some(found)));
        }
    }
    Ok(Inspection::Unknown)
}

/// An access token from the batched lookups; the calling task waits without holding a thread.
pub async fn access_token_batched(
    lookups: &AccessTokenLookups,
    value: &str,
) -> Result<Inspection, StoreError> {
    for key in token_value::stored_keys(value) {
        if let Some(found) = lookups.find(key).await? {
            return Ok(judge_access(Some(found)));
        }
    }
    Ok(Inspection::Unknown)
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

pub fn refresh_token(store: &Store, value: &str) -> Result<Inspection, StoreError> {
    let found = find_refresh_by_value(&mut *store.conn()?, value)?;
    Ok(match found {
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
    })
}

/// The refresh token `value` stands for, under whichever of its keys it is stored.
pub fn find_refresh_by_value(
    conn: &mut DbConnection,
    value: &str,
) -> Result<Option<RefreshTokenRecord>, StoreError> {
    for key in token_value::stored_keys(value) {
        if let Some(found) = tokens::find_refresh(conn, &key)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Who may introspect (`introspection.authorities` and `introspection.clients`).
#[derive(Debug, Clone)]
pub struct IntrospectionPolicy {
    authorities: Vec<String>,
    clients: Vec<String>,
}

impl IntrospectionPolicy {
    pub fn new(authorities: &str, clients: &str) -> Self {
        Self {
            authorities: comma_list(Some(authorities)),
            clients: comma_list(Some(clients)),
        }
    }

    pub fn allows(&self, client: &Client) -> bool {
        self.clients.contains(&client.client_id)
            || client
                .authorities
                .iter()
                .any(|a| self.authorities.contains(a))
    }
}

/// The auth server's own guard asks its store through the batched lookups.
pub struct LocalValidator {
    lookups: Arc<AccessTokenLookups>,
}

impl LocalValidator {
    pub fn new(lookups: Arc<AccessTokenLookups>) -> Arc<Self> {
        Arc::new(Self { lookups })
    }
}

impl TokenValidator for LocalValidator {
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
        Box::pin(async move {
            Ok(match access_token_batched(&self.lookups, token).await? {
                Inspection::Active(active) => Validation::Active(Arc::new(active.claims)),
                Inspection::Expired => Validation::Expired,
                Inspection::Unknown => Validation::Invalid,
            })
        })
    }
}
