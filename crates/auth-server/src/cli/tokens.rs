//! `auth-server token revoke`: the day of a breach, end every grant of a client or of a user at
//! once, as RFC 7009 revocation would one token at a time.

use clap::{ArgGroup, Subcommand};

use super::CliError;
use crate::db::revocation::{self, Holder};
use crate::db::write_transaction;
use crate::db::{clients, users, Opening};
use crate::domain::clock;
use crate::settings::Settings;
use crate::startup::open_store;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke every access token, refresh token and code of a client, or of a user (whose
    /// sign-in sessions end too). Resource servers that cache introspection answers refuse the
    /// tokens within their cache time; JWT-mode resource servers when the JWTs expire.
    #[command(group(ArgGroup::new("holder").required(true).args(["client_id", "username"])))]
    Revoke {
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long)]
        username: Option<String>,
    },
}

pub fn run(command: TokenCommand, settings: &Settings) -> Result<(), CliError> {
    let TokenCommand::Revoke {
        client_id,
        username,
    } = command;
    let store = open_store(settings, Opening::Existing)?;
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let now_millis = clock::now_millis();
    let (holder, whose) = match (&client_id, &username) {
        (Some(id), None) => (Holder::Client(id), format!("client {id}")),
        (None, Some(name)) => (Holder::User(name), format!("user {name}")),
        _ => return Err("give exactly one of --client-id and --username".into()),
    };
    // A mistyped id must not look like a breach handled.
    let known = match holder {
        Holder::Client(id) => clients::find_row(&mut conn, id)?.is_some(),
        Holder::User(name) => users::find(&mut conn, name)?.is_some(),
    };
    if !known {
        return Err(format!("no {whose}").into());
    }
    let ended = write_transaction(&mut conn, |conn| {
        let ended = revocation::end_grants_of(conn, holder, now_millis / 1000)?;
        if let Holder::User(name) = holder {
            users::end_sessions(conn, name, now_millis)?;
        }
        Ok(ended)
    })?;
    println!(
        "revoked {} grants of {whose} ({} tokens and codes)",
        ended.grants, ended.tokens
    );
    Ok(())
}
