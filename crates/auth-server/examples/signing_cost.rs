//! What one JWT signature costs on this machine, per algorithm, on one core: the ceiling of JWT
//! issuing is the cores divided by it. `scripts/bench.sh` prints it beside its JWT rows.
//!
//!   cargo run --release --example signing_cost [SIGNATURES]     (default 300)

use std::time::Instant;

use auth_server::signing::{KeyRing, SigningAlgorithm};
use shared::jwt_claims::AccessTokenClaims;
use shared::Scope;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let claims = AccessTokenClaims {
        iss: Some("http://localhost:8081".into()),
        sub: Some("dev".into()),
        user_name: None,
        authorities: Vec::new(),
        scope: Scope::parse("app")?,
        client_id: "dev".into(),
        aud: Vec::new(),
        exp: Some(4_000_000_000),
        nbf: None,
        iat: Some(1),
        jti: Some("0193".into()),
    };
    for algorithm in [
        SigningAlgorithm::RS256,
        SigningAlgorithm::ES256,
        SigningAlgorithm::EdDSA,
    ] {
        let ring = KeyRing::generated(algorithm)?;
        ring.sign(&claims, 1)?;
        let started = Instant::now();
        for _ in 0..count {
            ring.sign(&claims, 1)?;
        }
        let each = started.elapsed() / count;
        println!(
            "{}: {:.0} µs per signature, {:.0} signatures/s per core",
            algorithm.as_str(),
            each.as_secs_f64() * 1e6,
            1.0 / each.as_secs_f64()
        );
    }
    Ok(())
}
