//! The account's users as the user provisioning API (`docs/hubspot.md §11`) sees them: each
//! live owner is one user. Provisioning a user makes its owner at once (HubSpot makes owners
//! for new users on its own, without promising when: the emulator's choice, `[I]`); removing a
//! user archives its owner, which then lists under `archived=true` with `userId: null`.
//!
//! Checks: an email is required and unique among live users; a role must be one of
//! [`ROLES`]; teams must be teams the account has (the seeded owners' teams).

use serde_json::{Map, Value};

use crate::account::Account;
use crate::error::DataError;
use crate::owners::Owner;

/// A role (permission set): id, name, whether it carries a paid seat (`requiresBillingWrite`:
/// assigning it needs the `billing-write` scope, `§11`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Role {
    pub id: &'static str,
    pub name: &'static str,
    pub requires_billing_write: bool,
}

/// The roles every emulated account has.
pub const ROLES: &[Role] = &[
    Role {
        id: "5001",
        name: "Sales rep",
        requires_billing_write: false,
    },
    Role {
        id: "5002",
        name: "Marketing",
        requires_billing_write: false,
    },
    Role {
        id: "5003",
        name: "Sales seat",
        requires_billing_write: true,
    },
];

pub fn role(id: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.id == id)
}

/// How `{userId}` in a path names the user (`idProperty`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserKey {
    /// `USER_ID`, the default.
    UserId,
    /// `EMAIL`.
    Email,
}

impl UserKey {
    /// `idProperty`'s value; `None` when absent. Anything but the two names is a `400`.
    pub fn parse(value: Option<&str>) -> Result<Self, DataError> {
        match value {
            None | Some("USER_ID") => Ok(UserKey::UserId),
            Some("EMAIL") => Ok(UserKey::Email),
            Some(other) => Err(DataError::validation(format!(
                "idProperty must be USER_ID or EMAIL, got '{other}'"
            ))),
        }
    }
}

/// What a provisioning or update body asks for, checked.
struct UserInput {
    first_name: Option<String>,
    last_name: Option<String>,
    role_id: Option<String>,
    primary_team: Option<u64>,
    secondary_teams: Option<Vec<u64>>,
}

fn text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, DataError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(DataError::validation(format!(
            "Invalid input JSON: {key} must be a string"
        ))),
    }
}

impl Account {
    /// The account's teams: `(id, name)`, in id order.
    pub fn teams(&self) -> Vec<(u64, String)> {
        let mut teams: Vec<(u64, String)> =
            self.owners.iter().filter_map(|o| o.team.clone()).collect();
        teams.sort();
        teams.dedup_by_key(|t| t.0);
        teams
    }

    fn team(&self, raw: &str, field: &str) -> Result<u64, DataError> {
        raw.parse::<u64>()
            .ok()
            .filter(|id| self.teams().iter().any(|(t, _)| t == id))
            .ok_or_else(|| {
                DataError::validation(format!("{field} {raw} is not a team of this account"))
            })
    }

