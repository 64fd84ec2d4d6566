//! The authorization endpoint (RFC 6749 §4.1.1–§4.1.2, §4.2.1–§4.2.2), with no HTTP in sight:
//! validate the request, have the user sign in, ask for approval unless it is given already, then
//! issue a code or (implicit) a token and send the browser back to the client. Every step ends in
//! one [`Decision`]; the web layer turns it into a page or a redirect.

mod consent;
mod issue;
mod request;

use std::sync::Arc;

use shared::params::Params;
use shared::{ApiError, ErrorCode, Scope};

pub use request::{
    AuthorizationRequest, AuthorizePolicy, Prompt, ResponseMode, ResponseType, AUTHORIZE_PARAMS,
};

use crate::accounts::users::Credentials;
use crate::authority::Authority;
use crate::db::Storage;
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::user::{SignedIn, User};
use crate::stores::{ApprovalStore, ClientStore, TokenStore, UserStore};

/// Where an authorization request goes next.
#[derive(Debug)]
pub enum Decision {
    /// Nobody usable is signed in (or not recently enough for the request): sign in, then come
    /// back with the same request.
    SignIn {
        client_id: String,
        /// Someone usable is signed in, but the request wants a fresh sign-in (`prompt=login`,
        /// `max_age`): they stay signed in until another sign-in replaces them, so a link from
        /// elsewhere cannot sign anyone out.
        again: bool,
    },
    /// Ask the user; the request waits in the session.
    Ask(Box<AuthorizationRequest>),
    /// Back to the client: a code, a token, or an error with the request's `state`.
    Redirect(String),
    /// The same, posted by the browser to `action` (`response_mode=form_post`).
    FormPost {
        action: String,
        params: Vec<(String, String)>,
    },
    /// Shown to the user and never redirected: an unknown client, an untrusted redirect URI, or a
    /// failure of ours.
    ErrorPage(ApiError),
}

/// The user's answer on the approval page.
#[derive(Debug)]
pub enum Choice {
    Deny,
    Approve(Scope),
}

pub struct AuthorizationEndpoint<S = Storage> {
    authority: Authority<S>,
    policy: AuthorizePolicy,
}

impl<S: ClientStore + UserStore + TokenStore + ApprovalStore> AuthorizationEndpoint<S> {
    pub fn new(authority: Authority<S>, policy: AuthorizePolicy) -> Self {
        Self { authority, policy }
    }

    /// `GET /oauth/authorize` from a browser in which someone may have signed in. `just_signed_in`:
    /// the browser signed in for this very request a moment ago, which answers `prompt=login`
    /// and any `max_age`.
    pub async fn authorize(
        &self,
        params: &Params,
        signed_in: Option<&SignedIn>,
        just_signed_in: bool,
    ) -> Decision {
        let (request, client) = match self.validate(params).await {
            Ok(valid) => valid,
            Err(decision) => return decision,
        };
        let user = match signed_in {
            None => None,
            Some(signed_in) => match self.authority.users.current(signed_in).await {
                Ok(user) => user.map(|user| (user, signed_in)),
                Err(error) => return Decision::ErrorPage(error),
            },
        };
        let fresh_enough = |signed_in: &SignedIn| {
            just_signed_in || request.accepts_sign_in(signed_in, clock::now_millis())
        };
        let (user, auth_time) = match user {
            Some((user, signed_in)) if fresh_enough(signed_in) => (user, signed_in.at),
            _ if request.prompt.none => {
                return request.error_redirect(&ApiError::new(ErrorCode::LoginRequired));
            }
            usable => {
                return Decision::SignIn {
                    client_id: request.client_id,
                    again: usable.is_some(),
                }
            }
        };
        let preapproved = if request.prompt.consent {
            Ok(false)
        } else {
            self.is_preapproved(&request, &client, &user.username).await
        };
        match preapproved {
            Ok(true) => {
                let approved = request.scope();
                self.issue(&request, &client, &user, &approved, auth_time)
                    .await
            }
            Ok(false) if request.prompt.none => {
                request.error_redirect(&ApiError::new(ErrorCode::ConsentRequired))
            }
            Ok(false) => Decision::Ask(Box::new(request)),
            Err(error) => Decision::ErrorPage(error),
        }
    }

