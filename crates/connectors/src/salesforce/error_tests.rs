use super::*;

fn unified(f: Failure) -> UnifiedError {
    match f {
        Failure::Error(e) => e,
        Failure::RefreshAndRetry => panic!("expected an error"),
    }
}

#[test]
fn validation_errors_become_execution_errors_with_downstream_errors() {
    for code in [
        "REQUIRED_FIELD_MISSING",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "INVALID_FIELD",
        "STRING_TOO_LONG",
        "DUPLICATE_VALUE",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "MALFORMED_QUERY",
    ] {
        let body = format!(
            r#"[{{"message":"m for {code}","errorCode":"{code}","fields":["LastName","Email"]}}]"#
        );
        for call in [CallKind::List, CallKind::Create, CallKind::OneRecord] {
            let err = unified(map_error(400, body.as_bytes(), call));
            assert_eq!(err.type_name(), "ConnectorExecutionError", "{code}");
            assert_eq!(err.status_code(), 400);
            assert_eq!(
                err.downstream_errors().unwrap(),
                [DownstreamError {
                    message: format!("m for {code}"),
                    detail: Some("LastName, Email".to_owned()),
                    code: code.to_owned(),
                }]
            );
        }
    }
}

#[test]
fn fields_may_be_missing_null_or_empty() {
    for body in [
        r#"[{"message":"x","errorCode":"JSON_PARSER_ERROR"}]"#,
        r#"[{"message":"x","errorCode":"JSON_PARSER_ERROR","fields":null}]"#,
        r#"[{"message":"x","errorCode":"JSON_PARSER_ERROR","fields":[]}]"#,
    ] {
        let err = unified(map_error(400, body.as_bytes(), CallKind::Create));
        assert_eq!(err.downstream_errors().unwrap()[0].detail, None);
    }
}

#[test]
fn limits_become_rate_limit_errors() {
    let body =
        br#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
    let err = unified(map_error(403, body, CallKind::List));
    assert_eq!(err.type_name(), "ConnectorRateLimitError");
    assert!(err.to_string().contains("TotalRequests"));
    let err = unified(map_error(429, b"", CallKind::OneRecord));
    assert_eq!(err.type_name(), "ConnectorRateLimitError");
}

#[test]
fn missing_records_on_one_record_calls_are_not_found() {
    for (status, code) in [
        (404, "NOT_FOUND"),
        (404, "ENTITY_IS_DELETED"),
        (400, "MALFORMED_ID"),
    ] {
        let body = format!(r#"[{{"message":"gone","errorCode":"{code}"}}]"#);
        let err = unified(map_error(status, body.as_bytes(), CallKind::OneRecord));
        assert_eq!(err.type_name(), "EntityNotFoundError", "{code}");
        // on a list or create it is the downstream's problem, not a missing entity
        let err = unified(map_error(status, body.as_bytes(), CallKind::Create));
        assert_eq!(err.type_name(), "ConnectorExecutionError", "{code}");
    }
}

#[test]
fn expired_sessions_ask_for_one_refresh() {
    let body = br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
    assert_eq!(
        map_error(401, body, CallKind::List),
        Failure::RefreshAndRetry
    );
    assert_eq!(
        map_error(401, b"<html>", CallKind::List),
        Failure::RefreshAndRetry
    );
    assert_eq!(
        session_still_invalid().type_name(),
        "ConnectorCredentialsError"
    );
}

#[test]
fn odd_bodies_still_map() {
    let err = unified(map_error(500, b"<html>oops</html>", CallKind::List));
    assert_eq!(err.type_name(), "ConnectorExecutionError");
    assert_eq!(err.status_code(), 502);
    assert_eq!(err.downstream_errors().unwrap()[0].code, "HTTP_500");
    let err = unified(map_error(
        503,
        br#"[{"errorCode":"SERVER_UNAVAILABLE"}]"#,
        CallKind::List,
    ));
    assert_eq!(err.status_code(), 502);
    let err = unified(map_error(
        400,
        br#"{"message":"obj","errorCode":"X"}"#,
        CallKind::List,
    ));
    assert_eq!(err.downstream_errors().unwrap()[0].code, "X");
}

#[test]
fn limit_info_is_parsed_leniently() {
    let usage = |h: &str| parse_limit_info(h).map(|u| (u.limit(), u.remaining()));
    assert_eq!(usage("api-usage=18/5000"), Some((5000, 4982)));
    assert_eq!(
        usage("api-usage=18/5000; per-app-api-usage=17/250(appName=X)"),
        Some((5000, 4982))
    );
    assert_eq!(
        usage("per-app-api-usage=17/250(appName=X); api-usage=20/15000"),
        Some((15000, 14980))
    );
    assert_eq!(
        usage(" API-Usage = 7 / 100 , api-bursts=1/750"),
        Some((100, 93))
    );
    assert_eq!(usage("api-usage=6000/5000"), Some((5000, 0)));
    for bad in [
        "",
        "api-usage",
        "api-usage=/",
        "api-usage=a/b",
        "per-app-api-usage=1/2",
        "api-usage=99999999999999999999/1",
    ] {
        assert_eq!(parse_limit_info(bad), None, "{bad}");
    }
}
