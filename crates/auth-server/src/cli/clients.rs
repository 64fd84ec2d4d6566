//! `auth-server client add|list|show|update|remove`: flags named after the `oauth_client_details`
//! columns, and a few kept in its `additional_information` JSON object.

use clap::{ArgGroup, Args, Subcommand};
use serde_json::{Map, Value};
use shared::Scope;

use super::{passwords, secret_from, CliError};
use crate::db::clients::{self, ClientRow};
use crate::db::Opening;
use crate::db::{write_transaction, StoreError};
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
    /// Change what a registered client's new access tokens are, or where it may send the user
    /// after logging out.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)))]
    Update {
        #[arg(long)]
        client_id: String,
        /// jwt: signed JWTs resource servers verify with the published keys; opaque: random
        /// values checked by introspection (stored in additional_information).
        #[arg(long, value_parser = ["jwt", "opaque"], group = "change")]
        access_token_type: Option<String>,
        /// Replaces the registered post-logout redirect URIs; repeat for several, or give ''
        /// alone to remove them all.
        #[arg(long, value_name = "URI", group = "change")]
        post_logout_redirect_uri: Vec<String>,
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
    /// Where the client may send the user after logging out (OpenID Connect RP-initiated
    /// logout); repeat for several. Kept in additional_information as
    /// {"post_logout_redirect_uris": […]}.
    #[arg(long, value_name = "URI")]
    post_logout_redirect_uri: Vec<String>,
}

/// The `additional_information` column's size in Spring's schema.
const ADDITIONAL_INFORMATION_MAX: usize = 4096;

