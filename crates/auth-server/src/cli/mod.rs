//! The `auth-server` command line (docs/configuration.md).

mod clients;
mod keys;
mod spring;
mod tokens;
mod users;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::accounts::passwords::CheckSettings;
use crate::accounts::Passwords;
use crate::db::{Opening, StoreError};
use crate::settings::Settings;
use crate::startup::{open_store, serving, Application, StartupError};

#[derive(Debug, Parser)]
#[command(
    name = "auth-server",
    version,
    about = "OAuth 2.0 authorization server"
)]
pub struct Cli {
    /// TOML file with the settings to change (default: config/auth-server.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (what runs with no subcommand).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Insert the demo clients and user where absent, then exit.
    SeedDemo,
    /// Delete expired codes, tokens and approvals now (a server does it every
    /// purge.interval_seconds), then exit.
    Purge,
    /// Manage clients (the oauth_client_details table).
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Manage users (the users and authorities tables).
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage the JWT signing keys (the oauth_signing_key table).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Revoke tokens in bulk (one token: POST /oauth2/revoke).
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    /// Migrate from Spring Security OAuth2: import its token store.
    #[command(subcommand)]
    Spring(spring::SpringCommand),
}

/// Why a command failed; printed as it is.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot hash: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    #[error("{0}")]
    Serving(#[from] std::io::Error),
    /// What the user asked for cannot be done: a flag that does not parse, a duplicate id.
    #[error("{0}")]
    Refused(String),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Refused(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        CliError::Refused(message.to_owned())
    }
}

/// Runs one command to completion.
pub fn run(command: Command, settings: Settings) -> Result<(), CliError> {
    match command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            open_store(&settings, serving(&settings))?;
            println!("database is up to date");
            Ok(())
        }
        Command::SeedDemo => {
            let store = open_store(&settings, Opening::Existing)?;
            let passwords = passwords(&settings)?;
            let inserted = crate::seed::demo(&store, &passwords)?;
            if inserted.is_empty() {
                println!("demo data already present");
            }
            for item in inserted {
                println!("inserted {item}");
            }
            Ok(())
        }
        Command::Purge => {
            let store = open_store(&settings, Opening::Existing)?;
            let purged = crate::housekeeping::purge_once(&store, settings.purge.batch_size)?;
            println!(
                "deleted {} codes, {} access tokens, {} refresh tokens, {} approvals, {} token \
                 families",
                purged.codes,
                purged.access_tokens,
                purged.refresh_tokens,
                purged.approvals,
                purged.families
            );
            Ok(())
        }
        Command::Client(command) => clients::run(command, &settings),
        Command::User(command) => users::run(command, &settings),
        Command::Keys(command) => keys::run(command, &settings),
        Command::Token(command) => tokens::run(command, &settings),
        Command::Spring(command) => spring::run(command, &settings),
    }
}

fn serve(settings: Settings) -> Result<(), CliError> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        shared::shutdown::stop_on_signals(app.handle(), "auth-server");
        Ok(app.run_until_stopped().await?)
    })
}

fn passwords(settings: &Settings) -> Result<Passwords, CliError> {
    Ok(Passwords::new(&CheckSettings::for_tools(
        settings.security.bcrypt_cost,
    ))?)
}

/// A secret from its flag, or else one line of standard input (so it stays out of `ps` and shell
/// history: `auth-server user passwd --username bob < file`).
fn secret_from(flag: Option<String>, prompt: &str) -> Result<String, CliError> {
    if let Some(value) = flag {
        return Ok(value);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read {prompt}: {e}"))?;
    let value = line.trim_end_matches(['\r', '\n']).to_owned();
    if value.is_empty() {
        return Err(format!("{prompt} must not be empty").into());
    }
    Ok(value)
}
