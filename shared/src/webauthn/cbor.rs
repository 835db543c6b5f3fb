//! A minimal, bounded CBOR decoder (RFC 8949) for what WebAuthn sends: the attestation object,
//! COSE keys and extension outputs. It reads integers, byte and text strings, arrays, maps,
//! booleans and null, borrowing strings from the input, and refuses everything else (floats,
//! tags, other simple values) and every way to make a decoder work or allocate more than the
//! input's size justifies: indefinite lengths, nesting deeper than [`MAX_DEPTH`], more than
//! [`MAX_ENTRIES`] entries in a container, a count or length beyond the bytes left. Map keys
//! are integers or text strings, each at most once. Encodings need not be CTAP2's canonical
//! form (some authenticators do not sort their maps), nor minimal.

use super::WebauthnError;

/// Deepest nesting of arrays and maps: the attestation object nests three (its map, attStmt,
/// x5c).
pub(super) const MAX_DEPTH: usize = 8;
/// Most entries of one array or map.
pub(super) const MAX_ENTRIES: usize = 64;

/// One decoded item; strings borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value<'a> {
    /// An unsigned or negative integer (major types 0 and 1: -2^64 to 2^64 - 1).
    Int(i128),
    /// A byte string.
    Bytes(&'a [u8]),
    /// A text string, valid UTF-8.
    Text(&'a str),
    /// An array.
    Array(Vec<Value<'a>>),
    /// A map, in the order of the input.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

impl<'a> Value<'a> {
    /// The value of a map's entry under `key`; `None` for a missing key or a non-map.
    pub(super) fn get(&self, key: &Value<'_>) -> Option<&Value<'a>> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The entry under a text key.
    pub(super) fn text_key(&self, key: &str) -> Option<&Value<'a>> {
        self.get(&Value::Text(key))
    }

    /// The entry under an integer key (COSE labels).
    pub(super) fn int_key(&self, key: i128) -> Option<&Value<'a>> {
        self.get(&Value::Int(key))
    }

    /// The bytes of a byte string.
    pub(super) fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The integer.
    pub(super) fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

fn malformed(what: &'static str) -> WebauthnError {
    WebauthnError::Malformed(what)
}

/// Decodes `input` as exactly one item.
pub(super) fn decode(input: &[u8]) -> Result<Value<'_>, WebauthnError> {
    let (value, rest) = decode_prefix(input)?;
    if !rest.is_empty() {
        return Err(malformed("CBOR: bytes after the item"));
    }
    Ok(value)
}

/// Decodes the item `input` starts with, and returns it with the bytes after it.
pub(super) fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, &[u8]), WebauthnError> {
    let mut reader = Reader { input };
    let value = reader.item(0)?;
    Ok((value, reader.input))
}

struct Reader<'a> {
    /// What is left to read.
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], WebauthnError> {
        let n = usize::try_from(n).ok().filter(|n| *n <= self.input.len()).ok_or(malformed("CBOR: a length runs past the input"))?;
        let (taken, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(taken)
    }

    /// An item's head: its major type, additional information and argument.
    fn head(&mut self) -> Result<(u8, u8, u64), WebauthnError> {
        let initial = *self.take(1)?.first().ok_or(malformed("CBOR: truncated"))?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let argument = match info {
            0..=23 => u64::from(info),
            24..=27 => self.take(1 << (info - 24))?.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)),
            31 => return Err(malformed("CBOR: indefinite lengths are refused")),
            _ => return Err(malformed("CBOR: reserved additional information")),
        };
        Ok((major, info, argument))
    }

    /// How many entries a container declares, checked against the bounds and against what is
    /// left (every item takes at least one byte), before anything is allocated for them.
    fn count(&self, declared: u64, bytes_each: usize) -> Result<usize, WebauthnError> {
        let count = usize::try_from(declared).ok().filter(|n| *n <= MAX_ENTRIES).ok_or(malformed("CBOR: more than 64 entries in a container"))?;
        if count * bytes_each > self.input.len() {
            return Err(malformed("CBOR: more entries declared than bytes left"));
        }
        Ok(count)
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, WebauthnError> {
        let (major, info, argument) = self.head()?;
        match major {
            0 => Ok(Value::Int(i128::from(argument))),
            1 => Ok(Value::Int(-1 - i128::from(argument))),
            2 => Ok(Value::Bytes(self.take(argument)?)),
            3 => std::str::from_utf8(self.take(argument)?).map(Value::Text).map_err(|_| malformed("CBOR: a text string is not UTF-8")),
            4 | 5 if depth >= MAX_DEPTH => Err(malformed("CBOR: nested deeper than 8")),
            4 => {
                let count = self.count(argument, 1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let count = self.count(argument, 2)?;
                let mut entries: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(count);
                for _ in 0..count {
                    let key = self.item(depth + 1)?;
                    if !matches!(key, Value::Int(_) | Value::Text(_)) {
                        return Err(malformed("CBOR: a map key is not an integer or a text string"));
                    }
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(malformed("CBOR: a map key appears twice"));
                    }
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Ok(Value::Map(entries))
            }
            6 => Err(malformed("CBOR: tags are refused")),
            _ => match (info, argument) {
                (20, _) => Ok(Value::Bool(false)),
                (21, _) => Ok(Value::Bool(true)),
                (22, _) => Ok(Value::Null),
                _ => Err(malformed("CBOR: floats and simple values other than true, false and null are refused")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(input: &[u8]) -> &'static str {
        match decode(input) {
            Err(WebauthnError::Malformed(why)) => why,
            other => panic!("{input:02x?} decoded: {other:?}"),
        }
    }

    #[test]
    fn the_items_webauthn_uses_are_read() {
        // {"fmt": "none", "attStmt": {}, 1: -7, -1: h'0102', "x": [true, false, null]}
        let input = [
            0xa5, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e', 0x67, b'a', b't', b't', b'S', b't', b'm', b't', 0xa0, 0x01, 0x26, 0x20, 0x42,
            0x01, 0x02, 0x61, b'x', 0x83, 0xf5, 0xf4, 0xf6,
        ];
        let value = decode(&input).unwrap();
        assert_eq!(value.text_key("fmt"), Some(&Value::Text("none")));
        assert_eq!(value.text_key("attStmt"), Some(&Value::Map(vec![])));
        assert_eq!(value.int_key(1).and_then(Value::as_int), Some(-7));
        assert_eq!(value.int_key(-1).and_then(Value::as_bytes), Some(&[1u8, 2][..]));
        assert_eq!(value.text_key("x"), Some(&Value::Array(vec![Value::Bool(true), Value::Bool(false), Value::Null])));
        assert_eq!(value.text_key("absent"), None);
    }

    #[test]
    fn integers_take_every_width_to_the_extremes() {
        assert_eq!(decode(&[0x17]), Ok(Value::Int(23)));
        assert_eq!(decode(&[0x18, 0xff]), Ok(Value::Int(255)));
        assert_eq!(decode(&[0x19, 0x01, 0x00]), Ok(Value::Int(256)));
        assert_eq!(decode(&[0x39, 0x01, 0x00]), Ok(Value::Int(-257)));
        assert_eq!(decode(&[0x1a, 0, 1, 0, 0]), Ok(Value::Int(65_536)));
        assert_eq!(decode(&[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Ok(Value::Int(i128::from(u64::MAX))));
        assert_eq!(decode(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Ok(Value::Int(-1 - i128::from(u64::MAX))));
        // Not minimal, and still the same number: canonical form is not required.
        assert_eq!(decode(&[0x18, 0x01]), Ok(Value::Int(1)));
    }

    #[test]
    fn the_rest_after_a_prefix_is_handed_back() {
        let (value, rest) = decode_prefix(&[0x41, 0xaa, 0xbb, 0xcc]).unwrap();
        assert_eq!((value, rest), (Value::Bytes(&[0xaa]), &[0xbb, 0xcc][..]));
        assert!(refusal(&[0x41, 0xaa, 0xbb]).contains("after the item"));
    }

    #[test]
    fn bombs_are_refused_before_anything_is_allocated_for_them() {
        // Declared lengths far beyond the input.
        assert!(refusal(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).contains("past the input"));
        assert!(refusal(&[0x7a, 0x7f, 0xff, 0xff, 0xff, b'a']).contains("past the input"));
        assert!(refusal(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).contains("64 entries"));
        assert!(refusal(&[0x98, 0x40, 0x00]).contains("bytes left"));
        assert!(refusal(&[0xb8, 0x20, 0x00, 0x00]).contains("bytes left"));
        assert!(refusal(&[0x98, 65]).contains("64 entries"));
        // Indefinite lengths, of every kind.
        for initial in [0x5f, 0x7f, 0x9f, 0xbf] {
            assert!(refusal(&[initial, 0xff]).contains("indefinite"), "{initial:02x}");
        }
        // Nesting: eight arrays deep is the most.
        let nested = |depth: usize| [vec![0x81; depth], vec![0x00]].concat();
        assert!(decode(&nested(MAX_DEPTH)).is_ok());
        assert!(refusal(&nested(MAX_DEPTH + 1)).contains("deeper than 8"));
        assert!(refusal(&[[0xa1, 0x00]; 9].concat()).contains("deeper than 8"));
        assert!(refusal(&nested(100_000)).contains("deeper than 8"), "no stack overflow either");
    }

    #[test]
    fn what_webauthn_never_sends_is_refused() {
        assert!(refusal(&[0xc2, 0x41, 0x01]).contains("tags"));
        assert!(refusal(&[0xf9, 0x3c, 0x00]).contains("floats"));
        assert!(refusal(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0]).contains("floats"));
        assert!(refusal(&[0xf7]).contains("simple values"));
        assert!(refusal(&[0xf8, 0x15]).contains("simple values"), "true in two bytes is not well-formed");
        assert!(refusal(&[0x1c]).contains("reserved"));
        assert!(refusal(&[0x62, 0xc3, 0x28]).contains("UTF-8"));
        assert!(refusal(&[0xa2, 0x01, 0x00, 0x01, 0x00]).contains("twice"));
        assert!(refusal(&[0xa1, 0x41, 0x00, 0x00]).contains("map key"));
        assert!(refusal(&[0xa1, 0x80, 0x00]).contains("map key"));
        assert!(refusal(&[]).contains("past the input"));
        assert!(refusal(&[0x19, 0x01]).contains("past the input"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..proptest::prelude::ProptestConfig::default() })]

        /// Whatever the bytes, the decoder answers without panicking, and what it reads back
        /// out of a prefix is a suffix of the input.
        #[test]
        fn any_bytes_are_answered(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = decode(&input);
            if let Ok((_, rest)) = decode_prefix(&input) {
                proptest::prop_assert!(input.ends_with(rest) && rest.len() < input.len());
            }
        }

        /// Inputs made mostly of container heads, the shapes that blow decoders up.
        #[test]
        fn container_soups_are_answered(input in proptest::collection::vec(proptest::sample::select(vec![0x81u8, 0x9f, 0xa1, 0xbf, 0x98, 0xff, 0x00, 0x5b, 0x41, 0x61]), 0..512)) {
            let _ = decode(&input);
        }
    }
}
