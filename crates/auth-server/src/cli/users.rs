//! `auth-server user add|list|remove|passwd`: Spring Security's JDBC user store.

use clap::Subcommand;

use super::{passwords, secret_from, CliError};
use crate::db::Opening;
use crate::db::{users, StoreError};
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
    /// Remove a user and its authorities.
    Remove {
        #[arg(long)]
        username: String,
    },
    /// Set a user's password.
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
            if users::delete(&mut conn, &username).map_err(|e| e.to_string())? {
                println!("user {username} removed");
                Ok(())
            } else {
                Err(format!("no user {username:?}").into())
            }
        }
        UserCommand::Passwd { username, password } => {
            let plain = secret_from(password, "password")?;
            let encoded = passwords(settings)?
                .encode(&plain)
                .map_err(|e| e.to_string())?;
            if users::set_password(&mut conn, &username, &encoded).map_err(|e| e.to_string())? {
                println!("password of {username} changed");
                Ok(())
            } else {
                Err(format!("no user {username:?}").into())
            }
        }
    }
}
