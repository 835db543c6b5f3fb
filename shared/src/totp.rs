//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) as authenticator apps make
//! them: HMAC-SHA1, 6 digits, 30-second steps, the secret in base32 (RFC 4648, unpadded) in an
//! `otpauth://` URI, and that URI as a QR code in SVG (what GoTrue answers an enrollment with).
//! Which codes a factor still takes, and how many wrong ones an account may try, are the
//! flows' rules.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const PERIOD_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of a fresh secret (160 bits, RFC 4226's recommendation and GoTrue's).
pub const SECRET_BYTES: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The step `unix_secs` falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(PERIOD_SECS)
}

/// The code for `step` (RFC 4226 section 5.3: dynamic truncation), as its digits.
pub fn code(secret: &[u8], step: i64) -> String {
    let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let word = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:06}", word % 1_000_000)
}

/// The step among `now`'s and its two neighbours (one step of clock skew either way, as
/// GoTrue allows) whose code `given` is, compared in constant time; the latest if several are.
pub fn matching_step(secret: &[u8], given: &str, unix_secs: i64) -> Option<i64> {
    if given.len() != DIGITS || !given.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_secs);
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        if bool::from(code(secret, step).as_bytes().ct_eq(given.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(char::from(BASE32[((bits >> (35 - 5 * i)) & 31) as usize]));
        }
    }
    out
}

/// The `otpauth://totp/` URI an authenticator app scans, as GoTrue's (pquerna/otp) writes it:
/// label `issuer:account`, query keys sorted, values path-escaped.
pub fn uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let esc = |s: &str| percent_encoding::utf8_percent_encode(s, PATH_ESCAPE).to_string();
    format!(
        "otpauth://totp/{}:{}?algorithm=SHA1&digits={DIGITS}&issuer={}&period={PERIOD_SECS}&secret={secret_b32}",
        esc(issuer),
        esc(account),
        esc(issuer)
    )
}

/// What Go's `url.PathEscape` escapes: everything but unreserved characters and
/// `$&+,/:;=@`... except `/`, which a path segment escapes.
const PATH_ESCAPE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// `text` as a QR code (error correction level M) in SVG: one path of each row's runs of dark
/// modules inside a 4-module quiet zone, scaled to 4 pixels a module. `None` if it does not fit a QR code.
pub fn qr_svg(text: &str) -> Option<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = qr.size();
    let full = size + 8;
    let mut path = String::new();
    for y in 0..size {
        let mut x = 0;
        while x < size {
            let start = x;
            while x < size && qr.get_module(x, y) {
                x += 1;
            }
            if x > start {
                path.push_str(&format!("M{},{}h{}v1h-{}z", start + 4, y + 4, x - start, x - start));
            }
            x += 1;
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{px}\" height=\"{px}\" viewBox=\"0 0 {full} {full}\" \
         shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>",
        px = full * 4
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; the last 6 are ours).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, want) in [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")] {
            assert_eq!(code(secret, step_at(t)), want[2..], "t = {t}");
        }
    }

    #[test]
    fn neighbours_only() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111;
        assert_eq!(matching_step(secret, &code(secret, step_at(now) - 1), now), Some(step_at(now) - 1));
        assert_eq!(matching_step(secret, &code(secret, step_at(now) + 1), now), Some(step_at(now) + 1));
        assert_eq!(matching_step(secret, &code(secret, step_at(now) - 2), now), None);
        assert_eq!(matching_step(secret, " 14050", now), None);
        assert_eq!(matching_step(secret, "1405047", now), None);
    }

    #[test]
    fn base32_rfc4648() {
        for (raw, want) in [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI")] {
            assert_eq!(base32(raw.as_bytes()), want);
        }
        assert_eq!(base32(&[0u8; SECRET_BYTES]).len(), 32);
    }

    #[test]
    fn uri_as_upstream() {
        assert_eq!(
            uri("127.0.0.1:3000", "alice@example.com", "JBSWY3DP"),
            "otpauth://totp/127.0.0.1:3000:alice@example.com?algorithm=SHA1&digits=6&issuer=127.0.0.1:3000&period=30&secret=JBSWY3DP"
        );
        assert!(uri("My App", "a/b", "X").starts_with("otpauth://totp/My%20App:a%2Fb?"));
    }

    #[test]
    fn qr_is_svg() {
        let svg = qr_svg(&uri("example.com", "alice@example.com", &base32(&[7u8; 20]))).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
