//! Attacks a review made on the graphql-jwt dialect's own GraphQL engine: a fifth password
//! check in one document, block strings of many lines, and lexical errors the parser stepped
//! over.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

fn sign_ins(app: &App<TestPorts>, body: &str) -> usize {
    let r = gql(app, body, Value::Null);
    r.body["errors"].as_array().map_or(0, |e| e.iter().filter(|e| e["message"] == "Please enter valid credentials").count())
}

/// At most four sign-ins (four password hashes) per document: `tokenAuth { __typename }`
/// costs 100 and its `__typename` nothing, so five of them once fit `MAX_COMPLEXITY` exactly
/// and five password guesses ran in one request.
#[test]
fn at_most_four_sign_ins_per_document() {
    let app = app();
    ada(&app);
    let five = format!(
        "mutation {{ {} }}",
        (0..5).map(|i| format!("l{i}: tokenAuth(username: \"ada\", password: \"guess{i}\") {{ __typename }}")).collect::<Vec<_>>().join(" ")
    );
    assert!(sign_ins(&app, &five) <= 4, "five password checks ran in one document");
    // The same through a fragment.
    let frag = format!(
        "mutation {{ ...F l4: tokenAuth(username: \"ada\", password: \"g4\") {{ __typename }} }} fragment F on Mutation {{ {} }}",
        (0..4).map(|i| format!("l{i}: tokenAuth(username: \"ada\", password: \"g{i}\") {{ __typename }}")).collect::<Vec<_>>().join(" ")
    );
    assert!(sign_ins(&app, &frag) <= 4, "five password checks ran through a fragment");
}

/// A block string's blank lines at each end are dropped, however many: 16 KB of them (one
/// token, within every bound) around a type's name still finds the type. (They are dropped by
/// slicing once; removing them one at a time from the front was quadratic.)
#[test]
fn a_block_string_of_many_blank_lines_is_trimmed() {
    let app = app();
    let blank = "\r".repeat(8_000);
    let q = format!("{{ __type(name: \"\"\"{blank}Query{blank}\"\"\") {{ name }} }}");
    let r = gql(&app, &q, Value::Null);
    assert_eq!((r.status.as_u16(), &r.body["data"]["__type"]["name"]), (200, &json!("Query")), "{}", r.raw);
}

/// A token that does not lex is a syntax error wherever it is: the parser once carried on
/// after an unterminated string's line (the lexer had moved past it while peeking) and ran
/// the rest of the document.
#[test]
fn lexical_errors_are_syntax_errors() {
    let app = app();
    let mut ran = Vec::new();
    for q in [
        "{ __typename \"unterminated\n }",
        "{ __typename \"bad \\q escape\" }",
        "{ __typename \"\\ud800\" }",
        "{ __type(name: \"x\") \"junk\n { name } }",
        "query { __typename 1x }",
    ] {
        let r = gql(&app, q, Value::Null);
        if r.status != 400 {
            ran.push(format!("{q:?} -> {} {}", r.status, r.raw));
        }
    }
    assert!(ran.is_empty(), "ran:\n{}", ran.join("\n"));
}


/// A document of nonsense gets at most a hundred of its validation errors back, then
/// graphql-core's (and graphql-js's) "error limit reached": listing them all let a 15 KB
/// document of spreads of unknown fragments ask for an answer twelve times its size.
#[test]
fn validation_errors_stop_at_a_hundred() {
    let app = app();
    let spreads = |n: usize| format!("{{ __typename {} }}", (0..n).map(|i| format!("...F{i}")).collect::<Vec<_>>().join(" "));
    let q = spreads(1_500);
    let r = gql(&app, &q, Value::Null);
    let errors = r.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 101, "{}", r.raw);
    assert_eq!(errors[0]["message"], "Unknown fragment: \"F0\"");
    assert_eq!(errors[99]["message"], "Unknown fragment: \"F99\"");
    assert_eq!(errors[100], json!({"message": "Too many validation errors, error limit reached. Validation aborted."}));
    assert!(r.raw.len() < q.len(), "a {} B answer to a {} B document", r.raw.len(), q.len());
    // A hundred errors are all listed, without the notice.
    let r = gql(&app, &spreads(100), Value::Null);
    assert_eq!(r.body["errors"].as_array().map(Vec::len), Some(100), "{}", r.raw);
}
