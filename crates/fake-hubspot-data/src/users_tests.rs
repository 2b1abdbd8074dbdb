use serde_json::{Value, json};

use super::*;
use crate::seed::{SeedUser, seed};

const ADMIN: SeedUser<'static> = SeedUser {
    email: "admin@emulator.test",
    first_name: "Admin",
    last_name: "User",
};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn a_provisioned_user_is_an_owner_at_once_and_a_removed_one_an_archived_owner() {
    let mut account = seed(1, 0, &ADMIN);
    let before = account.owners().len();
    let user_id = account
        .provision_user(
            &body(
                json!({"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace",
                         "roleId": "5001", "primaryTeamId": "700", "sendWelcomeEmail": false}),
            ),
            5_000,
        )
        .unwrap();
    assert_eq!(account.owners().len(), before + 1);
    let owner = account.user(&user_id.to_string(), UserKey::UserId).unwrap();
    assert_eq!(owner.first_name, "Ada");
    let rendered = owner.render();
    assert_eq!(rendered["userId"], json!(user_id));
    assert_eq!(rendered["teams"][0]["id"], "700");
    let user = owner.render_user();
    assert_eq!(user["id"], user_id.to_string());
    assert_eq!(user["roleIds"], json!(["5001"]));
    assert_eq!(user["primaryTeamId"], "700");
    assert_eq!(user["superAdmin"], false);
    // Found by email too, case aside.
    assert_eq!(
        account
            .user("ADA@example.com", UserKey::Email)
            .unwrap()
            .user_id,
        user_id
    );

    account
        .remove_user("ada@example.com", UserKey::Email, 6_000)
        .unwrap();
    assert!(account.user(&user_id.to_string(), UserKey::UserId).is_err());
    let archived = account
        .owners()
        .iter()
        .find(|o| o.user_id == user_id)
        .unwrap();
    assert!(archived.archived);
    let rendered = archived.render();
    assert_eq!(rendered["userId"], Value::Null);
    assert_eq!(rendered["userIdIncludingInactive"], json!(user_id));
    assert_eq!(rendered["updatedAt"], crate::time::format_ms(6_000));
    // Removed twice: not found.
    assert_eq!(
        account.remove_user(&user_id.to_string(), UserKey::UserId, 7_000),
        Err(DataError::NotFound)
    );
    // The email is free again: a new user, a new owner.
    let again = account
        .provision_user(&body(json!({"email": "ada@example.com"})), 8_000)
        .unwrap();
    assert_ne!(again, user_id);
}

#[test]
fn provisioning_is_checked() {
    let mut account = seed(1, 0, &ADMIN);
    let cases = [
        (json!({}), "email is required"),
        (json!({"email": "not-an-email"}), "not a valid email"),
        (json!({"email": "a@b.co", "roleId": "1"}), "not a role"),
        (
            json!({"email": "a@b.co", "primaryTeamId": "1"}),
            "not a team",
        ),
        (
            json!({"email": "a@b.co", "secondaryTeamIds": ["700", "9"]}),
            "not a team",
        ),
        (
            json!({"email": "a@b.co", "firstName": 3}),
            "must be a string",
        ),
        (
            json!({"email": "a@b.co", "sendWelcomeEmail": "yes"}),
            "must be a boolean",
        ),
    ];
    for (input, expected) in cases {
        let err = account.provision_user(&body(input), 1).unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
    // The seeded admin's email is taken.
    let err = account
        .provision_user(&body(json!({"email": "Admin@Emulator.test"})), 1)
        .unwrap_err();
    assert!(matches!(err, DataError::Conflict(_)), "{err:?}");
    assert_eq!(account.owners().len(), 5, "nothing was added");
}

#[test]
fn an_update_changes_what_it_names_and_never_the_email() {
    let mut account = seed(1, 0, &ADMIN);
    let id = account
        .provision_user(
            &body(json!({"email": "x@example.com", "firstName": "X", "lastName": "Y", "roleId": "5001"})),
            1,
        )
        .unwrap();
    let key = id.to_string();
    account
        .update_user(
            &key,
            UserKey::UserId,
            &body(json!({"lastName": "Z", "secondaryTeamIds": ["702"]})),
            2,
        )
        .unwrap();
    let owner = account.user(&key, UserKey::UserId).unwrap();
    assert_eq!(
        (owner.first_name.as_str(), owner.last_name.as_str()),
        ("X", "Z")
    );
    assert_eq!(owner.role_id.as_deref(), Some("5001"));
    assert_eq!(owner.secondary_team_ids, [702]);
    assert_eq!(owner.updated_ms(), 2);
    let err = account
        .update_user(
            &key,
            UserKey::UserId,
            &body(json!({"email": "new@example.com"})),
            3,
        )
        .unwrap_err();
    assert!(err.to_string().contains("email"), "{err}");
    assert_eq!(
        account.update_user("1", UserKey::UserId, &body(json!({})), 3),
        Err(DataError::NotFound)
    );
    assert!(UserKey::parse(Some("NAME")).is_err());
    assert!(Account::role_needs_billing_write(&body(
        json!({"roleId": "5003"})
    )));
}
