//! What the demo prints: the next steps, each a command a reader can paste as it stands. The
//! smoke run executes this same list, so what is printed is what is tested.

use std::path::Path;

pub const CONSUMER: &str = "demo-consumer";

/// The CRMs the demo offers, as `x-apideck-service-id` names them, with their display names.
pub const SERVICES: [(&str, &str); 2] = [("salesforce", "Salesforce"), ("hubspot", "HubSpot")];

/// What each proxy step asks the CRM's own API for: a few accounts or companies.
const SALESFORCE_PROXY_PATH: &str =
    "/services/data/v66.0/query?q=SELECT+Id,Name+FROM+Account+LIMIT+3";
const HUBSPOT_PROXY_PATH: &str = "/crm/v3/objects/companies?limit=3&properties=name";

/// One HTTP call the reader is told to make with curl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub title: &'static str,
    /// The CRM it addresses (`x-apideck-service-id`), if any.
    pub service: Option<&'static str>,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
}

/// Everything the instructions name.
pub struct NextSteps {
    pub base: String,
    pub admin_user: &'static str,
    pub admin_password: String,
    pub emulator_url: String,
    pub emulator_user: String,
    pub emulator_password: String,
    pub hubspot_url: String,
    pub hubspot_user: String,
    pub hubspot_password: String,
    pub data_dir: String,
    pub app: String,
    pub api_key: String,
    pub session_uri: String,
    pub authorize_url: Option<String>,
    /// How to run this binary again from where the reader is (see [`invocation`]).
    pub invocation: String,
    /// Whether the demo customer's org is already connected (kept from an earlier run).
    pub connected: bool,
    /// Whether the demo customer's HubSpot account is already connected.
    pub hubspot_connected: bool,
}

impl NextSteps {
    /// The printed curl steps, in order: the Vault call, then a unified CRM call and a proxy
    /// call on each CRM ([`Call::service`] says which).
    pub fn calls(&self) -> Vec<Call> {
        let headers = vec![
            ("Authorization", format!("Bearer {}", self.api_key)),
            ("x-apideck-app-id", self.app.clone()),
            ("x-apideck-consumer-id", CONSUMER.to_owned()),
        ];
        let on = |service: &str| {
            let mut h = headers.clone();
            h.push(("x-apideck-service-id", service.to_owned()));
            h
        };
        let proxied = |service: &str, path: &str| {
            let mut h = on(service);
            h.push(("x-apideck-downstream-url", path.to_owned()));
            h
        };
        vec![
            Call {
                title: "First Vault call (each connection's state becomes \"callable\" once connected)",
                service: None,
                url: format!("{}/vault/connections", self.base),
                headers: headers.clone(),
            },
            Call {
                title: "First CRM call, on Salesforce",
                service: Some("salesforce"),
                url: format!("{}/crm/contacts", self.base),
                headers: on("salesforce"),
            },
            Call {
                title: "The same call on HubSpot (only the service id differs)",
                service: Some("hubspot"),
                url: format!("{}/crm/contacts", self.base),
                headers: on("hubspot"),
            },
            Call {
                title: "Salesforce's own API through the proxy",
                service: Some("salesforce"),
                url: format!("{}/proxy", self.base),
                headers: proxied("salesforce", SALESFORCE_PROXY_PATH),
            },
            Call {
                title: "HubSpot's own API through the proxy",
                service: Some("hubspot"),
                url: format!("{}/proxy", self.base),
                headers: proxied("hubspot", HUBSPOT_PROXY_PATH),
            },
        ]
    }

