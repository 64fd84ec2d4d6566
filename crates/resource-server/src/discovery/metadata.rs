//! Reading one metadata document (RFC 8414 §2, the same members in OpenID Connect's) and taking
//! the endpoint a validator needs from it, once the document is known to be the issuer's.

use reqwest::Url;
use serde_json::Value;

use super::issuer::Issuer;

/// The metadata member a validator needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The JWK set the issuer signs JWTs with.
    JwksUri,
    /// RFC 7662 token introspection (RFC 8414 §2 via RFC 7662's registration).
    IntrospectionEndpoint,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Self::JwksUri => "jwks_uri",
            Self::IntrospectionEndpoint => "introspection_endpoint",
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a document is not used.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("not a JSON object: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("no issuer in it")]
    NoIssuer,
    /// RFC 8414 §3.3: a document naming another issuer could steer this server to another
    /// server's keys or introspection.
    #[error("its issuer is {found:?}, not the configured {expected:?}")]
    OtherIssuer { expected: String, found: String },
    #[error("no {0} in it")]
    Missing(Field),
    #[error("its {field} {value:?} is not an absolute http:// or https:// URL")]
    NotAUrl { field: Field, value: String },
    /// An https issuer's tokens must not be checked over plain HTTP.
    #[error("its {field} {value:?} is not https, as the issuer is")]
    Downgrade { field: Field, value: String },
}

/// `field` of the metadata `body`, if the document is `issuer`'s.
pub fn endpoint(body: &[u8], issuer: &Issuer, field: Field) -> Result<Url, Refused> {
    let document: serde_json::Map<String, Value> = serde_json::from_slice(body)?;
    let found = document
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or(Refused::NoIssuer)?;
    if found != issuer.as_str() {
        return Err(Refused::OtherIssuer {
            expected: issuer.as_str().to_owned(),
            found: found.to_owned(),
        });
    }
    let value = document
        .get(field.name())
        .and_then(Value::as_str)
        .ok_or(Refused::Missing(field))?;
    let url = Url::parse(value)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| Refused::NotAUrl {
            field,
            value: value.to_owned(),
        })?;
    if issuer.is_https() && url.scheme() != "https" {
        return Err(Refused::Downgrade {
            field,
            value: value.to_owned(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(document: Value, issuer: &str, field: Field) -> Result<Url, Refused> {
        endpoint(
            document.to_string().as_bytes(),
            &Issuer::parse(issuer).unwrap(),
            field,
        )
    }

    #[test]
    fn the_endpoint_of_the_issuers_own_document_is_taken() {
        let document = json!({
            "issuer": "https://a.example/t1",
            "jwks_uri": "https://keys.a.example/t1/jwks",
            "introspection_endpoint": "https://a.example/t1/introspect",
            "response_types_supported": ["code"],
        });
        let jwks = read(document.clone(), "https://a.example/t1", Field::JwksUri).unwrap();
        assert_eq!(jwks.as_str(), "https://keys.a.example/t1/jwks");
        let introspection = read(
            document,
            "https://a.example/t1",
            Field::IntrospectionEndpoint,
        )
        .unwrap();
        assert_eq!(introspection.as_str(), "https://a.example/t1/introspect");
    }

    #[test]
    fn the_issuer_must_be_equal_character_for_character() {
        let document = json!({"issuer": "https://a.example/", "jwks_uri": "https://a.example/k"});
        for configured in [
            "https://a.example",
            "https://A.example/",
            "https://b.example/",
        ] {
            assert!(
                matches!(
                    read(document.clone(), configured, Field::JwksUri),
                    Err(Refused::OtherIssuer { .. })
                ),
                "{configured}"
            );
        }
        assert!(read(document, "https://a.example/", Field::JwksUri).is_ok());
        let anonymous = json!({"jwks_uri": "https://a.example/k"});
        assert!(matches!(
            read(anonymous, "https://a.example/", Field::JwksUri),
            Err(Refused::NoIssuer)
        ));
    }

    #[test]
    fn a_missing_relative_or_downgraded_endpoint_is_refused() {
        let with = |jwks_uri: Value| json!({"issuer": "https://a.example", "jwks_uri": jwks_uri});
        let issuer = "https://a.example";
        assert!(matches!(
            read(json!({"issuer": issuer}), issuer, Field::JwksUri),
            Err(Refused::Missing(Field::JwksUri))
        ));
        for value in [json!("/jwks"), json!("ftp://a.example/jwks"), json!(7)] {
            assert!(
                read(with(value.clone()), issuer, Field::JwksUri).is_err(),
                "{value}"
            );
        }
        assert!(matches!(
            read(with(json!("http://a.example/jwks")), issuer, Field::JwksUri),
            Err(Refused::Downgrade { .. })
        ));
        // An http issuer (development) may name http endpoints.
        let local = json!({"issuer": "http://localhost:8081", "jwks_uri": "http://localhost:8081/oauth2/jwks"});
        assert!(read(local, "http://localhost:8081", Field::JwksUri).is_ok());
        assert!(matches!(
            endpoint(b"[1]", &Issuer::parse(issuer).unwrap(), Field::JwksUri),
            Err(Refused::NotJson(_))
        ));
    }
}
