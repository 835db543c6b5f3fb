//! Feathers calls made on a Socket.IO connection (`App::socket_call`) meet the same guards and
//! settings as REST requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::realtime::engine::{Heartbeat, Transport};
use portcullis_shared::realtime::{AuthChange, Call, Connection};
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, value::RawValue, Value};
use support::*;

fn conn(token: Option<&str>) -> Connection {
    let mut c = Connection::open("s".repeat(32), "198.51.100.7", "socket-test/1.0", Transport::Polling, Heartbeat::DEFAULT, 0);
    c.token = token.map(str::to_string);
    c
}

fn socket_call(app: &App<TestPorts>, c: &Connection, method: &'static str, args: Value) -> (Value, AuthChange) {
    let args: Vec<Box<RawValue>> = args.as_array().unwrap().iter().map(|a| RawValue::from_string(a.to_string()).unwrap()).collect();
    let (answer, change, outbox) = pollster::block_on(app.socket_call(c, &Call { ack: Some(1), method, args }));
    pollster::block_on(app.deliver(outbox));
    let answer = answer.expect("an ack");
    let at = answer.find('[').unwrap();
    (serde_json::from_str(&answer[at..]).unwrap(), change)
}

fn ok(ack: &Value) -> bool {
    ack.as_array().is_some_and(|a| a.len() == 2 && a[0].is_null())
}

#[test]
fn a_socket_authenticated_by_another_dialects_token_or_another_account_gets_nothing() {
    let app = app();
    let session = confirmed_user(&app, "ann@example.com", "correct horse");
    let (gotrue, victim) = (s(&session, "access_token"), s(&session["user"], "id"));
    let r = call(&app, "POST", "/users", &json!({"email": "mallory@example.com", "password": "mallory pass"}), None);
    assert_eq!(r.status, 201);
    let r = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "mallory@example.com", "password": "mallory pass"}), None);
    let mallory = s(&r.body, "accessToken");
    for token in [gotrue.as_str(), mallory.as_str()] {
        let c = conn(Some(token));
        for (method, args) in [
            ("get", json!(["users", victim])),
            ("get", json!(["/users/", victim])),
            ("get", json!(["users", format!("{victim}/")])),
            ("get", json!(["users", format!("../users/{victim}")])),
            ("patch", json!(["users", victim, {"password": "pwned pwned"}])),
            ("remove", json!(["users", victim])),
            ("remove", json!(["authentication", gotrue])),
        ] {
            let (ack, change) = socket_call(&app, &c, method, args.clone());
            assert!(!ok(&ack), "{method} {args} with {token:.12}...: {ack}");
            assert_eq!(change, AuthChange::None);
        }
    }
    assert_eq!(login(&app, "ann@example.com", "correct horse").status, 200);
}

/// `routes_to_socket` keeps `/socket.io/` away from the object while Feathers is off; a call
/// on a connection that outlived that change (a deploy) meets the same setting.
#[test]
fn socket_calls_honour_dialects_like_rest() {
    let app = app_with(&[("DIALECTS", "gotrue")]);
    assert_eq!(call(&app, "POST", "/users", &json!({"email": "eve@example.com", "password": "correct horse"}), None).status, 404);
    let (ack, _) = socket_call(&app, &conn(None), "create", json!(["users", {"email": "eve@example.com", "password": "correct horse"}]));
    assert!(!ok(&ack), "users.create on a socket while Feathers is switched off: {ack}");
}