    /// `doctor`'s arguments for one CRM (`salesforce`, `hubspot`), after the invocation.
    pub fn doctor_args(&self, service: &str) -> Vec<String> {
        let integration = format!("crm/{service}");
        [
            "doctor",
            "--data-dir",
            &self.data_dir,
            "--public-url",
            &self.base,
            "--app",
            &self.app,
            &integration,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    pub fn doctor_command(&self, service: &str) -> String {
        format!(
            "{} {}",
            self.invocation,
            self.doctor_args(service).join(" ")
        )
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "\
Patchbay demo is running (Ctrl-C to stop).

  Patchbay             {base}
  Admin console        {base}/admin  (user {admin_user}, password {admin_password})
  Salesforce emulator  {emu}  (user {user}, password {password})
  HubSpot emulator     {hs}  (user {hs_user}, password {hs_password})
  Data dir             {data_dir}
  Application          {app}
  API key              {key}

",
            base = self.base,
            admin_user = self.admin_user,
            admin_password = self.admin_password,
            emu = self.emulator_url,
            user = self.emulator_user,
            password = self.emulator_password,
            hs = self.hubspot_url,
            hs_user = self.hubspot_user,
            hs_password = self.hubspot_password,
            data_dir = self.data_dir,
            app = self.app,
            key = self.api_key,
        );
        let kept = match (self.connected, self.hubspot_connected) {
            (true, true) => Some("Salesforce org and HubSpot account are"),
            (true, false) => Some("Salesforce org is"),
            (false, true) => Some("HubSpot account is"),
            (false, false) => None,
        };
        if let Some(what) = kept {
            out.push_str(&format!(
                "1. The demo customer's {what} still connected from the last run. To connect\n   again (or the other CRM), open this link in a browser:\n   {}\n",
                self.session_uri
            ));
        } else {
            out.push_str(&format!(
                "1. Connect the demo customer's CRMs: open this link in a browser; it offers Salesforce\n   and HubSpot. Connect either or both:\n   {}\n",
                self.session_uri
            ));
        }
        if (&self.emulator_user, &self.emulator_password)
            == (&self.hubspot_user, &self.hubspot_password)
        {
            out.push_str(&format!(
                "   On either CRM's page, sign in as {} / {}.\n",
                self.emulator_user, self.emulator_password
            ));
        } else {
            out.push_str(&format!(
                "   Sign in to Salesforce as {} / {},\n   to HubSpot as {} / {}.\n",
                self.emulator_user,
                self.emulator_password,
                self.hubspot_user,
                self.hubspot_password
            ));
        }
        if let Some(u) = &self.authorize_url {
            out.push_str(&format!(
                "   Or go straight to Salesforce's login:\n   {u}\n"
            ));
        }
        let calls = self.calls();
        for (i, call) in calls.iter().enumerate() {
            out.push_str(&format!("\n{}. {}:\n{}\n", i + 2, call.title, curl(call)));
        }
        out.push_str(&format!(
            "\n{}. Check the integrations (\"Test Vault\"):\n",
            calls.len() + 2
        ));
        for (service, _) in SERVICES {
            out.push_str(&format!("   {}\n", self.doctor_command(service)));
        }
        out
    }
}

/// The call as a curl command line, one header per line.
pub fn curl(call: &Call) -> String {
    let mut s = format!("curl -s {}", call.url);
    for (name, value) in &call.headers {
        s.push_str(&format!(" \\\n  -H '{name}: {value}'"));
    }
    s
}

/// How the reader runs this binary again: `cargo run [--release] --` when the demo itself was
/// started by `cargo run` (the binary is then not on the reader's PATH), `patchbay` when that
/// name finds this very binary, else the binary's full path.
pub fn invocation() -> String {
    let exe = std::env::current_exe().ok();
    let on_path = exe.as_deref().is_some_and(|exe| {
        std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| same_file(&dir.join("patchbay"), exe))
        })
    });
    choose_invocation(
        std::env::var_os("CARGO").is_some() && std::env::var_os("CARGO_PKG_NAME").is_some(),
        cfg!(debug_assertions),
        on_path,
        exe.as_deref(),
    )
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The decision behind [`invocation`], as a pure function.
pub fn choose_invocation(
    under_cargo: bool,
    debug_build: bool,
    on_path: bool,
    exe: Option<&Path>,
) -> String {
    if under_cargo {
        return if debug_build {
            "cargo run --".to_owned()
        } else {
            "cargo run --release --".to_owned()
        };
    }
    if on_path {
        return "patchbay".to_owned();
    }
    match exe {
        Some(p) => {
            let s = p.display().to_string();
            if s.contains(|c: char| c.is_whitespace() || c == '\'') {
                format!("'{}'", s.replace('\'', r"'\''"))
            } else {
                s
            }
        }
        None => "patchbay".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> NextSteps {
        NextSteps {
            base: "http://127.0.0.1:8080".to_owned(),
            admin_user: "admin",
            admin_password: "pw".to_owned(),
            emulator_url: "http://127.0.0.1:8787".to_owned(),
            emulator_user: "admin@emulator.test".to_owned(),
            emulator_password: "password123".to_owned(),
            hubspot_url: "http://127.0.0.1:8788".to_owned(),
            hubspot_user: "admin@emulator.test".to_owned(),
            hubspot_password: "password123".to_owned(),
            data_dir: "./.patchbay-demo".to_owned(),
            app: "01a2".to_owned(),
            api_key: "pbk_x_y".to_owned(),
            session_uri: "http://127.0.0.1:8080/session/j".to_owned(),
            authorize_url: None,
            invocation: "cargo run --release --".to_owned(),
            connected: false,
            hubspot_connected: false,
        }
    }

    #[test]
    fn the_doctor_line_runs_from_the_project_root_after_cargo_run() {
        assert_eq!(
            steps().doctor_command("salesforce"),
            "cargo run --release -- doctor --data-dir ./.patchbay-demo --public-url http://127.0.0.1:8080 --app 01a2 crm/salesforce"
        );
        assert!(steps().doctor_command("hubspot").ends_with(" crm/hubspot"));
    }

    #[test]
    fn invocation_follows_how_the_demo_was_started() {
        let exe = Path::new("/opt/patch bay/patchbay");
        assert_eq!(
            choose_invocation(true, false, false, Some(exe)),
            "cargo run --release --"
        );
        assert_eq!(
            choose_invocation(true, true, true, Some(exe)),
            "cargo run --"
        );
        assert_eq!(choose_invocation(false, false, true, Some(exe)), "patchbay");
        assert_eq!(
            choose_invocation(false, false, false, Some(exe)),
            "'/opt/patch bay/patchbay'"
        );
        assert_eq!(
            choose_invocation(false, true, false, Some(Path::new("/x/patchbay"))),
            "/x/patchbay"
        );
    }

    #[test]
    fn the_printed_curls_are_the_calls() {
        let s = steps();
        let text = s.render();
        for call in s.calls() {
            assert!(text.contains(&curl(&call)), "{text}");
        }
        for (service, _) in SERVICES {
            assert!(text.contains(&s.doctor_command(service)), "{text}");
        }
    }

    #[test]
    fn both_crms_are_offered_and_each_gets_a_crm_and_a_proxy_call() {
        let s = steps();
        let text = s.render();
        assert!(
            text.contains("HubSpot emulator     http://127.0.0.1:8788"),
            "{text}"
        );
        assert!(
            text.contains("it offers Salesforce\n   and HubSpot"),
            "{text}"
        );
        let calls = s.calls();
        for (service, _) in SERVICES {
            let on: Vec<&Call> = calls
                .iter()
                .filter(|c| c.service == Some(service))
                .collect();
            let named = |c: &&Call| {
                c.headers
                    .iter()
                    .any(|(k, v)| *k == "x-apideck-service-id" && v == service)
            };
            assert!(on.iter().all(named), "{on:?}");
            assert!(
                on.iter().any(|c| c.url.ends_with("/crm/contacts")),
                "{service}"
            );
            assert!(
                on.iter().any(|c| c.url.ends_with("/proxy")
                    && c.headers
                        .iter()
                        .any(|(k, _)| *k == "x-apideck-downstream-url")),
                "{service}"
            );
        }
        let mut connected = steps();
        connected.hubspot_connected = true;
        assert!(
            connected
                .render()
                .contains("HubSpot account is still connected from the last run"),
        );
    }
}
