//! Admin sessions and sign-in limits live in the database: two nodes on one database share
//! them, and a node started later (a restart) still knows a session. On SQLite and PostgreSQL.

use patchbay_console::{ConsoleConfig, PasswordParams};
use patchbay_crypto::{Keyring, SecretString};
use patchbay_server::{Application, ServerConfig};
use patchbay_store::testing::TestDatabase;
use reqwest::StatusCode;

use crate::support::csrf_of;

const USER: &str = "ops@example.com";
const PASSWORD: &str = "a long enough password";

struct Node {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Node {
    async fn start(db: &TestDatabase, keyring: &str) -> Node {
        let dir = tempfile::tempdir().expect("dir");
        let mut config = ServerConfig::new(dir.path());
        config.database_url = Some(db.url().to_owned());
        config.master_key = Some(keyring.to_owned());
        config.refresh_interval = None;
        config.listener.trusted_proxies =
            vec![patchbay_server::listener::IpNet::parse("127.0.0.1").expect("ip")];
        config
            .extensions
            .push(patchbay_console::extension_with(ConsoleConfig {
                password: PasswordParams::insecure_fast_for_tests(),
                max_failed_logins: 2,
                ..ConsoleConfig::default()
            }));
        let app = Application::build(config).await.expect("build");
        let url = format!("http://127.0.0.1:{}", app.port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Node {
            url,
            stop: Some(stop),
            served,
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.served).await;
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn sign_in(c: &reqwest::Client, node: &Node, from: &str, password: &str) -> StatusCode {
    sign_in_cookie(c, node, from, password).await.0
}

/// Signs in; the status and the admin cookie's value, when one was set.
async fn sign_in_cookie(
    c: &reqwest::Client,
    node: &Node,
    from: &str,
    password: &str,
) -> (StatusCode, Option<String>) {
    let page = c
        .get(format!("{}/admin/login", node.url))
        .header("x-forwarded-for", from)
        .send()
        .await
        .expect("page");
    let csrf = csrf_of(&page.text().await.expect("html"));
    let r = c
        .post(format!("{}/admin/login", node.url))
        .header("x-forwarded-for", from)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", USER),
            ("password", password),
        ])
        .send()
        .await
        .expect("sign in");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("pb_admin="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned());
    (r.status(), cookie)
}

/// Status of the admin home page with this client's cookie (200 signed in, 303 to sign-in).
async fn home(c: &reqwest::Client, node: &Node) -> StatusCode {
    c.get(format!("{}/admin", node.url))
        .send()
        .await
        .expect("home")
        .status()
}

async fn sessions_and_limits_are_shared(db: TestDatabase) {
    let keyring = Keyring::generate().expect("keyring").to_json().to_string();
    let a = Node::start(&db, &keyring).await;
    let b = Node::start(&db, &keyring).await;
    let store = db.store().await;
    // The admin user, created through the first node's service layer.
    let mut config = ServerConfig::new(a._dir.path());
    config.database_url = Some(db.url().to_owned());
    config.master_key = Some(keyring.clone());
    let vault = patchbay_server::app::open_vault(&config, &a.url)
        .await
        .expect("vault");
    patchbay_console::create_admin_user(
        &vault,
        USER,
        &SecretString::new(PASSWORD.to_owned()),
        PasswordParams::insecure_fast_for_tests(),
        false,
    )
    .await
    .expect("admin");

    // Signed in on node A, the same cookie is signed in on node B: no sticky sessions needed.
    let admin = client();
    let (status, cookie) = sign_in_cookie(&admin, &a, "198.51.100.7", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie.expect("the admin cookie");
    assert_eq!(home(&admin, &a).await, StatusCode::OK);
    assert_eq!(home(&admin, &b).await, StatusCode::OK);

    // Failures on node A count on node B.
    let stranger = client();
    for _ in 0..2 {
        assert_eq!(
            sign_in(&stranger, &a, "203.0.113.9", "wrong password!").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in(&stranger, &b, "203.0.113.9", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Both nodes restart; the admin is still signed in on the new ones.
    a.stop().await;
    b.stop().await;
    let c = Node::start(&db, &keyring).await;
    assert_eq!(home(&admin, &c).await, StatusCode::OK);
    // The database holds the session under the cookie's hash, never under the cookie value.
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    let hashed = patchbay_crypto::sha256_hex(cookie.as_bytes());
    let row = store
        .find_admin_session(&hashed, now)
        .await
        .expect("lookup");
    assert_eq!(row.map(|r| r.username).as_deref(), Some(USER));
    assert!(
        store
            .find_admin_session(&cookie, now)
            .await
            .expect("lookup")
            .is_none()
    );
    // Signing out on one node signs out everywhere.
    let logout_csrf = {
        let html = admin
            .get(format!("{}/admin", c.url))
            .send()
            .await
            .expect("home")
            .text()
            .await
            .expect("html");
        csrf_of(&html)
    };
    let r = admin
        .post(format!("{}/admin/logout", c.url))
        .form(&[("csrf", logout_csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        store
            .find_admin_session(&hashed, now)
            .await
            .expect("lookup")
            .is_none()
    );
    c.stop().await;
}

#[tokio::test]
async fn sessions_and_sign_in_limits_are_shared_by_nodes_on_sqlite() {
    sessions_and_limits_are_shared(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn sessions_and_sign_in_limits_are_shared_by_nodes_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        eprintln!("skipped: PostgreSQL is not reachable");
        return;
    };
    sessions_and_limits_are_shared(db).await;
}
