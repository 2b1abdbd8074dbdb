//! What the demo prints: the next steps, each a command a reader can paste as it stands. The
//! smoke run executes this same list, so what is printed is what is tested.

use std::path::Path;

pub const CONSUMER: &str = "demo-consumer";

/// One HTTP call the reader is told to make with curl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub title: &'static str,
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
    pub data_dir: String,
    pub app: String,
    pub api_key: String,
    pub session_uri: String,
    pub authorize_url: Option<String>,
    /// How to run this binary again from where the reader is (see [`invocation`]).
    pub invocation: String,
    /// Whether the demo customer's org is already connected (kept from an earlier run).
    pub connected: bool,
}

impl NextSteps {
    pub fn calls(&self) -> Vec<Call> {
        let headers = vec![
            ("Authorization", format!("Bearer {}", self.api_key)),
            ("x-apideck-app-id", self.app.clone()),
            ("x-apideck-consumer-id", CONSUMER.to_owned()),
        ];
        let mut crm = headers.clone();
        crm.push(("x-apideck-service-id", "salesforce".to_owned()));
        vec![
            Call {
                title: "First Vault call (the connection's state becomes \"callable\" once connected)",
                url: format!("{}/vault/connections", self.base),
                headers,
            },
            Call {
                title: "First CRM call",
                url: format!("{}/crm/contacts", self.base),
                headers: crm,
            },
        ]
    }

    /// `doctor`'s arguments, after the invocation.
    pub fn doctor_args(&self) -> Vec<String> {
        [
            "doctor",
            "--data-dir",
            &self.data_dir,
            "--public-url",
            &self.base,
            "--app",
            &self.app,
            "crm/salesforce",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    pub fn doctor_command(&self) -> String {
        format!("{} {}", self.invocation, self.doctor_args().join(" "))
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "\
Patchbay demo is running (Ctrl-C to stop).

  Patchbay             {base}
  Admin console        {base}/admin  (user {admin_user}, password {admin_password})
  Salesforce emulator  {emu}  (user {user}, password {password})
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
            data_dir = self.data_dir,
            app = self.app,
            key = self.api_key,
        );
        if self.connected {
            out.push_str(&format!(
                "1. The demo customer's Salesforce org is still connected from the last run. To connect\n   again (or as another user), open this link in a browser and log in as {} / {}:\n   {}\n",
                self.emulator_user, self.emulator_password, self.session_uri
            ));
        } else {
            out.push_str(&format!(
                "1. Connect the demo customer's Salesforce org: open this link in a browser and log in as\n   {} / {}:\n   {}\n",
                self.emulator_user, self.emulator_password, self.session_uri
            ));
        }
        if let Some(u) = &self.authorize_url {
            out.push_str(&format!(
                "   Or go straight to Salesforce's login:\n   {u}\n"
            ));
        }
        for (i, call) in self.calls().iter().enumerate() {
            out.push_str(&format!("\n{}. {}:\n{}\n", i + 2, call.title, curl(call)));
        }
        out.push_str(&format!(
            "\n4. Check the integration (\"Test Vault\"):\n   {}\n",
            self.doctor_command()
        ));
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
            data_dir: "./.patchbay-demo".to_owned(),
            app: "01a2".to_owned(),
            api_key: "pbk_x_y".to_owned(),
            session_uri: "http://127.0.0.1:8080/session/j".to_owned(),
            authorize_url: None,
            invocation: "cargo run --release --".to_owned(),
            connected: false,
        }
    }

    #[test]
    fn the_doctor_line_runs_from_the_project_root_after_cargo_run() {
        assert_eq!(
            steps().doctor_command(),
            "cargo run --release -- doctor --data-dir ./.patchbay-demo --public-url http://127.0.0.1:8080 --app 01a2 crm/salesforce"
        );
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
        assert!(text.contains(&s.doctor_command()));
    }
}
