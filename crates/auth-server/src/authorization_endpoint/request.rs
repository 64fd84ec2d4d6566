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
use crate::domain::user::SignedIn;

/// The parameters the authorization endpoint reads.
pub const AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "response_mode",
    "prompt",
    "max_age",
    "login_hint",
];

/// What the server allows of authorization requests (`security.*`).
#[derive(Debug, Clone, Copy)]
pub struct AuthorizePolicy {
    /// Whether `code_challenge_method=plain` is accepted (Spring compatibility), or only S256.
    pub pkce_plain_allowed: bool,
}

/// `state` and `nonce` are echoed back and, while the user decides, kept in the session cookie,
/// which browsers cap at 4 KiB.
const MAX_STATE_BYTES: usize = 512;
/// A `login_hint` is only ever a username.
const MAX_LOGIN_HINT_BYTES: usize = 256;

/// RFC 6749 §3.1.1, and OpenID Connect's (Core §3.2.2.1): the set of names, in any order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseType {
    Code,
    Token,
    IdToken,
    IdTokenToken,
}

impl ResponseType {
    fn parse(value: &str) -> Option<Self> {
        let mut names: Vec<&str> = value.split(' ').collect();
        names.sort_unstable();
        match names.as_slice() {
            ["code"] => Some(Self::Code),
            ["token"] => Some(Self::Token),
            ["id_token"] => Some(Self::IdToken),
            ["id_token", "token"] => Some(Self::IdTokenToken),
            _ => None,
        }
    }

    pub fn grant(self) -> GrantType {
        match self {
            ResponseType::Code => GrantType::AuthorizationCode,
            ResponseType::Token | ResponseType::IdToken | ResponseType::IdTokenToken => {
                GrantType::Implicit
            }
        }
    }

    /// Whether the answer carries an ID token, which needs scope `openid` and a `nonce`.
    pub fn has_id_token(self) -> bool {
        matches!(self, ResponseType::IdToken | ResponseType::IdTokenToken)
    }

    /// Whether the answer carries an access token.
    pub fn has_access_token(self) -> bool {
        matches!(self, ResponseType::Token | ResponseType::IdTokenToken)
    }
}

/// How the answer reaches the client (OAuth 2.0 Multiple Response Type Encoding Practices §2.1,
/// Form Post Response Mode): in the redirect's query or fragment, or posted by the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    /// The mode asked for, or the response type's default; tokens never go in a query, where
    /// they would end up in logs and `Referer` headers.
    fn choose(asked: Option<&str>, response_type: ResponseType) -> Result<Self, ()> {
        let default = match response_type {
            ResponseType::Code => Self::Query,
            _ => Self::Fragment,
        };
        match asked {
            None => Ok(default),
            Some("query") if response_type == ResponseType::Code => Ok(Self::Query),
            Some("fragment") => Ok(Self::Fragment),
            Some("form_post") => Ok(Self::FormPost),
            Some(_) => Err(()),
        }
    }
}

