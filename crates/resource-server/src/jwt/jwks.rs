//! Reading an RFC 7517 JWK set (`/oauth2/jwks`) into verification keys.
//!
//! Each key is read on its own: one this server cannot use (an encryption key, an unknown type, a
//! symmetric key, an `alg` that does not fit the key) is skipped with a warning and the others
//! still count, so a new kind of key added beside the current one never stops verification.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::keys::{fingerprint, KeySet, VerificationKey};

/// The body is not a JWK set at all.
#[derive(Debug, thiserror::Error)]
#[error("not a JWK set: {0}")]
pub struct NotAJwkSet(#[from] serde_json::Error);

/// Why one key of a set is not used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Skipped {
    #[error("not a JWK: {0}")]
    Malformed(String),
    /// RFC 7517 §4.2, §4.3: a key for encryption must not verify signatures.
    #[error("not meant for verifying signatures ({0})")]
    NotForVerifying(String),
    #[error("key type or curve not supported")]
    UnsupportedType,
    /// A secret published in a key set is known to everyone who can read the set: anyone could
    /// sign with it.
    #[error("a symmetric key is never taken from a key set")]
    Symmetric,
    /// RFC 8725 §3.1: the key decides the algorithm; one that declares another is refused.
    #[error("alg {0} does not fit the key")]
    AlgorithmMismatch(String),
    #[error("unusable key material: {0}")]
    Material(String),
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

/// The usable keys of a JWK set document; an empty set when none is usable.
pub fn parse(body: &[u8]) -> Result<KeySet, NotAJwkSet> {
    let document: Document = serde_json::from_slice(body)?;
    let mut keys = Vec::with_capacity(document.keys.len());
    for (index, value) in document.keys.iter().enumerate() {
        match read_key(value) {
            Ok(key) => keys.push(key),
            Err(skipped) => log::warn!(
                "JWK set: key {} skipped: {skipped}",
                value
                    .get("kid")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("#{index}"), |kid| format!("{kid:?}"))
            ),
        }
    }
    Ok(KeySet::new(keys))
}

fn read_key(value: &Value) -> Result<VerificationKey, Skipped> {
    let jwk: Jwk =
        serde_json::from_value(value.clone()).map_err(|e| Skipped::Malformed(e.to_string()))?;
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(PublicKeyUse::Encryption) => return Err(Skipped::NotForVerifying("use enc".into())),
        Some(PublicKeyUse::Other(other)) => {
            return Err(Skipped::NotForVerifying(format!("use {other}")))
        }
    }
    if let Some(operations) = &jwk.common.key_operations {
        if !operations.contains(&KeyOperations::Verify) {
            return Err(Skipped::NotForVerifying("key_ops without verify".into()));
        }
    }
    let natural = natural_algorithm(&jwk.algorithm)?;
    let algorithm = match jwk.common.key_algorithm {
        None => natural,
        Some(declared) => {
            let mismatch = || Skipped::AlgorithmMismatch(declared.to_string());
            let declared = Algorithm::try_from(declared).map_err(|_| mismatch())?;
            if !fits(declared, natural) {
                return Err(mismatch());
            }
            declared
        }
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| Skipped::Material(e.to_string()))?;
    let material = serde_json::to_vec(value).map_err(|e| Skipped::Malformed(e.to_string()))?;
    Ok(VerificationKey {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key,
        fingerprint: fingerprint(&material),
    })
}

/// The algorithm a key without `alg` is used with: the curve fixes it for EC and Ed keys; RSA keys
/// are RS256, what every JWT issuer uses unless it says otherwise.
fn natural_algorithm(parameters: &AlgorithmParameters) -> Result<Algorithm, Skipped> {
    match parameters {
        AlgorithmParameters::RSA(_) => Ok(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Ok(Algorithm::ES256),
            EllipticCurve::P384 => Ok(Algorithm::ES384),
            _ => Err(Skipped::UnsupportedType),
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => Ok(Algorithm::EdDSA),
            _ => Err(Skipped::UnsupportedType),
        },
        AlgorithmParameters::OctetKey(_) => Err(Skipped::Symmetric),
        _ => Err(Skipped::UnsupportedType),
    }
}

