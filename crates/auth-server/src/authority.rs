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
