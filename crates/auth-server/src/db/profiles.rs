//! `oauth_user_profile`: OpenID Connect profile claims, one row per user that has any.

use diesel::prelude::*;

use super::schema::oauth_user_profile as profile;
use super::{DbConnection, StoreError};
use crate::domain::profile::Profile;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = profile, treat_none_as_null = true)]
struct ProfileRow {
    username: String,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    nickname: Option<String>,
    preferred_username: Option<String>,
    picture: Option<String>,
    website: Option<String>,
    locale: Option<String>,
    zoneinfo: Option<String>,
    email: Option<String>,
    email_verified: bool,
    updated_at: i64,
}

impl ProfileRow {
    fn new(username: &str, p: Profile) -> Self {
        Self {
            username: username.to_owned(),
            name: p.name,
            given_name: p.given_name,
            family_name: p.family_name,
            nickname: p.nickname,
            preferred_username: p.preferred_username,
            picture: p.picture,
            website: p.website,
            locale: p.locale,
            zoneinfo: p.zoneinfo,
            email: p.email,
            email_verified: p.email_verified,
            updated_at: p.updated_at,
        }
    }

    fn profile(self) -> Profile {
        Profile {
            name: self.name,
            given_name: self.given_name,
            family_name: self.family_name,
            nickname: self.nickname,
            preferred_username: self.preferred_username,
            picture: self.picture,
            website: self.website,
            locale: self.locale,
            zoneinfo: self.zoneinfo,
            email: self.email,
            email_verified: self.email_verified,
            updated_at: self.updated_at,
        }
    }
}

pub fn find(conn: &mut DbConnection, username: &str) -> Result<Option<Profile>, StoreError> {
    Ok(profile::table
        .find(username)
        .select(ProfileRow::as_select())
        .get_result(conn)
        .optional()?
        .map(ProfileRow::profile))
}

/// Replaces the user's profile, inside the caller's transaction.
pub fn save(conn: &mut DbConnection, username: &str, value: Profile) -> Result<(), StoreError> {
    diesel::delete(profile::table.find(username)).execute(conn)?;
    diesel::insert_into(profile::table)
        .values(ProfileRow::new(username, value))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, username: &str) -> Result<(), StoreError> {
    diesel::delete(profile::table.find(username)).execute(conn)?;
    Ok(())
}
