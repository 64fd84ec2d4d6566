//! The demo data of the documented walkthrough (docs/configuration.md, "Demo data"). Inserted only when asked
//! (`demo.seed = true` or `auth-server seed-demo`), only where absent, never overwriting.

use crate::accounts::Passwords;
use crate::db::clients::{self, ClientRow};
use crate::db::{profiles, users, Store, StoreError};
use crate::domain::clock;
use crate::domain::profile::Profile;

pub const DEMO_CLIENT: &str = "dev";
pub const DEMO_CLIENT_SECRET: &str = "11";
pub const RESOURCE_CLIENT: &str = "resource";
pub const RESOURCE_CLIENT_SECRET: &str = "resource-secret";
/// The OpenID Connect relying party of the walkthrough (docs/openid-connect.md).
pub const OIDC_CLIENT: &str = "rp";
pub const OIDC_CLIENT_SECRET: &str = "rp-secret";
pub const DEMO_USER: &str = "admin";
pub const DEMO_PASSWORD: &str = "123456";

/// What was inserted, e.g. `client dev`.
pub fn demo(store: &Store, passwords: &Passwords) -> Result<Vec<String>, StoreError> {
    let hash = |plain: &str| {
        passwords
            .encode(plain)
            .map_err(|e| StoreError::Internal(e.to_string()))
    };
    let mut inserted = Vec::new();
    let demo_clients = [
        ClientRow {
            client_id: DEMO_CLIENT.into(),
            client_secret: Some(DEMO_CLIENT_SECRET.into()),
            scope: Some("app".into()),
            authorized_grant_types: Some(
                "authorization_code,password,client_credentials,implicit,refresh_token".into(),
            ),
            web_server_redirect_uri: Some("http://www.baidu.com".into()),
            access_token_validity: Some(3600),
            autoapprove: Some("false".into()),
            ..ClientRow::default()
        },
        ClientRow {
            client_id: OIDC_CLIENT.into(),
            client_secret: Some(OIDC_CLIENT_SECRET.into()),
            scope: Some("openid,profile,email".into()),
            authorized_grant_types: Some("authorization_code,refresh_token,implicit".into()),
            web_server_redirect_uri: Some("http://127.0.0.1:8000/callback".into()),
            access_token_validity: Some(3600),
            additional_information: Some(
                r#"{"post_logout_redirect_uris":["http://127.0.0.1:8000/signed-out"]}"#.into(),
            ),
            autoapprove: Some("false".into()),
            ..ClientRow::default()
        },
        ClientRow {
            client_id: RESOURCE_CLIENT.into(),
            client_secret: Some(RESOURCE_CLIENT_SECRET.into()),
            scope: Some("introspect".into()),
            authorized_grant_types: Some("client_credentials".into()),
            authorities: Some("ROLE_TRUSTED_CLIENT".into()),
            autoapprove: Some("false".into()),
            ..ClientRow::default()
        },
    ];
    for mut row in demo_clients {
        if clients::find_row(&mut *store.conn()?, &row.client_id)?.is_some() {
            continue;
        }
        row.client_secret = row.client_secret.as_deref().map(hash).transpose()?;
        match clients::insert(&mut *store.conn()?, &row) {
            // Another replica seeding at the same moment got there first.
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        inserted.push(format!("client {}", row.client_id));
    }
    if users::find(&mut *store.conn()?, DEMO_USER)?.is_none() {
        let authorities = ["ROLE_ADMIN".to_owned(), "ROLE_USER".to_owned()];
        match users::insert(
            &mut *store.conn()?,
            DEMO_USER,
            &hash(DEMO_PASSWORD)?,
            &authorities,
        ) {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        inserted.push(format!("user {DEMO_USER}"));
    }
    if profiles::find(&mut *store.conn()?, DEMO_USER)?.is_none() {
        let profile = Profile {
            name: Some("Demo Admin".into()),
            given_name: Some("Demo".into()),
            family_name: Some("Admin".into()),
            preferred_username: Some(DEMO_USER.into()),
            email: Some("admin@example.com".into()),
            email_verified: true,
            updated_at: clock::now(),
            ..Profile::default()
        };
        match profiles::save(&mut *store.conn()?, DEMO_USER, profile) {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        inserted.push(format!("profile of {DEMO_USER}"));
    }
    Ok(inserted)
}
