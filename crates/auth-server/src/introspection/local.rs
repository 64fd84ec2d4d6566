//! The auth server's own resource guard (`/hi`, `/me`) asks its own store, through the batched
//! access-token lookups, instead of calling introspection over HTTP.

use std::sync::Arc;

use shared::guard::{TokenValidator, Validation, ValidationFuture};

use super::{access_token, Inspection};
use crate::stores::TokenStore;

pub struct LocalValidator<S> {
    store: S,
}

impl<S: TokenStore> LocalValidator<S> {
    pub fn new(store: S) -> Arc<Self> {
        Arc::new(Self { store })
    }
}

impl<S: TokenStore> TokenValidator for LocalValidator<S> {
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
        Box::pin(async move {
            Ok(match access_token(&self.store, token).await? {
                Inspection::Active(active) => Validation::Active(Arc::new(active.claims)),
                Inspection::Expired => Validation::Expired,
                Inspection::Unknown => Validation::Invalid,
            })
        })
    }
}
