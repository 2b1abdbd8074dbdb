//! Console and hosted connect page tests: HTTP-level security checks (reqwest) and browser
//! end-to-end tests (headless Chromium through chromedriver), each against its own Patchbay
//! server, database and Salesforce emulator.

mod browser;
mod cors;
mod embed;
mod hosted;
mod hosted_browser;
mod http;
mod integration_pages;
mod nodes;
mod react_vault;
mod support;
mod throttle;
mod webhooks;
