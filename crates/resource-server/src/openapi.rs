//! The resource server's OpenAPI 3.1 description, served at `GET /openapi.json`
//! (docs/openapi.md): the operations of the handlers' `#[utoipa::path]`s.

use shared::openapi::{RequestLimits, SecuritySchemes};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "resource-server",
        description = "The protected API: a token of the auth server, checked by introspection \
            (cached) or as a JWT. Errors are the catalogue's JSON `{\"error\", \
            \"error_description\"}` (docs/errors.md). Any method a path does not list is 405 \
            `method_not_allowed` with `Allow`; an unknown path 404 `not_found`. Metrics are on a \
            port of their own, not here."
    ),
    paths(
        shared::protected::hi,
        shared::protected::me,
        crate::health::health,
        shared::openapi::live,
        crate::health::ready,
        shared::openapi::serve,
    ),
    modifiers(&SecuritySchemes, &RequestLimits),
)]
struct ResourceServerApi;

pub fn description() -> utoipa::openapi::OpenApi {
    ResourceServerApi::openapi()
}
