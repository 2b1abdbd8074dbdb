//! Owners (`docs/hubspot.md §11`): the account's users as records can name them in
//! `hubspot_owner_id`. The owners API only reads them; each owner stands for one user of the
//! account, whom the user provisioning API (`§11`, [`crate::users`]) creates, changes and
//! removes. A removed user's owner stays, archived.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::time::format_ms;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    /// The owner id (what `hubspot_owner_id` holds).
    pub id: u64,
    /// The user id, a different number.
    pub user_id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub created_ms: i64,
    /// Changed by a user update or removal; files from before users were writable have none and
    /// read as `created_ms`.
    #[serde(default)]
    pub updated_ms: Option<i64>,
    /// Set when the user is removed.
    pub archived: bool,
    /// The primary team.
    pub team: Option<(u64, String)>,
    /// The user's role (permission set), when one was assigned.
    #[serde(default)]
    pub role_id: Option<String>,
    #[serde(default)]
    pub secondary_team_ids: Vec<u64>,
    #[serde(default)]
    pub super_admin: bool,
}

impl Owner {
    pub fn updated_ms(&self) -> i64 {
        self.updated_ms.unwrap_or(self.created_ms)
    }

    /// The owners API's view. An archived owner's `userId` is `null`; its user id stays in
    /// `userIdIncludingInactive` (`§11`).
    pub fn render(&self) -> Value {
        let teams: Vec<Value> = self
            .team
            .iter()
            .map(|(id, name)| json!({"id": id.to_string(), "name": name, "primary": true}))
            .collect();
        json!({
            "id": self.id.to_string(),
            "email": self.email,
            "type": "PERSON",
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": if self.archived { Value::Null } else { json!(self.user_id) },
            "userIdIncludingInactive": self.user_id,
            "createdAt": format_ms(self.created_ms),
            "updatedAt": format_ms(self.updated_ms()),
            "archived": self.archived,
            "teams": teams,
        })
    }

    /// The user provisioning API's view (`PublicUser`): ids as strings, `roleIds` beside the
    /// single `roleId`.
    pub fn render_user(&self) -> Value {
        let mut user = json!({
            "id": self.user_id.to_string(),
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "roleIds": self.role_id.iter().collect::<Vec<_>>(),
            "secondaryTeamIds": self
                .secondary_team_ids
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>(),
            "superAdmin": self.super_admin,
            "sendWelcomeEmail": false,
        });
        if let Some(map) = user.as_object_mut() {
            if let Some(role) = &self.role_id {
                map.insert("roleId".to_owned(), json!(role));
            }
            if let Some((team, _)) = &self.team {
                map.insert("primaryTeamId".to_owned(), json!(team.to_string()));
            }
        }
        user
    }
}
