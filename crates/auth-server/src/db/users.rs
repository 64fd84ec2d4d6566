//! Spring Security's JDBC user store, `users` and `authorities`, and when each user's browser
//! sessions were last ended (`oauth_user_sessions`, ours).

use diesel::prelude::*;

use super::revocation::{self, Ended, Holder};
use super::schema::{authorities, oauth_user_sessions as sessions, users};
use super::{write_transaction, DbConnection, StoreError};
use crate::domain::clock;
use crate::domain::secret::StoredSecret;
use crate::domain::user::User;

pub fn find(conn: &mut DbConnection, username: &str) -> Result<Option<User>, StoreError> {
    let row: Option<(String, String, bool, Option<i64>)> = users::table
        .left_join(sessions::table.on(sessions::username.eq(users::username)))
        .filter(users::username.eq(username))
        .select((
            users::username,
            users::password,
            users::enabled,
            sessions::valid_after.nullable(),
        ))
        .get_result(conn)
        .optional()?;
    let Some((username, password, enabled, sessions_valid_after)) = row else {
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
        sessions_valid_after,
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

/// Whether the user existed; inside the caller's transaction.
pub fn delete(conn: &mut DbConnection, username: &str) -> Result<bool, StoreError> {
    diesel::delete(authorities::table.filter(authorities::username.eq(username))).execute(conn)?;
    diesel::delete(sessions::table.find(username)).execute(conn)?;
    super::profiles::delete(conn, username)?;
    Ok(diesel::delete(users::table.find(username)).execute(conn)? > 0)
}

/// Enables or disables the user; whether it existed.
pub fn set_enabled(
    conn: &mut DbConnection,
    username: &str,
    enabled: bool,
) -> Result<bool, StoreError> {
    Ok(diesel::update(users::table.find(username))
        .set(users::enabled.eq(enabled))
        .execute(conn)?
        > 0)
}

/// Ends every browser session the user signed in before `now_millis`, inside the caller's
/// transaction.
pub fn end_sessions(
    conn: &mut DbConnection,
    username: &str,
    now_millis: i64,
) -> Result<(), StoreError> {
    diesel::delete(sessions::table.find(username)).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::username.eq(username),
            sessions::valid_after.eq(now_millis),
        ))
        .execute(conn)?;
    Ok(())
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

/// Changes a user with `change` and, in the same transaction, ends every grant and browser session
/// it has: whatever a thief took of it stops working on every replica at once. `None` when there
/// was no such user.
pub fn change_ending_everything(
    conn: &mut DbConnection,
    username: &str,
    change: impl FnOnce(&mut DbConnection, &str) -> Result<bool, StoreError>,
) -> Result<Option<Ended>, StoreError> {
    write_transaction(conn, |conn| {
        if !change(conn, username)? {
            return Ok(None);
        }
        let now = clock::now_millis();
        let ended = revocation::end_grants_of(conn, Holder::User(username), now / 1000)?;
        end_sessions(conn, username, now)?;
        Ok(Some(ended))
    })
}
