use serde_json::{Value, json};

use super::*;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// Drives a plan against canned answers; returns the requests sent and the outcome.
fn drive(
    plan: WritePlan,
    answers: &[Value],
) -> (Vec<HubSpotRequest>, Result<WriteOutcome, UnifiedError>) {
    let mut run = plan.run;
    let mut sent = vec![run.start()];
    for answer in answers {
        match run.feed(answer.clone()) {
            Ok(Step::Send(next)) => sent.push(next),
            Ok(Step::Done) => return (sent, run.finish()),
            Err(e) => return (sent, Err(e)),
        }
    }
    panic!("the run wanted more answers than given: {sent:?}")
}

#[test]
fn a_create_body_has_the_email_names_and_a_welcome_email() {
    let (body, ignored) = create_body(&map(json!({
        "first_name": "Ada", "last_name": "Lovelace", "title": "Countess",
        "emails": [{"email": "ada@example.com", "type": "primary"}, {"email": "second@example.com"}],
        "username": "ada@example.com", "password": "secret", "status": "active",
        "phone_numbers": [{"number": "1"}],
    })))
    .unwrap();
    assert_eq!(
        body,
        json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
               "sendWelcomeEmail": true})
    );
    for field in ["title", "password", "emails[1]", "phone_numbers[0]"] {
        assert!(ignored.iter().any(|i| i == field), "{field}: {ignored:?}");
    }
    assert!(!ignored.iter().any(|i| i == "username"), "{ignored:?}");

    // A name alone splits at its last space; pass_through carries role, team and welcome email.
    let (body, ignored) = create_body(&map(json!({
        "name": "Grace Brewster Hopper", "username": "grace",
        "emails": [{"email": "grace@example.com"}],
        "pass_through": [{"service_id": "hubspot",
            "extend_object": {"roleId": "5001", "sendWelcomeEmail": false}}],
    })))
    .unwrap();
    assert_eq!(body["firstName"], "Grace Brewster");
    assert_eq!(body["lastName"], "Hopper");
    assert_eq!(body["roleId"], "5001");
    assert_eq!(body["sendWelcomeEmail"], false);
    assert_eq!(ignored, ["username"]);
}

#[test]
fn a_create_needs_an_email_and_refuses_an_inactive_status() {
    for (body, field) in [
        (json!({"first_name": "No", "emails": []}), "emails"),
        (
            json!({"emails": [{"email": "x@example.com"}], "status": "inactive"}),
            "status",
        ),
    ] {
        let err = create_body(&map(body)).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError");
        assert_eq!(err.detail(), Some(json!({"field": field})), "{err}");
    }
    // The unified schema still applies first (emails is required there).
    let err = plan_create(json!({"first_name": "x"})).unwrap_err();
    assert_eq!(err.type_name(), "RequestValidationError");
}

#[test]
fn a_create_posts_the_user_then_answers_with_its_owner_id() {
    let plan = plan_create(
        json!({"first_name": "Ada", "emails": [{"email": "ada@example.com"}],
                                  "title": "Countess"}),
    )
    .unwrap();
    assert_eq!(plan.ignored, ["title"]);
    let user = json!({"id": "9000100", "email": "ada@example.com", "superAdmin": false});
    let owners = json!({"results": [
        {"id": "41000001", "email": "ada@example.com", "userId": 9000001},
        {"id": "41000002", "email": "ada@example.com", "userId": 9000100}]});
    let (sent, outcome) = drive(plan, &[user.clone(), owners.clone()]);
    assert_eq!(sent[0].method, Method::Post);
    assert_eq!(sent[0].path, "/settings/v3/users");
    assert_eq!(sent[0].body.as_ref().unwrap()["email"], "ada@example.com");
    assert_eq!(sent[1].method, Method::Get);
    assert_eq!(sent[1].path, "/crm/v3/owners");
    assert!(
        sent[1]
            .query
            .contains(&("email".to_owned(), "ada@example.com".to_owned()))
    );
    let outcome = outcome.unwrap();
    assert_eq!(
        outcome.id, "41000002",
        "the owner whose userId is the new user's"
    );
    assert_eq!(outcome.raw, json!([user, owners]));

    // No owner yet: a clear error, not a made-up id.
    let plan = plan_create(json!({"emails": [{"email": "ada@example.com"}]})).unwrap();
    let (_, outcome) = drive(plan, &[user, json!({"results": []})]);
    let err = outcome.unwrap_err();
    assert_eq!(err.status_code(), 502);
    assert!(err.to_string().contains("9000100"), "{err}");
}

