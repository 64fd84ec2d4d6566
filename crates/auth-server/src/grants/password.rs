//! RFC 6749 §4.3: the resource owner's username and password, exchanged once for tokens.

use std::net::IpAddr;

use shared::{ApiError, Scope, TokenResponse};

use super::issue::Subject;
use super::{require_confidential, scope, TokenService};
use crate::domain::client::Client;
use crate::domain::grant_type::GrantType;

impl TokenService {
    pub(super) fn password(
        &self,
        client: &Client,
        from: Option<IpAddr>,
        username: &str,
        password: &str,
        requested: Option<Scope>,
    ) -> Result<TokenResponse, ApiError> {
        require_confidential(client)?;
        // Scope first, as Spring's request validator did: a doomed request costs no bcrypt work.
        let scope = scope::negotiate(requested, &client.scope)?;
        let user = self.authenticate_user(from, username, password)?;
        let subject = Subject {
            user_name: Some(user.username),
            authorities: user.authorities,
        };
        let with_refresh = client.allows(GrantType::RefreshToken);
        self.issue(client, &subject, &scope, GrantType::Password, with_refresh)
    }
}
