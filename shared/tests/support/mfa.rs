//! Second-factor helpers the MFA suites share (`gotrue_mfa.rs`, `mfa_attacks.rs`,
//! `second_step_attacks.rs`, and `claims` for the WebAuthn and passkey suites): reading a
//! token's claims, an authenticator app's codes, a service-role key, enrolling, challenging
//! and verifying a TOTP factor over GoTrue's API, and answering requests at once.

use super::{confirmed_user, ports, post_auth, request, s, send, BlockingJwt as _, Reply, API_VERSION, JSON};
use http::Request;
use portcullis_shared::ports::Clock as _;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::{totp, App};
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A JWT's claims, read without checking it.
pub fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// RFC 4648 base32, as an authenticator app reads the secret.
pub fn unbase32(s: &str) -> Vec<u8> {
    let (mut bits, mut n, mut out) = (0u64, 0, Vec::new());
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {s}"),
        };
        bits = (bits << 5) | u64::from(v);
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// The code an authenticator app shows at `now_ms`, `steps` steps later.
pub fn code_at(now_ms: i64, secret: &str, steps: i64) -> String {
    totp::code(&unbase32(secret), totp::step_at(now_ms.div_euclid(1000)) + steps)
}

/// The code an authenticator app shows now, `steps` steps later.
pub fn code_now(app: &App<TestPorts>, secret: &str, steps: i64) -> String {
    code_at(ports(app).clock.now().0, secret, steps)
}

/// A service-role key signed with the project's secret, as Supabase's is.
pub fn service_role_key(app: &App<TestPorts>) -> String {
    use portcullis_shared::model::Timestamp;
    let keys = portcullis_shared::token::JwtKeys::new(&app.auth().config().jwt_secret, 0);
    let now = ports(app).clock.now();
    keys.sign_blocking(json!({"iss": "supabase", "role": "service_role"}), Timestamp(now.0 - 1000), now.plus_secs(86_400), None).unwrap()
}

/// An enrolled TOTP factor: its id and secret.
#[derive(Clone)]
pub struct Enrolled {
    pub id: String,
    pub secret: String,
}

/// `POST /factors` for a TOTP factor named `name`.
pub fn enroll(app: &App<TestPorts>, token: &str, name: &str) -> Enrolled {
    let r = post_auth(app, "/factors", token, &json!({"factor_type": "totp", "friendly_name": name}));
    assert_eq!(r.status, 200, "{}", r.raw);
    Enrolled { id: s(&r.body, "id"), secret: r.body["totp"]["secret"].as_str().unwrap().to_string() }
}

/// `POST /factors/{factor}/challenge`, as auth-js sends it; the challenge's id.
pub fn challenge(app: &App<TestPorts>, token: &str, factor: &str) -> String {
    let r = post_auth(app, &format!("/factors/{factor}/challenge"), token, &json!({"factorId": factor}));
    assert_eq!(r.status, 200, "{}", r.raw);
    s(&r.body, "id")
}

/// The `POST /factors/{factor}/verify` request.
pub fn verify_req(token: &str, factor: &str, challenge: &str, code: &str) -> Request<Vec<u8>> {
    let auth = format!("Bearer {token}");
    let body = json!({"challenge_id": challenge, "code": code}).to_string();
    request("POST", &format!("/factors/{factor}/verify"), body.as_bytes(), &[API_VERSION, JSON, ("authorization", auth.as_str())])
}

/// `POST /factors/{factor}/verify`.
pub fn verify(app: &App<TestPorts>, token: &str, factor: &str, challenge: &str, code: &str) -> Reply {
    send(app, verify_req(token, factor, challenge, code))
}

/// Ann (GoTrue, password `s3cret-pass`) with a verified TOTP factor: her `aal2` session body
/// and the factor.
pub fn ann_with_factor(app: &App<TestPorts>) -> (Value, Enrolled) {
    let s1 = confirmed_user(app, "ann@example.com", "s3cret-pass");
    let token = s(&s1, "access_token");
    let f = enroll(app, &token, "phone app");
    let c = challenge(app, &token, &f.id);
    let r = verify(app, &token, &f.id, &c, &code_now(app, &f.secret, 0));
    assert_eq!(r.status, 200, "{}", r.raw);
    (r.body, f)
}

/// Answers `reqs` at once: their futures polled in turn until all are done, so they interleave
/// wherever the memory store yields (`pause_at_budgets`).
pub fn together(app: &App<TestPorts>, reqs: Vec<Request<Vec<u8>>>) -> Vec<Reply> {
    let mut futures: Vec<Pin<Box<dyn Future<Output = portcullis_shared::app::Answer> + '_>>> =
        reqs.into_iter().map(|r| Box::pin(app.handle(r)) as Pin<Box<dyn Future<Output = _>>>).collect();
    let mut done: Vec<Option<portcullis_shared::app::Answer>> = futures.iter().map(|_| None).collect();
    pollster::block_on(std::future::poll_fn(|cx| {
        for (f, slot) in futures.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                if let Poll::Ready(a) = f.as_mut().poll(cx) {
                    *slot = Some(a);
                }
            }
        }
        if done.iter().all(Option::is_some) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    done.into_iter()
        .map(|a| {
            let a = a.unwrap();
            pollster::block_on(app.deliver(a.outbox));
            let raw = String::from_utf8(a.response.body().clone()).unwrap();
            Reply { status: a.response.status(), headers: a.response.headers().clone(), body: serde_json::from_str(&raw).unwrap_or(Value::Null), raw }
        })
        .collect()
}
