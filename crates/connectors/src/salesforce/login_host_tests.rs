use super::*;

fn host(s: &str) -> LoginHost {
    LoginHost::parse(s).unwrap()
}

#[test]
fn classifies_login_hosts() {
    let cases = [
        ("https://login.salesforce.com", LoginHostKind::Production),
        ("https://login.salesforce.com/", LoginHostKind::Production),
        ("https://LOGIN.Salesforce.COM", LoginHostKind::Production),
        ("https://test.salesforce.com", LoginHostKind::Sandbox),
        ("https://acme.my.salesforce.com", LoginHostKind::MyDomain),
        (
            "https://acme--sbx.sandbox.my.salesforce.com",
            LoginHostKind::MyDomain,
        ),
        ("http://127.0.0.1:8443", LoginHostKind::Custom),
        ("http://localhost:3000/", LoginHostKind::Custom),
        ("https://sso.example.com", LoginHostKind::Custom),
        (
            "https://evil.salesforce.com.evil.com",
            LoginHostKind::Custom,
        ),
        ("https://my.salesforce.com", LoginHostKind::Custom),
    ];
    for (raw, kind) in cases {
        assert_eq!(host(raw).kind(), kind, "{raw}");
    }
    assert_eq!(
        LoginHost::production(),
        host("https://login.salesforce.com/")
    );
    assert_eq!(LoginHost::sandbox(), host("https://test.salesforce.com"));
    assert_eq!(
        host("https://LOGIN.salesforce.com/").as_str(),
        "https://login.salesforce.com"
    );
    assert_eq!(
        host("http://127.0.0.1:8443").as_str(),
        "http://127.0.0.1:8443"
    );
}

#[test]
fn rejects_bad_login_urls() {
    let cases = [
        ("login.salesforce.com", LoginUrlError::Unparsable),
        ("", LoginUrlError::Unparsable),
        (
            "ftp://login.salesforce.com",
            LoginUrlError::UnsupportedScheme,
        ),
        ("javascript:alert(1)", LoginUrlError::UnsupportedScheme),
        (
            "https://user:pw@login.salesforce.com",
            LoginUrlError::HasUserinfo,
        ),
        (
            "https://login.salesforce.com@evil.com",
            LoginUrlError::HasUserinfo,
        ),
        (
            "https://login.salesforce.com/services/oauth2",
            LoginUrlError::NotAnOrigin,
        ),
        (
            "https://login.salesforce.com?x=1",
            LoginUrlError::NotAnOrigin,
        ),
        ("https://login.salesforce.com#x", LoginUrlError::NotAnOrigin),
        (
            "http://login.salesforce.com",
            LoginUrlError::InsecureSalesforce,
        ),
        (
            "http://acme.my.salesforce.com",
            LoginUrlError::InsecureSalesforce,
        ),
        (
            "https://login.salesforce.com:8443",
            LoginUrlError::InsecureSalesforce,
        ),
    ];
    for (raw, err) in cases {
        assert_eq!(LoginHost::parse(raw), Err(err), "{raw}");
    }
}

#[test]
fn salesforce_instance_urls_accepted() {
    for login in [
        LoginHost::production(),
        LoginHost::sandbox(),
        host("https://acme.my.salesforce.com"),
    ] {
        for ok in [
            "https://acme.my.salesforce.com",
            "https://acme.my.salesforce.com/",
            "https://acme--sbx.sandbox.my.salesforce.com",
            "https://eu28.salesforce.com",
            "https://acme.lightning.force.com",
            "https://ACME.my.salesforce.com",
            "https://acme.my.salesforce.com:443",
        ] {
            assert!(instance_url_allowed(&login, ok), "{login:?} {ok}");
        }
    }
    assert_eq!(
        LoginHost::production()
            .check_instance_url("https://ACME.my.salesforce.com/")
            .as_deref(),
        Ok("https://acme.my.salesforce.com")
    );
}