    fn user_input(&self, body: &Map<String, Value>) -> Result<UserInput, DataError> {
        let role_id = text(body, "roleId")?.filter(|r| !r.is_empty());
        if let Some(id) = &role_id
            && role(id).is_none()
        {
            return Err(DataError::validation(format!(
                "roleId {id} is not a role of this account"
            )));
        }
        let primary_team = match text(body, "primaryTeamId")?.filter(|t| !t.is_empty()) {
            Some(raw) => Some(self.team(&raw, "primaryTeamId")?),
            None => None,
        };
        let secondary_teams = match body.get("secondaryTeamIds") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(raw) => self.team(raw, "secondaryTeamIds"),
                        _ => Err(DataError::validation(
                            "Invalid input JSON: secondaryTeamIds must be strings",
                        )),
                    })
                    .collect::<Result<Vec<u64>, DataError>>()?,
            ),
            Some(_) => {
                return Err(DataError::validation(
                    "Invalid input JSON: secondaryTeamIds must be an array",
                ));
            }
        };
        Ok(UserInput {
            first_name: text(body, "firstName")?,
            last_name: text(body, "lastName")?,
            role_id,
            primary_team,
            secondary_teams,
        })
    }

    /// The live users (owners not archived), in owner order.
    pub fn users(&self) -> impl Iterator<Item = &Owner> {
        self.owners.iter().filter(|o| !o.archived)
    }

    /// A live user by id or email.
    pub fn user(&self, key: &str, by: UserKey) -> Result<&Owner, DataError> {
        self.users()
            .find(|o| match by {
                UserKey::UserId => o.user_id.to_string() == key,
                UserKey::Email => o.email.eq_ignore_ascii_case(key),
            })
            .ok_or(DataError::NotFound)
    }

    /// Whether a role a body names needs the `billing-write` scope (the HTTP side checks it).
    pub fn role_needs_billing_write(body: &Map<String, Value>) -> bool {
        body.get("roleId")
            .and_then(Value::as_str)
            .and_then(role)
            .is_some_and(|r| r.requires_billing_write)
    }

    /// `POST /settings/v3/users`: a new user and its owner; returns the user id.
    pub fn provision_user(
        &mut self,
        body: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<u64, DataError> {
        let email = text(body, "email")?
            .filter(|e| !e.is_empty())
            .ok_or_else(|| DataError::validation("email is required"))?;
        if !is_email(&email) {
            return Err(DataError::validation(format!(
                "{email} is not a valid email address"
            )));
        }
        if let Some(v) = body.get("sendWelcomeEmail")
            && !v.is_boolean()
            && !v.is_null()
        {
            return Err(DataError::validation(
                "Invalid input JSON: sendWelcomeEmail must be a boolean",
            ));
        }
        let input = self.user_input(body)?;
        if self.user(&email, UserKey::Email).is_ok() {
            return Err(DataError::Conflict(format!(
                "A user with email {email} already exists in this account"
            )));
        }
        // New ids follow the largest ones in use, so they are deterministic and survive a
        // restore of the owners from the state file.
        let user_id = self
            .owners
            .iter()
            .map(|o| o.user_id)
            .max()
            .unwrap_or(9_000_000)
            + 17;
        let id = self.owners.iter().map(|o| o.id).max().unwrap_or(40_000_000) + 1_013;
        let team = input
            .primary_team
            .and_then(|t| self.teams().into_iter().find(|(id, _)| *id == t));
        self.owners.push(Owner {
            id,
            user_id,
            email,
            first_name: input.first_name.unwrap_or_default(),
            last_name: input.last_name.unwrap_or_default(),
            created_ms: now_ms,
            updated_ms: Some(now_ms),
            archived: false,
            team,
            role_id: input.role_id,
            secondary_team_ids: input.secondary_teams.unwrap_or_default(),
            super_admin: false,
        });
        Ok(user_id)
    }

    /// `PUT /settings/v3/users/{userId}`: changes what the body names (names, role, teams);
    /// what it leaves out stays (`[I]`). The email cannot change. Returns the user id.
    pub fn update_user(
        &mut self,
        key: &str,
        by: UserKey,
        body: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<u64, DataError> {
        let user_id = self.user(key, by)?.user_id;
        if body.contains_key("email") {
            return Err(DataError::validation(
                "Invalid input JSON: email cannot be changed with this request",
            ));
        }
        let input = self.user_input(body)?;
        let team = input
            .primary_team
            .and_then(|t| self.teams().into_iter().find(|(id, _)| *id == t));
        let owner = self
            .owners
            .iter_mut()
            .find(|o| !o.archived && o.user_id == user_id)
            .ok_or(DataError::NotFound)?;
        if let Some(first) = input.first_name {
            owner.first_name = first;
        }
        if let Some(last) = input.last_name {
            owner.last_name = last;
        }
        if input.role_id.is_some() {
            owner.role_id = input.role_id;
        }
        if team.is_some() {
            owner.team = team;
        }
        if let Some(teams) = input.secondary_teams {
            owner.secondary_team_ids = teams;
        }
        owner.updated_ms = Some(now_ms);
        Ok(user_id)
    }

    /// `DELETE /settings/v3/users/{userId}`: the user is removed and its owner archived.
    pub fn remove_user(&mut self, key: &str, by: UserKey, now_ms: i64) -> Result<(), DataError> {
        let user_id = self.user(key, by)?.user_id;
        if let Some(owner) = self
            .owners
            .iter_mut()
            .find(|o| !o.archived && o.user_id == user_id)
        {
            owner.archived = true;
            owner.updated_ms = Some(now_ms);
        }
        Ok(())
    }
}

/// Something `@` something with a dot in the domain; HubSpot's own rule is not documented.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
