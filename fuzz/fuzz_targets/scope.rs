//! Scope values (RFC 6749 §3.3): `Scope::parse` of a request's `scope`, its space-joined wire form
//! and its stored comma list.
//!
//! `parse` must accept exactly the space-separated lists of `NQCHAR` tokens, and every way out of a
//! `Scope` (wire form, comma list, tokens) must read back as the same set.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use shared::Scope;

/// `NQCHAR = %x21 / %x23-5B / %x5D-7E`.
fn is_nqchar(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

fuzz_target!(|data: &[u8]| {
    // Request parameters are UTF-8 by the time they are parsed as a scope.
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let tokens: BTreeSet<&str> = value.split(' ').filter(|t| !t.is_empty()).collect();
    let well_formed = tokens.iter().all(|t| t.bytes().all(is_nqchar));

    match Scope::parse(value) {
        Ok(scope) => {
            assert!(well_formed, "accepted {value:?}");
            assert!(scope.iter().eq(tokens.iter().copied()), "{value:?}");
            round_trips(&scope);
        }
        Err(_) => assert!(!well_formed, "refused {value:?}"),
    }

    let stored = Scope::from_comma_list(value);
    for token in stored.iter() {
        assert!(!token.is_empty() && token.bytes().all(|b| is_nqchar(b) && b != b','));
    }
    round_trips(&stored);
});

fn round_trips(scope: &Scope) {
    let wire = scope.to_string();
    assert!(!wire.starts_with(' ') && !wire.ends_with(' ') && !wire.contains("  "));
    assert_eq!(Scope::parse(&wire).as_ref(), Ok(scope), "{wire:?}");
    assert_eq!(Scope::from_tokens(scope.iter()).as_ref(), Ok(scope));
    assert!(scope.is_subset_of(scope) && Scope::default().is_subset_of(scope));
    assert!(scope.iter().all(|t| scope.contains(t)));
    // A comma is a legal scope character, but every stored scope is a subset of a client's scope,
    // itself read from a comma list, so no stored scope ever holds one.
    if !scope.iter().any(|t| t.contains(',')) {
        assert_eq!(&Scope::from_comma_list(&scope.to_comma_list()), scope);
    }
}
