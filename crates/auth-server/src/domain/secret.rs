//! Stored secrets in the formats of Spring Security's password encoders, and checking them.
//!
//! Client secrets and user passwords share this: `{bcrypt}$2a$…` (DelegatingPasswordEncoder),
//! a bare `$2a$`/`$2b$`/`$2y$` hash (BCryptPasswordEncoder before Spring Security 5), and
//! `{noop}plain`. Anything else (`{pbkdf2}`, `{scrypt}`, bare plain text) is refused, as
//! DelegatingPasswordEncoder refused an unmapped id, and logged so an operator can re-set it.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret as read from the database, classified by encoding.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSecret {
    /// NULL or empty: a public client (RFC 6749 §2.1). Never matches a presented secret.
    Absent,
    Bcrypt(String),
    Noop(String),
    /// An encoding this server cannot check; the string names it for the log.
    Unsupported(String),
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.encoding())
    }
}

fn is_bcrypt_hash(value: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| value.starts_with(p))
}

impl StoredSecret {
    pub fn parse(stored: Option<&str>) -> Self {
        let Some(stored) = stored.filter(|s| !s.is_empty()) else {
            return Self::Absent;
        };
        if let Some(hash) = stored.strip_prefix("{bcrypt}") {
            return Self::Bcrypt(hash.to_owned());
        }
        if let Some(plain) = stored.strip_prefix("{noop}") {
            return Self::Noop(plain.to_owned());
        }
        if is_bcrypt_hash(stored) {
            return Self::Bcrypt(stored.to_owned());
        }
        match stored
            .strip_prefix('{')
            .and_then(|rest| rest.split_once('}'))
        {
            Some((id, _)) => Self::Unsupported(format!("{{{id}}}")),
            None => Self::Unsupported("plain text without an encoding id".to_owned()),
        }
    }

    pub fn encoding(&self) -> &str {
        match self {
            Self::Absent => "none",
            Self::Bcrypt(_) => "bcrypt",
            Self::Noop(_) => "noop",
            Self::Unsupported(id) => id,
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// Whether a presented secret could ever match.
    pub fn is_checkable(&self) -> bool {
        matches!(self, Self::Bcrypt(_) | Self::Noop(_))
    }

    /// The stored hash or value, for the verification cache's key.
    pub fn material(&self) -> &[u8] {
        match self {
            Self::Bcrypt(value) | Self::Noop(value) | Self::Unsupported(value) => value.as_bytes(),
            Self::Absent => b"",
        }
    }
}

/// Whether `presented` matches `stored`. Every outcome costs one bcrypt verification (against
/// `dummy`, a hash of nothing, when there is no hash to check), so the time of an answer tells
/// neither whether the account exists nor how its secret is stored (docs/security.md, item 15). Slow on
/// purpose: run it on a bcrypt thread.
pub fn check(stored: &StoredSecret, presented: &str, dummy: &str) -> bool {
    match stored {
        StoredSecret::Bcrypt(hash) => match bcrypt::verify(presented, hash) {
            Ok(matches) => matches,
            Err(_) => {
                log::warn!("a stored bcrypt hash is malformed; re-set it with the CLI");
                let _ = bcrypt::verify(presented, dummy);
                false
            }
        },
        StoredSecret::Noop(plain) => {
            // Comparing digests keeps the length of the stored secret out of the timing too.
            let a = Sha256::digest(plain.as_bytes());
            let b = Sha256::digest(presented.as_bytes());
            let _ = bcrypt::verify(presented, dummy);
            bool::from(a.ct_eq(&b))
        }
        StoredSecret::Absent => {
            let _ = bcrypt::verify(presented, dummy);
            false
        }
        StoredSecret::Unsupported(encoding) => {
            log::warn!(
                "a stored secret uses the unsupported encoding {encoding}; re-set it with the CLI"
            );
            let _ = bcrypt::verify(presented, dummy);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dummy() -> String {
        bcrypt::hash("dummy", 4).unwrap()
    }

    fn verify(stored: &StoredSecret, presented: &str) -> bool {
        check(stored, presented, &dummy())
    }

    #[test]
    fn reads_every_format_spring_writes() {
        // The example of Spring Security's reference (DelegatingPasswordEncoder), for "password".
        let spring = "$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG";
        assert!(verify(&StoredSecret::parse(Some(spring)), "password"));
        assert!(verify(
            &StoredSecret::parse(Some(&format!("{{bcrypt}}{spring}"))),
            "password"
        ));
        assert!(!verify(&StoredSecret::parse(Some(spring)), "Password"));
        assert!(verify(&StoredSecret::parse(Some("{noop}11")), "11"));
        assert!(!verify(&StoredSecret::parse(Some("{noop}11")), "111"));
    }

    #[test]
    fn unknown_encodings_and_public_clients_never_match() {
        for stored in [None, Some(""), Some("{pbkdf2}abc"), Some("plaintext")] {
            let secret = StoredSecret::parse(stored);
            assert!(!verify(&secret, ""), "{stored:?}");
            assert!(!verify(&secret, "plaintext"), "{stored:?}");
        }
        assert_eq!(
            StoredSecret::parse(Some("{pbkdf2}abc")).encoding(),
            "{pbkdf2}"
        );
    }

    #[test]
    fn long_passwords_are_checked_as_spring_checked_them() {
        // bcrypt reads 72 bytes; Spring's BCrypt did the same, so existing hashes keep working.
        let long = "x".repeat(100);
        let encoded = format!("{{bcrypt}}{}", bcrypt::hash(&long, 4).unwrap());
        assert!(verify(&StoredSecret::parse(Some(&encoded)), &long));
    }
}
