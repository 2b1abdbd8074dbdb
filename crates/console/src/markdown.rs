//! The repository's Markdown documentation, compiled into the binary, and its rendering to
//! HTML for `/docs`: links between the files become `/docs/…` links, and headings get the
//! GitHub-style ids the documents' own tables of contents point at.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

/// One Markdown file; `title` empty means "reachable by link, not listed in the menu".
pub struct Doc {
    pub path: &'static str,
    pub title: &'static str,
    pub text: &'static str,
}

/// One image a document shows.
pub struct Image {
    pub path: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! doc {
    ($path:literal, $title:literal) => {
        Doc {
            path: $path,
            title: $title,
            text: include_str!(concat!("../../../", $path)),
        }
    };
}

macro_rules! image {
    ($path:literal) => {
        Image {
            path: $path,
            bytes: include_bytes!(concat!("../../../", $path)),
        }
    };
}

pub const DOCS: &[Doc] = &[
    doc!("README.md", "Guide"),
    doc!("docs/emulator.md", "Salesforce emulator"),
    doc!("docs/emulator-hubspot.md", "HubSpot emulator"),
    doc!("docs/hubspot.md", "HubSpot reference"),
    doc!("docs/security.md", "Security and reliability"),
    doc!("docs/deploy.md", "Deploying"),
    doc!("docs/salesforce.md", "Salesforce reference"),
    doc!("docs/apideck.md", "Apideck API reference"),
    doc!("spec/apideck/README.md", ""),
    doc!("ARCHITECTURE.md", "Architecture"),
    doc!("bench/results.md", "Benchmarks"),
    doc!("docs/screenshots/README.md", ""),
    doc!("docs/connect-page.md", "Hosted connect page"),
];

pub const IMAGES: &[Image] = &[
    image!("docs/screenshots/admin-api-keys.png"),
    image!("docs/screenshots/admin-audit.png"),
    image!("docs/screenshots/admin-consumer-connection.png"),
    image!("docs/screenshots/admin-consumers.png"),
    image!("docs/screenshots/admin-encryption-keys.png"),
    image!("docs/screenshots/admin-logs.png"),
    image!("docs/screenshots/admin-salesforce-test-vault.png"),
    image!("docs/screenshots/admin-sign-in.png"),
    image!("docs/screenshots/admin-test-vault-refresh-secret.png"),
    image!("docs/screenshots/connect-connected.png"),
    image!("docs/screenshots/connect-denied.png"),
    image!("docs/screenshots/connect-page.png"),
    image!("docs/screenshots/connect-phone.png"),
    image!("docs/screenshots/emulator-consent.png"),
    image!("docs/screenshots/hosted-available.png"),
    image!("docs/screenshots/hosted-callable.png"),
    image!("docs/screenshots/hosted-default.png"),
    image!("docs/screenshots/hosted-disabled.png"),
    image!("docs/screenshots/hosted-my-domain-error.png"),
    image!("docs/screenshots/hosted-phone.png"),
    image!("docs/screenshots/hosted-dark.png"),
];

fn embedded(path: &str) -> bool {
    DOCS.iter().any(|d| d.path == path) || IMAGES.iter().any(|i| i.path == path)
}

/// Renders `text` (the file at `path`) to HTML.
pub fn to_html(path: &str, text: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut heading: Option<(HeadingLevel, Vec<Event<'_>>)> = None;
    let mut used_ids: Vec<String> = Vec::new();
    for event in Parser::new_ext(text, options) {
        let event = relink(path, event);
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((level, Vec::new())),
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, inner)) = heading.take() {
                    let id = unique(slug(&plain_text(&inner)), &mut used_ids);
                    events.push(Event::Start(Tag::Heading {
                        level,
                        id: Some(CowStr::from(id)),
                        classes: Vec::new(),
                        attrs: Vec::new(),
                    }));
                    events.extend(inner);
                    events.push(Event::End(TagEnd::Heading(level)));
                }
            }
            other => match &mut heading {
                Some((_, inner)) => inner.push(other),
                None => events.push(other),
            },
        }
    }
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    out
}

