//! `auth-server spring import-tokens`: carry a live Spring `JdbcTokenStore` over (see
//! `spring::import`).

use std::io::Write;
use std::time::Duration;

use clap::Subcommand;

use super::CliError;
use crate::db::{spring_tokens, DatabaseUrl, Opening, Store};
use crate::domain::clock;
use crate::settings::Settings;
use crate::spring::import;
use crate::startup::open_store;

#[derive(Debug, Subcommand)]
pub enum SpringCommand {
    /// Import the tokens of Spring's oauth_access_token and oauth_refresh_token that have not
    /// expired, so they keep working here; safe to run again. Spring's tables are only read.
    ImportTokens {
        /// Spring's database, when it is not the configured one (sqlite:… or postgres://…).
        #[arg(long)]
        from: Option<String>,
        /// Say what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(command: SpringCommand, settings: &Settings) -> Result<(), CliError> {
    let SpringCommand::ImportTokens { from, dry_run } = command;
    let target = open_store(settings, Opening::Existing)?;
    let mut target_conn = target.conn()?;
    let rows = match from {
        Some(url) => {
            let url = DatabaseUrl::parse(&url)?;
            if let DatabaseUrl::Sqlite(path) = &url {
                if !path.exists() {
                    return Err(format!("no database at {}", path.display()).into());
                }
            }
            let timeout = Duration::from_millis(settings.database.connect_timeout_ms);
            let source = Store::open(&url, 1, timeout)?;
            let mut source_conn = source.conn()?;
            spring_tokens::read(&mut source_conn)?
        }
        None => spring_tokens::read(&mut target_conn)?,
    };
    let report = import::run(rows, &mut target_conn, clock::now(), dry_run)?;
    let mut out = std::io::stdout().lock();
    if dry_run {
        writeln!(
            out,
            "dry run: nothing was written; this is what an import would do"
        )?;
    }
    // Into a closed pipe (`| head`) the report is cut short, never a panic.
    match writeln!(out, "{report}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
