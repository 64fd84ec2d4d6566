//! Keys generated for a test, JWTs signed with them, and a fake authorization server that
//! publishes them: `/oauth2/jwks` (RFC 7517) and Spring's `/oauth/token_key`, counting requests;
//! and, for discovery, metadata documents at the paths a test chooses and an RFC 7662
//! `/oauth2/introspect`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// A private key of the fake authorization server, and what it publishes of it.
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    encoding: EncodingKey,
    /// The public key as a JWK (with `kid`, `use: sig` and `alg`).
    pub jwk: Value,
    /// The public key as a PEM `PUBLIC KEY`, what `/oauth/token_key` answers.
    pub public_pem: String,
}

fn described(mut jwk: Jwk, kid: &str) -> Value {
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::to_value(jwk).unwrap()
}

impl SigningKey {
    pub fn rsa(kid: &str) -> Self {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let private = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
        let pem = private.to_pkcs8_pem(LineEnding::LF).unwrap();
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
        Self {
            kid: kid.to_owned(),
            algorithm: Algorithm::RS256,
            jwk: described(jwk, kid),
            encoding,
            public_pem: private
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        }
    }

    pub fn ec(kid: &str) -> Self {
        use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        use rsa::Generate;
        let secret = p256::SecretKey::generate();
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
        Self {
            kid: kid.to_owned(),
            algorithm: Algorithm::ES256,
            jwk: described(jwk, kid),
            encoding,
            public_pem: secret
                .public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        }
    }

    /// `Jwk::from_encoding_key` cannot read an Ed25519 key back, so its JWK is written here
    /// (RFC 8037 §2).
    pub fn ed(kid: &str) -> Self {
        use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
        use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        let pem = signing.to_pkcs8_pem(LineEnding::LF).unwrap();
        let verifying = signing.verifying_key();
        Self {
            kid: kid.to_owned(),
            algorithm: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(verifying.to_bytes()),
                "kid": kid, "use": "sig", "alg": "EdDSA",
            }),
            public_pem: verifying.to_public_key_pem(LineEnding::LF).unwrap(),
        }
    }

    /// The header the auth server writes: `alg`, `kid`, `typ: JWT`.
    pub fn header(&self) -> Header {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        header
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.header(), claims)
    }

    pub fn sign_with(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).unwrap()
    }
}

pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// What the auth server puts in an access token for user `admin` of client `dev`, valid five
/// minutes, with `extra` claims added or replaced.
pub fn claims(extra: Value) -> Value {
    let mut claims = json!({
        "iss": "http://localhost:8081", "sub": "admin", "user_name": "admin",
        "authorities": ["ROLE_USER"], "scope": "app", "client_id": "dev", "aud": ["hi"],
        "iat": now(), "exp": now() + 300, "jti": "j-1",
    });
    if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        for (name, value) in extra {
            if value.is_null() {
                claims.remove(name);
            } else {
                claims.insert(name.clone(), value.clone());
            }
        }
    }
    claims
}

/// Base64url without padding, as JWTs are written.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The client the resource server authenticates as by default (`introspection.client_id`).
const BASIC: &str = "resource:resource-secret";

/// The one token `/oauth2/introspect` knows, active for five minutes.
pub const INTROSPECTED_TOKEN: &str = "an-opaque-token-the-stub-knows";

#[derive(Default)]
struct Published {
    keys: Mutex<Vec<Value>>,
    token_key: Mutex<Value>,
    /// Metadata documents by path.
    metadata: Mutex<HashMap<String, Value>>,
    /// Paths answered with a 302 to another location.
    redirects: Mutex<HashMap<String, String>>,
    down: AtomicBool,
    jwks_requests: AtomicUsize,
    token_key_requests: AtomicUsize,
    /// Every path asked under a `/.well-known/`, in order, whether there was a document or not.
    metadata_requests: Mutex<Vec<String>>,
    introspection_requests: AtomicUsize,
}

