//! Schema definitions registered for data products: parsing/validation (Avro and JSON Schema),
//! flattened field listings, Confluent-style compatibility checks and structural diffs.
//!
//! # Field paths
//! Paths are shared by [`SchemaDefinition::fields`], [`Incompatibility::path`] and
//! [`FieldChange::path`] so that the three can be cross-referenced:
//! - nested record / object fields are joined with `.`: `customer.address.city`;
//! - array items add `[]`: `lines[].sku` (nested arrays: `matrix[][]`);
//! - Avro map values and JSON `additionalProperties` schemas add `{}`: `attrs{}.value`;
//! - JSON tuple items (`items: [..]` / `prefixItems`) add `[i]`: `point[0]`;
//! - Avro unions with several non-null branches add the branch: `payment<Card>.number`
//!   (a union of `null` and one type is transparent and only makes the field nullable);
//! - the root itself is `""`.
//!
//! Schemas are parsed by `apache-avro` / `serde_json` and validated by `jsonschema`; this
//! module only interprets the parsed trees. Every walk is bounded (nesting depth, expanded
//! node count, comparison steps) so that no input can overflow the stack or run unbounded;
//! recursive types are listed once and compared coinductively.
//!
//! [`SchemaDefinition::parse`] is the one parse of a definition: registration (canonical
//! form, fields, compatibility, diffs), the stream decoder (Avro schema, JSON validator, PII
//! fields) and the demo traffic generator all read the [`SchemaDefinition`] it returns.

mod avro;
mod compat;
mod diff;
mod infer;
mod issue;
mod json;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use avro::AvroSchema;
pub use compat::check_compatibility;
pub use diff::diff;
pub use infer::{infer_json_schema, Inferred};
pub use json::{validator as json_validator, JsonSchema};

/// Maximum nesting of schema levels (records/objects, arrays, maps, unions) we accept.
/// Deeper definitions are rejected as invalid so that every walk stays bounded.
const MAX_DEPTH: usize = 64;

/// Maximum number of schema nodes visited when a definition is expanded (named types and
/// `$ref`s can be reused, so the expansion can be much larger than the text).
const MAX_NODES: usize = 100_000;

/// Format of a registered schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SchemaFormat {
    Avro,
    JsonSchema,
}

impl fmt::Display for SchemaFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchemaFormat::Avro => "Avro",
            SchemaFormat::JsonSchema => "JSON Schema",
        })
    }
}

/// Compatibility rule enforced when a new version is registered (Confluent Schema Registry semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CompatibilityMode {
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
    None,
}

impl CompatibilityMode {
    /// Every mode, in declaration order.
    pub const ALL: [CompatibilityMode; 7] = [
        CompatibilityMode::Backward,
        CompatibilityMode::BackwardTransitive,
        CompatibilityMode::Forward,
        CompatibilityMode::ForwardTransitive,
        CompatibilityMode::Full,
        CompatibilityMode::FullTransitive,
        CompatibilityMode::None,
    ];
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("invalid {format} schema: {message}")]
    Invalid { format: SchemaFormat, message: String },
}

impl SchemaError {
    fn invalid(format: SchemaFormat, message: impl Into<String>) -> Self {
        SchemaError::Invalid {
            format,
            message: message.into(),
        }
    }
}

/// A parsed, valid schema definition with its field list. Only constructible through `parse`.
#[derive(Debug, Clone)]
pub struct SchemaDefinition {
    raw: String,
    parsed: Parsed,
    /// Listed once by `parse`, which rejects a definition whose listing exceeds the limits.
    fields: Vec<FieldInfo>,
}

#[derive(Debug, Clone)]
enum Parsed {
    Avro(AvroSchema),
    Json(JsonSchema),
}

