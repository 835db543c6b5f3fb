//! Engine.IO v4 (socketio/engine.io-protocol): the packets under Socket.IO, their text encoding,
//! long-polling payloads, the open handshake, and the HTTP errors of the `/socket.io/` endpoint.
//!
//! Only the codec and the transport rules live here; what a connection does with a packet is
//! [`super::connection`]'s, and holding a long-polling request open is the worker's.

use serde::Serialize;

/// Whether `path` is the Socket.IO endpoint (the client bundle beside it is a static asset).
pub fn is_endpoint(path: &str) -> bool {
    path == "/socket.io/" || path == "/socket.io"
}

/// The protocol revision served (`EIO=4`).
pub const PROTOCOL: &str = "4";
/// How often the server pings and how long it waits for the pong, in milliseconds
/// (`SOCKETIO_PING_INTERVAL`, `SOCKETIO_PING_TIMEOUT`; upstream's defaults are 25 s and 20 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Heartbeat {
    /// `pingInterval`.
    pub interval_ms: i64,
    /// `pingTimeout`.
    pub timeout_ms: i64,
}

impl Heartbeat {
    /// Upstream's defaults.
    pub const DEFAULT: Heartbeat = Heartbeat { interval_ms: 25_000, timeout_ms: 20_000 };
}
/// The largest payload a client may send: one long-polling body or one WebSocket message
/// (upstream's default).
pub const MAX_PAYLOAD: usize = 1_000_000;
/// The record separator that joins packets in a long-polling payload.
pub const SEPARATOR: char = '\x1e';

/// The two transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// HTTP long-polling: GET receives, POST sends.
    Polling,
    /// One WebSocket.
    Websocket,
}

