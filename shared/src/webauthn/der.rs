//! Just enough DER (X.690) for WebAuthn: a reader of tag-length-value elements, strict about
//! what DER fixes (definite, minimal lengths; single-byte tags), and the conversion of an
//! ECDSA signature from the DER `SEQUENCE { r INTEGER, s INTEGER }` authenticators send to the
//! `r || s` that JWS and WebCrypto take. The certificate's structure is `x509`'s.

/// A reader over consecutive DER elements.
#[derive(Debug, Clone, Copy)]
pub(super) struct Der<'a> {
    input: &'a [u8],
}

impl<'a> Der<'a> {
    /// A reader over `input`.
    pub(super) fn new(input: &'a [u8]) -> Der<'a> {
        Der { input }
    }

    /// Whether everything has been read.
    pub(super) fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// The next element's tag, without reading it.
    pub(super) fn peek(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// The next element: its tag and contents. `None` for a high tag number, an indefinite,
    /// non-minimal or over-long (above 64 KiB) length, or contents past the input.
    pub(super) fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.input.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (length, rest) = match first {
            0..=0x7f => (usize::from(first), rest),
            0x81 => {
                let (&l, rest) = rest.split_first()?;
                (l >= 0x80).then_some((usize::from(l), rest))?
            }
            0x82 => {
                let (l, rest) = (rest.get(..2)?, rest.get(2..)?);
                let l = usize::from(u16::from_be_bytes([l[0], l[1]]));
                (l >= 0x100).then_some((l, rest))?
            }
            _ => return None,
        };
        if rest.len() < length {
            return None;
        }
        let (contents, rest) = rest.split_at(length);
        self.input = rest;
        Some((tag, contents))
    }

    /// The next element's contents, if it has tag `tag`.
    pub(super) fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (t, contents) if t == tag => Some(contents),
            _ => None,
        }
    }

    /// The next element's contents if it has tag `tag`; nothing read otherwise.
    pub(super) fn optional(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.peek() == Some(tag) {
            self.expect(tag)
        } else {
            None
        }
    }
}

/// A DER `INTEGER`'s contents as an unsigned number's big-endian digits: positive and minimal
/// (a leading zero octet only before an octet whose high bit is set, and then dropped).
pub(super) fn unsigned(contents: &[u8]) -> Option<&[u8]> {
    match contents {
        [] => None,
        [0, next, ..] if next & 0x80 != 0 => contents.get(1..),
        [0, _, ..] => None,
        [first, ..] if first & 0x80 != 0 => None,
        _ => Some(contents),
    }
}