/// Whether a key whose type implies `natural` may be used with `declared`: an RSA key with any RSA
/// algorithm (PKCS#1 v1.5 or PSS, any hash), an EC or Ed key only with the one its curve implies.
fn fits(declared: Algorithm, natural: Algorithm) -> bool {
    match natural.family() {
        AlgorithmFamily::Rsa => declared.family() == AlgorithmFamily::Rsa,
        _ => declared == natural,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A syntactically valid RSA public key (RFC 7517 appendix A.1).
    const N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn rsa(extra: Value) -> Value {
        let mut key = json!({"kty": "RSA", "n": N, "e": "AQAB"});
        if let (Some(key), Some(extra)) = (key.as_object_mut(), extra.as_object()) {
            key.extend(extra.clone());
        }
        key
    }

    fn one(key: Value) -> Result<VerificationKey, Skipped> {
        read_key(&key)
    }

    #[test]
    fn keys_for_signatures_are_read_with_their_own_algorithm() {
        let key = one(rsa(json!({"kid": "r1", "use": "sig", "alg": "RS256"}))).unwrap();
        assert_eq!(key.kid.as_deref(), Some("r1"));
        assert_eq!(key.algorithm, Algorithm::RS256);
        assert_eq!(one(rsa(json!({}))).unwrap().algorithm, Algorithm::RS256);
        assert_eq!(
            one(rsa(json!({"alg": "PS384"}))).unwrap().algorithm,
            Algorithm::PS384
        );
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "kid": "e", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(one(ed).unwrap().algorithm, Algorithm::EdDSA);
        let ec = json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        assert_eq!(one(ec).unwrap().algorithm, Algorithm::ES256);
    }

    #[test]
    fn keys_not_for_verifying_or_not_fitting_their_alg_are_skipped() {
        assert_eq!(
            one(rsa(json!({"use": "enc"}))).unwrap_err(),
            Skipped::NotForVerifying("use enc".into())
        );
        assert!(one(rsa(json!({"key_ops": ["encrypt"]}))).is_err());
        assert!(one(rsa(json!({"key_ops": ["verify"]}))).is_ok());
        assert_eq!(
            one(rsa(json!({"alg": "HS256"}))).unwrap_err(),
            Skipped::AlgorithmMismatch("HS256".into())
        );
        assert!(matches!(
            one(rsa(json!({"alg": "RSA-OAEP"}))).unwrap_err(),
            Skipped::AlgorithmMismatch(_)
        ));
        let ec_with_wrong_alg = json!({"kty": "EC", "crv": "P-256", "alg": "ES384", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        assert!(matches!(
            one(ec_with_wrong_alg).unwrap_err(),
            Skipped::AlgorithmMismatch(_)
        ));
        assert_eq!(
            one(json!({"kty": "oct", "k": "c2VjcmV0"})).unwrap_err(),
            Skipped::Symmetric
        );
        assert_eq!(
            one(json!({"kty": "RSA", "e": "AQAB"})).unwrap_err(),
            Skipped::UnsupportedType
        );
    }

    #[test]
    fn a_set_keeps_its_usable_keys_and_skips_the_rest() {
        let body = json!({"keys": [
            rsa(json!({"kid": "enc", "use": "enc"})),
            rsa(json!({"kid": "sig", "use": "sig"})),
            {"kty": "whatever"},
            "not even an object",
        ]});
        let set = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.find(Some("sig")).is_some());
        assert!(parse(b"{\"keys\": []}").unwrap().is_empty());
        assert!(parse(b"<html>").is_err());
        assert!(parse(b"{\"keys\": {}}").is_err());
    }
}
