//! `auth-server spring import-tokens`: the tokens a live Spring `JdbcTokenStore` holds, carried
//! into this server's tables so that nobody signs in again and no integration's refresh token
//! dies on migration day (docs/spring.md, "Migrating without signing anyone out").
//!
//! Each Spring grant (an access token and its refresh token, or either alone) becomes a grant
//! family here, keyed by its Spring token id, so a second run finds what the first stored and
//! changes nothing: not even a token of it revoked here since, which stays revoked. Spring's tables are only read. Token values go into hashes at once; the
//! report names rows by Spring's `token_id` (an MD5 of the value, which Spring stored in clear
//! beside it anyway), never by their value.

use std::collections::{HashMap, HashSet};

use crate::db::spring_tokens::{SpringAccessRow, SpringRefreshRow};
use crate::db::tokens::{self, AccessTokenRecord, RefreshTokenRecord};
use crate::db::{clients, users, write_transaction, DbConnection, StoreError};
use crate::domain::token_value;

use super::token_store::{self, SpringAccessToken, SpringAuthentication, SpringRefreshToken};

/// What one run did (or, dry, would do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub imported_access: usize,
    pub imported_refresh: usize,
    /// Of grants an earlier run imported: left as they are here now.
    pub already_here: usize,
    pub expired: usize,
    pub unknown_client: usize,
    pub unknown_user: usize,
    /// `(table and token_id, why)`.
    pub unreadable: Vec<(String, String)>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "imported: {} access tokens, {} refresh tokens",
            self.imported_access, self.imported_refresh
        )?;
        writeln!(f, "already imported: {}", self.already_here)?;
        writeln!(f, "skipped, expired: {}", self.expired)?;
        writeln!(
            f,
            "skipped, client no longer registered: {}",
            self.unknown_client
        )?;
        writeln!(f, "skipped, user no longer exists: {}", self.unknown_user)?;
        write!(f, "unreadable: {}", self.unreadable.len())?;
        for (row, why) in &self.unreadable {
            write!(f, "\n  {row}: {why}")?;
        }
        Ok(())
    }
}

/// One Spring grant, read.
struct Grant {
    /// Spring's token id of its refresh token, else of its access token.
    key: String,
    authentication: SpringAuthentication,
    authentication_id: Option<String>,
    access: Option<SpringAccessToken>,
    refresh: Option<SpringRefreshToken>,
}

fn key_of(row: &Option<String>) -> String {
    row.clone().unwrap_or_default()
}

/// A token blob read by `read`, and the authentication blob beside it.
fn read_row<T>(
    token: Option<&[u8]>,
    authentication: Option<&[u8]>,
    read: impl FnOnce(&[u8]) -> Result<T, super::java_stream::Unreadable>,
) -> Result<(T, SpringAuthentication), String> {
    let token = read(token.ok_or("no token")?).map_err(|e| format!("token: {e}"))?;
    let authentication = token_store::authentication(authentication.ok_or("no authentication")?)
        .map_err(|e| format!("authentication: {e}"))?;
    Ok((token, authentication))
}

fn read_access(row: &SpringAccessRow) -> Result<(SpringAccessToken, SpringAuthentication), String> {
    read_row(
        row.token.as_deref(),
        row.authentication.as_deref(),
        token_store::access_token,
    )
}

fn read_refresh(
    row: &SpringRefreshRow,
) -> Result<(SpringRefreshToken, SpringAuthentication), String> {
    read_row(
        row.token.as_deref(),
        row.authentication.as_deref(),
        token_store::refresh_token,
    )
}

/// Spring's rows as grants: each access token with the refresh token it names, then each refresh
/// token no access token named (Spring deleted an expired access token once it was refreshed).
fn grants(
    access_rows: &[SpringAccessRow],
    refresh_rows: &[SpringRefreshRow],
    report: &mut Report,
) -> Vec<Grant> {
    let mut refresh_by_id = HashMap::new();
    for row in refresh_rows {
        match read_refresh(row) {
            Ok(read) => {
                refresh_by_id.insert(key_of(&row.token_id), read);
            }
            Err(why) => report.unreadable.push((
                format!("oauth_refresh_token {}", key_of(&row.token_id)),
                why,
            )),
        }
    }
    let mut claimed = HashSet::new();
    let mut grants = Vec::new();
    for row in access_rows {
        let (access, authentication) = match read_access(row) {
            Ok(read) => read,
            Err(why) => {
                report
                    .unreadable
                    .push((format!("oauth_access_token {}", key_of(&row.token_id)), why));
                continue;
            }
        };
        let refresh_id = row.refresh_token.clone();
        // Only from its own row: the token blob names its refresh token too, but a refresh token
        // whose row Spring deleted was revoked or used up, and must stay dead.
        let refresh = match &refresh_id {
            Some(id) => refresh_by_id.get(id).map(|(token, _)| token.clone()),
            None => None,
        };
        if let Some(id) = &refresh_id {
            claimed.insert(id.clone());
        }
        grants.push(Grant {
            key: refresh_id.unwrap_or_else(|| key_of(&row.token_id)),
            authentication,
            authentication_id: row.authentication_id.clone(),
            access: Some(access),
            refresh,
        });
    }
    let mut orphans: Vec<_> = refresh_by_id
        .into_iter()
        .filter(|(id, _)| !claimed.contains(id))
        .collect();
    orphans.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, (refresh, authentication)) in orphans {
        grants.push(Grant {
            key: id,
            authentication,
            authentication_id: None,
            access: None,
            refresh: Some(refresh),
        });
    }
    grants
}

