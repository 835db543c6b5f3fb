//! GoTrue's asymmetric signing keys through the app with a fixed clock: with `JWT_KEYS`,
//! access tokens are ES256 or RS256 with `kid`, `/.well-known/jwks.json` publishes the public keys, a
//! rotation keeps every listed key's tokens valid, and no token is taken by the wrong key or
//! algorithm.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use base64::Engine as _;
use portcullis_shared::keyset::KeySet;
use portcullis_shared::model::Timestamp;
use portcullis_shared::secret::Secret;
use portcullis_shared::token::{JwtKeys, TokenError};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

// Test-only keys, made for this suite.
const ES1: &str = r#"{"kty":"EC","x":"8Exyro4ioyD02_o2Fnt4VSrUShP2G6UoNcPqM6WqzDA","y":"FYskva6b3JC66rKJQou3ymFtquwSVusAeyDWmbFExv4","crv":"P-256","d":"Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw","kid":"test-es-1","alg":"ES256","key_ops":["sign","verify"]}"#;
const ES2: &str = r#"{"kty":"EC","x":"mlY0JNTHsu58lkZEGDkW3TlAaTHX5H0MEe6o4Gs0wy0","y":"ZjWDuF4B2K0WMlH9-kiaQE5yCKPORJ_SDECq6u1HmCQ","crv":"P-256","d":"RRYdRjoGC4zW2uVy4uiyfKBDgEyGOVuLmrg0guL4Avg","kid":"test-es-2","alg":"ES256","key_ops":["sign","verify"]}"#;
const NOW: Timestamp = Timestamp(1_700_000_000_000);

fn verify_only(jwk: &str) -> String {
    jwk.replace(r#""key_ops":["sign","verify"]"#, r#""key_ops":["verify"]"#)
}

fn part(token: &str, n: usize) -> Value {
    let raw = token.split('.').nth(n).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).unwrap()).unwrap()
}

fn keys(set: &str) -> JwtKeys {
    let set = Arc::new(KeySet::parse(set).unwrap());
    JwtKeys::with_set(&Secret::new(b"test-secret-test-secret-test-secret!".to_vec()), 0, Some(set))
}

#[test]
fn with_a_key_set_tokens_are_es256_with_kid_and_the_set_is_published() {
    let app = app_with(&[("JWT_KEYS", &format!("[{ES1},{}]", verify_only(ES2)))]);
    let s = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let token = s["access_token"].as_str().unwrap();
    assert_eq!(part(token, 0), json!({"alg": "ES256", "kid": "test-es-1", "typ": "JWT"}));
    assert_eq!(get(&app, "/user", Some(token)).status, 200);
    assert_eq!(check(&app, token).status, 200);
    assert_eq!(refresh(&app, s["refresh_token"].as_str().unwrap()).status, 200);
    for path in ["/.well-known/jwks.json", "/auth/v1/.well-known/jwks.json"] {
        let r = get(&app, path, None);
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["cache-control"], "public, max-age=600");
        let kids: Vec<&str> = r.body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, ["test-es-1", "test-es-2"]);
        for key in r.body["keys"].as_array().unwrap() {
            assert_eq!(key["kty"], "EC");
            assert_eq!(key["crv"], "P-256");
            assert_eq!(key["alg"], "ES256");
            assert_eq!(key["use"], "sig");
            assert_eq!(key["key_ops"], json!(["verify"]));
            assert!(key.get("d").is_none(), "no private part: {key}");
        }
    }
    // Feathers keeps its own HS256 key, with no kid.
    let f = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": "s3cret-pass"}), None);
    assert_eq!(part(f.body["accessToken"].as_str().unwrap(), 0)["alg"], "HS256");
    // The service role's HS256 key still works.
    let service = JwtKeys::new(&app.auth().config().jwt_secret, 0).sign_blocking(json!({"role": "service_role"}), NOW, NOW.plus_secs(600), None).unwrap();
    assert_eq!(call(&app, "GET", "/admin/users", &Value::Null, Some(&service)).status, 200);
}

#[test]
fn without_a_key_set_nothing_is_published() {
    let app = app();
    let r = get(&app, "/.well-known/jwks.json", None);
    assert_eq!(r.body, json!({"keys": []}));
    let s = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    assert_eq!(part(s["access_token"].as_str().unwrap(), 0), json!({"alg": "HS256", "typ": "JWT"}));
}

#[test]
fn a_token_from_before_the_key_set_still_verifies_by_the_secret() {
    let app = app_with(&[("JWT_KEYS", &format!("[{ES1}]"))]);
    let s = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let claims = part(s["access_token"].as_str().unwrap(), 1);
    let legacy = JwtKeys::new(&app.auth().config().jwt_secret, 0);
    let body = json!({"sub": claims["sub"], "session_id": claims["session_id"], "aud": "authenticated",
                      "iss": claims["iss"], "role": "authenticated", "email": claims["email"]});
    let old = legacy.sign_blocking(body, NOW, NOW.plus_secs(600), None).unwrap();
    assert_eq!(get(&app, "/user", Some(&old)).status, 200);
}

