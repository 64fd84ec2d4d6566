//! Access and refresh tokens, stored by the SHA-256 of their value.
//!
//! A "family" is everything descending from one authorization: the first tokens of a grant and
//! every token a refresh later derived from them. Revoking a family revokes all of it.
//!
//! Every transaction that adds to a family starts with [`lock_family`], and revocation starts by
//! marking the family row: on PostgreSQL the row lock orders them, on SQLite `BEGIN IMMEDIATE`
//! does. So a revocation's deletes always see tokens a concurrent refresh committed, and nothing can
//! join a family once it is revoked.

use diesel::prelude::*;

use super::schema::{
    oauth_access_token as access, oauth_refresh_token as refresh, oauth_token_family as family,
};
use super::{DbConnection, StoreError};
use crate::domain::token_value;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = access)]
// None binds NULL (no column has another default): the INSERT is then the same SQL for every
// token, a statement diesel prepares once and finds by its type.
#[diesel(treat_none_as_default_value = false)]
pub struct AccessTokenRecord {
    pub token_id: String,
    /// Spring's key column: a hash of (client, user, scope), kept for operators' queries.
    pub authentication_id: String,
    pub user_name: Option<String>,
    pub client_id: String,
    /// Hash of the refresh token issued alongside, if any.
    pub refresh_token: Option<String>,
    pub family_id: String,
    pub grant_type: String,
    /// Comma lists, as Spring's columns.
    pub scope: String,
    pub authorities: String,
    pub resource_ids: String,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh)]
#[diesel(treat_none_as_default_value = false)]
pub struct RefreshTokenRecord {
    pub token_id: String,
    pub family_id: String,
    pub client_id: String,
    pub user_name: Option<String>,
    pub scope: String,
    pub authorities: String,
    pub resource_ids: String,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    /// Set when a rotation replaced this token; presenting it again is reuse.
    pub rotated_at: Option<i64>,
}

/// The grant family an answer's tokens belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyRef {
    /// A fresh authorization. Its row is created only when the grant can grow later (it has a
    /// refresh token); a lone client_credentials or implicit token is revoked by its own id.
    New {
        family_id: String,
        client_id: String,
        user_name: Option<String>,
    },
    /// One that exists already (an authorization code's, a refresh token's): joined only while it
    /// is not revoked.
    Existing(String),
}

/// What an answer does to refresh tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshChange {
    None,
    /// A first refresh token for the grant.
    Insert(RefreshTokenRecord),
    /// The presented refresh token stays (Spring's `reuseRefreshToken`); it must still exist.
    Keep {
        token_id: String,
    },
    /// The presented one is burnt and replaced; only one concurrent rotation can win.
    Rotate {
        replaces: String,
        next: RefreshTokenRecord,
    },
}

/// Everything one token answer writes, stored together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokens {
    pub family: FamilyRef,
    pub refresh: RefreshChange,
    pub access: AccessTokenRecord,
    pub now: i64,
}

impl NewTokens {
    /// An access token that needs nothing locked and nothing else written: the kind the batch
    /// writer stores together with the others of its batch.
    pub fn is_lone(&self) -> bool {
        matches!(self.family, FamilyRef::New { .. }) && self.refresh == RefreshChange::None
    }
}

/// How storing [`NewTokens`] ended; anything but `Stored` wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Stored,
    /// The grant was revoked since the request read it.
    FamilyRevoked,
    /// Another request rotated the presented refresh token first: it was presented twice.
    AlreadyRotated,
    /// The refresh token to keep was revoked since it was read.
    RefreshGone,
}

/// The one write path of every grant, inside the caller's transaction. Every transaction that adds
/// to a family locks it first, so a revocation never misses what a concurrent refresh commits.
pub fn store(conn: &mut DbConnection, new: &NewTokens) -> Result<Stored, StoreError> {
    match &new.family {
        FamilyRef::New {
            family_id,
            client_id,
            user_name,
        } => {
            if new.refresh != RefreshChange::None {
                create_family(conn, family_id, client_id, user_name.as_deref(), new.now)?;
            }
        }
        FamilyRef::Existing(family_id) => {
            if !lock_family(conn, family_id, new.now)? {
                return Ok(Stored::FamilyRevoked);
            }
        }
    }
    match &new.refresh {
        RefreshChange::None => {}
        RefreshChange::Insert(record) => insert_refresh(conn, record)?,
        RefreshChange::Keep { token_id } => {
            if find_refresh(conn, token_id)?.is_none() {
                return Ok(Stored::RefreshGone);
            }
        }
        RefreshChange::Rotate { replaces, next } => {
            if !claim_for_rotation(conn, replaces, new.now)? {
                return Ok(Stored::AlreadyRotated);
            }
            insert_refresh(conn, next)?;
        }
    }
    insert_access(conn, &new.access)?;
    Ok(Stored::Stored)
}