#[test]
fn tricky_instance_urls_rejected() {
    let login = LoginHost::production();
    let cases = [
        (
            "https://evil.com/.my.salesforce.com",
            InstanceUrlError::NotAnOrigin,
        ),
        (
            "https://evil.com/x.salesforce.com",
            InstanceUrlError::NotAnOrigin,
        ),
        (
            "https://x.my.salesforce.com.evil.com",
            InstanceUrlError::HostNotAllowed,
        ),
        ("https://salesforce.com", InstanceUrlError::HostNotAllowed),
        ("https://.salesforce.com", InstanceUrlError::HostNotAllowed),
        (
            "https://evilsalesforce.com",
            InstanceUrlError::HostNotAllowed,
        ),
        ("https://evil-force.com", InstanceUrlError::HostNotAllowed),
        (
            "https://x.salesforce.com.",
            InstanceUrlError::HostNotAllowed,
        ),
        (
            "https://a@b.my.salesforce.com",
            InstanceUrlError::HasUserinfo,
        ),
        (
            "https://acme.my.salesforce.com@evil.com",
            InstanceUrlError::HasUserinfo,
        ),
        (
            "https://a:b@acme.my.salesforce.com",
            InstanceUrlError::HasUserinfo,
        ),
        ("http://acme.my.salesforce.com", InstanceUrlError::NotHttps),
        (
            "https://acme.my.salesforce.com:8443",
            InstanceUrlError::HasPort,
        ),
        ("https://127.0.0.1", InstanceUrlError::IpLiteral),
        ("https://[::1]", InstanceUrlError::IpLiteral),
        ("https://2130706433", InstanceUrlError::IpLiteral),
        (
            "https://acme.my.salesforce.com/services/data",
            InstanceUrlError::NotAnOrigin,
        ),
        (
            "https://acme.my.salesforce.com?x=1",
            InstanceUrlError::NotAnOrigin,
        ),
        (
            "https://acme.my.salesforce.com#frag",
            InstanceUrlError::NotAnOrigin,
        ),
        (
            "https://evil.com\\.my.salesforce.com",
            InstanceUrlError::NotAnOrigin,
        ),
        (
            "https://-x.salesforce.com",
            InstanceUrlError::HostNotAllowed,
        ),
        (
            "javascript://acme.my.salesforce.com",
            InstanceUrlError::NotHttps,
        ),
        ("acme.my.salesforce.com", InstanceUrlError::Unparsable),
        ("", InstanceUrlError::Unparsable),
    ];
    for (raw, err) in cases {
        assert_eq!(login.check_instance_url(raw), Err(err), "{raw}");
        assert!(!instance_url_allowed(&login, raw), "{raw}");
    }
}

#[test]
fn percent_encoded_and_unicode_hosts_are_judged_after_normalisation() {
    let login = LoginHost::production();
    // The parser decodes the host, so the check sees the real destination.
    assert!(!instance_url_allowed(
        &login,
        "https://evil.com%2F.salesforce.com"
    ));
    // Full-width dots map to ASCII dots under IDNA: this really is a salesforce.com host.
    assert_eq!(
        login
            .check_instance_url("https://acme\u{FF0E}my\u{FF0E}salesforce\u{FF0E}com")
            .as_deref(),
        Ok("https://acme.my.salesforce.com")
    );
}

#[test]
fn custom_login_host_allows_same_origin_only() {
    let emulator = host("http://127.0.0.1:8443");
    assert_eq!(
        emulator
            .check_instance_url("http://127.0.0.1:8443/")
            .as_deref(),
        Ok("http://127.0.0.1:8443")
    );
    for bad in [
        "http://127.0.0.1:8444",
        "https://127.0.0.1:8443",
        "http://localhost:8443",
        "https://acme.my.salesforce.com",
        "http://u@127.0.0.1:8443",
        "http://127.0.0.1:8443/path",
    ] {
        assert!(!instance_url_allowed(&emulator, bad), "{bad}");
    }
}

#[test]
fn debug_shows_origin() {
    assert_eq!(
        format!("{:?}", LoginHost::sandbox()),
        "LoginHost(Sandbox, https://test.salesforce.com)"
    );
}
