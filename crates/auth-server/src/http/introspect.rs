//! `POST /oauth/check_token` (Spring's shape) and `POST /oauth2/introspect` (RFC 7662).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::params::Params;
use shared::{ApiError, CheckTokenResponse, ErrorBody, ErrorCode, IntrospectionResponse};
use utoipa::ToSchema;

use super::body::{read_form, refuse_parameters_in_query};
use super::{no_store_json, RequestSettings};
use crate::accounts::PresentedClient;
use crate::introspection::{ActiveToken, Inspection, Introspection, Lookup, TokenKind};

/// Every parameter the introspection and revocation endpoints read.
pub const PARAMS: &[&str] = &["token", "token_type_hint", "client_id", "client_secret"];

/// The form of introspection and revocation requests (the description's; the handlers read
/// [`PARAMS`]). The client authenticates with HTTP Basic or the `client_id` and `client_secret`
/// fields; unknown fields are ignored, repeated ones and any of these in the query string refused.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    token: String,
    /// `access_token` or `refresh_token`: where to look first. Any other value is ignored
    /// (RFC 7009 §2.2.1 lets the server search everywhere).
    #[schema(nullable = false, examples("access_token", "refresh_token"))]
    token_type_hint: Option<String>,
    #[schema(nullable = false)]
    client_id: Option<String>,
    #[schema(nullable = false)]
    client_secret: Option<String>,
}

/// Reads the request and asks: `lookup`, or as the `token_type_hint` says.
async fn inspect(
    request: &HttpRequest,
    payload: web::Payload,
    introspection: &Introspection,
    settings: &RequestSettings,
    lookup: Option<Lookup>,
) -> Result<Inspection, ApiError> {
    refuse_parameters_in_query(request, PARAMS)?;
    let form = read_form(request, payload, settings.max_body_bytes).await?;
    let params = Params::parse(&form, PARAMS)?;
    let authorization = request.headers().get(header::AUTHORIZATION);
    let presented = PresentedClient::from_request(authorization.map(|v| v.as_bytes()), &params)?;
    let token = params.require("token")?;
    let lookup = lookup.unwrap_or(match params.get("token_type_hint") {
        Some("refresh_token") => Lookup::RefreshFirst,
        _ => Lookup::AccessFirst,
    });
    introspection.inspect(&presented, token, lookup).await
}

/// Spring's `CheckTokenEndpoint`: access tokens only; unknown and expired tokens are 400 errors.
#[utoipa::path(
    post,
    path = "/oauth/check_token",
    tag = "introspection",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded",
                 description = "`token_type_hint` is read but changes nothing: access tokens only"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "An active access token, as Spring answered",
         body = CheckTokenResponse),
        (status = 400, description = "invalid_token: \"Token was not recognised\" (unknown, \
         revoked) or \"Token has expired\"; invalid_request: no token, a repeated parameter, \
         parameters in the query string", body = ErrorBody),
        (status = 401, description = "invalid_client", body = ErrorBody,
         headers(("WWW-Authenticate" = String))),
        (status = 403, description = "access_denied: the client may not introspect \
         (`introspection.authorities`, `introspection.clients`)", body = ErrorBody),
        (status = 413, response = shared::openapi::BodyTooLarge),
        (status = 415, response = shared::openapi::NotAForm),
        (status = 503, response = shared::openapi::Unavailable),
    )
)]
pub async fn check_token(
    request: HttpRequest,
    payload: web::Payload,
    introspection: web::Data<Introspection>,
    settings: web::Data<RequestSettings>,
) -> Result<HttpResponse, ApiError> {
    let found = inspect(
        &request,
        payload,
        &introspection,
        &settings,
        Some(Lookup::AccessOnly),
    )
    .await?;
    match found {
        Inspection::Active(ActiveToken { claims, .. }) => no_store_json(&CheckTokenResponse {
            active: true,
            exp: claims.expires_at,
            user_name: claims.user_name,
            authorities: claims.authorities,
            client_id: claims.client_id,
            scope: claims.scope.iter().map(str::to_owned).collect(),
            aud: claims.audience,
        }),
        Inspection::Expired => Err(ApiError::new(ErrorCode::TokenExpired)),
        Inspection::Unknown => Err(ApiError::new(ErrorCode::TokenNotRecognised)),
    }
}

/// RFC 7662 §2: an inactive token is `{"active":false}` and nothing else.
#[utoipa::path(
    post,
    path = "/oauth2/introspect",
    tag = "introspection",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "What the token stands for; exactly `{\"active\":false}` \
         for an unknown, expired or revoked one", body = IntrospectionResponse),
        (status = 400, description = "invalid_request: no token, a repeated parameter, \
         parameters in the query string", body = ErrorBody),
        (status = 401, description = "invalid_client", body = ErrorBody,
         headers(("WWW-Authenticate" = String))),
        (status = 403, description = "access_denied: the client may not introspect",
         body = ErrorBody),
        (status = 413, response = shared::openapi::BodyTooLarge),
        (status = 415, response = shared::openapi::NotAForm),
        (status = 503, response = shared::openapi::Unavailable),
    )
)]
pub async fn introspect(
    request: HttpRequest,
    payload: web::Payload,
    introspection: web::Data<Introspection>,
    settings: web::Data<RequestSettings>,
) -> Result<HttpResponse, ApiError> {
    let ActiveToken {
        kind,
        claims,
        issued_at,
    } = match inspect(&request, payload, &introspection, &settings, None).await? {
        Inspection::Active(active) => active,
        Inspection::Expired | Inspection::Unknown => {
            return no_store_json(&IntrospectionResponse::inactive())
        }
    };
    no_store_json(&IntrospectionResponse {
        active: true,
        scope: Some(claims.scope.to_string()),
        sub: Some(
            claims
                .user_name
                .clone()
                .unwrap_or_else(|| claims.client_id.clone()),
        ),
        client_id: Some(claims.client_id),
        username: claims.user_name,
        // Named either way, so a resource server can never mistake a refresh token for a bearer
        // token.
        token_type: Some(
            match kind {
                TokenKind::Access => "bearer",
                TokenKind::Refresh => "refresh_token",
            }
            .to_owned(),
        ),
        exp: claims.expires_at,
        iat: Some(issued_at),
        aud: claims.audience,
        authorities: claims.authorities,
    })
}
