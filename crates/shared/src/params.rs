//! Request parameters, decoded once with the rules of RFC 6749 §3.1 and §3.2: a parameter may not
//! be repeated, an empty value counts as absent, unknown parameters are ignored.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::{ApiError, ErrorCode};

/// Most pairs one form or query may carry. The richest request (an approval form with a
/// `scope.<name>` per scope) has a few dozen.
pub const MAX_PARAMETERS: usize = 100;

/// Longest decoded name or value. Nothing OAuth sends comes close (Spring's columns stop at 256
/// characters; a long `state` stays well under); a longer one is an attack on whatever reads it.
pub const MAX_PARAMETER_BYTES: usize = 4096;

/// The pairs of a form with the refusals every decoder here shares; `name_of` names a too-long
/// parameter in the error.
fn checked_pairs<'a>(
    encoded: &'a [u8],
    name_of: impl Fn(&str) -> &'static str + 'a,
) -> impl Iterator<Item = Result<(Cow<'a, str>, Cow<'a, str>), ApiError>> + 'a {
    form_urlencoded::parse(encoded)
        .enumerate()
        .map(move |(index, (name, value))| {
            if index >= MAX_PARAMETERS {
                return Err(ApiError::new(ErrorCode::TooManyParameters));
            }
            // The decoder replaces bytes that are not UTF-8 with U+FFFD; such input is refused
            // rather than silently altered. NUL, CR and LF appear in no OAuth parameter (RFC 6749
            // Appendix A) and are refused too: they have no business reaching a database or a
            // header.
            if [&name, &value]
                .iter()
                .any(|s| s.contains(['\u{fffd}', '\0', '\r', '\n']))
            {
                return Err(ApiError::new(ErrorCode::MalformedBody));
            }
            if name.len() > MAX_PARAMETER_BYTES || value.len() > MAX_PARAMETER_BYTES {
                return Err(ApiError::new(ErrorCode::ParameterTooLong).with_arg(name_of(&name)));
            }
            Ok((name, value))
        })
}

/// The parameters a request carried that the endpoint knows, by name.
#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<&'static str, String>,
}

