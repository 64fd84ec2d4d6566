//! An authorization request (RFC 6749 §4.1.1, §4.2.1), validated against its client, and where
//! its answers go.
//!
//! Errors before the client and its redirect URI are established are shown to the user and never
//! redirected (§4.1.2.1, docs/security.md, item 2); every later error goes back to the client, with its
//! `state`, in the query (code flow) or the fragment (implicit flow).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use shared::params::Params;
use shared::{ApiError, ErrorCode, Scope};
use url::Url;

use super::Decision;
use crate::domain::client::Client;
use crate::domain::grant_type::GrantType;
use crate::domain::pkce;
use crate::domain::redirect_uri;
use crate::domain::scope;
use crate::domain::token_value::{self, TokenFormat};

/// The parameters the authorization endpoint reads.
pub const AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// What the server allows of authorization requests (`security.*`).
#[derive(Debug, Clone, Copy)]
pub struct AuthorizePolicy {
    /// Whether `code_challenge_method=plain` is accepted (Spring compatibility), or only S256.
    pub pkce_plain_allowed: bool,
}

/// `state` is echoed back and, while the user decides, kept in the session cookie, which browsers
/// cap at 4 KiB.
const MAX_STATE_BYTES: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseType {
    Code,
    Token,
}

impl ResponseType {
    pub fn grant(self) -> GrantType {
        match self {
            ResponseType::Code => GrantType::AuthorizationCode,
            ResponseType::Token => GrantType::Implicit,
        }
    }
}

/// A validated authorization request, kept in the session while the user decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// Names this request in the approval form, so a decision can only approve the request the
    /// page showed (another tab or a forged navigation may have replaced it since).
    pub id: String,
    pub client_id: String,
    pub response_type: ResponseType,
    /// The URI answers go to: the one given (registered, exactly) or the only one registered.
    pub redirect_uri: String,
    /// Whether the request named it, which decides what the token request must repeat.
    pub redirect_uri_given: bool,
    /// What the client asked for, narrowed to what it may have; the user may approve less.
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// Adds `params` to `base`, in the fragment or the query, keeping what the query had.
fn with_params(base: &str, params: &[(&str, &str)], in_fragment: bool) -> Result<String, ApiError> {
    let mut url = Url::parse(base).map_err(|_| ApiError::new(ErrorCode::InvalidRedirectUri))?;
    if in_fragment {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        url.set_fragment(Some(&encoded));
    } else {
        url.query_pairs_mut().extend_pairs(params);
    }
    Ok(url.into())
}

impl AuthorizationRequest {
    /// Validates `params` against `client`, the registered client its `client_id` names.
    pub fn validate(
        params: &Params,
        client: &Client,
        policy: &AuthorizePolicy,
    ) -> Result<Self, Decision> {
        let given = params.get("redirect_uri");
        let redirect_uri = redirect_uri::resolve(&client.redirect_uris, given)
            .ok_or(Decision::ErrorPage(ApiError::new(
                ErrorCode::InvalidRedirectUri,
            )))?
            .to_owned();

        // From here on, errors go back to the client.
        let response_type = match params.get("response_type") {
            Some("token") => ResponseType::Token,
            _ => ResponseType::Code,
        };
        let mut request = AuthorizationRequest {
            id: token_value::generate(TokenFormat::Random),
            client_id: client.client_id.clone(),
            response_type,
            redirect_uri,
            redirect_uri_given: given.is_some(),
            scope: Vec::new(),
            state: params.get("state").map(str::to_owned),
            code_challenge: None,
            code_challenge_method: None,
        };
        if request
            .state
            .as_ref()
            .is_some_and(|s| s.len() > MAX_STATE_BYTES)
        {
            request.state = None;
            return Err(request
                .error_redirect(&ApiError::new(ErrorCode::ParameterTooLong).with_arg("state")));
        }
        let fail = |request: &AuthorizationRequest, code: ErrorCode| {
            request.error_redirect(&ApiError::new(code))
        };
        match params.get("response_type") {
            None => {
                return Err(request.error_redirect(
                    &ApiError::new(ErrorCode::MissingParameter).with_arg("response_type"),
                ))
            }
            Some("code" | "token") => {}
            Some(_) => return Err(fail(&request, ErrorCode::UnsupportedResponseType)),
        }
        let grant = response_type.grant();
        if !client.allows(grant) {
            return Err(request.error_redirect(
                &ApiError::new(ErrorCode::UnauthorizedGrantType).with_arg(grant.as_str()),
            ));
        }
        let requested = match params.get("scope").map(Scope::parse).transpose() {
            Ok(requested) => requested.filter(|s| !s.is_empty()),
            Err(_) => return Err(fail(&request, ErrorCode::MalformedScope)),
        };
        let scope = scope::negotiate(requested, &client.scope)
            .map_err(|error| request.error_redirect(&error))?;
        request.scope = scope.iter().map(str::to_owned).collect();
        if response_type == ResponseType::Code {
            let challenge = pkce::parse_challenge(
                params.get("code_challenge"),
                params.get("code_challenge_method"),
            )
            .map_err(|_| fail(&request, ErrorCode::MalformedCodeChallenge))?;
            if challenge.is_none() && client.is_public() {
                return Err(fail(&request, ErrorCode::PkceRequired));
            }
            if !policy.pkce_plain_allowed
                && challenge
                    .as_ref()
                    .is_some_and(|c| c.method == pkce::Method::Plain)
            {
                return Err(fail(&request, ErrorCode::PkcePlainRefused));
            }
            if let Some(challenge) = challenge {
                request.code_challenge = Some(challenge.value);
                request.code_challenge_method = Some(challenge.method.as_str().to_owned());
            }
        }
        Ok(request)
    }

