//! Verifying one JWT access token against one key (RFC 7519 §7.2, RFC 8725 §3): its signature
//! with the algorithm the key is fixed to, its type, `exp` and `nbf` with the configured leeway,
//! and `iss` when configured.
//!
//! Audience and scope are the guard's business (`shared::guard`), with Spring's rule that a token
//! without `aud` is for every resource server; the library's own audience check, which refuses
//! any token that has an `aud` unless told the one expected, is off.

use std::collections::HashSet;

use jsonwebtoken::errors::ErrorKind;
use shared::jwt_claims::AccessTokenClaims;

use super::keys::VerificationKey;

/// Why a token is refused; logged at debug level, never sent.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Not three base64url parts, a header that does not parse, or an `alg` such as `none` that
    /// names no signature algorithm.
    #[error("malformed: {0}")]
    Malformed(jsonwebtoken::errors::Error),
    /// RFC 8725 §3.11: a JWT of another kind (an ID token, a logout token…) is no access token.
    #[error("typ {0:?} is not an access token's")]
    Type(String),
    #[error("refused: {0}")]
    Verification(jsonwebtoken::errors::Error),
}

/// What the header says before anything is verified: only used to choose the key.
#[derive(Debug)]
pub struct TokenHeader {
    pub kid: Option<String>,
}

/// The header of `token`, if it is one this server may verify. `jku`, `x5u` and `jwk` are never
/// followed: the keys come from the settings only.
pub fn read_header(token: &str) -> Result<TokenHeader, Refusal> {
    let header = jsonwebtoken::decode_header(token).map_err(Refusal::Malformed)?;
    if let Some(typ) = &header.typ {
        if !is_access_token_type(typ) {
            return Err(Refusal::Type(typ.clone()));
        }
    }
    Ok(TokenHeader { kid: header.kid })
}

/// `JWT` (Spring and most issuers) or `at+jwt` (RFC 9068 §2.1), in any case, with or without
/// the `application/` prefix RFC 7515 §4.1.9 lets a sender leave out.
fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    let typ = typ.strip_prefix("application/").unwrap_or(&typ);
    typ == "jwt" || typ == "at+jwt"
}

/// The checks besides the signature.
#[derive(Debug, Clone)]
pub struct Rules {
    pub leeway_seconds: u64,
    /// `None`: `iss` is not checked (legacy Spring tokens have none).
    pub issuer: Option<String>,
}

#[derive(Debug)]
pub enum Verdict {
    /// Boxed: the claims are ten times the size of the other verdicts.
    Valid(Box<AccessTokenClaims>),
    /// Signed by the key, but past its `exp`.
    Expired,
    Invalid(Refusal),
}

