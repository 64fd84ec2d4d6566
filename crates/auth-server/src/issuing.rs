//! Minting what this server hands out, for every grant: access and refresh tokens (RFC 6749 §5.1)
//! and authorization codes (§4.1.2). Values go to the client; only their hashes are stored. Every
//! grant mints through [`Issuer::mint`] and answers with the [`TokenResponse`] it builds.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use shared::jwt_claims::AccessTokenClaims;
use shared::{Scope, TokenResponse};

use crate::db::codes::CodeRecord;
use crate::db::tokens::{
    AccessTokenRecord, FamilyRef, NewTokens, RefreshChange, RefreshTokenRecord,
};
use crate::domain::client::{AccessTokenType, Client};
use crate::domain::clock;
use crate::domain::grant_type::GrantType;
use crate::domain::token_value::{self, TokenFormat};
use crate::domain::user::User;
use crate::id_token::{IdTokenFor, SignIn};
use crate::signing::{KeyRing, SigningError};

/// On whose behalf a token acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `None` for a client acting for itself.
    pub user_name: Option<String>,
    pub authorities: Vec<String>,
}

impl Subject {
    /// The client acts for itself, with its own authorities (client_credentials).
    pub fn client(client: &Client) -> Self {
        Self {
            user_name: None,
            authorities: client.authorities.clone(),
        }
    }

    /// A resource owner, with the authorities the user has now.
    pub fn user(user: &User) -> Self {
        Self {
            user_name: Some(user.username.clone()),
            authorities: user.authorities.clone(),
        }
    }
}

/// What a new access token stands for.
pub struct Grant<'a> {
    pub client: &'a Client,
    pub subject: &'a Subject,
    pub scope: &'a Scope,
    pub grant_type: GrantType,
}

/// Which grant family the new tokens join.
pub enum Joining<'a> {
    /// A fresh authorization.
    NewGrant,
    /// One that exists (a code's, a refresh token's): stored only while it is not revoked.
    Family(&'a str),
}

/// What the answer does with refresh tokens.
pub enum RefreshPlan<'a> {
    None,
    /// A first refresh token, with the access token's scope.
    Issue,
    /// The presented one again (Spring's `reuseRefreshToken`); it must still exist when stored.
    Keep {
        value: &'a str,
        record: &'a RefreshTokenRecord,
    },
    /// The presented one is burnt and a new one with exactly its scope replaces it (§6).
    Rotate {
        record: &'a RefreshTokenRecord,
    },
}

/// Tokens minted for one answer: what to store, and what to answer once stored.
#[derive(Debug)]
pub struct Issued {
    pub response: TokenResponse,
    pub tokens: NewTokens,
    /// For an OpenID Connect grant, who signed in: the ID token is added once the tokens are
    /// stored.
    pub sign_in: Option<SignIn>,
}

impl AsRef<NewTokens> for Issued {
    fn as_ref(&self) -> &NewTokens {
        &self.tokens
    }
}

/// A new authorization code: the value for the redirect, the record for the store.
pub struct MintedCode {
    pub value: String,
    pub record: CodeRecord,
}

/// What a code is bound to (§4.1.3, RFC 7636 §4.4).
pub struct CodeGrant<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub scope: &'a Scope,
    /// As the authorization request named it; `None` when it relied on the one registered.
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// OpenID Connect: the request's `nonce`, and when the user signed in, for the ID token.
    pub nonce: Option<String>,
    pub auth_time: i64,
}

/// The token policy (`tokens.*`), applied to every grant.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TokenPolicy {
    pub format: TokenFormat,
    /// For clients whose `additional_information` does not say.
    pub access_token_type: AccessTokenType,
    /// Seconds, for clients whose `access_token_validity` / `refresh_token_validity` is NULL.
    pub access_token_validity: i64,
    pub refresh_token_validity: i64,
    /// Whether refreshes rotate when the client does not say.
    pub rotate_refresh_tokens: bool,
    /// Seconds an authorization code stays redeemable.
    pub code_validity: i64,
}

#[derive(Clone)]
pub struct Issuer {
    policy: TokenPolicy,
    /// What JWT access tokens are signed with.
    keys: Arc<KeyRing>,
}

impl Issuer {
    pub fn new(policy: TokenPolicy, keys: Arc<KeyRing>) -> Self {
        Self { policy, keys }
    }

    /// Whether refreshes rotate when the client does not say (`tokens.rotate_refresh_tokens`).
    pub fn rotates_by_default(&self) -> bool {
        self.policy.rotate_refresh_tokens
    }

