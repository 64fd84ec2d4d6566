//! The resource server's configuration (docs/configuration.md).

use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;
use shared::serving::ServerSettings;
use shared::settings::{check, load, Layers};

pub const DEFAULTS_TOML: &str = include_str!("../../../config/resource-server.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub introspection: IntrospectionSettings,
    pub resource: ResourceSettings,
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_defaults_load() {
        let settings = Settings::defaults();
        assert_eq!(settings.server.port, 8080);
        assert_eq!(settings.introspection.protocol, Protocol::CheckToken);
        assert_eq!(settings.resource.id, "hi");
        assert!(settings.validate().is_ok());
    }
}
