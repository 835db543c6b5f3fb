//! Feathers over Socket.IO at `/socket.io/`, with each connection in its own Durable Object
//! (`SocketConnection`, binding `SOCKETS`): the object named by the Engine.IO session id holds
//! the connection's state across its long-polling requests and its WebSocket, so any isolate
//! in any location reaches the same connection, and the platform, not this code, spreads
//! connections over machines.
//!
//! What a packet means and what the connection does about it is decided in
//! `portcullis_shared::realtime`: the connection's state machine, and its poll queue (what
//! waits for the next poll, and when a poll is answered). This module only does the I/O: it
//! answers polls from the queue, accepts WebSockets through the Hibernation API (an idle
//! connection costs no memory), runs the heartbeat on the object's alarm, and deletes the
//! object's storage when the connection closes.

use crate::edge::{body_reading, edge_app, misconfigured};
use crate::config::BodyReading;
use crate::convert::read_bounded;
use crate::runtime::{CryptoRng, JsClock};
use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::Clock;
use portcullis_shared::realtime::connection::new_sid;
use portcullis_shared::realtime::engine::{self, Heartbeat, HttpError, Request as EngineRequest, Transport};
use portcullis_shared::realtime::poll::{next_packets, PollQueue, Queued};
use portcullis_shared::realtime::{AuthChange, Call, Connection, EventBudget, Step};
use std::cell::{Cell, RefCell};
use worker::{
    console_error, durable_object, DurableObject, ScheduledTime, Env, Headers, Method, Request, RequestInit, Response, Result, State,
    WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

/// The Durable Object binding of the connections.
const BINDING: &str = "SOCKETS";
/// The storage key of a connection's [`Connection`].
const STATE_KEY: &str = "connection";

/// Routes a request to its connection's object: a handshake to a new one, named by a fresh
/// session id; anything else to the one its `sid` names. The object is addressed by a URL this
/// worker builds (`/<open|session>/<sid>/<transport>`, from the request classified here), so a
/// client cannot reach the object's open path with an id of its choosing.
pub async fn route(mut req: Request, env: &Env) -> Result<Response> {
    let upgrade = req.headers().get("upgrade")?.is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let href = req.inner().url();
    let query = href.split_once('?').map(|(_, q)| q.split_once('#').map_or(q, |(q, _)| q));
    let request = match engine::classify(req.method().as_ref(), query, upgrade) {
        Ok(r) => r,
        Err(e) => {
            drain(&mut req, body_reading(env)).await;
            return http_error(e);
        }
    };
    let (sid, op, transport) = match request {
        EngineRequest::Handshake(t) => (new_sid(&CryptoRng), "open", t),
        EngineRequest::Session { sid, transport } => (sid, "session", transport),
    };
    let stub = env.durable_object(BINDING)?.id_from_name(&sid)?.get_stub()?;
    let inner = format!("https://connection/{op}/{sid}/{}", transport.name());
    let mut init = RequestInit::new();
    init.with_method(req.method()).with_headers(req.headers().clone());
    if let Some(body) = req.inner().body() {
        init.with_body(Some(body.into()));
    }
    stub.fetch_with_request(Request::new_with_init(&inner, &init)?).await
}

/// One Socket.IO connection.
#[durable_object]
pub struct SocketConnection {
    state: State,
    env: Env,
    /// The connection, once read from storage (`loaded`); `None` when there is none.
    conn: RefCell<Option<Connection>>,
    loaded: Cell<bool>,
    /// The alarm last set, if known.
    alarm_at: Cell<Option<i64>>,
    /// Packets waiting for the next poll, and the poll held open for them.
    queue: RefCell<PollQueue>,
    /// Events counted against the connection's flood limit.
    budget: RefCell<EventBudget>,
    /// An answer did not fit in the outbox: the connection must close.
    overflowed: Cell<bool>,
}

impl DurableObject for SocketConnection {
    fn new(state: State, env: Env) -> Self {
        SocketConnection {
            state,
            env,
            conn: RefCell::new(None),
            loaded: Cell::new(false),
            alarm_at: Cell::new(None),
            queue: RefCell::new(PollQueue::default()),
            budget: RefCell::new(EventBudget::default()),
            overflowed: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let answer = self.answer(&mut req).await;
        drain(&mut req, body_reading(&self.env)).await;
        answer
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_at.set(None);
        let steps = match self.current().await {
            Some(_) => self.with_connection(|c| c.tick(now())),
            // Nothing open: leave nothing behind.
            None => vec![Step::Close],
        };
        self.save().await;
        self.carry_out(steps).await;
        Response::empty()
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        if self.current().await.is_none() {
            return close_socket(&ws, 1000, "session closed");
        }
        let text = match message {
            WebSocketIncomingMessage::String(text) if text.len() <= engine::MAX_PAYLOAD => text,
            WebSocketIncomingMessage::Binary(bytes) if bytes.len() <= engine::MAX_PAYLOAD => return Ok(()),
            // Upstream's ws closes an oversized message with 1009.
            _ => {
                let _ = close_socket(&ws, 1009, "message too big");
                self.close().await;
                return Ok(());
            }
        };
        self.receive(&text, Transport::Websocket).await;
        Ok(())
    }

    async fn websocket_close(&self, ws: WebSocket, _code: usize, _reason: String, _was_clean: bool) -> Result<()> {
        let _ = close_socket(&ws, 1000, "closed");
        self.socket_gone().await;
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        let _ = close_socket(&ws, 1011, "error");
        self.socket_gone().await;
        Ok(())
    }
}

impl SocketConnection {
    /// What a request to the object is answered; the path is the worker's (see `route`),
    /// which has classified the request already.
    async fn answer(&self, req: &mut Request) -> Result<Response> {
        let path = req.path();
        let mut path = path.trim_start_matches('/').split('/');
        let (op, sid) = (path.next().unwrap_or_default().to_string(), path.next().unwrap_or_default().to_string());
        let Some(transport) = path.next().and_then(Transport::parse) else {
            return http_error(HttpError::UnknownTransport);
        };
        let client = client_of(&self.env, req.headers());
        if op == "open" {
            let platform = req.headers().get("user-agent")?.unwrap_or_default();
            return self.open(sid, &client, platform.trim(), transport).await;
        }
        let Some(conn) = self.current().await else {
            return http_error(HttpError::UnknownSid);
        };
        // Knowing a session's id is not enough to use it: it is the opening client's.
        if conn.client != client || conn.sid != sid {
            return http_error(HttpError::UnknownSid);
        }
        match (transport, req.method()) {
            (Transport::Websocket, _) if conn.transport == Transport::Polling && self.state.get_websockets().is_empty() => {
                accept(&self.state, None)
            }
            (Transport::Polling, Method::Get) if conn.transport == Transport::Polling => self.poll().await,
            (Transport::Polling, Method::Post) if conn.transport == Transport::Polling => self.post(req).await,
            // A second WebSocket, or polling after the upgrade (upstream's transport mismatch).
            _ => http_error(HttpError::BadRequest),
        }
    }

    /// A new connection: stores it, sets the heartbeat, and answers the handshake.
    async fn open(&self, sid: String, client: &str, platform: &str, transport: Transport) -> Result<Response> {
        let Some(app) = edge_app(&self.env) else {
            return misconfigured();
        };
        let config = app.auth().config();
        let heartbeat = Heartbeat {
            interval_ms: config.socket_ping_interval_ms,
            timeout_ms: config.socket_ping_timeout_ms,
        };
        let platform = if platform.is_empty() { "unknown" } else { platform };
        let conn = Connection::open(sid, client, platform, transport, heartbeat, now());
        let open = conn.open_packet();
        *self.conn.borrow_mut() = Some(conn);
        self.loaded.set(true);
        self.save().await;
        match transport {
            Transport::Polling => text_response(&open),
            Transport::Websocket => accept(&self.state, Some(&open)),
        }
    }

    /// The connection, from memory or storage.
    async fn current(&self) -> Option<Connection> {
        if !self.loaded.get() {
            let stored: Option<Connection> = self.state.storage().get(STATE_KEY).await.ok().flatten();
            if !self.loaded.get() {
                *self.conn.borrow_mut() = stored;
                self.loaded.set(true);
            }
        }
        self.conn.borrow().clone()
    }

    /// Runs `f` on the connection (which must be loaded) and returns its steps.
    fn with_connection(&self, f: impl FnOnce(&mut Connection) -> Vec<Step>) -> Vec<Step> {
        match self.conn.borrow_mut().as_mut() {
            Some(c) => f(c),
            None => Vec::new(),
        }
    }

    /// Stores the connection and moves the alarm to its next heartbeat.
    async fn save(&self) {
        let Some(conn) = self.conn.borrow().clone() else { return };
        let storage = self.state.storage();
        if let Err(e) = storage.put(STATE_KEY, &conn).await {
            console_error!("portcullis socket: could not store a connection: {e}");
        }
        let next = conn.next_alarm();
        // An absolute time: the worker crate reads a bare number as an offset from now.
        let at = ScheduledTime::new(js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(next as f64)));
        if self.alarm_at.get() != Some(next) && storage.set_alarm(at).await.is_ok() {
            self.alarm_at.set(Some(next));
        }
    }

    /// Handles one packet that arrived on `on`.
    async fn receive(&self, text: &str, on: Transport) {
        let before = self.conn.borrow().clone();
        let steps = {
            let mut budget = self.budget.borrow_mut();
            self.with_connection(|c| c.receive(text, on, now(), &mut budget, &CryptoRng))
        };
        if *self.conn.borrow() != before {
            self.save().await;
        }
        self.carry_out(steps).await;
    }

    /// Carries out a connection's steps in order.
    async fn carry_out(&self, steps: Vec<Step>) {
        for step in steps {
            match step {
                Step::Send(transport, packet) => self.send(transport, packet),
                Step::Call(call) => self.call(call).await,
                Step::Upgraded => {
                    let waiting = self.queue.borrow_mut().take_all();
                    for packet in waiting {
                        self.send(Transport::Websocket, packet);
                    }
                    if self.queue.borrow().is_polling() {
                        self.send(Transport::Polling, engine::Packet::Noop.encode());
                    }
                }
                Step::Close => {
                    self.close().await;
                    return;
                }
            }
            if self.overflowed.get() {
                self.close().await;
                return;
            }
        }
    }

    /// Sends a packet on `transport`: on the WebSocket at once, else to the next poll.
    fn send(&self, transport: Transport, packet: String) {
        match transport {
            Transport::Websocket => {
                for ws in self.state.get_websockets() {
                    if let Err(e) = ws.send_with_str(&packet) {
                        console_error!("portcullis socket: send failed: {e}");
                    }
                }
            }
            Transport::Polling => {
                // More than one payload of answers waiting: the connection closes instead.
                let queued = self.queue.borrow_mut().push(packet);
                if queued == Queued::Overflow {
                    self.overflowed.set(true);
                }
            }
        }
    }

    /// Runs a Feathers call and answers it on the transport in use when it finishes.
    async fn call(&self, call: Call) {
        let Some(conn) = self.conn.borrow().clone() else { return };
        let Some(app) = edge_app(&self.env) else {
            // The worker log says what is misconfigured; the client's call times out.
            return;
        };
        let (answer, change, outbox) = app.socket_call(&conn, &call).await;
        if let (Some(answer), Some(now_conn)) = (answer, self.conn.borrow().clone()) {
            self.send(now_conn.transport, answer);
        }
        if change != AuthChange::None {
            if let Some(c) = self.conn.borrow_mut().as_mut() {
                c.apply(change, &conn.socket);
            }
            self.save().await;
        }
        // Mail a call queued goes out after its answer, as over REST.
        self.state.wait_until(async move { app.deliver(outbox).await });
    }

    /// Holds a poll open until there is something to send (a ping comes within the ping
    /// interval). A second poll at the same time closes the connection, as upstream.
    async fn poll(&self) -> Result<Response> {
        if self.queue.borrow_mut().begin().is_err() {
            self.close().await;
            return http_error(HttpError::BadRequest);
        }
        let packets = next_packets(&self.queue).await;
        text_response(&engine::encode_payload(&packets))
    }

    /// Packets sent by long-polling. An oversized body (413) or a malformed packet closes the
    /// connection, as upstream.
    async fn post(&self, req: &mut Request) -> Result<Response> {
        let body = read_bounded(req, engine::MAX_PAYLOAD + 1, engine::MAX_PAYLOAD + 1).await?;
        if body.len() > engine::MAX_PAYLOAD {
            self.close().await;
            return http_error(HttpError::TooLarge);
        }
        match String::from_utf8(body) {
            Ok(text) if engine::decode_payload(&text).is_ok() => {
                for packet in text.split(engine::SEPARATOR) {
                    self.receive(packet, Transport::Polling).await;
                    if self.conn.borrow().is_none() {
                        break;
                    }
                }
            }
            _ => self.close().await,
        }
        let mut res = Response::ok("ok")?;
        res.headers_mut().set("content-type", "text/html")?;
        Ok(res)
    }

    /// The WebSocket closed: the connection ends with it once it is the transport; a probe
    /// that closes before the upgrade leaves long-polling as it was.
    async fn socket_gone(&self) {
        match self.current().await {
            Some(c) if c.transport == Transport::Polling => {
                if let Some(c) = self.conn.borrow_mut().as_mut() {
                    c.upgrading = false;
                }
                self.save().await;
            }
            _ => self.close().await,
        }
    }

    /// Closes the connection: a waiting poll gets the close packet, the WebSocket closes, and
    /// everything stored is deleted.
    async fn close(&self) {
        *self.conn.borrow_mut() = None;
        self.loaded.set(true);
        self.send(Transport::Polling, engine::Packet::Close.encode());
        for ws in self.state.get_websockets() {
            let _ = close_socket(&ws, 1000, "closed");
        }
        let storage = self.state.storage();
        let _ = storage.delete_alarm().await;
        self.alarm_at.set(None);
        if let Err(e) = storage.delete_all().await {
            console_error!("portcullis socket: could not delete a closed connection: {e}");
        }
    }
}

/// Accepts a WebSocket through the Hibernation API, first sending `first` on it if given.
fn accept(state: &State, first: Option<&str>) -> Result<Response> {
    let pair = WebSocketPair::new()?;
    state.accept_web_socket(&pair.server);
    if let Some(text) = first {
        pair.server.send_with_str(text)?;
    }
    Response::from_websocket(pair.client)
}

fn close_socket(ws: &WebSocket, code: u16, reason: &str) -> Result<()> {
    ws.close(Some(code), Some(reason))
}

/// The client as the throttles see it (`App::client_of`: the header `RATE_LIMIT_HEADER`
/// names, on Cloudflare `CF-Connecting-IP`).
fn client_of(env: &Env, headers: &Headers) -> String {
    let Some(app) = edge_app(env) else { return "unknown".into() };
    let headers: http::HeaderMap = headers
        .entries()
        .filter_map(|(k, v)| Some((http::HeaderName::from_bytes(k.as_bytes()).ok()?, http::HeaderValue::from_str(&v).ok()?)))
        .collect();
    app.client_of(&headers).to_string()
}

fn now() -> i64 {
    let Timestamp(ms) = JsClock.now();
    ms
}

/// Reads what is left of a request's body (at most a payload more, or all of it with
/// [`BodyReading::Whole`]), dropped. Answering before the body is read leaves it on a
/// kept-alive HTTP/1.1 connection, which workerd then closes under the client's next request
/// on it.
async fn drain(req: &mut Request, reading: BodyReading) {
    let _ = read_bounded(req, 0, reading.stop_after(engine::MAX_PAYLOAD + 1)).await;
}

/// A long-polling answer.
fn text_response(text: &str) -> Result<Response> {
    let mut res = Response::ok(text)?;
    let headers = res.headers_mut();
    headers.set("content-type", "text/plain; charset=UTF-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(res)
}

/// An Engine.IO HTTP error in upstream's shape.
fn http_error(e: HttpError) -> Result<Response> {
    let (status, body) = e.status_and_body();
    let mut res = Response::ok(body)?.with_status(status);
    res.headers_mut().set("content-type", "application/json")?;
    Ok(res)
}