#[test]
fn a_rotation_keeps_every_listed_keys_tokens_until_the_key_is_removed() {
    let claims = json!({"sub": "u", "session_id": "s"});
    let before = keys(&format!("[{ES1}]"));
    let old = before.sign_blocking(claims.clone(), NOW, NOW.plus_secs(600), None).unwrap();
    // Step 1: the next key is listed, verify-only; nothing changes for tokens.
    let listed = keys(&format!("[{ES1},{}]", verify_only(ES2)));
    assert!(listed.verify_blocking::<Value>(&old, NOW).is_ok());
    // Step 2: the new key signs; the old one stays listed, verify-only.
    let switched = keys(&format!("[{},{ES2}]", verify_only(ES1)));
    let new = switched.sign_blocking(claims.clone(), NOW, NOW.plus_secs(600), None).unwrap();
    assert_eq!(part(&new, 0)["kid"], "test-es-2");
    assert!(switched.verify_blocking::<Value>(&old, NOW).is_ok(), "old tokens still verify");
    assert!(listed.verify_blocking::<Value>(&new, NOW).is_ok(), "a worker one step behind takes new tokens");
    // Step 3: the old key goes; its tokens with it.
    let after = keys(&format!("[{ES2}]"));
    assert_eq!(after.verify_blocking::<Value>(&old, NOW).unwrap_err(), TokenError::UnknownKey);
    assert!(after.verify_blocking::<Value>(&new, NOW).is_ok());
}

#[test]
fn no_token_is_taken_by_the_wrong_key_or_algorithm() {
    let set = keys(&format!("[{ES1},{}]", verify_only(ES2)));
    let claims = json!({"sub": "u"});
    let good = set.sign_blocking(claims.clone(), NOW, NOW.plus_secs(600), None).unwrap();
    let [header, payload, signature] = {
        let p: Vec<&str> = good.split('.').collect();
        [p[0].to_string(), p[1].to_string(), p[2].to_string()]
    };
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    // Signed by key 1, claiming key 2.
    let relabelled = format!("{}.{payload}.{signature}", b64(&json!({"alg": "ES256", "kid": "test-es-2", "typ": "JWT"})));
    assert_eq!(set.verify_blocking::<Value>(&relabelled, NOW).unwrap_err(), TokenError::BadSignature);
    // An unknown kid, or none, for ES256.
    for h in [json!({"alg": "ES256", "kid": "nobody"}), json!({"alg": "ES256"})] {
        let t = format!("{}.{payload}.{signature}", b64(&h));
        assert_eq!(set.verify_blocking::<Value>(&t, NOW).unwrap_err(), TokenError::UnknownKey);
    }
    // The classic confusion: HS256 with an EC key's kid (its public key as the HMAC secret).
    let confused = format!("{}.{payload}.{signature}", b64(&json!({"alg": "HS256", "kid": "test-es-1"})));
    assert_eq!(set.verify_blocking::<Value>(&confused, NOW).unwrap_err(), TokenError::Algorithm);
    for alg in ["none", "RS256", "ES384", "PS256"] {
        let t = format!("{}.{payload}.{signature}", b64(&json!({"alg": alg, "kid": "test-es-1"})));
        assert_eq!(set.verify_blocking::<Value>(&t, NOW).unwrap_err(), TokenError::Algorithm, "{alg}");
    }
    let tampered = format!("{header}.{}.{signature}", b64(&json!({"sub": "someone else", "exp": 1_700_000_600})));
    assert_eq!(set.verify_blocking::<Value>(&tampered, NOW).unwrap_err(), TokenError::BadSignature);
    assert_eq!(set.verify_blocking::<Value>(&good, NOW.plus_secs(601)).unwrap_err(), TokenError::Expired);
}

#[test]
fn tokens_of_unknown_keys_are_refused_in_gotrues_words() {
    let app = app_with(&[("JWT_KEYS", &format!("[{ES1}]"))]);
    let s = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let mut claims = part(s["access_token"].as_str().unwrap(), 1);
    for registered in ["exp", "iat"] {
        claims.as_object_mut().unwrap().remove(registered);
    }
    let stranger = keys(&format!("[{}]", ES2.replace("test-es-2", "someone-elses")));
    let forged = stranger.sign_blocking(claims, NOW, NOW.plus_secs(600), None).unwrap();
    let r = get(&app, "/user", Some(&forged));
    assert_eq!((r.status.as_u16(), error_code(&r)), (403, "bad_jwt"), "{}", r.raw);
    assert_eq!(r.body["message"], "invalid JWT: unable to parse or verify signature, unrecognized JWT kid");
    assert_eq!(check(&app, &forged).status, 401);
}

