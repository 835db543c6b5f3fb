//! Feathers over Socket.IO through the connection state machine with the in-memory ports and a
//! fixed clock, driven the way the worker's Durable Object drives it: the official client's
//! packets in, what it would receive out. The same flows as REST answer, so sessions, throttles
//! and errors are shared with the REST dialect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
#[path = "support/authenticator.rs"]
mod authenticator;
use portcullis_shared::realtime::connection::MAX_EVENTS_PER_WINDOW;
use portcullis_shared::realtime::engine::{Heartbeat, Transport};
use portcullis_shared::realtime::{Connection, EventBudget, Step};
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

/// One connection and what its client has received, per transport.
struct Socket<'a> {
    app: &'a App<TestPorts>,
    conn: Connection,
    budget: EventBudget,
    received: Vec<(Transport, String)>,
    closed: bool,
}

impl<'a> Socket<'a> {
    fn open(app: &'a App<TestPorts>, transport: Transport) -> Self {
        let now = now(app);
        let conn = Connection::open("s".repeat(32), "198.51.100.7", "socket-test/1.0", transport, Heartbeat::DEFAULT, now);
        Socket { app, conn, budget: EventBudget::default(), received: Vec::new(), closed: false }
    }

    /// Opens on long-polling and joins the namespace `/`.
    fn joined(app: &'a App<TestPorts>) -> Self {
        let mut s = Socket::open(app, Transport::Polling);
        s.send("40");
        let answer = s.take();
        assert!(answer[0].starts_with("40{\"sid\":"), "{answer:?}");
        s
    }

    /// The client sends one Engine.IO packet on the connection's transport.
    fn send(&mut self, packet: &str) {
        let on = self.conn.transport;
        self.send_on(packet, on);
    }

    fn send_on(&mut self, packet: &str, on: Transport) {
        let now = now(self.app);
        let rng = &ports(self.app).rng;
        let steps = self.conn.receive(packet, on, now, &mut self.budget, rng);
        self.carry_out(steps);
    }

    fn tick(&mut self) {
        let steps = self.conn.tick(now(self.app));
        self.carry_out(steps);
    }

    fn carry_out(&mut self, steps: Vec<Step>) {
        for step in steps {
            match step {
                Step::Send(t, p) => self.received.push((t, p)),
                Step::Call(call) => {
                    let made_by = self.conn.socket.clone();
                    let (answer, change, outbox) = pollster::block_on(self.app.socket_call(&self.conn, &call));
                    pollster::block_on(self.app.deliver(outbox));
                    if let Some(a) = answer {
                        self.received.push((self.conn.transport, a));
                    }
                    self.conn.apply(change, &made_by);
                }
                Step::Upgraded => self.received.push((Transport::Websocket, "(upgraded)".into())),
                Step::Close => {
                    self.closed = true;
                    return;
                }
            }
        }
    }

    /// Everything received since the last take, encoded.
    fn take(&mut self) -> Vec<String> {
        self.received.drain(..).map(|(_, p)| p).collect()
    }

    /// Emits `args` with ack id `id` and returns the ack's arguments.
    fn emit(&mut self, id: u64, args: Value) -> Vec<Value> {
        self.send(&format!("42{id}{args}"));
        let answers = self.take();
        let prefix = format!("43{id}");
        let ack = answers.iter().find(|a| a.starts_with(&prefix)).unwrap_or_else(|| panic!("no ack {id} in {answers:?}"));
        serde_json::from_str(&ack[prefix.len()..]).unwrap()
    }
}

fn now(app: &App<TestPorts>) -> i64 {
    use portcullis_shared::ports::Clock as _;
    ports(app).clock.now().0
}

/// The error object of a failed ack.
fn error(ack: &[Value]) -> &Value {
    assert_eq!(ack.len(), 1, "expected an error, got {ack:?}");
    &ack[0]
}

fn result(ack: &[Value]) -> &Value {
    assert!(ack.len() == 2 && ack[0].is_null(), "expected a result, got {ack:?}");
    &ack[1]
}

const PASSWORD: &str = "correct horse battery";

/// Creates an account and signs the socket in; returns the user id and token.
fn sign_in(s: &mut Socket, email: &str) -> (String, String) {
    let user = s.emit(0, json!(["create", "users", {"email": email, "password": PASSWORD}, {}]));
    let id = result(&user)["id"].as_str().unwrap().to_string();
    let auth = s.emit(1, json!(["create", "authentication", {"strategy": "local", "email": email, "password": PASSWORD}, {}]));
    let token = result(&auth)["accessToken"].as_str().unwrap().to_string();
    (id, token)
}

