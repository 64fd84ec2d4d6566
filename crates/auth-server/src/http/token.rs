//! `POST /oauth/token` and `POST /oauth2/token` (RFC 6749 §3.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use shared::openapi::{one_of, scope};
use shared::params::Params;
use shared::{ApiError, ErrorBody, TokenResponse};
use utoipa::openapi::Object;
use utoipa::ToSchema;

use super::body::{read_form, refuse_parameters_in_query};
use super::client_address::client_address;
use super::RequestSettings;
use crate::accounts::PresentedClient;
use crate::domain::grant_type::GrantType;
use crate::token_endpoint::{TokenEndpoint, TOKEN_PARAMS};

/// The form of a token request, one shape per grant type. Only the description's: the handler
/// reads the parameters of [`TOKEN_PARAMS`] (a test checks that these fields are the same names).
/// Parameters in the query string are refused (400), as are repeated ones; unknown ones are
/// ignored. A client authenticates with HTTP Basic or with `client_id` and `client_secret`
/// here, never both; a public client with `client_id` alone.
///
/// `Deserialize` is derived only for `#[serde(untagged)]`: how the schema derive is told that the
/// form is one of these shapes, with no wrapper around it.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum TokenRequest {
    AuthorizationCode(AuthorizationCodeGrant),
    Password(PasswordGrant),
    ClientCredentials(ClientCredentialsGrant),
    RefreshToken(RefreshTokenGrant),
}

/// RFC 6749 §4.1.3, with PKCE's `code_verifier` (RFC 7636 §4.5).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct AuthorizationCodeGrant {
    #[schema(schema_with = authorization_code)]
    grant_type: String,
    code: String,
    /// Required, and identical, when the authorization request named one.
    #[schema(nullable = false)]
    redirect_uri: Option<String>,
    /// When the authorization request sent a `code_challenge`.
    #[schema(nullable = false)]
    code_verifier: Option<String>,
    #[schema(nullable = false)]
    client_id: Option<String>,
    #[schema(nullable = false)]
    client_secret: Option<String>,
}

/// RFC 6749 §4.3.2. Failed passwords are counted per account and per address: past
/// `brute_force.*` limits the answer is 429 until the lockout ends.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct PasswordGrant {
    #[schema(schema_with = password)]
    grant_type: String,
    username: String,
    password: String,
    /// Space-separated; none means all of the client's.
    #[schema(nullable = false, schema_with = scope)]
    scope: Option<String>,
    #[schema(nullable = false)]
    client_id: Option<String>,
    #[schema(nullable = false)]
    client_secret: Option<String>,
}

/// RFC 6749 §4.4.2: a confidential client's own token, no refresh token.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ClientCredentialsGrant {
    #[schema(schema_with = client_credentials)]
    grant_type: String,
    /// Space-separated; none means all of the client's.
    #[schema(nullable = false, schema_with = scope)]
    scope: Option<String>,
    #[schema(nullable = false)]
    client_id: Option<String>,
    #[schema(nullable = false)]
    client_secret: Option<String>,
}

/// RFC 6749 §6: never wider than the grant's scope.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct RefreshTokenGrant {
    #[schema(schema_with = refresh_token)]
    grant_type: String,
    refresh_token: String,
    /// Space-separated; at most the original scope.
    #[schema(nullable = false, schema_with = scope)]
    scope: Option<String>,
    #[schema(nullable = false)]
    client_id: Option<String>,
    #[schema(nullable = false)]
    client_secret: Option<String>,
}

fn authorization_code() -> Object {
    one_of(&[GrantType::AuthorizationCode.as_str()])
}

fn password() -> Object {
    one_of(&[GrantType::Password.as_str()])
}

fn client_credentials() -> Object {
    one_of(&[GrantType::ClientCredentials.as_str()])
}

fn refresh_token() -> Object {
    one_of(&[GrantType::RefreshToken.as_str()])
}

#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "token endpoint",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "The tokens; never cached", body = TokenResponse,
         headers(("Cache-Control" = String, description = "`no-store`"),
                 ("Pragma" = String, description = "`no-cache`"))),
        (status = 400, description = "invalid_request (a missing, repeated or malformed \
         parameter, parameters in the query string, two client authentication methods), \
         invalid_grant (bad user credentials, a bad, expired or used code or refresh token, \
         redirect URI mismatch, PKCE failure), invalid_scope, unsupported_grant_type",
         body = ErrorBody),
        (status = 401, description = "invalid_client (unknown client, bad secret, no \
         credentials) or unauthorized_client (a grant the client does not have)",
         body = ErrorBody,
         headers(("WWW-Authenticate" = String, description = "`Basic realm=\"oauth2/client\"`"))),
        (status = 413, response = shared::openapi::BodyTooLarge),
        (status = 415, response = shared::openapi::NotAForm),
        (status = 429, description = "invalid_grant: too many failed passwords for this \
         account or from this address (password grant)", body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds until the lockout ends"))),
        (status = 503, response = shared::openapi::Unavailable),
    )
)]
pub async fn token(
    request: HttpRequest,
    payload: web::Payload,
    endpoint: web::Data<TokenEndpoint>,
    settings: web::Data<RequestSettings>,
) -> Result<HttpResponse, ApiError> {
    refuse_parameters_in_query(&request, TOKEN_PARAMS)?;
    let form = read_form(&request, payload, settings.max_body_bytes).await?;
    let params = Params::parse(&form, TOKEN_PARAMS)?;
    let authorization = request.headers().get(header::AUTHORIZATION);
    let presented = PresentedClient::from_request(authorization.map(|v| v.as_bytes()), &params)?;
    let from = client_address(&request, settings.trust_forwarded_for);
    let token = endpoint.token(&presented, &params, from).await?;
    // §5.1: the response must not be cached.
    super::no_store_json(&token)
}
