//! `auth-server client add|list|show|remove`: flags named after the `oauth_client_details` columns.

use clap::{Args, Subcommand};
use shared::Scope;

use super::{passwords, secret_from, CliError};
use crate::db::clients::{self, ClientRow};
use crate::db::Opening;
use crate::db::StoreError;
use crate::domain::client::comma_list;
use crate::domain::clock;
use crate::domain::grant_type::GrantType;
use crate::domain::redirect_uri;
use crate::settings::Settings;
use crate::startup::open_store;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client.
    Add(Box<AddClient>),
    /// List registered clients.
    List,
    /// Show one client.
    Show {
        #[arg(long)]
        client_id: String,
    },
    /// Change what a registered client's new access tokens are.
    Update {
        #[arg(long)]
        client_id: String,
        /// jwt: signed JWTs resource servers verify with the published keys; opaque: random
        /// values checked by introspection (stored in additional_information).
        #[arg(long, value_parser = ["jwt", "opaque"])]
        access_token_type: String,
    },
    /// Remove a client, ending every grant and token it has.
    Remove {
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Debug, Args)]
pub struct AddClient {
    #[arg(long)]
    client_id: String,
    /// Stored bcrypt-hashed. Leave out for a public client (no secret); use --secret-stdin to read
    /// it from standard input instead.
    #[arg(long, conflicts_with = "secret_stdin")]
    secret: Option<String>,
    #[arg(long)]
    secret_stdin: bool,
    /// Comma list of the scopes the client may ask for.
    #[arg(long)]
    scope: Option<String>,
    /// Comma list of authorization_code, implicit, password, client_credentials, refresh_token.
    /// Left out, Spring's default applies: authorization_code,refresh_token.
    #[arg(long)]
    grant_types: Option<String>,
    /// Comma list of registered redirect URIs.
    #[arg(long)]
    redirect_uri: Option<String>,
    /// "true" to skip the approval page for every scope, or a comma list of scope patterns.
    #[arg(long)]
    autoapprove: Option<String>,
    /// Comma list of the resource servers the client's tokens are for (empty: all).
    #[arg(long)]
    resource_ids: Option<String>,
    /// Comma list of authorities of client-only tokens, e.g. ROLE_TRUSTED_CLIENT.
    #[arg(long)]
    authorities: Option<String>,
    /// Seconds; 0 or less: never expires. Left out: the server's tokens.access_token_validity.
    #[arg(long, allow_negative_numbers = true)]
    access_token_validity: Option<i32>,
    #[arg(long, allow_negative_numbers = true)]
    refresh_token_validity: Option<i32>,
    /// A JSON object, e.g. '{"rotate_refresh_tokens":true}'.
    #[arg(long)]
    additional_information: Option<String>,
    /// jwt or opaque (default: the server's tokens.access_token_type); kept in
    /// additional_information as {"access_token_type": …}.
    #[arg(long, value_parser = ["jwt", "opaque"])]
    access_token_type: Option<String>,
}

/// `info` (a JSON object or nothing) with `access_token_type` set.
fn with_access_token_type(info: Option<&str>, kind: &str) -> Result<String, CliError> {
    let mut object = match info.map(serde_json::from_str::<serde_json::Value>) {
        None => serde_json::Map::new(),
        Some(Ok(serde_json::Value::Object(object))) => object,
        Some(_) => return Err("additional_information must be a JSON object".into()),
    };
    object.insert("access_token_type".into(), kind.into());
    Ok(serde_json::Value::Object(object).to_string())
}

pub fn run(command: ClientCommand, settings: &Settings) -> Result<(), CliError> {
    let store = open_store(settings, Opening::Existing)?;
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    match command {
        ClientCommand::Add(args) => {
            let mut row = args.validate()?;
            let public = args.secret.is_none() && !args.secret_stdin;
            let grants = crate::domain::client::grant_types(
                &row.client_id,
                row.authorized_grant_types.as_deref(),
            );
            if public
                && grants.contains(&GrantType::RefreshToken)
                && settings.security.pkce_plain_allowed
            {
                eprintln!(
                    "warning: public client {} gets refresh tokens (rotated at every use) from \
                     codes whose PKCE challenge may be \"plain\", which anyone who sees the \
                     authorization request can answer; set security.pkce_plain_allowed = false \
                     unless a client needs plain",
                    row.client_id
                );
            }
            if args.secret.is_some() || args.secret_stdin {
                let plain = secret_from(args.secret.clone(), "client secret")?;
                row.client_secret = Some(
                    passwords(settings)?
                        .encode(&plain)
                        .map_err(|e| e.to_string())?,
                );
            }
            match clients::insert(&mut conn, &row) {
                Ok(()) => {
                    println!("client {} added", row.client_id);
                    Ok(())
                }
                Err(StoreError::Conflict(_)) => {
                    Err(format!("client {:?} already exists", row.client_id).into())
                }
                Err(e) => Err(e.into()),
            }
        }
        ClientCommand::List => {
            let rows = clients::list(&mut conn).map_err(|e| e.to_string())?;
            println!("{:<24} {:<60} SCOPE", "CLIENT_ID", "GRANT_TYPES");
            for row in rows {
                println!(
                    "{:<24} {:<60} {}",
                    row.client_id,
                    row.authorized_grant_types.unwrap_or_default(),
                    row.scope.unwrap_or_default()
                );
            }
            Ok(())
        }
        ClientCommand::Show { client_id } => {
            let row = clients::find_row(&mut conn, &client_id)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no client {client_id:?}"))?;
            print_row(&row);
            Ok(())
        }
        ClientCommand::Update {
            client_id,
            access_token_type,
        } => {
            let row = clients::find_row(&mut conn, &client_id)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no client {client_id:?}"))?;
            let info = with_access_token_type(
                row.additional_information
                    .as_deref()
                    .filter(|i| !i.trim().is_empty()),
                &access_token_type,
            )?;
            clients::set_additional_information(&mut conn, &client_id, &info)?;
            println!(
                "client {client_id}: new access tokens are {access_token_type} (within \
                 security.client_cache_seconds on a running server)"
            );
            Ok(())
        }
        ClientCommand::Remove { client_id } => {
            let ended = clients::remove(&mut conn, &client_id, clock::now())?
                .ok_or_else(|| format!("no client {client_id:?}"))?;
            println!(
                "client {client_id} removed; ended {} grants ({} tokens)",
                ended.grants, ended.tokens
            );
            Ok(())
        }
    }
}