impl Params {
    /// Decodes `application/x-www-form-urlencoded` bytes (a body or a query string).
    pub fn parse(encoded: &[u8], known: &[&'static str]) -> Result<Self, ApiError> {
        let mut values = HashMap::new();
        let name_of = |name: &str| {
            known
                .iter()
                .find(|k| **k == name)
                .copied()
                .unwrap_or("unknown parameter")
        };
        for pair in checked_pairs(encoded, name_of) {
            let (name, value) = pair?;
            let Some(&name) = known.iter().find(|k| **k == name) else {
                continue;
            };
            if values.contains_key(name) {
                return Err(ApiError::new(ErrorCode::RepeatedParameter).with_arg(name));
            }
            if !value.is_empty() {
                values.insert(name, value.into_owned());
            } else {
                // Still remembered, so that `a=&a=x` counts as a repeat.
                values.insert(name, String::new());
            }
        }
        values.retain(|_, v| !v.is_empty());
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &'static str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::new(ErrorCode::MissingParameter).with_arg(name))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The known parameters, form-encoded again in a stable order: what a request really asked,
    /// without whatever else its URL carried.
    pub fn encode(&self) -> String {
        let mut names: Vec<&&str> = self.values.keys().collect();
        names.sort();
        let mut out = form_urlencoded::Serializer::new(String::new());
        for name in names {
            out.append_pair(name, &self.values[*name]);
        }
        out.finish()
    }

    /// The parameters of a request's query string.
    pub fn from_query(
        request: &actix_web::HttpRequest,
        known: &[&'static str],
    ) -> Result<Self, ApiError> {
        Self::parse(request.query_string().as_bytes(), known)
    }
}

/// One parameter of a form or query string, without decoding the rest into a map: for hot paths
/// that read one value. Refuses it repeated, and refuses its name or value where [`Params::parse`]
/// would; an empty value counts as absent.
pub fn lookup<'a>(encoded: &'a [u8], name: &'static str) -> Result<Option<Cow<'a, str>>, ApiError> {
    if cannot_hold(encoded, name) {
        return Ok(None);
    }
    decode_one(encoded, name)
}

/// [`lookup`], decoding every pair.
fn decode_one<'a>(encoded: &'a [u8], name: &'static str) -> Result<Option<Cow<'a, str>>, ApiError> {
    let mut found: Option<Cow<'a, str>> = None;
    let mut seen = false;
    for (index, (key, value)) in form_urlencoded::parse(encoded).enumerate() {
        if index >= MAX_PARAMETERS {
            return Err(ApiError::new(ErrorCode::TooManyParameters));
        }
        if key != name {
            continue;
        }
        if seen {
            return Err(ApiError::new(ErrorCode::RepeatedParameter).with_arg(name));
        }
        seen = true;
        if value.contains(['\u{fffd}', '\0', '\r', '\n']) {
            return Err(ApiError::new(ErrorCode::MalformedBody));
        }
        if value.len() > MAX_PARAMETER_BYTES {
            return Err(ApiError::new(ErrorCode::ParameterTooLong).with_arg(name));
        }
        found = (!value.is_empty()).then_some(value);
    }
    Ok(found)
}

/// Whether `encoded` is sure to hold no pair named `name` and too few pairs to be refused for
/// their number, so that [`lookup`] can answer `None` without decoding every pair: a name can
/// only be there as its own text or percent-encoded (`+` decodes to a space, which no parameter
/// name here holds). `/hi` looks for an `access_token` in every query.
fn cannot_hold(encoded: &[u8], name: &str) -> bool {
    if name.is_empty() || name.contains(' ') {
        return false;
    }
    let mut ampersands = 0;
    for &b in encoded {
        if b == b'%' {
            return false;
        }
        ampersands += usize::from(b == b'&');
    }
    ampersands < MAX_PARAMETERS
        && !encoded
            .windows(name.len())
            .any(|window| window == name.as_bytes())
}

/// Every pair of a form, in order, with the same refusals as [`Params::parse`]; for forms whose
/// parameter names are not fixed (the approval form's `scope.<name>`).
pub fn parse_pairs(encoded: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    checked_pairs(encoded, |_| "parameter")
        .map(|pair| pair.map(|(name, value)| (name.into_owned(), value.into_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_reads_one_parameter_with_the_same_rules() {
        assert_eq!(
            lookup(b"a=1&name=x%20y", "name").unwrap().as_deref(),
            Some("x y")
        );
        assert_eq!(lookup(b"a=1", "name").unwrap(), None);
        assert_eq!(lookup(b"name=", "name").unwrap(), None);
        assert_eq!(
            lookup(b"name=a&name=b", "name").unwrap_err().code(),
            ErrorCode::RepeatedParameter
        );
        assert_eq!(
            lookup(b"name=%FF", "name").unwrap_err().code(),
            ErrorCode::MalformedBody
        );
    }

    #[test]
    fn the_shortcut_of_lookup_never_changes_its_answer() {
        let many_empty = "&".repeat(MAX_PARAMETERS);
        let many: String = (0..=MAX_PARAMETERS).map(|n| format!("p{n}=1&")).collect();
        for query in [
            "",
            "name=1111",
            "access_token=abc&name=1",
            "acc%65ss_token=abc",
            "access+token=abc",
            "name=access_token",
            "access_token",
            "a=%FF&name=1",
            many_empty.as_str(),
            many.as_str(),
        ] {
            let (quick, full) = (
                lookup(query.as_bytes(), "access_token"),
                decode_one(query.as_bytes(), "access_token"),
            );
            match (quick, full) {
                (Ok(quick), Ok(full)) => assert_eq!(quick, full, "{query}"),
                (Err(quick), Err(full)) => assert_eq!(quick.code(), full.code(), "{query}"),
                (quick, full) => panic!("{query}: {quick:?} but {full:?}"),
            }
        }
        assert_eq!(
            lookup(b"acc%65ss_token=abc", "access_token")
                .unwrap()
                .as_deref(),
            Some("abc")
        );
    }

    const KNOWN: &[&str] = &["grant_type", "scope", "password"];

    #[test]
    fn too_many_pairs_are_refused_by_every_decoder() {
        let many: String = (0..=MAX_PARAMETERS).map(|n| format!("p{n}=1&")).collect();
        let fits: String = (0..MAX_PARAMETERS).map(|n| format!("p{n}=1&")).collect();
        assert!(Params::parse(fits.as_bytes(), KNOWN).is_ok());
        for error in [
            Params::parse(many.as_bytes(), KNOWN).unwrap_err(),
            parse_pairs(many.as_bytes()).unwrap_err(),
            lookup(many.as_bytes(), "scope").unwrap_err(),
        ] {
            assert_eq!(error.code(), ErrorCode::TooManyParameters);
        }
    }

    #[test]
    fn a_too_long_parameter_is_named_when_known() {
        let long = "a".repeat(MAX_PARAMETER_BYTES + 1);
        let error = Params::parse(format!("password={long}").as_bytes(), KNOWN).unwrap_err();
        assert_eq!(error.description(), "Parameter too long: password");
        let error = Params::parse(format!("x={long}").as_bytes(), KNOWN).unwrap_err();
        assert_eq!(error.description(), "Parameter too long: unknown parameter");
        let error = Params::parse(format!("{long}=1").as_bytes(), KNOWN).unwrap_err();
        assert_eq!(error.code(), ErrorCode::ParameterTooLong);
        let error = lookup(format!("scope={long}").as_bytes(), "scope").unwrap_err();
        assert_eq!(error.description(), "Parameter too long: scope");
        let fits = "a".repeat(MAX_PARAMETER_BYTES);
        assert!(Params::parse(format!("password={fits}").as_bytes(), KNOWN).is_ok());
    }

    #[test]
    fn decodes_plus_and_percent_escapes() {
        let params = Params::parse(b"grant_type=password&password=a%2Bb+c&x=1", KNOWN).unwrap();
        assert_eq!(params.get("password"), Some("a+b c"));
        assert_eq!(params.get("x"), None, "unknown parameters are ignored");
    }

    #[test]
    fn a_repeated_parameter_is_refused_even_when_one_value_is_empty() {
        for body in [&b"scope=a&scope=b"[..], b"scope=&scope=b"] {
            let error = Params::parse(body, KNOWN).unwrap_err();
            assert_eq!(error.code(), ErrorCode::RepeatedParameter);
            assert_eq!(error.description(), "Repeated parameter: scope");
        }
    }

    #[test]
    fn empty_values_count_as_absent() {
        let params = Params::parse(b"scope=&grant_type=password", KNOWN).unwrap();
        assert_eq!(params.get("scope"), None);
        assert_eq!(
            params.require("scope").unwrap_err().description(),
            "Missing parameter: scope"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_and_nul_cr_lf_are_refused() {
        for body in [
            &b"password=%FF%FE"[..],
            b"password=\xff",
            b"%C3=1",
            b"password=a%00b",
            b"scope=a%0Db",
            b"password=a%0Ab",
        ] {
            assert_eq!(
                Params::parse(body, KNOWN).unwrap_err().code(),
                ErrorCode::MalformedBody
            );
        }
    }
}
