//! Where an issuer's metadata is published.

use reqwest::Url;

use super::issuer::Issuer;

const AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path, so that
/// several issuers on one host (`https://a.example/tenant1`, `…/tenant2`) each have their own.
pub fn authorization_server_metadata(issuer: &Issuer) -> Url {
    let mut url = issuer.url().clone();
    // §3.1: "after removing any terminating slash", as the authorization server does.
    let path = issuer.url().path().trim_end_matches('/');
    url.set_path(&format!("{AUTHORIZATION_SERVER}{path}"));
    url
}

/// OpenID Connect Discovery 1.0 §4: the suffix appended to the issuer, less a trailing slash.
/// Where providers that predate RFC 8414 (and some that do not) publish the same document.
pub fn openid_configuration(issuer: &Issuer) -> Url {
    let mut url = issuer.url().clone();
    let path = issuer.url().path().trim_end_matches('/');
    url.set_path(&format!("{path}{OPENID_CONFIGURATION}"));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(issuer: &str) -> (String, String) {
        let issuer = Issuer::parse(issuer).unwrap();
        (
            authorization_server_metadata(&issuer).to_string(),
            openid_configuration(&issuer).to_string(),
        )
    }

    #[test]
    fn an_issuer_without_a_path_has_its_metadata_at_the_root() {
        for issuer in ["https://a.example", "https://a.example/"] {
            assert_eq!(
                both(issuer),
                (
                    "https://a.example/.well-known/oauth-authorization-server".into(),
                    "https://a.example/.well-known/openid-configuration".into(),
                ),
                "{issuer}"
            );
        }
        assert_eq!(
            both("http://localhost:8081").0,
            "http://localhost:8081/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn the_rfc_8414_suffix_goes_before_the_path_and_the_openid_one_after() {
        assert_eq!(
            both("https://a.example/tenant1"),
            (
                "https://a.example/.well-known/oauth-authorization-server/tenant1".into(),
                "https://a.example/tenant1/.well-known/openid-configuration".into(),
            )
        );
        assert_eq!(
            both("https://a.example:8443/realms/demo/"),
            (
                "https://a.example:8443/.well-known/oauth-authorization-server/realms/demo".into(),
                "https://a.example:8443/realms/demo/.well-known/openid-configuration".into(),
            )
        );
    }

    #[test]
    fn an_escaped_path_stays_escaped() {
        assert_eq!(
            both("https://a.example/t%C3%A9nant").0,
            "https://a.example/.well-known/oauth-authorization-server/t%C3%A9nant"
        );
    }
}
