//! RFC 6749 §6: a refresh token exchanged for a new access token.
//!
//! By default the refresh token is kept (Spring's `reuseRefreshToken`). With rotation on, each
//! refresh burns the presented token and returns a new one; a burnt token presented again means it
//! leaked, and the whole family is revoked (RFC 9700 §4.14.2).

use shared::{ApiError, ErrorCode, Scope, TokenResponse};

use super::issue::{response, Subject};
use super::TokenService;
use crate::db::tokens::{self, RefreshTokenRecord};
use crate::db::{users, write_transaction, Write};
use crate::domain::client::Client;
use crate::domain::clock;
use crate::domain::grant_type::GrantType;
use crate::introspection::find_refresh_by_value;

enum Rotation {
    Rotated,
    AlreadyRotated,
    FamilyRevoked,
}

impl TokenService {
    pub(super) fn refresh_token(
        &self,
        client: &Client,
        presented: &str,
        requested: Option<Scope>,
    ) -> Result<TokenResponse, ApiError> {
        let now = clock::now();
        let record = find_refresh_by_value(&mut *self.conn()?, presented)?
            .ok_or(ApiError::new(ErrorCode::InvalidRefreshToken))?;
        let token_id = record.token_id.clone();
        if record.client_id != client.client_id {
            return Err(ApiError::new(ErrorCode::WrongClientForRefreshToken));
        }
        if record.rotated_at.is_some() {
            return Err(self.revoke_after_reuse(&record));
        }
        if clock::is_expired(record.expires_at, now) {
            return Err(ApiError::new(ErrorCode::ExpiredRefreshToken));
        }
        // Every check comes before anything is written: a refused request leaves the client's
        // refresh token as it was.
        let granted = Scope::from_comma_list(&record.scope);
        let scope = match requested {
            None => granted.clone(),
            Some(narrower) if narrower.is_subset_of(&granted) => narrower,
            Some(_) => return Err(ApiError::new(ErrorCode::ScopeWiderThanGrant)),
        };
        // A client whose registration was narrowed since cannot keep the old scope alive.
        if !scope.is_subset_of(&client.scope) {
            return Err(ApiError::new(ErrorCode::InvalidScope));
        }
        let subject = self.current_subject(client, &record)?;
        let rotate = client
            .rotate_refresh_tokens()
            .unwrap_or(self.policy.rotate_refresh_tokens);
        let family = &record.family_id;

        if !rotate {
            let access = self.mint_access(
                client,
                &subject,
                &scope,
                GrantType::RefreshToken,
                family,
                Some(token_id.clone()),
                now,
            );
            let token_id = token_id.clone();
            let (family, record) = (family.clone(), access.record.clone());
            let stored = self.writer.write(Write::Any(Box::new(move |conn| {
                // The token may have been revoked since it was read.
                if !tokens::lock_family(conn, &family, now)?
                    || tokens::find_refresh(conn, &token_id)?.is_none()
                {
                    return Ok(false);
                }
                tokens::insert_access(conn, &record)?;
                Ok(true)
            })))?;
            if !stored {
                return Err(ApiError::new(ErrorCode::InvalidRefreshToken));
            }
            return Ok(response(access, Some(presented.to_owned()), now));
        }

        // §6: a new refresh token has exactly the scope of the one it replaces.
        let next = self.mint_refresh(client, &subject, &granted, family, now);
        let access = self.mint_access(
            client,
            &subject,
            &scope,
            GrantType::RefreshToken,
            family,
            Some(next.record.token_id.clone()),
            now,
        );
        let rotation = write_transaction(&mut *self.conn()?, |conn| {
            if !tokens::lock_family(conn, family, now)? {
                return Ok(Rotation::FamilyRevoked);
            }
            if !tokens::claim_for_rotation(conn, &token_id, now)? {
                return Ok(Rotation::AlreadyRotated);
            }
            tokens::insert_refresh(conn, &next.record)?;
            tokens::insert_access(conn, &access.record)?;
            Ok(Rotation::Rotated)
        })?;
        match rotation {
            Rotation::Rotated => Ok(response(access, Some(next.value), now)),
            Rotation::FamilyRevoked => Err(ApiError::new(ErrorCode::InvalidRefreshToken)),
            // Another request rotated it between our read and our write: the same token was
            // presented twice.
            Rotation::AlreadyRotated => Err(self.revoke_after_reuse(&record)),
        }
    }

    /// Who the new token speaks for now: a user must still exist and be enabled, and gets the
    /// authorities it has today, as Spring's refresh re-read the user.
    fn current_subject(
        &self,
        client: &Client,
        record: &RefreshTokenRecord,
    ) -> Result<Subject, ApiError> {
        let Some(username) = &record.user_name else {
            return Ok(Subject {
                user_name: None,
                authorities: client.authorities.clone(),
            });
        };
        let user = users::find(&mut *self.conn()?, username)?
            .filter(|u| !u.authorities.is_empty())
            .ok_or(ApiError::new(ErrorCode::InvalidRefreshToken))?;
        if !user.enabled {
            return Err(ApiError::new(ErrorCode::UserDisabled));
        }
        Ok(Subject {
            user_name: Some(user.username),
            authorities: user.authorities,
        })
    }

    /// Revokes everything of the family and says why. If the revocation cannot be stored, the
    /// answer is 503, never a claim that it happened.
    fn revoke_after_reuse(&self, record: &RefreshTokenRecord) -> ApiError {
        let revoked = self.conn().and_then(|mut conn| {
            Ok(tokens::revoke_family(
                &mut conn,
                &record.family_id,
                clock::now(),
            )?)
        });
        match revoked {
            Ok(count) => {
                log::warn!(
                    "client {}: a rotated refresh token was presented again; revoked {count} tokens of its grant",
                    record.client_id
                );
                ApiError::new(ErrorCode::RefreshTokenReused)
            }
            Err(error) => error,
        }
    }
}