    /// An access token for `grant` and, as `refresh` says, a refresh token; nothing is stored yet.
    /// Fails only when a JWT is due and no key can sign it.
    pub fn mint(
        &self,
        grant: &Grant<'_>,
        joining: Joining<'_>,
        refresh: RefreshPlan<'_>,
    ) -> Result<Issued, SigningError> {
        let now = clock::now();
        let client = grant.client;
        let family = match joining {
            // Time-ordered, so the family indexes grow at their end instead of everywhere.
            Joining::NewGrant => FamilyRef::New {
                family_id: uuid::Uuid::now_v7().to_string(),
                client_id: client.client_id.clone(),
                user_name: grant.subject.user_name.clone(),
            },
            Joining::Family(id) => FamilyRef::Existing(id.to_owned()),
        };
        let family_id = match &family {
            FamilyRef::New { family_id, .. } | FamilyRef::Existing(family_id) => family_id.clone(),
        };
        let (refresh_value, change) = match refresh {
            RefreshPlan::None => (None, RefreshChange::None),
            RefreshPlan::Issue => {
                let (value, record) = self.mint_refresh(grant, grant.scope, &family_id, now);
                (Some(value), RefreshChange::Insert(record))
            }
            RefreshPlan::Keep { value, record } => (
                Some(value.to_owned()),
                RefreshChange::Keep {
                    token_id: record.token_id.clone(),
                },
            ),
            RefreshPlan::Rotate { record } => {
                let granted = Scope::from_comma_list(&record.scope);
                let (value, next) = self.mint_refresh(grant, &granted, &family_id, now);
                (
                    Some(value),
                    RefreshChange::Rotate {
                        replaces: record.token_id.clone(),
                        next,
                    },
                )
            }
        };
        let refresh_token_id = match &change {
            RefreshChange::None => None,
            RefreshChange::Insert(record) | RefreshChange::Rotate { next: record, .. } => {
                Some(record.token_id.clone())
            }
            RefreshChange::Keep { token_id } => Some(token_id.clone()),
        };
        let validity = client
            .access_token_validity
            .unwrap_or(self.policy.access_token_validity);
        let expires_at = clock::expiry(now, validity);
        let value = match client
            .access_token_type()
            .unwrap_or(self.policy.access_token_type)
        {
            AccessTokenType::Opaque => token_value::generate(self.policy.format),
            // Stored like any token, by the hash of the whole value: revocation, introspection
            // and the purge treat it as they treat the others.
            AccessTokenType::Jwt => self.keys.sign(&self.claims(grant, now, expires_at), now)?,
        };
        let access = AccessTokenRecord {
            token_id: token_value::hash(&value),
            authentication_id: authentication_id(grant),
            user_name: grant.subject.user_name.clone(),
            client_id: client.client_id.clone(),
            refresh_token: refresh_token_id,
            family_id,
            grant_type: grant.grant_type.as_str().to_owned(),
            scope: grant.scope.to_comma_list(),
            authorities: grant.subject.authorities.join(","),
            resource_ids: client.resource_ids.join(","),
            issued_at: now,
            expires_at,
        };
        let response = TokenResponse {
            access_token: value,
            token_type: "bearer".to_owned(),
            refresh_token: refresh_value,
            expires_in: access.expires_at.map(|at| (at - now).max(0)),
            scope: grant.scope.to_string(),
            id_token: None,
        };
        Ok(Issued {
            response,
            tokens: NewTokens {
                family,
                refresh: change,
                access,
                now,
            },
            sign_in: None,
        })
    }

    /// What a JWT access token says (shared::jwt_claims): Spring's claims, and RFC 9068's.
    fn claims(&self, grant: &Grant<'_>, now: i64, expires_at: Option<i64>) -> AccessTokenClaims {
        let subject = grant.subject;
        AccessTokenClaims {
            iss: Some(self.keys.issuer().to_owned()).filter(|iss| !iss.is_empty()),
            sub: Some(
                subject
                    .user_name
                    .clone()
                    .unwrap_or_else(|| grant.client.client_id.clone()),
            ),
            user_name: subject.user_name.clone(),
            authorities: subject.authorities.clone(),
            scope: grant.scope.clone(),
            client_id: grant.client.client_id.clone(),
            aud: grant.client.resource_ids.clone(),
            exp: expires_at,
            nbf: None,
            iat: Some(now),
            jti: Some(uuid::Uuid::now_v7().to_string()),
        }
    }

    fn mint_refresh(
        &self,
        grant: &Grant<'_>,
        scope: &Scope,
        family_id: &str,
        now: i64,
    ) -> (String, RefreshTokenRecord) {
        let value = token_value::generate(self.policy.format);
        let validity = grant
            .client
            .refresh_token_validity
            .unwrap_or(self.policy.refresh_token_validity);
        let record = RefreshTokenRecord {
            token_id: token_value::hash(&value),
            family_id: family_id.to_owned(),
            client_id: grant.client.client_id.clone(),
            user_name: grant.subject.user_name.clone(),
            scope: scope.to_comma_list(),
            authorities: grant.subject.authorities.join(","),
            resource_ids: grant.client.resource_ids.join(","),
            issued_at: now,
            expires_at: clock::expiry(now, validity),
            rotated_at: None,
        };
        (value, record)
    }

    /// What tokens are signed with.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// An ID token (see `openid::id_token`), signed with a published key.
    pub fn id_token(&self, request: &IdTokenFor<'_>) -> Result<String, SigningError> {
        self.keys.sign_id_token(request.now, |algorithm| {
            request.claims(self.keys.issuer(), algorithm)
        })
    }

