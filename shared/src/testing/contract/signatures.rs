//! The signature contract: what every [`Signatures`] implementation answers, run natively
//! against RustCrypto and inside workerd against WebCrypto. Published vectors (RFC 7515
//! appendix A for HS256, RS256 and ES256; RFC 8037 appendix A for Ed25519) pin the bytes of
//! deterministic signatures, and Wycheproof-style cases the refusals: signatures truncated,
//! extended, zeroed, out of range or tampered with, keys off their curve or whose parts do not
//! fit together, public keys asked to sign.

use super::support::ensure;
use super::ContractResult;
use crate::signature::{b64url, from_b64url, Alg, Key, Signatures};
use serde_json::{json, Value};

/// RFC 7515's example payload, as its appendix A signs it.
const PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

fn hs256() -> Value {
    json!({"kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})
}

fn rs256() -> Value {
    json!({
        "kty": "RSA",
        "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
        "e": "AQAB",
        "d": "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
        "p": "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
        "q": "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
        "dp": "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
        "dq": "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
        "qi": "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"
    })
}

fn es256() -> Value {
    json!({
        "kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
    })
}

/// Another P-256 key, for signatures made by the wrong key.
fn es256_other() -> Value {
    json!({
        "kty": "EC", "crv": "P-256",
        "x": "8Exyro4ioyD02_o2Fnt4VSrUShP2G6UoNcPqM6WqzDA",
        "y": "FYskva6b3JC66rKJQou3ymFtquwSVusAeyDWmbFExv4",
        "d": "Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw"
    })
}

fn ed25519() -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
}

fn key(alg: Alg, jwk: &Value) -> Result<Key, String> {
    Key::from_jwk(alg, jwk).map_err(|e| format!("{}: {e}", alg.name()))
}

fn public(key: &Key) -> Key {
    key.public().unwrap_or_else(|| key.clone())
}

fn decoded(text: &str) -> Vec<u8> {
    from_b64url(text).unwrap_or_default()
}

/// The published signatures: deterministic ones are reproduced byte for byte, and every one
/// verifies with the public half.
pub(super) async fn published_vectors<S: Signatures>(sigs: &S) -> Result<(), String> {
    let cases = [
        (Alg::Hs256, hs256(), format!("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.{PAYLOAD}"), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", true),
        (Alg::Rs256, rs256(), format!("eyJhbGciOiJSUzI1NiJ9.{PAYLOAD}"), "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw", true),
        (Alg::Es256, es256(), format!("eyJhbGciOiJFUzI1NiJ9.{PAYLOAD}"), "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q", false),
        (Alg::EdDsa, ed25519(), "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".to_string(), "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg", true),
    ];
    for (alg, jwk, input, expected, deterministic) in cases {
        let private = key(alg, &jwk)?;
        let name = alg.name();
        let verified = sigs.verify(&public(&private), input.as_bytes(), &decoded(expected)).await;
        ensure!(verified == Ok(true), "{name}: the published signature did not verify: {verified:?}");
        let signed = sigs.sign(&private, input.as_bytes()).await.map_err(|e| format!("{name}: {e}"))?;
        ensure!(!deterministic || b64url(&signed) == expected, "{name}: signed {} instead of the published signature", b64url(&signed));
        let verified = sigs.verify(&public(&private), input.as_bytes(), &signed).await;
        ensure!(verified == Ok(true), "{name}: its own signature did not verify: {verified:?}");
    }
    Ok(())
}

/// `a - b` of big-endian numbers of one length (`a >= b`).
fn minus(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = (d + if d < 0 { 256 } else { 0 }) as u8;
    }
    out
}

/// `a + b` of little-endian numbers of one length, the carry out dropped.
fn plus_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut carry = 0u16;
    a.iter().zip(b).map(|(x, y)| {
        let s = u16::from(*x) + u16::from(*y) + carry;
        carry = s >> 8;
        s as u8
    }).collect()
}

/// P-256's group order, big-endian.
const P256_N: &str = "_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE";
/// Ed25519's group order L, little-endian.
const ED25519_L: &str = "7dP1XBpjEljWnPei3vneFAAAAAAAAAAAAAAAAAAAABA";

