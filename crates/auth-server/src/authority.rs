//! What the endpoints act with: the stores, who is asking (clients and users), and the token
//! policy. One is made at start and shared by the token endpoint, the authorization endpoint and
//! introspection.

use std::sync::Arc;

use crate::accounts::{ClientAuthenticator, UserAuthenticator};
use crate::db::Storage;
use crate::issuing::Issuer;

pub struct Authority<S = Storage> {
    pub store: S,
    pub clients: Arc<ClientAuthenticator<S>>,
    pub users: Arc<UserAuthenticator<S>>,
    pub issuer: Issuer,
}

impl<S: Clone> Clone for Authority<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            clients: self.clients.clone(),
            users: self.users.clone(),
            issuer: self.issuer.clone(),
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::accounts::passwords::CheckSettings;
    use crate::accounts::{ClientDirectory, Passwords};
    use crate::domain::sign_in_throttle::SignInThrottle;
    use crate::settings::Settings;
    use crate::stores::memory::MemoryStore;

    /// What the flows act with, as the unit tests set it up over `store`: client and user
    /// authentication (no client cache, cheap bcrypt) and the issuer of `settings`.
    pub fn in_memory(store: &MemoryStore, settings: &Settings) -> Authority<MemoryStore> {
        let passwords = Arc::new(Passwords::new(&CheckSettings::for_tools(4)).expect("bcrypt"));
        Authority {
            store: store.clone(),
            clients: Arc::new(ClientAuthenticator::new(
                ClientDirectory::new(store.clone(), 0, 10),
                passwords.clone(),
            )),
            users: Arc::new(UserAuthenticator::new(
                store.clone(),
                passwords,
                SignInThrottle::new(&settings.brute_force.limits()),
                0,
            )),
            issuer: Issuer::new(settings.tokens.clone(), crate::issuing::tests::no_keys()),
        }
    }
}
