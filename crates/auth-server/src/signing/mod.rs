//! JWT access tokens (docs/jwt.md): the keys they are signed with, signing, and what verifiers are
//! given (`/oauth2/jwks`, `/oauth/token_key`).
//!
//! Keys come from one of three places: the database (the default: generated at first start,
//! shared by every replica, rotated with `auth-server keys`), PEM files, or a shared HS256 secret
//! for legacy Spring setups. The [`KeyRing`] holds what is published now; which key signs is
//! decided at each signature from the time, so a rotated-in key starts signing after its delay on
//! every replica without anyone telling them.

mod algorithm;
mod jws;
mod key;
mod sealing;
pub mod store;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::jwt_claims::AccessTokenClaims;
use shared::{ApiError, ErrorCode};

pub use algorithm::SigningAlgorithm;
pub use key::SigningKey;
pub use sealing::Kek;

use crate::db::StoreError;

/// `jwt.*`.
#[derive(Debug, Clone, Deserialize)]
pub struct JwtSettings {
    /// Of keys this server generates.
    pub algorithm: SigningAlgorithm,
    pub typ: TokenTyp,
    /// HS256 only: the shared secret, never published.
    pub secret: Option<SecretString>,
    /// Sign with this PKCS#8 PEM key (and publish only it) instead of keys kept in the database.
    pub private_key_file: Option<PathBuf>,
    /// Its `kid`; unset: the key's RFC 7638 thumbprint.
    pub key_id: Option<String>,
    /// Base64 of 32 bytes: private keys in the database are sealed with it (AES-256-GCM).
    pub key_encryption_key: Option<SecretString>,
    /// How long a rotated-in key is published before it signs.
    pub rotation_delay_seconds: i64,
    /// How often each replica rereads the keys from the database.
    pub reload_seconds: u64,
    pub token_key_access: TokenKeyAccess,
}

/// The JOSE header's `typ`: `JWT`, which legacy Spring and Spring Boot 3's default decoder both
/// require, or RFC 9068's `at+jwt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TokenTyp {
    #[serde(rename = "JWT")]
    Jwt,
    #[serde(rename = "at+jwt")]
    AtJwt,
}

impl TokenTyp {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTyp::Jwt => "JWT",
            TokenTyp::AtJwt => "at+jwt",
        }
    }
}

impl JwtSettings {
    /// `jwt.key_encryption_key`, checked.
    pub fn kek(&self) -> Result<Option<Kek>, SigningError> {
        self.key_encryption_key
            .as_ref()
            .map(Kek::from_config)
            .transpose()
    }
}

/// Who may read `/oauth/token_key` (Spring's `tokenKeyAccess`). A shared secret is only ever
/// given to authenticated clients, whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKeyAccess {
    Anyone,
    Clients,
}

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{0}")]
    Config(&'static str),
    #[error("cannot read {path}: {cause}")]
    File { path: String, cause: std::io::Error },
    #[error("generating a key failed: {0}")]
    Generate(String),
    #[error("a sealed signing key does not open with jwt.key_encryption_key")]
    Sealing,
    #[error("signing key: {0}")]
    Key(String),
    #[error("no signing key may sign now")]
    NoKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SigningError> for ApiError {
    fn from(error: SigningError) -> Self {
        match error {
            SigningError::Store(store) => store.into(),
            other => {
                log::error!("cannot sign an access token: {other}");
                ApiError::new(ErrorCode::SigningKeyUnavailable)
            }
        }
    }
}

fn encode(
    key: &SigningKey,
    typ: TokenTyp,
    claims: &impl Serialize,
) -> Result<String, SigningError> {
    let mut header = Header::new(key.algorithm.jose());
    header.kid = key.kid.clone();
    header.typ = Some(typ.as_str().to_owned());
    key.signer.encode(&header, claims)
}

/// What `/oauth/token_key` answers, in legacy Spring's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TokenKey {
    /// Java's name for the algorithm (`SHA256withRSA`).
    #[schema(examples("SHA256withRSA", "SHA256withECDSA", "Ed25519", "HMACSHA256"))]
    pub alg: &'static str,
    /// The public key as PEM, or the shared secret.
    pub value: String,
}

/// The key that signs at `now` among those of `keys` that `usable` accepts (see
/// [`KeyRing::signing_key`]).
fn signing_key(
    keys: &[SigningKey],
    now: i64,
    usable: impl Fn(&SigningKey) -> bool,
) -> Result<&SigningKey, SigningError> {
    let order =
        |a: &&SigningKey, b: &&SigningKey| (a.signs_from, &a.kid).cmp(&(b.signs_from, &b.kid));
    keys.iter()
        .filter(|k| usable(k) && k.signs_at(now))
        .max_by(order)
        .or_else(|| {
            keys.iter()
                .filter(|k| usable(k) && k.retired_at.is_none())
                .min_by(order)
        })
        .ok_or(SigningError::NoKey)
}

