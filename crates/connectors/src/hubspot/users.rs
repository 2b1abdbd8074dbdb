//! Unified user writes over HubSpot's user provisioning API (docs/hubspot.md §11, §15 "Users").
//!
//! A unified user *is* an owner: lists and gets read `/crm/v3/owners`, so the unified id is the
//! owner id, which is what records' `owner_id` holds. The provisioning API names users by
//! their user id, a different number, so every write is two calls, planned here as step
//! machines:
//! - create: `POST /settings/v3/users`, then the new user's owner by its email
//!   (`GET /crm/v3/owners?email=`, matched on `userId`), whose id is the answer;
//! - update: the owner (`GET /crm/v3/owners/{id}`) for its `userId` and email, then
//!   `PUT /settings/v3/users/{userId}` with the names (none to change: no second call);
//! - delete: the owner, then `DELETE /settings/v3/users/{userId}` (HubSpot archives the owner).
//!
//! What a HubSpot user cannot hold is reported as ignored, except two things that would
//! silently mean something else: a new email on update (the provisioning API has no way to
//! change it) and a `status` other than `active` (it can remove a user, not deactivate one).
//! Both are `RequestValidationError`s naming the field. Roles, teams and the welcome email go
//! through `pass_through` (`roleId`, `primaryTeamId`, `secondaryTeamIds`, `sendWelcomeEmail`).

use serde_json::{Map, Value, json};

use patchbay_unified::model::{Write, validate_body};
use patchbay_unified::{Resource, UnifiedError};

use super::DIALECT;
use super::ids::is_valid_id;
use super::records::bad_downstream;
use super::request::{HubSpotRequest, Method, call, with_body};
use super::tables::USER_WRITE_MAP;
use crate::connector::{Run, Step, WriteOutcome, WritePlan};
use crate::write::write_record_reporting;

/// The provisioning API's collection path.
pub const USERS_PATH: &str = "/settings/v3/users";
/// The scope user writes need (docs/hubspot.md §11). Not among the default scopes: HubSpot
/// refuses an install that asks for a scope the app does not list, so adding it would break
/// every existing integration's connect flow (§2); an integration that wants user writes adds
/// it (`crm.objects.users.write` is HubSpot's equivalent).
pub const WRITE_SCOPE: &str = "settings.users.write";

/// Unified user fields a HubSpot user has no place for: reported when set.
const UNPLACED: &[&str] = &[
    "parent_id",
    "title",
    "division",
    "department",
    "company_name",
    "employee_number",
    "description",
    "image",
    "language",
    "password",
];

/// The provisioning body's names: `firstName`/`lastName` (from `name` when neither is given:
/// the last word is the last name, as for contacts), `email`, and `pass_through` keys.
fn mapped(
    body: &Map<String, Value>,
    write: Write,
) -> Result<(Map<String, Value>, Vec<String>), UnifiedError> {
    let written =
        write_record_reporting(&USER_WRITE_MAP, &DIALECT, super::SERVICE_ID, body, write)?;
    let mut fields = written.fields;
    let mut ignored = written.ignored;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if let Some(name) = name {
        if body.get("first_name").is_none() && body.get("last_name").is_none() {
            let (first, last) = match name.rsplit_once(' ') {
                Some((first, last)) => (Some(first.trim()), last),
                None => (None, name),
            };
            if let Some(first) = first {
                fields.insert("firstName".to_owned(), json!(first));
            }
            fields.insert("lastName".to_owned(), json!(last));
        } else {
            ignored.push("name".to_owned());
        }
    }
    for key in UNPLACED {
        if body.get(*key).is_some_and(|v| !v.is_null()) {
            ignored.push((*key).to_owned());
        }
    }
    // HubSpot users sign in with their email: a username other than it has no place.
    if let Some(username) = body.get("username").and_then(Value::as_str) {
        let email = fields.get("email").and_then(Value::as_str);
        if !email.is_some_and(|e| e.eq_ignore_ascii_case(username.trim())) {
            ignored.push("username".to_owned());
        }
    }
    match body.get("status").and_then(Value::as_str) {
        None => {}
        Some(s) if s.eq_ignore_ascii_case("active") => {}
        Some(_) => {
            return Err(UnifiedError::invalid_field(
                "status",
                "HubSpot's API cannot deactivate a user; remove it with DELETE instead",
            ));
        }
    }
    // Names are strings in HubSpot; `null` clears one.
    for key in ["firstName", "lastName"] {
        if fields.get(key).is_some_and(Value::is_null) {
            fields.insert(key.to_owned(), json!(""));
        }
    }
    Ok((fields, ignored))
}