impl SchemaDefinition {
    /// Parses and validates `raw`. Definitions nested deeper than 64 levels or expanding to
    /// too many nodes are rejected here, so every later walk of an accepted definition is
    /// bounded and cannot fail.
    pub fn parse(format: SchemaFormat, raw: &str) -> Result<Self, SchemaError> {
        let parse = || match format {
            SchemaFormat::Avro => {
                let schema = AvroSchema::parse(raw)?;
                Ok((schema.fields()?, Parsed::Avro(schema)))
            }
            SchemaFormat::JsonSchema => {
                let schema = JsonSchema::parse(raw)?;
                Ok((schema.fields()?, Parsed::Json(schema)))
            }
        };
        let (fields, parsed) = parse().map_err(|m: String| SchemaError::invalid(format, m))?;
        Ok(SchemaDefinition {
            raw: raw.to_string(),
            parsed,
            fields,
        })
    }

    pub fn format(&self) -> SchemaFormat {
        match self.parsed {
            Parsed::Avro(_) => SchemaFormat::Avro,
            Parsed::Json(_) => SchemaFormat::JsonSchema,
        }
    }

    /// The definition as submitted (keep the raw text).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Whitespace- and key-order-insensitive form used to detect re-registration.
    ///
    /// For Avro this is the full schema as apache-avro serialises it (docs, defaults, aliases
    /// and custom attributes such as `tags` kept), not the Avro "Parsing Canonical Form": that
    /// form drops docs and tags, so a version that only adds a PII tag would wrongly be
    /// treated as already registered.
    pub fn canonical(&self) -> String {
        match &self.parsed {
            Parsed::Avro(s) => s.canonical(),
            Parsed::Json(s) => s.canonical(),
        }
    }

    /// Flattened field list, depth-first in declaration order.
    pub fn fields(&self) -> Vec<SchemaField> {
        self.fields.iter().map(|i| i.field.clone()).collect()
    }

    /// Fields plus the structural information `diff` needs (parents and aliases).
    fn field_infos(&self) -> &[FieldInfo] {
        &self.fields
    }

    /// The parsed Avro schema, for a definition in that format.
    pub fn avro(&self) -> Option<&AvroSchema> {
        match &self.parsed {
            Parsed::Avro(s) => Some(s),
            Parsed::Json(_) => None,
        }
    }