/// Registers a new family; call inside the transaction that stores its first tokens or code.
pub fn create_family(
    conn: &mut DbConnection,
    family_id: &str,
    client_id: &str,
    user_name: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    diesel::insert_into(family::table)
        .values((
            family::family_id.eq(family_id),
            family::client_id.eq(client_id),
            family::user_name.eq(user_name),
            family::created_at.eq(now),
            family::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn family_exists(conn: &mut DbConnection, family_id: &str) -> Result<bool, StoreError> {
    Ok(family::table
        .find(family_id)
        .select(family::family_id)
        .get_result::<String>(conn)
        .optional()?
        .is_some())
}

/// Locks a family for the rest of the transaction. `false`: it was revoked (or never existed), and
/// nothing may be added to it.
pub fn lock_family(conn: &mut DbConnection, family_id: &str, now: i64) -> Result<bool, StoreError> {
    let locked = diesel::update(
        family::table
            .find(family_id)
            .filter(family::revoked_at.is_null()),
    )
    .set(family::updated_at.eq(now))
    .execute(conn)?;
    Ok(locked == 1)
}

/// Runs `$query` on the backend's own connection. Through the `DbConnection` enum (diesel's
/// `MultiConnection`) a query's type is erased, so diesel finds its cached prepared statement by
/// building its SQL text every time: that was 17% of the CPU of issuing a token on SQLite. On the
/// backend's connection the statement is found by the query's type.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $query:expr) => {
        match $conn {
            DbConnection::Sqlite($c) => $query,
            DbConnection::Pg($c) => $query,
        }
    };
}

pub fn insert_access(
    conn: &mut DbConnection,
    record: &AccessTokenRecord,
) -> Result<(), StoreError> {
    on_backend!(conn, |c| diesel::insert_into(access::table)
        .values(record)
        .execute(c))?;
    Ok(())
}

/// Several access tokens: one statement on PostgreSQL; on SQLite, where a statement costs no round
/// trip, the one cached insert for each (a multi-row INSERT would be prepared afresh every time).
pub fn insert_access_many(
    conn: &mut DbConnection,
    records: &[&AccessTokenRecord],
) -> Result<(), StoreError> {
    match conn {
        _ if records.is_empty() => {}
        DbConnection::Pg(pg) => {
            // A statement takes at most 65,535 parameters, 12 a row.
            for rows in records.chunks(1000) {
                diesel::insert_into(access::table)
                    .values(rows.to_vec())
                    .execute(pg)?;
            }
        }
        DbConnection::Sqlite(_) => {
            for record in records {
                insert_access(conn, record)?;
            }
        }
    }
    Ok(())
}

pub fn insert_refresh(
    conn: &mut DbConnection,
    record: &RefreshTokenRecord,
) -> Result<(), StoreError> {
    on_backend!(conn, |c| diesel::insert_into(refresh::table)
        .values(record)
        .execute(c))?;
    Ok(())
}

pub fn find_access(
    conn: &mut DbConnection,
    token_id: &str,
) -> Result<Option<AccessTokenRecord>, StoreError> {
    Ok(on_backend!(conn, |c| access::table
        .find(token_id)
        .select(AccessTokenRecord::as_select())
        .get_result(c)
        .optional())?)
}

/// The access tokens among `token_ids` that exist, in one query on PostgreSQL (`= ANY($1)`, one
/// prepared statement whatever the count) and one cached statement per key on SQLite, where a query
/// costs no round trip and an `IN` list of varying length would be prepared afresh each time.
pub fn find_access_many(
    conn: &mut DbConnection,
    token_ids: &[&str],
) -> Result<Vec<AccessTokenRecord>, StoreError> {
    match conn {
        DbConnection::Pg(_) => Ok(access::table
            .filter(access::token_id.eq_any(token_ids))
            .select(AccessTokenRecord::as_select())
            .load(conn)?),
        DbConnection::Sqlite(_) => {
            let mut found = Vec::with_capacity(token_ids.len());
            for token_id in token_ids {
                found.extend(find_access(conn, token_id)?);
            }
            Ok(found)
        }
    }
}

pub fn find_refresh(
    conn: &mut DbConnection,
    token_id: &str,
) -> Result<Option<RefreshTokenRecord>, StoreError> {
    Ok(on_backend!(conn, |c| refresh::table
        .find(token_id)
        .select(RefreshTokenRecord::as_select())
        .get_result(c)
        .optional())?)
}

/// Marks a refresh token as replaced. Only one caller can win: `false` means another request
/// rotated it first.
pub fn claim_for_rotation(
    conn: &mut DbConnection,
    token_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let claimed = diesel::update(
        refresh::table
            .find(token_id)
            .filter(refresh::rotated_at.is_null()),
    )
    .set(refresh::rotated_at.eq(now))
    .execute(conn)?;
    Ok(claimed == 1)
}

/// The refresh token `value` stands for, under whichever of its keys it is stored.
pub fn find_refresh_by_value(
    conn: &mut DbConnection,
    value: &str,
) -> Result<Option<RefreshTokenRecord>, StoreError> {
    for key in token_value::stored_keys(value) {
        if let Some(found) = find_refresh(conn, &key)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}
