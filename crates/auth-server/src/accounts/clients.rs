//! Registered clients, read from `oauth_client_details` and remembered for a few seconds: a client
//! asking for tokens all day costs one database read per `security.client_cache_seconds`, not one
//! per request. A change to a client (CLI, SQL, another replica) is seen within that time. Every
//! part of the server gets its clients here, so that bound holds everywhere.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use crate::db::StoreError;
use crate::domain::client::Client;
use crate::stores::ClientStore;

pub struct ClientDirectory<S> {
    store: S,
    remembered: Cache<String, Arc<Client>>,
    enabled: bool,
}

impl<S: ClientStore> ClientDirectory<S> {
    pub fn new(store: S, cache_seconds: u64, capacity: u64) -> Self {
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

    /// The client, from memory or the database. Unknown ids are not remembered.
    pub async fn find(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        match self.cached(client_id) {
            Some(client) => Ok(Some(client)),
            None => self.reload(client_id).await,
        }
    }

    /// The client as the database has it now, remembered afresh: for the rare moments a change
    /// made seconds ago must count, such as issuing a code after the user took their time.
    pub async fn reload(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        let found = self.store.client(client_id).await?.map(Arc::new);
        match (&found, self.enabled) {
            (Some(client), true) => self.remembered.insert(client_id.to_owned(), client.clone()),
            (None, _) => self.remembered.invalidate(client_id),
            _ => {}
        }
        Ok(found)
    }
}