#[test]
fn a_socket_sign_in_authenticates_the_connections_later_calls_until_it_logs_out() {
    let app = app();
    let mut s = Socket::joined(&app);
    let (id, token) = sign_in(&mut s, "ann@example.com");

    let got = s.emit(2, json!(["get", "users", id, {}]));
    assert_eq!(result(&got)["email"], "ann@example.com");
    let out = s.emit(3, json!(["remove", "authentication", null, {}]));
    assert_eq!(result(&out)["accessToken"], token.as_str());
    assert_eq!(result(&out)["authentication"]["strategy"], "jwt");

    let after = s.emit(4, json!(["get", "users", id, {}]));
    assert_eq!(error(&after)["name"], "NotAuthenticated");
    // The session is over for REST too.
    let rest = call(&app, "GET", &format!("/users/{id}"), &Value::Null, Some(&token));
    assert_eq!(rest.status, 401);
}

#[test]
fn a_session_ended_elsewhere_ends_the_sockets_authentication_at_its_next_call() {
    let app = app();
    let mut s = Socket::joined(&app);
    let (id, token) = sign_in(&mut s, "ann@example.com");
    let rest = call(&app, "DELETE", "/authentication", &Value::Null, Some(&token));
    assert_eq!(rest.status, 200, "{}", rest.raw);
    let got = s.emit(2, json!(["get", "users", id, {}]));
    let e = error(&got);
    assert_eq!((e["name"].as_str(), e["code"].as_u64()), (Some("NotAuthenticated"), Some(401)));
    assert_eq!(e["className"], "not-authenticated");
}

#[test]
fn a_password_changed_from_another_session_ends_the_sockets_authentication() {
    let app = app();
    let mut s = Socket::joined(&app);
    let (id, _) = sign_in(&mut s, "ann@example.com");
    let other = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PASSWORD}), None);
    let other_token = other.body["accessToken"].as_str().unwrap();
    let patched = call(&app, "PATCH", &format!("/users/{id}"), &json!({"password": "a new password entirely"}), Some(other_token));
    assert_eq!(patched.status, 200, "{}", patched.raw);
    let got = s.emit(2, json!(["get", "users", id, {}]));
    assert_eq!(error(&got)["name"], "NotAuthenticated");
}

#[test]
fn an_expired_token_is_refused_with_upstreams_jwt_expired() {
    let app = app();
    let mut s = Socket::joined(&app);
    let (id, _) = sign_in(&mut s, "ann@example.com");
    // Feathers tokens last a day, as upstream's `expiresIn: '1d'`.
    ports(&app).clock.advance_secs(86_400 + 60);
    let got = s.emit(2, json!(["get", "users", id, {}]));
    let e = error(&got);
    assert_eq!((e["message"].as_str(), e["data"]["name"].as_str()), (Some("jwt expired"), Some("TokenExpiredError")));
}

#[test]
fn a_jwt_sign_in_after_a_reconnect_authenticates_the_new_connection() {
    let app = app();
    let mut first = Socket::joined(&app);
    let (id, token) = sign_in(&mut first, "ann@example.com");
    // What authentication-client emits on the new connection (reAuthenticate(true)).
    let mut second = Socket::joined(&app);
    let auth = second.emit(0, json!(["create", "authentication", {"strategy": "jwt", "accessToken": token}, {}]));
    assert_eq!(result(&auth)["authentication"]["strategy"], "jwt");
    assert_eq!(result(&auth)["user"]["id"], id.as_str());
    assert_eq!(result(&second.emit(1, json!(["get", "users", id, {}])))["id"], id.as_str());
}

#[test]
fn a_failed_sign_in_leaves_the_connections_authentication_as_it_was() {
    let app = app();
    let mut s = Socket::joined(&app);
    let (id, _) = sign_in(&mut s, "ann@example.com");
    let wrong = s.emit(2, json!(["create", "authentication", {"strategy": "local", "email": "ann@example.com", "password": "wrong"}, {}]));
    assert_eq!(error(&wrong)["message"], "Invalid login");
    assert_eq!(result(&s.emit(3, json!(["get", "users", id, {}])))["id"], id.as_str());
}

#[test]
fn a_socket_leaving_the_namespace_drops_its_authentication() {
    let app = app();
    let mut s = Socket::joined(&app);
    let (id, _) = sign_in(&mut s, "ann@example.com");
    s.send("41");
    s.send("40");
    s.take();
    assert_eq!(error(&s.emit(2, json!(["get", "users", id, {}])))["name"], "NotAuthenticated");
}

