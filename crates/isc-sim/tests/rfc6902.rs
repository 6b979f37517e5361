//! The simulator's JSON Patch against every example of RFC 6902 Appendix A.
//!
//! Each example is run twice: from request text (as the simulator parses PATCH bodies) and from
//! a parsed `serde_json::Value`.

use isc_sim::patch::{apply_json_patch, apply_json_patch_text};
use serde_json::Value;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad test JSON {text}: {e}"))
}

/// Applies `patch` to `doc` both ways and checks the result equals `expected`.
fn ok(doc: &str, patch: &str, expected: &str) {
    let (doc, expected) = (parse(doc), parse(expected));
    let from_text = apply_json_patch_text(&doc, patch).expect("patch from text should apply");
    assert_eq!(from_text, expected, "text form of {patch}");
    let from_value = apply_json_patch(&doc, &parse(patch)).expect("patch value should apply");
    assert_eq!(from_value, expected, "value form of {patch}");
}

/// Checks that applying `patch` to `doc` fails (both ways) and returns the text-form error.
fn fails(doc: &str, patch: &str) -> String {
    let doc = parse(doc);
    let err = apply_json_patch_text(&doc, patch).expect_err("patch from text must fail");
    apply_json_patch(&doc, &parse(patch)).expect_err("patch value must fail");
    err
}

#[test]
fn a01_adding_an_object_member() {
    ok(
        r#"{ "foo": "bar" }"#,
        r#"[ { "op": "add", "path": "/baz", "value": "qux" } ]"#,
        r#"{ "baz": "qux", "foo": "bar" }"#,
    );
}

#[test]
fn a02_adding_an_array_element() {
    ok(
        r#"{ "foo": [ "bar", "baz" ] }"#,
        r#"[ { "op": "add", "path": "/foo/1", "value": "qux" } ]"#,
        r#"{ "foo": [ "bar", "qux", "baz" ] }"#,
    );
}

#[test]
fn a03_removing_an_object_member() {
    ok(
        r#"{ "baz": "qux", "foo": "bar" }"#,
        r#"[ { "op": "remove", "path": "/baz" } ]"#,
        r#"{ "foo": "bar" }"#,
    );
}

#[test]
fn a04_removing_an_array_element() {
    ok(
        r#"{ "foo": [ "bar", "qux", "baz" ] }"#,
        r#"[ { "op": "remove", "path": "/foo/1" } ]"#,
        r#"{ "foo": [ "bar", "baz" ] }"#,
    );
}

#[test]
fn a05_replacing_a_value() {
    ok(
        r#"{ "baz": "qux", "foo": "bar" }"#,
        r#"[ { "op": "replace", "path": "/baz", "value": "boo" } ]"#,
        r#"{ "baz": "boo", "foo": "bar" }"#,
    );
}

#[test]
fn a06_moving_a_value() {
    ok(
        r#"{ "foo": { "bar": "baz", "waldo": "fred" }, "qux": { "corge": "grault" } }"#,
        r#"[ { "op": "move", "from": "/foo/waldo", "path": "/qux/thud" } ]"#,
        r#"{ "foo": { "bar": "baz" }, "qux": { "corge": "grault", "thud": "fred" } }"#,
    );
}

#[test]
fn a07_moving_an_array_element() {
    ok(
        r#"{ "foo": [ "all", "grass", "cows", "eat" ] }"#,
        r#"[ { "op": "move", "from": "/foo/1", "path": "/foo/3" } ]"#,
        r#"{ "foo": [ "all", "cows", "eat", "grass" ] }"#,
    );
}

#[test]
fn a08_testing_a_value_success() {
    ok(
        r#"{ "baz": "qux", "foo": [ "a", 2, "c" ] }"#,
        r#"[ { "op": "test", "path": "/baz", "value": "qux" },
             { "op": "test", "path": "/foo/1", "value": 2 } ]"#,
        r#"{ "baz": "qux", "foo": [ "a", 2, "c" ] }"#,
    );
}

#[test]
fn a09_testing_a_value_error() {
    let err = fails(
        r#"{ "baz": "qux" }"#,
        r#"[ { "op": "test", "path": "/baz", "value": "bar" } ]"#,
    );
    assert!(err.contains("did not match"), "{err}");
}

#[test]
fn a10_adding_a_nested_member_object() {
    ok(
        r#"{ "foo": "bar" }"#,
        r#"[ { "op": "add", "path": "/child", "value": { "grandchild": { } } } ]"#,
        r#"{ "foo": "bar", "child": { "grandchild": { } } }"#,
    );
}

#[test]
fn a11_ignoring_unrecognized_elements() {
    ok(
        r#"{ "foo": "bar" }"#,
        r#"[ { "op": "add", "path": "/baz", "value": "qux", "xyz": 123 } ]"#,
        r#"{ "foo": "bar", "baz": "qux" }"#,
    );
}

#[test]
fn a12_adding_to_a_nonexistent_target() {
    let err = fails(
        r#"{ "foo": "bar" }"#,
        r#"[ { "op": "add", "path": "/baz/bat", "value": "qux" } ]"#,
    );
    assert!(err.contains("/baz/bat"), "{err}");
}

#[test]
fn a13_invalid_json_patch_document() {
    // Two "op" members: the typed parser rejects the document outright. Parsed into a `Value`
    // first, the last "op" wins ("remove" of a missing member), which must fail as well.
    let err = fails(
        r#"{ "foo": "bar" }"#,
        r#"[ { "op": "add", "path": "/baz", "value": "qux", "op": "remove" } ]"#,
    );
    assert!(err.contains("invalid JSON Patch document"), "{err}");
    assert!(err.contains("duplicate field `op`"), "{err}");
}

#[test]
fn a14_tilde_escape_ordering() {
    ok(
        r#"{ "/": 9, "~1": 10 }"#,
        r#"[ { "op": "test", "path": "/~01", "value": 10 } ]"#,
        r#"{ "/": 9, "~1": 10 }"#,
    );
}

#[test]
fn a15_comparing_strings_and_numbers() {
    let err = fails(
        r#"{ "/": 9, "~1": 10 }"#,
        r#"[ { "op": "test", "path": "/~01", "value": "10" } ]"#,
    );
    assert!(err.contains("did not match"), "{err}");
}

#[test]
fn a16_adding_an_array_value() {
    ok(
        r#"{ "foo": ["bar"] }"#,
        r#"[ { "op": "add", "path": "/foo/-", "value": ["abc", "def"] } ]"#,
        r#"{ "foo": ["bar", ["abc", "def"] ] }"#,
    );
}

#[test]
fn failure_is_atomic() {
    // The first operation applies, the second fails: nothing of the patch may be visible.
    let doc = parse(r#"{ "foo": "bar" }"#);
    let err = apply_json_patch_text(
        &doc,
        r#"[ { "op": "add", "path": "/baz", "value": 1 }, { "op": "remove", "path": "/nope" } ]"#,
    )
    .unwrap_err();
    assert!(err.contains("/nope"), "{err}");
    assert_eq!(doc, parse(r#"{ "foo": "bar" }"#));
}
