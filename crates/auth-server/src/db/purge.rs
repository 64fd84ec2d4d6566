//! Deleting what can never be used again, so the tables do not grow without bound: expired codes,
//! access and refresh tokens and approvals, and token families nothing refers to any more.
//!
//! Each delete takes at most `batch` rows in its own short transaction, so a purge of a large
//! backlog never holds SQLite's write lock (or PostgreSQL row locks) for long, and token writes
//! interleave with it. Rows that never expire (a validity of 0 or less, NULL `expires_at`) stay.

use std::collections::HashSet;

use chrono::DateTime;
use diesel::prelude::*;

use super::schema::{
    oauth_access_token as access, oauth_approvals as approvals, oauth_code as code,
    oauth_refresh_token as refresh, oauth_token_family as family,
};
use super::{write_transaction, DbConnection, StoreError};

/// A family is left alone this long after its last change even when nothing refers to it, so a
/// grant whose first rows are being written is never mistaken for an abandoned one.
const FAMILY_GRACE_SECONDS: i64 = 3600;

/// How many rows one purge deleted, table by table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub codes: usize,
    pub access_tokens: usize,
    pub refresh_tokens: usize,
    pub approvals: usize,
    pub families: usize,
}

impl Purged {
    pub fn total(&self) -> usize {
        self.codes + self.access_tokens + self.refresh_tokens + self.approvals + self.families
    }
}

/// Deletes everything that expired before `now` (Unix seconds).
pub fn expired(conn: &mut DbConnection, now: i64, batch: u32) -> Result<Purged, StoreError> {
    let batch = i64::from(batch.max(1));
    // Select a batch of keys, then delete them: diesel cannot express a DELETE whose subquery
    // reads the same table, and both steps share one transaction.
    macro_rules! purge_expired {
        ($table:ident, $key:ident) => {
            in_batches(batch, |limit| {
                write_transaction(conn, |conn| {
                    let keys: Vec<String> = $table::table
                        .filter($table::expires_at.lt(now))
                        .select($table::$key)
                        .limit(limit)
                        .load(conn)?;
                    if keys.is_empty() {
                        return Ok(0);
                    }
                    Ok(
                        diesel::delete($table::table.filter($table::$key.eq_any(&keys)))
                            .execute(conn)?,
                    )
                })
            })?
        };
    }
    let codes = purge_expired!(code, code);
    let access_tokens = purge_expired!(access, token_id);
    let refresh_tokens = expired_refresh_tokens(conn, now, batch)?;
    // One row per user, client and scope: small, and its key is three columns wide.
    let cutoff = DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .naive_utc();
    let approvals = write_transaction(conn, |conn| {
        Ok(
            diesel::delete(approvals::table.filter(approvals::expiresat.lt(cutoff)))
                .execute(conn)?,
        )
    })?;
    let families = abandoned_families(conn, now - FAMILY_GRACE_SECONDS, batch)?;
    Ok(Purged {
        codes,
        access_tokens,
        refresh_tokens,
        approvals,
        families,
    })
}

/// Expired refresh tokens, except a rotated one whose family still has a live refresh token: it is
/// what reveals a replay (RFC 9700 §4.14.2) however long after its own expiry the real client
/// comes back with it.
fn expired_refresh_tokens(
    conn: &mut DbConnection,
    now: i64,
    batch: i64,
) -> Result<usize, StoreError> {
    in_key_order(conn, batch, |conn, after| {
        let rows: Vec<(String, String, Option<i64>)> = refresh::table
            .filter(refresh::token_id.gt(after))
            .filter(refresh::expires_at.lt(now))
            .order(refresh::token_id)
            .select((refresh::token_id, refresh::family_id, refresh::rotated_at))
            .limit(batch)
            .load(conn)?;
        let rotated_families: Vec<&String> = rows
            .iter()
            .filter(|(_, _, rotated_at)| rotated_at.is_some())
            .map(|(_, family_id, _)| family_id)
            .collect();
        let live: HashSet<String> = if rotated_families.is_empty() {
            HashSet::new()
        } else {
            refresh::table
                .filter(refresh::family_id.eq_any(rotated_families))
                .filter(
                    refresh::expires_at
                        .is_null()
                        .or(refresh::expires_at.ge(now)),
                )
                .select(refresh::family_id)
                .load::<String>(conn)?
                .into_iter()
                .collect()
        };
        let doomed: Vec<&String> = rows
            .iter()
            .filter(|(_, family_id, rotated_at)| rotated_at.is_none() || !live.contains(family_id))
            .map(|(token_id, _, _)| token_id)
            .collect();
        let deleted = if doomed.is_empty() {
            0
        } else {
            diesel::delete(refresh::table.filter(refresh::token_id.eq_any(doomed))).execute(conn)?
        };
        Ok((deleted, rows.last().map(|r| r.0.clone()), rows.len()))
    })
}

