//! Layered configuration, the same for both binaries (docs/configuration.md):
//! built-in defaults (the documented `config/<binary>.toml`, embedded at build time), then that file
//! in the working directory if present, or the file given with `--config`, then `APP__SECTION__KEY`
//! environment variables.

use std::path::Path;

use config::{Config, Environment, File, FileFormat};
use serde::de::DeserializeOwned;

/// Where one binary's configuration comes from.
pub struct Layers<'a> {
    /// The documented defaults file, embedded with `include_str!`.
    pub defaults_toml: &'static str,
    /// Read when present and no explicit file is given, e.g. `config/auth-server.toml`.
    pub default_file: &'a Path,
    /// `--config FILE`: must exist.
    pub explicit_file: Option<&'a Path>,
    /// Conventional variables that stand for a key, e.g. `DATABASE_URL` for `database.url`.
    /// `APP__…` variables still win over them.
    pub aliases: &'a [(&'a str, &'a str)],
}

/// Loads and deserializes; the error names the key or file that is wrong.
pub fn load<T: DeserializeOwned>(layers: &Layers<'_>) -> Result<T, String> {
    let mut builder =
        Config::builder().add_source(File::from_str(layers.defaults_toml, FileFormat::Toml));
    match layers.explicit_file {
        Some(path) => {
            if !path.is_file() {
                return Err(format!(
                    "configuration file {} does not exist",
                    path.display()
                ));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        None if layers.default_file.is_file() => {
            builder = builder.add_source(File::from(layers.default_file).format(FileFormat::Toml));
        }
        None => {}
    }
    let mut aliases = Config::builder();
    for (variable, key) in layers.aliases {
        if let Ok(value) = std::env::var(variable) {
            aliases = aliases
                .set_override(*key, value)
                .map_err(|e| format!("{variable}: {e}"))?;
        }
    }
    let aliases = aliases.build().map_err(|e| e.to_string())?;
    builder = builder.add_source(aliases).add_source(
        Environment::with_prefix("APP")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true),
    );
    let config = builder.build().map_err(|e| format!("configuration: {e}"))?;
    config
        .try_deserialize()
        .map_err(|e| format!("configuration: {e}"))
}

/// Fails with a message naming `key` unless `ok`.
pub fn check(ok: bool, key: &str, expectation: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("configuration: {key} {expectation}"))
    }
}

/// A comma list in configuration (`"ROLE_A, ROLE_B"`), split once: blank entries are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "String")]
pub struct CommaList(pub Vec<String>);

impl From<String> for CommaList {
    fn from(value: String) -> Self {
        Self(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}
