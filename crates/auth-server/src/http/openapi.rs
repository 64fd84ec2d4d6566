//! The auth server's OpenAPI 3.1 description, served at `GET /openapi.json` (docs/openapi.md).
//!
//! Each operation is the `#[utoipa::path]` of its handler; this file lists them, and repeats an
//! operation where one handler serves a second path (Spring's `/oauth/token` beside
//! `/oauth2/token`, and so on). `tests/api/openapi.rs` holds the description to the routes.

use shared::openapi::{RequestLimits, SecuritySchemes};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::OpenApi as Description;
use utoipa::OpenApi;

use crate::discovery::{OPENID_WELL_KNOWN, WELL_KNOWN};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "auth-server",
        description = "The OAuth 2.0 authorization server (a replacement for Spring Security \
            OAuth2 2.x): its token, introspection, revocation, discovery, key, OpenID Connect \
            and page endpoints. Errors are the catalogue's JSON `{\"error\", \
            \"error_description\"}` (docs/errors.md), pages' errors HTML pages. Any method a \
            path does not list is 405 `method_not_allowed` with `Allow`; an unknown path 404 \
            `not_found`. Metrics are on a port of their own, not here."
    ),
    paths(
        super::token::token,
        super::introspect::check_token,
        super::introspect::introspect,
        super::revoke::revoke,
        super::discovery::metadata,
        super::keys::jwks,
        super::keys::token_key,
        super::openid::userinfo,
        super::openid::end_session,
        super::openid::end_session_form,
        super::authorize::authorize,
        super::authorize::decide,
        super::authorize::confirm_access,
        super::login::form,
        super::login::sign_in,
        super::login::sign_out,
        super::pages::stylesheet,
        super::pages::form_post_script,
        shared::protected::hi,
        shared::protected::me,
        super::health::health,
        shared::openapi::live,
        super::health::ready,
        shared::openapi::serve,
    ),
    modifiers(&SecuritySchemes, &RequestLimits),
)]
struct AuthServerApi;

/// The description of this server's routes; `issuer_path` is the metadata's location under an
/// issuer with a path (`http::discovery`), when there is one.
pub fn description(issuer_path: Option<&str>) -> Description {
    let mut openapi = AuthServerApi::openapi();
    let (get, post) = (HttpMethod::Get, HttpMethod::Post);
    copy(
        &mut openapi,
        ("/oauth2/token", &post),
        ("/oauth/token", &post),
        "spring",
    );
    copy(
        &mut openapi,
        ("/oauth2/revoke", &post),
        ("/oauth/revoke", &post),
        "spring",
    );
    copy(
        &mut openapi,
        (WELL_KNOWN, &get),
        (OPENID_WELL_KNOWN, &get),
        "openid",
    );
    if let Some(path) = issuer_path {
        copy(
            &mut openapi,
            (WELL_KNOWN, &get),
            (path, &get),
            "issuer_path",
        );
    }
    // OpenID Connect Core §5.3.1: the UserInfo endpoint takes GET and POST alike.
    copy(
        &mut openapi,
        ("/userinfo", &get),
        ("/userinfo", &post),
        "post",
    );
    openapi
}

/// Describes `to` as `from` is (one handler serves both), with `from`'s operation id and
/// `suffix`, so that ids stay unique.
fn copy(
    openapi: &mut Description,
    from: (&str, &HttpMethod),
    to: (&str, &HttpMethod),
    suffix: &str,
) {
    let found = openapi
        .paths
        .get_path_item(from.0)
        .and_then(|item| match from.1 {
            HttpMethod::Get => item.get.clone(),
            HttpMethod::Post => item.post.clone(),
            _ => None,
        });
    let Some(mut operation) = found else {
        return;
    };
    operation.operation_id = operation.operation_id.map(|id| format!("{id}_{suffix}"));
    openapi
        .paths
        .add_path_operation(to.0, vec![to.1.clone()], operation);
}
