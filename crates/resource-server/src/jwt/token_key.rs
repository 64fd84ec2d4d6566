//! Reading the answer of Spring's legacy `/oauth/token_key`: one key, named by a Java algorithm
//! (`{"alg": "SHA256withRSA", "value": "-----BEGIN PUBLIC KEY-----…"}`), or for a symmetric
//! setup the shared secret itself (`{"alg": "HMACSHA256", "value": "…"}`).

use jsonwebtoken::{Algorithm, DecodingKey};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::keys::{fingerprint, VerificationKey};

#[derive(Debug, thiserror::Error)]
pub enum TokenKeyError {
    #[error("not a token_key answer: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("algorithm {0:?} is not supported")]
    UnsupportedAlgorithm(String),
    #[error("the {alg} key does not read: {cause}")]
    Key {
        alg: &'static str,
        cause: jsonwebtoken::errors::Error,
    },
}

#[derive(Deserialize)]
struct Answer {
    alg: String,
    /// A secret for the HMAC algorithms.
    value: SecretString,
}

/// How the value is read for each family.
enum Reader {
    Rsa,
    Ec,
    Ed,
    Hmac,
}

impl Reader {
    fn name(&self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::Ec => "EC",
            Self::Ed => "Ed25519",
            Self::Hmac => "HMAC",
        }
    }
}

/// The JWS algorithm a Java signature algorithm name stands for, and how its value reads.
fn algorithm(java_name: &str) -> Option<(Algorithm, Reader)> {
    Some(match java_name {
        "SHA256withRSA" => (Algorithm::RS256, Reader::Rsa),
        "SHA384withRSA" => (Algorithm::RS384, Reader::Rsa),
        "SHA512withRSA" => (Algorithm::RS512, Reader::Rsa),
        "SHA256withECDSA" => (Algorithm::ES256, Reader::Ec),
        "SHA384withECDSA" => (Algorithm::ES384, Reader::Ec),
        "Ed25519" | "EdDSA" => (Algorithm::EdDSA, Reader::Ed),
        "HMACSHA256" => (Algorithm::HS256, Reader::Hmac),
        "HMACSHA384" => (Algorithm::HS384, Reader::Hmac),
        "HMACSHA512" => (Algorithm::HS512, Reader::Hmac),
        _ => return None,
    })
}

/// The one key of a token_key answer. It names no `kid`: legacy tokens carry none.
pub fn parse(body: &[u8]) -> Result<VerificationKey, TokenKeyError> {
    let answer: Answer = serde_json::from_slice(body)?;
    let (algorithm, reader) = algorithm(&answer.alg)
        .ok_or_else(|| TokenKeyError::UnsupportedAlgorithm(answer.alg.clone()))?;
    let value = answer.value.expose_secret().as_bytes();
    let read = match &reader {
        // The PEM readers check the key's type: an EC key sent as SHA256withRSA does not read.
        Reader::Rsa => DecodingKey::from_rsa_pem(value),
        Reader::Ec => DecodingKey::from_ec_pem(value),
        Reader::Ed => DecodingKey::from_ed_pem(value),
        // Spring's MacSigner keys HMAC with the secret's bytes as they are.
        Reader::Hmac => {
            if value.len() < 32 {
                log::warn!(
                    "the token_key secret is {} bytes: RFC 7518 §3.2 asks for at least 32",
                    value.len()
                );
            }
            DecodingKey::from_secret(value)
        }
    };
    let key = read.map_err(|cause| TokenKeyError::Key {
        alg: reader.name(),
        cause,
    })?;
    Ok(VerificationKey {
        kid: None,
        algorithm,
        key,
        fingerprint: fingerprint(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 8410 §10.1's Ed25519 public key. (RSA and EC keys are read in tests/api/jwt.rs, with
    /// keys generated there.)
    const ED_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";

    fn answer(alg: &str, value: &str) -> Vec<u8> {
        json!({"alg": alg, "value": value}).to_string().into_bytes()
    }

    #[test]
    fn java_algorithm_names_map_to_jws_algorithms() {
        let ed = parse(&answer("Ed25519", ED_PEM)).unwrap();
        assert_eq!(ed.algorithm, Algorithm::EdDSA);
        assert_eq!(ed.kid, None);
        let hmac = parse(&answer(
            "HMACSHA256",
            "a-legacy-secret-of-at-least-32-bytes!",
        ))
        .unwrap();
        assert_eq!(hmac.algorithm, Algorithm::HS256);
    }

    #[test]
    fn a_key_that_is_not_what_its_alg_says_is_refused() {
        assert!(matches!(
            parse(&answer("SHA256withRSA", ED_PEM)).unwrap_err(),
            TokenKeyError::Key { alg: "RSA", .. }
        ));
        assert!(matches!(
            parse(&answer("SHA256withECDSA", ED_PEM)).unwrap_err(),
            TokenKeyError::Key { alg: "EC", .. }
        ));
        assert!(matches!(
            parse(&answer("none", "x")).unwrap_err(),
            TokenKeyError::UnsupportedAlgorithm(_)
        ));
        assert!(matches!(
            parse(&answer("HMACSHA256", "")).unwrap_err(),
            TokenKeyError::Key { .. }
        ));
        assert!(matches!(
            parse(b"{\"alg\": \"SHA256withRSA\"}").unwrap_err(),
            TokenKeyError::Malformed(_)
        ));
    }
}