impl Rules {
    fn validation(&self, key: &VerificationKey) -> jsonwebtoken::Validation {
        // The key's own algorithm and no other: a token whose header says otherwise is refused
        // before any signature is computed (no `none`, no RS256 key used as an HMAC secret).
        let mut validation = jsonwebtoken::Validation::new(key.algorithm);
        validation.leeway = self.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        // A JWT cannot be revoked here: one without `exp` would be good for ever.
        let mut required = HashSet::from(["exp".to_owned()]);
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            required.insert("iss".to_owned());
        }
        validation.required_spec_claims = required;
        validation
    }

    pub fn verify(&self, token: &str, key: &VerificationKey) -> Verdict {
        // The library verifies the signature before it looks at any claim, so `ExpiredSignature`
        // means a genuine token that expired.
        match jsonwebtoken::decode::<AccessTokenClaims>(token, &key.key, &self.validation(key)) {
            Ok(data) => Verdict::Valid(Box::new(data.claims)),
            Err(error) if matches!(error.kind(), ErrorKind::ExpiredSignature) => Verdict::Expired,
            Err(error) => Verdict::Invalid(Refusal::Verification(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::keys::fingerprint;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
    use serde_json::{json, Value};

    const SECRET: &[u8] = b"a-test-secret-that-is-long-enough-for-hs256";

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    fn key() -> VerificationKey {
        VerificationKey {
            kid: None,
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(SECRET).unwrap(),
            fingerprint: fingerprint(SECRET),
        }
    }

    fn sign(header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(SECRET).unwrap()).unwrap()
    }

    fn claims(extra: Value) -> Value {
        let mut claims = json!({"client_id": "dev", "scope": "app", "exp": now() + 60});
        if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
            claims.extend(extra.clone());
        }
        claims
    }

    fn rules(issuer: Option<&str>) -> Rules {
        Rules {
            leeway_seconds: 30,
            issuer: issuer.map(str::to_owned),
        }
    }

    #[test]
    fn a_good_token_verifies_and_reads_as_spring_wrote_it() {
        let token = sign(
            &Header::new(Algorithm::HS256),
            &claims(json!({"aud": "other", "scope": ["app", "read"]})),
        );
        let Verdict::Valid(claims) = rules(None).verify(&token, &key()) else {
            panic!("refused")
        };
        assert_eq!(claims.client_id, "dev");
        assert_eq!(
            claims.aud,
            ["other"],
            "aud is left to the guard, not refused here"
        );
    }

    #[test]
    fn time_claims_count_with_the_leeway() {
        let expired = sign(
            &Header::new(Algorithm::HS256),
            &claims(json!({"exp": now() - 120})),
        );
        assert!(matches!(
            rules(None).verify(&expired, &key()),
            Verdict::Expired
        ));
        let within_leeway = sign(
            &Header::new(Algorithm::HS256),
            &claims(json!({"exp": now() - 5, "nbf": now() + 5})),
        );
        assert!(matches!(
            rules(None).verify(&within_leeway, &key()),
            Verdict::Valid(_)
        ));
        let not_yet = sign(
            &Header::new(Algorithm::HS256),
            &claims(json!({"nbf": now() + 120})),
        );
        assert!(matches!(
            rules(None).verify(&not_yet, &key()),
            Verdict::Invalid(_)
        ));
        let for_ever = sign(&Header::new(Algorithm::HS256), &json!({"client_id": "dev"}));
        assert!(matches!(
            rules(None).verify(&for_ever, &key()),
            Verdict::Invalid(_)
        ));
    }

    #[test]
    fn the_issuer_is_checked_only_when_configured() {
        let header = Header::new(Algorithm::HS256);
        let theirs = sign(&header, &claims(json!({"iss": "https://elsewhere"})));
        let none = sign(&header, &claims(json!({})));
        let ours = sign(&header, &claims(json!({"iss": "https://auth"})));
        let checked = rules(Some("https://auth"));
        assert!(matches!(checked.verify(&ours, &key()), Verdict::Valid(_)));
        assert!(matches!(
            checked.verify(&theirs, &key()),
            Verdict::Invalid(_)
        ));
        assert!(matches!(checked.verify(&none, &key()), Verdict::Invalid(_)));
        assert!(matches!(
            rules(None).verify(&theirs, &key()),
            Verdict::Valid(_)
        ));
    }

    #[test]
    fn the_header_never_chooses_the_algorithm() {
        let hs384 = sign(&Header::new(Algorithm::HS384), &claims(json!({})));
        assert!(matches!(
            rules(None).verify(&hs384, &key()),
            Verdict::Invalid(_)
        ));
        // `alg: none` does not even read as a header.
        let none = format!(
            "{}.{}.",
            base64_url(br#"{"alg":"none","typ":"JWT"}"#),
            base64_url(claims(json!({})).to_string().as_bytes())
        );
        assert!(matches!(read_header(&none), Err(Refusal::Malformed(_))));
        assert!(matches!(
            rules(None).verify(&none, &key()),
            Verdict::Invalid(_)
        ));
    }

    #[test]
    fn only_access_token_types_pass() {
        for typ in ["JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt"] {
            let mut header = Header::new(Algorithm::HS256);
            header.typ = Some(typ.to_owned());
            assert!(
                read_header(&sign(&header, &claims(json!({})))).is_ok(),
                "{typ}"
            );
        }
        let mut header = Header::new(Algorithm::HS256);
        header.typ = None;
        assert!(read_header(&sign(&header, &claims(json!({})))).is_ok());
        for typ in ["logout+jwt", "JOSE", "secevent+jwt"] {
            header.typ = Some(typ.to_owned());
            assert!(matches!(
                read_header(&sign(&header, &claims(json!({})))),
                Err(Refusal::Type(_))
            ));
        }
    }

    fn base64_url(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
