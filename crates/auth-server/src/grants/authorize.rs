//! The authorization endpoint's decisions (RFC 6749 §4.1.1–§4.1.2 and §4.2.1–§4.2.2): which
//! requests are valid, where their answers go, what is pre-approved, and what approval issues.
//!
//! Errors before the client and its redirect URI are established are shown to the user and never
//! redirected (§4.1.2.1, SECURITY.md item 2); every later error goes back to the client, with its
//! `state`, in the query (code flow) or the fragment (implicit flow).

use serde::{Deserialize, Serialize};
use shared::params::Params;
use shared::{ApiError, ErrorCode, Scope};
use url::Url;

use super::issue::Subject;
use super::{scope, TokenService};
use crate::db::codes::{self, CodeRecord};
use crate::db::{approvals, tokens, write_transaction};
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::grant_type::GrantType;
use crate::domain::pkce;
use crate::domain::redirect_uri;
use crate::domain::token_value::{self, TokenFormat};
use crate::domain::user::User;

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

/// `state` is echoed back and, while the user decides, kept in the session cookie, which browsers
/// cap at 4 KiB.
const MAX_STATE_BYTES: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseType {
    Code,
    Token,
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

/// Where an authorization request ends when it cannot go on.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Shown to the user as a page; nobody is redirected.
    Page(ApiError),
    /// Sent back to the client at this URL.
    Redirect(String),
}

impl From<ApiError> for AuthorizeError {
    fn from(error: ApiError) -> Self {
        AuthorizeError::Page(error)
    }
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
    pub fn scope(&self) -> Scope {
        Scope::from_tokens(self.scope.iter().cloned()).unwrap_or_default()
    }

    fn in_fragment(&self) -> bool {
        self.response_type == ResponseType::Token
    }

    /// The redirect carrying `params` and the request's `state`.
    pub fn redirect(&self, params: &[(&str, &str)]) -> Result<String, ApiError> {
        let mut all = params.to_vec();
        if let Some(state) = &self.state {
            all.push(("state", state));
        }
        with_params(&self.redirect_uri, &all, self.in_fragment())
    }

    /// The redirect telling the client why it gets nothing (§4.1.2.1, §4.2.2.1).
    pub fn error_redirect(&self, error: &ApiError) -> AuthorizeError {
        let info = error.code().info();
        let description = error.description();
        match self.redirect(&[("error", info.error), ("error_description", &description)]) {
            Ok(url) => AuthorizeError::Redirect(url),
            Err(page) => AuthorizeError::Page(page),
        }
    }
}

impl TokenService {
    pub fn client(&self, client_id: &str) -> Result<Option<Client>, ApiError> {
        Ok(crate::db::clients::find(&mut *self.conn()?, client_id)?)
    }