    /// The user's `choice` on `request`, the one the approval page showed.
    pub async fn decide(
        &self,
        request: &AuthorizationRequest,
        signed_in: &SignedIn,
        choice: Choice,
    ) -> Decision {
        let approved = match choice {
            Choice::Deny => {
                return request.error_redirect(&ApiError::new(ErrorCode::AccessDenied));
            }
            Choice::Approve(scope) => scope,
        };
        // Checked again against the registration as it is now, not as remembered: it may have
        // changed while the user decided.
        let client = match self
            .authority
            .clients
            .clients()
            .reload(&request.client_id)
            .await
        {
            Ok(Some(client)) if request.still_fits(&client) => client,
            Ok(_) => return Decision::ErrorPage(ApiError::new(ErrorCode::UnknownClient)),
            Err(error) => return Decision::ErrorPage(error.into()),
        };
        let user = match self.authority.users.current(signed_in).await {
            Ok(Some(user)) => user,
            Ok(None) => return Decision::ErrorPage(ApiError::new(ErrorCode::BadCredentials)),
            Err(error) => return Decision::ErrorPage(error),
        };
        if !approved.is_empty() {
            if let Err(error) = self.remember(request, &user.username, &approved).await {
                return Decision::ErrorPage(error);
            }
        }
        self.issue(request, &client, &user, &approved, signed_in.at)
            .await
    }

    /// The user a browser's sign-in still stands for, if any.
    pub async fn signed_in_user(&self, signed_in: &SignedIn) -> Result<Option<User>, ApiError> {
        self.authority.users.current(signed_in).await
    }

    /// `POST /login`: the same check, and the same limits, as the password grant's.
    pub async fn sign_in(&self, credentials: Credentials<'_>) -> Result<User, ApiError> {
        self.authority.users.sign_in(credentials).await
    }

