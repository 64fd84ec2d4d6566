//! What resource servers verify JWT access tokens with: the JWK set (RFC 7517), for Spring Boot 3
//! and every JOSE library, and legacy Spring's `/oauth/token_key`. docs/jwt.md.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use shared::{ApiError, ErrorCode};

use crate::accounts::{ClientAuthenticator, PresentedClient};
use crate::db::Storage;
use crate::domain::clock;
use crate::introspection::IntrospectionPolicy;
use crate::signing::{KeyRing, TokenKey, TokenKeyAccess};

pub struct KeyPublication<S = Storage> {
    keys: Arc<KeyRing>,
    clients: Arc<ClientAuthenticator<S>>,
    access: TokenKeyAccess,
    /// Who may have a shared secret: the clients that may introspect, i.e. resource servers.
    resource_servers: IntrospectionPolicy,
}

impl<S: crate::stores::ClientStore> KeyPublication<S> {
    pub fn new(
        keys: Arc<KeyRing>,
        clients: Arc<ClientAuthenticator<S>>,
        access: TokenKeyAccess,
        resource_servers: IntrospectionPolicy,
    ) -> Self {
        Self {
            keys,
            clients,
            access,
            resource_servers,
        }
    }

    /// Every published public key; a shared secret is never among them.
    pub fn jwks(&self) -> JwkSet {
        self.keys.jwks()
    }

    /// Spring's `TokenKeyEndpoint`: the verifier key, to anyone or to authenticated clients
    /// (`jwt.token_key_access`). A shared secret signs as well as it verifies, so it goes only to
    /// a client that may introspect (`introspection.*`: the resource servers), never to any
    /// client that happens to have credentials, as Spring's `isAuthenticated()` allowed.
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
            if self.keys.is_secret() && !self.resource_servers.allows(&client) {
                return Err(ApiError::new(ErrorCode::IntrospectionDenied));
            }
        }
        Ok(self.keys.token_key(clock::now())?)
    }
}