pub struct KeyServer {
    pub address: String,
    published: Arc<Published>,
    handle: ServerHandle,
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn jwks(published: web::Data<Published>) -> HttpResponse {
    published.jwks_requests.fetch_add(1, Ordering::SeqCst);
    if published.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let keys = published.keys.lock().unwrap().clone();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

/// Spring's `/oauth/token_key`, here open to the authenticated client only.
async fn token_key(published: web::Data<Published>, request: HttpRequest) -> HttpResponse {
    published.token_key_requests.fetch_add(1, Ordering::SeqCst);
    if !authenticated(&request) {
        return HttpResponse::Unauthorized().json(json!({"error": "unauthorized"}));
    }
    HttpResponse::Ok().json(published.token_key.lock().unwrap().clone())
}

fn authenticated(request: &HttpRequest) -> bool {
    let expected = format!("Basic {}", STANDARD.encode(BASIC));
    let authorization = request.headers().get("authorization");
    authorization.and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

/// RFC 7662, to the authenticated client only: RFC 7662's member names (`username`, a
/// space-separated `scope`), which a check_token reader would not understand.
async fn introspect(
    published: web::Data<Published>,
    request: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    published
        .introspection_requests
        .fetch_add(1, Ordering::SeqCst);
    if !authenticated(&request) {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    if form.get("token").map(String::as_str) != Some(INTROSPECTED_TOKEN) {
        return HttpResponse::Ok().json(json!({"active": false}));
    }
    HttpResponse::Ok().json(json!({
        "active": true, "client_id": "dev", "username": "admin", "scope": "app read",
        "aud": ["hi"], "token_type": "Bearer", "exp": now() + 300,
    }))
}

/// Whatever document was published at the path, else 404.
async fn metadata(published: web::Data<Published>, request: HttpRequest) -> HttpResponse {
    let path = request.path().to_owned();
    if path.contains("/.well-known/") {
        published
            .metadata_requests
            .lock()
            .unwrap()
            .push(path.clone());
    }
    if published.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    if let Some(location) = published.redirects.lock().unwrap().get(&path) {
        return HttpResponse::Found()
            .insert_header(("Location", location.as_str()))
            .finish();
    }
    match published.metadata.lock().unwrap().get(&path) {
        Some(document) => HttpResponse::Ok().json(document),
        None => HttpResponse::NotFound().finish(),
    }
}

impl KeyServer {
    /// Publishes `keys` in its JWK set.
    pub async fn start(keys: &[&SigningKey]) -> Self {
        let published = Arc::new(Published::default());
        published
            .keys
            .lock()
            .unwrap()
            .extend(keys.iter().map(|key| key.jwk.clone()));
        let data = web::Data::from(published.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/oauth2/jwks", web::get().to(jwks))
                .route("/oauth/token_key", web::get().to(token_key))
                .route("/oauth2/introspect", web::post().to(introspect))
                .default_service(web::to(metadata))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            address: format!("http://127.0.0.1:{port}"),
            published,
            handle,
        }
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/oauth2/jwks", self.address)
    }

    pub fn key_url(&self) -> String {
        format!("{}/oauth/token_key", self.address)
    }

    pub fn introspection_url(&self) -> String {
        format!("{}/oauth2/introspect", self.address)
    }

    /// An issuer identifier on this server: its address and `path`.
    pub fn issuer(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The metadata of `issuer` as this server would publish it: its JWK set and its
    /// introspection endpoint.
    pub fn metadata_of(&self, issuer: &str) -> Value {
        json!({
            "issuer": issuer,
            "jwks_uri": self.jwks_url(),
            "introspection_endpoint": self.introspection_url(),
            "token_endpoint": format!("{}/oauth2/token", self.address),
            "response_types_supported": ["code"],
        })
    }

    /// Serves `document` at `path` (a metadata location, say).
    pub fn publish_metadata(&self, path: &str, document: Value) {
        self.published
            .metadata
            .lock()
            .unwrap()
            .insert(path.to_owned(), document);
    }

    /// Answers `path` with a 302 to `location`.
    pub fn redirect(&self, path: &str, location: &str) {
        self.published
            .redirects
            .lock()
            .unwrap()
            .insert(path.to_owned(), location.to_owned());
    }

    /// The paths asked under a `/.well-known/`, in order.
    pub fn metadata_requests(&self) -> Vec<String> {
        self.published.metadata_requests.lock().unwrap().clone()
    }

    pub fn introspection_requests(&self) -> usize {
        self.published.introspection_requests.load(Ordering::SeqCst)
    }

    /// Adds a key to the JWK set, as a key rotation at the auth server does.
    pub fn publish(&self, key: &SigningKey) {
        self.published.keys.lock().unwrap().push(key.jwk.clone());
    }

    /// Takes a key out of the JWK set.
    pub fn withdraw(&self, kid: &str) {
        self.published
            .keys
            .lock()
            .unwrap()
            .retain(|jwk| jwk["kid"] != kid);
    }

    /// What `/oauth/token_key` answers.
    pub fn set_token_key(&self, alg: &str, value: &str) {
        *self.published.token_key.lock().unwrap() = json!({"alg": alg, "value": value});
    }

    /// While down, `/oauth2/jwks` and the metadata answer 503.
    pub fn set_down(&self, down: bool) {
        self.published.down.store(down, Ordering::SeqCst);
    }

    pub fn jwks_requests(&self) -> usize {
        self.published.jwks_requests.load(Ordering::SeqCst)
    }

    pub fn token_key_requests(&self) -> usize {
        self.published.token_key_requests.load(Ordering::SeqCst)
    }
}
