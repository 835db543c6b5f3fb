//! COSE keys (RFC 9052 section 7, RFC 9053) as the signature module's [`Key`]s: EC2 on P-256
//! with ES256, RSA with RS256, OKP on Ed25519 with EdDSA, the three algorithms the signature
//! port has. Everything else is refused by name. The key's own checks ([`Key::from_jwk`]: the
//! point on P-256, RSA's size and exponent) apply to every credential key.

use super::cbor::Value;
use super::WebauthnError;
use crate::signature::{b64url, Alg, Key};
use serde_json::json;

/// The COSE algorithms a credential may use, for `pubKeyCredParams`: ES256 (-7), EdDSA (-8),
/// RS256 (-257), in the order of preference the specification suggests.
pub const COSE_ALGORITHMS: [i64; 3] = [-7, -8, -257];

/// The COSE number of `alg`; `None` for HS256, which no credential uses.
pub fn cose_algorithm(alg: Alg) -> Option<i64> {
    match alg {
        Alg::Es256 => Some(-7),
        Alg::EdDsa => Some(-8),
        Alg::Rs256 => Some(-257),
        Alg::Hs256 => None,
    }
}

/// The algorithm of a COSE number; `UnsupportedAlgorithm` for one not ours.
pub(super) fn alg_of(cose: i128) -> Result<Alg, WebauthnError> {
    [Alg::Es256, Alg::EdDsa, Alg::Rs256]
        .into_iter()
        .find(|a| cose_algorithm(*a).map(i128::from) == Some(cose))
        .ok_or(WebauthnError::UnsupportedAlgorithm(i64::try_from(cose).unwrap_or(i64::MIN)))
}

/// The public key of a COSE_Key's CBOR bytes (as other WebAuthn libraries store a credential's
/// key), through the same checks as a registration's.
pub fn key_from_cose(cose: &[u8]) -> Result<Key, WebauthnError> {
    public_key(&super::cbor::decode(cose)?)
}

fn unsupported(why: &str) -> WebauthnError {
    WebauthnError::UnsupportedKey(why.into())
}