    /// The parsed JSON Schema, for a definition in that format.
    pub fn json(&self) -> Option<&JsonSchema> {
        match &self.parsed {
            Parsed::Json(s) => Some(s),
            Parsed::Avro(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaField {
    /// Dotted path from the root, see the module docs for the `[]`, `{}` and `<Branch>` segments.
    pub path: String,
    pub type_name: String,
    pub doc: Option<String>,
    pub nullable: bool,
    pub required: bool,
    pub default: Option<serde_json::Value>,
    pub tags: Vec<String>,
}

/// A field plus its position in the tree, as produced by the format walkers.
#[derive(Debug, Clone)]
struct FieldInfo {
    field: SchemaField,
    /// The field's own name (last path segment).
    name: String,
    /// Index of the enclosing field in the same listing (`None` at the root).
    parent: Option<usize>,
    /// Container segments between the parent path and `.name` (`[]`, `{}`, `<Card>`).
    container: String,
    /// Avro field aliases (former names); always empty for JSON Schema.
    aliases: Vec<String>,
}

/// Joins a parent path, container segments and a field name into a field path.
fn join_path(parent: &str, container: &str, name: &str) -> String {
    if parent.is_empty() && container.is_empty() {
        name.to_string()
    } else {
        format!("{parent}{container}.{name}")
    }
}

/// Collects tags from a custom-attribute map: `tags`/`confluent:tags` string arrays and
/// `pii: true`, upper-cased and de-duplicated in order of appearance.
fn collect_tags<'a>(lookup: impl Fn(&str) -> Option<&'a serde_json::Value>) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let mut push = |t: String| {
        if !t.is_empty() && !tags.contains(&t) {
            tags.push(t);
        }
    };
    for key in ["tags", "confluent:tags"] {
        match lookup(key) {
            Some(serde_json::Value::Array(items)) => {
                for item in items {
                    if let Some(s) = item.as_str() {
                        push(s.trim().to_uppercase());
                    }
                }
            }
            Some(serde_json::Value::String(s)) => push(s.trim().to_uppercase()),
            _ => {}
        }
    }
    if matches!(lookup("pii"), Some(serde_json::Value::Bool(true))) {
        push("PII".to_string());
    }
    tags
}

/// Serialises JSON with sorted object keys, independent of serde_json's map implementation.
fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incompatibility {
    pub path: String,
    pub message: String,
    pub against_version: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    pub kind: ChangeKind,
    pub before: Option<SchemaField>,
    pub after: Option<SchemaField>,
    pub details: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_display() {
        assert_eq!(SchemaFormat::Avro.to_string(), "Avro");
        assert_eq!(SchemaFormat::JsonSchema.to_string(), "JSON Schema");
        let err = SchemaDefinition::parse(SchemaFormat::JsonSchema, "{").unwrap_err();
        // The mandated template repeats "schema" for JSON Schema.
        assert!(err.to_string().starts_with("invalid JSON Schema schema: "), "{err}");
        let err = SchemaDefinition::parse(SchemaFormat::Avro, "{").unwrap_err();
        assert!(err.to_string().starts_with("invalid Avro schema: "), "{err}");
    }

    #[test]
    fn default_mode_is_backward() {
        assert_eq!(CompatibilityMode::default(), CompatibilityMode::Backward);
    }

    #[test]
    fn raw_is_kept_and_canonical_ignores_whitespace() {
        let a = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#;
        let b = "{ \"name\" : \"R\",\n \"type\":\"record\",\n \"fields\":[ {\"type\":\"int\",\"name\":\"a\"} ] }";
        let da = SchemaDefinition::parse(SchemaFormat::Avro, a).unwrap();
        let db = SchemaDefinition::parse(SchemaFormat::Avro, b).unwrap();
        assert_eq!(da.raw(), a);
        assert_eq!(db.raw(), b);
        assert_eq!(da.canonical(), db.canonical());
        assert_eq!(da.format(), SchemaFormat::Avro);

        let ja = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}"#;
        let jb =
            "{\"properties\": {\"b\": {\"type\": \"integer\"},\n \"a\": {\"type\": \"string\"}}, \"type\": \"object\"}";
        let da = SchemaDefinition::parse(SchemaFormat::JsonSchema, ja).unwrap();
        let db = SchemaDefinition::parse(SchemaFormat::JsonSchema, jb).unwrap();
        assert_eq!(da.canonical(), db.canonical());
        assert_eq!(da.format(), SchemaFormat::JsonSchema);
    }

    #[test]
    fn canonical_keeps_docs_and_tags() {
        let a = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}"#;
        let b = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string","tags":["PII"]}]}"#;
        let c = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string","doc":"x"}]}"#;
        let [a, b, c] = [a, b, c].map(|s| SchemaDefinition::parse(SchemaFormat::Avro, s).unwrap().canonical());
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v: serde_json::Value = serde_json::from_str(r#"{"b":[1,{"d":null,"c":"x\"y"}],"a":true}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":true,"b":[1,{"c":"x\"y","d":null}]}"#);
    }

    #[test]
    fn tags_are_uppercased_and_deduplicated() {
        let attrs: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"tags":["pii"," gdpr ",3],"pii":true}"#).unwrap();
        assert_eq!(collect_tags(|k| attrs.get(k)), vec!["PII", "GDPR"]);
    }

    #[test]
    fn path_joining() {
        assert_eq!(join_path("", "", "a"), "a");
        assert_eq!(join_path("a", "", "b"), "a.b");
        assert_eq!(join_path("a", "[]", "b"), "a[].b");
        assert_eq!(join_path("", "[]", "b"), "[].b");
    }
}

