//! Infers a JSON Schema (draft 2020-12) from sampled JSON records of a topic, as a draft to review before publishing.
//!
//! All records are merged into one shape per position (the root, each property, the items of each array):
//! - `type` lists every JSON type seen there (`integer` and `number` merge to `number`; a `null` or an explicit
//!   null property adds `"null"`), as one string or an array in the order object, array, string, number or
//!   integer, boolean, null;
//! - objects get `properties` in first-seen order and `required` for the keys present (even if null) in every
//!   object seen there; `additionalProperties` is left open so the schema can evolve;
//! - arrays get `items`, the merged shape of every element of every array there (none when all were empty);
//! - strings get a `format` (`date-time`, `date` or `uuid`) only when every string seen there has it;
//! - positions deeper than [`MAX_DEPTH`] are `{}`.

use super::json::Node;
use chrono::{DateTime, NaiveDate};
use serde::ser::{Serialize, Serializer};
use std::collections::HashMap;

/// The dialect of inferred schemas.
const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";
/// Deepest nesting inferred; deeper values are described as `{}` (any).
const MAX_DEPTH: usize = 32;

/// JSON types in the order they are listed in `type`; bit `1 << i` of [`Shape::types`] stands for `TYPES[i]`.
const TYPES: [&str; 7] = ["object", "array", "string", "number", "integer", "boolean", "null"];
const OBJECT: u8 = 1;
const ARRAY: u8 = 1 << 1;
const STRING: u8 = 1 << 2;
const NUMBER: u8 = 1 << 3;
const INTEGER: u8 = 1 << 4;
const BOOLEAN: u8 = 1 << 5;
const NULL: u8 = 1 << 6;
/// String formats, in order of precedence.
const FORMATS: [(u8, &str); 3] = [(1, "date-time"), (1 << 1, "date"), (1 << 2, "uuid")];

/// An inferred schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Inferred {
    /// The schema text (pretty-printed JSON).
    pub schema: String,
    /// How many records it was inferred from (the JSON ones).
    pub records: usize,
    /// How many records were skipped as not JSON.
    pub skipped: usize,
}

/// Infers a JSON Schema (draft 2020-12) describing every record given.
/// Records that are not valid JSON are skipped; returns `None` when no record
/// is JSON. The answer is pretty-printed, with properties in the order they
/// were first seen, and states in its root `description` how many records it was
/// inferred from.
pub fn infer_json_schema(records: &[&[u8]]) -> Option<Inferred> {
    let mut root = Shape::default();
    let (mut inferred, mut skipped) = (0, 0);
    for record in records {
        match serde_json::from_slice::<Node>(record) {
            Ok(node) => {
                merge(&mut root, &node, 0);
                inferred += 1;
            }
            Err(_) => skipped += 1,
        }
    }
    if inferred == 0 {
        return None;
    }
    let plural = if inferred == 1 { "" } else { "s" };
    let description = format!("Inferred from {inferred} sampled record{plural}; review before publishing.");
    let mut schema = vec![
        ("$schema".to_owned(), text(DRAFT)),
        ("description".to_owned(), Out::Str(description)),
    ];
    schema.extend(keywords(&root));
    let schema = serde_json::to_string_pretty(&Out::Map(schema)).ok()?;
    Some(Inferred {
        schema,
        records: inferred,
        skipped,
    })
}

/// What was seen at one position of the records.
#[derive(Default)]
struct Shape {
    /// Beyond [`MAX_DEPTH`]: described as any value.
    any: bool,
    /// Types seen, as bits (see [`TYPES`]).
    types: u8,
    /// Bits of [`FORMATS`] that every string seen has; `None` until a string is seen.
    formats: Option<u8>,
    /// How many objects were seen.
    objects: usize,
    /// Properties in first-seen order: key, how many objects had it, merged shape of its values.
    properties: Vec<(String, usize, Shape)>,
    /// Index of each key in `properties`.
    index: HashMap<String, usize>,
    /// Merged shape of all array elements, once one is seen.
    items: Option<Box<Shape>>,
}