    /// Validates an authorization request. Blocks (one database read).
    pub fn authorization_request(
        &self,
        params: &Params,
    ) -> Result<(AuthorizationRequest, Client), AuthorizeError> {
        let client = match params.get("client_id") {
            Some(id) => self.client(id)?,
            None => None,
        }
        .ok_or(ApiError::new(ErrorCode::UnknownClient))?;
        let given = params.get("redirect_uri");
        let redirect_uri = redirect_uri::resolve(&client.redirect_uris, given)
            .ok_or(ApiError::new(ErrorCode::InvalidRedirectUri))?
            .to_owned();

        // From here on, errors go back to the client.
        let state = params.get("state").map(str::to_owned);
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
            state,
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
        let grant = match response_type {
            ResponseType::Code => GrantType::AuthorizationCode,
            ResponseType::Token => GrantType::Implicit,
        };
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
            if let Some(challenge) = challenge {
                request.code_challenge = Some(challenge.value);
                request.code_challenge_method = Some(challenge.method.as_str().to_owned());
            }
        }
        Ok((request, client))
    }

    /// Whether the user need not be asked: the client auto-approves these scopes, or the user
    /// approved every one of them before and the approvals have not expired.
    pub fn is_preapproved(
        &self,
        request: &AuthorizationRequest,
        client: &Client,
        username: &str,
    ) -> Result<bool, ApiError> {
        let scope = request.scope();
        if client.auto_approves(&scope) {
            return Ok(true);
        }
        let approved = approvals::approved_scopes(
            &mut *self.conn()?,
            username,
            &client.client_id,
            clock::now(),
        )?;
        Ok(!scope.is_empty() && scope.iter().all(|s| approved.iter().any(|a| a == s)))
    }

    /// Remembers the user's decision on each requested scope for a month, as Spring's
    /// `ApprovalStoreUserApprovalHandler` did.
    pub fn remember_decisions(
        &self,
        request: &AuthorizationRequest,
        username: &str,
        approved: &Scope,
    ) -> Result<(), ApiError> {
        let now = clock::now();
        let decisions: Vec<(String, &'static str)> = request
            .scope
            .iter()
            .map(|s| {
                let status = if approved.contains(s) {
                    approvals::APPROVED
                } else {
                    approvals::DENIED
                };
                (s.clone(), status)
            })
            .collect();
        approvals::save(
            &mut *self.conn()?,
            username,
            &request.client_id,
            &decisions,
            clock::one_month_later(now),
            now,
        )?;
        Ok(())
    }

    /// Whether a request validated earlier (and kept in the session while the user decided) still
    /// fits the client's registration as it is now.
    pub fn still_valid(&self, request: &AuthorizationRequest, client: &Client) -> bool {
        let grant = match request.response_type {
            ResponseType::Code => GrantType::AuthorizationCode,
            ResponseType::Token => GrantType::Implicit,
        };
        client.allows(grant)
            && client.redirect_uris.contains(&request.redirect_uri)
            && request.scope().is_subset_of(&client.scope)
            && !(client.is_public()
                && grant == GrantType::AuthorizationCode
                && request.code_challenge.is_none())
    }

    /// Issues what the request asked for, for `user` and the `approved` scope, and returns where to
    /// send the browser: a code in the query, or an access token in the fragment.
    pub fn approve(
        &self,
        request: &AuthorizationRequest,
        client: &Client,
        user: &User,
        approved: &Scope,
    ) -> Result<String, AuthorizeError> {
        if approved.is_empty() {
            return Err(request.error_redirect(&ApiError::new(ErrorCode::AccessDenied)));
        }
        match request.response_type {
            ResponseType::Code => {
                let code = self.issue_code(request, client, user, approved)?;
                Ok(request.redirect(&[("code", &code)])?)
            }
            ResponseType::Token => {
                let subject = Subject {
                    user_name: Some(user.username.clone()),
                    authorities: user.authorities.clone(),
                };
                // §4.2.2: no refresh token, and only in the fragment.
                let token = self.issue(client, &subject, approved, GrantType::Implicit, false)?;
                let expires_in = token.expires_in.map(|s| s.to_string());
                let mut params = vec![
                    ("access_token", token.access_token.as_str()),
                    ("token_type", token.token_type.as_str()),
                ];
                if let Some(expires_in) = &expires_in {
                    params.push(("expires_in", expires_in));
                }
                // §4.2.2: required only when it differs from what was asked.
                if approved != &request.scope() {
                    params.push(("scope", &token.scope));
                }
                Ok(request.redirect(&params)?)
            }
        }
    }

    fn issue_code(
        &self,
        request: &AuthorizationRequest,
        client: &Client,
        user: &User,
        approved: &Scope,
    ) -> Result<String, ApiError> {
        let now = clock::now();
        let value = token_value::generate(TokenFormat::Random);
        let family = uuid::Uuid::now_v7().to_string();
        let record = CodeRecord {
            code: token_value::hash(&value),
            family_id: family.clone(),
            client_id: client.client_id.clone(),
            user_name: user.username.clone(),
            redirect_uri: request
                .redirect_uri_given
                .then(|| request.redirect_uri.clone()),
            scope: approved.to_comma_list(),
            authorities: user.authorities.join(","),
            code_challenge: request.code_challenge.clone(),
            code_challenge_method: request.code_challenge_method.clone(),
            issued_at: now,
            expires_at: now + self.policy.code_validity,
            used_at: None,
        };
        write_transaction(&mut *self.conn()?, |conn| {
            tokens::create_family(conn, &family, &client.client_id, Some(&user.username), now)?;
            codes::insert(conn, &record)
        })?;
        Ok(value)
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

    #[test]
    fn codes_go_in_the_query_and_tokens_in_the_fragment() {
        assert_eq!(
            request(ResponseType::Code, Some("xyz"))
                .redirect(&[("code", "abc")])
                .unwrap(),
            "http://www.baidu.com/?code=abc&state=xyz"
        );
        assert_eq!(
            request(ResponseType::Token, Some("xyz"))
                .redirect(&[("access_token", "t"), ("token_type", "bearer")])
                .unwrap(),
            "http://www.baidu.com/#access_token=t&token_type=bearer&state=xyz"
        );
    }

    #[test]
    fn state_survives_byte_for_byte_and_a_registered_query_is_kept() {
        let state = "a b&c=d/é?%";
        let mut with_query = request(ResponseType::Code, Some(state));
        with_query.redirect_uri = "https://app.example/cb?tenant=7".into();
        let url = Url::parse(&with_query.redirect(&[("code", "abc")]).unwrap()).unwrap();
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
        let AuthorizeError::Redirect(url) = request(ResponseType::Code, Some("s"))
            .error_redirect(&ApiError::new(ErrorCode::AccessDenied))
        else {
            panic!("a redirect")
        };
        assert_eq!(
            url,
            "http://www.baidu.com/?error=access_denied&error_description=User+denied+access&state=s"
        );
    }
}
