//! `$ref` resolution: local references (`#`, `#/definitions/..`, `#/$defs/..`, any JSON
//! pointer, also against the root's `$id`) and [`View`], one schema seen through its `$ref`
//! chain and merged combinators, which the field listing and the compatibility rules read
//! keywords through.

use std::collections::HashSet;

use super::node::Node;
use crate::catalog::schema::MAX_DEPTH;

/// Keywords that never constrain instances; a schema made only of these accepts anything.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$comment",
    "$defs",
    "definitions",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "tags",
    "pii",
    "confluent:tags",
    "format",
];

/// Resolves a local reference (`#`, `#/definitions/X`, `#/$defs/X`, any `#/json/pointer`),
/// also when written against the root's own `$id` (`order.json#/definitions/X`).
pub(super) fn resolve_ref<'a>(root: &'a Node, reference: &str) -> Option<&'a Node> {
    let (base, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    if !base.is_empty() {
        let id = root.get("$id").and_then(Node::as_str)?;
        let id = id.trim_end_matches('#');
        if id != base && !id.ends_with(&format!("/{base}")) {
            return None;
        }
    }
    if pointer.is_empty() {
        return Some(root);
    }
    let mut node = root;
    for segment in pointer.strip_prefix('/')?.split('/') {
        let segment = percent_decode(segment).replace("~1", "/").replace("~0", "~");
        node = match node {
            Node::Object(_) => node.get(&segment)?,
            Node::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// URI fragments may percent-encode pointer characters (`%24defs`).
fn percent_decode(segment: &str) -> String {
    if !segment.contains('%') {
        return segment.to_string();
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Layer<'a> {
    pub(super) node: &'a Node,
    /// Reached only through `$ref`/`allOf`, so its `required` list always applies.
    certain: bool,
}

/// One schema seen through its `$ref` chain and merged combinators: keyword lookups take
/// the first layer that has the keyword (the referencing schema before its target).
#[derive(Debug, Clone)]
pub(super) struct View<'a> {
    pub(super) layers: Vec<Layer<'a>>,
    /// Only layers before this index contribute `anyOf`/`oneOf` branches (branch views
    /// append their base schema's layers after it).
    pub(super) branch_limit: usize,
    /// Addresses of followed `$ref` targets, to stop recursive definitions.
    pub(super) targets: Vec<usize>,
    unresolved: bool,
}

impl<'a> View<'a> {
    pub(super) fn new(root: &'a Node, node: &'a Node, merge: &[&str]) -> Self {
        let mut view = View {
            layers: Vec::new(),
            branch_limit: 0,
            targets: Vec::new(),
            unresolved: false,
        };
        view.add(root, node, true, merge, 0);
        view.branch_limit = view.layers.len();
        view
    }

    fn add(&mut self, root: &'a Node, node: &'a Node, certain: bool, merge: &[&str], depth: usize) {
        if depth > MAX_DEPTH || self.layers.len() >= 4 * MAX_DEPTH {
            return;
        }
        if self.layers.iter().any(|l| std::ptr::eq(l.node, node)) {
            return;
        }
        self.layers.push(Layer { node, certain });
        if let Some(reference) = node.get("$ref").and_then(Node::as_str) {
            match resolve_ref(root, reference) {
                Some(target) => {
                    self.targets.push(target.address());
                    self.add(root, target, certain, merge, depth + 1);
                }
                None => self.unresolved = true,
            }
        }
        for key in merge {
            if let Some(Node::Array(branches)) = node.get(key) {
                let certain = certain && *key == "allOf";
                for branch in branches {
                    self.add(root, branch, certain, merge, depth + 1);
                }
            }
        }
    }

    /// `branch` (with its own `$ref`/`allOf`) refined by this view's other keywords.
    pub(super) fn with_branch(&self, root: &'a Node, branch: &'a Node) -> Self {
        let mut view = View::new(root, branch, &["allOf"]);
        let limit = view.layers.len();
        for layer in &self.layers {
            if !view.layers.iter().any(|l| std::ptr::eq(l.node, layer.node)) {
                view.layers.push(*layer);
            }
        }
        view.branch_limit = limit;
        view.targets.extend(self.targets.iter().copied());
        view.unresolved |= self.unresolved;
        view
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Node> {
        self.layers.iter().find_map(|l| l.node.get(key))
    }

    pub(super) fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Node::as_str)
    }

    pub(super) fn num(&self, key: &str) -> Option<&'a serde_json::Number> {
        match self.get(key) {
            Some(Node::Number(n)) => Some(n),
            _ => None,
        }
    }

    /// `anyOf`/`oneOf` alternatives of this view (not of appended base layers).
    pub(super) fn branches(&self) -> Option<&'a [Node]> {
        self.layers[..self.branch_limit].iter().find_map(|l| {
            match l.node.get("anyOf").or_else(|| l.node.get("oneOf")) {
                Some(Node::Array(branches)) => Some(branches.as_slice()),
                _ => None,
            }
        })
    }

    pub(super) fn accepts_all(&self) -> bool {
        !self.unresolved
            && self.layers.iter().all(|l| match l.node {
                Node::Bool(b) => *b,
                Node::Object(entries) => entries
                    .iter()
                    .all(|(k, _)| k == "$ref" || ANNOTATIONS.contains(&k.as_str())),
                _ => false,
            })
    }

    pub(super) fn rejects_all(&self) -> bool {
        self.layers.iter().any(|l| matches!(l.node, Node::Bool(false)))
    }

    /// Declared types in order (`type`, else the types of `enum`/`const` values);
    /// `None` means unconstrained.
    pub(super) fn declared_types(&self) -> Option<Vec<String>> {
        let mut types: Vec<String> = Vec::new();
        let mut push = |t: &str| {
            if !types.iter().any(|x| x == t) {
                types.push(t.to_string());
            }
        };
        match self.get("type") {
            Some(Node::String(t)) => push(t),
            Some(Node::Array(list)) => list.iter().filter_map(Node::as_str).for_each(&mut push),
            _ => match self.enum_values() {
                Some(values) => values.iter().for_each(|v| push(v.instance_type())),
                None => return None,
            },
        }
        Some(types)
    }

    /// `enum` values, or the single `const` value.
    pub(super) fn enum_values(&self) -> Option<Vec<&'a Node>> {
        if let Some(Node::Array(values)) = self.get("enum") {
            return Some(values.iter().collect());
        }
        self.get("const").map(|v| vec![v])
    }

    /// Properties (first declaration wins) and the names required in every case.
    pub(super) fn members(&self) -> (Vec<(&'a str, &'a Node)>, HashSet<&'a str>) {
        let mut members: Vec<(&'a str, &'a Node)> = Vec::new();
        let mut seen = HashSet::new();
        let mut required = HashSet::new();
        for layer in &self.layers {
            if let Some(Node::Object(props)) = layer.node.get("properties") {
                for (name, schema) in props {
                    if seen.insert(name.as_str()) {
                        members.push((name.as_str(), schema));
                    }
                }
            }
            if layer.certain {
                if let Some(Node::Array(names)) = layer.node.get("required") {
                    required.extend(names.iter().filter_map(Node::as_str));
                }
            }
        }
        (members, required)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn root_references_and_id_relative_references() {
        let d = def(
            r##"{"$ref":"#/definitions/Order","definitions":{"Order":{"type":"object","properties":{
                "id":{"type":"integer"},"sub":{"$ref":"#/definitions/Order"}}}}}"##,
        );
        let fields: Vec<(String, String)> = d.fields().into_iter().map(|f| (f.path, f.type_name)).collect();
        assert_eq!(
            fields,
            vec![("id".into(), "integer".into()), ("sub".into(), "object".into())]
        );
        let d = def(r##"{"$id":"https://example.com/order.json","type":"object",
                "properties":{"a":{"$ref":"order.json#/definitions/A"}},
                "definitions":{"A":{"type":"string"}}}"##);
        assert_eq!(d.fields()[0].type_name, "string");
        // References outside the document cannot be resolved without network access.
        invalid(r#"{"type":"object","properties":{"a":{"$ref":"https://example.com/other.json"}}}"#);
    }

    #[test]
    fn percent_encoded_pointers() {
        assert_eq!(percent_decode("%24defs"), "$defs");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
        let root: Node = serde_json::from_str(r#"{"a/b":{"c~d":[1,2]}}"#).unwrap();
        assert_eq!(resolve_ref(&root, "#/a~1b/c~0d/1"), Some(&Node::Number(2.into())));
        assert_eq!(resolve_ref(&root, "#/missing"), None);
        assert_eq!(resolve_ref(&root, "other.json#/a"), None);
        assert_eq!(resolve_ref(&root, "#"), Some(&root));
        let root: Node = serde_json::from_str(r#"{"$id":"https://x.io/s/order.json","d":{"A":1}}"#).unwrap();
        assert_eq!(resolve_ref(&root, "order.json#/d/A"), Some(&Node::Number(1.into())));
        assert_eq!(
            resolve_ref(&root, "https://x.io/s/order.json#/d/A"),
            Some(&Node::Number(1.into()))
        );
        assert_eq!(resolve_ref(&root, "https://x.io/s/order.json"), Some(&root));
        assert_eq!(resolve_ref(&root, "other.json#/d/A"), None);
    }
}
