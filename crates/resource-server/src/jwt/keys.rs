//! The keys this server verifies JWTs with, each fixed to one algorithm (RFC 7515 §10.7, RFC 8725
//! §3.1): a token's `alg` header only ever has to agree with its key, it never chooses how the
//! key is used.

use jsonwebtoken::{Algorithm, DecodingKey};
use sha2::{Digest, Sha256};

/// SHA-256 of what a key was read from: tells whether a key is still in the set after a refetch.
pub type Fingerprint = [u8; 32];

pub fn fingerprint(material: &[u8]) -> Fingerprint {
    Sha256::digest(material).into()
}

pub struct VerificationKey {
    /// `None` for a legacy key (`/oauth/token_key`, a shared secret), which names none.
    pub kid: Option<String>,
    /// The one algorithm this key verifies.
    pub algorithm: Algorithm,
    pub key: DecodingKey,
    pub fingerprint: Fingerprint,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The keys of one fetch (or of the configured secret).
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

impl KeySet {
    pub fn new(keys: Vec<VerificationKey>) -> Self {
        Self { keys }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key a token's header points to: the one with its `kid`; or, when the token names none
    /// or the set is a single legacy key without one, the only key there is. Several keys and no
    /// way to tell them apart: none (trying each would let a token pick).
    pub fn find(&self, kid: Option<&str>) -> Option<&VerificationKey> {
        let only = match self.keys.as_slice() {
            [only] => Some(only),
            _ => None,
        };
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|key| key.kid.as_deref() == Some(kid))
                .or_else(|| only.filter(|key| key.kid.is_none())),
            None => only,
        }
    }

    pub fn contains(&self, fingerprint: &Fingerprint) -> bool {
        self.keys.iter().any(|key| &key.fingerprint == fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: Option<&str>, material: &str) -> VerificationKey {
        VerificationKey {
            kid: kid.map(str::to_owned),
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(material.as_bytes()).unwrap(),
            fingerprint: fingerprint(material.as_bytes()),
        }
    }

    #[test]
    fn a_key_is_found_by_kid_or_as_the_only_one() {
        let set = KeySet::new(vec![key(Some("a"), "1"), key(Some("b"), "2")]);
        assert_eq!(set.find(Some("b")).unwrap().kid.as_deref(), Some("b"));
        assert!(set.find(Some("c")).is_none());
        assert!(set.find(None).is_none(), "two keys, no kid: ambiguous");

        let one = KeySet::new(vec![key(Some("a"), "1")]);
        assert!(one.find(None).is_some());
        assert!(
            one.find(Some("z")).is_none(),
            "a key with another kid is not this one"
        );

        let legacy = KeySet::new(vec![key(None, "1")]);
        assert!(legacy.find(Some("anything")).is_some());
        assert!(legacy.find(None).is_some());
        assert!(KeySet::default().find(None).is_none());
    }

    #[test]
    fn keys_are_recognised_by_fingerprint() {
        let set = KeySet::new(vec![key(Some("a"), "1")]);
        assert!(set.contains(&fingerprint(b"1")));
        assert!(!set.contains(&fingerprint(b"2")));
    }
}
