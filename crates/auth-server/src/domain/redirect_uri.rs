//! Redirect URIs: which may be registered (RFC 6749 §3.1.2, docs/security.md, item 5), and which one an
//! authorization request may use (exact string match, docs/security.md, item 1).

use url::Url;

/// The redirect URI an authorization request will use, or `None` when none can be trusted (then
/// the user sees an error page and is never redirected).
///
/// Given: it must equal one registered URI character for character (RFC 9700 §4.1.3: no prefix,
/// case or normalisation games). Not given: the client must have registered exactly one.
/// Either way it must be one [`validate_registration`] accepts: rows written in SQL or by Spring's
/// tools never went through it.
pub fn resolve<'a>(registered: &'a [String], given: Option<&str>) -> Option<&'a str> {
    let chosen = match given {
        Some(given) => registered
            .iter()
            .find(|r| r.as_str() == given)
            .map(String::as_str),
        None => match registered {
            [only] => Some(only.as_str()),
            _ => None,
        },
    }?;
    validate_registration(chosen).is_ok().then_some(chosen)
}

/// Schemes that would run code or read local files in the user's browser.
const FORBIDDEN_SCHEMES: [&str; 4] = ["javascript", "data", "vbscript", "file"];

/// Checks a redirect URI before it is stored: absolute, no fragment, no script scheme, and a host
/// for http(s). Custom schemes of native apps (RFC 8252 §7.1) are allowed.
pub fn validate_registration(value: &str) -> Result<(), String> {
    let url = Url::parse(value).map_err(|e| format!("{value:?} is not an absolute URI ({e})"))?;
    if FORBIDDEN_SCHEMES.contains(&url.scheme()) {
        return Err(format!(
            "{value:?}: the {} scheme is not allowed",
            url.scheme()
        ));
    }
    if url.fragment().is_some() || value.contains('#') {
        return Err(format!(
            "{value:?}: a redirect URI must not have a fragment"
        ));
    }
    if matches!(url.scheme(), "http" | "https") {
        // Checked on the raw string: the parser turns `http:///x` into `http://x/`, but exact
        // matching later compares what was registered.
        let authority = value
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or_default());
        if authority.is_none_or(str::is_empty) || url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{value:?}: an http(s) redirect URI needs a host"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_exact_registered_uri_is_used() {
        let registered = vec!["https://app.example.com/cb".to_owned()];
        assert_eq!(
            resolve(&registered, Some("https://app.example.com/cb")),
            Some("https://app.example.com/cb")
        );
        for attack in [
            "https://app.example.com/cb/x",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/cb#x",
            "HTTPS://app.example.com/cb",
            "https://APP.example.com/cb",
            "https://app.example.com/cb/..;/evil",
            "https://app.example.com@evil.com/cb",
            "https://app.example.com/%63b",
            "https://app.example.com/cb/",
        ] {
            assert_eq!(resolve(&registered, Some(attack)), None, "{attack}");
        }
        assert_eq!(
            resolve(&registered, None),
            Some("https://app.example.com/cb")
        );
        let two = vec!["https://a/cb".to_owned(), "https://b/cb".to_owned()];
        assert_eq!(resolve(&two, None), None, "ambiguous");
        assert_eq!(resolve(&[], None), None);
    }

    #[test]
    fn ordinary_and_native_app_uris_register() {
        for ok in [
            "http://www.baidu.com",
            "https://app.example.com/cb?x=1",
            "http://127.0.0.1:5000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(validate_registration(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn fragments_script_schemes_and_relative_uris_are_refused() {
        for bad in [
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,hi",
            "/relative/cb",
            "http:///nohost",
        ] {
            assert!(validate_registration(bad).is_err(), "{bad}");
        }
    }
}
