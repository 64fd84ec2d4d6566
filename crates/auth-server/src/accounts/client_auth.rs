//! Client authentication at the token endpoint (RFC 6749 §2.3): HTTP Basic or the `client_id` and
//! `client_secret` form fields, never both.

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use shared::{ApiError, ErrorCode};

use std::sync::Arc;

use shared::params::Params;

use super::{ClientDirectory, Passwords};
use crate::domain::client::Client;
use crate::stores::ClientStore;

/// Padding is optional in the wild; some clients leave it off.
const BASIC: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`
    Basic,
    /// `client_secret_post`, or a public client naming itself with `client_id` alone.
    Post,
}

/// Who the caller says it is. The secret never prints.
pub struct PresentedClient {
    pub client_id: String,
    secret: Option<SecretString>,
    pub method: AuthMethod,
    /// RFC 6749 §2.3.1 wants Basic credentials form-encoded; Spring's clients sent them raw. When
    /// the two readings differ, the encoded one is tried after the raw one.
    form_decoded: Option<Box<PresentedClient>>,
}

impl fmt::Debug for PresentedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedClient")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

fn non_empty(secret: &str) -> Option<SecretString> {
    (!secret.is_empty()).then(|| SecretString::from(secret.to_owned()))
}

impl PresentedClient {
    /// Reads the `Authorization` header value (if any) and the decoded parameters.
    pub fn from_request(authorization: Option<&[u8]>, params: &Params) -> Result<Self, ApiError> {
        let basic = authorization.and_then(basic_credentials).transpose()?;
        let form_id = params.get("client_id");
        let form_secret = params.get("client_secret");
        match (basic, form_id, form_secret) {
            (Some(_), _, Some(_)) => Err(ApiError::new(ErrorCode::MultipleClientAuthMethods)),
            (Some(basic), Some(id), None) if id != basic.client_id => {
                Err(ApiError::new(ErrorCode::ClientIdMismatch))
            }
            (Some(basic), _, None) => Ok(basic),
            (None, Some(id), secret) => Ok(Self {
                client_id: id.to_owned(),
                secret: secret.and_then(non_empty),
                method: AuthMethod::Post,
                form_decoded: None,
            }),
            (None, None, Some(_)) => {
                Err(ApiError::new(ErrorCode::MissingParameter).with_arg("client_id"))
            }
            (None, None, None) => Err(ApiError::new(ErrorCode::ClientAuthenticationRequired)),
        }
    }

    fn secret(&self) -> Option<&str> {
        self.secret.as_ref().map(ExposeSecret::expose_secret)
    }
}

const OWS: [char; 2] = [' ', '\t'];

/// `None` when the header is not Basic (another scheme is not client authentication).
fn basic_credentials(header: &[u8]) -> Option<Result<PresentedClient, ApiError>> {
    let header = std::str::from_utf8(header).ok()?;
    // Only HTTP's own white space (RFC 9110 §5.6.3): `trim()` would also strip Unicode spaces,
    // which arrive as raw bytes and make no header well-formed.
    let (scheme, encoded) = header.trim_matches(OWS).split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let malformed = || ApiError::new(ErrorCode::MalformedClientCredentials);
    Some((|| {
        let decoded = BASIC
            .decode(encoded.trim_matches(OWS))
            .map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        if decoded.contains(['\0', '\r', '\n']) {
            return Err(malformed());
        }
        let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
        if id.is_empty() {
            return Err(malformed());
        }
        let form_decoded = match (form_decode(id), form_decode(secret)) {
            (Some(d_id), Some(d_secret)) if (d_id.as_str(), d_secret.as_str()) != (id, secret) => {
                Some(Box::new(PresentedClient {
                    client_id: d_id,
                    secret: non_empty(&d_secret),
                    method: AuthMethod::Basic,
                    form_decoded: None,
                }))
            }
            _ => None,
        };
        Ok(PresentedClient {
            client_id: id.to_owned(),
            secret: non_empty(secret),
            method: AuthMethod::Basic,
            form_decoded,
        })
    })())
}

/// One form-encoded value decoded, or `None` if it does not decode to UTF-8.
fn form_decode(value: &str) -> Option<String> {
    let pair = format!("v={value}");
    let (_, decoded) = form_urlencoded::parse(pair.as_bytes()).next()?;
    (!decoded.contains('\u{fffd}')).then(|| decoded.into_owned())
}

/// Checks presented client credentials against the registrations.
pub struct ClientAuthenticator<S> {
    clients: ClientDirectory<S>,
    passwords: Arc<Passwords>,
}

impl<S: ClientStore> ClientAuthenticator<S> {
    pub fn new(clients: ClientDirectory<S>, passwords: Arc<Passwords>) -> Self {
        Self { clients, passwords }
    }

    /// The registrations, for the parts that need a client without authenticating it (the
    /// authorization endpoint).
    pub fn clients(&self) -> &ClientDirectory<S> {
        &self.clients
    }

    /// The registered client behind the presented credentials.
    ///
    /// A confidential client must prove its secret; a public one (no stored secret) is identified
    /// by `client_id` alone and may not present a secret. Unknown clients cost one bcrypt check,
    /// like known ones, and get the same answer. A client whose registration and this very secret
    /// are in memory is answered at once: no database, no bcrypt.
    pub async fn authenticate(&self, presented: &PresentedClient) -> Result<Arc<Client>, ApiError> {
        if let Some(client) = self.remembered(presented) {
            return Ok(client);
        }
        let result = self.authenticate_once(presented).await;
        match (&result, &presented.form_decoded) {
            (Err(e), Some(alternative)) if e.code() == ErrorCode::BadClientCredentials => {
                self.authenticate_once(alternative).await
            }
            _ => result,
        }
    }

    fn remembered(&self, presented: &PresentedClient) -> Option<Arc<Client>> {
        let client = self.clients.cached(&presented.client_id)?;
        let known = match presented.secret() {
            None => client.is_public(),
            Some(secret) => self
                .passwords
                .is_remembered(&client.client_id, &client.secret, secret),
        };
        known.then_some(client)
    }

    async fn authenticate_once(
        &self,
        presented: &PresentedClient,
    ) -> Result<Arc<Client>, ApiError> {
        let client = self.clients.find(&presented.client_id).await?;
        let bad = || ApiError::new(ErrorCode::BadClientCredentials);
        let Some(secret) = presented.secret() else {
            return match client {
                Some(client) if client.is_public() => Ok(client),
                _ => Err(bad()),
            };
        };
        let stored = client.as_ref().map(|c| &c.secret);
        let matches = self
            .passwords
            .verify_client_secret(&presented.client_id, stored, secret)
            .await
            .map_err(|_| ApiError::new(ErrorCode::PasswordChecksBusy))?;
        match client {
            Some(client) if matches => Ok(client),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token_endpoint::TOKEN_PARAMS;

    fn params(body: &str) -> Params {
        Params::parse(body.as_bytes(), TOKEN_PARAMS).unwrap()
    }

    fn basic(id_secret: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(id_secret)
        )
        .into_bytes()
    }

    #[test]
    fn basic_and_form_both_identify_the_client() {
        let by_header = PresentedClient::from_request(Some(&basic("dev:11")), &params("")).unwrap();
        assert_eq!(
            (by_header.client_id.as_str(), by_header.secret()),
            ("dev", Some("11"))
        );
        assert_eq!(by_header.method, AuthMethod::Basic);
        let by_form =
            PresentedClient::from_request(None, &params("client_id=dev&client_secret=11")).unwrap();
        assert_eq!(
            (by_form.client_id.as_str(), by_form.secret()),
            ("dev", Some("11"))
        );
        assert_eq!(by_form.method, AuthMethod::Post);
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let error =
            PresentedClient::from_request(Some(&basic("dev:11")), &params("client_secret=11"))
                .unwrap_err();
        assert_eq!(error.code(), ErrorCode::MultipleClientAuthMethods);
    }

    #[test]
    fn a_client_id_field_may_repeat_the_basic_one_but_not_contradict_it() {
        assert!(
            PresentedClient::from_request(Some(&basic("dev:11")), &params("client_id=dev")).is_ok()
        );
        assert_eq!(
            PresentedClient::from_request(Some(&basic("dev:11")), &params("client_id=other"))
                .unwrap_err()
                .code(),
            ErrorCode::ClientIdMismatch
        );
    }

    #[test]
    fn malformed_basic_headers_are_refused() {
        for header in [
            &b"Basic !!!"[..],
            b"Basic ZGV2",
            b"basic OjEx",
            b"Basic /w==",
        ] {
            assert_eq!(
                PresentedClient::from_request(Some(header), &params(""))
                    .unwrap_err()
                    .code(),
                ErrorCode::MalformedClientCredentials,
                "{}",
                String::from_utf8_lossy(header)
            );
        }
    }

    /// Found by `fuzz/fuzz_targets/authorization_header.rs`: U+0085 and U+00A0 (here in UTF-8)
    /// were trimmed as white space, so these counted as Basic credentials for `dev`.
    #[test]
    fn unicode_spaces_do_not_pad_a_basic_header() {
        let fuzzed = b"\xc2\x85Basic Z=#=";
        let leading = b"\xc2\x85Basic ZGV2OjEx";
        let trailing = b"Basic ZGV2OjEx\xc2\xa0";
        for (header, refusal) in [
            (&fuzzed[..], ErrorCode::ClientAuthenticationRequired),
            (leading, ErrorCode::ClientAuthenticationRequired),
            (trailing, ErrorCode::MalformedClientCredentials),
        ] {
            assert_eq!(
                PresentedClient::from_request(Some(header), &params(""))
                    .unwrap_err()
                    .code(),
                refusal,
                "{}",
                String::from_utf8_lossy(header)
            );
        }
        let padded = PresentedClient::from_request(Some(b" \tBasic \tZGV2OjEx\t "), &params(""));
        assert_eq!(
            padded.unwrap().client_id,
            "dev",
            "HTTP's own white space is fine"
        );
    }

    #[test]
    fn no_credentials_at_all() {
        assert_eq!(
            PresentedClient::from_request(None, &params("grant_type=password"))
                .unwrap_err()
                .code(),
            ErrorCode::ClientAuthenticationRequired
        );
        assert_eq!(
            PresentedClient::from_request(Some(b"Bearer abc"), &params(""))
                .unwrap_err()
                .code(),
            ErrorCode::ClientAuthenticationRequired
        );
    }

    #[test]
    fn form_encoded_basic_credentials_are_kept_as_a_second_reading() {
        let presented =
            PresentedClient::from_request(Some(&basic("my%20app:p%2Bw")), &params("")).unwrap();
        assert_eq!(presented.client_id, "my%20app");
        let decoded = presented.form_decoded.as_ref().unwrap();
        assert_eq!(
            (decoded.client_id.as_str(), decoded.secret()),
            ("my app", Some("p+w"))
        );
        let plain = PresentedClient::from_request(Some(&basic("dev:11")), &params("")).unwrap();
        assert!(plain.form_decoded.is_none());
    }

    #[test]
    fn the_secret_never_prints() {
        let presented =
            PresentedClient::from_request(None, &params("client_id=dev&client_secret=hunter2"))
                .unwrap();
        assert!(!format!("{presented:?}").contains("hunter2"));
    }
}
