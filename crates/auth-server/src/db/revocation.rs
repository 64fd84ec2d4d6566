//! Ending grants: one (a refresh token or code presented twice), or every grant of a client or
//! user (removed, disabled, or a new password). Each runs inside the caller's transaction and marks
//! the grant families first, so a refresh holding a family's lock commits before the deletes, and
//! nothing joins a family once it is revoked.

use std::collections::HashSet;

use diesel::prelude::*;

use super::schema::{
    oauth_access_token as access, oauth_code as code, oauth_refresh_token as refresh,
    oauth_token_family as family,
};
use super::{DbConnection, StoreError};

/// Marks a family revoked and deletes its access and refresh tokens, inside the caller's
/// transaction; returns how many tokens went.
pub fn revoke_family(
    conn: &mut DbConnection,
    family_id: &str,
    now: i64,
) -> Result<usize, StoreError> {
    // First, so that a refresh holding the family's lock commits before the deletes run.
    diesel::update(
        family::table
            .find(family_id)
            .filter(family::revoked_at.is_null()),
    )
    .set((family::revoked_at.eq(now), family::updated_at.eq(now)))
    .execute(conn)?;
    let tokens =
        diesel::delete(access::table.filter(access::family_id.eq(family_id))).execute(conn)?;
    let refresh_tokens =
        diesel::delete(refresh::table.filter(refresh::family_id.eq(family_id))).execute(conn)?;
    Ok(tokens + refresh_tokens)
}

/// Deletes one access token (RFC 7009: revoking an access token leaves its grant alone).
pub fn revoke_access_token(conn: &mut DbConnection, token_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(access::table.find(token_id)).execute(conn)? > 0)
}

/// Whose grants to end.
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    Client(&'a str),
    User(&'a str),
}

/// What ending a holder's grants ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// Authorizations (each with its tokens and code), and lone access tokens.
    pub grants: usize,
    /// Access and refresh tokens and codes.
    pub tokens: usize,
}

/// Ends every grant of a client or a user, inside the caller's transaction: every family is marked
/// revoked (so nothing joins it later) and every access token, refresh token and code goes.
pub fn end_grants_of(
    conn: &mut DbConnection,
    holder: Holder<'_>,
    now: i64,
) -> Result<Ended, StoreError> {
    macro_rules! of_holder {
        ($table:ident, $user:ident) => {
            match holder {
                Holder::Client(id) => $table::table
                    .filter($table::client_id.eq(id.to_owned()))
                    .into_boxed(),
                Holder::User(name) => $table::table
                    .filter($table::$user.eq(name.to_owned()))
                    .into_boxed(),
            }
        };
    }
    let mut grants: HashSet<String> = HashSet::new();
    grants.extend(
        of_holder!(access, user_name)
            .select(access::family_id)
            .load::<String>(conn)?,
    );
    grants.extend(
        of_holder!(refresh, user_name)
            .select(refresh::family_id)
            .load::<String>(conn)?,
    );
    grants.extend(
        of_holder!(code, user_name)
            .select(code::family_id)
            .load::<String>(conn)?,
    );
    match holder {
        Holder::Client(id) => diesel::update(family::table.filter(family::client_id.eq(id)))
            .filter(family::revoked_at.is_null())
            .set((family::revoked_at.eq(now), family::updated_at.eq(now)))
            .execute(conn)?,
        Holder::User(name) => diesel::update(family::table.filter(family::user_name.eq(name)))
            .filter(family::revoked_at.is_null())
            .set((family::revoked_at.eq(now), family::updated_at.eq(now)))
            .execute(conn)?,
    };
    let tokens = match holder {
        Holder::Client(id) => {
            diesel::delete(access::table.filter(access::client_id.eq(id))).execute(conn)?
                + diesel::delete(refresh::table.filter(refresh::client_id.eq(id))).execute(conn)?
                + diesel::delete(code::table.filter(code::client_id.eq(id))).execute(conn)?
        }
        Holder::User(name) => {
            diesel::delete(access::table.filter(access::user_name.eq(name))).execute(conn)?
                + diesel::delete(refresh::table.filter(refresh::user_name.eq(name)))
                    .execute(conn)?
                + diesel::delete(code::table.filter(code::user_name.eq(name))).execute(conn)?
        }
    };
    Ok(Ended {
        grants: grants.len(),
        tokens,
    })
}
