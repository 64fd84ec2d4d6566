//! The auth server's own resource guard (`/hi`, `/me`) asks its own store, through the batched
//! access-token lookups, instead of calling introspection over HTTP.

use std::sync::Arc;

use shared::guard::{TokenValidator, Validation, ValidationFuture};

use super::{access_token, still_held, Inspection};
use crate::authority::Authority;
use crate::stores::{ClientStore, TokenStore, UserStore};

pub struct LocalValidator<S> {
    authority: Authority<S>,
}

impl<S: ClientStore + UserStore + TokenStore> LocalValidator<S> {
    pub fn new(authority: Authority<S>) -> Arc<Self> {
        Arc::new(Self { authority })
    }
}

impl<S: ClientStore + UserStore + TokenStore> TokenValidator for LocalValidator<S> {
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
        Box::pin(async move {
            let found = access_token(&self.authority.store, token).await?;
            Ok(match still_held(&self.authority, found).await? {
                Inspection::Active(active) => Validation::Active(Arc::new(active.claims)),
                Inspection::Expired => Validation::Expired,
                Inspection::Unknown => Validation::Invalid,
            })
        })
    }
}
