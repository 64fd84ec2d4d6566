//! What a token request asks for, read from its parameters (RFC 6749 §4.3.2, §4.4.2, §6).

use shared::{ApiError, ErrorCode, Scope};

use crate::domain::grant_type::GrantType;
use shared::params::Params;

/// Every parameter the token endpoint reads; others are ignored.
pub const TOKEN_PARAMS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "username",
    "password",
    "refresh_token",
    "code",
    "redirect_uri",
    "code_verifier",
];

pub enum GrantRequest<'a> {
    ClientCredentials {
        scope: Option<Scope>,
    },
    Password {
        username: &'a str,
        password: &'a str,
        scope: Option<Scope>,
    },
    RefreshToken {
        refresh_token: &'a str,
        scope: Option<Scope>,
    },
    AuthorizationCode {
        code: &'a str,
        redirect_uri: Option<&'a str>,
        code_verifier: Option<&'a str>,
    },
}

impl<'a> GrantRequest<'a> {
    pub fn parse(params: &'a Params) -> Result<Self, ApiError> {
        let grant_type = params
            .get("grant_type")
            .ok_or(ApiError::new(ErrorCode::MissingGrantType))?;
        let scope = requested_scope(params)?;
        match GrantType::parse(grant_type) {
            Some(GrantType::ClientCredentials) => Ok(Self::ClientCredentials { scope }),
            Some(GrantType::Password) => Ok(Self::Password {
                username: params.require("username")?,
                password: params.require("password")?,
                scope,
            }),
            Some(GrantType::RefreshToken) => Ok(Self::RefreshToken {
                refresh_token: params.require("refresh_token")?,
                scope,
            }),
            // RFC 6749 §4.2: the implicit grant never reaches the token endpoint.
            Some(GrantType::Implicit) => Err(ApiError::new(ErrorCode::ImplicitAtTokenEndpoint)),
            Some(GrantType::AuthorizationCode) => Ok(Self::AuthorizationCode {
                code: params.require("code")?,
                redirect_uri: params.get("redirect_uri"),
                code_verifier: params.get("code_verifier"),
            }),
            None => Err(ApiError::new(ErrorCode::UnsupportedGrantType)),
        }
    }

    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::Password { .. } => GrantType::Password,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
        }
    }
}

/// `None` when the request names no scope (absent, empty or only spaces).
fn requested_scope(params: &Params) -> Result<Option<Scope>, ApiError> {
    let Some(value) = params.get("scope") else {
        return Ok(None);
    };
    let scope = Scope::parse(value).map_err(|_| ApiError::new(ErrorCode::MalformedScope))?;
    Ok((!scope.is_empty()).then_some(scope))
}
