//! Broken, refused, slow and hostile answers: each must become a typed, correctly classified
//! error that carries no secret.

use std::time::Duration;

use patchbay_oauth::{
    ErrorClass, HttpOptions, OAuthError, RefreshToken, RetryAfter, TransportKind, http_client,
    refresh,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::stub::{assert_no_secrets, cfg_for, http, raw, stub};

#[tokio::test]
async fn provider_errors_keep_error_and_description() {
    let (cfg, _) = stub(
        400,
        &[("content-type", "application/json")],
        r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
    )
    .await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("invalid_grant");
    assert_eq!(err.class(), ErrorClass::InvalidGrant);
    assert_eq!(err.provider_error(), Some("invalid_grant"));
    assert_eq!(
        err.provider_description(),
        Some("expired access/refresh token")
    );
    assert!(!err.outcome_unknown());
    assert_no_secrets(&err);
}

#[tokio::test]
async fn html_500_is_transient() {
    let (cfg, _) = stub(
        500,
        &[("content-type", "text/html")],
        "<html><body>Oops ACCESS-SECRET</body></html>",
    )
    .await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("500");
    assert!(matches!(
        err,
        OAuthError::MalformedResponse { status: 500, .. }
    ));
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_no_secrets(&err);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let (cfg, _) = stub(429, &[("retry-after", "7")], "").await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("429");
    assert_eq!(
        err.class(),
        ErrorClass::RateLimited {
            retry_after: Some(RetryAfter::Delay(Duration::from_secs(7)))
        }
    );
    let (cfg, _) = stub(
        429,
        &[("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")],
        r#"{"error":"rate_limit_exceeded"}"#,
    )
    .await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("429");
    assert!(matches!(
        err.class(),
        ErrorClass::RateLimited {
            retry_after: Some(RetryAfter::At(_))
        }
    ));
}

#[tokio::test]
async fn malformed_success_body_is_transient_and_outcome_unknown() {
    let (cfg, _) = stub(
        200,
        &[],
        r#"{"access_token":"00D!ACCESS-SECRET","instance_url":"#,
    )
    .await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("truncated JSON");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(
        err.outcome_unknown(),
        "a 200 we could not read may have rotated the token"
    );
    assert_no_secrets(&err);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (cfg, _) = stub(302, &[("location", "http://127.0.0.1:1/elsewhere")], "").await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("302");
    assert!(matches!(
        err,
        OAuthError::MalformedResponse { status: 302, .. }
    ));
    assert_eq!(err.class(), ErrorClass::Config);
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let (cfg, _) = stub(200, &[], &"x".repeat(200 * 1024)).await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("too big");
    assert!(matches!(err, OAuthError::MalformedResponse { .. }));
    assert_eq!(err.class(), ErrorClass::Transient);
}

#[tokio::test]
async fn connection_closed_without_answer_is_transient() {
    let cfg = raw(|mut s| async move {
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        drop(s);
    })
    .await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("closed");
    assert!(matches!(err, OAuthError::Transport { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(err.outcome_unknown());
    assert_no_secrets(&err);
}

#[tokio::test]
async fn partial_body_is_a_transport_error() {
    let cfg = raw(|mut s| async move {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"access_token\":\"ACCESS-SECRET")
            .await;
        let _ = s.shutdown().await;
    })
    .await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("partial");
    assert!(
        matches!(
            err,
            OAuthError::Transport {
                kind: TransportKind::Body,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(err.outcome_unknown());
    assert_no_secrets(&err);
}

#[tokio::test]
async fn silent_server_times_out() {
    let cfg = raw(|s| async move {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(s);
        });
    })
    .await;
    let http = http_client(HttpOptions {
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_millis(300),
    })
    .expect("client");
    let err = refresh(&http, &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("timeout");
    assert!(
        matches!(
            err,
            OAuthError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
}

#[tokio::test]
async fn refused_connection_is_known_not_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let cfg = cfg_for(&format!("http://{addr}"));
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            OAuthError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(!err.outcome_unknown());
}
