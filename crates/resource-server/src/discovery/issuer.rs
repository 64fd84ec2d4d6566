//! An authorization server's issuer identifier (RFC 8414 §2), as configured.

use reqwest::Url;

/// The configured value is not an issuer identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an absolute http:// or https:// URL with no query or fragment")]
pub struct NotAnIssuer;

/// An absolute http(s) URL without query or fragment. RFC 8414 asks for https; http is allowed for
/// development, as the auth server's own `server.issuer` allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// Kept as written: the metadata's `issuer` must equal it character for character (RFC 8414
    /// §3.3), and a parsed URL reads back normalized (`http://a` as `http://a/`).
    configured: String,
    url: Url,
}

impl Issuer {
    pub fn parse(configured: &str) -> Result<Self, NotAnIssuer> {
        let url = Url::parse(configured).map_err(|_| NotAnIssuer)?;
        let acceptable = matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.query().is_none()
            && url.fragment().is_none();
        if !acceptable {
            return Err(NotAnIssuer);
        }
        Ok(Self {
            configured: configured.to_owned(),
            url,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.configured
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }
}

impl std::fmt::Display for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.configured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_urls_without_query_or_fragment_are_issuers() {
        for good in [
            "http://localhost:8081",
            "https://auth.example/tenant1",
            "https://auth.example/",
        ] {
            assert_eq!(Issuer::parse(good).map(|i| i.to_string()), Ok(good.into()));
        }
        for bad in [
            "",
            "auth.example",
            "/tenant1",
            "ftp://auth.example",
            "https://auth.example?tenant=1",
            "https://auth.example/#x",
            "file:///etc/issuer",
        ] {
            assert_eq!(Issuer::parse(bad), Err(NotAnIssuer), "{bad}");
        }
    }
}
