//! API versions: the versions list (`GET /services/data/`), the `vXX.X` path segment and the
//! `latest` alias, and the resource directory of one version.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use super::error::ok;
use crate::state::Emulator;

/// The oldest version served; Salesforce has retired 21.0 to 30.0.
pub const OLDEST_MAJOR: u32 = 31;

/// A supported API version, e.g. `66.0`, resolved from the path (`v66.0` or `latest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersion(u32);

impl ApiVersion {
    /// Resolves a path segment against the org's newest version; `None` for anything the org
    /// does not serve, which the caller answers with `404 NOT_FOUND`.
    pub fn resolve(segment: &str, latest: &str) -> Option<ApiVersion> {
        let latest = parse_major(latest)?;
        if segment == "latest" {
            return Some(ApiVersion(latest));
        }
        let major = parse_major(segment.strip_prefix('v')?)?;
        (OLDEST_MAJOR..=latest)
            .contains(&major)
            .then_some(ApiVersion(major))
    }

    /// `66.0`
    pub fn number(self) -> String {
        format!("{}.0", self.0)
    }

    /// `/services/data/v66.0`, the prefix of every URL the API hands out.
    pub fn base(self) -> String {
        format!("/services/data/v{}.0", self.0)
    }
}

/// `66.0` -> 66. Salesforce versions are always `N.0`.
fn parse_major(s: &str) -> Option<u32> {
    let major = s.strip_suffix(".0")?;
    if major.is_empty()
        || major.len() > 3
        || major.starts_with('0')
        || !major.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    major.parse().ok()
}

/// The release name of a version. Salesforce ships three releases a year (Winter, Spring,
/// Summer, with Winter named after the following year), so 62.0 = Winter '25 and the rest
/// follows arithmetically; 31.0 comes out as Summer '14, as it was.
pub fn release_label(major: u32) -> String {
    let k = i64::from(major) - 62;
    let year = 25 + k.div_euclid(3);
    let season = match k.rem_euclid(3) {
        0 => "Winter",
        1 => "Spring",
        _ => "Summer",
    };
    format!("{season} '{:02}", year.rem_euclid(100))
}

#[derive(Serialize)]
struct VersionEntry {
    label: String,
    url: String,
    version: String,
}

/// `GET /services/data/`: no authentication, not counted, no `Sforce-Limit-Info`.
pub async fn list_versions(State(emu): State<Emulator>) -> Response {
    let latest = parse_major(emu.latest_api_version()).unwrap_or(OLDEST_MAJOR);
    let versions: Vec<VersionEntry> = (OLDEST_MAJOR..=latest)
        .map(|major| {
            let v = ApiVersion(major);
            VersionEntry {
                label: release_label(major),
                url: v.base(),
                version: v.number(),
            }
        })
        .collect();
    ok(&versions)
}

/// `GET /services/data/vXX.X/`: the resources this version offers.
pub fn directory(v: ApiVersion) -> Response {
    let base = v.base();
    let resource = |name: &str| format!("{base}/{name}");
    ok(&json!({
        "limits": resource("limits"),
        "sobjects": resource("sobjects"),
        "query": resource("query"),
        "queryAll": resource("queryAll"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_the_documented_releases() {
        let expected = [
            (62, "Winter '25"),
            (63, "Spring '25"),
            (64, "Summer '25"),
            (65, "Winter '26"),
            (66, "Spring '26"),
            (67, "Summer '26"),
            (68, "Winter '27"),
            (31, "Summer '14"),
        ];
        for (major, label) in expected {
            assert_eq!(release_label(major), label, "{major}");
        }
    }

    #[test]
    fn resolves_only_served_versions() {
        assert_eq!(ApiVersion::resolve("v66.0", "66.0"), Some(ApiVersion(66)));
        assert_eq!(ApiVersion::resolve("latest", "66.0"), Some(ApiVersion(66)));
        assert_eq!(ApiVersion::resolve("v31.0", "66.0"), Some(ApiVersion(31)));
        for bad in [
            "v67.0", "v30.0", "66.0", "v66", "v66.1", "v.0", "v0066.0", "v066.0", "V66.0", "vx.0",
            "",
        ] {
            assert_eq!(ApiVersion::resolve(bad, "66.0"), None, "{bad}");
        }
    }
}
