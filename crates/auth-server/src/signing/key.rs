//! One signing key, ready to use: what signs, what verifiers are given, and when it signs.

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::DecodingKey;

use super::algorithm::SigningAlgorithm;
use super::jws::JwsSigner;
use super::SigningError;

#[derive(Clone)]
pub struct SigningKey {
    /// `None` only for an HS256 secret, whose tokens legacy Spring wrote without a `kid`.
    pub kid: Option<String>,
    pub algorithm: SigningAlgorithm,
    /// Parsed once, when the key is loaded (see `jws.rs`).
    pub signer: JwsSigner,
    /// SubjectPublicKeyInfo PEM; `None` for a shared secret, which is never published.
    pub public_pem: Option<String>,
    pub signs_from: i64,
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("signs_from", &self.signs_from)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key pair from its PEMs. `kid` defaults to the RFC 7638 thumbprint of the public key, so
    /// the same key always has the same id, on every replica.
    pub fn from_pem(
        algorithm: SigningAlgorithm,
        private_pem: &str,
        public_pem: &str,
        kid: Option<String>,
    ) -> Result<Self, SigningError> {
        let bad = |e: jsonwebtoken::errors::Error| SigningError::Key(e.to_string());
        let decoding = match algorithm {
            SigningAlgorithm::RS256 => DecodingKey::from_rsa_pem(public_pem.as_bytes()),
            SigningAlgorithm::ES256 => DecodingKey::from_ec_pem(public_pem.as_bytes()),
            SigningAlgorithm::EdDSA => DecodingKey::from_ed_pem(public_pem.as_bytes()),
            SigningAlgorithm::HS256 => {
                return Err(SigningError::Key("HS256 has no key pair".into()))
            }
        }
        .map_err(bad)?;
        let signer = JwsSigner::from_pem(algorithm, private_pem)?;
        let kid = match kid {
            Some(kid) => kid,
            None => Jwk::from_decoding_key(&decoding, Some(algorithm.jose()))
                .and_then(|jwk| jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256))
                .map_err(bad)?,
        };
        Ok(Self {
            kid: Some(kid),
            algorithm,
            signer,
            public_pem: Some(public_pem.to_owned()),
            signs_from: 0,
            retired_at: None,
        })
    }

    /// A shared HS256 secret (legacy Spring's symmetric `signing-key`).
    pub fn from_secret(secret: &[u8]) -> Result<Self, SigningError> {
        if secret.len() < 32 {
            return Err(SigningError::Config(
                "jwt.secret must be at least 32 bytes (RFC 7518 §3.2)",
            ));
        }
        Ok(Self {
            kid: None,
            algorithm: SigningAlgorithm::HS256,
            signer: JwsSigner::hs256(secret)?,
            public_pem: None,
            signs_from: 0,
            retired_at: None,
        })
    }

    /// What verifies its signatures; `None` for a secret.
    pub fn decoding_key(&self) -> Option<DecodingKey> {
        let pem = self.public_pem.as_deref()?.as_bytes();
        match self.algorithm {
            SigningAlgorithm::RS256 => DecodingKey::from_rsa_pem(pem),
            SigningAlgorithm::ES256 => DecodingKey::from_ec_pem(pem),
            SigningAlgorithm::EdDSA => DecodingKey::from_ed_pem(pem),
            SigningAlgorithm::HS256 => return None,
        }
        .ok()
    }

    /// Whether it may sign at `now`: added to the set long enough ago, and not retired.
    pub fn signs_at(&self, now: i64) -> bool {
        self.retired_at.is_none() && self.signs_from <= now
    }

    /// Its RFC 7517 entry, with `kid`, `use: "sig"` and `alg` (legacy Spring's JWK store skips a
    /// key without `use`); `None` for a secret.
    pub fn jwk(&self) -> Option<Jwk> {
        let decoding = self.decoding_key()?;
        let mut jwk = Jwk::from_decoding_key(&decoding, Some(self.algorithm.jose())).ok()?;
        jwk.common.key_id = self.kid.clone();
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Some(jwk)
    }
}
