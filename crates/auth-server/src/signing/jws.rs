//! JWS compact serialization (RFC 7515 §7.1) with a key parsed once.
//!
//! `jsonwebtoken::encode` parses the private key from its DER at every signature: for Ed25519
//! that derives the public key (a base-point multiplication) each time, 20% of the CPU of issuing
//! an EdDSA JWT, about as much as the signature itself. The signing here is done by the same
//! RustCrypto implementations jsonwebtoken uses (`rsa` PKCS#1 v1.5 with SHA-256, `p256` ECDSA,
//! `ed25519-dalek`, `hmac`), with each key parsed when it is loaded; only the assembly of
//! `base64url(header).base64url(claims).base64url(signature)` is ours. Tests verify the result
//! with jsonwebtoken's decoder, and `scripts/jwt-interop.sh` with PyJWT.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::Header;
use rsa::pkcs8::DecodePrivateKey;
use serde::Serialize;

use super::algorithm::SigningAlgorithm;
use super::SigningError;

/// A private key or shared secret, ready to sign.
#[derive(Clone)]
pub enum JwsSigner {
    Rs256(rsa::pkcs1v15::SigningKey<rsa::sha2::Sha256>),
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
    Hs256(Hmac<sha2::Sha256>),
}

impl JwsSigner {
    /// From a PKCS#8 PEM private key of `algorithm`.
    pub fn from_pem(algorithm: SigningAlgorithm, private_pem: &str) -> Result<Self, SigningError> {
        let bad = |e: &dyn std::fmt::Display| SigningError::Key(e.to_string());
        Ok(match algorithm {
            SigningAlgorithm::RS256 => Self::Rs256(rsa::pkcs1v15::SigningKey::new(
                rsa::PrivateKey::from_pkcs8_pem(private_pem).map_err(|e| bad(&e))?,
            )),
            SigningAlgorithm::ES256 => Self::Es256(
                p256::ecdsa::SigningKey::from_pkcs8_pem(private_pem).map_err(|e| bad(&e))?,
            ),
            SigningAlgorithm::EdDSA => Self::EdDsa(
                ed25519_dalek::SigningKey::from_pkcs8_pem(private_pem).map_err(|e| bad(&e))?,
            ),
            SigningAlgorithm::HS256 => {
                return Err(SigningError::Key("HS256 has no private key".into()))
            }
        })
    }

    pub fn hs256(secret: &[u8]) -> Result<Self, SigningError> {
        Hmac::new_from_slice(secret)
            .map(Self::Hs256)
            .map_err(|e| SigningError::Key(e.to_string()))
    }

    fn algorithm(&self) -> SigningAlgorithm {
        match self {
            Self::Rs256(_) => SigningAlgorithm::RS256,
            Self::Es256(_) => SigningAlgorithm::ES256,
            Self::EdDsa(_) => SigningAlgorithm::EdDSA,
            Self::Hs256(_) => SigningAlgorithm::HS256,
        }
    }

    /// The JWS signature of `message` (RFC 7518 §3): PKCS#1 v1.5, ECDSA as `r || s`, Ed25519, or
    /// the HMAC.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        use ed25519_dalek::Signer as _;
        // One error type: the three signature crates share the `signature` crate.
        let failed = |e: rsa::signature::Error| SigningError::Key(e.to_string());
        Ok(match self {
            Self::Rs256(key) => {
                use rsa::signature::{SignatureEncoding, Signer};
                key.try_sign(message).map_err(failed)?.to_vec()
            }
            Self::Es256(key) => {
                use p256::ecdsa::signature::Signer;
                let signature: p256::ecdsa::Signature = key.try_sign(message).map_err(failed)?;
                signature.to_bytes().to_vec()
            }
            Self::EdDsa(key) => key.sign(message).to_bytes().to_vec(),
            Self::Hs256(mac) => {
                let mut mac = mac.clone();
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
        })
    }

    /// `header` and `claims` signed into a compact JWS. The header's `alg` must be this key's.
    pub fn encode(&self, header: &Header, claims: &impl Serialize) -> Result<String, SigningError> {
        if header.alg != self.algorithm().jose() {
            return Err(SigningError::Key(format!(
                "a {:?} key cannot sign a {:?} header",
                self.algorithm(),
                header.alg
            )));
        }
        let mut token = URL_SAFE_NO_PAD.encode(json(header)?);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(json(claims)?, &mut token);
        let signature = self.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}

fn json(value: &impl Serialize) -> Result<Vec<u8>, SigningError> {
    serde_json::to_vec(value).map_err(|e| SigningError::Key(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::{json, Value};

    fn decoding(algorithm: SigningAlgorithm, public_pem: &str) -> DecodingKey {
        match algorithm {
            SigningAlgorithm::RS256 => DecodingKey::from_rsa_pem(public_pem.as_bytes()),
            SigningAlgorithm::ES256 => DecodingKey::from_ec_pem(public_pem.as_bytes()),
            SigningAlgorithm::EdDSA => DecodingKey::from_ed_pem(public_pem.as_bytes()),
            SigningAlgorithm::HS256 => unreachable!("no public key"),
        }
        .unwrap()
    }

    /// Every algorithm's token verifies with jsonwebtoken's decoder, an implementation that is not
    /// this one, and a changed claim does not.
    #[test]
    fn tokens_verify_with_jsonwebtoken_and_tampering_is_caught() {
        let claims = json!({"sub": "admin", "scope": "app", "exp": 4_000_000_000i64});
        for algorithm in [
            SigningAlgorithm::RS256,
            SigningAlgorithm::ES256,
            SigningAlgorithm::EdDSA,
        ] {
            let pair = algorithm.generate().unwrap().unwrap();
            let signer = JwsSigner::from_pem(algorithm, &pair.private_pem).unwrap();
            let mut header = Header::new(algorithm.jose());
            header.kid = Some("k1".into());
            let token = signer.encode(&header, &claims).unwrap();
            let key = decoding(algorithm, &pair.public_pem);
            let mut validation = Validation::new(algorithm.jose());
            validation.validate_aud = false;
            let decoded = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
            assert_eq!(decoded.claims, claims, "{algorithm:?}");
            assert_eq!(decoded.header.kid.as_deref(), Some("k1"));
            let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"root","exp":4000000000}"#);
            let parts: Vec<&str> = token.split('.').collect();
            let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
            assert!(
                jsonwebtoken::decode::<Value>(&forged, &key, &validation).is_err(),
                "{algorithm:?}"
            );
        }
        let secret = [7u8; 32];
        let token = JwsSigner::hs256(&secret)
            .unwrap()
            .encode(&Header::new(jsonwebtoken::Algorithm::HS256), &claims)
            .unwrap();
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_aud = false;
        let decoded = jsonwebtoken::decode::<Value>(
            &token,
            &DecodingKey::from_secret(&secret).unwrap(),
            &validation,
        );
        assert_eq!(decoded.unwrap().claims, claims);
    }

    #[test]
    fn a_key_signs_only_headers_of_its_own_algorithm() {
        let pair = SigningAlgorithm::EdDSA.generate().unwrap().unwrap();
        let signer = JwsSigner::from_pem(SigningAlgorithm::EdDSA, &pair.private_pem).unwrap();
        let refused = signer.encode(&Header::new(jsonwebtoken::Algorithm::RS256), &json!({}));
        assert!(refused.is_err());
    }
}
