//! One Socket.IO connection as a state machine: what it has agreed with its client (session
//! id, transport, the joined namespace, the Feathers authentication) and what each packet or
//! heartbeat tick makes it do.
//!
//! The machine decides; its adapter acts. [`Connection::receive`] and [`Connection::tick`]
//! return [`Step`]s (send this packet on that transport, run this call, close), and the worker's
//! Durable Object carries them out, stores the state between requests, and sets its alarm to
//! [`Connection::next_alarm`]. Feathers calls run through [`run`], which hands them to the
//! Feathers dialect's [`feathers::call_service`], the same code REST requests go through.

use super::engine::{self, Heartbeat, Packet as EnginePacket, Transport};
use super::socket::{self, Kind};
use crate::dialects::feathers::{self, FeathersError};
pub use crate::dialects::feathers::AuthChange;
use crate::dialects::Refusal;
use crate::flows::{Dialect, Flows};
use crate::ports::{Ports, Rng};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// How long a connection may stay without joining the namespace `/`, in milliseconds
/// (socket.io's `connectTimeout`).
pub const CONNECT_TIMEOUT_MS: i64 = 45_000;
/// Most events (and other answered packets) one connection may send per [`EVENT_WINDOW_MS`];
/// as many again are answered `TooManyRequests` without running, and one more closes the
/// connection, so a flood can neither run calls nor pile up answers. Sign-in attempts are
/// also counted per client and account by the flows, as over REST.
pub const MAX_EVENTS_PER_WINDOW: u32 = 30;
/// The window of [`MAX_EVENTS_PER_WINDOW`], in milliseconds.
pub const EVENT_WINDOW_MS: i64 = 10_000;

/// What is stored for a connection while it is open, and deleted when it closes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// The Engine.IO session id.
    pub sid: String,
    /// The client that opened it (`CF-Connecting-IP`): requests for this session from any
    /// other client are answered as for an unknown session.
    pub client: String,
    /// The User-Agent of the opening request, for sessions signed in over this connection.
    pub platform: String,
    /// The transport in use.
    pub transport: Transport,
    /// A WebSocket has answered the upgrade probe and is waiting for the `5`.
    pub upgrading: bool,
    /// When the connection opened (ms).
    pub opened_at: i64,
    /// The Socket.IO id, once the namespace `/` is joined.
    pub socket: Option<String>,
    /// The Feathers access token this connection authenticated with, if any; every call
    /// verifies it again, so a session ended elsewhere ends here too.
    pub token: Option<String>,
    /// When the last ping went out, while its pong is awaited (ms).
    pub ping_sent_at: Option<i64>,
    /// When the last pong came (or the connection opened): the next ping is due
    /// `heartbeat.interval_ms` after it (ms).
    pub alive_at: i64,
    /// The heartbeat agreed in the handshake.
    pub heartbeat: Heartbeat,
}

/// One thing for the adapter to do, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send an Engine.IO packet (encoded) on this transport.
    Send(Transport, String),
    /// Run a Feathers call with [`run`], send its answer on the current transport, then
    /// [`Connection::apply`] its [`AuthChange`].
    Call(Call),
    /// The client switched to the WebSocket: flush what waits for a poll onto it, and answer
    /// a waiting poll with a noop.
    Upgraded,
    /// Close the connection and delete everything stored for it.
    Close,
}

/// A Feathers call made by a socket event.
#[derive(Debug)]
pub struct Call {
    /// The ack id, if the client wants an answer.
    pub ack: Option<u64>,
    /// The method (the event's name).
    pub method: &'static str,
    /// The event's arguments after its name: `(path, ...args)`.
    pub args: Vec<Box<RawValue>>,
}

impl PartialEq for Call {
    fn eq(&self, other: &Self) -> bool {
        let raw = |c: &Call| c.args.iter().map(|a| a.get().to_string()).collect::<Vec<_>>();
        self.ack == other.ack && self.method == other.method && raw(self) == raw(other)
    }
}

impl Eq for Call {}

/// Counts a connection's events in fixed windows (kept in memory only: a flood keeps the
/// object awake, so it never loses count mid-flood).
#[derive(Debug, Clone, Copy, Default)]
pub struct EventBudget {
    window_start: i64,
    used: u32,
}

/// What [`EventBudget::take`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Within the budget: run it.
    Run,
    /// Over it: answer `TooManyRequests`.
    Refuse,
    /// Far over it: close the connection.
    Close,
}

