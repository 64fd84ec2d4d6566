//! Proof Key for Code Exchange (RFC 7636).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `BASE64URL(SHA256(verifier)) == challenge`: the one to use.
    S256,
    /// `verifier == challenge`: allowed by RFC 7636 for clients that cannot hash.
    Plain,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::S256 => "S256",
            Method::Plain => "plain",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "S256" => Some(Method::S256),
            "plain" => Some(Method::Plain),
            _ => None,
        }
    }
}

/// A `code_challenge` with its method, as the authorization request sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub value: String,
    pub method: Method,
}

/// §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`. Challenges have
/// the same shape (§4.2: a base64url SHA-256 is 43 characters).
fn is_well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The PKCE parameters of an authorization request are malformed (§4.2, §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedChallenge;

/// Reads the PKCE parameters of an authorization request. `Ok(None)`: the client sent none.
/// §4.3: a missing method means `plain`. A method without a challenge is an error.
pub fn parse_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<Challenge>, MalformedChallenge> {
    match (challenge, method) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(MalformedChallenge),
        (Some(value), method) => {
            let method = match method {
                None => Method::Plain,
                Some(name) => Method::parse(name).ok_or(MalformedChallenge)?,
            };
            if !is_well_formed(value) {
                return Err(MalformedChallenge);
            }
            Ok(Some(Challenge {
                value: value.to_owned(),
                method,
            }))
        }
    }
}

/// §4.6: whether `verifier` answers `challenge`. A malformed verifier never does.
pub fn verify(challenge: &Challenge, verifier: &str) -> bool {
    if !is_well_formed(verifier) {
        return false;
    }
    let expected = match challenge.method {
        Method::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        Method::Plain => verifier.to_owned(),
    };
    expected.len() == challenge.value.len()
        && bool::from(expected.as_bytes().ct_eq(challenge.value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies_with_s256() {
        let challenge = parse_challenge(Some(CHALLENGE), Some("S256"))
            .unwrap()
            .unwrap();
        assert!(verify(&challenge, VERIFIER));
        assert!(!verify(&challenge, &VERIFIER.replace('d', "e")));
    }

    #[test]
    fn plain_is_the_default_method_and_compares_as_is() {
        let challenge = parse_challenge(Some(VERIFIER), None).unwrap().unwrap();
        assert_eq!(challenge.method, Method::Plain);
        assert!(verify(&challenge, VERIFIER));
        assert!(!verify(&challenge, CHALLENGE));
    }

    #[test]
    fn malformed_challenges_methods_and_verifiers_are_refused() {
        assert!(parse_challenge(Some("short"), Some("S256")).is_err());
        assert!(parse_challenge(Some(&"a".repeat(129)), Some("S256")).is_err());
        assert!(parse_challenge(Some(CHALLENGE), Some("s256")).is_err());
        assert!(parse_challenge(None, Some("S256")).is_err());
        let challenge = parse_challenge(Some(&"a".repeat(43)), Some("plain"))
            .unwrap()
            .unwrap();
        assert!(
            !verify(&challenge, &"a".repeat(42)),
            "too short even if equal prefix"
        );
        let spaced = format!("{} ", "a".repeat(43));
        assert!(!verify(&challenge, &spaced));
    }
}
