//! The CodeMessage catalogue: every failure either server can answer, listed once.
//!
//! Each entry fixes the numeric code (logged, and sent as `X-Error-Code`), the HTTP status, the OAuth
//! `error` string (RFC 6749 §5.2, RFC 6750 §3.1) and the `error_description`. Handlers never build an
//! error body themselves; they name an entry. Descriptions are fixed text: the only substitution
//! (`{}`) takes a `&'static str` chosen by the code, never request input, so nothing a caller sends
//! is reflected into an error.

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeMessage {
    pub code: u16,
    pub status: u16,
    pub error: &'static str,
    pub message: &'static str,
    pub challenge: Challenge,
}

/// The `WWW-Authenticate` scheme a 401 answer carries (RFC 7235 §3.1 requires one on every 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    None,
    /// Client authentication at the token endpoint (RFC 6749 §5.2).
    Basic,
    /// Resource access (RFC 6750 §3).
    Bearer,
}

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $variant:ident = ($code:expr, $status:expr, $error:expr, $message:expr, $challenge:ident) ),* $(,)?) => {
        /// A catalogue entry, by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $(#[$doc])* $variant ),* }

        impl ErrorCode {
            /// Every entry, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub const fn info(self) -> CodeMessage {
                match self {
                    $(ErrorCode::$variant => CodeMessage {
                        code: $code,
                        status: $status,
                        error: $error,
                        message: $message,
                        challenge: Challenge::$challenge,
                    }),*
                }
            }
        }
    };
}

