//! The integration page renders whichever connector the integration is: HubSpot's page shows
//! HubSpot's fields (client ID and secret, its scopes) and none of Salesforce's choices, the
//! Salesforce page keeps its own, and a HubSpot integration saved through the page is stored as
//! HubSpot's.

use patchbay_core::{ServiceId, UnifiedApi};
use reqwest::StatusCode;

use crate::http::sign_in;
use crate::support::{Knobs, TestApp, csrf_of, spawn};

async fn page(app: &TestApp, client: &reqwest::Client, service: &str) -> (StatusCode, String) {
    let res = client
        .get(format!(
            "{}/admin/apps/{}/integrations/{service}",
            app.local_url, app.app_id
        ))
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn each_integration_page_shows_its_own_connector() {
    let app = spawn(Knobs::default()).await;
    let (client, _) = sign_in(&app).await;

    let (status, hs) = page(&app, &client, "hubspot").await;
    assert_eq!(status, StatusCode::OK);
    assert!(hs.contains("<h1>HubSpot</h1>"), "{hs}");
    for own in [
        "<label for=\"client_id\">Client ID</label>",
        "<label for=\"client_secret\">Client secret</label>",
        "name=\"scope_contacts\"",
        "crm.objects.contacts.read, crm.objects.contacts.write",
        "crm.objects.owners.read",
        "name=\"scope_email_content\"",
        "sales-email-read",
        "id=\"login-hubspot\"",
        "HubSpot (https://app.hubspot.com)",
        "Paste this as a Redirect URL",
        "aria-current=\"page\">HubSpot</a>",
    ] {
        assert!(hs.contains(own), "HubSpot's page shows {own:?}");
    }
    // Nothing of Salesforce's setup: no login-host presets, no My Domain, no PKCE or refresh
    // secret choice (HubSpot has neither), no consumer key, no External Client App.
    for foreign in [
        "id=\"login-production\"",
        "id=\"login-sandbox\"",
        "name=\"my_domain\"",
        "name=\"pkce\"",
        "name=\"send_secret_on_refresh\"",
        "Consumer key",
        "External Client App",
        "salesforce.com",
        "name=\"scope_api\"",
    ] {
        assert!(!hs.contains(foreign), "HubSpot's page shows {foreign:?}");
    }
    // The tab bar offers every connector; the other tab is only a link.
    assert!(hs.contains("id=\"tab-salesforce\""));

    let (status, sf) = page(&app, &client, "salesforce").await;
    assert_eq!(status, StatusCode::OK);
    assert!(sf.contains("<h1>Salesforce</h1>"));
    for own in [
        "<label for=\"client_id\">Consumer key</label>",
        "id=\"login-production\"",
        "id=\"login-sandbox\"",
        "name=\"my_domain\"",
        "name=\"pkce\"",
        "name=\"send_secret_on_refresh\"",
        "name=\"scope_api\"",
        "New External Client App",
        "up to 10 minutes",
    ] {
        assert!(sf.contains(own), "Salesforce's page shows {own:?}");
    }
    assert!(!sf.contains("crm.objects.contacts.read"));

    let (status, _) = page(&app, &client, "nocrm").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_hubspot_integration_is_saved_from_its_page() {
    let app = spawn(Knobs::default()).await;
    let (client, _) = sign_in(&app).await;
    let (_, html) = page(&app, &client, "hubspot").await;
    let csrf = csrf_of(&html);
    let res = client
        .post(format!(
            "{}/admin/apps/{}/integrations/hubspot",
            app.local_url, app.app_id
        ))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "hubspot"),
            ("client_id", "hs-client-1"),
            ("client_secret", "hs-secret-1"),
            ("scope_oauth", "on"),
            ("scope_contacts", "on"),
            ("enabled", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Run Test Vault to check them against HubSpot."),
        "{html}"
    );
    assert!(!html.contains("hs-secret-1"), "the secret is never shown");
    let hubspot = ServiceId::parse("hubspot").unwrap();
    let i = app
        .vault
        .get_integration(&app.app_id, &UnifiedApi::crm(), &hubspot)
        .await
        .unwrap();
    assert_eq!(i.client_id.as_deref(), Some("hs-client-1"));
    assert!(i.has_client_secret);
    assert_eq!(
        i.settings.scopes.to_string(),
        "oauth crm.objects.contacts.read crm.objects.contacts.write"
    );
    assert_eq!(i.settings.login_host.as_str(), "https://app.hubspot.com");
    // The page shows what was stored, in HubSpot's words.
    let (_, html) = page(&app, &client, "hubspot").await;
    assert!(html.contains("value=\"hs-client-1\""));
    assert!(html.contains("id=\"login-hubspot\" checked"));
    assert!(html.contains("id=\"scope_contacts\" value=\"on\" checked"));
    assert!(!html.contains("id=\"scope_deals\" value=\"on\" checked"));
    // The Salesforce integration is untouched.
    let sf = app
        .vault
        .get_integration(&app.app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .unwrap();
    assert_eq!(sf.client_id.as_deref(), Some(app.client_id.as_str()));
}
