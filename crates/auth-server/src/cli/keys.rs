//! `auth-server keys list|rotate|retire`: the JWT signing keys kept in the database
//! (docs/jwt.md, the rotation runbook).

use clap::Subcommand;

use super::CliError;
use crate::db::keys;
use crate::db::Opening;
use crate::domain::clock;
use crate::settings::Settings;
use crate::signing::store::{self, Retired};
use crate::signing::SigningAlgorithm;
use crate::startup::open_store;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: which signs, which wait, which are retired.
    List,
    /// Add a new key: published at once, signing after jwt.rotation_delay_seconds.
    Rotate {
        /// Seconds before it signs (default: jwt.rotation_delay_seconds). 0 signs at once, before
        /// resource servers that cache the key set have seen it.
        #[arg(long)]
        delay_seconds: Option<i64>,
    },
    /// Stop a key signing; it stays published until every token it signed has expired.
    Retire {
        // A key id is base64url and may begin with "-": it is still the value, not a flag.
        #[arg(long, allow_hyphen_values = true)]
        kid: String,
    },
}

fn when(at: i64) -> String {
    if at == i64::MAX {
        return "never".into();
    }
    chrono::DateTime::from_timestamp(at, 0).map_or_else(|| at.to_string(), |t| t.to_rfc3339())
}

pub fn run(command: KeysCommand, settings: &Settings) -> Result<(), CliError> {
    if settings.jwt.algorithm == SigningAlgorithm::HS256 || settings.jwt.private_key_file.is_some()
    {
        return Err(
            "the signing key is configured (jwt.secret or jwt.private_key_file), not kept \
                    in the database: change the configuration to rotate it"
                .into(),
        );
    }
    let store = open_store(settings, Opening::Existing)?;
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let now = clock::now();
    match command {
        KeysCommand::List => {
            println!("{:<44} {:<6} {:<26} STATE", "KID", "ALG", "CREATED");
            for row in keys::all(&mut conn)? {
                let state = match (row.retired_at, row.unpublish_at) {
                    (Some(_), Some(until)) if until <= now => "unpublished".to_owned(),
                    (Some(at), until) => format!(
                        "retired {}, published until {}",
                        when(at),
                        until.map_or("never".into(), when)
                    ),
                    (None, _) if row.signs_from > now => {
                        format!("published, signs from {}", when(row.signs_from))
                    }
                    (None, _) => "published, signing".to_owned(),
                };
                println!(
                    "{:<44} {:<6} {:<26} {state}",
                    row.kid,
                    row.algorithm,
                    when(row.created_at)
                );
            }
            Ok(())
        }
        KeysCommand::Rotate { delay_seconds } => {
            let kek = settings.jwt.kek().map_err(|e| e.to_string())?;
            let delay = delay_seconds.unwrap_or(settings.jwt.rotation_delay_seconds);
            let row = store::rotate(&mut conn, settings.jwt.algorithm, kek.as_ref(), now, delay)
                .map_err(|e| e.to_string())?;
            println!(
                "added {} key {}: published now, signs from {}; retire the old one after that \
                 with `auth-server keys retire --kid …`",
                row.algorithm,
                row.kid,
                when(row.signs_from)
            );
            Ok(())
        }
        KeysCommand::Retire { kid } => {
            // Replicas keep signing with it until they reread the keys; a minute more for clocks.
            let grace = i64::try_from(settings.jwt.reload_seconds)
                .unwrap_or(i64::MAX)
                .saturating_add(60);
            match store::retire(
                &mut conn,
                &kid,
                now,
                settings.tokens.access_token_validity,
                grace,
            )? {
                Retired::Until(until) => {
                    println!(
                        "key {kid} retired: signs no more, published until {}",
                        when(until)
                    );
                    Ok(())
                }
                Retired::NoSuchKey => {
                    Err(format!("no signing key {kid:?} that is not retired").into())
                }
                Retired::LastKey => Err(format!(
                    "no other key signs yet, so {kid:?} must go on signing: `auth-server keys \
                     rotate` first, and retire it once the new key signs"
                )
                .into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    /// A thumbprint kid begins with "-" one time in 64 (base64url); it broke a CI run once.
    #[test]
    fn a_kid_that_begins_with_a_hyphen_is_a_value() {
        let cli = Cli::try_parse_from(["auth-server", "keys", "retire", "--kid", "-hjJZx7On"])
            .expect("parsed");
        match cli.command {
            Some(Command::Keys(super::KeysCommand::Retire { kid })) => assert_eq!(kid, "-hjJZx7On"),
            other => panic!("{other:?}"),
        }
    }
}
