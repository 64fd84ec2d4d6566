//! Keys kept in the database (`oauth_signing_key`): made at first start, rotated and retired by
//! `auth-server keys`, and reread by every replica, so all of them publish and sign alike.

use std::path::Path;

use secrecy::ExposeSecret;

use super::algorithm::SigningAlgorithm;
use super::key::SigningKey;
use super::sealing::{self, Kek};
use super::{JwtSettings, KeyRing, SigningError};
use crate::db::keys::{self, KeyRow};
use crate::db::{write_transaction, DbConnection, Store, StoreError};

/// Where the keys come from, decided once from the settings.
pub enum KeySource {
    Database {
        algorithm: SigningAlgorithm,
        kek: Option<Kek>,
    },
    /// PEM files or a shared secret: what is configured is all there is.
    Fixed,
}

impl KeySource {
    pub fn kek(&self) -> Option<&Kek> {
        match self {
            KeySource::Database { kek, .. } => kek.as_ref(),
            KeySource::Fixed => None,
        }
    }
}

/// The key ring of `settings`, and where to reload it from. On the database, a first key is made
/// when none is there to sign.
pub fn open(
    settings: &JwtSettings,
    store: &Store,
    now: i64,
) -> Result<(KeyRing, KeySource), SigningError> {
    if settings.algorithm == SigningAlgorithm::HS256 {
        let secret = settings.secret.clone().ok_or(SigningError::Config(
            "jwt.algorithm HS256 needs jwt.secret, the key shared with the resource servers",
        ))?;
        let key = SigningKey::from_secret(secret.expose_secret().as_bytes())?;
        return Ok((
            KeyRing::new(vec![key], settings.typ, Some(secret)),
            KeySource::Fixed,
        ));
    }
    if let Some(path) = &settings.private_key_file {
        let key = from_file(settings.algorithm, path, settings.key_id.clone())?;
        return Ok((
            KeyRing::new(vec![key], settings.typ, None),
            KeySource::Fixed,
        ));
    }
    let kek = settings.kek()?;
    // Two replicas starting at once on an empty table may each add a key: both are published,
    // and both pick the same one to sign with once they have reread the table.
    if let Some(kid) =
        store.with_conn(|conn| Ok(ensure(conn, settings.algorithm, kek.as_ref(), now)))??
    {
        log::info!(
            "made a first {} signing key, kid {kid}",
            settings.algorithm.as_str()
        );
    }
    // At start every key must open: a wrong key-encryption key is a configuration error to fix,
    // not a key to leave out.
    let loaded = store
        .with_conn(|conn| keys::published(conn, now))?
        .iter()
        .map(|row| opened(row, kek.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        KeyRing::new(loaded, settings.typ, None),
        KeySource::Database {
            algorithm: settings.algorithm,
            kek,
        },
    ))
}

fn from_file(
    algorithm: SigningAlgorithm,
    path: &Path,
    kid: Option<String>,
) -> Result<SigningKey, SigningError> {
    let private_pem = std::fs::read_to_string(path).map_err(|cause| SigningError::File {
        path: path.display().to_string(),
        cause,
    })?;
    let public_pem = algorithm.public_pem(&private_pem)?;
    SigningKey::from_pem(algorithm, &private_pem, &public_pem, kid)
}

/// Every key published at `now`, ready to sign or verify. Keys already in `known` (same kid, same
/// state) are reused rather than parsed again. A key that cannot be opened is logged and left
/// out, so one bad row does not take the others down.
pub fn load(
    conn: &mut DbConnection,
    kek: Option<&Kek>,
    now: i64,
    known: &[SigningKey],
) -> Result<Vec<SigningKey>, StoreError> {
    let rows = keys::published(conn, now)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let same = known.iter().find(|k| {
                k.kid.as_deref() == Some(row.kid.as_str())
                    && k.retired_at == row.retired_at
                    && k.signs_from == row.signs_from
            });
            if let Some(key) = same {
                return Some(key.clone());
            }
            match opened(&row, kek) {
                Ok(key) => Some(key),
                Err(error) => {
                    log::error!("signing key {} left out: {error}", row.kid);
                    None
                }
            }
        })
        .collect())
}

fn opened(row: &KeyRow, kek: Option<&Kek>) -> Result<SigningKey, SigningError> {
    let algorithm = SigningAlgorithm::parse(&row.algorithm)
        .ok_or_else(|| SigningError::Key(format!("unknown algorithm {}", row.algorithm)))?;
    let private_pem = sealing::open(&row.private_key, kek)?;
    let mut key = SigningKey::from_pem(
        algorithm,
        &private_pem,
        &row.public_key,
        Some(row.kid.clone()),
    )?;
    key.signs_from = row.signs_from;
    key.retired_at = row.retired_at;
    Ok(key)
}

