//! The ID token (OpenID Connect Core §2, §3.1.3.6, §3.2.2.10): who signed in, for which client,
//! when, and the claims the granted scopes release. Minted by [`crate::issuing::Issuer::id_token`];
//! the flows that answer one are in `openid/`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};
use shared::Scope;

use crate::domain::profile::Profile;
use crate::signing::SigningAlgorithm;

/// Who signed in for an OpenID Connect grant, and what the ID token repeats of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub username: String,
    pub scope: Scope,
    /// Unix seconds; unknown after a refresh.
    pub auth_time: Option<i64>,
    pub nonce: Option<String>,
}

impl SignIn {
    /// For a grant of `scope` on behalf of `username`, when `scope` has `openid`.
    pub fn of(username: Option<&str>, scope: &Scope) -> Option<Self> {
        let username = username.filter(|_| scope.contains("openid"))?;
        Some(Self {
            username: username.to_owned(),
            scope: scope.clone(),
            auth_time: None,
            nonce: None,
        })
    }
}

/// What an ID token is minted from.
pub struct IdTokenFor<'a> {
    pub client_id: &'a str,
    pub username: &'a str,
    /// The granted scope: `profile` and `email` release the profile's claims.
    pub scope: &'a Scope,
    /// Unix seconds of the sign-in; unknown after a refresh, where it is left out (§12.2 allows).
    pub auth_time: Option<i64>,
    /// The authorization request's, echoed; never on a refresh (§12.2).
    pub nonce: Option<&'a str>,
    /// The access token issued with it, hashed into `at_hash`.
    pub access_token: Option<&'a str>,
    pub profile: Option<&'a Profile>,
    pub now: i64,
    /// Seconds it is valid.
    pub validity: i64,
}

#[derive(Debug, Serialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// One audience, as a string: every relying-party library reads that form.
    pub aud: String,
    /// §2: the party it was issued to, which equals `aud` here.
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

impl IdTokenFor<'_> {
    /// The claims, for a token signed with `algorithm` by `issuer`.
    pub fn claims(&self, issuer: &str, algorithm: SigningAlgorithm) -> IdTokenClaims {
        IdTokenClaims {
            iss: issuer.to_owned(),
            sub: self.username.to_owned(),
            aud: self.client_id.to_owned(),
            azp: self.client_id.to_owned(),
            exp: self.now + self.validity,
            iat: self.now,
            auth_time: self.auth_time,
            nonce: self.nonce.map(str::to_owned),
            at_hash: self.access_token.map(|token| half_hash(algorithm, token)),
            profile: self
                .profile
                .map(|p| p.claims(self.scope))
                .unwrap_or_default(),
        }
    }
}

/// §3.1.3.6 `at_hash`: the left half of the token's hash under the hash of the signature
/// algorithm, base64url. Ed25519 signs with SHA-512, so EdDSA hashes with it (as Authlib and
/// the OpenID Foundation's errata read it).
pub fn half_hash(algorithm: SigningAlgorithm, value: &str) -> String {
    let digest: Vec<u8> = match algorithm {
        SigningAlgorithm::EdDSA => Sha512::digest(value.as_bytes()).to_vec(),
        SigningAlgorithm::RS256 | SigningAlgorithm::ES256 | SigningAlgorithm::HS256 => {
            Sha256::digest(value.as_bytes()).to_vec()
        }
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256_for_rs256() {
        // OpenID Connect Core, appendix A.3: the at_hash of this access token.
        assert_eq!(
            half_hash(
                SigningAlgorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(half_hash(SigningAlgorithm::EdDSA, "x").len(), 43);
    }

    #[test]
    fn a_refreshed_token_says_nothing_of_nonce_or_sign_in_time() {
        let scope = Scope::parse("openid").unwrap();
        let claims = IdTokenFor {
            client_id: "rp",
            username: "admin",
            scope: &scope,
            auth_time: None,
            nonce: None,
            access_token: None,
            profile: None,
            now: 100,
            validity: 60,
        }
        .claims("https://as.example", SigningAlgorithm::RS256);
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"iss":"https://as.example","sub":"admin","aud":"rp","azp":"rp","exp":160,"iat":100})
        );
    }
}
