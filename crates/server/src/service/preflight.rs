//! The authorize preflight: a provider may answer an unknown client id or a callback URL that is
//! not registered with its own error page instead of redirecting back, so Patchbay asks first.

use patchbay_oauth::ClientConfig;

use super::Vault;
use super::grant::diagnosis_text;
use crate::error::{Error, Result};

impl Vault {
    /// Asks the login host, before the browser goes there, whether it accepts our client id
    /// and callback URL. Some providers answer those two errors with their own page instead of
    /// redirecting back, so without this check the user would be stranded there and Patchbay
    /// could not name the fix. `prompt=login` keeps the probe from approving anything; any
    /// other answer (a login page, a redirect to our callback) means "go ahead".
    pub(crate) async fn preflight(&self, cfg: &ClientConfig, login_url: &str) -> Result<()> {
        let mut url = cfg.endpoint_url(patchbay_oauth::Endpoint::Authorize);
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", &self.callback_url())
            .append_pair("prompt", "login");
        let mut response = match self.http().get(url).send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(kind = ?e.is_timeout(), "authorize preflight could not reach the login host");
                return Ok(());
            }
        };
        let status = response.status();
        let mut haystack = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|l| !l.starts_with(&self.callback_url()))
            .unwrap_or("")
            .to_owned();
        if status.is_client_error() {
            let mut body = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                body.extend_from_slice(&chunk);
                if body.len() > 64 * 1024 {
                    break;
                }
            }
            haystack.push_str(&String::from_utf8_lossy(&body));
        }
        for (error, description) in [
            ("invalid_client_id", "client identifier invalid"),
            (
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            ),
        ] {
            if haystack.contains(error) {
                tracing::info!(
                    error,
                    "authorize preflight: the login host refuses this integration"
                );
                let d = patchbay_oauth::diagnose_authorize_error(
                    error,
                    Some(description),
                    &self.diag_ctx(login_url),
                );
                return Err(Error::OAuthConnector(diagnosis_text(&d)));
            }
        }
        Ok(())
    }
}
