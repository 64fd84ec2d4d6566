//! Spring's `oauth_approvals`: what a user approved (or denied) for a client, scope by scope, until
//! when.

use chrono::{DateTime, NaiveDateTime};
use diesel::prelude::*;

use super::schema::oauth_approvals as approvals;
use super::{DbConnection, StoreError};

pub const APPROVED: &str = "APPROVED";
pub const DENIED: &str = "DENIED";

fn timestamp(unix_seconds: i64) -> NaiveDateTime {
    DateTime::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .naive_utc()
}

/// The scopes `user` approved for `client` that have not expired at `now`.
pub fn approved_scopes(
    conn: &mut DbConnection,
    user: &str,
    client: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(approvals::table
        .filter(approvals::userid.eq(user))
        .filter(approvals::clientid.eq(client))
        .filter(approvals::status.eq(APPROVED))
        .filter(approvals::expiresat.gt(timestamp(now)))
        .select(approvals::scope)
        .load(conn)?)
}

/// Records a decision per scope (`true`: approved), replacing an earlier one, inside the caller's
/// transaction. An upsert on the unique key our migration added, so two approvals submitted at once
/// cannot collide (Spring's update-then-insert could).
pub fn save(
    conn: &mut DbConnection,
    user: &str,
    client: &str,
    decisions: &[(String, bool)],
    expires_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    let (expires_at, now) = (timestamp(expires_at), timestamp(now));
    // Both backends have ON CONFLICT; diesel's multi-backend connection does not expose it, so the
    // statement runs on the inner connection.
    macro_rules! upsert {
        ($conn:expr, $scope:expr, $status:expr) => {
            diesel::insert_into(approvals::table)
                .values((
                    approvals::userid.eq(user),
                    approvals::clientid.eq(client),
                    approvals::scope.eq($scope),
                    approvals::status.eq($status),
                    approvals::expiresat.eq(expires_at),
                    approvals::lastmodifiedat.eq(now),
                ))
                .on_conflict((approvals::userid, approvals::clientid, approvals::scope))
                .do_update()
                .set((
                    approvals::status.eq($status),
                    approvals::expiresat.eq(expires_at),
                    approvals::lastmodifiedat.eq(now),
                ))
                .execute($conn)
        };
    }
    for (scope, approved) in decisions {
        let status = if *approved { APPROVED } else { DENIED };
        match conn {
            DbConnection::Sqlite(c) => upsert!(c, scope, status)?,
            DbConnection::Pg(c) => upsert!(c, scope, status)?,
        };
    }
    Ok(())
}
