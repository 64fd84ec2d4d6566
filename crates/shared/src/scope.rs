//! Scope values (RFC 6749 §3.3): parsed once, then compared as sets.

use std::collections::BTreeSet;
use std::fmt;

/// A set of scope tokens. Sorted, so the space-joined form is stable (Spring used a `TreeSet` too).
/// In configuration it is written as the `scope` parameter is, space-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Scope(BTreeSet<String>);

impl TryFrom<String> for Scope {
    type Error = ScopeError;

    fn try_from(value: String) -> Result<Self, ScopeError> {
        Self::parse(&value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeError {
    /// A token has a character outside `NQCHAR` (%x21 / %x23-5B / %x5D-7E).
    Malformed,
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed scope")
    }
}

impl std::error::Error for ScopeError {}

fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

fn is_scope_token(token: &str) -> bool {
    !token.is_empty() && token.chars().all(is_scope_char)
}

impl Scope {
    /// Parses the `scope` request parameter: tokens separated by spaces (RFC 6749 §3.3).
    pub fn parse(value: &str) -> Result<Self, ScopeError> {
        let mut tokens = BTreeSet::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            if !is_scope_token(token) {
                return Err(ScopeError::Malformed);
            }
            tokens.insert(token.to_owned());
        }
        Ok(Self(tokens))
    }

    /// Reads a stored comma list (Spring's column format). Blank entries are skipped; an entry that
    /// could never be requested (it has a space or quote) is kept out rather than failing the row.
    pub fn from_comma_list(value: &str) -> Self {
        Self(
            value
                .split(',')
                .map(str::trim)
                .filter(|t| is_scope_token(t))
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut set = BTreeSet::new();
        for token in tokens {
            let token = token.into();
            if !is_scope_token(&token) {
                return Err(ScopeError::Malformed);
            }
            set.insert(token);
        }
        Ok(Self(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The comma list stored in the database.
    pub fn to_comma_list(&self) -> String {
        self.iter().collect::<Vec<_>>().join(",")
    }
}

/// Space-joined: the wire form of RFC 6749.
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_space_separated_tokens_into_a_sorted_set() {
        let scope = Scope::parse("write  app read app").unwrap();
        assert_eq!(scope.to_string(), "app read write");
        assert_eq!(scope.to_comma_list(), "app,read,write");
    }

    #[test]
    fn refuses_characters_outside_nqchar() {
        for bad in ["a\"b", "a\\b", "caf\u{e9}", "a\tb", "a\nb"] {
            assert_eq!(Scope::parse(bad), Err(ScopeError::Malformed), "{bad:?}");
        }
        assert!(
            Scope::parse("<script>").is_ok(),
            "markup is legal; pages escape it"
        );
    }

    #[test]
    fn stored_comma_lists_tolerate_blanks_and_spaces() {
        let scope = Scope::from_comma_list(" read, write,,app ");
        assert_eq!(scope.to_string(), "app read write");
        assert!(Scope::from_comma_list("").is_empty());
    }

    #[test]
    fn subset() {
        let all = Scope::parse("a b c").unwrap();
        assert!(Scope::parse("a c").unwrap().is_subset_of(&all));
        assert!(!Scope::parse("a d").unwrap().is_subset_of(&all));
        assert!(Scope::default().is_subset_of(&all));
    }
}
