//! Property tests: deep, long and random input thrown at every parser the worker runs (the
//! app's routing and body checks, JSON bodies of every endpoint, forms, query strings, bearer
//! tokens, GraphQL documents). Whatever comes in, the answer is a response below 500, and no
//! input overflows a stack. Longer fuzzing than `make test` allows: `PROPTEST_CASES=20000`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::dialects::graphql_guard::{check_text, Limit, MAX_NESTING};
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use proptest::prelude::*;
use support::*;

/// Every endpoint that reads input, with the body type it takes.
const ENDPOINTS: &[(&str, &str, &str)] = &[
    ("POST", "/auth/v1/signup", "application/json"),
    ("POST", "/auth/v1/token?grant_type=password", "application/json"),
    ("POST", "/auth/v1/token?grant_type=refresh_token", "application/json"),
    ("POST", "/auth/v1/verify", "application/json"),
    ("GET", "/auth/v1/verify?token=%ff%00&type=signup&redirect_to=%2F%2Fevil", ""),
    ("POST", "/auth/v1/otp", "application/json"),
    ("POST", "/auth/v1/recover", "application/json"),
    ("POST", "/auth/v1/resend", "application/json"),
    ("PUT", "/auth/v1/user", "application/json"),
    ("POST", "/auth/v1/logout?scope=%ff", "application/json"),
    ("POST", "/users", "application/json"),
    ("PATCH", "/users/x", "application/json"),
    ("POST", "/authentication", "application/json"),
    ("DELETE", "/authentication/x", "application/json"),
    ("POST", "/graphql", "application/json"),
    ("POST", "/auth/registration", "application/json"),
    ("POST", "/auth/login", "application/json"),
    ("PUT", "/auth/email", "application/json"),
    ("POST", "/auth/confirm", "application/x-www-form-urlencoded"),
    ("POST", "/auth/email/confirm", "application/x-www-form-urlencoded"),
    ("GET", "/api/check", ""),
];

thread_local! {
    // One app for all cases: state piles up as it would on a live worker.
    static APP: App<TestPorts> = app_with(&[("CLIENT_MAX_ATTEMPTS", "10000000"), ("SMTP_MAX_FREQUENCY", "0")]);
}

fn answer(method: &str, path: &str, content_type: &str, body: &[u8], bearer: Option<&str>) -> u16 {
    APP.with(|app| {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let mut headers = vec![API_VERSION];
        if !content_type.is_empty() {
            headers.push(("content-type", content_type));
        }
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        send(app, request(method, path, body, &headers)).status.as_u16()
    })
}

/// JSON-ish text: JSON values with odd strings, nested deep, or random bytes.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "\\PC{0,40}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("\"a@example.com\"".to_string()),
        Just(format!("\"{}\"", "x".repeat(5000))),
    ];
    let value = leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((prop_oneof![
                Just("email".to_string()), Just("password".to_string()), Just("token".to_string()),
                Just("type".to_string()), Just("query".to_string()), Just("variables".to_string()),
                Just("strategy".to_string()), Just("username".to_string()), Just("data".to_string()),
                Just("session_platform".to_string()), Just("refresh_token".to_string()), "[a-z_]{1,12}".prop_map(String::from),
            ], inner), 0..6)
            .prop_map(|kv| format!("{{{}}}", kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(","))),
        ]
    });
    prop_oneof![
        4 => value.prop_map(String::into_bytes),
        1 => (1usize..20_000).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..2000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_body_at_any_endpoint_gets_a_5xx(endpoint in 0..ENDPOINTS.len(), body in jsonish()) {
        let (method, path, content_type) = ENDPOINTS[endpoint];
        let status = answer(method, path, content_type, &body, None);
        prop_assert!(status < 500, "{method} {path} answered {status} for {:?}", String::from_utf8_lossy(&body[..body.len().min(200)]));
    }

    #[test]
    fn no_bearer_token_gets_a_5xx(token in prop_oneof![
        "[A-Za-z0-9_.=-]{0,400}",
        "\\PC{0,200}",
        Just(format!("eyJhbGciOiJub25lIn0.{}.", "e".repeat(3000))),
    ]) {
        for (method, path) in [("GET", "/api/check"), ("GET", "/auth/v1/user"), ("GET", "/auth/me"), ("GET", "/users/x")] {
            let status = answer(method, path, "", b"", Some(&token));
            prop_assert!(status < 500, "{method} {path} answered {status}");
        }
    }

    #[test]
    fn no_graphql_document_gets_a_5xx(doc in prop::collection::vec(prop_oneof![
        Just("{"), Just("}"), Just("["), Just("]"), Just("("), Just(")"), Just("..."), Just("fragment F on Query"),
        Just("query"), Just("mutation"), Just("tokenAuth"), Just("me"), Just("__typename"), Just("__schema"),
        Just("$v: String"), Just(":"), Just("\""), Just("\"\"\""), Just("#"), Just("\n"), Just("@skip(if: true)"),
        Just("F"), Just("on"), Just("1"), Just("-1.5e9"), Just(","),
    ], 0..400)) {
        let query = doc.join(" ");
        let body = serde_json::json!({"query": query}).to_string();
        let status = answer("POST", "/graphql", "application/json", body.as_bytes(), None);
        prop_assert!(status < 500, "{status} for {query:?}");
    }

    #[test]
    fn nesting_is_bounded_before_any_parser_sees_it(depth in 0usize..5000, open in prop_oneof![Just('{'), Just('['), Just('(')]) {
        let close = match open { '{' => '}', '[' => ']', _ => ')' };
        let text = format!("{}x{}", open.to_string().repeat(depth), close.to_string().repeat(depth));
        let checked = check_text(&text);
        if depth > MAX_NESTING {
            prop_assert!(matches!(checked, Err(Limit::Nesting | Limit::Tokens)));
        } else {
            prop_assert!(checked.is_ok() || checked == Err(Limit::Tokens));
        }
    }
}