/// Links and images that point at another embedded file become `/docs/…`; links to files the
/// binary does not carry (licences, source files) lose their target rather than break.
fn relink<'a>(from: &str, event: Event<'a>) -> Event<'a> {
    match event {
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: rewrite(from, dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: rewrite(from, dest_url),
            title,
            id,
        }),
        other => other,
    }
}

fn rewrite<'a>(from: &str, dest: CowStr<'a>) -> CowStr<'a> {
    let d = dest.as_ref();
    if d.is_empty() || d.starts_with('#') || d.starts_with('/') || d.contains("://") {
        return dest;
    }
    if d.starts_with("mailto:") {
        return dest;
    }
    let (target, fragment) = match d.split_once('#') {
        Some((t, f)) => (t, Some(f)),
        None => (d, None),
    };
    let resolved = resolve(from, target);
    if !embedded(&resolved) {
        return CowStr::from("#");
    }
    let mut out = format!("/docs/{resolved}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    CowStr::from(out)
}

/// `target` relative to the folder of `from`, with `.` and `..` folded.
fn resolve(from: &str, target: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn plain_text(events: &[Event<'_>]) -> String {
    let mut s = String::new();
    for e in events {
        if let Event::Text(t) | Event::Code(t) = e {
            s.push_str(t);
        }
    }
    s
}

/// GitHub's heading anchors: lower case, punctuation dropped, spaces become hyphens.
pub fn slug(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().collect::<String>())
            } else if c == ' ' {
                Some("-".to_owned())
            } else {
                None
            }
        })
        .collect()
}

fn unique(base: String, used: &mut Vec<String>) -> String {
    let mut id = base.clone();
    let mut n = 1;
    while used.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    used.push(id.clone());
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_github_ids() {
        let html = to_html(
            "README.md",
            "## The APIs\n\n## Test Vault: diagnostics\n\n## The APIs\n",
        );
        assert!(
            html.contains(r#"<h2 id="the-apis">The APIs</h2>"#),
            "{html}"
        );
        assert!(html.contains(r#"id="test-vault-diagnostics""#), "{html}");
        assert!(html.contains(r#"id="the-apis-1""#), "{html}");
    }

    #[test]
    fn links_between_embedded_files_become_docs_links() {
        let html = to_html(
            "README.md",
            "[emu](docs/emulator.md#control) [arch](ARCHITECTURE.md) [lic](LICENSE-MIT) \
             [web](https://example.com) [here](#the-demo) ![s](docs/screenshots/connect-page.png)",
        );
        assert!(
            html.contains(r#"href="/docs/docs/emulator.md#control""#),
            "{html}"
        );
        assert!(html.contains(r#"href="/docs/ARCHITECTURE.md""#), "{html}");
        assert!(html.contains(r##"href="#">lic"##), "{html}");
        assert!(html.contains(r#"href="https://example.com""#), "{html}");
        assert!(html.contains(r##"href="#the-demo""##), "{html}");
        assert!(
            html.contains(r#"src="/docs/docs/screenshots/connect-page.png""#),
            "{html}"
        );
    }

    #[test]
    fn relative_links_resolve_from_the_documents_folder() {
        assert_eq!(
            resolve("docs/screenshots/README.md", "a.png"),
            "docs/screenshots/a.png"
        );
        assert_eq!(resolve("docs/emulator.md", "../README.md"), "README.md");
        assert_eq!(
            resolve("README.md", "./docs/emulator.md"),
            "docs/emulator.md"
        );
    }

    #[test]
    fn every_embedded_document_renders_and_links_only_to_embedded_files() {
        for d in DOCS {
            let html = to_html(d.path, d.text);
            assert!(!html.is_empty(), "{}", d.path);
            for link in html.split("href=\"/docs/").skip(1) {
                let target = link.split(['"', '#']).next().unwrap_or("");
                assert!(embedded(target), "{} links to {target}", d.path);
            }
        }
    }
}
