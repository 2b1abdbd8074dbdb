use serde_json::json;

use super::*;

fn failure(status: u16, body: serde_json::Value, call: CallKind) -> Failure {
    map_error(status, body.to_string().as_bytes(), call)
}

#[test]
fn refused_tokens_mean_refresh_once() {
    for category in ["EXPIRED_AUTHENTICATION", "INVALID_AUTHENTICATION", ""] {
        let body = json!({"status": "error", "message": "The OAuth token used to make this call expired 3 minute(s) ago.",
            "correlationId": "c-1", "category": category});
        assert_eq!(
            failure(401, body, CallKind::List),
            Failure::RefreshAndRetry,
            "{category}"
        );
    }
    assert_eq!(
        map_error(401, b"not json", CallKind::Create),
        Failure::RefreshAndRetry
    );
    assert_eq!(session_still_invalid().status_code(), 401);
    assert_eq!(
        session_still_invalid().type_name(),
        "ConnectorCredentialsError"
    );
}

#[test]
fn rate_limits_keep_hubspots_words() {
    let body = json!({"status": "error", "message": "You have reached your secondly limit.",
        "errorType": "RATE_LIMIT", "correlationId": "c", "policyName": "SECONDLY"});
    let Failure::Error(err) = failure(429, body, CallKind::List) else {
        panic!("a rate limit is not a refresh");
    };
    assert_eq!(err.type_name(), "ConnectorRateLimitError");
    assert!(err.to_string().contains("SECONDLY"), "{err}");
    assert!(err.to_string().contains("secondly limit"), "{err}");
}

#[test]
fn not_found_only_for_one_record() {
    let body =
        json!({"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"});
    let Failure::Error(one) = failure(404, body.clone(), CallKind::OneRecord) else {
        panic!()
    };
    assert_eq!(one.type_name(), "EntityNotFoundError");
    let Failure::Error(list) = failure(404, body, CallKind::List) else {
        panic!()
    };
    assert_eq!(list.type_name(), "ConnectorExecutionError");
    assert_eq!(list.status_code(), 404);
}

#[test]
fn validation_errors_pass_as_downstream_errors() {
    let body = json!({"status": "error",
        "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"x\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"x\"}]",
        "correlationId": "c", "category": "VALIDATION_ERROR",
        "errors": [{"message": "Property \"x\" does not exist", "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": ["x"]}}]});
    let Failure::Error(err) = failure(400, body, CallKind::Create) else {
        panic!()
    };
    // The same type as Salesforce's refusals of a value (its FIELD_* and picklist errors).
    assert_eq!(err.type_name(), "ConnectorExecutionError");
    assert_eq!(err.status_code(), 400);
    let UnifiedError::ConnectorExecution {
        downstream_errors, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(downstream_errors[0].code, "PROPERTY_DOESNT_EXIST");
}

#[test]
fn other_errors_pass_their_status_and_category() {
    let body = json!({"status": "error", "message": "Contact already exists. Existing ID: 512",
        "correlationId": "c", "category": "CONFLICT"});
    let Failure::Error(err) = failure(409, body, CallKind::Create) else {
        panic!()
    };
    assert_eq!(err.status_code(), 409);
    assert_eq!(err.downstream_errors().expect("errors")[0].code, "CONFLICT");
    let scopes = json!({"status": "error", "message": "This app hasn't been granted all required scopes",
        "category": "MISSING_SCOPES",
        "errors": [{"message": "One or more of the following scopes are required.",
                    "context": {"requiredScopes": ["crm.objects.owners.read"]}}]});
    let Failure::Error(err) = failure(403, scopes, CallKind::List) else {
        panic!()
    };
    assert_eq!(err.status_code(), 403);
    assert!(
        err.to_string()
            .contains("not granted the scope crm.objects.owners.read"),
        "{err}"
    );
    let first = &err.downstream_errors().expect("errors")[0];
    assert_eq!(first.code, "MISSING_SCOPES");
    assert!(
        first
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("crm.objects.owners.read")
    );
    let Failure::Error(err) = map_error(503, b"<html>", CallKind::List) else {
        panic!()
    };
    assert_eq!(err.status_code(), 502);
    assert_eq!(err.downstream_errors().expect("errors")[0].code, "HTTP_503");
}

#[test]
fn rate_limit_headers() {
    let headers = [
        ("x-hubspot-ratelimit-max", "100"),
        ("x-hubspot-ratelimit-remaining", "97"),
        ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
    ];
    let lookup = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let usage = parse_rate_limit(lookup).expect("usage");
    assert_eq!((usage.limit(), usage.remaining()), (100, 97));
    // A spent budget is whole again after the window the answer names, not a day later.
    assert_eq!(usage.recheck_after_ms, 10_000);
    let slower = |name: &str| match name {
        "x-hubspot-ratelimit-interval-milliseconds" => Some("1000"),
        _ => lookup(name),
    };
    assert_eq!(
        parse_rate_limit(slower).expect("usage").recheck_after_ms,
        1_000
    );
    assert_eq!(parse_rate_limit(|_| None), None);
    assert_eq!(parse_rate_limit(|_| Some("lots")), None);
    // Remaining above max (a racing window) never underflows.
    let odd = parse_rate_limit(|n: &str| Some(if n.ends_with("max") { "5" } else { "9" }))
        .expect("usage");
    assert_eq!((odd.limit(), odd.remaining()), (5, 5));
    // No interval header ("9" is read for it here, so drop it): HubSpot's documented 10 s.
    let unnamed = |n: &str| match n {
        "x-hubspot-ratelimit-max" => Some("100"),
        "x-hubspot-ratelimit-remaining" => Some("1"),
        _ => None,
    };
    assert_eq!(
        parse_rate_limit(unnamed).expect("usage").recheck_after_ms,
        10_000
    );
}
