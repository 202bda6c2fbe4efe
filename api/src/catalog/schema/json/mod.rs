//! JSON Schema support: a definition is checked by `jsonschema` (its meta-schema, then
//! compiled under its declared draft, or draft-07 without `$schema`) and kept as a
//! [`node::Node`] tree in document order plus its compiled validator.
//!
//! One concern per module: [`node`] (the document-order tree), [`resolve`] (`$ref`s and
//! the merged view of a schema), [`fields`] (field lists) and [`compat`] (reader/writer
//! compatibility, Confluent Schema Registry's rules).
//!
//! Supported structure: `properties`/`required`, `additionalProperties`,
//! `items` (schema or tuple), `prefixItems`, `allOf` (merged), `anyOf`/`oneOf` (branches)
//! and local `$ref`s (`#`, `#/definitions/..`, `#/$defs/..`, any local JSON pointer).

mod compat;
mod fields;
mod node;
mod resolve;

use serde_json::Value;

use super::{canonical_json, FieldInfo};

pub(super) use compat::reader_issues;
pub(super) use node::Node;

/// A parsed, valid JSON Schema definition: its tree in document order (field lists,
/// compatibility, canonical form) and its compiled validator (live decoding).
#[derive(Debug, Clone)]
pub struct JsonSchema {
    root: Node,
    validator: jsonschema::Validator,
}

/// The validator of a JSON Schema definition, as every part of the server
/// reads it (registration, live decoding): its declared `$schema` draft, or
/// draft-07 without one (Confluent Schema Registry's default).
pub fn validator(definition: &Value) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    if definition.get("$schema").is_some() {
        jsonschema::validator_for(definition)
    } else {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(definition)
    }
}

impl JsonSchema {
    pub(super) fn parse(raw: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(raw).map_err(|e| format!("not valid JSON: {e}"))?;
        if !value.is_object() {
            return Err("the root must be a JSON object (a schema such as {\"type\": \"object\"})".into());
        }
        // Without `$schema` we assume draft-07, Confluent Schema Registry's default.
        let declared = value.get("$schema").is_some();
        let meta = if declared {
            jsonschema::meta::validate(&value)
        } else {
            jsonschema::draft7::meta::validate(&value)
        };
        meta.map_err(|e| describe_error(&e))?;
        // Compiling catches what the meta-schema cannot: bad regexes, unresolvable `$ref`s.
        let validator = validator(&value).map_err(|e| describe_error(&e))?;
        let root: Node = serde_json::from_str(raw).map_err(|e| format!("not valid JSON: {e}"))?;
        Ok(JsonSchema { root, validator })
    }

    pub(super) fn canonical(&self) -> String {
        canonical_json(&self.root.to_value())
    }

    /// The field list; fails when the definition nests too deep or expands too far.
    pub(super) fn fields(&self) -> Result<Vec<FieldInfo>, String> {
        fields::fields(&self.root)
    }

    /// The compiled validator (see [`validator`]).
    pub fn validator(&self) -> &jsonschema::Validator {
        &self.validator
    }

    /// The definition as a `serde_json::Value` (object keys sorted, as serde_json keeps them).
    pub fn to_value(&self) -> Value {
        self.root.to_value()
    }
}

fn describe_error(error: &jsonschema::ValidationError<'_>) -> String {
    let mut message = error.to_string();
    if message.len() > 500 {
        let mut cut = 500;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("...");
    }
    let location = error.instance_path().as_str();
    if location.is_empty() {
        message
    } else {
        format!("at {location}: {message}")
    }
}

/// What the tests of every JSON Schema concern share.
#[cfg(test)]
mod testing {
    pub(in crate::catalog::schema::json) use super::super::{
        check_compatibility, CompatibilityMode, SchemaDefinition, SchemaError, SchemaFormat,
    };

    pub(in crate::catalog::schema::json) fn def(raw: &str) -> SchemaDefinition {
        SchemaDefinition::parse(SchemaFormat::JsonSchema, raw).unwrap_or_else(|e| panic!("{e}\n{raw}"))
    }

    pub(in crate::catalog::schema::json) fn invalid(raw: &str) -> String {
        match SchemaDefinition::parse(SchemaFormat::JsonSchema, raw) {
            Err(SchemaError::Invalid { format, message }) => {
                assert_eq!(format, SchemaFormat::JsonSchema);
                message
            }
            Ok(_) => panic!("accepted invalid schema {raw}"),
        }
    }