impl Transport {
    /// The `transport` query parameter's transport.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "polling" => Some(Transport::Polling),
            "websocket" => Some(Transport::Websocket),
            _ => None,
        }
    }

    /// The transport's name, as [`Transport::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::Websocket => "websocket",
        }
    }
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0`: the handshake (server to client), with its JSON.
    Open(String),
    /// `1`: the transport is closing.
    Close,
    /// `2`: ping, with optional data (`2probe` during an upgrade).
    Ping(String),
    /// `3`: pong, with optional data (`3probe`).
    Pong(String),
    /// `4`: a message, here always a Socket.IO packet.
    Message(String),
    /// `5`: the client switches to the probed transport.
    Upgrade,
    /// `6`: nothing; flushes a long-polling request during an upgrade.
    Noop,
    /// A binary message (`b<base64>` in a long-polling payload, a binary WebSocket frame).
    /// Feathers' auth services take JSON only, so these are dropped.
    Binary,
}

/// A packet that is not Engine.IO v4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError;

impl Packet {
    /// Decodes one text packet.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut chars = text.chars();
        let data = || text.get(1..).unwrap_or_default().to_string();
        match chars.next() {
            Some('0') => Ok(Packet::Open(data())),
            Some('1') => Ok(Packet::Close),
            Some('2') => Ok(Packet::Ping(data())),
            Some('3') => Ok(Packet::Pong(data())),
            Some('4') => Ok(Packet::Message(data())),
            Some('5') => Ok(Packet::Upgrade),
            Some('6') => Ok(Packet::Noop),
            Some('b') => Ok(Packet::Binary),
            _ => Err(ParseError),
        }
    }

    /// Encodes the packet as text.
    pub fn encode(&self) -> String {
        match self {
            Packet::Open(json) => format!("0{json}"),
            Packet::Close => "1".into(),
            Packet::Ping(data) => format!("2{data}"),
            Packet::Pong(data) => format!("3{data}"),
            Packet::Message(data) => format!("4{data}"),
            Packet::Upgrade => "5".into(),
            Packet::Noop => "6".into(),
            Packet::Binary => "b".into(),
        }
    }
}

/// Splits a long-polling body into its packets; an empty body or packet is malformed.
pub fn decode_payload(body: &str) -> Result<Vec<Packet>, ParseError> {
    body.split(SEPARATOR).map(Packet::parse).collect()
}

/// Joins encoded packets into one long-polling body.
pub fn encode_payload(packets: &[String]) -> String {
    packets.join(&SEPARATOR.to_string())
}

/// The open packet's JSON (`0{...}`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Handshake<'a> {
    sid: &'a str,
    upgrades: &'a [&'a str],
    ping_interval: i64,
    ping_timeout: i64,
    max_payload: usize,
}

/// The open packet for session `sid` on `transport`: a polling session may upgrade to a
/// WebSocket; a WebSocket session has nothing to upgrade to.
pub fn open_packet(sid: &str, transport: Transport, heartbeat: Heartbeat) -> Packet {
    let upgrades: &[&str] = match transport {
        Transport::Polling => &["websocket"],
        Transport::Websocket => &[],
    };
    let handshake = Handshake {
        sid,
        upgrades,
        ping_interval: heartbeat.interval_ms,
        ping_timeout: heartbeat.timeout_ms,
        max_payload: MAX_PAYLOAD,
    };
    Packet::Open(serde_json::to_string(&handshake).unwrap_or_default())
}

/// The errors the endpoint answers over HTTP, with upstream's codes and messages
/// (engine.io `Server.errors`). Every one is a 400, except [`HttpError::Forbidden`] (403)
/// and [`HttpError::TooLarge`] (413).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// `transport` is missing or not `polling`/`websocket` (code 0).
    UnknownTransport,
    /// No session with that `sid` (code 1). Also the answer for a `sid` presented by another
    /// client than the one that opened it, so a stolen id looks like an expired one.
    UnknownSid,
    /// A handshake that is not a GET (code 2).
    BadHandshakeMethod,
    /// Anything else the protocol does not allow: a second concurrent poll, a polling request
    /// after the upgrade, a WebSocket request without `Upgrade: websocket` (code 3).
    BadRequest,
    /// A request the server refuses to serve (code 4).
    Forbidden,
    /// `EIO` is not `4` (code 5).
    UnsupportedProtocol,
    /// A body over [`MAX_PAYLOAD`]; the session is closed.
    TooLarge,
}

impl HttpError {
    /// HTTP status and JSON body: the one place this endpoint picks statuses.
    pub fn status_and_body(self) -> (u16, String) {
        let (status, code, message) = match self {
            HttpError::UnknownTransport => (400, 0, "Transport unknown"),
            HttpError::UnknownSid => (400, 1, "Session ID unknown"),
            HttpError::BadHandshakeMethod => (400, 2, "Bad handshake method"),
            HttpError::BadRequest => (400, 3, "Bad request"),
            HttpError::Forbidden => (403, 4, "Forbidden"),
            HttpError::UnsupportedProtocol => (400, 5, "Unsupported protocol version"),
            HttpError::TooLarge => (413, 3, "Payload too large"),
        };
        (status, serde_json::json!({"code": code, "message": message}).to_string())
    }
}

/// What a request to `/socket.io/` asks for, from its method, query and `Upgrade` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A new session on this transport.
    Handshake(Transport),
    /// A request within session `sid`: a poll (GET), a send (POST), or a WebSocket to upgrade to.
    Session {
        /// The session.
        sid: String,
        /// The transport the request uses.
        transport: Transport,
    },
}

/// Classifies a request the way engine.io's `verify` does, before any session is touched.
pub fn classify(method: &str, query: Option<&str>, websocket_upgrade: bool) -> Result<Request, HttpError> {
    let param = |name: &str| {
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("EIO").as_deref() != Some(PROTOCOL) {
        return Err(HttpError::UnsupportedProtocol);
    }
    let transport = param("transport").as_deref().and_then(Transport::parse).ok_or(HttpError::UnknownTransport)?;
    if transport == Transport::Websocket && !(method == "GET" && websocket_upgrade) {
        return Err(HttpError::BadRequest);
    }
    match param("sid") {
        None => match method {
            "GET" => Ok(Request::Handshake(transport)),
            _ => Err(HttpError::BadHandshakeMethod),
        },
        // Ours are 32 characters of base64url; anything else names no session.
        Some(sid) if is_wellformed_sid(&sid) => match (transport, method) {
            (Transport::Polling, "GET" | "POST") | (Transport::Websocket, _) => Ok(Request::Session { sid, transport }),
            _ => Err(HttpError::BadRequest),
        },
        Some(_) => Err(HttpError::UnknownSid),
    }
}

/// Length of a session id: 24 random bytes in base64url.
pub const SID_LEN: usize = 32;

/// Whether `sid` has the shape of an id this server issues.
pub fn is_wellformed_sid(sid: &str) -> bool {
    sid.len() == SID_LEN && sid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn transport_names_round_trip() {
        for t in [Transport::Polling, Transport::Websocket] {
            assert_eq!(Transport::parse(t.name()), Some(t));
        }
    }

    #[test]
    fn packets_round_trip_and_unknown_types_are_refused() {
        for text in ["0{}", "1", "2", "2probe", "3probe", "4hello", "5", "6"] {
            assert_eq!(Packet::parse(text).map(|p| p.encode()), Ok(text.to_string()));
        }
        assert_eq!(Packet::parse("bAQID"), Ok(Packet::Binary));
        assert_eq!(Packet::parse(""), Err(ParseError));
        assert_eq!(Packet::parse("7"), Err(ParseError));
        assert_eq!(Packet::parse("x4"), Err(ParseError));
    }

    #[test]
    fn a_polling_payload_splits_on_the_record_separator() {
        assert_eq!(
            decode_payload("4hello\x1e2\x1e4world"),
            Ok(vec![Packet::Message("hello".into()), Packet::Ping(String::new()), Packet::Message("world".into())])
        );
        assert_eq!(decode_payload("4a\x1e\x1e4b"), Err(ParseError));
        assert_eq!(encode_payload(&["4a".into(), "2".into()]), "4a\x1e2");
    }

    #[test]
    fn the_open_packet_carries_upstreams_defaults() {
        let Packet::Open(json) = open_packet(SID, Transport::Polling, Heartbeat::DEFAULT) else { unreachable!() };
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"sid": SID, "upgrades": ["websocket"], "pingInterval": 25000, "pingTimeout": 20000, "maxPayload": 1000000})
        );
        let Packet::Open(json) = open_packet(SID, Transport::Websocket, Heartbeat::DEFAULT) else { unreachable!() };
        assert!(json.contains(r#""upgrades":[]"#));
    }

    #[test]
    fn requests_are_classified_like_engine_io_verify() {
        use HttpError as E;
        let q = |s: &str| Some(s.to_string());
        let c = |m: &str, query: &Option<String>, ws: bool| classify(m, query.as_deref(), ws);
        assert_eq!(c("GET", &q("EIO=4&transport=polling&t=x"), false), Ok(Request::Handshake(Transport::Polling)));
        assert_eq!(c("GET", &q("EIO=4&transport=websocket"), true), Ok(Request::Handshake(Transport::Websocket)));
        assert_eq!(c("GET", &q("EIO=3&transport=polling"), false), Err(E::UnsupportedProtocol));
        assert_eq!(c("GET", &None, false), Err(E::UnsupportedProtocol));
        assert_eq!(c("GET", &q("EIO=4&transport=flash"), false), Err(E::UnknownTransport));
        assert_eq!(c("POST", &q("EIO=4&transport=polling"), false), Err(E::BadHandshakeMethod));
        assert_eq!(c("GET", &q("EIO=4&transport=websocket"), false), Err(E::BadRequest));
        let with_sid = q(&format!("EIO=4&transport=polling&sid={SID}"));
        assert_eq!(
            c("POST", &with_sid, false),
            Ok(Request::Session { sid: SID.into(), transport: Transport::Polling })
        );
        assert_eq!(c("PUT", &with_sid, false), Err(E::BadRequest));
        assert_eq!(c("GET", &q("EIO=4&transport=polling&sid=short"), false), Err(E::UnknownSid));
        assert_eq!(c("GET", &q("EIO=4&transport=polling&sid=%00"), false), Err(E::UnknownSid));
    }

    #[test]
    fn http_errors_use_upstreams_codes() {
        assert_eq!(
            HttpError::UnknownSid.status_and_body(),
            (400, r#"{"code":1,"message":"Session ID unknown"}"#.to_string())
        );
        assert_eq!(HttpError::TooLarge.status_and_body().0, 413);
    }
}
