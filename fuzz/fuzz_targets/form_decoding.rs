//! The form and query decoding of the token and authorize endpoints: a body or query string goes
//! through `parse_pairs`, `Params` (with each endpoint's parameter list) and `lookup`, then the
//! endpoint's own reading of the parameters.
//!
//! Beyond "never panics": the three decoders agree with each other, nothing they return holds what
//! they promise to refuse, `Params::encode` (what a sign-in carries across in the session) decodes
//! to the same parameters, and what the endpoints read is exactly what was sent.
#![no_main]

use auth_server::authorization_endpoint::AUTHORIZE_PARAMS;
use auth_server::domain::pkce;
use auth_server::token_endpoint::{GrantRequest, TOKEN_PARAMS};
use libfuzzer_sys::fuzz_target;
use shared::params::{lookup, parse_pairs, Params, MAX_PARAMETERS, MAX_PARAMETER_BYTES};
use shared::{ErrorCode, Scope};

/// Never in a decoded name or value: bytes that were not UTF-8 (decoded as U+FFFD), NUL, CR, LF.
const REFUSED: [char; 4] = ['\u{fffd}', '\0', '\r', '\n'];

fn acceptable(s: &str) -> bool {
    !s.contains(REFUSED) && s.len() <= MAX_PARAMETER_BYTES
}

fuzz_target!(|data: &[u8]| {
    // The decoders' promises, stated on the raw pairs: whether a form is refused may not depend on
    // the order its faults come in, only on whether it has one.
    let raw: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let well_formed =
        raw.len() <= MAX_PARAMETERS && raw.iter().all(|(n, v)| acceptable(n) && acceptable(v));
    let count = |name: &str| raw.iter().filter(|(n, _)| n == name).count();
    let sent = |name: &str| {
        raw.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };

    match parse_pairs(data) {
        Ok(pairs) => {
            assert!(well_formed, "parse_pairs accepted a malformed form");
            assert_eq!(pairs, raw);
        }
        Err(error) => {
            assert!(!well_formed, "parse_pairs refused: {}", error.description());
            assert!(matches!(
                error.code(),
                ErrorCode::MalformedBody
                    | ErrorCode::TooManyParameters
                    | ErrorCode::ParameterTooLong
            ));
        }
    }

    // `lookup` reads one parameter and so may overlook faults elsewhere, never in that one.
    for name in TOKEN_PARAMS.iter().chain(AUTHORIZE_PARAMS) {
        let value = raw.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let findable =
            raw.len() <= MAX_PARAMETERS && count(name) <= 1 && value.is_none_or(acceptable);
        match lookup(data, name) {
            Ok(found) => {
                assert!(findable, "lookup accepted {name}");
                assert_eq!(found.as_deref(), sent(name), "lookup {name}");
            }
            Err(error) => assert!(!findable, "lookup {name}: {}", error.description()),
        }
    }

    for known in [TOKEN_PARAMS, AUTHORIZE_PARAMS] {
        let repeated = known.iter().any(|name| count(name) > 1);
        let params = match Params::parse(data, known) {
            Ok(params) => params,
            Err(error) => {
                assert!(
                    !well_formed || repeated,
                    "Params refused: {}",
                    error.description()
                );
                assert!(matches!(
                    error.code(),
                    ErrorCode::MalformedBody
                        | ErrorCode::TooManyParameters
                        | ErrorCode::ParameterTooLong
                        | ErrorCode::RepeatedParameter
                ));
                continue;
            }
        };
        assert!(well_formed && !repeated, "Params accepted {params:?}");
        for name in known {
            assert_eq!(params.get(name), sent(name), "{name}");
        }
        let encoded = params.encode();
        let again = Params::parse(encoded.as_bytes(), known)
            .unwrap_or_else(|e| panic!("{encoded:?} re-parses: {}", e.description()));
        for name in known {
            assert_eq!(
                again.get(name),
                params.get(name),
                "{name} after {encoded:?}"
            );
        }
        if known == TOKEN_PARAMS {
            token_request(&params);
        } else {
            authorize_request(&params);
        }
    }
});

/// What the token endpoint reads from its parameters is what they said.
fn token_request(params: &Params) {
    let Ok(request) = GrantRequest::parse(params) else {
        return;
    };
    let scope = match &request {
        GrantRequest::ClientCredentials { scope } => scope,
        GrantRequest::Password {
            username,
            password,
            scope,
        } => {
            assert_eq!(Some(*username), params.get("username"));
            assert_eq!(Some(*password), params.get("password"));
            scope
        }
        GrantRequest::RefreshToken {
            refresh_token,
            scope,
        } => {
            assert_eq!(Some(*refresh_token), params.get("refresh_token"));
            scope
        }
        GrantRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            assert_eq!(Some(*code), params.get("code"));
            assert_eq!(*redirect_uri, params.get("redirect_uri"));
            assert_eq!(*code_verifier, params.get("code_verifier"));
            return;
        }
    };
    // A scope of only spaces asks for nothing, so it must come out as no scope, never as empty.
    if let Some(scope) = scope {
        assert!(!scope.is_empty());
        assert_eq!(
            Scope::parse(params.get("scope").unwrap_or_default()).as_ref(),
            Ok(scope)
        );
    }
}

/// The parts of an authorization request that need no client: scope and PKCE parameters.
fn authorize_request(params: &Params) {
    if let Some(scope) = params.get("scope") {
        let _ = Scope::parse(scope);
    }
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    match pkce::parse_challenge(challenge, method) {
        Ok(None) => assert_eq!((challenge, method), (None, None)),
        Ok(Some(parsed)) => {
            assert_eq!(Some(parsed.value.as_str()), challenge);
            assert!((43..=128).contains(&parsed.value.len()));
            assert!(parsed
                .value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
            assert_eq!(parsed.method.as_str(), method.unwrap_or("plain"));
        }
        Err(_) => {}
    }
}
