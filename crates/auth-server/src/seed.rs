//! The demo data of the documented walkthrough (docs/configuration.md, "Demo data"). Inserted only when asked
//! (`demo.seed = true` or `auth-server seed-demo`), only where absent, never overwriting.

use crate::accounts::Passwords;
use crate::db::clients::{self, ClientRow};
use crate::db::{users, Store, StoreError};

pub const DEMO_CLIENT: &str = "dev";
pub const DEMO_CLIENT_SECRET: &str = "11";
pub const RESOURCE_CLIENT: &str = "resource";
pub const RESOURCE_CLIENT_SECRET: &str = "resource-secret";
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
    Ok(inserted)
}