/// A new key of `algorithm` that signs from `signs_from`, sealed when there is a `kek`.
fn new_row(
    algorithm: SigningAlgorithm,
    kek: Option<&Kek>,
    now: i64,
    signs_from: i64,
) -> Result<KeyRow, SigningError> {
    let pair = algorithm.generate()?.ok_or(SigningError::Config(
        "an HS256 secret is configured, never generated",
    ))?;
    let key = SigningKey::from_pem(algorithm, &pair.private_pem, &pair.public_pem, None)?;
    let private_key = match kek {
        Some(kek) => kek.seal(&pair.private_pem)?,
        None => pair.private_pem,
    };
    Ok(KeyRow {
        kid: key.kid.unwrap_or_default(),
        algorithm: algorithm.as_str().to_owned(),
        private_key,
        public_key: pair.public_pem,
        created_at: now,
        signs_from,
        retired_at: None,
        unpublish_at: None,
    })
}

/// Makes a key that signs at once when no key is left to sign; its kid, when one was made.
pub fn ensure(
    conn: &mut DbConnection,
    algorithm: SigningAlgorithm,
    kek: Option<&Kek>,
    now: i64,
) -> Result<Option<String>, SigningError> {
    if keys::published(conn, now)?
        .iter()
        .any(|k| k.retired_at.is_none())
    {
        return Ok(None);
    }
    let row = new_row(algorithm, kek, now, now)?;
    keys::insert(conn, &row)?;
    Ok(Some(row.kid))
}

/// A new key, published at once, that signs `delay` seconds from `now`. Refused without the
/// key-encryption key when the stored keys are sealed: a key written in clear beside them, or
/// sealed under another key, would be a key the servers cannot or should not use.
pub fn rotate(
    conn: &mut DbConnection,
    algorithm: SigningAlgorithm,
    kek: Option<&Kek>,
    now: i64,
    delay: i64,
) -> Result<KeyRow, SigningError> {
    let stored = keys::published(conn, now)?;
    if let Some(row) = stored
        .iter()
        .find(|row| sealing::is_sealed(&row.private_key))
    {
        match kek {
            None => {
                return Err(SigningError::Config(
                    "the stored signing keys are sealed: set jwt.key_encryption_key to add one",
                ))
            }
            Some(kek) => {
                sealing::open(&row.private_key, Some(kek))?;
            }
        }
    }
    let row = new_row(algorithm, kek, now, now.saturating_add(delay.max(0)))?;
    keys::insert(conn, &row)?;
    Ok(row)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Retired {
    /// Signs no more; published until then (unix seconds).
    Until(i64),
    NoSuchKey,
    /// No other key signs yet (none, or only ones still in their delay): rotate first, and wait.
    LastKey,
}

/// Stops `kid` signing. It stays published as long as the longest access-token validity (the
/// default or any client's), plus `grace` (replicas that have not reread the keys yet still sign
/// with it meanwhile), so every token it signed expires first; tokens that never expire keep it
/// published for good. Only while another key already signs, so a retirement never makes a
/// key that is still in its delay sign early.
pub fn retire(
    conn: &mut DbConnection,
    kid: &str,
    now: i64,
    default_validity: i64,
    grace: i64,
) -> Result<Retired, StoreError> {
    write_transaction(conn, |conn| {
        // Two retirements at once must not each see the other's key still signing.
        keys::lock(conn)?;
        let published = keys::published(conn, now)?;
        let signing: Vec<&KeyRow> = published
            .iter()
            .filter(|k| k.retired_at.is_none())
            .collect();
        if !signing.iter().any(|k| k.kid == kid) {
            return Ok(Retired::NoSuchKey);
        }
        if !signing.iter().any(|k| k.kid != kid && k.signs_from <= now) {
            return Ok(Retired::LastKey);
        }
        let (shortest, longest) = keys::client_access_validities(conn)?;
        let validities = [Some(default_validity), shortest, longest];
        let unpublish_at = if validities.iter().flatten().any(|v| *v <= 0) {
            i64::MAX
        } else {
            let longest = validities
                .iter()
                .flatten()
                .copied()
                .max()
                .unwrap_or(default_validity);
            now.saturating_add(longest).saturating_add(grace.max(0))
        };
        if !keys::retire(conn, kid, now, unpublish_at)? {
            return Ok(Retired::NoSuchKey);
        }
        Ok(Retired::Until(unpublish_at))
    })
}

/// Rereads the keys from the database every `interval` on `background`, so a rotation or a
/// retirement made with the CLI (or by another replica) reaches this one. A failed round keeps
/// the keys it had.
pub fn schedule_reload(
    background: &shared::background::Background,
    storage: &crate::db::Storage,
    keys: std::sync::Arc<KeyRing>,
    source: KeySource,
    interval: std::time::Duration,
) {
    let KeySource::Database { kek, .. } = source else {
        return;
    };
    let storage = storage.clone();
    background.every("signing-keys", interval, move || {
        let (storage, keys, kek) = (storage.clone(), keys.clone(), kek.clone());
        async move {
            let known = keys.keys();
            let now = crate::domain::clock::now();
            match storage
                .read(move |conn| load(conn, kek.as_ref(), now, &known))
                .await
            {
                Ok(loaded) if !loaded.is_empty() => keys.replace(loaded),
                Ok(_) => log::error!("no signing key in the database; keeping the ones loaded"),
                Err(error) => log::warn!("rereading the signing keys failed, will retry: {error}"),
            }
        }
    });
}
