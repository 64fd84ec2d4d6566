//! Token values and the only form in which the database sees them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How access and refresh token values look (`tokens.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormat {
    /// 256 bits from the operating system's generator, base64url without padding: 43 characters.
    Random,
    /// A version 4 UUID (122 random bits), what Spring's `DefaultTokenServices` issued.
    Uuid,
}

/// A fresh token value. `rand::random` draws from a CSPRNG seeded by the operating system.
pub fn generate(format: TokenFormat) -> String {
    match format {
        TokenFormat::Random => URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()),
        TokenFormat::Uuid => uuid::Uuid::new_v4().to_string(),
    }
}

/// What the database stores in place of a token: its SHA-256, hex. A token has at least 122 bits of
/// entropy, so an unsalted fast hash is enough to make a dump useless and keeps lookups indexable.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn random_tokens_are_43_url_safe_characters() {
        // 100,000 without a repeat: SECURITY.md item 16, in tests/api/security.rs.
        let tokens: HashSet<String> = (0..100).map(|_| generate(TokenFormat::Random)).collect();
        assert_eq!(tokens.len(), 100);
        for token in &tokens {
            assert_eq!(token.len(), 43);
            assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn uuid_tokens_look_like_springs() {
        let token = generate(TokenFormat::Uuid);
        assert_eq!(uuid::Uuid::parse_str(&token).unwrap().get_version_num(), 4);
    }

    #[test]
    fn the_stored_form_is_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
