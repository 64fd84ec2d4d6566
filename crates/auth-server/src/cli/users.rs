//! `auth-server user add|list|show|update|remove|passwd`: Spring Security's JDBC user store, and
//! the OpenID Connect profile kept beside it (`oauth_user_profile`).

use clap::{Args, Subcommand};
use url::Url;

use super::{passwords, secret_from, CliError};
use crate::db::Opening;
use crate::db::{profiles, users, write_transaction, DbConnection, StoreError};
use crate::domain::client::comma_list;
use crate::domain::clock;
use crate::domain::profile::Profile;
use crate::settings::Settings;
use crate::startup::open_store;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (enabled), with the profile claims given.
    Add {
        #[arg(long)]
        username: String,
        /// Stored bcrypt-hashed; left out, it is read from standard input.
        #[arg(long)]
        password: Option<String>,
        /// Comma list, e.g. ROLE_ADMIN,ROLE_USER.
        #[arg(long, default_value = "ROLE_USER")]
        authorities: String,
        #[command(flatten)]
        profile: Box<ProfileArgs>,
    },
    /// List users and their authorities.
    List,
    /// Show one user and its profile claims.
    Show {
        #[arg(long)]
        username: String,
    },
    /// Change a user's profile claims: only those given; an empty value ('') clears one.
    Update {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        profile: Box<ProfileArgs>,
    },
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

/// The OpenID Connect profile claims (OIDC Core §5.1) a user may have; each left out is kept as it
/// is, and an empty value clears it.
#[derive(Debug, Default, Args)]
pub struct ProfileArgs {
    /// Full name, e.g. "Alice Liddell".
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    given_name: Option<String>,
    #[arg(long)]
    family_name: Option<String>,
    #[arg(long)]
    nickname: Option<String>,
    #[arg(long)]
    preferred_username: Option<String>,
    /// Absolute http(s) URL of the user's picture.
    #[arg(long)]
    picture: Option<String>,
    /// Absolute http(s) URL of the user's web page.
    #[arg(long)]
    website: Option<String>,
    /// BCP 47 language tag, e.g. en-US.
    #[arg(long)]
    locale: Option<String>,
    /// IANA time zone, e.g. Europe/Paris.
    #[arg(long)]
    zoneinfo: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// Whether the address is verified: --email-verified alone means true. Left out, a changed
    /// --email makes it false.
    #[arg(long, value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    email_verified: Option<bool>,
}

/// What a profile value must look like.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    HttpUrl,
    Email,
    Locale,
    TimeZone,
}

impl ProfileArgs {
    fn is_empty(&self) -> bool {
        [
            &self.name,
            &self.given_name,
            &self.family_name,
            &self.nickname,
            &self.preferred_username,
            &self.picture,
            &self.website,
            &self.locale,
            &self.zoneinfo,
            &self.email,
        ]
        .iter()
        .all(|v| v.is_none())
            && self.email_verified.is_none()
    }

    /// `base` with every claim given set (an empty value clears it), checked against the column
    /// limits of `oauth_user_profile`; `updated_at` is left as it was.
    fn overlay(&self, base: Profile) -> Result<Profile, String> {
        let mut p = base;
        let old_email = p.email.clone();
        for (flag, given, field, max, kind) in [
            ("--name", &self.name, &mut p.name, 256, Kind::Text),
            (
                "--given-name",
                &self.given_name,
                &mut p.given_name,
                256,
                Kind::Text,
            ),
            (
                "--family-name",
                &self.family_name,
                &mut p.family_name,
                256,
                Kind::Text,
            ),
            (
                "--nickname",
                &self.nickname,
                &mut p.nickname,
                256,
                Kind::Text,
            ),
            (
                "--preferred-username",
                &self.preferred_username,
                &mut p.preferred_username,
                256,
                Kind::Text,
            ),
            (
                "--picture",
                &self.picture,
                &mut p.picture,
                1024,
                Kind::HttpUrl,
            ),
            (
                "--website",
                &self.website,
                &mut p.website,
                1024,
                Kind::HttpUrl,
            ),
            ("--locale", &self.locale, &mut p.locale, 64, Kind::Locale),
            (
                "--zoneinfo",
                &self.zoneinfo,
                &mut p.zoneinfo,
                64,
                Kind::TimeZone,
            ),
            ("--email", &self.email, &mut p.email, 256, Kind::Email),
        ] {
            if let Some(value) = given {
                *field = if value.is_empty() {
                    None
                } else {
                    check(flag, value, max, kind)?;
                    Some(value.clone())
                };
            }
        }
        match self.email_verified {
            Some(verified) => p.email_verified = verified,
            // Whoever verified the old address did not verify the new one.
            None if p.email != old_email => p.email_verified = false,
            None => {}
        }
        if p.email_verified && p.email.is_none() {
            return Err("--email-verified needs an --email".into());
        }
        Ok(p)
    }
}