#[test]
fn another_accounts_record_is_not_found_as_over_rest() {
    let app = app();
    let mut s = Socket::joined(&app);
    sign_in(&mut s, "ann@example.com");
    let mut other = Socket::joined(&app);
    let (bob, _) = sign_in(&mut other, "bob@example.com");
    let e = s.emit(5, json!(["get", "users", bob, {}]));
    assert_eq!((error(&e)["name"].as_str(), error(&e)["code"].as_u64()), (Some("NotFound"), Some(404)));
    let removed = s.emit(6, json!(["remove", "users", bob, {}]));
    assert_eq!(error(&removed)["name"], "NotFound");
    assert_eq!(result(&other.emit(7, json!(["get", "users", bob, {}])))["id"], bob.as_str());
}

#[test]
fn calls_the_services_do_not_offer_get_transport_commons_errors() {
    let app = app();
    let mut s = Socket::joined(&app);
    let cases = [
        (json!(["find", "users", {}]), 405, "Method 'find' not allowed on service 'users'"),
        (json!(["update", "users", "x", {}, {}]), 405, "Method 'update' not allowed on service 'users'"),
        (json!(["get", "authentication", "x", {}]), 405, "Method 'get' not allowed on service 'authentication'"),
        (json!(["get", "messages", 1, {}]), 404, "Service 'messages' not found"),
        (json!(["get", 5, 1, {}]), 404, "Invalid service path"),
        (json!(["get", "users", 1, {}, {}]), 400, "Too many arguments for 'get' method"),
        (json!(["create", "users", {}, {}, {}]), 400, "Too many arguments for 'create' method"),
    ];
    for (i, (args, code, message)) in cases.into_iter().enumerate() {
        let ack = s.emit(i as u64, args.clone());
        let e = error(&ack);
        assert_eq!((e["code"].as_u64(), e["message"].as_str()), (Some(code), Some(message)), "{args}");
    }
    assert!(!s.closed);
}

#[test]
fn bad_data_gets_the_errors_rest_gives() {
    let app = app();
    let mut s = Socket::joined(&app);
    let cases = [
        json!(["create", "users", "not an object", {}]),
        json!(["create", "users", {"email": "ann@example.com"}, {}]),
        json!(["create", "users", {"email": 5, "password": PASSWORD}, {}]),
        json!(["create", "users", {"email": format!("{}@example.com", "a".repeat(400)), "password": PASSWORD}, {}]),
        json!(["create", "authentication", {"email": "ann@example.com"}, {}]),
        json!(["create", "authentication", {"strategy": "oauth"}, {}]),
        json!(["create", "authentication", {"strategy": "jwt", "accessToken": "not.a.jwt"}, {}]),
        json!(["create", "authentication", [], {}]),
    ];
    for (i, args) in cases.into_iter().enumerate() {
        let data = &args[2];
        let path = format!("/{}", args[1].as_str().unwrap());
        let rest = send(&app, request("POST", &path, data.to_string().as_bytes(), &[JSON]));
        let ack = s.emit(i as u64, args.clone());
        assert_eq!(error(&ack), &rest.body, "{args}");
        assert!(rest.status.is_client_error(), "{args}: {}", rest.status);
    }
}

#[test]
fn an_event_larger_than_a_rest_body_is_refused_as_rest_refuses_it() {
    let app = app();
    let mut s = Socket::joined(&app);
    let padding = "x".repeat(portcullis_shared::app::MAX_BODY_BYTES);
    let e = s.emit(1, json!(["create", "users", {"email": "big@example.com", "password": PASSWORD, "pad": padding}, {}]));
    assert_eq!((error(&e)["name"].as_str(), error(&e)["code"].as_u64()), (Some("PayloadTooLarge"), Some(413)));
    // Nothing ran: the address is still free.
    let rest = call(&app, "POST", "/users", &json!({"email": "big@example.com", "password": PASSWORD}), None);
    assert_eq!(rest.status, 201, "{}", rest.raw);
    assert!(!s.closed);
}