catalogue! {
    // 1xxx: the request itself is malformed.
    /// Bad percent-encoding or bytes that are not UTF-8 in a form or query.
    MalformedBody = (1001, 400, "invalid_request", "Malformed request: parameters must be UTF-8 and form-encoded", None),
    UnsupportedContentType = (1002, 415, "invalid_request", "Content-Type must be application/x-www-form-urlencoded", None),
    BodyTooLarge = (1003, 413, "invalid_request", "Request body too large", None),
    MissingParameter = (1004, 400, "invalid_request", "Missing parameter: {}", None),
    /// RFC 6749 §3.1, §3.2: parameters must not be included more than once.
    RepeatedParameter = (1005, 400, "invalid_request", "Repeated parameter: {}", None),
    /// Credentials in a URL end up in access logs and browser history.
    ParametersInQuery = (1006, 400, "invalid_request", "Parameters must be sent in the request body, not the query string", None),
    MissingGrantType = (1007, 400, "invalid_request", "Missing grant type", None),
    /// RFC 6749 §2.3: a client must not use more than one authentication method in a request.
    MultipleClientAuthMethods = (1008, 400, "invalid_request", "Client authentication must use only one method", None),
    ClientIdMismatch = (1009, 400, "invalid_request", "client_id does not match the authenticated client", None),
    MethodNotAllowed = (1010, 405, "method_not_allowed", "Request method not supported", None),
    NotFound = (1011, 404, "not_found", "No such endpoint", None),
    ParameterTooLong = (1012, 400, "invalid_request", "Parameter too long: {}", None),
    TooManyParameters = (1013, 400, "invalid_request", "Too many parameters", None),
    /// RFC 9110 §15.5.15.
    UriTooLong = (1014, 414, "invalid_request", "Request URI too long", None),
    /// RFC 6585 §5.
    HeadersTooLarge = (1015, 431, "invalid_request", "Request header fields too large", None),
    /// RFC 9110 §15.5.9: the body did not arrive within `server.body_timeout_ms`; the connection
    /// is closed.
    BodyTimeout = (1016, 408, "invalid_request", "Request body not received in time", None),

    // 2xxx: who the client is, and what it may do.
    BadClientCredentials = (2001, 401, "invalid_client", "Bad client credentials", Basic),
    ClientAuthenticationRequired = (2002, 401, "invalid_client", "Client authentication is required", Basic),
    MalformedClientCredentials = (2003, 401, "invalid_client", "Malformed client credentials in the Authorization header", Basic),
    UnauthorizedGrantType = (2004, 401, "unauthorized_client", "Unauthorized grant type: {}", Basic),
    /// RFC 6749 §4.4: client_credentials needs a confidential client; so does the password grant here.
    PublicClientNotAllowed = (2005, 401, "unauthorized_client", "Public clients may not use this grant type", Basic),

    // 3xxx: the grant and its scope.
    BadCredentials = (3001, 400, "invalid_grant", "Bad credentials", None),
    UserDisabled = (3002, 400, "invalid_grant", "User is disabled", None),
    InvalidRefreshToken = (3003, 400, "invalid_grant", "Invalid refresh token", None),
    ExpiredRefreshToken = (3004, 400, "invalid_grant", "Invalid refresh token (expired)", None),
    WrongClientForRefreshToken = (3005, 400, "invalid_grant", "Wrong client for this refresh token", None),
    /// RFC 9700 §4.14.2: a rotated refresh token presented again means it leaked.
    RefreshTokenReused = (3006, 400, "invalid_grant", "Refresh token already used; the grant has been revoked", None),
    ImplicitAtTokenEndpoint = (3007, 400, "invalid_grant", "Implicit grant type not supported from token endpoint", None),
    UnsupportedGrantType = (3008, 400, "unsupported_grant_type", "Unsupported grant type", None),
    InvalidAuthorizationCode = (3009, 400, "invalid_grant", "Invalid authorization code", None),
    /// RFC 6749 §4.1.2: a code used twice revokes the tokens issued with it.
    AuthorizationCodeReplayed = (3010, 400, "invalid_grant", "Authorization code already used; the tokens issued with it are revoked", None),
    ExpiredAuthorizationCode = (3011, 400, "invalid_grant", "Authorization code expired", None),
    CodeIssuedToAnotherClient = (3012, 400, "invalid_grant", "Authorization code was issued to another client", None),
    /// RFC 6749 §4.1.3 (Spring's text).
    RedirectUriMismatch = (3013, 400, "invalid_grant", "Redirect URI mismatch.", None),
    /// RFC 7636 §4.6: wrong, missing or malformed code_verifier.
    PkceVerificationFailed = (3014, 400, "invalid_grant", "PKCE verification failed", None),
    /// A verifier for a code issued without a challenge: a downgrade attempt.
    UnexpectedCodeVerifier = (3015, 400, "invalid_grant", "code_verifier sent but the authorization request had no code_challenge", None),
    UnsupportedResponseType = (3016, 400, "unsupported_response_type", "Unsupported response type", None),
    /// RFC 9700 §2.1.1: public clients must use PKCE.
    PkceRequired = (3017, 400, "invalid_request", "Public clients must use PKCE (code_challenge)", None),
    MalformedCodeChallenge = (3018, 400, "invalid_request", "Malformed code_challenge or code_challenge_method", None),
    /// `security.pkce_plain_allowed = false`: RFC 9700 §2.1.1 recommends S256.
    PkcePlainRefused = (3020, 400, "invalid_request", "code_challenge_method plain is not allowed; use S256", None),
    /// OpenID Connect Core §3.2.2.1, §3.3.2.11: implicit and hybrid requests must send a nonce.
    NonceRequired = (3021, 400, "invalid_request", "nonce is required for this response_type", None),
    /// OIDC Core §3.1.2.1: `none` stands alone.
    InvalidPrompt = (3022, 400, "invalid_request", "Invalid prompt: none cannot be combined with other values", None),
    /// OAuth 2.0 Multiple Response Type Encoding Practices §2.1: tokens never go in the query.
    InvalidResponseMode = (3023, 400, "invalid_request", "Unsupported response_mode for this response_type", None),
    MalformedMaxAge = (3024, 400, "invalid_request", "max_age must be a number of seconds", None),
    /// OIDC Core §3.2.2.1: an ID token is only for a request with scope `openid`.
    OpenIdScopeRequired = (3027, 400, "invalid_scope", "This response_type needs the openid scope", None),
    /// OIDC Core §3.1.2.6: `prompt=none` and nobody usable is signed in (or too long ago).
    LoginRequired = (3025, 400, "login_required", "The user must sign in", None),
    /// OIDC Core §3.1.2.6: `prompt=none` and the user has not approved these scopes.
    ConsentRequired = (3026, 400, "consent_required", "The user must approve this request", None),
    /// The user pressed Deny, or approved no scope (Spring's text).
    AccessDenied = (3019, 403, "access_denied", "User denied access", None),
    InvalidScope = (3101, 400, "invalid_scope", "Invalid scope: not allowed for this client", None),
    EmptyScope = (3102, 400, "invalid_scope", "Empty scope (either the client or the user is not allowed the requested scopes)", None),
    ScopeWiderThanGrant = (3103, 400, "invalid_scope", "Scope is wider than the original grant", None),
    /// RFC 6749 §3.3: scope tokens are printable ASCII without space, `"` or `\`.
    MalformedScope = (3104, 400, "invalid_scope", "Malformed scope", None),
    /// docs/security.md, item 17: too many failed password checks for this account or from this
    /// address. Still `invalid_grant` for OAuth clients; the 429 and Retry-After say when to retry.
    TooManyFailedSignIns = (3105, 429, "invalid_grant", "Too many failed sign-in attempts; try again later", None),

    // 4xxx: resource access (RFC 6750) and token introspection (RFC 7662, Spring's check_token).
    /// RFC 6750 §3.1: no token at all; the challenge carries no error code.
    Unauthorized = (4001, 401, "unauthorized", "Full authentication is required to access this resource", Bearer),
    InvalidAccessToken = (4002, 401, "invalid_token", "Invalid access token", Bearer),
    ExpiredAccessToken = (4003, 401, "invalid_token", "Access token expired", Bearer),
    /// The token's client lists resource ids (its audience) and this server's is not among them.
    WrongAudience = (4004, 401, "invalid_token", "Invalid token does not contain resource id ({})", Bearer),
    InsufficientScope = (4005, 403, "insufficient_scope", "Insufficient scope for this resource", Bearer),
    /// RFC 6750 §2: a token may be sent in one way only.
    TokenSentTwice = (4006, 400, "invalid_request", "The access token must be sent in exactly one way", None),
    /// The client authenticated but may not introspect tokens.
    IntrospectionDenied = (4007, 403, "access_denied", "Access is denied", None),
    /// Spring's check_token answers for a token it does not know, or one that expired.
    TokenNotRecognised = (4008, 400, "invalid_token", "Token was not recognised", None),
    TokenExpired = (4009, 400, "invalid_token", "Token has expired", None),
    /// The resource server could not ask the introspection endpoint, or has no key for a JWT: it
    /// fails closed.
    TokenValidationUnavailable = (4010, 503, "temporarily_unavailable", "Token validation is temporarily unavailable; try again later", None),

    // 6xxx: the login and approval pages. These are shown to the user, never sent to a client.
    /// RFC 6749 §4.1.2.1: without a known client there is nobody to redirect to.
    UnknownClient = (6001, 400, "invalid_request", "Unknown client: the client_id is missing or not registered", None),
    /// docs/security.md, item 2: never redirect to an unvalidated URI.
    InvalidRedirectUri = (6002, 400, "invalid_request", "The redirect_uri is missing, ambiguous or not registered for this client", None),
    InvalidCsrfToken = (6003, 403, "access_denied", "Invalid or missing CSRF token; reload the page and try again", None),
    /// Also when the approval form names another request than the one waiting (a stale tab, or a
    /// forged navigation that replaced it).
    NoPendingAuthorization = (6004, 400, "invalid_request", "No authorization request is waiting for this approval; start again from the application", None),
    /// OpenID Connect RP-Initiated Logout §2: an exact match with one registered for the client.
    InvalidPostLogoutRedirectUri = (6005, 400, "invalid_request", "The post_logout_redirect_uri is not registered for this client", None),
    /// The hint must be an ID token this server signed (it may have expired).
    InvalidIdTokenHint = (6006, 400, "invalid_request", "The id_token_hint is not an ID token issued by this server", None),

    // 5xxx: our side.
    ServerError = (5000, 500, "server_error", "Internal server error", None),
    /// The database did not answer in time; nothing was issued or changed.
    StorageUnavailable = (5001, 503, "temporarily_unavailable", "The service is temporarily unavailable; try again later", None),
    /// The bcrypt pool's queue is full: sheds a password flood instead of queueing it forever.
    PasswordChecksBusy = (5002, 503, "temporarily_unavailable", "Too many password checks at once; try again shortly", None),
    /// No JWT signing key could be had (none configured, or the database's could not be opened).
    SigningKeyUnavailable = (5003, 503, "temporarily_unavailable", "No key is available to sign tokens; try again later", None),
    /// docs/security.md, item 35: the store that counts failed sign-ins for every replica (Redis)
    /// is down or slow. Password checks stop rather than go on uncounted, which would give a
    /// guesser unlimited tries; nothing else depends on it.
    SignInLimitsUnavailable = (5004, 503, "temporarily_unavailable", "The sign-in limit store does not answer; try again later", None),
}