fn any_key(_: &SigningKey) -> bool {
    true
}

/// A key whose public half is in the JWK set: the only kind a relying party can check an ID
/// token with (a shared HS256 secret is never published, and OIDC keys HS256 with each client's
/// own secret, which is stored here only as a bcrypt hash).
fn published(key: &SigningKey) -> bool {
    key.public_pem.is_some()
}

pub struct KeyRing {
    keys: RwLock<Arc<Vec<SigningKey>>>,
    typ: TokenTyp,
    /// `iss` of every token signed: `server.issuer`, known once the server has its port.
    issuer: OnceLock<String>,
    secret: Option<SecretString>,
}

impl KeyRing {
    pub fn new(keys: Vec<SigningKey>, typ: TokenTyp, secret: Option<SecretString>) -> Self {
        Self {
            keys: RwLock::new(Arc::new(keys)),
            typ,
            issuer: OnceLock::new(),
            secret,
        }
    }

    /// One fresh key of `algorithm`, signing at once, for tests and tools.
    pub fn generated(algorithm: SigningAlgorithm) -> Result<Self, SigningError> {
        let pair = algorithm.generate()?.ok_or(SigningError::NoKey)?;
        let key = SigningKey::from_pem(algorithm, &pair.private_pem, &pair.public_pem, None)?;
        Ok(Self::new(vec![key], TokenTyp::Jwt, None))
    }

    pub fn set_issuer(&self, issuer: String) {
        // Set once, at start; a second call (a test building twice) keeps the first.
        let _ = self.issuer.set(issuer);
    }

    pub fn issuer(&self) -> &str {
        self.issuer.get().map_or("", String::as_str)
    }

    /// Replaces the published keys (a reload from the database).
    pub fn replace(&self, keys: Vec<SigningKey>) {
        match self.keys.write() {
            Ok(mut current) => *current = Arc::new(keys),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(keys),
        }
    }

    pub fn keys(&self) -> Arc<Vec<SigningKey>> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key that signs at `now`: of those whose delay has passed and that are not retired, the
    /// one that started signing last. When none has (every key still in its delay), the one whose
    /// delay ends first: better a token a slow cache must refetch for than none.
    pub fn signing_key(&self, now: i64) -> Result<SigningKey, SigningError> {
        signing_key(&self.keys(), now, any_key).cloned()
    }

    /// `claims`, signed with the key of the moment (borrowed from the snapshot, not copied).
    pub fn sign(&self, claims: &AccessTokenClaims, now: i64) -> Result<String, SigningError> {
        let keys = self.keys();
        let key = signing_key(&keys, now, any_key)?;
        encode(key, self.typ, claims)
    }

    /// An ID token (OIDC Core §2): the claims `build` makes for the algorithm of the signing key
    /// (`at_hash` depends on it), signed with a published key and typed `JWT` whatever access
    /// tokens are (RFC 9068's `at+jwt` would make an access token of it).
    pub fn sign_id_token<C: Serialize>(
        &self,
        now: i64,
        build: impl FnOnce(SigningAlgorithm) -> C,
    ) -> Result<String, SigningError> {
        let keys = self.keys();
        let key = signing_key(&keys, now, published)?;
        encode(key, TokenTyp::Jwt, &build(key.algorithm))
    }

    /// Whether an ID token could be signed at `now`: a published key signs.
    pub fn signs_id_tokens(&self, now: i64) -> bool {
        signing_key(&self.keys(), now, published).is_ok()
    }

