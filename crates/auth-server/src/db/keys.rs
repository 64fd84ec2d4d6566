//! `oauth_signing_key`: the keys JWT access tokens are signed with, as stored (the private key
//! possibly sealed; `crate::signing` opens it).

use diesel::prelude::*;

use super::schema::oauth_client_details as clients;
use super::schema::oauth_signing_key as keys;
use super::{DbConnection, StoreError};

#[derive(Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = keys)]
pub struct KeyRow {
    pub kid: String,
    pub algorithm: String,
    /// PKCS#8 PEM, or sealed under the key-encryption key.
    pub private_key: String,
    /// SubjectPublicKeyInfo PEM.
    pub public_key: String,
    pub created_at: i64,
    pub signs_from: i64,
    pub retired_at: Option<i64>,
    pub unpublish_at: Option<i64>,
}

/// Never the private key, sealed or not.
impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("signs_from", &self.signs_from)
            .field("retired_at", &self.retired_at)
            .field("unpublish_at", &self.unpublish_at)
            .finish_non_exhaustive()
    }
}

/// Locks the table for the rest of the transaction against other writers (PostgreSQL; SQLite's
/// write transactions already exclude each other).
pub fn lock(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Pg(pg) = conn {
        diesel::sql_query("LOCK TABLE oauth_signing_key IN SHARE ROW EXCLUSIVE MODE")
            .execute(pg)?;
    }
    Ok(())
}

/// Every key not yet unpublished at `now`, oldest first.
pub fn published(conn: &mut DbConnection, now: i64) -> Result<Vec<KeyRow>, StoreError> {
    Ok(keys::table
        .filter(keys::unpublish_at.is_null().or(keys::unpublish_at.gt(now)))
        .order((keys::created_at, keys::kid))
        .load(conn)?)
}

/// Every key, unpublished ones too (for `keys list`), oldest first.
pub fn all(conn: &mut DbConnection) -> Result<Vec<KeyRow>, StoreError> {
    Ok(keys::table
        .order((keys::created_at, keys::kid))
        .load(conn)?)
}

pub fn insert(conn: &mut DbConnection, row: &KeyRow) -> Result<(), StoreError> {
    diesel::insert_into(keys::table).values(row).execute(conn)?;
    Ok(())
}

/// Stops `kid` signing at `now`; it stays published until `unpublish_at`. False when no such key
/// is still signing.
pub fn retire(
    conn: &mut DbConnection,
    kid: &str,
    now: i64,
    unpublish_at: i64,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        keys::table
            .filter(keys::kid.eq(kid))
            .filter(keys::retired_at.is_null()),
    )
    .set((
        keys::retired_at.eq(now),
        keys::unpublish_at.eq(unpublish_at),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// The shortest and longest access-token validity clients set, in seconds (`None`: no client
/// sets one). A retired key stays published for the longest, so every token it signed expires
/// before it goes; a value of 0 or less means tokens that never expire.
pub fn client_access_validities(
    conn: &mut DbConnection,
) -> Result<(Option<i64>, Option<i64>), StoreError> {
    let (shortest, longest): (Option<i32>, Option<i32>) = clients::table
        .select((
            diesel::dsl::min(clients::access_token_validity),
            diesel::dsl::max(clients::access_token_validity),
        ))
        .get_result(conn)?;
    Ok((shortest.map(i64::from), longest.map(i64::from)))
}
