//! Sign-in throttling per (client address, user name): a stranger's failures never lock out the
//! admin signing in from elsewhere. The server trusts `X-Forwarded-For` from 127.0.0.1 here, so
//! the test speaks for several addresses, as a reverse proxy would.

use reqwest::StatusCode;

use crate::support::{ADMIN_PASSWORD, ADMIN_USER, Knobs, TestApp, csrf_of, spawn};

/// One browser at one client address.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    address: &'static str,
    csrf: String,
}

impl<'a> Browser<'a> {
    async fn open(app: &'a TestApp, address: &'static str) -> Browser<'a> {
        let client = app.client();
        let page = client
            .get(format!("{}/admin/login", app.local_url))
            .header("x-forwarded-for", address)
            .send()
            .await
            .expect("login page");
        let csrf = csrf_of(&page.text().await.expect("html"));
        Browser {
            app,
            client,
            address,
            csrf,
        }
    }

    async fn sign_in(&self, user: &str, password: &str) -> StatusCode {
        self.client
            .post(format!("{}/admin/login", self.app.local_url))
            .header("x-forwarded-for", self.address)
            .form(&[
                ("csrf", self.csrf.as_str()),
                ("username", user),
                ("password", password),
            ])
            .send()
            .await
            .expect("sign in")
            .status()
    }
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_admin_out_from_another_address() {
    let app = spawn(Knobs {
        max_failed_logins: 3,
        behind_proxy: true,
        ..Knobs::default()
    })
    .await;
    let stranger = Browser::open(&app, "203.0.113.9").await;
    let mut refused = 0;
    for _ in 0..15 {
        match stranger.sign_in(ADMIN_USER, "wrong password!").await {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        refused >= 10,
        "the stranger was throttled ({refused} of 15 refused)"
    );
    // Even the right password is refused to the stranger's address now.
    assert_eq!(
        stranger.sign_in(ADMIN_USER, ADMIN_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The admin, from their own address, signs in at once.
    let admin = Browser::open(&app, "198.51.100.7").await;
    assert_eq!(
        admin.sign_in(ADMIN_USER, ADMIN_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn one_address_guessing_many_names_is_limited_per_address() {
    let app = spawn(Knobs {
        max_failed_logins: 2,
        behind_proxy: true,
        ..Knobs::default()
    })
    .await;
    let sprayer = Browser::open(&app, "203.0.113.50").await;
    // Two failures per name stay under the pair limit; eight in all reach the address limit.
    for name in ["a1", "a2", "a3", "a4"] {
        for _ in 0..2 {
            assert_eq!(
                sprayer.sign_in(name, "nope nope nope").await,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    assert_eq!(
        sprayer.sign_in("a5", "nope nope nope").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another address is unaffected.
    let other = Browser::open(&app, "198.51.100.8").await;
    assert_eq!(
        other.sign_in("a5", "nope nope nope").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // Not behind a proxy: the header is the client's own claim and must not split its count.
    let app = spawn(Knobs {
        max_failed_logins: 2,
        ..Knobs::default()
    })
    .await;
    let first = Browser::open(&app, "203.0.113.1").await;
    for _ in 0..2 {
        assert_eq!(
            first.sign_in(ADMIN_USER, "wrong password!").await,
            StatusCode::UNAUTHORIZED
        );
    }
    let second = Browser::open(&app, "203.0.113.2").await;
    assert_eq!(
        second.sign_in(ADMIN_USER, "wrong password!").await,
        StatusCode::TOO_MANY_REQUESTS,
        "both attempts come from 127.0.0.1, whatever the header says"
    );
}
