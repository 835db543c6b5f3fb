//! Socket.IO v5 packets (socketio/socket.io-protocol), carried in Engine.IO messages:
//! `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`.
//!
//! Only the codec lives here. It checks what upstream's parser checks (the payload's shape per
//! type) and keeps event arguments as raw JSON, so a Feathers call's data is parsed once, by
//! the same code as a REST body.

use serde_json::value::RawValue;

/// The packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `0`: join a namespace (client), or the answer (server).
    Connect,
    /// `1`: leave the namespace.
    Disconnect,
    /// `2`: an event: `["name", ...args]`.
    Event,
    /// `3`: the answer to an event that asked for one.
    Ack,
    /// `4`: a refused connect (server to client).
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an ack with binary attachments.
    BinaryAck,
}

/// A decoded packet.
#[derive(Debug)]
pub struct Packet {
    /// Its type.
    pub kind: Kind,
    /// The namespace, `/` unless given.
    pub namespace: String,
    /// The ack id, when the sender wants an answer.
    pub id: Option<u64>,
    /// The JSON payload, if any, unparsed.
    pub payload: Option<Box<RawValue>>,
}

/// A packet that is not Socket.IO v5; upstream closes the connection on one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError;

/// Longest ack id accepted, in digits (upstream's are counters).
const MAX_ID_DIGITS: usize = 15;

impl Packet {
    /// Decodes one packet.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let kind = match text.as_bytes().first() {
            Some(b'0') => Kind::Connect,
            Some(b'1') => Kind::Disconnect,
            Some(b'2') => Kind::Event,
            Some(b'3') => Kind::Ack,
            Some(b'4') => Kind::ConnectError,
            Some(b'5') => Kind::BinaryEvent,
            Some(b'6') => Kind::BinaryAck,
            _ => return Err(ParseError),
        };
        let mut rest = &text[1..];
        if matches!(kind, Kind::BinaryEvent | Kind::BinaryAck) {
            let dash = rest.find('-').ok_or(ParseError)?;
            let count = &rest[..dash];
            if count.is_empty() || count.len() > 6 || !count.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseError);
            }
            rest = &rest[dash + 1..];
        }
        let mut namespace = "/".to_string();
        if rest.starts_with('/') {
            let end = rest.find(',').unwrap_or(rest.len());
            namespace = rest[..end].to_string();
            rest = rest.get(end + 1..).unwrap_or_default();
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let id = match digits {
            0 => None,
            n if n <= MAX_ID_DIGITS => Some(rest[..n].parse().map_err(|_| ParseError)?),
            _ => return Err(ParseError),
        };
        rest = &rest[digits..];
        let payload = match rest.is_empty() {
            true => None,
            false => Some(serde_json::from_str::<Box<RawValue>>(rest).map_err(|_| ParseError)?),
        };
        let packet = Packet { kind, namespace, id, payload };
        packet.shape_is_valid().then_some(packet).ok_or(ParseError)
    }

    /// Upstream's `isPayloadValid`: a connect carries an object or nothing, a disconnect
    /// nothing, an event a non-empty array whose first element is its name, an ack an array.
    fn shape_is_valid(&self) -> bool {
        let text = self.payload.as_ref().map(|p| p.get().trim_start());
        match self.kind {
            Kind::Connect => text.is_none_or(|t| t.starts_with('{')),
            Kind::Disconnect => text.is_none(),
            Kind::Event | Kind::BinaryEvent => self.event_name().is_some(),
            Kind::Ack | Kind::BinaryAck => text.is_some_and(|t| t.starts_with('[')),
            Kind::ConnectError => text.is_some(),
        }
    }

    /// An event's name and arguments, unparsed.
    pub fn event(&self) -> Option<(String, Vec<Box<RawValue>>)> {
        let items: Vec<Box<RawValue>> = serde_json::from_str(self.payload.as_ref()?.get()).ok()?;
        let (first, args) = items.split_first()?;
        let name: String = serde_json::from_str(first.get()).ok()?;
        Some((name, args.to_vec()))
    }

    fn event_name(&self) -> Option<String> {
        self.event().map(|(name, _)| name)
    }
}

/// `0{"sid":...}`: the namespace `/` is joined.
pub fn connected(socket_sid: &str) -> String {
    format!("0{}", serde_json::json!({ "sid": socket_sid }))
}

/// `4<namespace>,{"message":...}`: a refused connect.
pub fn connect_error(namespace: &str, message: &str) -> String {
    let body = serde_json::json!({ "message": message });
    match namespace {
        "/" => format!("4{body}"),
        ns => format!("4{ns},{body}"),
    }
}

/// `3<id>[args...]`: the answer to event `id` in the namespace `/`.
pub fn ack(id: u64, args: &[serde_json::Value]) -> String {
    format!("3{id}{}", serde_json::Value::Array(args.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_with_an_ack_id_keeps_its_arguments_raw() {
        let p = Packet::parse(r#"27["create","authentication",{"strategy":"local"},{}]"#).unwrap();
        assert_eq!((p.kind, p.namespace.as_str(), p.id), (Kind::Event, "/", Some(7)));
        let (name, args) = p.event().unwrap();
        assert_eq!(name, "create");
        let args: Vec<&str> = args.iter().map(|a| a.get()).collect();
        assert_eq!(args, [r#""authentication""#, r#"{"strategy":"local"}"#, "{}"]);
    }

    #[test]
    fn namespaces_connects_and_binary_headers_parse() {
        let p = Packet::parse("0").unwrap();
        assert_eq!((p.kind, p.namespace.as_str(), p.payload.is_none()), (Kind::Connect, "/", true));
        let p = Packet::parse(r#"0/admin,{"token":"x"}"#).unwrap();
        assert_eq!(p.namespace, "/admin");
        let p = Packet::parse(r#"51-12["create","users",{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!((p.kind, p.id), (Kind::BinaryEvent, Some(12)));
        assert_eq!(Packet::parse("1").unwrap().kind, Kind::Disconnect);
    }

    #[test]
    fn malformed_packets_are_refused() {
        for text in [
            "",
            "9",
            "2",
            "2{}",
            "2[]",
            "2[1]",
            r#"2["a""#,
            r#"2["a"]x"#,
            "0[]",
            r#"1{}"#,
            "3{}",
            "5[\"a\"]",
            "5x-[\"a\"]",
            "21234567890123456[\"a\"]",
        ] {
            assert!(Packet::parse(text).is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn answers_are_encoded_for_the_default_namespace() {
        assert_eq!(connected("abc"), r#"0{"sid":"abc"}"#);
        assert_eq!(connect_error("/admin", "Invalid namespace"), r#"4/admin,{"message":"Invalid namespace"}"#);
        assert_eq!(ack(7, &[serde_json::Value::Null, serde_json::json!({"a": 1})]), r#"37[null,{"a":1}]"#);
    }
}