/// On SQLite every batch takes the one write lock: a breath between batches lets queued token
/// writes in, so a large backlog never starves them.
fn pause_between_batches() {
    std::thread::sleep(std::time::Duration::from_millis(5));
}

/// One batch of a walk in key order: how many rows it deleted, the last key it looked at, and how
/// many it looked at.
type Step = (usize, Option<String>, usize);

/// Runs `step` on the keys after the last one it saw, a transaction per batch, until a batch comes
/// back short; for deletes that pass some rows over, which a plain "delete the first N" would
/// reread forever. Returns how many rows went.
fn in_key_order(
    conn: &mut DbConnection,
    batch: i64,
    mut step: impl FnMut(&mut DbConnection, &str) -> Result<Step, StoreError>,
) -> Result<usize, StoreError> {
    let mut after = String::new();
    let mut total = 0;
    loop {
        let (deleted, last, seen) = write_transaction(conn, |conn| step(conn, &after))?;
        total += deleted;
        match last {
            Some(last) if (seen as i64) == batch => after = last,
            _ => return Ok(total),
        }
        pause_between_batches();
    }
}

/// Runs `delete(limit)` until it deletes fewer than `limit` rows; returns how many went.
fn in_batches(
    limit: i64,
    mut delete: impl FnMut(i64) -> Result<usize, StoreError>,
) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let deleted = delete(limit)?;
        total += deleted;
        if (deleted as i64) < limit {
            return Ok(total);
        }
        pause_between_batches();
    }
}

/// Families unchanged since `cutoff` that no token or code refers to: their grant is over (expired,
/// purged, or revoked and deleted).
fn abandoned_families(
    conn: &mut DbConnection,
    cutoff: i64,
    batch: i64,
) -> Result<usize, StoreError> {
    in_key_order(conn, batch, |conn, after| {
        let candidates: Vec<String> = family::table
            .filter(family::family_id.gt(after))
            .filter(family::updated_at.lt(cutoff))
            .order(family::family_id)
            .select(family::family_id)
            .limit(batch)
            .load(conn)?;
        let mut in_use: HashSet<String> = HashSet::new();
        in_use.extend(
            access::table
                .filter(access::family_id.eq_any(&candidates))
                .select(access::family_id)
                .load::<String>(conn)?,
        );
        in_use.extend(
            refresh::table
                .filter(refresh::family_id.eq_any(&candidates))
                .select(refresh::family_id)
                .load::<String>(conn)?,
        );
        in_use.extend(
            code::table
                .filter(code::family_id.eq_any(&candidates))
                .select(code::family_id)
                .load::<String>(conn)?,
        );
        let abandoned: Vec<&String> = candidates
            .iter()
            .filter(|id| !in_use.contains(*id))
            .collect();
        let deleted = if abandoned.is_empty() {
            0
        } else {
            // Still idle: a writer that locked one meanwhile has touched `updated_at`.
            diesel::delete(
                family::table
                    .filter(family::family_id.eq_any(abandoned))
                    .filter(family::updated_at.lt(cutoff)),
            )
            .execute(conn)?
        };
        Ok((deleted, candidates.last().cloned(), candidates.len()))
    })
}