/// Refuses a value the column cannot hold or that is plainly not what the claim is.
fn check(flag: &str, value: &str, max: usize, kind: Kind) -> Result<(), String> {
    if value.chars().count() > max {
        return Err(format!("{flag} is longer than {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{flag} must not contain control characters"));
    }
    let fits = |ok: bool, what: &'static str| (!ok).then_some(what);
    let refused = match kind {
        Kind::Text => None,
        Kind::HttpUrl => fits(
            Url::parse(value).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some_and(|h| !h.is_empty())
            }),
            "is not an absolute http(s) URL",
        ),
        Kind::Email => fits(
            value.rsplit_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !value.contains(char::is_whitespace)
            }),
            "is not an email address",
        ),
        Kind::Locale => fits(
            value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "is not a language tag such as en-US",
        ),
        Kind::TimeZone => fits(
            value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c)),
            "is not a time zone such as Europe/Paris",
        ),
    };
    match refused {
        Some(what) => Err(format!("{flag}: {value:?} {what}")),
        None => Ok(()),
    }
}

/// What `user update` found.
enum Updated {
    NoUser,
    Refused(String),
    Saved,
}

pub fn run(command: UserCommand, settings: &Settings) -> Result<(), CliError> {
    let store = open_store(settings, Opening::Existing)?;
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    match command {
        UserCommand::Add {
            username,
            password,
            authorities,
            profile,
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
            let claims = if profile.is_empty() {
                None
            } else {
                Some(Profile {
                    updated_at: clock::now(),
                    ..profile.overlay(Profile::default())?
                })
            };
            let plain = secret_from(password, "password")?;
            let encoded = passwords(settings)?
                .encode(&plain)
                .map_err(|e| e.to_string())?;
            match users::insert(&mut conn, &username, &encoded, &granted) {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => {
                    return Err(format!("user {username:?} already exists").into())
                }
                Err(e) => return Err(e.into()),
            }
            if let Some(claims) = claims {
                // `users::insert` runs its own transaction, and SQLite cannot nest them: should
                // the profile not be saved, the user it was for goes too.
                if let Err(e) =
                    write_transaction(&mut conn, |c| profiles::save(c, &username, claims))
                {
                    if let Err(undo) = write_transaction(&mut conn, |c| users::delete(c, &username))
                    {
                        log::warn!("user {username} added without its profile: {undo}");
                    }
                    return Err(e.into());
                }
            }
            println!("user {username} added");
            Ok(())
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
        UserCommand::Show { username } => {
            let user = users::find(&mut conn, &username)?
                .ok_or_else(|| format!("no user {username:?}"))?;
            let profile = profiles::find(&mut conn, &username)?;
            print_user(&user, profile.as_ref());
            Ok(())
        }
        UserCommand::Update { username, profile } => {
            if profile.is_empty() {
                return Err(
                    "nothing to change: give at least one profile flag, e.g. --name".into(),
                );
            }
            let now = clock::now();
            let outcome = write_transaction(&mut conn, |c| {
                if users::find(c, &username)?.is_none() {
                    return Ok(Updated::NoUser);
                }
                let stored = profiles::find(c, &username)?.unwrap_or_default();
                match profile.overlay(stored) {
                    Ok(changed) => {
                        profiles::save(
                            c,
                            &username,
                            Profile {
                                updated_at: now,
                                ..changed
                            },
                        )?;
                        Ok(Updated::Saved)
                    }
                    Err(refused) => Ok(Updated::Refused(refused)),
                }
            })?;
            match outcome {
                Updated::NoUser => Err(format!("no user {username:?}").into()),
                Updated::Refused(message) => Err(message.into()),
                Updated::Saved => {
                    println!("profile of {username} updated");
                    Ok(())
                }
            }
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

/// `user show`: one `field: value` line each, as `client show` prints; the password never.
fn print_user(user: &crate::domain::user::User, profile: Option<&Profile>) {
    println!("username:           {}", user.username);
    println!("enabled:            {}", user.enabled);
    println!("authorities:        {}", user.authorities.join(","));
    let Some(p) = profile else {
        println!("profile:            none");
        return;
    };
    for (label, value) in [
        ("name", &p.name),
        ("given_name", &p.given_name),
        ("family_name", &p.family_name),
        ("nickname", &p.nickname),
        ("preferred_username", &p.preferred_username),
        ("picture", &p.picture),
        ("website", &p.website),
        ("locale", &p.locale),
        ("zoneinfo", &p.zoneinfo),
        ("email", &p.email),
    ] {
        println!(
            "{:<20}{}",
            format!("{label}:"),
            value.as_deref().unwrap_or_default()
        );
    }
    println!("email_verified:     {}", p.email_verified);
    println!("updated_at:         {}", p.updated_at);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(change: impl FnOnce(&mut ProfileArgs)) -> ProfileArgs {
        let mut a = ProfileArgs::default();
        change(&mut a);
        a
    }

    fn alice() -> Profile {
        Profile {
            name: Some("Alice Liddell".into()),
            email: Some("alice@example.com".into()),
            email_verified: true,
            locale: Some("en-GB".into()),
            updated_at: 7,
            ..Profile::default()
        }
    }

    #[test]
    fn only_the_claims_given_change_and_an_empty_value_clears() {
        let changed = args(|a| {
            a.nickname = Some("Al".into());
            a.locale = Some(String::new());
        })
        .overlay(alice())
        .unwrap();
        assert_eq!(changed.nickname.as_deref(), Some("Al"));
        assert_eq!(changed.locale, None);
        assert_eq!(changed.name.as_deref(), Some("Alice Liddell"));
        assert!(changed.email_verified, "the address did not change");
        assert_eq!(changed.updated_at, 7, "the caller sets updated_at");
        assert!(args(|_| {}).is_empty());
        assert!(!args(|a| a.email_verified = Some(false)).is_empty());
    }

    #[test]
    fn a_new_address_is_unverified_unless_said_otherwise() {
        let moved = args(|a| a.email = Some("alice@wonderland.example".into()));
        assert!(!moved.overlay(alice()).unwrap().email_verified);
        let verified = args(|a| {
            a.email = Some("alice@wonderland.example".into());
            a.email_verified = Some(true);
        });
        assert!(verified.overlay(alice()).unwrap().email_verified);
        let cleared = args(|a| a.email = Some(String::new()))
            .overlay(alice())
            .unwrap();
        assert_eq!((cleared.email, cleared.email_verified), (None, false));
        let err = args(|a| a.email_verified = Some(true))
            .overlay(Profile::default())
            .unwrap_err();
        assert!(err.contains("needs an --email"), "{err}");
    }

    #[test]
    fn plainly_wrong_values_are_refused() {
        let refused = |change: fn(&mut ProfileArgs), message: &str| {
            let err = args(change).overlay(Profile::default()).unwrap_err();
            assert!(err.contains(message), "{err}");
        };
        refused(|a| a.email = Some("alice".into()), "not an email address");
        refused(|a| a.email = Some("@example.com".into()), "not an email");
        refused(|a| a.email = Some("a b@example.com".into()), "not an email");
        refused(
            |a| a.picture = Some("/me.png".into()),
            "absolute http(s) URL",
        );
        refused(
            |a| a.picture = Some("javascript:alert(1)".into()),
            "http(s)",
        );
        refused(|a| a.website = Some("ftp://example.com/".into()), "http(s)");
        refused(|a| a.name = Some("x".repeat(257)), "longer than 256");
        refused(
            |a| a.website = Some(format!("https://e.example/{}", "x".repeat(1024))),
            "1024",
        );
        refused(|a| a.locale = Some("en US".into()), "language tag");
        refused(|a| a.zoneinfo = Some("Europe/Paris;".into()), "time zone");
        refused(|a| a.nickname = Some("a\nb".into()), "control characters");
        let fine = args(|a| {
            a.name = Some("Zoë ".repeat(64));
            a.picture = Some("https://cdn.example.com/a.png?s=64".into());
            a.website = Some("http://alice.example".into());
            a.zoneinfo = Some("America/Argentina/Buenos_Aires".into());
            a.locale = Some("fr_CA".into());
            a.email = Some("alice+oidc@example.com".into());
        });
        assert!(
            fine.overlay(Profile::default()).is_ok(),
            "256 characters, not bytes"
        );
    }

    #[test]
    fn email_verified_alone_means_true() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            profile: ProfileArgs,
        }
        let parse = |extra: &[&str]| {
            Cli::try_parse_from(["t"].iter().chain(extra))
                .map(|c| c.profile.email_verified)
                .map_err(|e| e.to_string())
        };
        assert_eq!(parse(&[]), Ok(None));
        assert_eq!(parse(&["--email-verified"]), Ok(Some(true)));
        assert_eq!(parse(&["--email-verified=false"]), Ok(Some(false)));
        assert_eq!(parse(&["--email-verified", "false"]), Ok(Some(false)));
        assert_eq!(parse(&["--email-verified", "--name", "A"]), Ok(Some(true)));
        assert!(parse(&["--email-verified=yes"]).is_err());
    }
}