#[test]
fn a_bad_key_set_is_a_configuration_error_that_names_what_to_fix() {
    for (keys, expected) in [
        ("{not json", "JWT_KEYS"),
        (&*format!("[{}]", verify_only(ES1)), "no key has sign"),
        (&*format!("[{ES1},{ES2}]"), "more than one key"),
    ] {
        let mut vars: Vec<(&str, &str)> = vec![("JWT_KEYS", keys)];
        vars.push(("SITE_URL", "http://localhost:3000"));
        let e = portcullis_shared::Config::from_lookup(|k| {
            vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()).or_else(|| match k {
                "API_EXTERNAL_URL" => Some("http://auth.test".into()),
                "JWT_SECRET" => Some("test-secret-test-secret-test-secret!".into()),
                _ => None,
            })
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("JWT_KEYS") && e.contains(expected), "{e}");
        assert!(!e.contains("Rm6Vrszm"), "no key material in {e}");
    }
}

/// RFC 7515 appendix A.2's RSA key as a `JWT_KEYS` entry, its private exponent `d` given
/// (and with it the CRT members) or not.
fn rsa_entry(kid: &str, d: Option<&str>) -> String {
    let n = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
    let crt = r#""p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc","q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc","dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0","dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU","qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U""#;
    match d {
        // As the Supabase CLI writes signing_keys.json, with `use` and `ext`.
        Some(d) => format!(r#"{{"kty":"RSA","kid":"{kid}","alg":"RS256","use":"sig","ext":true,"key_ops":["sign","verify"],"n":"{n}","e":"AQAB","d":"{d}",{crt}}}"#),
        None => format!(r#"{{"kty":"RSA","kid":"{kid}","alg":"RS256","key_ops":["verify"],"n":"{n}","e":"AQAB"}}"#),
    }
}

const RSA_D: &str = "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ";

#[test]
fn an_rs256_key_signs_with_its_kid_and_publishes_its_modulus_only() {
    let app = app_with(&[("JWT_KEYS", &format!("[{},{}]", rsa_entry("rsa-1", Some(RSA_D)), verify_only(ES2)))]);
    let s = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let token = s["access_token"].as_str().unwrap();
    assert_eq!(part(token, 0), json!({"alg": "RS256", "kid": "rsa-1", "typ": "JWT"}));
    assert_eq!(get(&app, "/user", Some(token)).status, 200);
    assert_eq!(check(&app, token).status, 200);
    let jwks = get(&app, "/.well-known/jwks.json", None).body;
    let rsa = &jwks["keys"][0];
    assert_eq!((rsa["kty"].as_str(), rsa["alg"].as_str(), rsa["kid"].as_str(), rsa["e"].as_str()), (Some("RSA"), Some("RS256"), Some("rsa-1"), Some("AQAB")));
    assert!(rsa["n"].as_str().unwrap().starts_with("ofgWCuLjybRl"));
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(rsa.get(private).is_none(), "{private} published: {rsa}");
    }
    // A resource server holding only the published key takes the token; by its kid only.
    let published = keys(&format!("[{},{ES1}]", rsa_entry("rsa-1", None)));
    assert!(published.verify_blocking::<Value>(token, NOW).is_ok());
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let rest = token.split_once('.').unwrap().1;
    for (header, refusal) in [
        (json!({"alg": "HS256", "kid": "rsa-1"}), TokenError::Algorithm),
        (json!({"alg": "RS256", "kid": "test-es-1"}), TokenError::Algorithm),
        (json!({"alg": "RS256", "kid": "rsa-2"}), TokenError::UnknownKey),
        (json!({"alg": "RS256"}), TokenError::UnknownKey),
    ] {
        let t = format!("{}.{rest}", b64(&header));
        assert_eq!(published.verify_blocking::<Value>(&t, NOW).unwrap_err(), refusal, "{header}");
    }
}

#[test]
fn a_signing_key_whose_private_part_is_not_its_own_signs_nothing() {
    // Key 1 with key 2's private scalar: the key's shape is fine, its signatures would not
    // verify with the published key. The sign-up fails with an internal error, whose log names
    // the key.
    let mixed = ES1.replace("Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw", "RRYdRjoGC4zW2uVy4uiyfKBDgEyGOVuLmrg0guL4Avg");
    let app = app_with(&[("JWT_KEYS", &format!("[{mixed}]")), ("MAILER_AUTOCONFIRM", "true")]);
    let r = post(&app, "/signup", &json!({"email": "ann@example.com", "password": "s3cret-pass"}));
    assert_eq!(r.status, 500, "{}", r.raw);
    assert!(!r.raw.contains("test-es-1") && !r.raw.contains("JWT_KEYS"), "the client learns nothing of the keys: {}", r.raw);
    let errors = app.auth().ports().errors.borrow();
    let (_, logged) = errors.last().expect("the failure is logged");
    assert!(logged.contains(r#"JWT_KEYS: key "test-es-1" cannot sign"#), "{logged}");
    assert!(!logged.contains("Rm6Vrszm") && !logged.contains("RRYdRjoG"), "no key material in {logged}");
}