/// Signatures that must not verify: other data, a flipped bit, truncated, extended, empty,
/// zeroed, all ones, another key's; for ECDSA `r` or `s` equal to the group order; for Ed25519
/// `s + L` (not canonical); for HMAC its first half. ECDSA's `s` and `n - s` both verify, as
/// ECDSA has it (JWS does not ask for low `s`).
pub(super) async fn refused_signatures<S: Signatures>(sigs: &S) -> Result<(), String> {
    let data = b"portcullis signature contract";
    let other = key(Alg::Es256, &es256_other())?;
    for (alg, jwk) in [(Alg::Hs256, hs256()), (Alg::Rs256, rs256()), (Alg::Es256, es256()), (Alg::EdDsa, ed25519())] {
        let private = key(alg, &jwk)?;
        let name = alg.name();
        let good = sigs.sign(&private, data).await.map_err(|e| format!("{name}: {e}"))?;
        let mut bad: Vec<(&str, Vec<u8>, &[u8])> = vec![("its own", good.clone(), b"portcullis signature contracT")];
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 0x10;
        bad.push(("a flipped bit", flipped, data));
        bad.push(("truncated", good[..good.len() - 1].to_vec(), data));
        bad.push(("extended", [good.as_slice(), &[0]].concat(), data));
        bad.push(("empty", Vec::new(), data));
        bad.push(("all zero", vec![0; good.len()], data));
        bad.push(("all ones", vec![0xff; good.len()], data));
        match alg {
            Alg::Hs256 => bad.push(("its first half", good[..16].to_vec(), data)),
            Alg::Es256 => {
                let n = decoded(P256_N);
                bad.push(("r = n", [n.as_slice(), &good[32..]].concat(), data));
                bad.push(("s = n", [&good[..32], n.as_slice()].concat(), data));
                bad.push(("another key's", sigs.sign(&other, data).await.map_err(|e| e.to_string())?, data));
                let high = [&good[..32], minus(&n, &good[32..]).as_slice()].concat();
                let verified = sigs.verify(&public(&private), data, &high).await;
                ensure!(verified == Ok(true), "ES256: s and n - s both verify in ECDSA, but n - s gave {verified:?}");
            }
            Alg::EdDsa => bad.push(("s + L", [&good[..32], plus_le(&good[32..], &decoded(ED25519_L)).as_slice()].concat(), data)),
            Alg::Rs256 => {}
        }
        for (what, signature, over) in bad {
            let verified = sigs.verify(&public(&private), over, &signature).await;
            ensure!(verified == Ok(false), "{name}: a signature {what} gave {verified:?}, not a refusal");
        }
    }
    Ok(())
}

/// Keys that cannot be used: a point off P-256 (refused when made), an Ed25519 key that is
/// no point, an RSA key whose parts do not fit together, a
/// P-256 or Ed25519 private part that is not the public part's; and public keys asked to sign.
/// None of them ever yields a signature that checks out.
pub(super) async fn refused_keys<S: Signatures>(sigs: &S) -> Result<(), String> {
    let data = b"portcullis signature contract";
    let mut off_curve = es256();
    off_curve["y"] = json!(b64url(&[7; 32]));
    ensure!(Key::from_jwk(Alg::Es256, &off_curve).is_err(), "ES256: a point off the curve made a key");
    // An Ed25519 public key that is no point (y = 2^255 - 19 + 1, beyond the field): an error
    // or a refusal, never a signature that checks out.
    let signature = sigs.sign(&key(Alg::EdDsa, &ed25519())?, data).await.map_err(|e| e.to_string())?;
    let mut no_point = ed25519();
    no_point["x"] = json!(b64url(&[&[0xee][..], &[0xff; 30], &[0x7f]].concat()));
    let verified = sigs.verify(&public(&key(Alg::EdDsa, &no_point)?), data, &signature).await;
    ensure!(verified != Ok(true), "EdDSA: a public key that is no point accepted a signature");
    let mut mismatched = Vec::new();
    let mut ec = es256();
    ec["d"] = es256_other()["d"].clone();
    mismatched.push((Alg::Es256, ec));
    let mut ed = ed25519();
    ed["d"] = json!(b64url(&[9; 32]));
    mismatched.push((Alg::EdDsa, ed));
    let mut rsa = rs256();
    rsa["p"] = rsa["q"].clone();
    mismatched.push((Alg::Rs256, rsa));
    for (alg, jwk) in mismatched {
        let private = key(alg, &jwk)?;
        if let Ok(signature) = sigs.sign(&private, data).await {
            let verified = sigs.verify(&public(&private), data, &signature).await;
            ensure!(verified != Ok(true), "{}: a private part that is not the key's signed for it", alg.name());
        }
    }
    for (alg, jwk) in [(Alg::Rs256, rs256()), (Alg::Es256, es256()), (Alg::EdDsa, ed25519())] {
        let signed = sigs.sign(&public(&key(alg, &jwk)?), data).await;
        ensure!(signed.is_err(), "{}: a public key signed", alg.name());
    }
    let mut wrong = hs256();
    wrong["k"] = json!(b64url(b"another key entirely, 32 bytes!!"));
    let signature = sigs.sign(&key(Alg::Hs256, &hs256())?, data).await.map_err(|e| e.to_string())?;
    let verified = sigs.verify(&key(Alg::Hs256, &wrong)?, data, &signature).await;
    ensure!(verified == Ok(false), "HS256: another key's signature gave {verified:?}");
    Ok(())
}

/// Runs the signature contract against an implementation.
pub async fn run_signature_contract<S: Signatures>(sigs: &S) -> Vec<ContractResult> {
    vec![
        ("signatures: the RFC 7515 and RFC 8037 vectors sign and verify", published_vectors(sigs).await),
        ("signatures: tampered, malformed and out-of-range signatures are refused", refused_signatures(sigs).await),
        ("signatures: keys off their curve, mismatched or public ones never sign for themselves", refused_keys(sigs).await),
    ]
}
