//! `validation.mode = "mixed"`: JWTs are verified here, any other token is introspected. For an
//! auth server moving from opaque tokens to JWTs, while tokens of both kinds are in use.

use std::sync::Arc;

use shared::guard::{TokenValidator, Validation, ValidationFuture};

use crate::introspection::CachingValidator;
use crate::jwt::JwtValidator;

pub struct MixedValidator {
    pub jwt: Arc<JwtValidator>,
    pub introspection: Arc<CachingValidator>,
}

/// Whether `token` has the shape of a JWS in compact serialization (RFC 7515 §7.1): three
/// base64url parts separated by dots, the last (the signature) possibly empty so that an unsigned
/// token is refused here rather than sent to the auth server. Opaque tokens (random base64url,
/// UUIDs) have no dot.
pub fn looks_like_jwt(token: &str) -> bool {
    let is_base64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => {
            !header.is_empty()
                && !payload.is_empty()
                && [header, payload, signature].into_iter().all(is_base64url)
        }
        _ => false,
    }
}

impl TokenValidator for MixedValidator {
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
        if looks_like_jwt(token) {
            self.jwt.validate(token)
        } else {
            self.introspection.validate(token)
        }
    }

    fn remembered(&self, token: &str) -> Option<Validation> {
        if looks_like_jwt(token) {
            self.jwt.remembered(token)
        } else {
            self.introspection.remembered(token)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_jwt;

    #[test]
    fn jwts_are_told_from_opaque_tokens_by_their_shape() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(looks_like_jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."));
        for opaque in [
            "AZQmV3Jc2tq0kQ3n1yF8b2b0mJp3x7Yk4mH0cW9sZ1Q",
            "0b0f5b7e-2a4c-4e1a-9d9b-7c9e8f2a1b3c",
            "a.b",
            "a.b.c.d",
            ".b.c",
            "a..c",
            "a+b.c/d.e",
            "a.b.c=",
        ] {
            assert!(!looks_like_jwt(opaque), "{opaque}");
        }
    }
}
