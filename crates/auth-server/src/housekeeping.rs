//! The database's upkeep in the background of a serving process: the purge of expired codes,
//! tokens and approvals every `purge.interval_seconds`, and on SQLite a WAL checkpoint every 100 ms.
//! `auth-server purge` runs the purge once, from the command line.
//!
//! Every replica purges on its own schedule; two purges at once only find less to delete. A round
//! that fails (database down) is logged and tried again at the next tick.

use std::time::Duration;

use shared::background::Background;

use crate::db::purge::{self, Purged};
use crate::db::{checkpoint, Backend, Storage, Store, StoreError};
use crate::domain::clock;
use crate::settings::PurgeSettings;

/// One purge, now. Blocks.
pub fn purge_once(store: &Store, batch_size: u32) -> Result<Purged, StoreError> {
    store.with_conn(|conn| purge::expired(conn, clock::now(), batch_size))
}

/// Starts the periodic upkeep of `storage` on `background`.
pub fn schedule(background: &Background, storage: &Storage, settings: &PurgeSettings) {
    if settings.interval_seconds > 0 {
        let (storage, batch_size) = (storage.clone(), settings.batch_size);
        background.every(
            "purge",
            Duration::from_secs(settings.interval_seconds),
            move || {
                let storage = storage.clone();
                async move {
                    match storage
                        .maintain(move |store| purge_once(store, batch_size))
                        .await
                    {
                        Ok(purged) if purged.total() > 0 => {
                            log::info!("purged expired rows: {purged:?}")
                        }
                        Ok(_) => log::debug!("purge: nothing expired"),
                        Err(error) => log::warn!("purge failed, will retry: {error}"),
                    }
                }
            },
        );
    }
    if storage.store().backend() == Backend::Sqlite {
        let storage = storage.clone();
        background.every("wal-checkpoint", checkpoint::INTERVAL, move || {
            let storage = storage.clone();
            async move {
                // A busy or unwritable database: the next tick (or the backstop) tries again.
                if let Err(error) = storage.maintain(checkpoint::checkpoint).await {
                    log::debug!("WAL checkpoint failed, will retry: {error}");
                }
            }
        });
    }
}