/// Robustness: random structural mutations of realistic schemas must never panic, whatever
/// `parse`, `fields`, `canonical`, `check_compatibility` and `diff` are given.
#[cfg(test)]
mod fuzz {
    use super::*;
    use serde_json::{json, Value};

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn avro_seeds() -> Vec<Value> {
        vec![
            json!({"type": "record", "name": "Order", "namespace": "shop", "fields": [
                {"name": "id", "type": "long"},
                {"name": "email", "type": ["null", "string"], "default": null, "tags": ["PII"]},
                {"name": "status", "type": {"type": "enum", "name": "S", "symbols": ["A", "B"], "default": "A"}},
                {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [
                    {"name": "sku", "type": "string", "aliases": ["code"]},
                    {"name": "next", "type": ["null", "Line"], "default": null}
                ]}}},
                {"name": "m", "type": {"type": "map", "values": "Line"}},
                {"name": "h", "type": {"type": "fixed", "name": "H", "size": 4}},
                {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2}},
                {"name": "u", "type": ["int", "string", "Line"]}
            ]}),
            json!({"type": "record", "name": "Order", "namespace": "shop", "aliases": ["Old"], "fields": [
                {"name": "id", "type": "int", "default": 0},
                {"name": "code", "type": "string"},
                {"name": "lines", "type": {"type": "array", "items": "string"}}
            ]}),
        ]
    }

    fn json_seeds() -> Vec<Value> {
        vec![
            json!({"type": "object", "definitions": {
                    "A": {"type": "object", "properties": {"c": {"type": "string", "maxLength": 3}, "self": {"$ref": "#/definitions/A"}}}
                },
                "properties": {
                    "id": {"type": "integer", "minimum": 0},
                    "a": {"$ref": "#/definitions/A"},
                    "l": {"type": "array", "items": {"anyOf": [{"type": "null"}, {"$ref": "#"}]}},
                    "e": {"enum": ["x", 1, null]},
                    "o": {"oneOf": [{"type": "string", "pattern": "^a"}, {"type": "object", "additionalProperties": {"type": "integer"}}]},
                    "t": {"type": "array", "items": [{"type": "string"}, {"type": "number"}]},
                    "all": {"allOf": [{"$ref": "#/definitions/A"}, {"required": ["c"]}]}
                },
                "required": ["id"],
                "additionalProperties": false
            }),
            json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "$defs": {"B": {"type": ["object", "null"], "properties": {"x": {"$ref": "#/$defs/B"}}}},
                "properties": {"b": {"$ref": "#/$defs/B"}, "p": {"prefixItems": [{"const": 1}], "uniqueItems": true}},
                "unevaluatedProperties": false
            }),
        ]
    }

    /// Fragments spliced into random places of the seeds.
    fn pool() -> Vec<Value> {
        vec![
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-1.5),
            json!(""),
            json!("#"),
            json!("#/definitions/A"),
            json!("#/$defs/B"),
            json!("Line"),
            json!("Order"),
            json!("null"),
            json!("record"),
            json!([]),
            json!({}),
            json!(["null"]),
            json!({"$ref": "#"}),
            json!({"$ref": "#/properties"}),
            json!({"type": "array", "items": {"$ref": "#"}}),
            json!({"anyOf": [{"$ref": "#"}, {"oneOf": [{"$ref": "#"}]}]}),
            json!({"allOf": [{"$ref": "#"}, {"$ref": "#/definitions/A"}]}),
            json!({"type": "record", "name": "Line", "fields": []}),
            json!({"type": "record", "name": "R", "fields": [{"name": "r", "type": "R"}]}),
            json!({"type": "map", "values": "Order"}),
            json!(["int", "long"]),
            json!({"type": "enum", "name": "S", "symbols": []}),
        ]
    }

    /// Replaces, deletes or duplicates one random node of `value`.
    fn mutate(node: &mut Value, rng: &mut Rng, pool: &[Value], descend: usize) {
        if descend > 0 {
            match node {
                Value::Array(items) if !items.is_empty() => {
                    let i = rng.below(items.len());
                    return mutate(&mut items[i], rng, pool, descend - 1);
                }
                Value::Object(map) if !map.is_empty() => {
                    let i = rng.below(map.len());
                    if let Some(child) = map.values_mut().nth(i) {
                        return mutate(child, rng, pool, descend - 1);
                    }
                }
                _ => {}
            }
        }
        match rng.below(4) {
            0 => *node = pool[rng.below(pool.len())].clone(),
            1 => match node {
                Value::Array(items) if !items.is_empty() => {
                    let i = rng.below(items.len());
                    items.remove(i);
                }
                Value::Object(map) if !map.is_empty() => {
                    let key = map.keys().nth(rng.below(map.len())).cloned().unwrap_or_default();
                    map.remove(&key);
                }
                _ => {}
            },
            2 => {
                let copy = node.clone();
                match node {
                    Value::Array(items) => items.push(copy),
                    Value::Object(map) => {
                        map.insert("extra".into(), copy);
                    }
                    _ => {}
                }
            }
            _ => {
                if let Value::Object(map) = node {
                    let keys = [
                        "type",
                        "$ref",
                        "items",
                        "properties",
                        "fields",
                        "name",
                        "default",
                        "aliases",
                        "required",
                    ];
                    let key = keys[rng.below(keys.len())];
                    map.insert(key.into(), pool[rng.below(pool.len())].clone());
                }
            }
        }
    }

    fn exercise(format: SchemaFormat, seeds: &[Value], iterations: usize, seed: u64) -> usize {
        let pool = pool();
        let mut rng = Rng(seed);
        let parsed_seeds: Vec<(i32, SchemaDefinition)> = seeds
            .iter()
            .enumerate()
            .map(|(i, s)| (i as i32 + 1, SchemaDefinition::parse(format, &s.to_string()).unwrap()))
            .collect();
        let mut accepted = 0;
        for _ in 0..iterations {
            let mut value = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(3) {
                let descend = rng.below(8);
                mutate(&mut value, &mut rng, &pool, descend);
            }
            let raw = value.to_string();
            let Ok(def) = SchemaDefinition::parse(format, &raw) else {
                continue;
            };
            accepted += 1;
            let _ = def.fields();
            let _ = def.canonical();
            for mode in [CompatibilityMode::FullTransitive, CompatibilityMode::Backward] {
                let _ = check_compatibility(mode, &def, &parsed_seeds);
            }
            for (_, other) in &parsed_seeds {
                let _ = diff(other, &def);
                let _ = diff(&def, other);
                let _ = check_compatibility(CompatibilityMode::Full, other, &[(9, def.clone())]);
            }
        }
        accepted
    }

    #[test]
    fn avro_mutations_never_panic() {
        let accepted = exercise(SchemaFormat::Avro, &avro_seeds(), 3000, 0x9E37_79B9_7F4A_7C15);
        assert!(accepted > 100, "only {accepted} mutants parsed");
    }

    #[test]
    fn json_mutations_never_panic() {
        let accepted = exercise(SchemaFormat::JsonSchema, &json_seeds(), 3000, 0xD1B5_4A32_D192_ED03);
        assert!(accepted > 100, "only {accepted} mutants parsed");
    }

    #[test]
    fn raw_text_garbage_never_panics() {
        let mut rng = Rng(42);
        let alphabet: Vec<char> = "{}[]\":,. 0123456789-eE+truefalsnul\\\"#$/".chars().collect();
        for _ in 0..2000 {
            let len = rng.below(40);
            let raw: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
            for format in [SchemaFormat::Avro, SchemaFormat::JsonSchema] {
                if let Ok(def) = SchemaDefinition::parse(format, &raw) {
                    let _ = def.fields();
                    let _ = check_compatibility(CompatibilityMode::Full, &def, &[(1, def.clone())]);
                }
            }
        }
    }
}