/// Merges `node`, found `depth` levels below the root, into `shape`.
fn merge(shape: &mut Shape, node: &Node, depth: usize) {
    if depth > MAX_DEPTH {
        shape.any = true;
        return;
    }
    match node {
        Node::Null => shape.types |= NULL,
        Node::Bool(_) => shape.types |= BOOLEAN,
        Node::Number(n) => shape.types |= if n.is_i64() || n.is_u64() { INTEGER } else { NUMBER },
        Node::String(s) => {
            shape.types |= STRING;
            shape.formats = Some(shape.formats.unwrap_or(u8::MAX) & formats_of(s));
        }
        Node::Array(elements) => {
            shape.types |= ARRAY;
            for element in elements {
                merge(shape.items.get_or_insert_with(Box::default), element, depth + 1);
            }
        }
        Node::Object(entries) => {
            shape.types |= OBJECT;
            shape.objects += 1;
            for (key, value) in entries {
                let i = match shape.index.get(key) {
                    Some(&i) => i,
                    None => {
                        shape.index.insert(key.clone(), shape.properties.len());
                        shape.properties.push((key.clone(), 0, Shape::default()));
                        shape.properties.len() - 1
                    }
                };
                let (_, count, property) = &mut shape.properties[i];
                *count += 1;
                merge(property, value, depth + 1);
            }
        }
    }
}

/// The bits of [`FORMATS`] that `s` has.
fn formats_of(s: &str) -> u8 {
    let b = s.as_bytes();
    // chrono also takes a space for `T` and a leap second in any minute, which the `date-time` format does not.
    let rfc3339 = matches!(b.get(10), Some(b'T' | b't')) && b.get(17..19) != Some(b"60");
    let date_time = rfc3339 && DateTime::parse_from_rfc3339(s).is_ok();
    let date = shaped(b, 10, &[4, 7], u8::is_ascii_digit) && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok();
    let uuid = shaped(b, 36, &[8, 13, 18, 23], u8::is_ascii_hexdigit);
    u8::from(date_time) | u8::from(date) << 1 | u8::from(uuid) << 2
}

/// Whether `b` is `len` bytes long, with `-` at the `hyphens` positions and `digit`s elsewhere.
fn shaped(b: &[u8], len: usize, hyphens: &[usize], digit: fn(&u8) -> bool) -> bool {
    b.len() == len
        && b.iter()
            .enumerate()
            .all(|(i, c)| if hyphens.contains(&i) { *c == b'-' } else { digit(c) })
}

/// The schema keywords of a shape, in order.
fn keywords(shape: &Shape) -> Vec<(String, Out)> {
    let mut out = Vec::new();
    if shape.any {
        return out;
    }
    let number = shape.types & NUMBER != 0;
    let seen = |i: &usize| shape.types & 1 << i != 0 && !(number && 1 << i == INTEGER);
    let mut types: Vec<Out> = (0..TYPES.len()).filter(seen).map(|i| text(TYPES[i])).collect();
    if types.len() == 1 {
        out.push(("type".to_owned(), types.remove(0)));
    } else if !types.is_empty() {
        out.push(("type".to_owned(), Out::List(types)));
    }
    if let Some((_, format)) = FORMATS.iter().find(|(bit, _)| shape.formats.unwrap_or(0) & bit != 0) {
        out.push(("format".to_owned(), text(format)));
    }
    if !shape.properties.is_empty() {
        let properties = shape
            .properties
            .iter()
            .map(|(key, _, shape)| (key.clone(), Out::Map(keywords(shape))));
        out.push(("properties".to_owned(), Out::Map(properties.collect())));
        let required = shape.properties.iter().filter(|(_, count, _)| *count == shape.objects);
        let required: Vec<Out> = required.map(|(key, _, _)| text(key)).collect();
        if !required.is_empty() {
            out.push(("required".to_owned(), Out::List(required)));
        }
    }
    if let Some(items) = &shape.items {
        out.push(("items".to_owned(), Out::Map(keywords(items))));
    }
    out
}