#[test]
fn an_update_reads_the_owner_then_puts_the_names_to_its_user() {
    let owner = json!({"id": "41000002", "email": "ada@example.com", "userId": 9000100,
                       "firstName": "Ada", "lastName": "Lovelace"});
    let plan = plan_update(
        "41000002",
        json!({"last_name": "King", "emails": [{"email": "ADA@example.com"}], "title": "x"}),
    )
    .unwrap();
    assert_eq!(plan.ignored, ["title"]);
    let put_answer = json!({"id": "9000100", "email": "ada@example.com", "lastName": "King"});
    let (sent, outcome) = drive(plan, &[owner.clone(), put_answer]);
    assert_eq!(sent[0].path, "/crm/v3/owners/41000002");
    assert_eq!(sent[1].method, Method::Put);
    assert_eq!(sent[1].path, "/settings/v3/users/9000100");
    assert_eq!(sent[1].body, Some(json!({"lastName": "King"})));
    assert_eq!(outcome.unwrap().id, "41000002");

    // Nothing HubSpot can change: the owner is read (it must exist) and nothing is written.
    let plan = plan_update("41000002", json!({"title": "x"})).unwrap();
    let (sent, outcome) = drive(plan, std::slice::from_ref(&owner));
    assert_eq!(sent.len(), 1);
    assert_eq!(outcome.unwrap().raw, owner);

    // A new email is refused, naming the field, before anything is written.
    let plan = plan_update(
        "41000002",
        json!({"emails": [{"email": "new@example.com"}]}),
    )
    .unwrap();
    let (sent, outcome) = drive(plan, std::slice::from_ref(&owner));
    assert_eq!(sent.len(), 1);
    let err = outcome.unwrap_err();
    assert_eq!(err.detail(), Some(json!({"field": "emails"})), "{err}");
    let plan = plan_update("41000002", json!({"emails": []})).unwrap();
    let (_, outcome) = drive(plan, std::slice::from_ref(&owner));
    assert_eq!(outcome.unwrap_err().type_name(), "RequestValidationError");
    // A cleared name is an empty string in HubSpot.
    let update = update_body(&map(json!({"first_name": null}))).unwrap();
    assert_eq!(update.put, map(json!({"firstName": ""})));
    assert_eq!(update.email, None);
}

#[test]
fn a_delete_reads_the_owner_then_deletes_its_user() {
    let owner = json!({"id": "41000002", "email": "ada@example.com", "userId": 9000100});
    let (sent, outcome) = drive(plan_delete("41000002").unwrap(), &[owner, Value::Null]);
    assert_eq!(sent[1].method, Method::Delete);
    assert_eq!(sent[1].path, "/settings/v3/users/9000100");
    assert_eq!(outcome.unwrap().id, "41000002");
    // An owner that is no user (archived, or a queue) cannot be deleted this way.
    let archived = json!({"id": "41000002", "userId": null, "userIdIncludingInactive": 9000100});
    let (sent, outcome) = drive(plan_delete("41000002").unwrap(), &[archived]);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        outcome.unwrap_err().type_name(),
        "ConnectorOperationUnsupportedError"
    );
    // Ids that are not HubSpot ids never reach a path.
    for bad in ["../1", "abc", ""] {
        assert_eq!(
            plan_delete(bad).unwrap_err().type_name(),
            "EntityNotFoundError"
        );
    }
}
