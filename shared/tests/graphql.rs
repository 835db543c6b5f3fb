//! The graphql-jwt dialect through the app with a fixed clock: tokenAuth, verifyToken,
//! refreshToken (and its window), revokeToken in long-running mode, `me`, and bad documents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::Clock as _;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

const TOKEN_AUTH: &str = "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token payload refreshExpiresIn refreshToken } }";
const VERIFY: &str = "mutation($t: String!) { verifyToken(token: $t) { payload } }";
const REFRESH: &str = "mutation($t: String!) { refreshToken(token: $t) { token payload refreshExpiresIn } }";

fn token_auth(app: &App<TestPorts>, username: &str) -> Value {
    let r = gql(app, TOKEN_AUTH, json!({"u": username, "p": "correct horse"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body.get("errors").is_none(), "{}", r.raw);
    r.body["data"]["tokenAuth"].clone()
}

fn now(app: &App<TestPorts>) -> Timestamp {
    ports(app).clock.now()
}

fn now_secs(app: &App<TestPorts>) -> i64 {
    now(app).unix_seconds()
}

/// Asserts upstream's error envelope: 200, one error with the message, its location and path,
/// and the field null in data.
fn assert_field_error(r: &Reply, field: &str, message: &str) {
    assert_eq!(r.status, 200, "{}", r.raw);
    let e = &r.body["errors"][0];
    assert_eq!(e["message"], message, "{}", r.raw);
    assert_eq!(e["path"], json!([field]), "{}", r.raw);
    assert!(e["locations"][0]["line"].is_u64(), "{}", r.raw);
    assert_eq!(r.body["data"], json!({field: null}), "{}", r.raw);
}

#[test]
fn token_auth_takes_the_username_in_any_case_or_the_email() {
    let app = app();
    let user = ada(&app);
    for name in ["Ada", "ada", "ada@example.com", "ADA@example.com"] {
        let t = token_auth(&app, name);
        let p = &t["payload"];
        assert_eq!(p["username"], "Ada", "{name}");
        assert_eq!(p["sub"], user.id.as_str());
        assert_eq!(p["origIat"], now_secs(&app));
        assert_eq!(p["exp"], now_secs(&app) + 7200);
        assert_eq!(t["refreshExpiresIn"], now_secs(&app) + 7 * 86400);
        assert_eq!(t["refreshToken"], Value::Null, "no refresh token unless long-running mode is on");
    }
}

#[test]
fn wrong_credentials_read_please_enter_valid_credentials() {
    let app = app();
    ada(&app);
    for (u, p) in [("ada", "wrong"), ("nobody", "correct horse"), ("nobody@example.com", "x"), ("", ""), (&*"a".repeat(5000), &*"p".repeat(5000))] {
        let r = gql(&app, TOKEN_AUTH, json!({"u": u, "p": p}));
        assert_field_error(&r, "tokenAuth", "Please enter valid credentials");
    }
}

#[test]
fn verify_token_returns_the_payload_and_refuses_forgeries() {
    let app = app();
    ada(&app);
    let t = token_auth(&app, "ada");
    let r = gql(&app, VERIFY, json!({"t": t["token"]}));
    assert_eq!(r.body["data"]["verifyToken"]["payload"], t["payload"], "{}", r.raw);

    let stranger = app_with(&[("JWT_SECRET", "another-secret-another-secret-12345")]);
    ada(&stranger);
    let foreign = token_auth(&stranger, "ada")["token"].clone();
    assert_field_error(&gql(&app, VERIFY, json!({"t": foreign})), "verifyToken", "Error decoding signature");
    assert_field_error(&gql(&app, VERIFY, json!({"t": "garbage"})), "verifyToken", "Error decoding signature");
    let parts: Vec<String> = t["token"].as_str().unwrap().split('.').map(String::from).collect();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    assert_field_error(&gql(&app, VERIFY, json!({"t": none})), "verifyToken", "Error decoding signature");
    // Ours, but a GoTrue token.
    confirmed_user(&app, "bob@example.com", "correct horse");
    let gotrue = login(&app, "bob@example.com", "correct horse").body["access_token"].clone();
    assert_field_error(&gql(&app, VERIFY, json!({"t": gotrue})), "verifyToken", "Invalid payload");
}

#[test]
fn tokens_expire_after_two_hours() {
    let app = app();
    ada(&app);
    let t = token_auth(&app, "ada");
    ports(&app).clock.advance_secs(7200 + 11);
    assert_field_error(&gql(&app, VERIFY, json!({"t": t["token"]})), "verifyToken", "Signature has expired");
    assert_field_error(&gql(&app, REFRESH, json!({"t": t["token"]})), "refreshToken", "Signature has expired");
}

#[test]
fn refresh_keeps_orig_iat_until_the_window_closes() {
    let app = app();
    ada(&app);
    let first = token_auth(&app, "ada");
    let orig_iat = first["payload"]["origIat"].as_i64().unwrap();
    let mut token = first["token"].clone();
    // Refresh every hour: each new token keeps origIat and the same window end.
    for _ in 0..(7 * 24 - 1) {
        ports(&app).clock.advance_secs(3600);
        let r = gql(&app, REFRESH, json!({"t": token}));
        let fresh = &r.body["data"]["refreshToken"];
        assert_eq!(fresh["payload"]["origIat"], orig_iat, "{}", r.raw);
        assert_eq!(fresh["payload"]["exp"], now_secs(&app) + 7200);
        assert_eq!(fresh["refreshExpiresIn"], orig_iat + 7 * 86400);
        token = fresh["token"].clone();
    }
    ports(&app).clock.advance_secs(3601);
    assert_field_error(&gql(&app, REFRESH, json!({"t": token})), "refreshToken", "Refresh has expired");
}

#[test]
fn me_answers_for_each_header_form() {
    let app = app();
    ada(&app);
    let token = token_auth(&app, "ada")["token"].as_str().unwrap().to_string();
    for (name, value) in [
        ("authorization", format!("JWT {token}")),
        ("authentication", format!("JWT {token}")),
        ("authorization", format!("Bearer {token}")),
    ] {
        let r = gql_with(&app, br#"{"query": "{ me { id username email } }"}"#, &[(name, value.as_str())]);
        assert_eq!(r.body, json!({"data": {"me": {"id": "ada-id", "username": "Ada", "email": "ada@example.com"}}}), "{name}");
    }
    let none = gql_with(&app, br#"{"query": "{ me { id } }"}"#, &[]);
    assert_field_error(&none, "me", "You do not have permission to perform this action");
    let bad = gql_with(&app, br#"{"query": "{ me { id } }"}"#, &[("authorization", "JWT nope")]);
    assert_field_error(&bad, "me", "Error decoding signature");
    assert_eq!(get(&app, "/api/check", None).status, 401);
    let check = send(&app, request("GET", "/api/check", b"", &[("authorization", &format!("JWT {token}"))]));
    assert_eq!(check.status, 200, "{}", check.raw);
    assert_eq!(check.body["user_id"], "ada-id");
}

#[test]
fn aliases_fragments_variables_and_operation_names_work() {
    let app = app();
    ada(&app);
    let doc = "query Q { me { id } }
        mutation Login($u: String!, $p: String!) { first: tokenAuth(username: $u, password: $p) { ...T } second: tokenAuth(username: $u, password: $p) { token } }
        fragment T on ObtainJSONWebToken { token payload }";
    let body = json!({"query": doc, "variables": {"u": "ada", "p": "correct horse"}, "operationName": "Login"});
    let r = gql_with(&app, body.to_string().as_bytes(), &[]);
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["data"]["first"]["payload"]["username"], "Ada");
    assert!(r.body["data"]["second"]["token"].is_string());
    assert!(r.body["data"]["first"].get("refreshExpiresIn").is_none(), "only the selected fields");
}

#[test]
fn introspection_describes_the_schema() {
    let app = app();
    let q = "{ __schema { mutationType { fields { name args { name type { name kind ofType { name } } } } } types { name } } }";
    let r = gql(&app, q, Value::Null);
    assert_eq!(r.status, 200, "{}", r.raw);
    let fields: Vec<&str> = r.body["data"]["__schema"]["mutationType"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields, ["tokenAuth", "verifyToken", "refreshToken", "revokeToken", "totpAuth", "webauthnChallenge", "webauthnAuth"]);
    let types: Vec<&str> = r.body["data"]["__schema"]["types"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    for t in ["ObtainJSONWebToken", "GenericScalar", "UserType", "Verify", "Revoke"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
}

#[test]
fn documents_that_cannot_run_are_400_with_errors() {
    let app = app();
    let deep = format!("{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}", "ofType { ".repeat(14), "}".repeat(14));
    let wide = format!("{{ {} }}", (0..300).map(|i| format!("a{i}: me {{ id }}")).collect::<Vec<_>>().join(" "));
    // Each sign-in hashes a password: five in one document are refused before any runs.
    let logins = format!("mutation {{ {} }}", (0..5).map(|i| format!("l{i}: tokenAuth(username: \"a\", password: \"b\") {{ token }}")).collect::<Vec<_>>().join(" "));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("malformed JSON", b"{\"query\": ".to_vec(), "POST body sent invalid JSON."),
        ("empty body", b"".to_vec(), "POST body sent invalid JSON."),
        ("batched", br#"[{"query": "{ me { id } }"}]"#.to_vec(), "Batch GraphQL requests are not enabled."),
        ("no query", br#"{"variables": {}}"#.to_vec(), "Must provide query string."),
        ("query not a string", br#"{"query": 5}"#.to_vec(), "Must provide query string."),
        ("variables not an object", br#"{"query": "{ me { id } }", "variables": "x"}"#.to_vec(), "Variables are invalid JSON."),
        ("syntax error", br#"{"query": "mutation { tokenAuth(username: "#.to_vec(), ""),
        ("unknown field", br#"{"query": "{ nope }"}"#.to_vec(), "Unknown field \"nope\""),
        ("missing argument", br#"{"query": "mutation { tokenAuth(username: \"a\") { token } }"}"#.to_vec(), "password"),
        ("wrong variable type", br#"{"query": "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }", "variables": {"u": 5, "p": "x"}}"#.to_vec(), "u"),
        ("missing variable", br#"{"query": "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }", "variables": {"u": "a"}}"#.to_vec(), "p"),
        ("too deep", json!({"query": deep}).to_string().into_bytes(), "nested too deep"),
        ("too complex", json!({"query": wide}).to_string().into_bytes(), "too complex"),
        ("too many sign-ins", json!({"query": logins}).to_string().into_bytes(), "too complex"),
        ("unknown operation", br#"{"query": "query A { me { id } }", "operationName": "B"}"#.to_vec(), "B"),
    ];
    for (name, body, message) in cases {
        let r = gql_with(&app, &body, &[]);
        assert_eq!(r.status, 400, "{name}: {}", r.raw);
        let errors = r.body["errors"].as_array().unwrap_or_else(|| panic!("{name}: {}", r.raw));
        assert!(errors[0]["message"].as_str().unwrap().contains(message), "{name}: {}", r.raw);
        assert!(r.body["data"].is_null(), "{name}: {}", r.raw);
    }
    let get = send(&app, request("GET", "/graphql?query={me{id}}", b"", &[]));
    assert_eq!(get.status, 405);
    assert!(get.body["errors"][0]["message"].is_string());
}

#[test]
fn long_running_refresh_tokens_rotate_and_revoke() {
    let app = app_with(&[("GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN", "true"), ("REFRESH_TOKEN_REUSE_INTERVAL", "0")]);
    ada(&app);
    let t = token_auth(&app, "ada");
    let rt = t["refreshToken"].as_str().expect("a refresh token").to_string();
    assert_eq!(t["refreshExpiresIn"], now_secs(&app) + 7 * 86400);
    let q = "mutation($r: String!) { refreshToken(refreshToken: $r) { token payload refreshExpiresIn refreshToken } }";
    ports(&app).clock.advance_secs(60);
    let r = gql(&app, q, json!({"r": rt}));
    let fresh = r.body["data"]["refreshToken"].clone();
    let rt2 = fresh["refreshToken"].as_str().unwrap_or_else(|| panic!("{}", r.raw)).to_string();
    assert_ne!(rt2, rt);
    assert_eq!(fresh["payload"]["origIat"], now_secs(&app));
    // The old one is spent; using it again ends the session.
    ports(&app).clock.advance_secs(1);
    assert_field_error(&gql(&app, q, json!({"r": rt})), "refreshToken", "Invalid refresh token");
    assert_field_error(&gql(&app, VERIFY, json!({"t": fresh["token"]})), "verifyToken", "Invalid token");

    let t = token_auth(&app, "ada");
    let revoke = "mutation($r: String!) { revokeToken(refreshToken: $r) { revoked } }";
    let r = gql(&app, revoke, json!({"r": t["refreshToken"]}));
    assert_eq!(r.body["data"]["revokeToken"]["revoked"], now_secs(&app), "{}", r.raw);
    assert_field_error(&gql(&app, q, json!({"r": t["refreshToken"]})), "refreshToken", "Invalid refresh token");
    assert_field_error(&gql(&app, VERIFY, json!({"t": t["token"]})), "verifyToken", "Invalid token");
    assert_field_error(&gql(&app, revoke, json!({"r": "garbage"})), "revokeToken", "Invalid refresh token");

    let t = token_auth(&app, "ada");
    ports(&app).clock.advance_secs(7 * 86400);
    assert_field_error(&gql(&app, q, json!({"r": t["refreshToken"]})), "refreshToken", "Refresh token is expired");
}

#[test]
fn each_mode_says_which_refresh_argument_it_takes() {
    let app = app();
    ada(&app);
    let t = token_auth(&app, "ada");
    let r = gql(&app, "mutation($r: String!) { refreshToken(refreshToken: $r) { token } }", json!({"r": "x"}));
    assert_field_error(&r, "refreshToken", "Long-running refresh tokens are off here: refresh with refreshToken(token: ...)");
    let r = gql(&app, "mutation { refreshToken { token } }", Value::Null);
    assert_field_error(&r, "refreshToken", "refreshToken needs the token to refresh");
    let r = gql(&app, "mutation($r: String!) { revokeToken(refreshToken: $r) { revoked } }", json!({"r": t["token"]}));
    assert_field_error(&r, "revokeToken", "Long-running refresh tokens are off here: there is nothing to revoke");
}

#[test]
fn ending_the_session_elsewhere_ends_the_token() {
    let app = app();
    ada(&app);
    let token = token_auth(&app, "ada")["token"].as_str().unwrap().to_string();
    let sid = token_auth(&app, "ada")["payload"]["sid"].as_str().unwrap().to_string();
    // The second sign-in's session, ended through the passwordless session list.
    let first = gql(&app, VERIFY, json!({"t": token})).body["data"]["verifyToken"]["payload"]["sid"].clone();
    assert_ne!(first, sid.as_str());
    let user = ports(&app).store.all_users().into_iter().find(|u| u.id.as_str() == "ada-id").unwrap();
    let session = ports(&app).store.all_sessions().into_iter().find(|s| first == s.id.as_str()).unwrap();
    pollster::block_on(app.flows("test").end_session(&user, &session.id)).unwrap();
    assert_field_error(&gql(&app, VERIFY, json!({"t": token})), "verifyToken", "Invalid token");
    assert_eq!(send(&app, request("GET", "/api/check", b"", &[("authorization", &format!("JWT {token}"))])).status, 401);
}

/// A fragment chain where each fragment spreads the next twice: 2^`levels` selections of
/// `leaf` from `levels` lines.
fn fragment_bomb(levels: usize, leaf: &str) -> String {
    let mut q = String::from("query { ...F0 }\n");
    for i in 0..levels {
        q.push_str(&format!("fragment F{i} on Query {{ ...F{n} ...F{n} }}\n", n = i + 1));
    }
    q.push_str(&format!("fragment F{levels} on Query {{ {leaf} }}\n"));
    q
}

#[test]
fn hostile_documents_are_refused_before_the_parser_or_the_validator_expands_them() {
    let app = app();
    ada(&app);
    let nested = format!("mutation {{ tokenAuth(username: {}\"ada\"{}, password: \"x\") {{ token }} }}", "[".repeat(2000), "]".repeat(2000));
    let cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }".to_string();
    let spread_amplified = format!(
        "{{{}}} fragment F on Query{{{}}} fragment X on Query{{...on Query{{...Y}}}}",
        "...{...F}".repeat(300),
        "...X".repeat(1000)
    );
    let many_operations = format!(
        "{} fragment F on Query {{ {} }}",
        (0..550).map(|i| format!("query a{i} {{ ...F }}")).collect::<Vec<_>>().join(" "),
        "__typename ".repeat(20)
    );
    let cases = [
        ("a list nested 2,000 deep", nested, "nested too deeply"),
        ("a fragment bomb", fragment_bomb(24, "me { id username email }"), "too many selections"),
        ("a __typename-only fragment bomb", fragment_bomb(24, "__typename"), "too many selections"),
        ("a fragment cycle", cycle, "cycle"),
        // Spreads of a fragment that expands to no fields still cost the engine's
        // validation a walk each: every selection counts.
        ("a spread-amplified document", spread_amplified, "too many selections"),
        ("many operations sharing a fragment", many_operations, "too many selections"),
        ("an oversized document", format!("{{ me {{ id }} }} #{}", "x".repeat(20_000)), "too large"),
        ("too many tokens", format!("{{ me {{ {} }} }}", "id ".repeat(5_000)), "too long"),
    ];
    for (what, query, message) in cases {
        let r = gql(&app, &query, json!({}));
        assert_eq!(r.status, 400, "{what}: {}", r.raw);
        let got = r.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(got.contains(message), "{what}: {got}");
    }
    // The worker still answers a sign-in.
    let ok = gql(&app, TOKEN_AUTH, json!({"u": "ada", "p": "correct horse"}));
    assert!(ok.body["data"]["tokenAuth"]["token"].is_string(), "{}", ok.raw);
}

#[test]
fn the_largest_fragment_expansion_within_the_limits_runs() {
    let app = app();
    // 2^9 = 512 selections of one field: within MAX_EXPANDED_FIELDS, through nine fragments.
    let r = gql(&app, &fragment_bomb(9, "__typename"), json!({}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["data"]["__typename"], "Query");
}
