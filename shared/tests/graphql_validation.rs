//! Validation rules of the graphql-jwt dialect's engine that async-graphql did not apply to
//! this schema: a variable used where its declared type does not fit
//! (VariablesInAllowedPosition). Each is checked as a client sees it: the status and body of
//! `POST /graphql`.
//!
//! The messages and locations are async-graphql 7.2.1's, from its rule's source: its
//! VariableInAllowedPosition never ran there (its visitor chain did not pass input values on),
//! so async-graphql itself ran every document refused here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

/// The body of a document refused before it ran.
fn refused(app: &App<TestPorts>, query: &str, variables: Value) -> Value {
    let r = gql(app, query, variables);
    assert_eq!(r.status, 400, "{query}: {}", r.raw);
    r.body
}

fn at(columns: &[usize]) -> Value {
    Value::Array(columns.iter().map(|c| json!({"line": 1, "column": c})).collect())
}

fn position_error(var: &str, position: &str, declared: &str, columns: &[usize]) -> Value {
    // async-graphql's wording, in its order: the type of the position first, then the
    // variable's declared type (a nullable one with a default counts as non-null).
    json!({
        "message": format!("Variable \"{var}\" of type \"{position}\" used in position expecting type \"{declared}\""),
        "locations": at(columns),
    })
}

/// A nullable variable without a default cannot fill a non-null argument: a client declaring
/// `$u: String` signed in although GraphQL (and graphene upstream) refuse the document.
#[test]
fn a_nullable_variable_cannot_fill_a_non_null_argument() {
    let app = app();
    ada(&app);
    let q = "mutation($u: String, $p: String!) { tokenAuth(username: $u, password: $p) { token } }";
    let body = refused(&app, q, json!({"u": "ada", "p": "correct horse"}));
    assert_eq!(body, json!({"data": null, "errors": [position_error("u", "String!", "String", &[10, 37])]}));
}

/// A variable of another type is refused where it is used, after the value's own check.
#[test]
fn a_variable_of_another_type_is_refused() {
    let app = app();
    let q = "mutation($x: Int, $p: String!) { tokenAuth(username: $x, password: $p) { token } }";
    let body = refused(&app, q, json!({"x": 5, "p": "b"}));
    assert_eq!(
        body,
        json!({"data": null, "errors": [
            {"message": "Invalid value for argument \"username\", expected type \"String\"", "locations": at(&[44])},
            position_error("x", "String!", "Int", &[10, 34]),
        ]})
    );
    // An `ID` is not a `String`, even when its value is one; here through a fragment, where
    // the location is the field in the fragment.
    let q = "mutation($t: ID) { ...F } fragment F on Mutation { verifyToken(token: $t) { payload } }";
    let body = refused(&app, q, json!({"t": "x"}));
    assert_eq!(body, json!({"data": null, "errors": [position_error("t", "String", "ID", &[10, 52])]}));
    // A directive's argument, located at the directive.
    let q = "query($s: Boolean) { me @include(if: $s) { id } }";
    let body = refused(&app, q, json!({"s": true}));
    assert_eq!(body, json!({"data": null, "errors": [position_error("s", "Boolean!", "Boolean", &[7, 25])]}));
}

/// What fits still runs: a non-null variable in a nullable position, a nullable one with a
/// default in a non-null position, and the same type.
#[test]
fn variables_that_fit_their_positions_run() {
    let app = app();
    for (q, variables) in [
        ("mutation($t: String!) { verifyToken(token: $t) { payload } }", json!({"t": "x"})),
        ("mutation($u: String! = \"a\", $p: String = \"b\") { tokenAuth(username: $u, password: $p) { token } }", json!({})),
        ("query($s: Boolean = true) { me @include(if: $s) { id } }", json!({})),
        ("query($n: String!) { __type(name: $n) { name } }", json!({"n": "Query"})),
    ] {
        let r = gql(&app, q, variables);
        assert_eq!(r.status, 200, "{q}: {}", r.raw);
    }
}
