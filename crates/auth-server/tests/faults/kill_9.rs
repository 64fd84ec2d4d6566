//! docs/security.md, item 24: `kill -9` of the auth server under a token-issuing load, then a restart on
//! the same database. Every token whose 200 answer reached the client whole still validates, and
//! no row is half written.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use auth_server::db::schema::{
    oauth_access_token as access, oauth_refresh_token as refresh, oauth_token_family as family,
};
use diesel::prelude::*;

use test_support::on_both_backends;

use crate::harness::{
    database, http, ms, not_active, one_at_a_time, start_auth_server, Backend, Database,
};
use crate::load::Load;

#[on_both_backends]
async fn item_24_kill_9_under_load_every_token_answered_200_validates_after_restart(
    backend: Backend,
) {
    let _turn = one_at_a_time().await;
    let Some(db) = database(backend) else {
        return;
    };
    let http = http();
    let mut auth = start_auth_server(&db.url(), 0, &[]).await;
    let load = Load::issuing(&auth, 300).await;
    auth.kill_9();
    let killed = Instant::now();
    // The workers' requests in flight fail now; later ones are refused.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let finished = load.stop().await;

    let restarting = Instant::now();
    let mut auth = start_auth_server(&db.url(), 0, &[]).await;
    let restarted_in = restarting.elapsed();

    let tokens = finished.access_tokens();
    let cut_off = finished.count(|o| o.sent < killed && o.reply.is_err());
    let wrong: Vec<String> = finished
        .outcomes
        .iter()
        .filter_map(|o| match &o.reply {
            Ok(reply) if reply.status != 200 => {
                Some(format!("{}: {} {}", o.call, reply.status, reply.body))
            }
            _ => None,
        })
        .collect();
    let unstored = not_active(&http, &auth, &tokens).await;
    let rows = whole_rows(&db);

    println!(
        "item 24, kill -9 under load on {} (3 client_credentials, 1 password workers):\n  \
         answers: {}\n  {} requests in flight were cut off by the kill; restart took {} ms\n  \
         {} access tokens answered 200 before the kill: {} not active after the restart\n  {}",
        db.label(),
        finished.tally(),
        cut_off,
        ms(restarted_in),
        tokens.len(),
        unstored.len(),
        rows.as_deref().unwrap_or("rows: see the failure below"),
    );

    assert!(
        wrong.is_empty(),
        "answers before the kill:\n{}",
        wrong.join("\n")
    );
    assert!(
        tokens.len() >= 50,
        "too little load to mean anything: {}",
        finished.tally()
    );
    assert!(
        cut_off > 0,
        "the kill came between requests, not under load: {}",
        finished.tally()
    );
    assert!(
        unstored.is_empty(),
        "{} of {} tokens answered 200 do not validate after the restart:\n{}",
        unstored.len(),
        tokens.len(),
        unstored[..unstored.len().min(10)].join("\n")
    );
    if let Err(problem) = rows {
        panic!("{problem}");
    }
    auth.assert_alive_without_panic();
}

/// Every refresh token an access token names exists, every refresh token's grant exists, every
/// password grant has its refresh token, and a SQLite file passes its own integrity check.
fn whole_rows(db: &Database) -> Result<String, String> {
    let store = auth_server::db::Store::open(
        &auth_server::db::DatabaseUrl::parse(&db.url()).unwrap(),
        1,
        Duration::from_secs(5),
    )
    .map_err(|e| e.to_string())?;
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let access_rows: Vec<(Option<String>, String)> = access::table
        .select((access::refresh_token, access::grant_type))
        .load(&mut *conn)
        .map_err(|e| e.to_string())?;
    let refresh_rows: Vec<(String, String)> = refresh::table
        .select((refresh::token_id, refresh::family_id))
        .load(&mut *conn)
        .map_err(|e| e.to_string())?;
    let families: HashSet<String> = family::table
        .select(family::family_id)
        .load(&mut *conn)
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    let refresh_ids: HashSet<&str> = refresh_rows.iter().map(|(id, _)| id.as_str()).collect();
    let dangling = access_rows
        .iter()
        .filter(|(r, _)| r.as_deref().is_some_and(|r| !refresh_ids.contains(r)))
        .count();
    let orphans = refresh_rows
        .iter()
        .filter(|(_, f)| !families.contains(f))
        .count();
    let without_refresh = access_rows
        .iter()
        .filter(|(r, grant)| grant == "password" && r.is_none())
        .count();
    if dangling + orphans + without_refresh > 0 {
        return Err(format!(
            "half-written rows: {dangling} access tokens naming a missing refresh token, {orphans} \
             refresh tokens of a missing grant, {without_refresh} password grants without a \
             refresh token"
        ));
    }
    let integrity = match db {
        Database::Sqlite(_) => {
            #[derive(QueryableByName)]
            struct Check {
                #[diesel(sql_type = diesel::sql_types::Text)]
                integrity_check: String,
            }
            let path = db.url().trim_start_matches("sqlite://").to_owned();
            let mut sqlite =
                diesel::SqliteConnection::establish(&path).map_err(|e| e.to_string())?;
            let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
                .load(&mut sqlite)
                .map_err(|e| e.to_string())?;
            let verdict: Vec<String> = checks.into_iter().map(|c| c.integrity_check).collect();
            if verdict != ["ok"] {
                return Err(format!("PRAGMA integrity_check: {verdict:?}"));
            }
            "; PRAGMA integrity_check: ok"
        }
        Database::Postgres { .. } => "",
    };
    Ok(format!(
        "rows: {} access, {} refresh, {} grants, none half written{integrity}",
        access_rows.len(),
        refresh_rows.len(),
        families.len()
    ))
}
