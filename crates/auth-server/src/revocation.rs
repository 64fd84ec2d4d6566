//! Token revocation (RFC 7009): a client ends one of its own tokens.
//!
//! The answer is the same whether the token was found or not (§2.2: the caller learns nothing), and
//! another client's token is left alone. Revoking a refresh token ends its whole grant, the access
//! tokens issued from it included (§2.1 "SHOULD"); revoking an access token ends only it. A JWT
//! access token is stored by the hash of its value like any other, so it is revoked the same way
//! and introspection refuses it at once. Nothing is answered before the deletion is committed: a
//! database that cannot store it makes the request fail (503), never a 200 that did nothing.

use shared::ApiError;

use crate::accounts::PresentedClient;
use crate::authority::Authority;
use crate::db::Storage;
use crate::stores::{ClientStore, TokenStore, UserStore};

/// Which kind to look for first (§2.1 `token_type_hint`); the other is looked for as well, so a
/// wrong hint still finds the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    AccessToken,
    RefreshToken,
}

impl Hint {
    /// An unknown hint is ignored (§2.2.1 lets the server search all its token types).
    pub fn parse(hint: Option<&str>) -> Self {
        match hint {
            Some("refresh_token") => Hint::RefreshToken,
            _ => Hint::AccessToken,
        }
    }
}

/// What a revocation did, for the log and the tests; never told to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// An access token of the caller's.
    AccessToken,
    /// A refresh token of the caller's, and this many tokens of its grant with it.
    Grant(usize),
    /// Unknown, already revoked or expired and purged, or another client's.
    Nothing,
}

pub struct Revocation<S = Storage> {
    authority: Authority<S>,
}

impl<S: ClientStore + UserStore + TokenStore> Revocation<S> {
    pub fn new(authority: Authority<S>) -> Self {
        Self { authority }
    }

    /// Revokes `token` if it belongs to the presented client.
    pub async fn revoke(
        &self,
        presented: &PresentedClient,
        token: &str,
        hint: Hint,
    ) -> Result<Revoked, ApiError> {
        let client = self.authority.clients.authenticate(presented).await?;
        let revoked = match hint {
            Hint::AccessToken => match self.access_token(&client.client_id, token).await? {
                Revoked::Nothing => self.refresh_token(&client.client_id, token).await?,
                revoked => revoked,
            },
            Hint::RefreshToken => match self.refresh_token(&client.client_id, token).await? {
                Revoked::Nothing => self.access_token(&client.client_id, token).await?,
                revoked => revoked,
            },
        };
        match revoked {
            Revoked::AccessToken => {
                log::info!("client {}: revoked an access token", client.client_id)
            }
            Revoked::Grant(count) => log::info!(
                "client {}: revoked a refresh token and its grant ({count} tokens)",
                client.client_id
            ),
            Revoked::Nothing => {}
        }
        Ok(revoked)
    }

    async fn access_token(&self, client_id: &str, token: &str) -> Result<Revoked, ApiError> {
        let store = &self.authority.store;
        Ok(match store.access_token(token).await? {
            Some(record) if record.client_id == client_id => {
                store.revoke_access_token(&record.token_id).await?;
                Revoked::AccessToken
            }
            _ => Revoked::Nothing,
        })
    }

    /// A refresh token already rotated away still names its grant: revoking it ends the grant, as
    /// its owner asked.
    async fn refresh_token(&self, client_id: &str, token: &str) -> Result<Revoked, ApiError> {
        let store = &self.authority.store;
        Ok(match store.refresh_token(token).await? {
            Some(record) if record.client_id == client_id => {
                Revoked::Grant(store.revoke_family(&record.family_id).await?)
            }
            _ => Revoked::Nothing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The flows, over HTTP with grants issued for real, are in tests/api/revocation.rs.
    #[test]
    fn an_unknown_or_missing_hint_means_access_token_first() {
        assert_eq!(Hint::parse(None), Hint::AccessToken);
        assert_eq!(Hint::parse(Some("access_token")), Hint::AccessToken);
        assert_eq!(Hint::parse(Some("id_token")), Hint::AccessToken);
        assert_eq!(Hint::parse(Some("refresh_token")), Hint::RefreshToken);
    }
}