/// OpenID Connect Core §3.1.2.1 `prompt`. `select_account` counts as `login`: one account per
/// browser session here, so choosing one is signing in again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// Show no page: answer at once, or say why not.
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    fn parse(value: Option<&str>) -> Result<Self, ErrorCode> {
        let mut prompt = Prompt::default();
        for name in value.unwrap_or_default().split(' ') {
            match name {
                "none" => prompt.none = true,
                "login" | "select_account" => prompt.login = true,
                "consent" => prompt.consent = true,
                // Values this server does not know (`create`, say) ask for nothing it could do.
                _ => {}
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(ErrorCode::InvalidPrompt);
        }
        Ok(prompt)
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
    /// OpenID Connect: echoed in the ID token.
    #[serde(default)]
    pub nonce: Option<String>,
    /// `None` in requests kept in sessions before response modes existed: the response type's
    /// default then (never the query for a token).
    #[serde(default)]
    pub response_mode: Option<ResponseMode>,
    #[serde(default)]
    pub prompt: Prompt,
    /// Seconds: a sign-in older than this must be done again (OIDC Core §3.1.2.1).
    #[serde(default)]
    pub max_age: Option<i64>,
    /// A username to prefill the login page with.
    #[serde(default)]
    pub login_hint: Option<String>,
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
        let parsed_type = params.get("response_type").and_then(ResponseType::parse);
        let response_type = parsed_type.unwrap_or(ResponseType::Code);
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
            nonce: None,
            response_mode: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
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
        match (params.get("response_type"), parsed_type) {
            (None, _) => {
                return Err(request.error_redirect(
                    &ApiError::new(ErrorCode::MissingParameter).with_arg("response_type"),
                ))
            }
            (Some(_), Some(_)) => {}
            (Some(_), None) => return Err(fail(&request, ErrorCode::UnsupportedResponseType)),
        }
        request.response_mode = Some(
            ResponseMode::choose(params.get("response_mode"), response_type)
                .map_err(|()| fail(&request, ErrorCode::InvalidResponseMode))?,
        );
        request.prompt =
            Prompt::parse(params.get("prompt")).map_err(|code| fail(&request, code))?;
        request.max_age = match params.get("max_age").map(str::parse::<i64>) {
            None => None,
            Some(Ok(seconds)) if seconds >= 0 => Some(seconds),
            Some(_) => return Err(fail(&request, ErrorCode::MalformedMaxAge)),
        };
        for (name, limit) in [
            ("nonce", MAX_STATE_BYTES),
            ("login_hint", MAX_LOGIN_HINT_BYTES),
        ] {
            if params.get(name).is_some_and(|v| v.len() > limit) {
                return Err(request
                    .error_redirect(&ApiError::new(ErrorCode::ParameterTooLong).with_arg(name)));
            }
        }
        request.nonce = params.get("nonce").map(str::to_owned);
        request.login_hint = params.get("login_hint").map(str::to_owned);
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
        if response_type.has_id_token() {
            if !scope.contains("openid") {
                return Err(fail(&request, ErrorCode::OpenIdScopeRequired));
            }
            if request.nonce.is_none() {
                return Err(fail(&request, ErrorCode::NonceRequired));
            }
        }
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

    /// Whether a sign-in may answer this request without signing in again: not when it asks to
    /// (`prompt=login`), nor when the sign-in is older than its `max_age`.
    /// `max_age=0` always asks (OIDC Core: it is `prompt=login`), so the age is compared in
    /// milliseconds: a sign-in in the same second is still older than zero.
    pub fn accepts_sign_in(&self, signed_in: &SignedIn, now_millis: i64) -> bool {
        !self.prompt.login
            && self
                .max_age
                .is_none_or(|max| now_millis - signed_in.millis() < max.saturating_mul(1000))
    }

    /// Whether this is an OpenID Connect request (Core §3.1.2.1).
    pub fn is_openid(&self) -> bool {
        self.scope.iter().any(|s| s == "openid")
    }

    /// The answer carrying `params` and the request's `state`, as the response mode says.
    pub fn redirect(&self, params: &[(&str, &str)]) -> Decision {
        let mut all = params.to_vec();
        if let Some(state) = &self.state {
            all.push(("state", state));
        }
        let mode = self.response_mode.unwrap_or_else(|| {
            ResponseMode::choose(None, self.response_type).unwrap_or(ResponseMode::Fragment)
        });
        let in_fragment = match mode {
            ResponseMode::Query => false,
            ResponseMode::Fragment => true,
            ResponseMode::FormPost => {
                return Decision::FormPost {
                    action: self.redirect_uri.clone(),
                    params: all
                        .into_iter()
                        .map(|(n, v)| (n.to_owned(), v.to_owned()))
                        .collect(),
                }
            }
        };
        match with_params(&self.redirect_uri, &all, in_fragment) {
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
            nonce: None,
            response_mode: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
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
    fn an_implicit_request_kept_in_a_session_from_before_response_modes_answers_in_the_fragment() {
        let kept = r#"{"id":"id","client_id":"dev","response_type":"Token",
            "redirect_uri":"https://app.example/cb","redirect_uri_given":true,"scope":["app"],
            "state":"s","code_challenge":null,"code_challenge_method":null}"#;
        let request: AuthorizationRequest = serde_json::from_str(kept).unwrap();
        assert_eq!(
            location(request.redirect(&[("access_token", "t")])),
            "https://app.example/cb#access_token=t&state=s"
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
