//! The four stores in memory, for the flows' unit tests: the same answers as the database gives,
//! one lock standing in for its transactions.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{ApprovalStore, ClientStore, CodeDecision, Exchanged, TokenStore, UserStore};
use crate::db::codes::{CodeRecord, Exchange};
use crate::db::tokens::{
    AccessTokenRecord, FamilyRef, NewTokens, RefreshChange, RefreshTokenRecord, Stored,
};
use crate::db::StoreError;
use crate::domain::client::Client;
use crate::domain::profile::Profile;
use crate::domain::secret::StoredSecret;
use crate::domain::token_value;
use crate::domain::user::User;

#[derive(Default)]
pub struct State {
    pub clients: HashMap<String, Client>,
    pub users: HashMap<String, User>,
    pub profiles: HashMap<String, Profile>,
    pub access: HashMap<String, AccessTokenRecord>,
    pub refresh: HashMap<String, RefreshTokenRecord>,
    /// Family id → revoked.
    pub families: HashMap<String, bool>,
    pub codes: HashMap<String, CodeRecord>,
    /// (user, client, scope) → (approved, expires at).
    pub approvals: HashMap<(String, String, String), (bool, i64)>,
}

/// Cheap to clone: clones share one state.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn add_client(&self, client: Client) {
        self.state()
            .clients
            .insert(client.client_id.clone(), client);
    }

    /// An enabled user with password `{noop}password` and these authorities.
    pub fn add_user(&self, username: &str, password: &str, authorities: &[&str]) {
        self.state().users.insert(
            username.to_owned(),
            User {
                username: username.to_owned(),
                password: StoredSecret::parse(Some(&format!("{{noop}}{password}"))),
                enabled: true,
                authorities: authorities.iter().map(|a| a.to_string()).collect(),
                sessions_valid_after: None,
            },
        );
    }

    /// Live access tokens of a family.
    pub fn access_tokens_of(&self, family_id: &str) -> usize {
        self.state()
            .access
            .values()
            .filter(|a| a.family_id == family_id)
            .count()
    }
}

impl State {
    fn find<'a, T>(map: &'a HashMap<String, T>, value: &str) -> Option<&'a T> {
        token_value::stored_keys(value).find_map(|key| map.get(&key))
    }

    fn store(&mut self, new: &NewTokens) -> Stored {
        let family_id = match &new.family {
            FamilyRef::New { family_id, .. } => {
                if new.refresh != RefreshChange::None {
                    self.families.insert(family_id.clone(), false);
                }
                family_id
            }
            FamilyRef::Existing(family_id) => {
                if self.families.get(family_id) != Some(&false) {
                    return Stored::FamilyRevoked;
                }
                family_id
            }
        };
        debug_assert_eq!(family_id, &new.access.family_id);
        match &new.refresh {
            RefreshChange::None => {}
            RefreshChange::Insert(record) => {
                self.refresh.insert(record.token_id.clone(), record.clone());
            }
            RefreshChange::Keep { token_id } => {
                if !self.refresh.contains_key(token_id) {
                    return Stored::RefreshGone;
                }
            }
            RefreshChange::Rotate { replaces, next } => {
                match self.refresh.get_mut(replaces) {
                    Some(old) if old.rotated_at.is_none() => old.rotated_at = Some(new.now),
                    _ => return Stored::AlreadyRotated,
                }
                self.refresh.insert(next.token_id.clone(), next.clone());
            }
        }
        self.access
            .insert(new.access.token_id.clone(), new.access.clone());
        Stored::Stored
    }
}

impl ClientStore for MemoryStore {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.state().clients.get(client_id).cloned())
    }
}

impl UserStore for MemoryStore {
    async fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self.state().users.get(username).cloned())
    }

    async fn profile(&self, username: &str) -> Result<Option<Profile>, StoreError> {
        Ok(self.state().profiles.get(username).cloned())
    }
}

impl TokenStore for MemoryStore {
    async fn store_tokens(&self, tokens: NewTokens) -> Result<Stored, StoreError> {
        Ok(self.state().store(&tokens))
    }

    async fn access_token(&self, value: &str) -> Result<Option<AccessTokenRecord>, StoreError> {
        Ok(State::find(&self.state().access, value).cloned())
    }

    async fn refresh_token(&self, value: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        Ok(State::find(&self.state().refresh, value).cloned())
    }

    async fn revoke_access_token(&self, token_id: &str) -> Result<bool, StoreError> {
        Ok(self.state().access.remove(token_id).is_some())
    }

    async fn revoke_family(&self, family_id: &str) -> Result<usize, StoreError> {
        let mut state = self.state();
        state.families.insert(family_id.to_owned(), true);
        let before = state.access.len() + state.refresh.len();
        state.access.retain(|_, a| a.family_id != family_id);
        state.refresh.retain(|_, r| r.family_id != family_id);
        Ok(before - state.access.len() - state.refresh.len())
    }

    async fn store_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        let mut state = self.state();
        state.families.insert(code.family_id.clone(), false);
        state.codes.insert(code.code.clone(), code);
        Ok(())
    }

    async fn exchange_code(&self, code: String, now: i64, mut decide: CodeDecision) -> Exchanged {
        let mut state = self.state();
        let Some(record) = state.codes.get_mut(&code) else {
            return Ok(Exchange::Unknown);
        };
        if record.used_at.is_some() {
            return Ok(Exchange::Replayed(Box::new(record.clone())));
        }
        record.used_at = Some(now);
        let record = record.clone();
        let user = state.users.get(&record.user_name).cloned();
        let issued = match decide(&record, user) {
            Ok(issued) => issued,
            Err(refused) => return Ok(Exchange::Refused(refused)),
        };
        Ok(match state.store(issued.as_ref()) {
            Stored::Stored => Exchange::Issued(issued),
            _ => Exchange::GrantRevoked,
        })
    }
}

impl ApprovalStore for MemoryStore {
    async fn approved_scopes(
        &self,
        username: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .state()
            .approvals
            .iter()
            .filter(|((u, c, _), (approved, expires))| {
                u == username && c == client_id && *approved && *expires > now
            })
            .map(|((_, _, scope), _)| scope.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect())
    }

    async fn save_approvals(
        &self,
        username: &str,
        client_id: &str,
        decisions: Vec<(String, bool)>,
        expires_at: i64,
        _now: i64,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        for (scope, approved) in decisions {
            state.approvals.insert(
                (username.to_owned(), client_id.to_owned(), scope),
                (approved, expires_at),
            );
        }
        Ok(())
    }
}