    /// The algorithms ID tokens are signed with, for discovery: those of the published keys.
    pub fn id_token_algorithms(&self) -> Vec<&'static str> {
        let mut algorithms: Vec<&'static str> = self
            .keys()
            .iter()
            .filter(|k| published(k))
            .map(|k| k.algorithm.as_str())
            .collect();
        algorithms.sort_unstable();
        algorithms.dedup();
        algorithms
    }

    /// The claims of an ID token this server signed with a key it still publishes, checked for
    /// signature and issuer only: an `id_token_hint` (OIDC RP-Initiated Logout §2) may have
    /// expired long ago.
    pub fn verify_id_token_hint(&self, token: &str) -> Option<serde_json::Map<String, Value>> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let kid = header.kid?;
        let keys = self.keys();
        let key = keys
            .iter()
            .find(|k| published(k) && k.kid.as_deref() == Some(kid.as_str()))?;
        if key.algorithm.jose() != header.alg {
            return None;
        }
        let decoding = key.decoding_key()?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        if !self.issuer().is_empty() {
            validation.set_issuer(&[self.issuer()]);
        }
        jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }

    /// Every published public key (RFC 7517 §5). A shared secret is never in it.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys().iter().filter_map(SigningKey::jwk).collect(),
        }
    }

    /// The key legacy Spring resource servers verify with: the one signing now (Spring had one).
    pub fn token_key(&self, now: i64) -> Result<TokenKey, SigningError> {
        let keys = self.keys();
        let key = signing_key(&keys, now, any_key)?;
        let value = match (&key.public_pem, &self.secret) {
            (Some(pem), _) => pem.clone(),
            (None, Some(secret)) => secret.expose_secret().to_owned(),
            (None, None) => return Err(SigningError::NoKey),
        };
        Ok(TokenKey {
            alg: key.algorithm.java_name(),
            value,
        })
    }

    /// Whether `/oauth/token_key` would reveal a secret, and so answers only authenticated clients.
    pub fn is_secret(&self) -> bool {
        self.secret.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
    use shared::Scope;

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: Some("http://localhost:8081".into()),
            sub: Some("admin".into()),
            user_name: Some("admin".into()),
            authorities: vec!["ROLE_USER".into()],
            scope: Scope::parse("app").unwrap(),
            client_id: "dev".into(),
            aud: vec![],
            exp: Some(4_000_000_000),
            nbf: None,
            iat: Some(1),
            jti: Some("j".into()),
        }
    }

    fn rotated(ring: &KeyRing, algorithm: SigningAlgorithm, signs_from: i64) -> String {
        let pair = algorithm.generate().unwrap().unwrap();
        let mut key =
            SigningKey::from_pem(algorithm, &pair.private_pem, &pair.public_pem, None).unwrap();
        key.signs_from = signs_from;
        let kid = key.kid.clone().unwrap();
        let mut keys = ring.keys().as_ref().clone();
        keys.push(key);
        ring.replace(keys);
        kid
    }

    #[test]
    fn every_algorithm_signs_what_its_published_key_verifies() {
        for algorithm in [
            SigningAlgorithm::RS256,
            SigningAlgorithm::ES256,
            SigningAlgorithm::EdDSA,
        ] {
            let ring = KeyRing::generated(algorithm).unwrap();
            let token = ring.sign(&claims(), 10).unwrap();
            let header = decode_header(&token).unwrap();
            assert_eq!(header.alg, algorithm.jose());
            assert_eq!(header.typ.as_deref(), Some("JWT"));
            let jwks = ring.jwks();
            let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
            assert_eq!(
                serde_json::to_value(jwk).unwrap()["use"],
                serde_json::json!("sig")
            );
            let mut validation = Validation::new(algorithm.jose());
            validation.validate_aud = false;
            let read = decode::<AccessTokenClaims>(
                &token,
                &DecodingKey::from_jwk(jwk).unwrap(),
                &validation,
            )
            .unwrap();
            assert_eq!(read.claims, claims());
            let pem = ring.token_key(10).unwrap();
            assert_eq!(pem.alg, algorithm.java_name());
            assert!(pem.value.starts_with("-----BEGIN PUBLIC KEY-----"));
        }
    }

    #[test]
    fn a_rotated_in_key_is_published_at_once_and_signs_only_after_its_delay() {
        let ring = KeyRing::generated(SigningAlgorithm::ES256).unwrap();
        let old = ring.signing_key(0).unwrap().kid.unwrap();
        let new = rotated(&ring, SigningAlgorithm::ES256, 100);
        assert!(ring.jwks().find(&new).is_some());
        assert_eq!(ring.signing_key(99).unwrap().kid.unwrap(), old);
        assert_eq!(ring.signing_key(100).unwrap().kid.unwrap(), new);
    }

    #[test]
    fn an_hs256_secret_signs_but_is_never_published() {
        let secret = "a shared secret of at least thirty-two bytes";
        let ring = KeyRing::new(
            vec![SigningKey::from_secret(secret.as_bytes()).unwrap()],
            TokenTyp::AtJwt,
            Some(SecretString::from(secret)),
        );
        let token = ring.sign(&claims(), 0).unwrap();
        let header = decode_header(&token).unwrap();
        assert_eq!(
            (header.alg, header.kid),
            (jsonwebtoken::Algorithm::HS256, None)
        );
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert!(ring.jwks().keys.is_empty());
        assert!(ring.is_secret());
        assert_eq!(ring.token_key(0).unwrap().alg, "HMACSHA256");
        assert!(SigningKey::from_secret(b"too short").is_err());
    }
}