#[test]
fn wrong_passwords_over_the_socket_count_against_the_same_throttle_as_rest() {
    let app = app_with(&[("LOGIN_MAX_PER_CLIENT", "3")]);
    let mut s = Socket::joined(&app);
    sign_in(&mut s, "ann@example.com");
    for i in 0..3 {
        let wrong = s.emit(10 + i, json!(["create", "authentication", {"strategy": "local", "email": "ann@example.com", "password": "wrong"}, {}]));
        assert_eq!(error(&wrong)["code"], 401);
    }
    let throttled = s.emit(20, json!(["create", "authentication", {"strategy": "local", "email": "ann@example.com", "password": PASSWORD}, {}]));
    assert_eq!(error(&throttled)["name"], "TooManyRequests");
    // Over REST from the same client, the account is throttled too.
    let rest = send(
        &app,
        request(
            "POST",
            "/authentication",
            json!({"strategy": "local", "email": "ann@example.com", "password": PASSWORD}).to_string().as_bytes(),
            &[JSON, ("cf-connecting-ip", "198.51.100.7")],
        ),
    );
    assert_eq!(rest.status, 429, "{}", rest.raw);
}

#[test]
fn a_flood_of_events_is_answered_too_many_requests_without_running_them() {
    let app = app();
    let mut s = Socket::joined(&app);
    for i in 0..u64::from(MAX_EVENTS_PER_WINDOW) {
        assert_eq!(error(&s.emit(i, json!(["get", "users", "x", {}])))["name"], "NotAuthenticated");
    }
    let over = s.emit(99, json!(["create", "users", {"email": "flood@example.com", "password": PASSWORD}, {}]));
    assert_eq!(error(&over)["name"], "TooManyRequests");
    let rest = call(&app, "POST", "/users", &json!({"email": "flood@example.com", "password": PASSWORD}), None);
    assert_eq!(rest.status, 201, "the refused call ran: {}", rest.raw);
    ports(&app).clock.advance_secs(11);
    assert_eq!(error(&s.emit(100, json!(["get", "users", "x", {}])))["name"], "NotAuthenticated");
}

#[test]
fn a_flood_past_twice_the_budget_closes_the_connection_whatever_it_sends() {
    let app = app();
    for packet in [r#"42["get","users","x",{}]"#, "40/other,", r#"451-["create","users",{}]"#] {
        let mut s = Socket::joined(&app);
        for _ in 0..2 * MAX_EVENTS_PER_WINDOW {
            s.send(packet);
        }
        assert!(!s.closed, "{packet}");
        s.send(packet);
        assert!(s.closed, "{packet} flooded without closing");
    }
}

#[test]
fn a_sign_in_that_finishes_after_its_socket_left_authenticates_nothing() {
    let app = app();
    let mut s = Socket::joined(&app);
    s.emit(0, json!(["create", "users", {"email": "ann@example.com", "password": PASSWORD}, {}]));
    // The sign-in is running while the socket leaves and joins again.
    let made_by = s.conn.socket.clone();
    s.send("41");
    s.send("40");
    s.take();
    s.conn.apply(portcullis_shared::realtime::AuthChange::SignedIn("a token".into()), &made_by);
    assert_eq!(s.conn.token, None);
}

#[test]
fn malformed_packets_close_the_connection() {
    let app = app();
    for packet in ["", "x", "7", "4", "4x", "42{bad", "42[1]", "42[]", "44{}", "2", "0", "5", "1", "4212345678901234567[\"get\"]"] {
        let mut s = Socket::joined(&app);
        s.send(packet);
        assert!(s.closed, "{packet:?} did not close");
    }
}

