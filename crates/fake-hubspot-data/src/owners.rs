//! Owners (`docs/hubspot.md §11`): the account's users as records can name them in
//! `hubspot_owner_id`. Read-only, as in HubSpot.

use serde_json::{Value, json};

use crate::time::format_ms;

#[derive(Clone, Debug, PartialEq)]
pub struct Owner {
    /// The owner id (what `hubspot_owner_id` holds).
    pub id: u64,
    /// The user id, a different number.
    pub user_id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub created_ms: i64,
    pub archived: bool,
    pub team: Option<(u64, String)>,
}

impl Owner {
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
            "userId": self.user_id,
            "userIdIncludingInactive": self.user_id,
            "createdAt": format_ms(self.created_ms),
            "updatedAt": format_ms(self.created_ms),
            "archived": self.archived,
            "teams": teams,
        })
    }
}