fn print_row(row: &ClientRow) {
    let secret = crate::domain::secret::StoredSecret::parse(row.client_secret.as_deref());
    let show = |v: &Option<String>| v.clone().unwrap_or_default();
    let validity = |v: Option<i32>| v.map(|s| s.to_string()).unwrap_or("default".into());
    println!("client_id:               {}", row.client_id);
    println!(
        "client_secret:           {}",
        if secret.is_absent() {
            "none (public client)".to_owned()
        } else {
            format!("set ({})", secret.encoding())
        }
    );
    println!("resource_ids:            {}", show(&row.resource_ids));
    println!("scope:                   {}", show(&row.scope));
    println!(
        "authorized_grant_types:  {}",
        show(&row.authorized_grant_types)
    );
    println!(
        "web_server_redirect_uri: {}",
        show(&row.web_server_redirect_uri)
    );
    println!("authorities:             {}", show(&row.authorities));
    println!(
        "access_token_validity:   {}",
        validity(row.access_token_validity)
    );
    println!(
        "refresh_token_validity:  {}",
        validity(row.refresh_token_validity)
    );
    println!(
        "additional_information:  {}",
        show(&row.additional_information)
    );
    println!("autoapprove:             {}", show(&row.autoapprove));
}

impl AddClient {
    /// The row to insert, without the secret; every flag checked so nothing unusable is stored.
    fn validate(&self) -> Result<ClientRow, CliError> {
        let id = self.client_id.as_str();
        if id.is_empty() || id.len() > 256 {
            return Err("--client-id must have 1 to 256 characters".into());
        }
        if id
            .chars()
            .any(|c| c == ':' || c.is_whitespace() || c.is_control())
        {
            return Err("--client-id must not contain ':', spaces or control characters".into());
        }
        let grants = match &self.grant_types {
            None => Vec::new(),
            Some(list) => comma_list(Some(list))
                .iter()
                .map(|name| {
                    GrantType::parse(name).ok_or_else(|| {
                        format!(
                            "--grant-types: unknown grant type {name:?} (known: {})",
                            GrantType::ALL.map(GrantType::as_str).join(", ")
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let public = self.secret.is_none() && !self.secret_stdin;
        if public {
            if let Some(g) = grants
                .iter()
                .find(|g| matches!(g, GrantType::ClientCredentials | GrantType::Password))
            {
                return Err(
                    format!("--grant-types: a public client (no --secret) cannot use {g}").into(),
                );
            }
        }
        if let Some(scope) = &self.scope {
            for token in comma_list(Some(scope)) {
                Scope::parse(&token)
                    .ok()
                    .filter(|s| s.iter().count() == 1)
                    .ok_or_else(|| format!("--scope: {token:?} is not a valid scope"))?;
            }
        }
        for uri in comma_list(self.redirect_uri.as_deref()) {
            redirect_uri::validate_registration(&uri)
                .map_err(|e| format!("--redirect-uri: {e}"))?;
        }
        if let Some(info) = &self.additional_information {
            match serde_json::from_str::<serde_json::Value>(info) {
                Ok(serde_json::Value::Object(_)) => {}
                _ => return Err("--additional-information must be a JSON object".into()),
            }
        }
        let list = |v: &Option<String>| {
            v.as_deref()
                .map(|s| comma_list(Some(s)).join(","))
                .filter(|s| !s.is_empty())
        };
        Ok(ClientRow {
            client_id: self.client_id.clone(),
            client_secret: None,
            resource_ids: list(&self.resource_ids),
            scope: list(&self.scope),
            authorized_grant_types: (!grants.is_empty()).then(|| {
                grants
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            web_server_redirect_uri: list(&self.redirect_uri),
            authorities: list(&self.authorities),
            access_token_validity: self.access_token_validity,
            refresh_token_validity: self.refresh_token_validity,
            additional_information: match &self.access_token_type {
                Some(kind) => Some(with_access_token_type(
                    self.additional_information.as_deref(),
                    kind,
                )?),
                None => self.additional_information.clone(),
            },
            autoapprove: self.autoapprove.clone().or(Some("false".into())),
        })
    }
}
