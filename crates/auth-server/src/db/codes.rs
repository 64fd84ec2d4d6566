//! Authorization codes (RFC 6749 §4.1.2), stored by the SHA-256 of their value.

use diesel::prelude::*;

use super::schema::oauth_code as code;
use super::{DbConnection, StoreError};

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