/// The public key a COSE_Key map describes. Labels other than kty (1), kid (2), alg (3) and
/// key_ops (4) must be the key type's public parameters: a private parameter (EC2/OKP's d,
/// RSA's d, p, q, ...) or an unknown one is refused.
pub(super) fn public_key(cose: &Value<'_>) -> Result<Key, WebauthnError> {
    let Value::Map(entries) = cose else {
        return Err(WebauthnError::Malformed("the credential public key is not a COSE_Key map"));
    };
    let int = |label: i128| cose.int_key(label).and_then(Value::as_int);
    let kty = int(1).ok_or(WebauthnError::Malformed("the COSE key has no integer kty (1)"))?;
    let alg = alg_of(int(3).ok_or(WebauthnError::Malformed("the COSE key has no integer alg (3)"))?)?;
    let bytes = |label: i128, name: &str| -> Result<&[u8], WebauthnError> {
        cose.int_key(label).and_then(Value::as_bytes).ok_or_else(|| unsupported(&format!("the COSE key's {name} ({label}) is missing or not a byte string")))
    };
    let (want_kty, params): (i128, &[i128]) = match alg {
        Alg::Es256 => (2, &[-1, -2, -3]),
        Alg::Rs256 => (3, &[-1, -2]),
        Alg::EdDsa => (1, &[-1, -2]),
        Alg::Hs256 => (4, &[]),
    };
    if kty != want_kty {
        return Err(unsupported(&format!("kty {kty} does not go with {}", alg.name())));
    }
    for (label, _) in entries {
        let known = matches!(label, Value::Int(1..=4)) || matches!(label, Value::Int(l) if params.contains(l));
        if !known {
            return Err(unsupported("the COSE key holds a private or unknown parameter"));
        }
    }
    let jwk = match alg {
        Alg::Es256 => {
            if int(-1) != Some(1) {
                return Err(unsupported("an EC2 key must be on P-256 (crv 1)"));
            }
            let (x, y) = (bytes(-2, "x")?, bytes(-3, "y")?);
            json!({"kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y)})
        }
        Alg::Rs256 => json!({"kty": "RSA", "n": b64url(bytes(-1, "n")?), "e": b64url(bytes(-2, "e")?)}),
        Alg::EdDsa => {
            if int(-1) != Some(6) {
                return Err(unsupported("an OKP key must be on Ed25519 (crv 6)"));
            }
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(bytes(-2, "x")?)})
        }
        Alg::Hs256 => return Err(unsupported("HMAC")),
    };
    Key::from_jwk(alg, &jwk).map_err(|e| WebauthnError::UnsupportedKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::from_b64url;

    fn key(b64: &str) -> Result<Key, WebauthnError> {
        key_from_cose(&from_b64url(b64).unwrap())
    }

    #[test]
    fn published_credential_keys_become_keys_of_their_algorithm() {
        // py_webauthn's test fixtures: an EC2, an RSA and an OKP credential key.
        let ec = key("pQECAyYgASFYIIeDTe-gN8A-zQclHoRnGFWN8ehM1b7yAsa8I8KIvmplIlgg4nFGT5px8o6gpPZZhO01wdy9crDSA_Ngtkx0vGpvPHI").unwrap();
        assert_eq!((ec.alg(), ec.jwk()["x"].as_str()), (Alg::Es256, Some("h4NN76A3wD7NByUehGcYVY3x6EzVvvICxrwjwoi-amU")));
        let rsa = key("pAEDAzkBACBZAQDfV20epzvQP-HtcdDpX-cGzdOxy73WQEvsU7Dnr9UWJophEfpngouvgnRLXaEUn_d8HGkp_HIx8rrpkx4BVs6X_B6ZjhLlezjIdJbLbVeb92BaEsmNn1HW2N9Xj2QM8cH-yx28_vCjf82ahQ9gyAr552Bn96G22n8jqFRQKdVpO-f-bvpvaP3IQ9F5LCX7CUaxptgbog1SFO6FI6ob5SlVVB00lVXsaYg8cIDZxCkkENkGiFPgwEaZ7995SCbiyCpUJbMqToLMgojPkAhWeyktu7TlK6UBWdJMHc3FPAIs0lH_2_2hKS-mGI1uZAFVAfW1X-mzKL0czUm2P1UlUox7IUMBAAE").unwrap();
        assert_eq!((rsa.alg(), rsa.member("n").map(|n| n.len()), rsa.jwk()["e"].as_str()), (Alg::Rs256, Some(256), Some("AQAB")));
        let okp = key("pAEBAycgBiFYIMz6_SUFLiDid2Yhlq0YboyJ-CDrIrNpkPUGmJp4D3Dp").unwrap();
        assert_eq!(okp.alg(), Alg::EdDsa);
        assert!(!ec.is_private() && !rsa.is_private() && !okp.is_private());
    }

    /// A COSE map of (label, value) pairs.
    fn map<'a>(entries: &[(i8, Value<'a>)]) -> Value<'a> {
        Value::Map(entries.iter().map(|(k, v)| (Value::Int(i128::from(*k)), v.clone())).collect())
    }

    #[test]
    fn other_keys_and_algorithms_are_refused_by_name() {
        let g = (
            from_b64url("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU").unwrap(),
            from_b64url("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0").unwrap(),
        );
        let (x, y) = (Value::Bytes(&g.0), Value::Bytes(&g.1));
        let good = [(1, Value::Int(2)), (3, Value::Int(-7)), (-1, Value::Int(1)), (-2, x.clone()), (-3, y.clone())];
        assert_eq!(public_key(&map(&good)).map(|k| k.alg()), Ok(Alg::Es256));
        let with = |label: i8, value: Value<'_>| {
            let mut entries: Vec<(i8, Value<'_>)> = good.iter().filter(|(l, _)| *l != label).cloned().collect();
            entries.push((label, value));
            public_key(&map(&entries))
        };
        assert_eq!(with(3, Value::Int(-35)), Err(WebauthnError::UnsupportedAlgorithm(-35)), "ES384");
        assert_eq!(with(3, Value::Int(-37)), Err(WebauthnError::UnsupportedAlgorithm(-37)), "PS256");
        assert_eq!(with(3, Value::Int(-65535)), Err(WebauthnError::UnsupportedAlgorithm(-65535)), "RS1");
        let refused = |r: Result<Key, WebauthnError>| match r {
            Err(WebauthnError::UnsupportedKey(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(refused(with(-1, Value::Int(2))).contains("P-256"), "P-384 with ES256");
        assert!(refused(with(1, Value::Int(3))).contains("kty 3"));
        assert!(refused(with(-3, Value::Bool(true))).contains("y (-3)"), "a compressed point");
        assert!(refused(with(-4, Value::Bytes(&[1; 32]))).contains("private or unknown"));
        assert!(refused(with(-2, Value::Bytes(&[1; 31]))).contains("wrong length"));
        let mut off = g.1.clone();
        off[31] ^= 1;
        assert!(refused(with(-3, Value::Bytes(&off))).contains("not on P-256"));
        assert_eq!(with(1, Value::Bytes(&[2])), Err(WebauthnError::Malformed("the COSE key has no integer kty (1)")));
        let small_rsa = [(1, Value::Int(3)), (3, Value::Int(-257)), (-1, Value::Bytes(&[0xc1; 128])), (-2, Value::Bytes(&[1, 0, 1]))];
        assert!(refused(public_key(&map(&small_rsa))).contains("2048 to 4096 bits"));
        let x448 = [(1, Value::Int(1)), (3, Value::Int(-8)), (-1, Value::Int(7)), (-2, Value::Bytes(&[1; 57]))];
        assert!(refused(public_key(&map(&x448))).contains("Ed25519"));
        assert!(matches!(public_key(&Value::Array(vec![])), Err(WebauthnError::Malformed(_))));
    }

    #[test]
    fn algorithms_have_their_cose_numbers() {
        for cose in COSE_ALGORITHMS {
            assert_eq!(alg_of(i128::from(cose)).ok().and_then(cose_algorithm), Some(cose));
        }
        assert_eq!(cose_algorithm(Alg::Hs256), None);
        assert_eq!(alg_of(i128::from(u64::MAX)), Err(WebauthnError::UnsupportedAlgorithm(i64::MIN)));
    }
}
