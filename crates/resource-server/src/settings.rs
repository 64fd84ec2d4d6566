//! The resource server's configuration (docs/configuration.md).

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use shared::metrics::MetricsSettings;
use shared::serving::ServerSettings;
use shared::settings::{check, load, Layers};
use shared::telemetry::LogSettings;

use crate::discovery::Issuer;

pub const DEFAULTS_TOML: &str = include_str!("../../../config/resource-server.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
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
    /// RFC 7517 JWK set, e.g. the auth server's `/oauth2/jwks`. Empty, with `key_url` and `secret`
    /// empty too: the `jwks_uri` of `issuer`'s metadata.
    pub jwks_url: String,
    /// Spring's legacy `/oauth/token_key`: one key, `{"alg": …, "value": …}`.
    pub key_url: String,
    /// A shared HS256 secret, for legacy symmetric setups.
    pub secret: SecretString,
    /// When not empty, `iss` must be present and equal to it; and when no key source is set, the
    /// issuer whose metadata names the JWK set.
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

/// Where the keys that sign JWTs come from: at most one of `jwt.jwks_url`, `jwt.key_url` and
/// `jwt.secret` is set; none, and the JWK set is the one `jwt.issuer`'s metadata names.
#[derive(Debug, Clone)]
pub enum KeySourceSettings {
    Jwks { url: String },
    TokenKey { url: String },
    Secret(SecretString),
    Discovered { issuer: Issuer },
}

impl JwtSettings {
    /// The one key source configured. Two set is an error: a value set and silently ignored would
    /// be worse.
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
            [] if self.issuer.is_empty() => Err("configuration: set jwt.issuer (the JWK set is \
                 then discovered from its metadata) or one of jwt.jwks_url, jwt.key_url or \
                 jwt.secret"
                .into()),
            [] => Ok(KeySourceSettings::Discovered {
                issuer: Issuer::parse(&self.issuer).map_err(|e| {
                    format!(
                        "configuration: jwt.issuer {e} (the JWK set is discovered from its \
                         metadata, as none of jwt.jwks_url, jwt.key_url or jwt.secret is set)"
                    )
                })?,
            }),
            several => Err(format!(
                "configuration: {} are set; set only one",
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
    /// Empty, with `issuer` empty too: [`DEFAULT_INTROSPECTION_URL`].
    pub url: String,
    /// Not read when the endpoint is discovered from `issuer`: RFC 8414's
    /// `introspection_endpoint` is RFC 7662 by definition.
    pub protocol: Protocol,
    /// When set, the endpoint is the `introspection_endpoint` of this issuer's metadata.
    pub issuer: String,
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

/// Where tokens are introspected when neither `introspection.url` nor `introspection.issuer` is
/// set: the auth server's Spring endpoint on its default port, as before the issuer could be set.
pub const DEFAULT_INTROSPECTION_URL: &str = "http://127.0.0.1:8081/oauth/check_token";

/// Where tokens are introspected, and how they are asked about.
#[derive(Debug, Clone)]
pub enum IntrospectionEndpointSettings {
    Url {
        url: String,
        protocol: Protocol,
    },
    /// RFC 7662 at the issuer's `introspection_endpoint`.
    Discovered {
        issuer: Issuer,
    },
}

impl IntrospectionSettings {
    /// At most one of `introspection.url` and `introspection.issuer` is set: a URL set and silently
    /// ignored in favour of a discovered one would be worse than an error.
    pub fn endpoint(&self) -> Result<IntrospectionEndpointSettings, String> {
        match (self.url.is_empty(), self.issuer.is_empty()) {
            (false, false) => Err(
                "configuration: introspection.issuer and introspection.url are \
                 set; set only one (with introspection.issuer the endpoint is discovered from its \
                 metadata)"
                    .into(),
            ),
            (true, false) => Ok(IntrospectionEndpointSettings::Discovered {
                issuer: Issuer::parse(&self.issuer)
                    .map_err(|e| format!("configuration: introspection.issuer {e}"))?,
            }),
            (url_empty, true) => Ok(IntrospectionEndpointSettings::Url {
                url: if url_empty {
                    DEFAULT_INTROSPECTION_URL.to_owned()
                } else {
                    self.url.clone()
                },
                protocol: self.protocol,
            }),
        }
    }
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
        self.metrics.validate(&self.server)?;
        if self.validation.mode.uses_introspection() {
            if let IntrospectionEndpointSettings::Url { url, .. } = self.introspection.endpoint()? {
                check(
                    url.starts_with("http://") || url.starts_with("https://"),
                    "introspection.url",
                    "must be an http:// or https:// URL",
                )?;
            }
        }
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
            KeySourceSettings::Secret(_) | KeySourceSettings::Discovered { .. } => {
                ("", String::new())
            }
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
        assert_eq!(settings.jwt.jwks_url, "");
        assert_eq!(settings.jwt.issuer, "http://localhost:8081");
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
    fn at_most_one_key_source_is_accepted() {
        for configure in [
            |jwt: &mut JwtSettings| jwt.jwks_url = "http://a/oauth2/jwks".into(),
            |jwt: &mut JwtSettings| jwt.key_url = "http://a/oauth/token_key".into(),
            |jwt: &mut JwtSettings| jwt.secret = "s3cret".to_owned().into(),
        ] {
            assert!(in_jwt_mode(configure).is_ok());
        }
        let both = in_jwt_mode(|jwt| {
            jwt.jwks_url = "http://a/oauth2/jwks".into();
            jwt.key_url = "http://a/oauth/token_key".into();
        })
        .unwrap_err();
        assert!(
            both.contains("jwt.jwks_url and jwt.key_url are set; set only one"),
            "{both}"
        );
    }

    #[test]
    fn without_a_key_source_the_jwk_set_is_discovered_from_the_issuer() {
        let mut jwt = Settings::defaults().jwt;
        match jwt.key_source() {
            Ok(KeySourceSettings::Discovered { issuer }) => {
                assert_eq!(issuer.as_str(), "http://localhost:8081")
            }
            other => panic!("{other:?}"),
        }
        jwt.jwks_url = "http://a/oauth2/jwks".into();
        assert!(matches!(
            jwt.key_source(),
            Ok(KeySourceSettings::Jwks { .. })
        ));

        let none = in_jwt_mode(|jwt| jwt.issuer.clear()).unwrap_err();
        assert!(none.contains("set jwt.issuer"), "{none}");
        for bad in [
            "localhost:8081",
            "https://a.example?tenant=1",
            "https://a.example#x",
        ] {
            let error = in_jwt_mode(|jwt| jwt.issuer = bad.into()).unwrap_err();
            assert!(
                error.starts_with("configuration: jwt.issuer must be"),
                "{error}"
            );
        }
        // Only discovery needs a URL: with a key source, the issuer is only compared with iss.
        assert!(in_jwt_mode(|jwt| {
            jwt.issuer = "legacy-issuer".into();
            jwt.jwks_url = "http://a/oauth2/jwks".into();
        })
        .is_ok());
    }

    fn in_introspection_mode(configure: impl FnOnce(&mut IntrospectionSettings)) -> Settings {
        let mut settings = Settings::defaults();
        configure(&mut settings.introspection);
        settings
    }

    #[test]
    fn the_introspection_endpoint_is_a_url_or_discovered_from_an_issuer_not_both() {
        let default = in_introspection_mode(|_| {});
        match default.introspection.endpoint() {
            Ok(IntrospectionEndpointSettings::Url { url, protocol }) => {
                assert_eq!(url, DEFAULT_INTROSPECTION_URL);
                assert_eq!(protocol, Protocol::CheckToken);
            }
            other => panic!("{other:?}"),
        }
        let discovered = in_introspection_mode(|i| i.issuer = "https://a.example/t1".into());
        assert!(discovered.validate().is_ok());
        assert!(matches!(
            discovered.introspection.endpoint(),
            Ok(IntrospectionEndpointSettings::Discovered { .. })
        ));
        let both = in_introspection_mode(|i| {
            i.issuer = "https://a.example".into();
            i.url = "https://a.example/oauth2/introspect".into();
        });
        let error = both.validate().unwrap_err();
        assert!(
            error.contains("introspection.issuer and introspection.url are set; set only one"),
            "{error}"
        );
        let error = in_introspection_mode(|i| i.issuer = "a.example".into())
            .validate()
            .unwrap_err();
        assert!(
            error.starts_with("configuration: introspection.issuer must be"),
            "{error}"
        );
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