/// The `POST /settings/v3/users` body and what was left out. `sendWelcomeEmail` is true unless
/// `pass_through` says otherwise: without it a new user has no way to set a password.
pub fn create_body(body: &Map<String, Value>) -> Result<(Value, Vec<String>), UnifiedError> {
    let (mut fields, ignored) = mapped(body, Write::Create)?;
    if fields
        .get("email")
        .and_then(Value::as_str)
        .is_none_or(|e| e.trim().is_empty())
    {
        return Err(UnifiedError::invalid_field(
            "emails",
            "emails needs an address: HubSpot users are made from their email",
        ));
    }
    fields
        .entry("sendWelcomeEmail".to_owned())
        .or_insert(json!(true));
    Ok((Value::Object(fields), ignored))
}

/// What an update asks of the user: the `PUT` body (without `email`), the email it names if
/// any (`Some(None)`: emails given but empty), and what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct UserUpdate {
    pub put: Map<String, Value>,
    pub email: Option<Option<String>>,
    pub ignored: Vec<String>,
}

pub fn update_body(body: &Map<String, Value>) -> Result<UserUpdate, UnifiedError> {
    let (mut put, ignored) = mapped(body, Write::Update)?;
    let email = put
        .remove("email")
        .map(|e| e.as_str().map(str::trim).map(str::to_owned));
    Ok(UserUpdate {
        put,
        email,
        ignored,
    })
}

/// The owner's `userId` and email from an owners API answer; an owner without a user id (a
/// queue, or an archived owner) cannot be written through the provisioning API.
fn owner_user(owner: &Value) -> Result<(String, String), UnifiedError> {
    let user_id = match owner.get("userId") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if is_valid_id(s) => s.clone(),
        _ => {
            return Err(UnifiedError::ConnectorOperationUnsupported {
                message: "this HubSpot owner is not an active user, so it cannot be written"
                    .to_owned(),
            });
        }
    };
    if !is_valid_id(&user_id) {
        return Err(bad_downstream(
            "HubSpot's owner has a user id that is not a number",
        ));
    }
    let email = owner
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok((user_id, email))
}

fn owner_call(owner_id: &str) -> Result<HubSpotRequest, UnifiedError> {
    if !is_valid_id(owner_id) {
        return Err(UnifiedError::EntityNotFound {
            message: "no users record with this id".to_owned(),
        });
    }
    Ok(call(Method::Get, format!("/crm/v3/owners/{owner_id}")))
}

/// Plans a unified user create, update or delete.
pub fn plan_create(body: Value) -> Result<WritePlan, UnifiedError> {
    let body = validate_body(Resource::Users, Write::Create, body)?;
    let (payload, ignored) = create_body(&body)?;
    let email = payload
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(WritePlan {
        run: Box::new(CreateRun {
            request: with_body(call(Method::Post, USERS_PATH.to_owned()), payload),
            email,
            answers: Vec::new(),
            owner_id: None,
        }),
        ignored,
    })
}

pub fn plan_update(owner_id: &str, body: Value) -> Result<WritePlan, UnifiedError> {
    let first = owner_call(owner_id)?;
    let body = validate_body(Resource::Users, Write::Update, body)?;
    let update = update_body(&body)?;
    Ok(WritePlan {
        ignored: update.ignored.clone(),
        run: Box::new(OwnerThen {
            owner_id: owner_id.to_owned(),
            first,
            then: Then::Update(update),
            answers: Vec::new(),
            sent: false,
        }),
    })
}

