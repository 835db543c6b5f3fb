//! CORS through the app: which web origins a browser may call from (`CORS_ALLOWED_ORIGINS`,
//! by default the site's own: `SITE_URL`, `API_EXTERNAL_URL` and `URI_ALLOW_LIST`), what a
//! preflight and an answer carry for an allowed and for any other origin, and `*` only by
//! choice. The support config has `SITE_URL=http://localhost:3000` and
//! `API_EXTERNAL_URL=http://auth.test`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::{App, Config, ConfigError};
use std::collections::HashMap;
use support::*;

fn preflight(app: &App<TestPorts>, origin: &str) -> Reply {
    send(app, request("OPTIONS", "/token", b"", &[("origin", origin), ("access-control-request-method", "POST")]))
}

fn health_from(app: &App<TestPorts>, origin: &str) -> Reply {
    send(app, request("GET", "/health", b"", &[("origin", origin)]))
}

fn header<'r>(r: &'r Reply, name: &str) -> Option<&'r str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

fn varies_by_origin(r: &Reply) -> bool {
    r.headers.get_all("vary").iter().any(|v| v.to_str().unwrap().split(',').any(|p| p.trim().eq_ignore_ascii_case("origin")))
}

#[test]
fn by_default_the_sites_origin_may_call_and_a_stranger_gets_no_cors_answer() {
    let app = app();
    let pre = preflight(&app, "http://localhost:3000");
    assert_eq!(pre.status, 204);
    assert_eq!(header(&pre, "access-control-allow-origin"), Some("http://localhost:3000"));
    assert!(header(&pre, "access-control-allow-headers").unwrap().contains("authorization"));
    assert!(header(&pre, "access-control-allow-methods").unwrap().contains("POST"));
    assert!(varies_by_origin(&pre));
    let r = health_from(&app, "http://localhost:3000");
    assert_eq!(header(&r, "access-control-allow-origin"), Some("http://localhost:3000"));
    assert!(header(&r, "access-control-expose-headers").unwrap().contains("x-sb-error-code"));
    assert!(varies_by_origin(&r));

    for stranger in ["https://evil.example", "http://localhost:3001", "https://localhost:3000", "null", "http://localhost:3000.evil.example"] {
        let pre = preflight(&app, stranger);
        assert_eq!(header(&pre, "access-control-allow-origin"), None, "{stranger}");
        assert_eq!(header(&pre, "access-control-allow-methods"), None, "{stranger}");
        assert_eq!(header(&pre, "access-control-allow-headers"), None, "{stranger}");
        assert!(varies_by_origin(&pre), "{stranger}");
        let r = health_from(&app, stranger);
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{stranger}");
        assert!(varies_by_origin(&r), "{stranger}");
    }
    // A cache in front must not hand an answer without the header to an allowed origin.
    let plain = send(&app, request("GET", "/health", b"", &[]));
    assert!(varies_by_origin(&plain));
}

#[test]
fn the_default_takes_the_origins_of_the_api_and_of_the_redirect_allow_list() {
    let app = app_with(&[("URI_ALLOW_LIST", "https://App.Example.com:443/welcome, http://127.0.0.1:5173/")]);
    for allowed in ["http://auth.test", "http://localhost:3000", "https://app.example.com", "http://127.0.0.1:5173"] {
        assert_eq!(header(&preflight(&app, allowed), "access-control-allow-origin"), Some(allowed), "{allowed}");
    }
    assert_eq!(header(&preflight(&app, "http://127.0.0.1:5174"), "access-control-allow-origin"), None);
}

#[test]
fn a_list_replaces_the_default_and_star_is_every_origin_only_by_choice() {
    let app = app_with(&[("CORS_ALLOWED_ORIGINS", "https://a.example, https://b.example:8443")]);
    assert_eq!(header(&preflight(&app, "https://b.example:8443"), "access-control-allow-origin"), Some("https://b.example:8443"));
    assert_eq!(header(&preflight(&app, "https://a.example"), "access-control-allow-origin"), Some("https://a.example"));
    assert_eq!(header(&preflight(&app, "http://localhost:3000"), "access-control-allow-origin"), None);

    let any = app_with(&[("CORS_ALLOWED_ORIGINS", "*")]);
    let pre = preflight(&any, "https://anyone.example");
    assert_eq!(header(&pre, "access-control-allow-origin"), Some("*"));
    assert!(header(&pre, "access-control-allow-methods").is_some());
    assert_eq!(header(&health_from(&any, "https://anyone.example"), "access-control-allow-origin"), Some("*"));
}

#[test]
fn an_allowed_origins_list_that_is_not_origins_is_refused_at_start() {
    for bad in ["https://a.example/path", "*, https://a.example", "ftp://a.example", "a.example", "https://", "https://a.example?x"] {
        let vars: HashMap<&str, &str> = HashMap::from([
            ("SITE_URL", "http://localhost:3000"),
            ("API_EXTERNAL_URL", "http://auth.test"),
            ("JWT_SECRET", "test-secret-test-secret-test-secret!"),
            ("CORS_ALLOWED_ORIGINS", bad),
        ]);
        let err = Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "CORS_ALLOWED_ORIGINS", .. }), "{bad}: {err}");
    }
}