/// A key of `additional_information` to set (`Some`) or remove (`None`).
type InfoChange = (&'static str, Option<Value>);

/// `info` (a JSON object or nothing) with `changes` made; every other key is kept.
fn changed_info(info: Option<&str>, changes: &[InfoChange]) -> Result<String, String> {
    let mut object = match info.map(serde_json::from_str::<Value>) {
        None => Map::new(),
        Some(Ok(Value::Object(object))) => object,
        Some(_) => return Err("additional_information must be a JSON object".into()),
    };
    for (key, value) in changes {
        match value {
            Some(value) => object.insert((*key).to_owned(), value.clone()),
            None => object.remove(*key),
        };
    }
    let json = Value::Object(object).to_string();
    if json.chars().count() > ADDITIONAL_INFORMATION_MAX {
        return Err(format!(
            "additional_information would be longer than {ADDITIONAL_INFORMATION_MAX} characters"
        ));
    }
    Ok(json)
}

/// The `--post-logout-redirect-uri` values, checked as redirect URIs are (absolute, no fragment,
/// no script scheme): `None` when none was given, an empty list for a lone `''`.
fn post_logout_redirect_uris(given: &[String]) -> Result<Option<Vec<String>>, String> {
    if given.is_empty() {
        return Ok(None);
    }
    if given.iter().any(String::is_empty) {
        if given.len() > 1 {
            return Err(
                "--post-logout-redirect-uri '' removes them all; give it alone, or give URIs"
                    .into(),
            );
        }
        return Ok(Some(Vec::new()));
    }
    let mut uris: Vec<String> = Vec::with_capacity(given.len());
    for uri in given {
        redirect_uri::validate_registration(uri)
            .map_err(|e| format!("--post-logout-redirect-uri: {e}"))?;
        if !uris.contains(uri) {
            uris.push(uri.clone());
        }
    }
    Ok(Some(uris))
}

/// The change to `additional_information` for the post-logout redirect URIs given: an empty
/// list removes the key.
fn post_logout_change(uris: &[String]) -> InfoChange {
    (
        "post_logout_redirect_uris",
        (!uris.is_empty()).then(|| Value::from(uris.to_vec())),
    )
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
            post_logout_redirect_uri,
        } => {
            let post_logout = post_logout_redirect_uris(&post_logout_redirect_uri)?;
            let mut changes = Vec::new();
            if let Some(kind) = &access_token_type {
                changes.push(("access_token_type", Some(Value::from(kind.as_str()))));
            }
            if let Some(uris) = &post_logout {
                changes.push(post_logout_change(uris));
            }
            // Read and written in one transaction, so a concurrent update's keys are not lost.
            let outcome = write_transaction(&mut conn, |c| {
                let Some(row) = clients::find_row(c, &client_id)? else {
                    return Ok(Err(format!("no client {client_id:?}")));
                };
                let info = match changed_info(
                    row.additional_information
                        .as_deref()
                        .filter(|i| !i.trim().is_empty()),
                    &changes,
                ) {
                    Ok(info) => info,
                    Err(refused) => return Ok(Err(refused)),
                };
                clients::set_additional_information(c, &client_id, &info)?;
                Ok(Ok(()))
            })?;
            outcome?;
            if let Some(kind) = access_token_type {
                println!(
                    "client {client_id}: new access tokens are {kind} (within \
                     security.client_cache_seconds on a running server)"
                );
            }
            match post_logout.as_deref() {
                None => {}
                Some([]) => println!("client {client_id}: no post-logout redirect URIs"),
                Some(uris) => println!(
                    "client {client_id}: post-logout redirect URIs {}",
                    uris.join(" ")
                ),
            }
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
            match serde_json::from_str::<Value>(info) {
                Ok(Value::Object(_)) => {}
                _ => return Err("--additional-information must be a JSON object".into()),
            }
        }
        let mut changes = Vec::new();
        if let Some(kind) = &self.access_token_type {
            changes.push(("access_token_type", Some(Value::from(kind.as_str()))));
        }
        if let Some(uris) = post_logout_redirect_uris(&self.post_logout_redirect_uri)? {
            changes.push(post_logout_change(&uris));
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
            additional_information: if changes.is_empty() {
                self.additional_information.clone()
            } else {
                Some(changed_info(
                    self.additional_information.as_deref(),
                    &changes,
                )?)
            },
            autoapprove: self.autoapprove.clone().or(Some("false".into())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(uris: &[&str]) -> Vec<String> {
        uris.iter().map(|u| (*u).to_owned()).collect()
    }

    #[test]
    fn post_logout_redirect_uris_are_absolute_without_fragment_and_a_lone_empty_one_clears() {
        assert_eq!(post_logout_redirect_uris(&[]), Ok(None));
        assert_eq!(post_logout_redirect_uris(&given(&[""])), Ok(Some(vec![])));
        assert_eq!(
            post_logout_redirect_uris(&given(&[
                "https://app.example/bye",
                "com.example.app:/logout",
                "https://app.example/bye",
            ])),
            Ok(Some(given(&[
                "https://app.example/bye",
                "com.example.app:/logout"
            ]))),
            "kept in order, once each"
        );
        for (bad, message) in [
            ("/bye", "not an absolute URI"),
            ("https://app.example/bye#top", "fragment"),
            ("javascript:alert(1)", "scheme is not allowed"),
            ("https:///bye", "needs a host"),
        ] {
            let err = post_logout_redirect_uris(&given(&[bad])).unwrap_err();
            assert!(
                err.starts_with("--post-logout-redirect-uri") && err.contains(message),
                "{bad}: {err}"
            );
        }
        assert!(post_logout_redirect_uris(&given(&["", "https://a.example/"])).is_err());
    }

    #[test]
    fn additional_information_changes_keep_the_other_keys() {
        let uris = given(&["https://app.example/bye"]);
        let info = changed_info(
            Some(r#"{"rotate_refresh_tokens":true,"access_token_type":"jwt"}"#),
            &[post_logout_change(&uris)],
        )
        .unwrap();
        let object: Value = serde_json::from_str(&info).unwrap();
        assert_eq!(object["rotate_refresh_tokens"], true);
        assert_eq!(object["access_token_type"], "jwt");
        assert_eq!(
            object["post_logout_redirect_uris"],
            serde_json::json!(["https://app.example/bye"])
        );
        let cleared = changed_info(Some(&info), &[post_logout_change(&[])]).unwrap();
        assert_eq!(
            cleared,
            r#"{"access_token_type":"jwt","rotate_refresh_tokens":true}"#
        );
        assert!(changed_info(Some("[1]"), &[]).is_err());
        let long = given(&[&format!("https://app.example/{}", "x".repeat(4096))]);
        let err = changed_info(None, &[post_logout_change(&long)]).unwrap_err();
        assert!(err.contains("longer than 4096"), "{err}");
    }
}
