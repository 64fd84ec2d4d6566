//! Registered clients, read from `oauth_client_details` and remembered for a few seconds: a client
//! asking for tokens all day costs one database read per `security.client_cache_seconds`, not one
//! per request. A change to a client (CLI, SQL, another replica) is seen within that time.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use crate::db::{clients, Store, StoreError};
use crate::domain::client::Client;

pub struct ClientDirectory {
    store: Store,
    remembered: Cache<String, Arc<Client>>,
    enabled: bool,
}

impl ClientDirectory {
    pub fn new(store: Store, cache_seconds: u64, capacity: u64) -> Self {
        Self {
            store,
            remembered: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(Duration::from_secs(cache_seconds.max(1)))
                .build(),
            enabled: cache_seconds > 0,
        }
    }

    /// The client if it is in memory; never touches the database.
    pub fn cached(&self, client_id: &str) -> Option<Arc<Client>> {
        self.enabled
            .then(|| self.remembered.get(client_id))
            .flatten()
    }

    /// The client, from memory or the database. Blocks. Unknown ids are not remembered.
    pub fn find(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        if let Some(client) = self.cached(client_id) {
            return Ok(Some(client));
        }
        let found = clients::find(&mut *self.store.conn()?, client_id)?.map(Arc::new);
        if let (true, Some(client)) = (self.enabled, &found) {
            self.remembered.insert(client_id.to_owned(), client.clone());
        }
        Ok(found)
    }
}
