//! The org's users, as the OAuth side needs them: look-up by username or id, and creation.

use super::Org;
use crate::error::SfError;
use crate::ids::SfId;
use crate::value::Value;
use serde_json::json;

/// What the OAuth and identity endpoints need to know about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub id: SfId,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: String,
    /// `FirstName LastName`.
    pub name: String,
    pub email: String,
    pub active: bool,
    pub time_zone: String,
    pub locale: String,
}

/// A user to create with [`Org::create_user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: String,
}

impl NewUser {
    /// The 8-character alias Salesforce derives: first initial plus last name.
    fn alias(&self) -> String {
        let first = self.first_name.as_deref().and_then(|f| f.chars().next());
        first
            .into_iter()
            .chain(self.last_name.chars())
            .filter(|c| c.is_alphanumeric())
            .take(8)
            .collect()
    }
}

/// `jane.doe@acme.test` → (`Jane`, `Doe`); anything else → (`Admin`, `User`).
pub(crate) fn names_from_username(username: &str) -> (String, String) {
    let local = username.split('@').next().unwrap_or_default();
    let capitalise = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    match local.split_once('.') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => (capitalise(a), capitalise(b)),
        _ => ("Admin".to_owned(), "User".to_owned()),
    }
}

impl Org {
    fn user_info(&self, values: &super::Row) -> Option<UserInfo> {
        let def = self.schema.object("User")?;
        let text = |name: &str| {
            def.field_index(name)
                .and_then(|i| values.get(i).as_text().map(str::to_owned))
        };
        Some(UserInfo {
            id: values.id()?,
            username: text("Username")?,
            first_name: text("FirstName"),
            last_name: text("LastName").unwrap_or_default(),
            name: text("Name").unwrap_or_default(),
            email: text("Email").unwrap_or_default(),
            active: def
                .field_index("IsActive")
                .is_some_and(|i| values.get(i).as_bool()),
            time_zone: text("TimeZoneSidKey").unwrap_or_default(),
            locale: text("LocaleSidKey").unwrap_or_default(),
        })
    }

    /// All users, in creation order.
    pub fn users(&self) -> Vec<UserInfo> {
        let Some(i) = self.schema.object_index("User") else {
            return Vec::new();
        };
        self.tables[i]
            .iter()
            .filter_map(|r| self.user_info(r))
            .collect()
    }

    /// The user with this username (case-insensitive), active or not.
    pub fn find_user_by_username(&self, username: &str) -> Option<UserInfo> {
        self.users()
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// The user with this id.
    pub fn user(&self, id: SfId) -> Option<UserInfo> {
        let r = self.index.get(&id)?;
        let def = self.schema.object_at(usize::from(r.object));
        if def.name != "User" {
            return None;
        }
        self.user_info(self.row(*r)?)
    }

    /// Creates an active standard user through the same validation as `POST /sobjects/User`
    /// (unique username, email format, lengths). The default user is the creator.
    pub fn create_user(&mut self, user: &NewUser, now_ms: i64) -> Result<SfId, Vec<SfError>> {
        let body = json!({
            "Username": user.username,
            "Email": user.email,
            "FirstName": user.first_name,
            "LastName": user.last_name,
            "Alias": user.alias(),
        });
        let creator = self.default_user_id();
        self.create("User", &body, creator, now_ms)
    }

    /// Stores a user without validation (the org's own first user and seeded users).
    pub(crate) fn insert_user_unchecked(
        &mut self,
        user: &NewUser,
        creator: SfId,
        now_ms: i64,
    ) -> SfId {
        let mut fields = vec![
            ("Username", Value::text(&user.username)),
            ("Email", Value::text(&user.email)),
            ("LastName", Value::text(&user.last_name)),
            ("Alias", Value::text(&user.alias())),
            ("CompanyName", Value::text("Patchbay Emulated Org")),
        ];
        if let Some(first) = &user.first_name {
            fields.push(("FirstName", Value::text(first)));
        }
        self.insert_raw("User", &fields, creator, now_ms)
    }
}
