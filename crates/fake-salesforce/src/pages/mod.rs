//! The HTML login, consent and error pages of `/services/oauth2/authorize`.
//!
//! Plain, accessible forms: a browser test drives them by the ids `username`, `password`,
//! `Login`, `allow` and `deny`. Every echoed value is HTML-escaped; forms carry only the
//! transaction id, never the authorize parameters themselves.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f3f3f3;margin:0}\
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}h1{font-size:1.3rem;margin-top:0}label{display:block;\
margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;box-sizing:border-box;\
padding:.5rem}button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}\
.error{color:#b00020;background:#fdecea;padding:.5rem;border-radius:.3rem}\
.note{color:#555;font-size:.85rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        title = escape(title),
    )
}

/// Pages with a per-request form must not be cached or framed.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// The login form. `action` is the host-relative path it posts to.
pub fn login(action: &str, tx: &str, username: &str, error: Option<&str>) -> Response {
    let error_html = error.map_or_else(String::new, |e| {
        format!(
            "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
            escape(e)
        )
    });
    let body = format!(
        "<h1>Log in to Salesforce (emulator)</h1>{error_html}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"tx\" value=\"{tx}\">\
         <label for=\"username\">Username</label>\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" \
         autocomplete=\"username\" required>\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" \
         autocomplete=\"current-password\" required>\
         <button type=\"submit\" id=\"Login\" name=\"Login\">Log In</button></form>\
         <p class=\"note\">This is a local Salesforce emulator.</p>",
        action = escape(action),
        tx = escape(tx),
        username = escape(username),
    );
    html(StatusCode::OK, page("Login | Salesforce", &body))
}

/// The Allow/Deny page.
pub fn consent(
    action: &str,
    tx: &str,
    app_name: &str,
    username: &str,
    scopes: &[String],
) -> Response {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    let body = format!(
        "<h1>Allow Access?</h1>\
         <p><strong>{app}</strong> is asking to access your account \
         (<span id=\"consent-user\">{user}</span>):</p><ul id=\"scopes\">{items}</ul>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"tx\" value=\"{tx}\">\
         <button type=\"submit\" id=\"allow\" name=\"decision\" value=\"allow\">Allow</button> \
         <button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\">Deny</button>\
         </form>",
        app = escape(app_name),
        user = escape(username),
        action = escape(action),
        tx = escape(tx),
    );
    html(StatusCode::OK, page("Allow Access? | Salesforce", &body))
}

/// The no-redirect error page Salesforce shows for an unknown client or a bad redirect URI.
pub fn error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = format!(
        "<h1>Error</h1><p class=\"error\" role=\"alert\">\
         error=<span id=\"error-code\">{code}</span>&amp;error_description=\
         <span id=\"error-description\">{desc}</span></p>",
        code = escape(error),
        desc = escape(description),
    );
    html(status, page("Error | Salesforce", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }
}