impl EventBudget {
    /// Takes one packet that would be answered, at `now`.
    pub fn take(&mut self, now: i64) -> Admit {
        if now >= self.window_start + EVENT_WINDOW_MS {
            *self = EventBudget { window_start: now, used: 0 };
        }
        self.used = self.used.saturating_add(1);
        match self.used {
            n if n <= MAX_EVENTS_PER_WINDOW => Admit::Run,
            n if n <= 2 * MAX_EVENTS_PER_WINDOW => Admit::Refuse,
            _ => Admit::Close,
        }
    }
}

/// Length of a Socket.IO id: 16 random bytes in base64url.
const SOCKET_ID_BYTES: usize = 16;

/// A fresh session id for [`Connection::open`]: 24 random bytes, base64url (32 characters).
pub fn new_sid(rng: &impl Rng) -> String {
    random_id(rng, 24)
}

fn random_id(rng: &impl Rng, bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    rng.fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

impl Connection {
    /// A new connection `sid` on `transport`, opened at `now` by `client`.
    pub fn open(sid: String, client: &str, platform: &str, transport: Transport, heartbeat: Heartbeat, now: i64) -> Self {
        Connection {
            sid,
            client: client.to_string(),
            platform: platform.to_string(),
            transport,
            upgrading: false,
            opened_at: now,
            socket: None,
            token: None,
            ping_sent_at: None,
            alive_at: now,
            heartbeat,
        }
    }

    /// The handshake packet, the first thing the client receives.
    pub fn open_packet(&self) -> String {
        engine::open_packet(&self.sid, self.transport, self.heartbeat).encode()
    }

    /// When the adapter's alarm should next call [`Connection::tick`] (ms).
    pub fn next_alarm(&self) -> i64 {
        let heartbeat = match self.ping_sent_at {
            Some(sent) => sent + self.heartbeat.timeout_ms,
            None => self.alive_at + self.heartbeat.interval_ms,
        };
        match self.socket {
            Some(_) => heartbeat,
            None => heartbeat.min(self.opened_at + CONNECT_TIMEOUT_MS),
        }
    }

    /// The heartbeat: pings when one is due, closes a connection whose pong is overdue or
    /// that never joined the namespace.
    pub fn tick(&mut self, now: i64) -> Vec<Step> {
        let pong_overdue = self.ping_sent_at.is_some_and(|sent| now >= sent + self.heartbeat.timeout_ms);
        let never_joined = self.socket.is_none() && now >= self.opened_at + CONNECT_TIMEOUT_MS;
        if pong_overdue || never_joined {
            return vec![Step::Close];
        }
        if self.ping_sent_at.is_none() && now >= self.alive_at + self.heartbeat.interval_ms {
            self.ping_sent_at = Some(now);
            return vec![Step::Send(self.transport, EnginePacket::Ping(String::new()).encode())];
        }
        Vec::new()
    }

    /// Handles one Engine.IO packet (encoded) that arrived on transport `on` at `now`.
    pub fn receive(&mut self, text: &str, on: Transport, now: i64, budget: &mut EventBudget, rng: &impl Rng) -> Vec<Step> {
        let Ok(packet) = EnginePacket::parse(text) else {
            return vec![Step::Close];
        };
        if on != self.transport {
            return self.probe(packet, on);
        }
        match packet {
            EnginePacket::Pong(_) => {
                self.ping_sent_at = None;
                self.alive_at = now;
                Vec::new()
            }
            EnginePacket::Message(data) => self.message(&data, now, budget, rng),
            // Binary attachments have nowhere to go: these services take JSON.
            EnginePacket::Noop | EnginePacket::Binary => Vec::new(),
            // A v4 client never pings (upstream: "invalid heartbeat direction"), never opens
            // or upgrades the transport it is on; a close is a close.
            EnginePacket::Ping(_) | EnginePacket::Open(_) | EnginePacket::Upgrade | EnginePacket::Close => {
                vec![Step::Close]
            }
        }
    }

    /// A packet on the WebSocket that is probing to replace long-polling.
    fn probe(&mut self, packet: EnginePacket, on: Transport) -> Vec<Step> {
        match (on, packet) {
            (Transport::Websocket, EnginePacket::Ping(data)) if data == "probe" && !self.upgrading => {
                self.upgrading = true;
                // The noop ends the poll the client waits for before it may send `5`.
                vec![
                    Step::Send(Transport::Websocket, EnginePacket::Pong(data).encode()),
                    Step::Send(Transport::Polling, EnginePacket::Noop.encode()),
                ]
            }
            (Transport::Websocket, EnginePacket::Upgrade) if self.upgrading => {
                self.upgrading = false;
                self.transport = Transport::Websocket;
                vec![Step::Upgraded]
            }
            _ => vec![Step::Close],
        }
    }

    /// A Socket.IO packet.
    fn message(&mut self, data: &str, now: i64, budget: &mut EventBudget, rng: &impl Rng) -> Vec<Step> {
        let Ok(packet) = socket::Packet::parse(data) else {
            return vec![Step::Close];
        };
        let transport = self.transport;
        let send = |text: String| Step::Send(transport, EnginePacket::Message(text).encode());
        match packet.kind {
            Kind::Connect if packet.namespace != "/" => match budget.take(now) {
                Admit::Close => vec![Step::Close],
                _ => vec![send(socket::connect_error(&packet.namespace, "Invalid namespace"))],
            },
            // Upstream closes a connection that joins twice.
            Kind::Connect if self.socket.is_some() => vec![Step::Close],
            Kind::Connect => {
                let id = random_id(rng, SOCKET_ID_BYTES);
                let answer = send(socket::connected(&id));
                self.socket = Some(id);
                vec![answer]
            }
            Kind::Disconnect if packet.namespace == "/" => {
                // Feathers' connection, and its authentication, is the socket's.
                self.socket = None;
                self.token = None;
                Vec::new()
            }
            Kind::Disconnect | Kind::Ack | Kind::BinaryAck => Vec::new(),
            // Only a server sends these; events outside a joined namespace close, as upstream.
            Kind::ConnectError => vec![Step::Close],
            Kind::Event | Kind::BinaryEvent if packet.namespace != "/" || self.socket.is_none() => vec![Step::Close],
            Kind::BinaryEvent => match (budget.take(now), packet.id) {
                (Admit::Close, _) => vec![Step::Close],
                (_, Some(id)) => {
                    let error = FeathersError::BadRequest("Binary attachments are not supported".into());
                    vec![send(error_ack(id, &error))]
                }
                (_, None) => Vec::new(),
            },
            // The same bound as a REST body: a socket lets in nothing larger.
            Kind::Event if data.len() > crate::dialects::routes::MAX_BODY_BYTES => match (budget.take(now), packet.id) {
                (Admit::Close, _) => vec![Step::Close],
                (_, Some(id)) => vec![send(error_ack(id, &FeathersError::Refused(Refusal::TooLarge)))],
                (_, None) => Vec::new(),
            },
            Kind::Event => {
                let Some((name, args)) = packet.event() else {
                    return vec![Step::Close];
                };
                // Events that are no service method have no listener, as upstream.
                let Some(method) = feathers::METHODS.iter().find(|m| **m == name) else {
                    return Vec::new();
                };
                match (budget.take(now), packet.id) {
                    (Admit::Run, ack) => vec![Step::Call(Call { ack, method, args })],
                    (Admit::Refuse, Some(id)) => vec![send(error_ack(id, &FeathersError::TooManyRequests))],
                    (Admit::Refuse, None) => Vec::new(),
                    (Admit::Close, _) => vec![Step::Close],
                }
            }
        }
    }

    /// Records what a finished call did to the connection's authentication, unless the socket
    /// that made the call (`made_by`, its Socket.IO id then) has left or rejoined meanwhile:
    /// a sign-in must not outlive the socket it was made for.
    pub fn apply(&mut self, change: AuthChange, made_by: &Option<String>) {
        if self.socket != *made_by {
            return;
        }
        match change {
            AuthChange::None => {}
            AuthChange::SignedIn(token) => self.token = Some(token),
            AuthChange::SignedOut => self.token = None,
        }
    }
}

/// An error answer that needs no flow (so no error id): `3<id>[error]` in a message.
fn error_ack(id: u64, error: &FeathersError) -> String {
    socket::ack(id, &[feathers::error_object(error, None).1])
}

/// Runs `call` for connection `conn`: the Feathers service call, its answer as an encoded
/// Engine.IO message (if the client asked for one), and what it did to the connection's
/// authentication.
pub async fn run<P: Ports>(auth: &Flows<P>, conn: &Connection, call: &Call) -> (Option<String>, AuthChange) {
    let outcome = async {
        let service_call = feathers::socket_call(call.method, &call.args, conn.token.as_deref(), &conn.platform)?;
        // A connection can outlive a deploy that switched Feathers off: its calls then find
        // no service, as a REST request finds no path.
        if !auth.config().serves(Dialect::Feathers) {
            return Err(FeathersError::NoService(service_call.service.to_string()));
        }
        let reply = feathers::call_service(auth, &service_call).await?;
        Ok::<_, FeathersError>((reply.body, reply.auth_change))
    };
    let (args, change) = match outcome.await {
        Ok((result, change)) => (vec![Value::Null, result], change),
        Err(e) => (vec![feathers::error_body(auth, &e).1], AuthChange::None),
    };
    let answer = call.ack.map(|id| EnginePacket::Message(socket::ack(id, &args)).encode());
    (answer, change)
}
