//! [`Node`]: a parsed JSON value that keeps object keys in document order, so that field
//! lists and inferred schemas follow the order properties were written in.
//!
//! `serde_json::Map` sorts keys. Its `preserve_order` feature is not the way out: it would
//! switch every map of the build to an `IndexMap` (decoded records, stored JSON: slower to
//! parse, larger, in another order) to save one parse of each definition.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A JSON value with object keys in document order (duplicate keys: last value wins,
/// like `serde_json::Value`).
#[derive(Debug, Clone, PartialEq)]
pub(in crate::catalog::schema) enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Node::Null, Node::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        let mut positions: HashMap<String, usize> = HashMap::new();
        while let Some((key, value)) = map.next_entry::<String, Node>()? {
            match positions.get(&key) {
                Some(&i) => entries[i].1 = value,
                None => {
                    positions.insert(key.clone(), entries.len());
                    entries.push((key, value));
                }
            }
        }
        // With serde_json's `arbitrary_precision` feature (which any crate in the build may
        // enable), numbers arrive as this single-entry map.
        if let [(key, Node::String(text))] = entries.as_slice() {
            if key == "$serde_json::private::Number" {
                if let Ok(number) = serde_json::from_str::<serde_json::Number>(text) {
                    return Ok(Node::Number(number));
                }
            }
        }
        Ok(Node::Object(entries))
    }
}

impl Node {
    pub(super) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.clone()),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
        }
    }

    /// The JSON Schema type of this value as an instance.
    pub(super) fn instance_type(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "boolean",
            Node::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Node::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
            Node::Number(_) => "number",
            Node::String(_) => "string",
            Node::Array(_) => "array",
            Node::Object(_) => "object",
        }
    }

    pub(super) fn address(&self) -> usize {
        self as *const Node as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_keeps_key_order_and_round_trips() {
        let raw = r#"{"z":1,"a":[true,null,1.5,"s"],"m":{"y":-2,"b":{}},"z":3}"#;
        let node: Node = serde_json::from_str(raw).unwrap();
        match &node {
            Node::Object(entries) => {
                let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
                assert_eq!(keys, vec!["z", "a", "m"]);
            }
            other => panic!("{other:?}"),
        }
        let value: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(node.to_value(), value);
    }
}