    /// How long an ID token for `client` is valid: as long as its access tokens, and an hour when
    /// those never expire (an ID token must).
    pub fn id_token_validity(&self, client: &Client) -> i64 {
        Some(
            client
                .access_token_validity
                .unwrap_or(self.policy.access_token_validity),
        )
        .filter(|seconds| *seconds > 0)
        .unwrap_or(3600)
    }

    /// A single-use code for a new grant family, valid `tokens.code_validity` seconds.
    pub fn mint_code(&self, grant: CodeGrant<'_>) -> MintedCode {
        let now = clock::now();
        // Codes are always 256 random bits, whatever `tokens.format` says of tokens.
        let value = token_value::generate(TokenFormat::Random);
        let record = CodeRecord {
            code: token_value::hash(&value),
            family_id: uuid::Uuid::now_v7().to_string(),
            client_id: grant.client.client_id.clone(),
            user_name: grant.user.username.clone(),
            redirect_uri: grant.redirect_uri,
            scope: grant.scope.to_comma_list(),
            authorities: grant.user.authorities.join(","),
            code_challenge: grant.code_challenge,
            code_challenge_method: grant.code_challenge_method,
            issued_at: now,
            expires_at: now + self.policy.code_validity,
            used_at: None,
            nonce: grant.nonce,
            auth_time: Some(grant.auth_time),
        };
        MintedCode { value, record }
    }
}

/// Spring's `authentication_id` was an MD5 of client, user and scope; ours is a SHA-256 of the same.
fn authentication_id(grant: &Grant<'_>) -> String {
    let mut digest = Sha256::new();
    digest.update(grant.client.client_id.as_bytes());
    digest.update([0]);
    digest.update(
        grant
            .subject
            .user_name
            .as_deref()
            .unwrap_or_default()
            .as_bytes(),
    );
    digest.update([0]);
    digest.update(grant.scope.to_string().as_bytes());
    hex::encode(digest.finalize())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::client::tests::client;

    fn issuer() -> Issuer {
        Issuer::new(crate::settings::Settings::defaults().tokens, no_keys())
    }

    /// Issuing opaque tokens needs no key.
    pub fn no_keys() -> Arc<KeyRing> {
        Arc::new(KeyRing::new(
            Vec::new(),
            crate::signing::TokenTyp::Jwt,
            None,
        ))
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    #[test]
    fn the_answer_names_what_is_stored_and_only_hashes_are_stored() {
        let client = client("dev", |c| c.access_token_validity = Some(3600));
        let subject = Subject {
            user_name: Some("admin".into()),
            authorities: vec!["ROLE_USER".into()],
        };
        let grant = Grant {
            client: &client,
            subject: &subject,
            scope: &scope("read app"),
            grant_type: GrantType::Password,
        };
        let issued = issuer()
            .mint(&grant, Joining::NewGrant, RefreshPlan::Issue)
            .unwrap();
        let (response, tokens) = (&issued.response, &issued.tokens);
        assert_eq!(response.token_type, "bearer");
        assert_eq!(response.expires_in, Some(3600));
        assert_eq!(response.scope, "app read");
        assert_eq!(
            tokens.access.token_id,
            token_value::hash(&response.access_token)
        );
        let RefreshChange::Insert(refresh) = &tokens.refresh else {
            panic!("a new refresh token: {:?}", tokens.refresh)
        };
        let refresh_value = response.refresh_token.as_deref().unwrap();
        assert_eq!(refresh.token_id, token_value::hash(refresh_value));
        assert_eq!(
            tokens.access.refresh_token.as_ref(),
            Some(&refresh.token_id)
        );
        assert_eq!(refresh.family_id, tokens.access.family_id);
        assert!(!format!("{tokens:?}").contains(&response.access_token));
        assert!(!format!("{tokens:?}").contains(refresh_value));
    }

    #[test]
    fn a_rotation_keeps_the_grant_scope_while_the_access_token_may_narrow_it() {
        let client = client("dev", |_| {});
        let subject = Subject::client(&client);
        let old = issuer()
            .mint(
                &Grant {
                    client: &client,
                    subject: &subject,
                    scope: &scope("app read"),
                    grant_type: GrantType::Password,
                },
                Joining::NewGrant,
                RefreshPlan::Issue,
            )
            .unwrap();
        let RefreshChange::Insert(record) = &old.tokens.refresh else {
            panic!()
        };
        let next = issuer()
            .mint(
                &Grant {
                    client: &client,
                    subject: &subject,
                    scope: &scope("read"),
                    grant_type: GrantType::RefreshToken,
                },
                Joining::Family(&record.family_id),
                RefreshPlan::Rotate { record },
            )
            .unwrap();
        let RefreshChange::Rotate {
            replaces,
            next: new,
        } = &next.tokens.refresh
        else {
            panic!()
        };
        assert_eq!(replaces, &record.token_id);
        assert_eq!(new.scope, "app,read");
        assert_eq!(next.response.scope, "read");
        assert_eq!(
            next.tokens.family,
            FamilyRef::Existing(record.family_id.clone())
        );
    }
}
