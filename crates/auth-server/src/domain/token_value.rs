//! Token values and the only form in which the database sees them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How access and refresh token values look (`tokens.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormat {
    /// 256 bits, base64url without padding: 43 characters. The first 48 bits are the time of
    /// issue in milliseconds and the other 208 come from the operating system's generator.
    Random,
    /// A version 4 UUID (122 random bits), what Spring's `DefaultTokenServices` issued.
    Uuid,
}

/// Bytes of a random-format value that hold its time of issue.
const TIME_BYTES: usize = 6;

/// A fresh token value. `rand::random` draws from a CSPRNG seeded by the operating system.
pub fn generate(format: TokenFormat) -> String {
    match format {
        TokenFormat::Random => {
            let mut bytes: [u8; 32] = rand::random();
            let millis = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as u64);
            bytes[..TIME_BYTES].copy_from_slice(&millis.to_be_bytes()[8 - TIME_BYTES..]);
            URL_SAFE_NO_PAD.encode(bytes)
        }
        TokenFormat::Uuid => uuid::Uuid::new_v4().to_string(),
    }
}

/// What the database stores in place of a token: 64 hex characters from which the token cannot be
/// recovered, indexable for lookups.
///
/// For a random-format value that is its 48-bit time of issue followed by the first 208 bits of
/// its SHA-256; for anything else, its whole SHA-256. The time comes first so that new rows are
/// appended to the end of the token tables' B-trees: with a plain hash as the key every token was
/// written to a random page, a page of disk writes per token, which capped client_credentials on
/// SQLite. The time is no secret (`issued_at` is stored beside it), and 208 bits of hash over a
/// value with 208 random bits keep a dump useless, so an unsalted fast hash is still enough.
pub fn hash(token: &str) -> String {
    keys(token).0
}

/// The current key, and the whole SHA-256 when that differs from it; one digest for both.
fn keys(token: &str) -> (String, Option<String>) {
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    let timed = |time: &[u8]| {
        let mut key = hex::encode(time);
        key.push_str(&digest[..64 - 2 * TIME_BYTES]);
        key
    };
    match URL_SAFE_NO_PAD.decode(token) {
        Ok(bytes) if token.len() == 43 && bytes.len() == 32 => {
            let key = timed(&bytes[..TIME_BYTES]);
            (key, Some(digest))
        }
        // JWTs came after time-ordered keys: nothing is stored under their whole digest.
        _ => match jwt_issue_millis(token) {
            Some(millis) => (timed(&millis.to_be_bytes()[8 - TIME_BYTES..]), None),
            None => (digest, None),
        },
    }
}

/// The time of issue of a JWT this server signed, from its `jti` (a version 7 UUID, whose first
/// 48 bits are milliseconds), read without verifying anything: it only places the key, and a
/// forged token finds no row under it.
fn jwt_issue_millis(token: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Jti {
        jti: Option<String>,
    }
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let jti = uuid::Uuid::parse_str(&serde_json::from_slice::<Jti>(&payload).ok()?.jti?).ok()?;
    if jti.get_version_num() != 7 {
        return None;
    }
    let (seconds, nanos) = jti.get_timestamp()?.to_unix();
    Some(seconds * 1000 + u64::from(nanos) / 1_000_000)
}

/// The keys a presented token may be stored under, the current one first. Tokens issued before
/// keys began with the time of issue are stored under their whole SHA-256: looking there too keeps
/// them valid across the upgrade for their lifetime (30 days for a refresh token by default). Only
/// a token no key finds pays for the second lookup.
pub fn stored_keys(token: &str) -> impl Iterator<Item = String> {
    let (key, earlier) = keys(token);
    std::iter::once(key).chain(earlier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn random_tokens_are_43_url_safe_characters() {
        // 100,000 without a repeat: docs/security.md, item 16, in tests/api/security/token_endpoint.rs.
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
    fn a_uuid_is_stored_as_its_sha256_hex() {
        let token = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
        assert_eq!(hash(token), hex::encode(Sha256::digest(token.as_bytes())));
    }

    #[test]
    fn a_random_token_is_stored_as_its_time_then_its_hash() {
        let token = generate(TokenFormat::Random);
        let key = hash(&token);
        let digest = hex::encode(Sha256::digest(token.as_bytes()));
        assert_eq!(key.len(), 64);
        assert!(!key.contains(&token));
        assert_eq!(&key[12..], &digest[..52]);
        let millis = u64::from_str_radix(&key[..12], 16).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(
            now - millis < 60_000,
            "the key starts with the time of issue"
        );
    }

    #[test]
    fn a_token_from_before_the_upgrade_is_also_looked_up_by_its_whole_hash() {
        let token = generate(TokenFormat::Random);
        let keys: Vec<String> = stored_keys(&token).collect();
        assert_eq!(
            keys,
            [hash(&token), hex::encode(Sha256::digest(token.as_bytes()))]
        );
        let uuid = generate(TokenFormat::Uuid);
        assert_eq!(stored_keys(&uuid).collect::<Vec<_>>(), [hash(&uuid)]);
    }

    #[test]
    fn a_jwt_is_stored_by_the_time_of_its_jti_then_its_hash() {
        let jti = uuid::Uuid::now_v7();
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"client_id":"dev","jti":"{jti}"}}"#));
        let token = format!("eyJhbGciOiJFZERTQSJ9.{payload}.c2lnbmF0dXJl");
        let key = hash(&token);
        let digest = hex::encode(Sha256::digest(token.as_bytes()));
        assert_eq!(&key[12..], &digest[..52]);
        let (seconds, nanos) = jti.get_timestamp().unwrap().to_unix();
        let millis = u64::from_str_radix(&key[..12], 16).unwrap();
        assert_eq!(millis, seconds * 1000 + u64::from(nanos) / 1_000_000);
        assert_eq!(
            stored_keys(&token).count(),
            1,
            "JWTs were never stored otherwise"
        );
        // Another signature over the same claims is another token, under another key.
        assert_ne!(
            hash(&format!("eyJhbGciOiJFZERTQSJ9.{payload}.b3RoZXI")),
            key
        );
        // Without a version 7 jti (not one of ours), the whole digest.
        let foreign = format!(
            "eyJhbGciOiJFZERTQSJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"jti":"f47ac10b-58cc-4372-a567-0e02b2c3d479"}"#)
        );
        assert_eq!(
            hash(&foreign),
            hex::encode(Sha256::digest(foreign.as_bytes()))
        );
        assert_eq!(hash("a.b.c"), hex::encode(Sha256::digest(b"a.b.c")));
    }

    #[test]
    fn later_tokens_are_stored_after_earlier_ones() {
        let first = hash(&generate(TokenFormat::Random));
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = hash(&generate(TokenFormat::Random));
        assert!(first < second, "{first} then {second}");
    }
}