#[test]
fn events_before_joining_close_and_so_does_joining_twice() {
    let app = app();
    let mut s = Socket::open(&app, Transport::Polling);
    s.send(r#"420["get","users","x",{}]"#);
    assert!(s.closed);
    let mut s = Socket::joined(&app);
    s.send("40");
    assert!(s.closed);
}

#[test]
fn another_namespace_is_refused_and_the_connection_stays() {
    let app = app();
    let mut s = Socket::open(&app, Transport::Polling);
    s.send("40/admin,");
    assert_eq!(s.take(), [r#"44/admin,{"message":"Invalid namespace"}"#]);
    assert!(!s.closed);
}

#[test]
fn binary_attachments_are_refused_in_the_ack_and_their_frames_dropped() {
    let app = app();
    let mut s = Socket::joined(&app);
    s.send(r#"451-3["create","users",{"_placeholder":true,"num":0}]"#);
    s.send("bAQIDBA==");
    let answers = s.take();
    assert_eq!(answers.len(), 1, "{answers:?}");
    let ack: Vec<Value> = serde_json::from_str(answers[0].strip_prefix("433").unwrap()).unwrap();
    assert_eq!(error(&ack)["name"], "BadRequest");
    assert!(!s.closed);
}

#[test]
fn events_that_are_no_service_method_have_no_listener() {
    let app = app();
    let mut s = Socket::joined(&app);
    s.send(r#"427["chat","hello"]"#);
    assert!(s.take().is_empty());
    assert!(!s.closed);
}

#[test]
fn the_heartbeat_pings_at_the_interval_and_closes_when_the_pong_is_late() {
    let app = app();
    let mut s = Socket::joined(&app);
    let opened = now(&app);
    assert_eq!(s.conn.next_alarm(), opened + 25_000);
    ports(&app).clock.advance_ms(25_000);
    s.tick();
    assert_eq!(s.take(), ["2"]);
    assert_eq!(s.conn.next_alarm(), opened + 45_000);
    ports(&app).clock.advance_ms(5_000);
    s.send("3");
    assert_eq!(s.conn.next_alarm(), opened + 30_000 + 25_000);
    ports(&app).clock.advance_ms(25_000);
    s.tick();
    assert_eq!(s.take(), ["2"]);
    ports(&app).clock.advance_ms(20_000);
    s.tick();
    assert!(s.closed, "a late pong keeps the connection");
}

#[test]
fn a_connection_that_never_joins_closes_after_the_connect_timeout() {
    let app = app();
    let mut s = Socket::open(&app, Transport::Websocket);
    ports(&app).clock.advance_ms(25_000);
    s.tick();
    s.send("3");
    assert_eq!(s.conn.next_alarm(), now(&app) - 25_000 + 45_000);
    ports(&app).clock.advance_ms(20_000);
    s.tick();
    assert!(s.closed);
}

#[test]
fn the_upgrade_probe_is_answered_on_the_websocket_and_the_poll_is_flushed() {
    let app = app();
    let mut s = Socket::joined(&app);
    // Packets on the new WebSocket before its probe are not the protocol.
    let mut early = Socket::joined(&app);
    early.send_on(r#"420["get","users","x",{}]"#, Transport::Websocket);
    assert!(early.closed);

    s.send_on("2probe", Transport::Websocket);
    assert_eq!(
        s.received.drain(..).collect::<Vec<_>>(),
        [(Transport::Websocket, "3probe".to_string()), (Transport::Polling, "6".to_string())]
    );
    s.send_on("5", Transport::Websocket);
    assert_eq!(s.conn.transport, Transport::Websocket);
    s.take();
    let (id, _) = sign_in(&mut s, "ann@example.com");
    s.send(&format!(r#"429["get","users","{id}",{{}}]"#));
    assert!(s.received.iter().all(|(t, _)| *t == Transport::Websocket), "{:?}", s.received);
}

#[test]
fn an_upgrade_without_a_probe_closes() {
    let app = app();
    let mut s = Socket::joined(&app);
    s.send_on("5", Transport::Websocket);
    assert!(s.closed);
}

#[test]
fn a_socket_registers_a_passkey_and_signs_in_with_the_passkey_strategy() {
    use authenticator::{assertion, es256, registration, Creation, Getting};
    use portcullis_shared::signature::from_b64url;
    let app = app_with(&[
        ("PASSKEY_ENABLED", "true"),
        ("WEBAUTHN_RP_ID", "example.com"),
        ("WEBAUTHN_RP_ORIGINS", "https://example.com"),
    ]);
    let challenge = |v: &Value| from_b64url(v["publicKey"]["challenge"].as_str().unwrap()).unwrap();
    let mut s = Socket::joined(&app);
    let (id, _) = sign_in(&mut s, "ann@example.com");
    let started = s.emit(2, json!(["create", "passkey-registrations", {}, {}]));
    let c = result(&started).clone();
    let creation = Creation { challenge: challenge(&c), ..Creation::new(es256()) };
    let made = s.emit(3, json!(["create", "passkey-credentials", {"challengeId": c["challengeId"], "credential": registration(&creation)}, {}]));
    assert_eq!(result(&made)["name"], "Passkey");
    s.emit(4, json!(["remove", "authentication", null, {}]));
    assert_eq!(error(&s.emit(5, json!(["find", "passkey-credentials", {}])))["name"], "NotAuthenticated");

    let started = s.emit(6, json!(["create", "passkey-challenges", {}, {}]));
    let c = result(&started).clone();
    let g = Getting { challenge: challenge(&c), user_handle: Some(id.as_bytes().to_vec()), count: 1, ..Getting::new(es256()) };
    let signed = s.emit(7, json!(["create", "authentication", {"strategy": "passkey", "challengeId": c["challengeId"], "credential": assertion(&g)}, {}]));
    assert_eq!(result(&signed)["authentication"]["strategy"], "passkey");
    // The connection is authenticated by the passkey's session now.
    let list = s.emit(8, json!(["find", "passkey-credentials", {}]));
    assert_eq!(result(&list).as_array().unwrap().len(), 1);
}