    pub(in crate::catalog::schema::json) fn backward(old: &str, new: &str) -> Vec<(String, String)> {
        check_compatibility(CompatibilityMode::Backward, &def(new), &[(1, def(old))])
            .into_iter()
            .map(|i| (i.path, i.message))
            .collect()
    }

    pub(in crate::catalog::schema::json) fn forward(old: &str, new: &str) -> Vec<(String, String)> {
        check_compatibility(CompatibilityMode::Forward, &def(new), &[(1, def(old))])
            .into_iter()
            .map(|i| (i.path, i.message))
            .collect()
    }

    pub(in crate::catalog::schema::json) fn object(props: &str, extra: &str) -> String {
        format!(r#"{{"type":"object","properties":{{{props}}}{extra}}}"#)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    /// Registration and live decoding read a schema without `$schema` the
    /// same way: as draft-07 (where `dependencies` is a keyword; draft
    /// 2020-12 would ignore it and accept the record).
    #[test]
    fn one_draft_for_every_reader() {
        let schema = serde_json::json!({"type": "object", "dependencies": {"a": ["b"]}});
        let record = serde_json::json!({"a": 1});
        assert!(!validator(&schema).unwrap().is_valid(&record));
        assert!(JsonSchema::parse(&schema.to_string()).is_ok());
        let declared = serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object", "dependentRequired": {"a": ["b"]}
        });
        assert!(!validator(&declared).unwrap().is_valid(&record));
    }

    #[test]
    fn rejects_invalid_definitions() {
        assert!(invalid("{").contains("not valid JSON"));
        assert!(invalid("42").contains("root must be a JSON object"));
        invalid("true");
        invalid(r#"[{"type":"string"}]"#);
        let message = invalid(r#"{"type": 12}"#);
        assert!(message.contains("/type"), "{message}");
        invalid(r#"{"type": "strng"}"#);
        invalid(r#"{"type":"object","properties":{"a":{"type":"integer","minimum":"zero"}}}"#);
        invalid(r#"{"type":"object","required":"a"}"#);
        // Compilation catches invalid regexes and dangling references.
        invalid(r#"{"type":"string","pattern":"(unclosed"}"#);
        invalid(r##"{"type":"object","properties":{"a":{"$ref":"#/definitions/Missing"}}}"##);
        // Unknown meta-schemas cannot be fetched.
        invalid(r#"{"$schema":"http://example.com/custom-meta","type":"object"}"#);
        // A scalar schema is valid (it just has no fields).
        assert!(def(r#"{"type":"string"}"#).fields().is_empty());
        // Declared drafts are honoured.
        def(
            r##"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","$defs":{"A":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/A"}}}"##,
        );
        def(
            r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"a":{"type":"string"}}}"#,
        );
    }

    #[test]
    fn depth_limit_is_reported_as_invalid() {
        let mut s = r#"{"type":"string"}"#.to_string();
        for _ in 0..40 {
            s = format!(r#"{{"type":"array","items":{s}}}"#);
        }
        def(&s);
        let mut s = r#"{"type":"string"}"#.to_string();
        for _ in 0..70 {
            s = format!(r#"{{"type":"array","items":{s}}}"#);
        }
        let message = invalid(&s);
        assert!(message.contains("deeper than 64"), "{message}");
        invalid(&"[".repeat(100_000));
        invalid(&format!("{}{}", r#"{"a":"#.repeat(10_000), "1"));
    }

    #[test]
    fn exponential_references_are_rejected() {
        let mut defs = vec![r#""D0":{"type":"string"}"#.to_string()];
        for i in 1..40 {
            defs.push(format!(
                r##""D{i}":{{"type":"object","properties":{{"a":{{"$ref":"#/definitions/D{p}"}},"b":{{"$ref":"#/definitions/D{p}"}}}}}}"##,
                p = i - 1
            ));
        }
        let raw = format!(
            r##"{{"type":"object","definitions":{{{}}},"properties":{{"root":{{"$ref":"#/definitions/D39"}}}}}}"##,
            defs.join(",")
        );
        let message = invalid(&raw);
        assert!(message.contains("too large"), "{message}");
    }
}