    /// The client first, then its redirect URI, then everything else (see [`request`]).
    async fn validate(
        &self,
        params: &Params,
    ) -> Result<(AuthorizationRequest, Arc<Client>), Decision> {
        let client = match params.get("client_id") {
            Some(id) => self.authority.clients.clients().find(id).await,
            None => Ok(None),
        };
        let client = match client {
            Ok(Some(client)) => client,
            Ok(None) => return Err(Decision::ErrorPage(ApiError::new(ErrorCode::UnknownClient))),
            Err(error) => return Err(Decision::ErrorPage(error.into())),
        };
        let request = AuthorizationRequest::validate(params, &client, &self.policy)?;
        // Refused now rather than once the code is redeemed: an OpenID Connect request needs a
        // key whose public half relying parties can fetch (a shared HS256 secret is not one).
        if request.is_openid() && !self.authority.issuer.keys().signs_id_tokens(clock::now()) {
            return Err(request.error_redirect(&ApiError::new(ErrorCode::SigningKeyUnavailable)));
        }
        Ok((request, client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::tests::in_memory;
    use crate::domain::client::tests::client;
    use crate::settings::Settings;
    use crate::stores::memory::MemoryStore;

    const REDIRECT: &str = "https://app.example/cb";

    /// admin, signed in a moment ago.
    fn admin() -> SignedIn {
        SignedIn::now("admin")
    }

    fn endpoint(store: &MemoryStore) -> AuthorizationEndpoint<MemoryStore> {
        AuthorizationEndpoint::new(
            in_memory(store, &Settings::defaults()),
            AuthorizePolicy {
                pkce_plain_allowed: true,
            },
        )
    }

    /// The request the user is asked about.
    async fn asked(
        endpoint: &AuthorizationEndpoint<MemoryStore>,
        request: &Params,
    ) -> AuthorizationRequest {
        match endpoint.authorize(request, Some(&admin()), false).await {
            Decision::Ask(asked) => *asked,
            other => panic!("the user is not asked: {other:?}"),
        }
    }

    fn store() -> MemoryStore {
        let store = MemoryStore::default();
        store.add_client(client("dev", |_| {}));
        store.add_user("admin", "123456", &["ROLE_USER"]);
        store
    }

    fn params(query: &str) -> Params {
        Params::parse(query.as_bytes(), AUTHORIZE_PARAMS).unwrap()
    }

    fn code_request(extra: &str) -> Params {
        params(&format!(
            "response_type=code&client_id=dev&redirect_uri={REDIRECT}&state=xyz{extra}"
        ))
    }

    fn redirect_params(decision: Decision) -> std::collections::HashMap<String, String> {
        let Decision::Redirect(location) = decision else {
            panic!("not a redirect: {decision:?}")
        };
        assert!(location.starts_with(REDIRECT), "{location}");
        let url = url::Url::parse(&location).unwrap();
        let encoded = url
            .fragment()
            .or(url.query())
            .unwrap_or_default()
            .to_owned();
        form_urlencoded::parse(encoded.as_bytes())
            .into_owned()
            .collect()
    }

    #[tokio::test]
    async fn sign_in_then_ask_then_a_code_and_the_approval_is_remembered() {
        let store = store();
        let endpoint = endpoint(&store);
        let request = code_request("");
        assert!(matches!(
            endpoint.authorize(&request, None, false).await,
            Decision::SignIn { client_id, .. } if client_id == "dev"
        ));
        let asked = asked(&endpoint, &request).await;
        assert_eq!(asked.scope, ["app", "read"]);
        let approved = Choice::Approve(asked.approved(None));
        let landed = redirect_params(endpoint.decide(&asked, &admin(), approved).await);
        assert_eq!(landed["state"], "xyz");
        assert_eq!(store.state().codes.len(), 1);
        assert!(store.state().codes.values().all(|c| c.scope == "app,read"));
        // Remembered: the next request goes straight back with a code.
        let again = redirect_params(endpoint.authorize(&request, Some(&admin()), false).await);
        assert!(again.contains_key("code"));
    }

    #[tokio::test]
    async fn an_unknown_client_or_an_unregistered_redirect_uri_is_a_page_never_a_redirect() {
        let endpoint = endpoint(&store());
        for query in [
            "response_type=code&client_id=ghost".to_owned(),
            "response_type=code&client_id=dev&redirect_uri=https://evil.example/cb".to_owned(),
            format!("response_type=code&client_id=dev&redirect_uri={REDIRECT}/x"),
        ] {
            let decision = endpoint
                .authorize(&params(&query), Some(&admin()), false)
                .await;
            assert!(
                matches!(decision, Decision::ErrorPage(_)),
                "{query}: {decision:?}"
            );
        }
    }

    #[tokio::test]
    async fn later_errors_go_back_to_the_client_with_state() {
        let endpoint = endpoint(&store());
        for (extra, error) in [
            ("&scope=admin", "invalid_scope"),
            ("&code_challenge=short", "invalid_request"),
        ] {
            let landed =
                redirect_params(endpoint.authorize(&code_request(extra), None, false).await);
            assert_eq!(landed["error"], error, "{extra}");
            assert_eq!(landed["state"], "xyz");
        }
        let wrong_type = params(&format!(
            "response_type=magic&client_id=dev&redirect_uri={REDIRECT}&state=xyz"
        ));
        let landed = redirect_params(endpoint.authorize(&wrong_type, None, false).await);
        assert_eq!(landed["error"], "unsupported_response_type");
    }

    #[tokio::test]
    async fn pkce_plain_is_refused_when_the_server_allows_only_s256() {
        let store = store();
        let strict = AuthorizationEndpoint::new(
            in_memory(&store, &Settings::defaults()),
            AuthorizePolicy {
                pkce_plain_allowed: false,
            },
        );
        let plain = code_request(&format!(
            "&code_challenge={}&code_challenge_method=plain",
            "a".repeat(43)
        ));
        let landed = redirect_params(strict.authorize(&plain, Some(&admin()), false).await);
        assert_eq!(landed["error"], "invalid_request");
        assert_eq!(
            landed["error_description"],
            "code_challenge_method plain is not allowed; use S256"
        );
        assert!(
            matches!(
                endpoint(&store).authorize(&plain, None, false).await,
                Decision::SignIn { .. }
            ),
            "plain is fine by default: the user is asked to sign in"
        );
    }

    #[tokio::test]
    async fn deny_or_no_scope_is_access_denied_and_issues_nothing() {
        let store = store();
        let endpoint = endpoint(&store);
        let asked = asked(&endpoint, &code_request("")).await;
        for choice in [Choice::Deny, Choice::Approve(Scope::default())] {
            let landed = redirect_params(endpoint.decide(&asked, &admin(), choice).await);
            assert_eq!(landed["error"], "access_denied");
        }
        assert!(store.state().codes.is_empty());
    }

    #[tokio::test]
    async fn a_registration_changed_while_the_user_decided_is_honoured() {
        let store = store();
        let endpoint = endpoint(&store);
        let asked = asked(&endpoint, &code_request("")).await;
        store
            .state()
            .clients
            .get_mut("dev")
            .unwrap()
            .redirect_uris
            .clear();
        let decision = endpoint
            .decide(&asked, &admin(), Choice::Approve(asked.scope()))
            .await;
        assert!(matches!(decision, Decision::ErrorPage(_)), "{decision:?}");
        assert!(store.state().codes.is_empty());
    }

    #[tokio::test]
    async fn implicit_puts_a_token_in_the_fragment_and_no_refresh_token() {
        let store = store();
        store.add_client(client("spa", |c| c.autoapprove = Some("true".into())));
        let endpoint = endpoint(&store);
        let request = params(&format!(
            "response_type=token&client_id=spa&redirect_uri={REDIRECT}&state=s&scope=read"
        ));
        let Decision::Redirect(location) =
            endpoint.authorize(&request, Some(&admin()), false).await
        else {
            panic!("auto-approved")
        };
        let url = url::Url::parse(&location).unwrap();
        assert_eq!(url.query(), None, "{location}");
        let fragment = redirect_params(Decision::Redirect(location.clone()));
        assert_eq!(fragment["token_type"], "bearer");
        assert!(!fragment.contains_key("refresh_token"));
        assert!(!fragment.contains_key("scope"), "granted as asked");
        assert!(store.state().refresh.is_empty());
        assert_eq!(store.state().access.len(), 1);
    }
}
