//! Who can log in: the org's users and their passwords.
//!
//! Salesforce keeps passwords outside the `User` sObject, and so does the emulator: the
//! directory maps usernames to passwords, and everything else about a user comes from the org.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use patchbay_fake_salesforce_data::{NewUser, Org, OrgOptions, SeedOptions, SfId, UserInfo};

use crate::config::EmulatorConfig;
use crate::persist::{Changes, TrackedRwLock};

/// The parts of a user that OAuth and the identity endpoints need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserView {
    /// 18-character `005` id.
    pub id: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub active: bool,
    pub time_zone: String,
    pub locale: String,
    pub language: String,
    pub created_ms: i64,
    pub modified_ms: i64,
}

impl UserView {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
}

/// A user to create or change through the control plane. No `Debug`: it holds a password.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub username: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
}

pub struct Directory {
    /// The org's data; users are its `User` records. Tracked: writes reach the state file.
    org: TrackedRwLock<Org>,
    org_id: String,
    default_user_id: String,
    /// Lower-cased username -> password. Usernames are case-insensitive in Salesforce.
    passwords: TrackedRwLock<HashMap<String, String>>,
    /// Org creation time: stands in for dates the data engine does not expose.
    created_ms: i64,
}

fn view(user: UserInfo, created_ms: i64) -> UserView {
    UserView {
        id: user.id.to_18(),
        username: user.username,
        first_name: user.first_name.unwrap_or_default(),
        last_name: user.last_name,
        email: user.email,
        active: user.active,
        time_zone: user.time_zone,
        locale: user.locale.clone(),
        language: user.locale,
        created_ms,
        modified_ms: created_ms,
    }
}

impl Directory {
    pub fn new(
        config: &EmulatorConfig,
        now_ms: i64,
        changes: &Arc<Changes>,
    ) -> Result<Self, String> {
        // `--records 0` gives an org with only the default user; otherwise seeded demo data.
        let org = if config.records == 0 {
            let options = OrgOptions {
                org_number: config.seed,
                default_username: config.username.clone(),
                ..OrgOptions::default()
            };
            Org::new(&options, now_ms)
        } else {
            let options = SeedOptions {
                seed: config.seed,
                records: config.records,
                default_username: config.username.clone(),
                org_number: config.seed,
                ..SeedOptions::default()
            };
            Org::seeded(&options, now_ms)
        }
        .map_err(|e| e.to_string())?;
        Ok(Self::with_org(
            config,
            org,
            now_ms,
            BTreeMap::new(),
            changes,
        ))
    }

    /// A directory over `org`, a new one or one from the state file with its saved passwords.
    /// The default user's password comes from `config`, as at every start.
    pub fn with_org(
        config: &EmulatorConfig,
        org: Org,
        created_ms: i64,
        passwords: BTreeMap<String, String>,
        changes: &Arc<Changes>,
    ) -> Self {
        let org_id = org.org_id().to_18();
        let default_user_id = org.default_user_id().to_18();
        let mut passwords: HashMap<String, String> = passwords.into_iter().collect();
        passwords.insert(config.username.to_lowercase(), config.password.clone());
        Self {
            org: TrackedRwLock::new(org, Arc::clone(changes)),
            org_id,
            default_user_id,
            passwords: TrackedRwLock::new(passwords, Arc::clone(changes)),
            created_ms,
        }
    }

    pub fn org(&self) -> &TrackedRwLock<Org> {
        &self.org
    }

    /// Every stored password, for the state file.
    pub fn passwords(&self) -> BTreeMap<String, String> {
        let passwords = self.passwords.read();
        passwords
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Org creation time, for the state file.
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    pub fn org_id(&self) -> String {
        self.org_id.clone()
    }

    pub fn default_user_id(&self) -> &str {
        &self.default_user_id
    }

    pub fn by_username(&self, username: &str) -> Option<UserView> {
        let user = self.org.read().find_user_by_username(username.trim())?;
        Some(view(user, self.created_ms))
    }

    /// Accepts 15- or 18-character ids.
    pub fn by_id(&self, id: &str) -> Option<UserView> {
        let id = SfId::parse(id).ok()?;
        let user = self.org.read().user(id)?;
        Some(view(user, self.created_ms))
    }

    /// The user, if `password` is theirs and they are active. Seeded users without a password
    /// of their own share the default user's.
    pub fn check_password(
        &self,
        username: &str,
        password: &str,
        default: &str,
    ) -> Option<UserView> {
        let user = self.by_username(username)?;
        let stored = self
            .passwords
            .read()
            .get(&user.username.to_lowercase())
            .cloned()
            .unwrap_or_else(|| default.to_owned());
        (crate::oauth::crypto::secrets_equal(&stored, password) && user.active).then_some(user)
    }

    pub fn list(&self) -> Vec<UserView> {
        let users = self.org.read().users();
        users
            .into_iter()
            .map(|u| view(u, self.created_ms))
            .collect()
    }

    pub fn create(&self, input: &UserInput, now_ms: i64) -> Result<UserView, String> {
        let username = input.username.clone().ok_or("username is required")?;
        let new = NewUser {
            email: input.email.clone().unwrap_or_else(|| username.clone()),
            first_name: input.first_name.clone(),
            last_name: input.last_name.clone().unwrap_or_else(|| "User".to_owned()),
            username: username.clone(),
        };
        let id = {
            let mut org = self.org.write();
            let id = org.create_user(&new, now_ms).map_err(join_errors)?;
            if input.active == Some(false) {
                let body = serde_json::json!({"IsActive": false});
                org.update("User", &id.to_18(), &body, id, now_ms)
                    .map_err(join_errors)?;
            }
            id
        };
        if let Some(password) = &input.password {
            self.passwords
                .write()
                .insert(username.to_lowercase(), password.clone());
        }
        self.by_id(&id.to_18())
            .ok_or_else(|| "user vanished".to_owned())
    }

    pub fn update(
        &self,
        username: &str,
        input: &UserInput,
        now_ms: i64,
    ) -> Result<UserView, String> {
        let user = self.by_username(username).ok_or("no such user")?;
        let mut body = serde_json::Map::new();
        if let Some(v) = &input.first_name {
            body.insert("FirstName".into(), v.clone().into());
        }
        if let Some(v) = &input.last_name {
            body.insert("LastName".into(), v.clone().into());
        }
        if let Some(v) = &input.email {
            body.insert("Email".into(), v.clone().into());
        }
        if let Some(v) = input.active {
            body.insert("IsActive".into(), v.into());
        }
        if !body.is_empty() {
            let id = SfId::parse(&user.id).map_err(|e| e.to_string())?;
            self.org
                .write()
                .update(
                    "User",
                    &user.id,
                    &serde_json::Value::Object(body),
                    id,
                    now_ms,
                )
                .map_err(join_errors)?;
        }
        if let Some(p) = &input.password {
            self.passwords
                .write()
                .insert(user.username.to_lowercase(), p.clone());
        }
        self.by_id(&user.id)
            .ok_or_else(|| "user vanished".to_owned())
    }
}

fn join_errors(errors: Vec<patchbay_fake_salesforce_data::SfError>) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}
