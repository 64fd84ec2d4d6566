//! Spring Security's JDBC user store: `users` and `authorities`.

use diesel::prelude::*;

use super::schema::{authorities, users};
use super::{write_transaction, DbConnection, StoreError};
use crate::domain::secret::StoredSecret;
use crate::domain::user::User;

pub fn find(conn: &mut DbConnection, username: &str) -> Result<Option<User>, StoreError> {
    let row: Option<(String, String, bool)> = users::table
        .find(username)
        .select((users::username, users::password, users::enabled))
        .get_result(conn)
        .optional()?;
    let Some((username, password, enabled)) = row else {
        return Ok(None);
    };
    let authorities = authorities::table
        .filter(authorities::username.eq(&username))
        .select(authorities::authority)
        .order(authorities::authority)
        .load(conn)?;
    Ok(Some(User {
        username,
        password: StoredSecret::parse(Some(&password)),
        enabled,
        authorities,
    }))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<User>, StoreError> {
    let names: Vec<String> = users::table
        .select(users::username)
        .order(users::username)
        .load(conn)?;
    let mut found = Vec::with_capacity(names.len());
    for name in names {
        if let Some(user) = find(conn, &name)? {
            found.push(user);
        }
    }
    Ok(found)
}

/// Inserts the user and its authorities together. `Conflict` when the username is taken.
pub fn insert(
    conn: &mut DbConnection,
    username: &str,
    encoded_password: &str,
    granted: &[String],
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::insert_into(users::table)
            .values((
                users::username.eq(username),
                users::password.eq(encoded_password),
                users::enabled.eq(true),
            ))
            .execute(conn)?;
        for authority in granted {
            diesel::insert_into(authorities::table)
                .values((
                    authorities::username.eq(username),
                    authorities::authority.eq(authority),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Whether the user existed.
pub fn delete(conn: &mut DbConnection, username: &str) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        diesel::delete(authorities::table.filter(authorities::username.eq(username)))
            .execute(conn)?;
        Ok(diesel::delete(users::table.find(username)).execute(conn)? > 0)
    })
}

/// Whether the user existed.
pub fn set_password(
    conn: &mut DbConnection,
    username: &str,
    encoded_password: &str,
) -> Result<bool, StoreError> {
    Ok(diesel::update(users::table.find(username))
        .set(users::password.eq(encoded_password))
        .execute(conn)?
        > 0)
}
