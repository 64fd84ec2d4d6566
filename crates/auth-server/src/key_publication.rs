//! What resource servers verify JWT access tokens with: the JWK set (RFC 7517), for Spring Boot 3
//! and every JOSE library, and legacy Spring's `/oauth/token_key`. docs/jwt.md.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use shared::{ApiError, ErrorCode};

use crate::accounts::{ClientAuthenticator, PresentedClient};
use crate::db::Storage;
use crate::domain::clock;
use crate::signing::{KeyRing, TokenKey, TokenKeyAccess};

pub struct KeyPublication<S = Storage> {
    keys: Arc<KeyRing>,
    clients: Arc<ClientAuthenticator<S>>,
    access: TokenKeyAccess,
}

impl<S: crate::stores::ClientStore> KeyPublication<S> {
    pub fn new(
        keys: Arc<KeyRing>,
        clients: Arc<ClientAuthenticator<S>>,
        access: TokenKeyAccess,
    ) -> Self {
        Self {
            keys,
            clients,
            access,
        }
    }

    /// Every published public key; a shared secret is never among them.
    pub fn jwks(&self) -> JwkSet {
        self.keys.jwks()
    }

    /// Spring's `TokenKeyEndpoint`: the verifier key, to anyone or to authenticated clients
    /// (`jwt.token_key_access`); a shared secret only ever to an authenticated client.
    pub async fn token_key(
        &self,
        presented: Result<PresentedClient, ApiError>,
    ) -> Result<TokenKey, ApiError> {
        if self.keys.is_secret() || self.access == TokenKeyAccess::Clients {
            let client = self.clients.authenticate(&presented?).await?;
            // A public client proves nothing by its id alone.
            if client.is_public() {
                return Err(ApiError::new(ErrorCode::ClientAuthenticationRequired));
            }
        }
        Ok(self.keys.token_key(clock::now())?)
    }
}
