//! Redirect URIs: which may be registered (`validate_registration`), which one an authorization
//! request may use (`resolve`, exact match only), and the redirect built on it
//! (`AuthorizationRequest::redirect`), where a hostile `state` must not change where the user goes
//! or what the client reads.
//!
//! Input: UTF-8 lines (request parameters are UTF-8 by the time they get here); every line but the
//! last is a registered URI, the last is the `redirect_uri` (and the `state`) a request sent.
#![no_main]

use auth_server::authorization_endpoint::{AuthorizationRequest, Decision, ResponseType};
use auth_server::domain::redirect_uri::{resolve, validate_registration};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut registered: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let given = registered.pop().unwrap_or_default();

    let usable = |uri: &str| validate_registration(uri).is_ok();
    match resolve(&registered, Some(&given)) {
        Some(used) => {
            assert_eq!(used.as_bytes(), given.as_bytes());
            assert!(registered.iter().any(|r| std::ptr::eq(r.as_str(), used)));
            assert!(usable(used));
        }
        None => assert!(
            !registered.contains(&given) || !usable(&given),
            "{given:?} is registered and usable"
        ),
    }
    match (resolve(&registered, None), registered.as_slice()) {
        (Some(used), [only]) => assert_eq!(used, only),
        (None, [only]) => assert!(!usable(only), "the only registered URI must be used"),
        (Some(used), _) => panic!("{used:?} chosen among {} URIs", registered.len()),
        (None, _) => {}
    }

    for (i, uri) in registered.iter().chain([&given]).enumerate() {
        if usable(uri) {
            let response_type = if i % 2 == 0 {
                ResponseType::Code
            } else {
                ResponseType::Token
            };
            redirect(uri, response_type, &given);
        }
    }
});

fn redirect(registered: &str, response_type: ResponseType, state: &str) {
    let base = Url::parse(registered).expect("a registrable URI parses");
    assert!(!registered.contains('#') && base.fragment().is_none());
    assert!(!matches!(
        base.scheme(),
        "javascript" | "data" | "vbscript" | "file"
    ));
    if matches!(base.scheme(), "http" | "https") {
        assert!(base.host_str().is_some_and(|h| !h.is_empty()));
    }

    let request = AuthorizationRequest {
        id: "id".to_owned(),
        client_id: "client".to_owned(),
        response_type,
        redirect_uri: registered.to_owned(),
        redirect_uri_given: true,
        scope: Vec::new(),
        state: (!state.is_empty()).then(|| state.to_owned()),
        code_challenge: None,
        code_challenge_method: None,
        nonce: None,
        // The response type's own mode: the query for a code, the fragment for a token.
        response_mode: None,
        prompt: Default::default(),
        max_age: None,
        login_hint: None,
    };
    let location = match request.redirect(&[("code", "c0de")]) {
        Decision::Redirect(location) => location,
        Decision::ErrorPage(e) => panic!("{registered:?}: {}", e.description()),
        _ => panic!("{registered:?}: a redirect builds nothing but a redirect"),
    };
    let to = Url::parse(&location).unwrap_or_else(|e| panic!("{location:?}: {e}"));
    assert_eq!(
        (to.scheme(), to.host(), to.port(), to.path(), to.username()),
        (
            base.scheme(),
            base.host(),
            base.port(),
            base.path(),
            base.username()
        ),
        "{registered:?} became {location:?}"
    );
    let mut expected: Vec<(String, String)> = vec![("code".into(), "c0de".into())];
    if !state.is_empty() {
        expected.push(("state".into(), state.to_owned()));
    }
    let pairs = |s: Option<&str>| -> Vec<(String, String)> {
        form_urlencoded::parse(s.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    let registered_query = pairs(base.query());
    match response_type {
        ResponseType::Code => {
            let mut all = registered_query;
            all.extend(expected);
            assert_eq!(pairs(to.query()), all, "{location:?}");
            assert_eq!(to.fragment(), None);
        }
        // Tokens, access or ID, go in the fragment only.
        ResponseType::Token | ResponseType::IdToken | ResponseType::IdTokenToken => {
            assert_eq!(pairs(to.query()), registered_query, "{location:?}");
            assert_eq!(pairs(to.fragment()), expected, "{location:?}");
        }
    }
}
