//! `oauth_client_details`, read and written column for column as Spring's JdbcClientDetailsService.

use diesel::prelude::*;

use super::revocation::{self, Ended, Holder};
use super::schema::oauth_client_details as table;
use super::{write_transaction, DbConnection, StoreError};
use crate::domain::client::{self, Client};
use crate::domain::secret::StoredSecret;

/// A row as stored. Also what the CLI writes.
#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable)]
#[diesel(table_name = table)]
pub struct ClientRow {
    pub client_id: String,
    pub resource_ids: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    pub authorized_grant_types: Option<String>,
    pub web_server_redirect_uri: Option<String>,
    pub authorities: Option<String>,
    pub access_token_validity: Option<i32>,
    pub refresh_token_validity: Option<i32>,
    pub additional_information: Option<String>,
    pub autoapprove: Option<String>,
}

impl ClientRow {
    pub fn into_client(self) -> Client {
        let id = self.client_id.as_str();
        Client {
            secret: StoredSecret::parse(self.client_secret.as_deref()),
            resource_ids: client::comma_list(self.resource_ids.as_deref()),
            scope: shared::Scope::from_comma_list(self.scope.as_deref().unwrap_or_default()),
            grant_types: client::grant_types(id, self.authorized_grant_types.as_deref()),
            redirect_uris: client::comma_list(self.web_server_redirect_uri.as_deref()),
            authorities: client::comma_list(self.authorities.as_deref()),
            access_token_validity: self.access_token_validity.map(i64::from),
            refresh_token_validity: self.refresh_token_validity.map(i64::from),
            additional_information: client::additional_information(
                id,
                self.additional_information.as_deref(),
            ),
            autoapprove: self.autoapprove.filter(|a| !a.trim().is_empty()),
            client_id: self.client_id,
        }
    }
}

pub fn find(conn: &mut DbConnection, client_id: &str) -> Result<Option<Client>, StoreError> {
    Ok(find_row(conn, client_id)?.map(ClientRow::into_client))
}

pub fn find_row(conn: &mut DbConnection, client_id: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(table::table
        .find(client_id)
        .select(ClientRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ClientRow>, StoreError> {
    Ok(table::table
        .order(table::client_id)
        .select(ClientRow::as_select())
        .load(conn)?)
}

/// Fails with `Conflict` when the id is taken.
pub fn insert(conn: &mut DbConnection, row: &ClientRow) -> Result<(), StoreError> {
    diesel::insert_into(table::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Replaces a client's `additional_information`; whether there was such a client.
pub fn set_additional_information(
    conn: &mut DbConnection,
    client_id: &str,
    json: &str,
) -> Result<bool, StoreError> {
    Ok(diesel::update(table::table.find(client_id))
        .set(table::additional_information.eq(json))
        .execute(conn)?
        > 0)
}

/// Whether a row was removed.
pub fn delete(conn: &mut DbConnection, client_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(table::table.find(client_id)).execute(conn)? > 0)
}

/// Removes a client and ends every grant it has, in one transaction; what ended, or `None` when
/// there was no such client.
pub fn remove(
    conn: &mut DbConnection,
    client_id: &str,
    now: i64,
) -> Result<Option<Ended>, StoreError> {
    write_transaction(conn, |conn| {
        if !delete(conn, client_id)? {
            return Ok(None);
        }
        Ok(Some(revocation::end_grants_of(
            conn,
            Holder::Client(client_id),
            now,
        )?))
    })
}