    pub fn scope(&self) -> Scope {
        Scope::from_tokens(self.scope.iter().cloned()).unwrap_or_default()
    }

    /// What the user approved: every requested scope when the form named none (older Spring
    /// clients posted only `user_oauth_approval=true`), else those marked `true`.
    pub fn approved(&self, choices: Option<&HashMap<String, bool>>) -> Scope {
        match choices {
            None => self.scope(),
            Some(choices) => Scope::from_tokens(
                self.scope
                    .iter()
                    .filter(|s| choices.get(*s).copied().unwrap_or(false))
                    .cloned(),
            )
            .unwrap_or_default(),
        }
    }

    /// Whether this request, validated earlier and kept while the user decided, still fits the
    /// client's registration as it is now.
    pub fn still_fits(&self, client: &Client) -> bool {
        let grant = self.response_type.grant();
        client.allows(grant)
            && client.redirect_uris.contains(&self.redirect_uri)
            && self.scope().is_subset_of(&client.scope)
            && !(client.is_public()
                && grant == GrantType::AuthorizationCode
                && self.code_challenge.is_none())
    }

    fn in_fragment(&self) -> bool {
        self.response_type == ResponseType::Token
    }

    /// The redirect carrying `params` and the request's `state`.
    pub fn redirect(&self, params: &[(&str, &str)]) -> Decision {
        let mut all = params.to_vec();
        if let Some(state) = &self.state {
            all.push(("state", state));
        }
        match with_params(&self.redirect_uri, &all, self.in_fragment()) {
            Ok(url) => Decision::Redirect(url),
            Err(error) => Decision::ErrorPage(error),
        }
    }

    /// The redirect telling the client why it gets nothing (§4.1.2.1, §4.2.2.1).
    pub fn error_redirect(&self, error: &ApiError) -> Decision {
        let info = error.code().info();
        let description = error.description();
        self.redirect(&[("error", info.error), ("error_description", &description)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(response_type: ResponseType, state: Option<&str>) -> AuthorizationRequest {
        AuthorizationRequest {
            id: "id".into(),
            client_id: "dev".into(),
            response_type,
            redirect_uri: "http://www.baidu.com".into(),
            redirect_uri_given: true,
            scope: vec!["app".into()],
            state: state.map(str::to_owned),
            code_challenge: None,
            code_challenge_method: None,
        }
    }

    fn location(decision: Decision) -> String {
        match decision {
            Decision::Redirect(url) => url,
            other => panic!("not a redirect: {other:?}"),
        }
    }

    #[test]
    fn codes_go_in_the_query_and_tokens_in_the_fragment() {
        assert_eq!(
            location(request(ResponseType::Code, Some("xyz")).redirect(&[("code", "abc")])),
            "http://www.baidu.com/?code=abc&state=xyz"
        );
        assert_eq!(
            location(
                request(ResponseType::Token, Some("xyz"))
                    .redirect(&[("access_token", "t"), ("token_type", "bearer")])
            ),
            "http://www.baidu.com/#access_token=t&token_type=bearer&state=xyz"
        );
    }

    #[test]
    fn state_survives_byte_for_byte_and_a_registered_query_is_kept() {
        let state = "a b&c=d/é?%";
        let mut with_query = request(ResponseType::Code, Some(state));
        with_query.redirect_uri = "https://app.example/cb?tenant=7".into();
        let url = Url::parse(&location(with_query.redirect(&[("code", "abc")]))).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("tenant".to_owned(), "7".to_owned()),
                ("code".to_owned(), "abc".to_owned()),
                ("state".to_owned(), state.to_owned())
            ]
        );
    }

    #[test]
    fn errors_carry_error_description_and_state() {
        let url = location(
            request(ResponseType::Code, Some("s"))
                .error_redirect(&ApiError::new(ErrorCode::AccessDenied)),
        );
        assert_eq!(
            url,
            "http://www.baidu.com/?error=access_denied&error_description=User+denied+access&state=s"
        );
    }
}
