//! The algorithms JWT access tokens can be signed with, and new keys for them.

use jsonwebtoken::Algorithm;
// rsa, p256 and ed25519-dalek share one pkcs8 crate, so one set of traits encodes all three.
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::Deserialize;

use super::SigningError;

/// `jwt.algorithm`. RS256 is what Spring Boot 3's decoder expects by default; HS256 is only for
/// legacy Spring setups that shared a symmetric `signing-key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SigningAlgorithm {
    RS256,
    ES256,
    EdDSA,
    HS256,
}

/// A new key pair, as PEM: PKCS#8 for the private key, SubjectPublicKeyInfo for the public one.
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

impl SigningAlgorithm {
    pub fn jose(self) -> Algorithm {
        match self {
            Self::RS256 => Algorithm::RS256,
            Self::ES256 => Algorithm::ES256,
            Self::EdDSA => Algorithm::EdDSA,
            Self::HS256 => Algorithm::HS256,
        }
    }

    /// The JOSE name (RFC 7518 §3.1), as stored and published.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
            Self::HS256 => "HS256",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::RS256, Self::ES256, Self::EdDSA, Self::HS256]
            .into_iter()
            .find(|alg| alg.as_str() == name)
    }

    /// The Java name legacy Spring's `/oauth/token_key` gave (`JwtAccessTokenConverter`).
    pub fn java_name(self) -> &'static str {
        match self {
            Self::RS256 => "SHA256withRSA",
            Self::ES256 => "SHA256withECDSA",
            Self::EdDSA => "Ed25519",
            Self::HS256 => "HMACSHA256",
        }
    }

    /// The public key of a PKCS#8 PEM private key, as SubjectPublicKeyInfo PEM.
    pub fn public_pem(self, private_pem: &str) -> Result<String, SigningError> {
        use rsa::pkcs8::DecodePrivateKey;
        let bad = |e: &dyn std::fmt::Display| SigningError::Key(e.to_string());
        match self {
            Self::RS256 => rsa::PrivateKey::from_pkcs8_pem(private_pem)
                .map_err(|e| bad(&e))?
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| bad(&e)),
            Self::ES256 => p256::SecretKey::from_pkcs8_pem(private_pem)
                .map_err(|e| bad(&e))?
                .public_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| bad(&e)),
            Self::EdDSA => ed25519_dalek::SigningKey::from_pkcs8_pem(private_pem)
                .map_err(|e| bad(&e))?
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| bad(&e)),
            Self::HS256 => Err(SigningError::Key("HS256 has no public key".into())),
        }
    }

    /// A fresh key pair from the operating system's generator; `None` for HS256, whose key is
    /// configured, never generated.
    pub fn generate(self) -> Result<Option<KeyPair>, SigningError> {
        let failed = |e: &dyn std::fmt::Display| SigningError::Generate(e.to_string());
        let pair = match self {
            Self::RS256 => {
                let key =
                    rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).map_err(|e| failed(&e))?;
                encoded(&key, &key.to_public_key())?
            }
            Self::ES256 => {
                let mut seed = [0u8; 32];
                // Rejection sampling: a 32-byte string is a valid P-256 scalar all but 2^-32 of
                // the time; another draw fixes the rest.
                let key = loop {
                    getrandom::fill(&mut seed).map_err(|e| failed(&e))?;
                    if let Ok(key) = p256::SecretKey::from_slice(&seed) {
                        break key;
                    }
                };
                encoded(&key, &key.public_key())?
            }
            Self::EdDSA => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| failed(&e))?;
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                encoded(&key, &key.verifying_key())?
            }
            Self::HS256 => return Ok(None),
        };
        Ok(Some(pair))
    }
}

/// A key pair as PEM.
fn encoded(
    private: &impl EncodePrivateKey,
    public: &impl EncodePublicKey,
) -> Result<KeyPair, SigningError> {
    let failed = |e: &dyn std::fmt::Display| SigningError::Generate(e.to_string());
    Ok(KeyPair {
        private_pem: private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| failed(&e))?
            .to_string(),
        public_pem: public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| failed(&e))?,
    })
}
