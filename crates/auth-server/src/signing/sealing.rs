//! Private keys at rest: sealed with AES-256-GCM under the key-encryption key
//! (`jwt.key_encryption_key`) when one is set, so a copy of the database alone signs nothing.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

use super::SigningError;

const SEALED: &str = "sealed:v1:";
const NONCE_BYTES: usize = 12;

/// The key-encryption key: 32 bytes, configured as base64.
#[derive(Clone)]
pub struct Kek(Box<Aes256Gcm>);

impl Kek {
    pub fn from_config(value: &SecretString) -> Result<Self, SigningError> {
        let bytes = STANDARD
            .decode(value.expose_secret().trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or(SigningError::Config(
                "jwt.key_encryption_key must be 32 bytes in base64 (openssl rand -base64 32)",
            ))?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| {
            SigningError::Config("jwt.key_encryption_key must be 32 bytes in base64")
        })?;
        Ok(Self(Box::new(cipher)))
    }

    pub fn seal(&self, private_pem: &str) -> Result<String, SigningError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| SigningError::Generate(e.to_string()))?;
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(&nonce), private_pem.as_bytes())
            .map_err(|_| SigningError::Sealing)?;
        let mut stored = nonce.to_vec();
        stored.extend(sealed);
        Ok(format!("{SEALED}{}", STANDARD.encode(stored)))
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

/// The PEM of a stored private key: as stored, or opened with `kek`.
pub fn open(stored: &str, kek: Option<&Kek>) -> Result<String, SigningError> {
    let Some(sealed) = stored.strip_prefix(SEALED) else {
        return Ok(stored.to_owned());
    };
    let kek = kek.ok_or(SigningError::Config(
        "a signing key in the database is sealed and jwt.key_encryption_key is not set",
    ))?;
    let bytes = STANDARD.decode(sealed).map_err(|_| SigningError::Sealing)?;
    if bytes.len() <= NONCE_BYTES {
        return Err(SigningError::Sealing);
    }
    let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
    let pem = kek
        .0
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| SigningError::Sealing)?;
    String::from_utf8(pem).map_err(|_| SigningError::Sealing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> Kek {
        Kek::from_config(&SecretString::from(STANDARD.encode([byte; 32]))).unwrap()
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_kek() {
        let sealed = kek(1).seal("-----BEGIN PRIVATE KEY-----").unwrap();
        assert!(sealed.starts_with(SEALED) && !sealed.contains("PRIVATE"));
        assert_eq!(
            open(&sealed, Some(&kek(1))).unwrap(),
            "-----BEGIN PRIVATE KEY-----"
        );
        assert!(matches!(
            open(&sealed, Some(&kek(2))),
            Err(SigningError::Sealing)
        ));
        assert!(matches!(open(&sealed, None), Err(SigningError::Config(_))));
    }

    #[test]
    fn an_unsealed_key_is_read_as_it_is_and_a_short_kek_is_refused() {
        assert_eq!(open("PEM", Some(&kek(1))).unwrap(), "PEM");
        assert!(Kek::from_config(&SecretString::from(STANDARD.encode([0u8; 16]))).is_err());
    }
}