/// The `r || s` form (64 bytes) of a DER ECDSA P-256 signature: exactly one `SEQUENCE` of two
/// minimal, non-negative `INTEGER`s of at most 32 bytes each, and nothing after.
pub(super) fn ecdsa_raw(signature: &[u8]) -> Option<[u8; 64]> {
    let mut outer = Der::new(signature);
    let mut inner = Der::new(outer.expect(0x30)?);
    let (r, s) = (unsigned(inner.expect(0x02)?)?, unsigned(inner.expect(0x02)?)?);
    if !outer.is_empty() || !inner.is_empty() || r.len() > 32 || s.len() > 32 {
        return None;
    }
    let mut raw = [0u8; 64];
    raw[32 - r.len()..32].copy_from_slice(r);
    raw[64 - s.len()..].copy_from_slice(s);
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SEQUENCE { INTEGER r, INTEGER s }` from the integers' contents.
    fn sig(r: &[u8], s: &[u8]) -> Vec<u8> {
        let body = [&[0x02, r.len() as u8][..], r, &[0x02, s.len() as u8], s].concat();
        [&[0x30, body.len() as u8][..], &body].concat()
    }

    #[test]
    fn strict_signatures_become_r_and_s_padded_to_32_bytes() {
        let raw = ecdsa_raw(&sig(&[0x11; 32], &[0x22; 32])).unwrap();
        assert_eq!(raw, [[0x11; 32], [0x22; 32]].concat()[..]);
        // A high bit needs its zero octet, which goes; short numbers are padded on the left.
        let raw = ecdsa_raw(&sig(&[&[0][..], &[0x81; 32]].concat(), &[0x05])).unwrap();
        assert_eq!(&raw[..32], &[0x81; 32]);
        assert_eq!(&raw[32..], &[[0u8; 31].as_slice(), &[0x05]].concat()[..]);
        let raw = ecdsa_raw(&sig(&[0x7f; 20], &[0x00])).unwrap();
        assert_eq!((&raw[..12], &raw[12..32], &raw[32..]), (&[0u8; 12][..], &[0x7f; 20][..], &[0u8; 32][..]));
    }

    #[test]
    fn anything_but_strict_der_is_refused() {
        let good = sig(&[0x11; 32], &[0x22; 32]);
        assert!(ecdsa_raw(&[good.clone(), vec![0]].concat()).is_none(), "a byte after the sequence");
        let mut longer = good.clone();
        longer[1] += 2;
        longer.extend([0x05, 0x00]);
        assert!(ecdsa_raw(&longer).is_none(), "an element after the two integers");
        assert!(ecdsa_raw(&sig(&[0x11; 33], &[0x22; 32])).is_none(), "r of 33 bytes without a zero octet");
        assert!(ecdsa_raw(&sig(&[&[0][..], &[0x11; 32]].concat(), &[0x22; 32])).is_none(), "a zero octet before a low high bit");
        assert!(ecdsa_raw(&sig(&[&[0][..], &[0x81; 33]].concat(), &[0x22; 32])).is_none(), "34 bytes");
        assert!(ecdsa_raw(&sig(&[0x81; 32], &[0x22; 32])).is_none(), "a negative r");
        assert!(ecdsa_raw(&sig(&[], &[0x22; 32])).is_none(), "an empty integer");
        assert!(ecdsa_raw(&sig(&[0, 0, 0x11], &[0x22; 32])).is_none(), "two zero octets");
        // The sequence's length in the long form, though it fits the short one.
        assert!(ecdsa_raw(&[&[0x30, 0x81, 0x44][..], &good[2..]].concat()).is_none());
        assert!(ecdsa_raw(&[&[0x30, 0x80][..], &good[2..], &[0, 0]].concat()).is_none(), "indefinite");
        assert!(ecdsa_raw(&good[..good.len() - 1]).is_none(), "truncated");
        let mut set = good.clone();
        set[0] = 0x31;
        assert!(ecdsa_raw(&set).is_none(), "a SET");
        let mut bits = good.clone();
        bits[2] = 0x03;
        assert!(ecdsa_raw(&bits).is_none(), "a BIT STRING for r");
        assert!(ecdsa_raw(&[0x11; 64]).is_none(), "r || s itself");
        assert!(ecdsa_raw(&[]).is_none());
    }

    #[test]
    fn the_reader_takes_long_lengths_only_where_needed() {
        let long = [&[0x04, 0x81, 0x80][..], &[7; 128]].concat();
        assert_eq!(Der::new(&long).expect(0x04).map(<[u8]>::len), Some(128));
        let two = [&[0x04, 0x82, 0x01, 0x00][..], &[7; 256]].concat();
        assert_eq!(Der::new(&two).expect(0x04).map(<[u8]>::len), Some(256));
        assert_eq!(Der::new(&[&[0x04, 0x82, 0x00, 0x80][..], &[7; 128]].concat()).next(), None);
        assert_eq!(Der::new(&[0x04, 0x83, 0, 0, 1, 0]).next(), None);
        assert_eq!(Der::new(&[0x1f, 0x01, 0x00]).next(), None);
        assert_eq!(Der::new(&[0x04, 0x82, 0xff, 0xff, 0]).next(), None);
        let mut two_things = Der::new(&[0x05, 0x00, 0x02, 0x01, 0x07]);
        assert_eq!(two_things.optional(0x02), None);
        assert_eq!(two_things.optional(0x05), Some(&[][..]));
        assert_eq!(two_things.expect(0x02), Some(&[7][..]));
        assert!(two_things.is_empty());
    }
}