pub fn plan_delete(owner_id: &str) -> Result<WritePlan, UnifiedError> {
    let first = owner_call(owner_id)?;
    Ok(WritePlan {
        ignored: Vec::new(),
        run: Box::new(OwnerThen {
            owner_id: owner_id.to_owned(),
            first,
            then: Then::Delete,
            answers: Vec::new(),
            sent: false,
        }),
    })
}

/// `POST` the user, then find its owner by email.
struct CreateRun {
    request: HubSpotRequest,
    email: String,
    answers: Vec<Value>,
    owner_id: Option<String>,
}

impl Run<WriteOutcome> for CreateRun {
    fn start(&mut self) -> HubSpotRequest {
        self.request.clone()
    }

    fn feed(&mut self, answer: Value) -> Result<Step, UnifiedError> {
        self.answers.push(answer);
        let user_id = self
            .answers
            .first()
            .and_then(|user| user.get("id"))
            .and_then(Value::as_str)
            .filter(|id| is_valid_id(id))
            .ok_or_else(|| bad_downstream("HubSpot's user answer has no user id"))?
            .to_owned();
        if self.answers.len() == 1 {
            let mut request = call(Method::Get, "/crm/v3/owners".to_owned());
            request.query = vec![
                ("email".to_owned(), self.email.clone()),
                ("limit".to_owned(), "100".to_owned()),
            ];
            return Ok(Step::Send(request));
        }
        let owner = self
            .answers
            .get(1)
            .and_then(|owners| owners.get("results"))
            .and_then(Value::as_array)
            .and_then(|owners| {
                owners
                    .iter()
                    .find(|o| owner_user(o).is_ok_and(|(id, _)| id == user_id))
            });
        let owner_id = owner
            .and_then(|o| o.get("id"))
            .and_then(Value::as_str)
            .filter(|id| is_valid_id(id))
            .ok_or_else(|| UnifiedError::ConnectorExecution {
                status: 502,
                message: format!(
                    "HubSpot created user {user_id} but has no owner for it yet; list users again shortly to find its id"
                ),
                downstream_errors: Vec::new(),
            })?;
        self.owner_id = Some(owner_id.to_owned());
        Ok(Step::Done)
    }

    fn finish(self: Box<Self>) -> Result<WriteOutcome, UnifiedError> {
        let id = self
            .owner_id
            .ok_or_else(|| bad_downstream("the user create did not finish"))?;
        Ok(WriteOutcome {
            id,
            raw: Value::Array(self.answers),
        })
    }
}

enum Then {
    Update(UserUpdate),
    Delete,
}

/// Read the owner for its user id, then write the user.
struct OwnerThen {
    owner_id: String,
    first: HubSpotRequest,
    then: Then,
    answers: Vec<Value>,
    sent: bool,
}

impl Run<WriteOutcome> for OwnerThen {
    fn start(&mut self) -> HubSpotRequest {
        self.first.clone()
    }

    fn feed(&mut self, answer: Value) -> Result<Step, UnifiedError> {
        self.answers.push(answer);
        if self.sent {
            return Ok(Step::Done);
        }
        let (user_id, email) = owner_user(self.answers.first().unwrap_or(&Value::Null))?;
        let path = format!("{USERS_PATH}/{user_id}");
        self.sent = true;
        match &self.then {
            Then::Delete => Ok(Step::Send(call(Method::Delete, path))),
            Then::Update(update) => {
                match &update.email {
                    Some(Some(asked)) if asked.eq_ignore_ascii_case(&email) => {}
                    None => {}
                    Some(_) => {
                        return Err(UnifiedError::invalid_field(
                            "emails",
                            "HubSpot's API cannot change a user's email; remove the user and create a new one",
                        ));
                    }
                }
                if update.put.is_empty() {
                    return Ok(Step::Done);
                }
                Ok(Step::Send(with_body(
                    call(Method::Put, path),
                    Value::Object(update.put.clone()),
                )))
            }
        }
    }

    fn finish(self: Box<Self>) -> Result<WriteOutcome, UnifiedError> {
        let raw = match self.answers.len() {
            1 => self.answers.into_iter().next().unwrap_or(Value::Null),
            _ => Value::Array(self.answers),
        };
        Ok(WriteOutcome {
            id: self.owner_id,
            raw,
        })
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
