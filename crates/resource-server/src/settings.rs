//! The resource server's configuration (docs/configuration.md).

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use shared::serving::ServerSettings;
use shared::settings::{check, load, Layers};

pub const DEFAULTS_TOML: &str = include_str!("../../../config/resource-server.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub validation: ValidationSettings,
    pub introspection: IntrospectionSettings,
    pub jwt: JwtSettings,
    pub resource: ResourceSettings,
}

/// How bearer tokens are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationMode {
    /// Every token is asked about at the authorization server (and the answer cached).
    Introspection,
    /// Every token must be a JWT signed by one of the authorization server's keys.
    Jwt,
    /// JWTs are verified here, any other token is introspected.
    Mixed,
}

impl ValidationMode {
    pub fn uses_jwt(self) -> bool {
        matches!(self, Self::Jwt | Self::Mixed)
    }

    pub fn uses_introspection(self) -> bool {
        matches!(self, Self::Introspection | Self::Mixed)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ValidationSettings {
    pub mode: ValidationMode,
}

/// Verifying JWT access tokens here (docs/jwt-resource-server.md). The connection to the
/// authorization server (timeout, private CA, client credentials) is `introspection`'s.
#[derive(Debug, Clone, Deserialize)]
pub struct JwtSettings {
    /// RFC 7517 JWK set, e.g. the auth server's `/oauth2/jwks`.
    pub jwks_url: String,
    /// Spring's legacy `/oauth/token_key`: one key, `{"alg": …, "value": …}`.
    pub key_url: String,
    /// A shared HS256 secret, for legacy symmetric setups.
    pub secret: SecretString,
    /// When not empty, `iss` must be present and equal to it.
    pub issuer: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway_seconds: u64,
    /// A token naming a key this server lacks causes a fetch of the keys at most this often.
    pub refetch_min_interval_ms: u64,
    /// How often the key set is fetched again in the background.
    pub cache_seconds: u64,
    /// Most verified tokens remembered.
    pub token_cache_capacity: u64,
}

/// Where the keys that sign JWTs come from: exactly one of `jwt.jwks_url`, `jwt.key_url` and
/// `jwt.secret` is set.
#[derive(Debug, Clone)]
pub enum KeySourceSettings {
    Jwks { url: String },
    TokenKey { url: String },
    Secret(SecretString),
}

impl JwtSettings {
    /// The one key source configured. `jwks_url` has a default, so using `key_url` or `secret`
    /// means setting `jwks_url` to "": a value set and silently ignored would be worse.
    pub fn key_source(&self) -> Result<KeySourceSettings, String> {
        let secret = self.secret.expose_secret();
        let set: Vec<&str> = [
            ("jwt.jwks_url", !self.jwks_url.is_empty()),
            ("jwt.key_url", !self.key_url.is_empty()),
            ("jwt.secret", !secret.is_empty()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        match set.as_slice() {
            ["jwt.jwks_url"] => Ok(KeySourceSettings::Jwks {
                url: self.jwks_url.clone(),
            }),
            ["jwt.key_url"] => Ok(KeySourceSettings::TokenKey {
                url: self.key_url.clone(),
            }),
            ["jwt.secret"] => Ok(KeySourceSettings::Secret(self.secret.clone())),
            [] => Err("configuration: set one of jwt.jwks_url, jwt.key_url or jwt.secret".into()),
            several => Err(format!(
                "configuration: {} are set; set only one (jwt.jwks_url has a default: set it \
                 to \"\" to use jwt.key_url or jwt.secret)",
                several.join(" and ")
            )),
        }
    }

    pub fn issuer(&self) -> Option<&str> {
        Some(self.issuer.as_str()).filter(|issuer| !issuer.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Spring's `/oauth/check_token`.
    CheckToken,
    /// RFC 7662 token introspection.
    Rfc7662,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IntrospectionSettings {
    pub url: String,
    pub protocol: Protocol,
    pub client_id: String,
    pub client_secret: SecretString,
    pub timeout_ms: u64,
    pub cache_ttl_seconds: u64,
    pub negative_cache_ttl_seconds: u64,
    pub cache_capacity: u64,
    /// PEM file of the CA that signed the auth server's certificate, for private CAs; public
    /// certificates are checked against the bundled web roots.
    pub ca_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ResourceSettings {
    pub id: String,
    /// A scope every request must carry (empty: any valid token will do).
    pub required_scope: shared::Scope,
}

impl Settings {
    /// Defaults, then `config/resource-server.toml` or `explicit_file`, then `APP__…` variables.
    pub fn load(explicit_file: Option<&Path>) -> Result<Self, String> {
        let settings: Settings = load(&Layers {
            defaults_toml: DEFAULTS_TOML,
            default_file: Path::new("config/resource-server.toml"),
            explicit_file,
            aliases: &[],
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// The defaults alone, for tests and tools.
    pub fn defaults() -> Self {
        load(&Layers {
            defaults_toml: DEFAULTS_TOML,
            default_file: Path::new("/nonexistent"),
            explicit_file: None,
            aliases: &[],
        })
        .expect("the embedded defaults file is valid")
    }

    fn validate(&self) -> Result<(), String> {
        check(
            self.introspection.url.starts_with("http://")
                || self.introspection.url.starts_with("https://"),
            "introspection.url",
            "must be an http:// or https:// URL",
        )?;
        check(
            self.introspection.timeout_ms >= 1,
            "introspection.timeout_ms",
            "must be at least 1",
        )?;
        check(
            self.introspection.cache_capacity >= 1,
            "introspection.cache_capacity",
            "must be at least 1",
        )?;
        check(
            shared::Scope::parse(&self.resource.id).is_ok_and(|s| s.iter().count() == 1),
            "resource.id",
            "must be one word of printable ASCII without quotes",
        )?;
        if self.validation.mode.uses_jwt() {
            self.validate_jwt()?;
        }
        Ok(())
    }

    fn validate_jwt(&self) -> Result<(), String> {
        let jwt = &self.jwt;
        let (key, url) = match jwt.key_source()? {
            KeySourceSettings::Jwks { url } => ("jwt.jwks_url", url),
            KeySourceSettings::TokenKey { url } => ("jwt.key_url", url),
            KeySourceSettings::Secret(_) => ("", String::new()),
        };
        if !key.is_empty() {
            check(
                url.starts_with("http://") || url.starts_with("https://"),
                key,
                "must be an http:// or https:// URL",
            )?;
        }
        check(
            jwt.leeway_seconds <= MAX_LEEWAY_SECONDS,
            "jwt.leeway_seconds",
            "must be at most 300",
        )?;
        // Without a floor, tokens naming made-up keys would each cost the auth server a request.
        check(
            jwt.refetch_min_interval_ms >= MIN_REFETCH_INTERVAL_MS,
            "jwt.refetch_min_interval_ms",
            "must be at least 100",
        )?;
        check(
            jwt.cache_seconds >= 1,
            "jwt.cache_seconds",
            "must be at least 1",
        )?;
        check(
            jwt.token_cache_capacity >= 1,
            "jwt.token_cache_capacity",
            "must be at least 1",
        )?;
        Ok(())
    }
}

/// More skew than this is a broken clock, not skew.
const MAX_LEEWAY_SECONDS: u64 = 300;
const MIN_REFETCH_INTERVAL_MS: u64 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_defaults_load() {
        let settings = Settings::defaults();
        assert_eq!(settings.server.port, 8080);
        assert_eq!(settings.introspection.protocol, Protocol::CheckToken);
        assert_eq!(settings.resource.id, "hi");
        assert_eq!(settings.validation.mode, ValidationMode::Introspection);
        assert_eq!(settings.jwt.jwks_url, "http://localhost:8081/oauth2/jwks");
        assert_eq!(settings.jwt.leeway_seconds, 30);
        assert_eq!(settings.jwt.refetch_min_interval_ms, 5000);
        assert_eq!(settings.jwt.cache_seconds, 300);
        assert!(settings.validate().is_ok());
    }

    fn in_jwt_mode(configure: impl FnOnce(&mut JwtSettings)) -> Result<(), String> {
        let mut settings = Settings::defaults();
        settings.validation.mode = ValidationMode::Jwt;
        configure(&mut settings.jwt);
        settings.validate()
    }

    #[test]
    fn exactly_one_key_source_is_accepted() {
        assert!(in_jwt_mode(|_| {}).is_ok());
        let both = in_jwt_mode(|jwt| jwt.key_url = "http://a/oauth/token_key".into()).unwrap_err();
        assert!(
            both.contains("jwt.jwks_url and jwt.key_url are set; set only one"),
            "{both}"
        );
        assert!(in_jwt_mode(|jwt| {
            jwt.jwks_url.clear();
            jwt.key_url = "http://a/oauth/token_key".into();
        })
        .is_ok());
        assert!(in_jwt_mode(|jwt| {
            jwt.jwks_url.clear();
            jwt.secret = "s3cret".to_owned().into();
        })
        .is_ok());
        let none = in_jwt_mode(|jwt| jwt.jwks_url.clear()).unwrap_err();
        assert!(none.contains("set one of"), "{none}");
    }

    #[test]
    fn jwt_settings_are_checked_only_when_used() {
        let error = in_jwt_mode(|jwt| jwt.jwks_url = "ftp://keys".into()).unwrap_err();
        assert!(error.starts_with("configuration: jwt.jwks_url"), "{error}");
        let error = in_jwt_mode(|jwt| jwt.refetch_min_interval_ms = 0).unwrap_err();
        assert!(
            error.starts_with("configuration: jwt.refetch_min_interval_ms"),
            "{error}"
        );
        let mut settings = Settings::defaults();
        settings.jwt.jwks_url = "ftp://keys".into();
        assert!(
            settings.validate().is_ok(),
            "introspection mode ignores jwt"
        );
    }
}
