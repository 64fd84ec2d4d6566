//! `auth-server user add|list|remove|passwd`: Spring Security's JDBC user store.

use clap::Subcommand;

use super::{passwords, secret_from, CliError};
use crate::db::Opening;
use crate::db::{users, DbConnection, StoreError};
use crate::domain::client::comma_list;
use crate::settings::Settings;
use crate::startup::open_store;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (enabled).
    Add {
        #[arg(long)]
        username: String,
        /// Stored bcrypt-hashed; left out, it is read from standard input.
        #[arg(long)]
        password: Option<String>,
        /// Comma list, e.g. ROLE_ADMIN,ROLE_USER.
        #[arg(long, default_value = "ROLE_USER")]
        authorities: String,
    },
    /// List users and their authorities.
    List,
    /// Remove a user and its authorities, ending its grants and browser sessions.
    Remove {
        #[arg(long)]
        username: String,
    },
    /// Disable a user: it can no longer sign in, and its grants and browser sessions end.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a user again (its ended grants stay ended).
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Set a user's password; ends its grants and browser sessions unless
    /// security.revoke_on_password_change is false.
    Passwd {
        #[arg(long)]
        username: String,
        /// Left out, it is read from standard input.
        #[arg(long)]
        password: Option<String>,
    },
}

pub fn run(command: UserCommand, settings: &Settings) -> Result<(), CliError> {
    let store = open_store(settings, Opening::Existing)?;
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    match command {
        UserCommand::Add {
            username,
            password,
            authorities,
        } => {
            if username.is_empty() || username.len() > 50 {
                return Err("--username must have 1 to 50 characters".into());
            }
            let granted = comma_list(Some(&authorities));
            if granted.is_empty() {
                return Err(
                    "--authorities must name at least one (Spring refuses users without)".into(),
                );
            }
            if let Some(long) = granted.iter().find(|a| a.len() > 50) {
                return Err(format!("--authorities: {long:?} is longer than 50 characters").into());
            }
            let plain = secret_from(password, "password")?;
            let encoded = passwords(settings)?
                .encode(&plain)
                .map_err(|e| e.to_string())?;
            match users::insert(&mut conn, &username, &encoded, &granted) {
                Ok(()) => {
                    println!("user {username} added");
                    Ok(())
                }
                Err(StoreError::Conflict(_)) => {
                    Err(format!("user {username:?} already exists").into())
                }
                Err(e) => Err(e.into()),
            }
        }
        UserCommand::List => {
            println!("{:<24} {:<8} AUTHORITIES", "USERNAME", "ENABLED");
            for user in users::list(&mut conn).map_err(|e| e.to_string())? {
                println!(
                    "{:<24} {:<8} {}",
                    user.username,
                    user.enabled,
                    user.authorities.join(",")
                );
            }
            Ok(())
        }
        UserCommand::Remove { username } => {
            let ended = end_everything_of(&mut conn, &username, users::delete)?;
            println!("user {username} removed; {ended}");
            Ok(())
        }
        UserCommand::Disable { username } => {
            let ended =
                end_everything_of(&mut conn, &username, |c, u| users::set_enabled(c, u, false))?;
            println!("user {username} disabled; {ended}");
            Ok(())
        }
        UserCommand::Enable { username } => {
            if !users::set_enabled(&mut conn, &username, true)? {
                return Err(format!("no user {username:?}").into());
            }
            println!("user {username} enabled");
            Ok(())
        }
        UserCommand::Passwd { username, password } => {
            let plain = secret_from(password, "password")?;
            let encoded = passwords(settings)?.encode(&plain)?;
            let change = |c: &mut DbConnection, u: &str| users::set_password(c, u, &encoded);
            if settings.security.revoke_on_password_change {
                let ended = end_everything_of(&mut conn, &username, change)?;
                println!("password of {username} changed; {ended}");
            } else {
                if !change(&mut conn, &username)? {
                    return Err(format!("no user {username:?}").into());
                }
                println!("password of {username} changed; its grants and sessions go on");
            }
            Ok(())
        }
    }
}

/// Changes the user with `change`, ending its grants and sessions; says what ended.
fn end_everything_of(
    conn: &mut DbConnection,
    username: &str,
    change: impl FnOnce(&mut DbConnection, &str) -> Result<bool, StoreError>,
) -> Result<String, CliError> {
    let ended = users::change_ending_everything(conn, username, change)?
        .ok_or_else(|| CliError::from(format!("no user {username:?}")))?;
    Ok(format!(
        "ended {} grants ({} tokens) and every browser session",
        ended.grants, ended.tokens
    ))
}