/// The grant family of the Spring grant `key`: the same one on every run, shaped like the UUIDs
/// family ids are (the column holds 36 characters).
fn family_id(key: &str) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(format!("spring:{key}").as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &digest[0..8],
        &digest[8..12],
        &digest[12..16],
        &digest[16..20],
        &digest[20..32]
    )
}

fn live(expires_at: Option<i64>, now: i64) -> bool {
    expires_at.is_none_or(|at| at > now)
}

/// Imports Spring's rows (`spring_tokens::read` of its database, or of this one) into `target`;
/// with `dry_run`, counts what it would import and writes nothing.
pub fn run(
    (access_rows, refresh_rows): (Vec<SpringAccessRow>, Vec<SpringRefreshRow>),
    target: &mut DbConnection,
    now: i64,
    dry_run: bool,
) -> Result<Report, StoreError> {
    let mut report = Report::default();
    for grant in grants(&access_rows, &refresh_rows, &mut report) {
        import(target, &grant, now, dry_run, &mut report)?;
    }
    Ok(report)
}

fn import(
    conn: &mut DbConnection,
    grant: &Grant,
    now: i64,
    dry_run: bool,
    report: &mut Report,
) -> Result<(), StoreError> {
    let tokens = usize::from(grant.access.is_some()) + usize::from(grant.refresh.is_some());
    let auth = &grant.authentication;
    if clients::find_row(conn, &auth.client_id)?.is_none() {
        report.unknown_client += tokens;
        return Ok(());
    }
    if let Some(user) = &auth.user_name {
        if users::find(conn, user)?.is_none() {
            report.unknown_user += tokens;
            return Ok(());
        }
    }
    let access = grant.access.as_ref().filter(|a| live(a.expires_at, now));
    let refresh = grant.refresh.as_ref().filter(|r| live(r.expires_at, now));
    report.expired += tokens - usize::from(access.is_some()) - usize::from(refresh.is_some());
    if access.is_none() && refresh.is_none() {
        return Ok(());
    }
    let family_id = family_id(&grant.key);
    let scope = auth.scope.join(",");
    let authorities = auth.authorities.join(",");
    let resource_ids = auth.resource_ids.join(",");
    let refresh_record = refresh.map(|r| RefreshTokenRecord {
        token_id: token_value::hash(&r.value),
        family_id: family_id.clone(),
        client_id: auth.client_id.clone(),
        user_name: auth.user_name.clone(),
        scope: scope.clone(),
        authorities: authorities.clone(),
        resource_ids: resource_ids.clone(),
        issued_at: now,
        expires_at: r.expires_at,
        rotated_at: None,
    });
    let access_record = access.map(|a| AccessTokenRecord {
        token_id: token_value::hash(&a.value),
        authentication_id: grant.authentication_id.clone().unwrap_or_default(),
        user_name: auth.user_name.clone(),
        client_id: auth.client_id.clone(),
        refresh_token: refresh_record.as_ref().map(|r| r.token_id.clone()),
        family_id: family_id.clone(),
        grant_type: auth.grant_type.clone().unwrap_or_else(|| {
            match auth.user_name {
                Some(_) => "password",
                None => "client_credentials",
            }
            .to_owned()
        }),
        // The access token's own scope: a refresh may have narrowed it below the grant's.
        scope: a.scope.join(","),
        authorities: authorities.clone(),
        resource_ids: resource_ids.clone(),
        issued_at: now,
        expires_at: a.expires_at,
    });
    let write = |conn: &mut DbConnection| -> Result<(usize, usize, usize), StoreError> {
        // A grant imported before is left as it is here now: a token of it that is gone was
        // revoked, ended with its user's password, or refreshed away since, and must stay gone.
        if tokens::family_exists(conn, &family_id)? {
            let here = usize::from(access_record.is_some()) + usize::from(refresh_record.is_some());
            return Ok((0, 0, here));
        }
        if !dry_run {
            tokens::create_family(
                conn,
                &family_id,
                &auth.client_id,
                auth.user_name.as_deref(),
                now,
            )?;
            if let Some(record) = &refresh_record {
                tokens::insert_refresh(conn, record)?;
            }
            if let Some(record) = &access_record {
                tokens::insert_access(conn, record)?;
            }
        }
        Ok((
            usize::from(access_record.is_some()),
            usize::from(refresh_record.is_some()),
            0,
        ))
    };
    let (access_new, refresh_new, here) = if dry_run {
        write(conn)?
    } else {
        write_transaction(conn, write)?
    };
    report.imported_access += access_new;
    report.imported_refresh += refresh_new;
    report.already_here += here;
    Ok(())
}
