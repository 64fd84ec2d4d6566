//! The periodic purge of expired codes, tokens and approvals (`purge.*`), in the background of a
//! serving process, and once from the command line (`auth-server purge`).
//!
//! Every replica purges on its own schedule; two purges at once only find less to delete.

use std::time::Duration;

use crate::db::purge::{self, Purged};
use crate::db::{Store, StoreError};
use crate::domain::clock;
use crate::settings::PurgeSettings;

/// One purge, now. Blocks.
pub fn purge_once(store: &Store, batch_size: u32) -> Result<Purged, StoreError> {
    let mut conn = store.conn()?;
    purge::expired(&mut conn, clock::now(), batch_size)
}

/// Purges at start, then every `interval_seconds`, until the runtime stops. A purge that fails
/// (database down) is logged and tried again at the next tick.
pub fn spawn(store: Store, settings: &PurgeSettings) {
    if settings.interval_seconds == 0 {
        return;
    }
    let interval = Duration::from_secs(settings.interval_seconds);
    let batch_size = settings.batch_size;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        // After a stall, one purge catches up; there is no point in a burst of them.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let store = store.clone();
            match tokio::task::spawn_blocking(move || purge_once(&store, batch_size)).await {
                Ok(Ok(purged)) if purged.total() > 0 => {
                    log::info!("purged expired rows: {purged:?}")
                }
                Ok(Ok(_)) => log::debug!("purge: nothing expired"),
                Ok(Err(error)) => log::warn!("purge failed, will retry: {error}"),
                Err(error) => log::error!("purge task failed: {error}"),
            }
        }
    });
}