/// A JSON string.
fn text(s: &str) -> Out {
    Out::Str(s.to_owned())
}

/// A JSON tree that serializes object keys in the order given.
enum Out {
    Str(String),
    List(Vec<Out>),
    Map(Vec<(String, Out)>),
}

impl Serialize for Out {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Out::Str(s) => serializer.serialize_str(s),
            Out::List(items) => serializer.collect_seq(items),
            Out::Map(entries) => serializer.collect_map(entries.iter().map(|(key, value)| (key, value))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Infers from `records` (one a line, blank lines ignored), checks the schema against the draft 2020-12
    /// meta-schema and each JSON record against the schema (formats asserted), and returns it parsed and as text.
    fn check(records: &str) -> (Value, String) {
        let records: Vec<&str> = records.lines().map(str::trim).filter(|r| !r.is_empty()).collect();
        let bytes: Vec<&[u8]> = records.iter().map(|r| r.as_bytes()).collect();
        let inferred = infer_json_schema(&bytes).expect("a JSON record");
        let schema: Value = serde_json::from_str(&inferred.schema).unwrap();
        jsonschema::meta::validate(&schema).unwrap();
        let validator = jsonschema::options().should_validate_formats(true);
        let validator = validator.build(&schema).unwrap();
        let json: Vec<Value> = records.iter().filter_map(|r| serde_json::from_str(r).ok()).collect();
        for record in &json {
            assert!(validator.is_valid(record), "{record} against {}", inferred.schema);
        }
        let n = json.len();
        assert_eq!((inferred.records, inferred.skipped), (n, records.len() - n));
        let s = if n == 1 { "" } else { "s" };
        assert_eq!(
            schema["description"],
            format!("Inferred from {n} sampled record{s}; review before publishing.")
        );
        assert_eq!(schema["$schema"], DRAFT);
        (schema, inferred.schema)
    }

    /// Asserts that the schema inferred from `records` is `expected` under the root `$schema` and `description`.
    fn assert_infers(records: &str, expected: Value) {
        let mut schema = check(records).0;
        let root = schema.as_object_mut().unwrap();
        root.retain(|k, _| k != "$schema" && k != "description");
        assert_eq!(Value::Object(root.clone()), expected);
    }

    /// An object schema.
    fn object(properties: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": properties, "required": required})
    }

    /// The keys, in document order, of the object at the `.`-separated `path` in `text`.
    fn keys(text: &str, path: &str) -> Vec<String> {
        let mut node = serde_json::from_str::<Node>(text).unwrap();
        for step in path.split('.').filter(|s| !s.is_empty()) {
            let Node::Object(entries) = node else { panic!() };
            node = entries.into_iter().find(|(k, _)| k == step).unwrap().1;
        }
        let Node::Object(entries) = node else { panic!() };
        entries.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn flat_object() {
        let records = r#"
            {"id": 1, "name": "a", "ok": true}
            {"id": 2, "name": "b", "ok": false}"#;
        let properties = json!({"id": {"type": "integer"}, "name": {"type": "string"}, "ok": {"type": "boolean"}});
        assert_infers(records, object(properties, &["id", "name", "ok"]));
        let text = check(records).1;
        let order = ["$schema", "description", "type", "properties", "required"];
        assert_eq!(keys(&text, ""), order);
        assert!(text.contains("\n  \"type\": \"object\""), "pretty-printed: {text}");
        let one = check(r#"{"id": 1}"#).0;
        assert_eq!(
            one["description"],
            "Inferred from 1 sampled record; review before publishing."
        );
    }

    #[test]
    fn nested_objects() {
        let records = r#"
            {"user": {"id": 1, "address": {"city": "x"}}}
            {"user": {"id": 2, "address": {"city": "y", "zip": "1"}}}"#;
        let address = object(
            json!({"city": {"type": "string"}, "zip": {"type": "string"}}),
            &["city"],
        );
        let user = object(
            json!({"id": {"type": "integer"}, "address": address}),
            &["id", "address"],
        );
        assert_infers(records, object(json!({"user": user}), &["user"]));
    }

    #[test]
    fn arrays_of_objects_require_the_common_keys() {
        let records = r#"
            {"xs": [{"a": 1, "b": "x"}, {"a": 2, "c": true}]}
            {"xs": [{"c": false, "b": "y", "a": 3}]}"#;
        let properties = json!({"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}});
        let xs = json!({"type": "array", "items": object(properties, &["a"])});
        assert_infers(records, object(json!({"xs": xs}), &["xs"]));
        let text = check(records).1;
        assert_eq!(keys(&text, "properties.xs"), ["type", "items"]);
        assert_eq!(keys(&text, "properties.xs.items.properties"), ["a", "b", "c"]);
    }

    #[test]
    fn arrays_of_scalars_and_empty_arrays() {
        assert_infers(
            "[\"a\", \"b\"]\n[\"c\"]",
            json!({"type": "array", "items": {"type": "string"}}),
        );
        assert_infers("[1, 2.5]", json!({"type": "array", "items": {"type": "number"}}));
        let mixed = json!({"type": "array", "items": {"type": ["string", "integer", "null"]}});
        assert_infers(r#"[1, "x", null]"#, mixed);
        assert_infers("[]\n[]", json!({"type": "array"}));
        let nested = json!({"type": "array", "items": {"type": "array", "items": {"type": "boolean"}}});
        assert_infers("[]\n[[]]\n[[true]]", nested);
    }

    #[test]
    fn nulls_and_missing_keys() {
        let records = r#"
            {"a": null, "b": 1, "c": null}
            {"a": "x", "c": null}"#;
        let properties = json!({"a": {"type": ["string", "null"]}, "b": {"type": "integer"}, "c": {"type": "null"}});
        assert_infers(records, object(properties, &["a", "c"]));
        assert_infers("{}\nnull", json!({"type": ["object", "null"]}));
    }

    #[test]
    fn mixed_types_at_one_position() {
        let records = r#"
            {"v": "x", "o": {"k": 1}}
            {"v": 3, "o": "flat"}
            {"v": 4.5, "o": [true]}"#;
        let mut o = object(json!({"k": {"type": "integer"}}), &["k"]);
        o["type"] = json!(["object", "array", "string"]);
        o["items"] = json!({"type": "boolean"});
        assert_infers(
            records,
            object(json!({"v": {"type": ["string", "number"]}, "o": o}), &["v", "o"]),
        );
        let order = ["type", "properties", "required", "items"];
        assert_eq!(keys(&check(records).1, "properties.o"), order);
        assert_infers("\"x\"\n1", json!({"type": ["string", "integer"]}));
    }

    #[test]
    fn integer_and_number_merge_to_number() {
        assert_infers("1\n2.5\n-3", json!({"type": "number"}));
        assert_infers(
            "1\n18446744073709551615\n-9223372036854775808",
            json!({"type": "integer"}),
        );
        assert_infers("1.0", json!({"type": "number"}));
    }

    #[test]
    fn string_formats() {
        let records = r#"
            {"at": "2024-05-01T12:00:00Z", "day": "2024-05-01", "id": "123e4567-e89b-12d3-a456-426614174000"}
            {"at": "2024-02-29t23:59:59.5+02:00", "day": "2024-02-29", "id": "123E4567-E89B-12D3-A456-426614174000"}
            {"mix": "2024-05-01"}
            {"mix": "2024-05-01T12:00:00Z"}"#;
        let properties = json!({
            "at": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "id": {"type": "string", "format": "uuid"},
            "mix": {"type": "string"},
        });
        assert_infers(records, json!({"type": "object", "properties": properties}));
        assert_eq!(keys(&check(records).1, "properties.at"), ["type", "format"]);
        assert_infers(
            "\"2024-05-01\"\nnull",
            json!({"type": ["string", "null"], "format": "date"}),
        );
        let odd = "|x|2024-02-30|2024-5-01|+2024-05-01|2024-05-01 12:00:00Z|2024-05-01T12:00:00|2024-05-01T12:00:60Z\
            |{a}|123e4567e89b12d3a456426614174000|123e4567-e89b-12d3-a456-42661417400g";
        for odd in odd.split('|') {
            assert_eq!(formats_of(odd), 0, "{odd}");
        }
    }

    #[test]
    fn properties_in_first_seen_order() {
        let records = r#"
            {"b": 1, "a": 2}
            {"c": 3, "a": 4, "d": 5}
            {"d": 6, "b": 7, "a": 8}"#;
        assert_eq!(keys(&check(records).1, "properties"), ["b", "a", "c", "d"]);
        let properties = ["b", "a", "c", "d"].map(|k| (k.to_owned(), json!({"type": "integer"})));
        assert_infers(records, object(Value::Object(properties.into_iter().collect()), &["a"]));
    }

    #[test]
    fn non_json_records_are_skipped_and_counted() {
        let records: Vec<&[u8]> = b"{\"a\": 1}|not json||\x00\x00\x00\x01{\"a\": 2}|{} {}"
            .split(|b| *b == b'|')
            .collect();
        let inferred = infer_json_schema(&records).unwrap();
        assert_eq!((inferred.records, inferred.skipped), (1, 4));
        assert!(inferred.schema.contains("Inferred from 1 sampled record;"));
        assert_infers("{\"a\": 1}\n{oops", object(json!({"a": {"type": "integer"}}), &["a"]));
    }

    #[test]
    fn no_json_record_gives_none() {
        assert_eq!(infer_json_schema(&[b"nope", b"{", b"\xff"]), None);
        assert_eq!(infer_json_schema(&[]), None);
    }

    #[test]
    fn deep_nesting_is_cut_to_any() {
        let deep = |n| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let (schema, _) = check(&format!("{}\n{}", deep(MAX_DEPTH + 8), deep(3)));
        let at = (0..MAX_DEPTH).fold(&schema, |at, _| &at["items"]);
        assert_eq!(at, &json!({"type": "array", "items": {}}));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(100), "}".repeat(100));
        assert!(check(&objects).1.contains("\"a\": {}"));
        // Beyond serde_json's recursion limit a record is not parsed, so it is skipped.
        assert_eq!(infer_json_schema(&[deep(100_000).as_bytes()]), None);
    }

    #[test]
    fn root_that_is_not_an_object() {
        assert_infers("\"a\"\n\"b\"", json!({"type": "string"}));
        let mixed = json!({"type": ["array", "boolean", "null"], "items": {"type": "integer"}});
        assert_infers("true\nnull\n[1]", mixed);
    }

    #[test]
    fn odd_records_still_give_valid_schemas() {
        let records = r##"
            {"": 1, "$ref": "#/x", "type": {"properties": []}, "ü 🚀": "\u0000", "a\"b": 1e300}
            {"type": null, "items": [[], {}, "", -0.0], "required": ["required"]}
            {"": "dup", "": 2}"##;
        let (schema, text) = check(records);
        let order = ["", "$ref", "type", "ü 🚀", "a\"b", "items", "required"];
        assert_eq!(keys(&text, "properties"), order);
        assert_eq!(schema.get("required"), None, "no key is in every record");
        assert_eq!(schema["properties"]["type"]["type"], json!(["object", "null"]));
    }
}