impl ErrorCode {
    /// The catalogue as the Markdown table docs/errors.md reproduces.
    pub fn markdown_table() -> String {
        let mut table =
            String::from("| code | HTTP | error | error_description |\n|---|---|---|---|\n");
        for entry in Self::ALL.iter().map(|c| c.info()) {
            table.push_str(&format!(
                "| {} | {} | `{}` | {} |\n",
                entry.code, entry.status, entry.error, entry.message
            ));
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique() {
        let mut seen = HashSet::new();
        for entry in ErrorCode::ALL.iter().map(|c| c.info()) {
            assert!(seen.insert(entry.code), "code {} listed twice", entry.code);
        }
    }

    #[test]
    fn descriptions_are_safe_for_json_and_headers() {
        for entry in ErrorCode::ALL.iter().map(|c| c.info()) {
            // RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
            assert!(
                entry
                    .message
                    .bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
                "{} has a character RFC 6749 forbids",
                entry.code
            );
            assert!(entry.message.matches("{}").count() <= 1);
        }
    }

    #[test]
    fn every_401_names_a_challenge() {
        for entry in ErrorCode::ALL.iter().map(|c| c.info()) {
            if entry.status == 401 {
                assert_ne!(entry.challenge, Challenge::None, "{}", entry.code);
            }
            // RFC 6750 §3.1: insufficient_scope is a 403 that still names the Bearer scheme.
            if entry.challenge != Challenge::None {
                assert!(
                    entry.status == 401 || entry.error == "insufficient_scope",
                    "{}",
                    entry.code
                );
            }
        }
    }

    #[test]
    fn spring_descriptions_are_kept_where_clients_match_on_them() {
        assert_eq!(
            ErrorCode::BadClientCredentials.info().message,
            "Bad client credentials"
        );
        assert_eq!(ErrorCode::BadCredentials.info().message, "Bad credentials");
        assert_eq!(
            ErrorCode::MissingGrantType.info().message,
            "Missing grant type"
        );
    }
}

#[cfg(test)]
mod docs {
    #[test]
    fn the_docs_reproduce_the_catalogue() {
        let docs = include_str!("../../../docs/errors.md");
        let table = super::ErrorCode::markdown_table();
        assert!(
            docs.contains(&table),
            "docs/errors.md must contain the catalogue table exactly (scripts/errors-table.py \
             writes it); it is:\n\n{table}"
        );
    }
}
