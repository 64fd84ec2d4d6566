//! `POST /oauth/check_token` (Spring's shape) and `POST /oauth2/introspect` (RFC 7662). Both need an
//! authenticated client that the introspection policy allows.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use shared::params::Params;
use shared::wire::JSON_UTF8;
use shared::{ApiError, CheckTokenResponse, ErrorCode, IntrospectionResponse};

use super::{body, AppState};
use crate::grants::client_auth::PresentedClient;
use crate::introspection::{self, ActiveToken, Inspection, TokenKind};

const PARAMS: &[&str] = &["token", "token_type_hint", "client_id", "client_secret"];

/// Which store to look in first (RFC 7662 §2.1 `token_type_hint`); both are searched.
#[derive(Clone, Copy)]
enum Lookup {
    AccessOnly,
    AccessFirst,
    RefreshFirst,
}

/// Authenticates the caller, checks it may introspect, and inspects the token.
async fn inspect(
    request: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
    lookup: Option<Lookup>,
) -> Result<Inspection, ApiError> {
    let query = Params::from_query(request, PARAMS).unwrap_or_default();
    if !query.is_empty() {
        return Err(ApiError::new(ErrorCode::ParametersInQuery));
    }
    let form = body::read_form(request, payload, state.max_body_bytes).await?;
    let params = Params::parse(&form, PARAMS)?;
    let authorization = request.headers().get(header::AUTHORIZATION);
    let presented = PresentedClient::from_request(authorization.map(|v| v.as_bytes()), &params)?;
    let token = params.require("token")?.to_owned();
    let lookup = lookup.unwrap_or(match params.get("token_type_hint") {
        Some("refresh_token") => Lookup::RefreshFirst,
        _ => Lookup::AccessFirst,
    });
    // Who asks: from memory when its registration and secret are known, else the long way (a
    // database read, maybe bcrypt) on an elastic thread.
    let client = match state.tokens.client_from_memory(&presented) {
        Some(client) => client,
        None => {
            let tokens = state.tokens.clone();
            web::block(move || tokens.authenticate_client(&presented))
                .await
                .map_err(ApiError::internal)??
        }
    };
    // SECURITY.md 19: introspection requires client *authentication*, which a public client,
    // known by its id alone, cannot give.
    if client.is_public() || !state.introspection.allows(&client) {
        return Err(ApiError::new(ErrorCode::IntrospectionDenied));
    }
    let access = || introspection::access_token_batched(&state.lookups, &token);
    let refresh = || {
        let (store, token) = (state.store.clone(), token.clone());
        state
            .readers
            .run(move || introspection::refresh_token(&store, &token))
    };
    let found = match lookup {
        Lookup::AccessOnly => access().await?,
        Lookup::AccessFirst => match access().await? {
            Inspection::Unknown => refresh().await??,
            found => found,
        },
        Lookup::RefreshFirst => match refresh().await?? {
            Inspection::Unknown => access().await?,
            found => found,
        },
    };
    Ok(found)
}

fn json<T: Serialize>(body: &T) -> Result<HttpResponse, ApiError> {
    let json = serde_json::to_string(body).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::CONTENT_TYPE, JSON_UTF8))
        .body(json))
}

/// Spring's `CheckTokenEndpoint`: access tokens only; unknown and expired tokens are 400 errors.
pub async fn check_token(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    match inspect(&request, payload, &state, Some(Lookup::AccessOnly)).await? {
        Inspection::Active(ActiveToken { claims, .. }) => json(&CheckTokenResponse {
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
pub async fn introspect(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ActiveToken {
        kind,
        claims,
        issued_at,
    } = match inspect(&request, payload, &state, None).await? {
        Inspection::Active(active) => active,
        Inspection::Expired | Inspection::Unknown => {
            return json(&IntrospectionResponse::inactive())
        }
    };
    json(&IntrospectionResponse {
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
