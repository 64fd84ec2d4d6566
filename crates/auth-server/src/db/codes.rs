//! Authorization codes (RFC 6749 §4.1.2), stored by the SHA-256 of their value.

use diesel::prelude::*;

use super::schema::oauth_code as code;
use super::tokens::{self, NewTokens, Stored};
use super::{users, DbConnection, StoreError};
use crate::domain::user::User;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = code)]
pub struct CodeRecord {
    pub code: String,
    pub family_id: String,
    pub client_id: String,
    pub user_name: String,
    /// As the authorization request gave it; `None` when it relied on the one registered URI.
    pub redirect_uri: Option<String>,
    pub scope: String,
    pub authorities: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// Set by the one exchange that consumed it.
    pub used_at: Option<i64>,
    /// OpenID Connect: the authorization request's `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// OpenID Connect: when the user signed in (Unix seconds), the ID token's `auth_time`.
    pub auth_time: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, record: &CodeRecord) -> Result<(), StoreError> {
    diesel::insert_into(code::table)
        .values(record)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, code_id: &str) -> Result<Option<CodeRecord>, StoreError> {
    Ok(code::table
        .find(code_id)
        .select(CodeRecord::as_select())
        .get_result(conn)
        .optional()?)
}

/// Consumes a code. Of any number of concurrent callers exactly one gets `true`.
pub fn claim(conn: &mut DbConnection, code_id: &str, now: i64) -> Result<bool, StoreError> {
    let claimed = diesel::update(code::table.find(code_id).filter(code::used_at.is_null()))
        .set(code::used_at.eq(now))
        .execute(conn)?;
    Ok(claimed == 1)
}

/// Stores a new code with the grant family its tokens will join, inside the caller's transaction.
pub fn store_new(conn: &mut DbConnection, record: &CodeRecord) -> Result<(), StoreError> {
    tokens::create_family(
        conn,
        &record.family_id,
        &record.client_id,
        Some(&record.user_name),
        record.issued_at,
    )?;
    insert(conn, record)
}

/// How a code exchange ended, as its one transaction commits.
#[derive(Debug)]
pub enum Exchange<T, E> {
    Unknown,
    /// Consumed before: what the first exchange issued must be revoked.
    Replayed(Box<CodeRecord>),
    /// Consumed now, but refused by the caller's checks; the code stays burnt.
    Refused(E),
    /// Consumed now, but its grant was revoked while the code waited.
    GrantRevoked,
    Issued(T),
}

/// Consumes the code, lets `decide` check the request against it and mint tokens, and stores
/// them, in the caller's transaction: concurrent exchanges of one code wait for it, then find the
/// code used, so exactly one of them is issued tokens.
pub fn exchange<T: AsRef<NewTokens>, E>(
    conn: &mut DbConnection,
    code_id: &str,
    now: i64,
    decide: &mut impl FnMut(&CodeRecord, Option<User>) -> Result<T, E>,
) -> Result<Exchange<T, E>, StoreError> {
    let claimed = claim(conn, code_id, now)?;
    let record = match (find(conn, code_id)?, claimed) {
        (None, _) => return Ok(Exchange::Unknown),
        (Some(record), false) => return Ok(Exchange::Replayed(Box::new(record))),
        (Some(record), true) => record,
    };
    let user = users::find(conn, &record.user_name)?;
    let issued = match decide(&record, user) {
        Ok(issued) => issued,
        Err(refused) => return Ok(Exchange::Refused(refused)),
    };
    Ok(match tokens::store(conn, issued.as_ref())? {
        Stored::Stored => Exchange::Issued(issued),
        _ => Exchange::GrantRevoked,
    })
}
