//! Time as the database stores it: whole seconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, for what one second is too coarse for.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `None` means "never": Spring's convention for a validity of zero or less.
pub fn expiry(now: i64, validity_seconds: i64) -> Option<i64> {
    (validity_seconds > 0).then(|| now.saturating_add(validity_seconds))
}

pub fn is_expired(expires_at: Option<i64>, now: i64) -> bool {
    matches!(expires_at, Some(at) if at <= now)
}

/// A calendar month after `now` (Spring's approval expiry), or 31 days if the calendar says no.
pub fn one_month_later(now: i64) -> i64 {
    chrono::DateTime::from_timestamp(now, 0)
        .and_then(|t| t.checked_add_months(chrono::Months::new(1)))
        .map(|t| t.timestamp())
        .unwrap_or(now + 31 * 24 * 3600)
}
