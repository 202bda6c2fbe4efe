//! JSON Schema support: validation (by `jsonschema`), field extraction and reader/writer
//! compatibility following Confluent Schema Registry's JSON Schema rules.
//!
//! Definitions are parsed twice by `serde_json`: into `serde_json::Value` for the
//! `jsonschema` crate, and into [`Node`], which keeps object keys in document order
//! (`serde_json::Map` sorts them unless the `preserve_order` feature happens to be enabled
//! somewhere in the build), so `fields()` can list properties in declaration order.
//!
//! Supported structure: `properties`/`required`, `additionalProperties`,
//! `items` (schema or tuple), `prefixItems`, `allOf` (merged), `anyOf`/`oneOf` (branches)
//! and local `$ref`s (`#`, `#/definitions/..`, `#/$defs/..`, any local JSON pointer).

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::issue::{with_abort_notice, Issue, Kind, MAX_STEPS};
use super::{canonical_json, collect_tags, join_path, FieldInfo, SchemaField, MAX_DEPTH, MAX_NODES};

/// A JSON value with object keys in document order (duplicate keys: last value wins,
/// like `serde_json::Value`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
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
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    fn to_value(&self) -> Value {
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
    fn instance_type(&self) -> &'static str {
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

    fn address(&self) -> usize {
        self as *const Node as usize
    }
}

/// Accepts-everything schema used where a keyword is absent (e.g. missing `items`).
static TRUE: Node = Node::Bool(true);

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

#[derive(Debug, Clone)]
pub(super) struct JsonSchema {
    root: Node,
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
        validator(&value).map_err(|e| describe_error(&e))?;
        let root: Node = serde_json::from_str(raw).map_err(|e| format!("not valid JSON: {e}"))?;
        let schema = JsonSchema { root };
        schema.walk_fields()?;
        Ok(schema)
    }

    pub(super) fn canonical(&self) -> String {
        canonical_json(&self.root.to_value())
    }

    pub(super) fn fields(&self) -> Vec<FieldInfo> {
        // `parse` already ran this walk successfully.
        self.walk_fields().unwrap_or_default()
    }

    fn walk_fields(&self) -> Result<Vec<FieldInfo>, String> {
        let mut walker = FieldWalker {
            root: &self.root,
            out: Vec::new(),
            // `{"$ref": "#"}` re-enters the root, which is already being expanded.
            stack: vec![self.root.address()],
            nodes: 0,
        };
        walker.descend(&self.root, None, "", String::new(), 0)?;
        Ok(walker.out)
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

/// Resolves a local reference (`#`, `#/definitions/X`, `#/$defs/X`, any `#/json/pointer`),
/// also when written against the root's own `$id` (`order.json#/definitions/X`).
fn resolve_ref<'a>(root: &'a Node, reference: &str) -> Option<&'a Node> {
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
struct Layer<'a> {
    node: &'a Node,
    /// Reached only through `$ref`/`allOf`, so its `required` list always applies.
    certain: bool,
}

/// One schema seen through its `$ref` chain and merged combinators: keyword lookups take
/// the first layer that has the keyword (the referencing schema before its target).
#[derive(Debug, Clone)]
struct View<'a> {
    layers: Vec<Layer<'a>>,
    /// Only layers before this index contribute `anyOf`/`oneOf` branches (branch views
    /// append their base schema's layers after it).
    branch_limit: usize,
    /// Addresses of followed `$ref` targets, to stop recursive definitions.
    targets: Vec<usize>,
    unresolved: bool,
}

impl<'a> View<'a> {
    fn new(root: &'a Node, node: &'a Node, merge: &[&str]) -> Self {
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
    fn with_branch(&self, root: &'a Node, branch: &'a Node) -> Self {
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

    fn get(&self, key: &str) -> Option<&'a Node> {
        self.layers.iter().find_map(|l| l.node.get(key))
    }

    fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Node::as_str)
    }

    fn num(&self, key: &str) -> Option<&'a serde_json::Number> {
        match self.get(key) {
            Some(Node::Number(n)) => Some(n),
            _ => None,
        }
    }

    /// `anyOf`/`oneOf` alternatives of this view (not of appended base layers).
    fn branches(&self) -> Option<&'a [Node]> {
        self.layers[..self.branch_limit].iter().find_map(|l| {
            match l.node.get("anyOf").or_else(|| l.node.get("oneOf")) {
                Some(Node::Array(branches)) => Some(branches.as_slice()),
                _ => None,
            }
        })
    }

    fn accepts_all(&self) -> bool {
        !self.unresolved
            && self.layers.iter().all(|l| match l.node {
                Node::Bool(b) => *b,
                Node::Object(entries) => entries
                    .iter()
                    .all(|(k, _)| k == "$ref" || ANNOTATIONS.contains(&k.as_str())),
                _ => false,
            })
    }

    fn rejects_all(&self) -> bool {
        self.layers.iter().any(|l| matches!(l.node, Node::Bool(false)))
    }

    /// Declared types in order (`type`, else the types of `enum`/`const` values);
    /// `None` means unconstrained.
    fn declared_types(&self) -> Option<Vec<String>> {
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
    fn enum_values(&self) -> Option<Vec<&'a Node>> {
        if let Some(Node::Array(values)) = self.get("enum") {
            return Some(values.iter().collect());
        }
        self.get("const").map(|v| vec![v])
    }

    /// Properties (first declaration wins) and the names required in every case.
    fn members(&self) -> (Vec<(&'a str, &'a Node)>, HashSet<&'a str>) {
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

    fn additional(&self, root: &'a Node) -> Additional<'a> {
        let keyword = self
            .get("additionalProperties")
            .or_else(|| self.get("unevaluatedProperties"));
        match keyword {
            None | Some(Node::Bool(true)) => Additional::Open,
            Some(Node::Bool(false)) => Additional::Closed,
            Some(schema) => {
                if View::new(root, schema, &["allOf"]).accepts_all() {
                    Additional::Open
                } else {
                    Additional::Partial(schema)
                }
            }
        }
    }
}

/// Content model of an object schema (Confluent terminology).
#[derive(Debug, Clone, Copy)]
enum Additional<'a> {
    Open,
    Closed,
    Partial(&'a Node),
}

/// Human type of a schema: `string(date-time)`, `array<string>`, `string|integer`; `null`
/// is reported separately as nullability.
fn describe_type(root: &Node, node: &Node, depth: usize) -> (String, bool) {
    if depth > MAX_DEPTH {
        return ("...".into(), false);
    }
    let view = View::new(root, node, &["allOf"]);
    let mut names: Vec<String> = match view.declared_types() {
        Some(types) => types,
        None => match view.branches() {
            Some(branches) => {
                let mut names: Vec<String> = Vec::new();
                let mut nullable = false;
                for branch in branches {
                    let (name, null) = describe_type(root, branch, depth + 1);
                    nullable |= null;
                    // `any` adds nothing next to other alternatives; `null` is nullability.
                    let keep = name != "null" && (name != "any" || branches.len() == 1);
                    if keep && !names.contains(&name) {
                        names.push(name);
                    }
                }
                if nullable {
                    names.push("null".into());
                }
                names
            }
            None if view.get("properties").is_some() => vec!["object".into()],
            None if view.get("items").is_some() => vec!["array".into()],
            None => vec![],
        },
    };
    let nullable = names.iter().any(|n| n == "null");
    names.retain(|n| n != "null");
    if names.is_empty() {
        return (if nullable { "null" } else { "any" }.into(), nullable);
    }
    let rendered: Vec<String> = names
        .into_iter()
        .map(|name| match name.as_str() {
            "string" => match view.str("format") {
                Some(format) => format!("string({format})"),
                None => name,
            },
            "array" => {
                let item = |n: &Node| {
                    let (t, null) = describe_type(root, n, depth + 1);
                    if null && t != "null" {
                        format!("{t}|null")
                    } else {
                        t
                    }
                };
                match view.get("items").or_else(|| view.get("prefixItems")) {
                    Some(Node::Array(tuple)) => {
                        format!("array<{}>", tuple.iter().map(item).collect::<Vec<_>>().join(","))
                    }
                    Some(items) => format!("array<{}>", item(items)),
                    None => "array<any>".into(),
                }
            }
            _ => name,
        })
        .collect();
    (rendered.join("|"), nullable)
}

struct FieldWalker<'a> {
    root: &'a Node,
    out: Vec<FieldInfo>,
    /// `$ref` targets being expanded; recursive definitions are listed once.
    stack: Vec<usize>,
    nodes: usize,
}

impl<'a> FieldWalker<'a> {
    fn descend(
        &mut self,
        node: &'a Node,
        parent: Option<usize>,
        path: &str,
        container: String,
        depth: usize,
    ) -> Result<(), String> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!(
                "schema too large: more than {MAX_NODES} nodes after expanding references"
            ));
        }
        if depth > MAX_DEPTH {
            return Err(format!("schema nested deeper than {MAX_DEPTH} levels"));
        }
        let view = View::new(self.root, node, &["allOf", "anyOf", "oneOf"]);
        if view.targets.iter().any(|t| self.stack.contains(t)) {
            return Ok(());
        }
        let mark = self.stack.len();
        self.stack.extend(view.targets.iter().copied());
        let result = self.children(&view, parent, path, container, depth);
        self.stack.truncate(mark);
        result
    }

    fn children(
        &mut self,
        view: &View<'a>,
        parent: Option<usize>,
        path: &str,
        container: String,
        depth: usize,
    ) -> Result<(), String> {
        let (members, required) = view.members();
        for (name, schema) in members {
            self.nodes += 1;
            let field_path = join_path(path, &container, name);
            let property = View::new(self.root, schema, &["allOf"]);
            let (type_name, nullable) = describe_type(self.root, schema, 0);
            let meta: Vec<(&str, Value)> = ["tags", "confluent:tags", "pii"]
                .into_iter()
                .filter_map(|k| property.get(k).map(|v| (k, v.to_value())))
                .collect();
            self.out.push(FieldInfo {
                field: SchemaField {
                    path: field_path.clone(),
                    type_name,
                    doc: property.str("description").map(str::to_string),
                    nullable,
                    required: required.contains(name),
                    default: property.get("default").map(Node::to_value),
                    tags: collect_tags(|k| meta.iter().find(|(m, _)| *m == k).map(|(_, v)| v)),
                },
                name: name.to_string(),
                parent,
                container: container.clone(),
                aliases: Vec::new(),
            });
            let index = self.out.len() - 1;
            self.descend(schema, Some(index), &field_path, String::new(), depth + 1)?;
        }
        for key in ["items", "prefixItems"] {
            match view.get(key) {
                Some(Node::Array(tuple)) => {
                    for (i, item) in tuple.iter().enumerate() {
                        self.descend(item, parent, path, format!("{container}[{i}]"), depth + 1)?;
                    }
                }
                Some(items) if key == "items" => {
                    self.descend(items, parent, path, format!("{container}[]"), depth + 1)?;
                }
                _ => {}
            }
        }
        if let Some(schema @ Node::Object(_)) = view.get("additionalProperties") {
            self.descend(schema, parent, path, format!("{container}{{}}"), depth + 1)?;
        }
        Ok(())
    }
}

fn child_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn subject(path: &str) -> String {
    if path.is_empty() {
        "the root schema".to_string()
    } else {
        format!("property `{path}`")
    }
}

/// Whether a writer type is among the reader's (`integer` is a subset of `number`).
fn type_accepted(writer: &str, reader: &[String]) -> bool {
    reader
        .iter()
        .any(|r| r == writer || (writer == "integer" && r == "number"))
}

/// Issues preventing `reader` from reading data written with `writer`.
pub(super) fn reader_issues(writer: &JsonSchema, reader: &JsonSchema) -> Vec<Issue> {
    let mut checker = Checker {
        w_root: &writer.root,
        r_root: &reader.root,
        issues: Vec::new(),
        in_progress: HashSet::new(),
        steps: 0,
        aborted: false,
    };
    checker.check(&writer.root, &reader.root, "", 0);
    with_abort_notice(checker.issues, checker.aborted, subject(""))
}

struct Checker<'a> {
    w_root: &'a Node,
    r_root: &'a Node,
    issues: Vec<Issue>,
    /// (writer, reader) schema pairs being compared; re-entry through a recursive `$ref`
    /// is assumed compatible (the pair is being checked further up).
    in_progress: HashSet<(usize, usize)>,
    steps: usize,
    aborted: bool,
}

impl<'a> Checker<'a> {
    fn push(&mut self, path: &str, kind: Kind) {
        self.issues.push(Issue {
            path: path.to_string(),
            subject: subject(path),
            kind,
        });
    }

    fn changed(&mut self, path: &str, what: &'static str, writer: String, reader: String) {
        self.push(path, Kind::Changed { what, writer, reader });
    }

    fn over_budget(&mut self, depth: usize) -> bool {
        self.steps += 1;
        if self.steps > MAX_STEPS || depth > 2 * MAX_DEPTH {
            self.aborted = true;
        }
        self.aborted
    }

    /// Runs `f` and returns its issues instead of recording them.
    fn trial(&mut self, f: impl FnOnce(&mut Self)) -> Vec<Issue> {
        let saved = std::mem::take(&mut self.issues);
        f(self);
        std::mem::replace(&mut self.issues, saved)
    }

    fn check(&mut self, w: &'a Node, r: &'a Node, path: &str, depth: usize) {
        if self.over_budget(depth) {
            return;
        }
        let wv = View::new(self.w_root, w, &["allOf"]);
        let rv = View::new(self.r_root, r, &["allOf"]);
        let key = (
            wv.layers.last().map_or(0, |l| l.node.address()),
            rv.layers.last().map_or(0, |l| l.node.address()),
        );
        if !self.in_progress.insert(key) {
            return;
        }
        self.check_views(&wv, &rv, path, depth);
        self.in_progress.remove(&key);
    }

    fn check_views(&mut self, wv: &View<'a>, rv: &View<'a>, path: &str, depth: usize) {
        if self.over_budget(depth) {
            return;
        }
        if rv.accepts_all() || wv.rejects_all() {
            return;
        }
        if rv.rejects_all() {
            self.changed(path, "schema", "a schema".into(), "false (rejects everything)".into());
            return;
        }
        let (w_branches, r_branches) = (wv.branches(), rv.branches());
        if w_branches.is_none() && r_branches.is_none() {
            self.structural(wv, rv, path, depth);
            return;
        }
        let expand = |view: &View<'a>, root: &'a Node, branches: Option<&'a [Node]>| match branches {
            Some(list) => list.iter().map(|b| view.with_branch(root, b)).collect::<Vec<_>>(),
            None => {
                let mut plain = view.clone();
                plain.branch_limit = 0;
                vec![plain]
            }
        };
        let writers = expand(wv, self.w_root, w_branches);
        let readers = expand(rv, self.r_root, r_branches);
        for writer in &writers {
            let mut closest: Option<Vec<Issue>> = None;
            let mut readable = false;
            for reader in &readers {
                let issues = self.trial(|c| c.check_views(writer, reader, path, depth + 1));
                if issues.is_empty() {
                    readable = true;
                    break;
                }
                if closest.is_none() && same_kind(writer, reader) {
                    closest = Some(issues);
                }
            }
            if readable {
                continue;
            }
            match closest {
                Some(issues) => self.issues.extend(issues),
                None => {
                    let branch = match writer.declared_types() {
                        Some(types) if !types.is_empty() => types.join("|"),
                        _ => "any value".into(),
                    };
                    self.push(path, Kind::BranchUnreadable { branch });
                }
            }
        }
    }

    /// Keyword-by-keyword comparison of two schemas without alternatives.
    fn structural(&mut self, wv: &View<'a>, rv: &View<'a>, path: &str, depth: usize) {
        let writer_types = wv.declared_types();
        let reader_types = rv.declared_types();
        if let Some(reader) = &reader_types {
            match &writer_types {
                None => self.changed(path, "type", "any".into(), reader.join("|")),
                Some(writer) => {
                    let lost = writer.iter().filter(|t| !type_accepted(t, reader)).count();
                    if lost > 0 {
                        self.changed(path, "type", writer.join("|"), reader.join("|"));
                    }
                    if lost == writer.len() && lost > 0 {
                        // Disjoint types: keyword differences would only add noise.
                        return;
                    }
                }
            }
        }
        let may = |t: &str| match &writer_types {
            None => true,
            Some(types) => types.iter().any(|x| x == t || (t == "number" && x == "integer")),
        };

        self.check_enum(wv, rv, path);
        if may("object") {
            self.check_object(wv, rv, path, depth);
        }
        if may("array") {
            self.check_array(wv, rv, path, depth);
            self.upper_bound(wv, rv, "maxItems", path);
            self.lower_bound(wv, rv, "minItems", path);
            if matches!(rv.get("uniqueItems"), Some(Node::Bool(true)))
                && !matches!(wv.get("uniqueItems"), Some(Node::Bool(true)))
            {
                self.changed(path, "uniqueItems", "false".into(), "true".into());
            }
        }
        if may("string") {
            self.upper_bound(wv, rv, "maxLength", path);
            self.lower_bound(wv, rv, "minLength", path);
            if let Some(pattern) = rv.str("pattern") {
                let writer = wv.str("pattern");
                if writer != Some(pattern) {
                    let writer = writer.map_or("none".to_string(), |p| format!("`{p}`"));
                    self.changed(path, "pattern", writer, format!("`{pattern}`"));
                }
            }
        }
        if may("number") {
            self.upper_bound(wv, rv, "maximum", path);
            self.upper_bound(wv, rv, "exclusiveMaximum", path);
            self.lower_bound(wv, rv, "minimum", path);
            self.lower_bound(wv, rv, "exclusiveMinimum", path);
            if let Some(r) = rv.num("multipleOf") {
                let ok = wv.num("multipleOf").is_some_and(|w| match (w.as_f64(), r.as_f64()) {
                    (Some(w), Some(r)) if r != 0.0 => {
                        let q = w / r;
                        (q - q.round()).abs() < 1e-9
                    }
                    _ => false,
                });
                if !ok {
                    let writer = wv.num("multipleOf").map_or("none".to_string(), |n| n.to_string());
                    self.changed(path, "multipleOf", writer, r.to_string());
                }
            }
        }
    }

    fn check_enum(&mut self, wv: &View<'a>, rv: &View<'a>, path: &str) {
        let Some(reader) = rv.enum_values() else {
            return;
        };
        match wv.enum_values() {
            None => self.push(path, Kind::EnumAdded),
            Some(writer) => {
                let reader: Vec<Value> = reader.iter().map(|v| v.to_value()).collect();
                let missing: Vec<String> = writer
                    .iter()
                    .map(|v| v.to_value())
                    .filter(|v| !reader.contains(v))
                    .map(|v| v.to_string())
                    .collect();
                if !missing.is_empty() {
                    self.push(
                        path,
                        Kind::EnumValuesMissing {
                            noun: "values",
                            values: missing,
                        },
                    );
                }
            }
        }
    }

    /// Reader bound lower than the writer's (or newly added) rejects some writer data.
    fn upper_bound(&mut self, wv: &View<'a>, rv: &View<'a>, keyword: &'static str, path: &str) {
        let Some(r) = rv.num(keyword) else { return };
        let w = wv.num(keyword);
        let ok = matches!((w.and_then(|n| n.as_f64()), r.as_f64()), (Some(w), Some(r)) if r >= w);
        if !ok {
            self.changed(path, keyword, w.map_or("none".into(), |n| n.to_string()), r.to_string());
        }
    }

    fn lower_bound(&mut self, wv: &View<'a>, rv: &View<'a>, keyword: &'static str, path: &str) {
        let Some(r) = rv.num(keyword) else { return };
        let w = wv.num(keyword);
        let ok = matches!((w.and_then(|n| n.as_f64()), r.as_f64()), (Some(w), Some(r)) if r <= w);
        if !ok {
            self.changed(path, keyword, w.map_or("none".into(), |n| n.to_string()), r.to_string());
        }
    }

    fn check_object(&mut self, wv: &View<'a>, rv: &View<'a>, path: &str, depth: usize) {
        let (w_members, w_required) = wv.members();
        let (r_members, r_required) = rv.members();
        let w_add = wv.additional(self.w_root);
        let r_add = rv.additional(self.r_root);
        let w_index: HashMap<&str, &'a Node> = w_members.iter().copied().collect();
        let r_index: HashMap<&str, &'a Node> = r_members.iter().copied().collect();
        let find = |index: &HashMap<&str, &'a Node>, name: &str| index.get(name).copied();

        for (name, r_schema) in &r_members {
            let child = child_path(path, name);
            let required = r_required.contains(name) && !w_required.contains(name);
            match find(&w_index, name) {
                Some(w_schema) => {
                    self.check(w_schema, r_schema, &child, depth + 1);
                    if required {
                        self.push(
                            &child,
                            Kind::RequiredMissing {
                                declared_by_writer: true,
                            },
                        );
                    }
                }
                None if required => self.push(
                    &child,
                    Kind::RequiredMissing {
                        declared_by_writer: false,
                    },
                ),
                None => match w_add {
                    Additional::Closed => {}
                    Additional::Open => {
                        if !View::new(self.r_root, r_schema, &["allOf"]).accepts_all() {
                            self.push(&child, Kind::PropertyInOpenModel);
                        }
                    }
                    Additional::Partial(w_schema) => {
                        let issues = self.trial(|c| c.check(w_schema, r_schema, &child, depth + 1));
                        if !issues.is_empty() {
                            self.push(&child, Kind::PropertyInPartiallyOpenModel);
                        }
                    }
                },
            }
        }
        // Required names without a reader property declaration.
        let mut undeclared: Vec<&&str> = r_required
            .iter()
            .filter(|n| find(&r_index, n).is_none() && !w_required.contains(*n))
            .collect();
        undeclared.sort();
        for name in undeclared {
            let declared_by_writer = find(&w_index, name).is_some();
            self.push(&child_path(path, name), Kind::RequiredMissing { declared_by_writer });
        }
        for (name, w_schema) in &w_members {
            if find(&r_index, name).is_some() {
                continue;
            }
            let child = child_path(path, name);
            match r_add {
                Additional::Open => {}
                Additional::Closed => self.push(&child, Kind::PropertyNotInClosedModel),
                Additional::Partial(r_schema) => {
                    let issues = self.trial(|c| c.check(w_schema, r_schema, &child, depth + 1));
                    if !issues.is_empty() {
                        self.push(&child, Kind::PropertyNotInPartiallyOpenModel);
                    }
                }
            }
        }
        match (w_add, r_add) {
            (Additional::Closed, _) | (_, Additional::Open) => {}
            (Additional::Open, Additional::Closed) => {
                self.changed(path, "additionalProperties", "allowed".into(), "false".into())
            }
            (Additional::Partial(_), Additional::Closed) => {
                self.changed(path, "additionalProperties", "a schema".into(), "false".into())
            }
            (Additional::Open, Additional::Partial(r_schema)) => {
                self.check(&TRUE, r_schema, &format!("{path}{{}}"), depth + 1)
            }
            (Additional::Partial(w_schema), Additional::Partial(r_schema)) => {
                self.check(w_schema, r_schema, &format!("{path}{{}}"), depth + 1)
            }
        }
        self.upper_bound(wv, rv, "maxProperties", path);
        self.lower_bound(wv, rv, "minProperties", path);
    }

    fn check_array(&mut self, wv: &View<'a>, rv: &View<'a>, path: &str, depth: usize) {
        let items_path = format!("{path}[]");
        match (wv.get("items"), rv.get("items")) {
            (_, None) => {}
            (None, Some(Node::Array(tuple))) => {
                for (i, r) in tuple.iter().enumerate() {
                    self.check(&TRUE, r, &format!("{path}[{i}]"), depth + 1);
                }
            }
            (None, Some(r)) => self.check(&TRUE, r, &items_path, depth + 1),
            (Some(Node::Array(wt)), Some(Node::Array(rt))) => {
                for (i, (w, r)) in wt.iter().zip(rt.iter()).enumerate() {
                    self.check(w, r, &format!("{path}[{i}]"), depth + 1);
                }
            }
            (Some(Node::Array(wt)), Some(r)) => {
                for (i, w) in wt.iter().enumerate() {
                    self.check(w, r, &format!("{path}[{i}]"), depth + 1);
                }
            }
            (Some(w), Some(Node::Array(rt))) => {
                for (i, r) in rt.iter().enumerate() {
                    self.check(w, r, &format!("{path}[{i}]"), depth + 1);
                }
            }
            (Some(w), Some(r)) => self.check(w, r, &items_path, depth + 1),
        }
        if let Some(Node::Array(rt)) = rv.get("prefixItems") {
            let wt: &[Node] = match wv.get("prefixItems") {
                Some(Node::Array(wt)) => wt,
                _ => &[],
            };
            for (i, r) in rt.iter().enumerate() {
                let w = wt.get(i).or_else(|| wv.get("items")).unwrap_or(&TRUE);
                self.check(w, r, &format!("{path}[{i}]"), depth + 1);
            }
        }
    }
}

/// Whether two alternatives describe the same kind of value, so that the reader's issues
/// with it are worth reporting (instead of "no longer accepts").
fn same_kind(writer: &View<'_>, reader: &View<'_>) -> bool {
    match (writer.declared_types(), reader.declared_types()) {
        (Some(w), Some(r)) => w.iter().any(|t| type_accepted(t, &r)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{check_compatibility, CompatibilityMode, SchemaDefinition, SchemaError, SchemaFormat};
    use super::*;
    use serde_json::json;

    fn def(raw: &str) -> SchemaDefinition {
        SchemaDefinition::parse(SchemaFormat::JsonSchema, raw).unwrap_or_else(|e| panic!("{e}\n{raw}"))
    }

    fn invalid(raw: &str) -> String {
        match SchemaDefinition::parse(SchemaFormat::JsonSchema, raw) {
            Err(SchemaError::Invalid { format, message }) => {
                assert_eq!(format, SchemaFormat::JsonSchema);
                message
            }
            Ok(_) => panic!("accepted invalid schema {raw}"),
        }
    }

    fn backward(old: &str, new: &str) -> Vec<(String, String)> {
        check_compatibility(CompatibilityMode::Backward, &def(new), &[(1, def(old))])
            .into_iter()
            .map(|i| (i.path, i.message))
            .collect()
    }

    fn forward(old: &str, new: &str) -> Vec<(String, String)> {
        check_compatibility(CompatibilityMode::Forward, &def(new), &[(1, def(old))])
            .into_iter()
            .map(|i| (i.path, i.message))
            .collect()
    }

    fn object(props: &str, extra: &str) -> String {
        format!(r#"{{"type":"object","properties":{{{props}}}{extra}}}"#)
    }

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

    #[test]
    fn extracts_fields() {
        let raw = r##"{
          "$schema": "http://json-schema.org/draft-07/schema#",
          "type": "object",
          "definitions": {
            "Address": {"type": "object", "properties": {
              "city": {"type": "string", "description": "City name", "tags": ["pii", "location"]},
              "zip": {"type": "string", "pattern": "^[0-9]{5}$"}
            }, "required": ["city"]}
          },
          "properties": {
            "id": {"type": "integer", "description": "Order id"},
            "email": {"type": ["string", "null"], "format": "email", "pii": true},
            "createdAt": {"type": "string", "format": "date-time", "default": "1970-01-01T00:00:00Z"},
            "status": {"enum": ["NEW", "PAID"], "default": "NEW"},
            "customer": {"type": "object", "properties": {
              "name": {"type": "string"},
              "address": {"$ref": "#/definitions/Address", "description": "Home address"}
            }, "required": ["name"]},
            "lines": {"type": "array", "items": {"type": "object", "properties": {
              "sku": {"type": "string"},
              "qty": {"type": "integer", "default": 1}
            }, "required": ["sku"]}},
            "notes": {"type": "array", "items": {"type": "string"}},
            "amount": {"type": ["number", "integer"]},
            "code": {"type": ["string", "integer"]},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"x": {"type": "boolean"}}}]},
            "attrs": {"type": "object", "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}},
            "anything": {}
          },
          "required": ["id", "lines"]
        }"##;
        let def = def(raw);
        let fields = def.fields();
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "id",
                "email",
                "createdAt",
                "status",
                "customer",
                "customer.name",
                "customer.address",
                "customer.address.city",
                "customer.address.zip",
                "lines",
                "lines[].sku",
                "lines[].qty",
                "notes",
                "amount",
                "code",
                "maybe",
                "maybe.x",
                "attrs",
                "attrs{}.v",
                "anything",
            ]
        );
        let get = |p: &str| fields.iter().find(|f| f.path == p).unwrap().clone();
        assert_eq!(
            get("id"),
            SchemaField {
                path: "id".into(),
                type_name: "integer".into(),
                doc: Some("Order id".into()),
                nullable: false,
                required: true,
                default: None,
                tags: vec![],
            }
        );
        let email = get("email");
        assert_eq!(email.type_name, "string(email)");
        assert!(email.nullable);
        assert!(!email.required);
        assert_eq!(email.tags, vec!["PII"]);
        assert_eq!(get("createdAt").type_name, "string(date-time)");
        assert_eq!(get("createdAt").default, Some(json!("1970-01-01T00:00:00Z")));
        assert_eq!(get("status").type_name, "string");
        assert_eq!(get("status").default, Some(json!("NEW")));
        assert_eq!(get("customer").type_name, "object");
        assert!(get("customer.name").required);
        let address = get("customer.address");
        assert_eq!(address.type_name, "object");
        assert_eq!(address.doc.as_deref(), Some("Home address"));
        assert!(!address.required);
        let city = get("customer.address.city");
        assert!(city.required);
        assert_eq!(city.doc.as_deref(), Some("City name"));
        assert_eq!(city.tags, vec!["PII", "LOCATION"]);
        assert!(!get("customer.address.zip").required);
        assert_eq!(get("lines").type_name, "array<object>");
        assert!(get("lines").required);
        assert!(get("lines[].sku").required);
        assert_eq!(get("lines[].qty").default, Some(json!(1)));
        assert_eq!(get("notes").type_name, "array<string>");
        assert_eq!(get("amount").type_name, "number|integer");
        assert_eq!(get("code").type_name, "string|integer");
        assert_eq!(get("maybe").type_name, "object");
        assert!(get("maybe").nullable);
        assert_eq!(get("anything").type_name, "any");
    }

    #[test]
    fn recursive_references_are_listed_once() {
        let raw = r##"{"type":"object","definitions":{"Node":{"type":"object","properties":{
            "value":{"type":"integer"},
            "children":{"type":"array","items":{"$ref":"#/definitions/Node"}}}}},
            "properties":{"tree":{"$ref":"#/definitions/Node"},"self":{"$ref":"#"}}}"##;
        let d = def(raw);
        let paths: Vec<String> = d.fields().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, vec!["tree", "tree.value", "tree.children", "self"]);
        assert!(backward(raw, raw).is_empty());
        let evolved = raw.replace(r#""value":{"type":"integer"}"#, r#""value":{"type":"number"}"#);
        assert!(backward(raw, &evolved).is_empty());
        let paths: Vec<String> = forward(raw, &evolved).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, vec!["tree.value"]);
    }

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
    fn open_and_closed_content_models() {
        let closed = ",\"additionalProperties\":false";
        let a = r#""a":{"type":"string"}"#;
        let ab = r#""a":{"type":"string"},"b":{"type":"integer"}"#;
        assert_eq!(
            backward(&object(a, ""), &object(ab, "")),
            vec![(
                "b".into(),
                "property `b` added to an open content model: new readers cannot read old records".into()
            )]
        );
        assert!(backward(&object(a, closed), &object(ab, closed)).is_empty());
        assert_eq!(
            backward(
                &object(a, closed),
                &object(ab, &format!("{closed},\"required\":[\"b\"]"))
            ),
            vec![(
                "b".into(),
                "required property `b` added: new readers cannot read old records".into()
            )]
        );
        assert_eq!(
            backward(&object(ab, ""), &object(a, closed)),
            vec![
                (
                    "b".into(),
                    "property `b` removed from a closed content model: new readers cannot read old records".into()
                ),
                (
                    "".into(),
                    "additionalProperties of the root schema changed from allowed to false: new readers cannot read old records".into()
                ),
            ]
        );
        assert!(backward(&object(ab, ""), &object(a, "")).is_empty());
        assert_eq!(
            forward(&object(ab, ""), &object(a, "")),
            vec![(
                "b".into(),
                "property `b` removed from an open content model: old readers cannot read new records".into()
            )]
        );
        // Closing an open model is a narrowing even without property changes.
        assert_eq!(backward(&object(a, ""), &object(a, closed)).len(), 1);
        assert!(forward(&object(a, ""), &object(a, closed)).is_empty());
    }

    #[test]
    fn partially_open_content_models() {
        let strings = ",\"additionalProperties\":{\"type\":\"string\"}";
        let a = r#""a":{"type":"integer"}"#;
        // New property matching the writer's additionalProperties schema is fine.
        assert!(backward(
            &object(a, strings),
            &object(&format!(r#"{a},"b":{{"type":"string"}}"#), strings)
        )
        .is_empty());
        let issues = backward(
            &object(a, strings),
            &object(&format!(r#"{a},"b":{{"type":"integer"}}"#), strings),
        );
        assert_eq!(issues.len(), 1);
        assert!(
            issues[0]
                .1
                .contains("property `b` added to a partially open content model"),
            "{issues:?}"
        );
        // Removing a property whose values the reader's additionalProperties rejects.
        let issues = backward(
            &object(&format!(r#"{a},"b":{{"type":"integer"}}"#), strings),
            &object(a, strings),
        );
        assert_eq!(issues.len(), 1);
        assert!(
            issues[0]
                .1
                .contains("property `b` removed from a partially open content model"),
            "{issues:?}"
        );
        // Narrowing additionalProperties itself.
        let issues = backward(&object(a, ""), &object(a, strings));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].0, "{}");
        let issues = backward(
            &object(a, ",\"additionalProperties\":{\"type\":\"number\"}"),
            &object(a, ",\"additionalProperties\":{\"type\":\"integer\"}"),
        );
        assert_eq!(issues[0].0, "{}");
    }

    #[test]
    fn required_changes() {
        let ab = r#""a":{"type":"string"},"b":{"type":"string"}"#;
        let issues = backward(&object(ab, ""), &object(ab, r#","required":["b"]"#));
        assert_eq!(
            issues,
            vec![(
                "b".into(),
                "property `b` became required: new readers cannot read old records".into()
            )]
        );
        assert_eq!(
            forward(&object(ab, r#","required":["b"]"#), &object(ab, "")),
            vec![(
                "b".into(),
                "property `b` is no longer required: old readers cannot read new records".into()
            )]
        );
        assert!(backward(&object(ab, r#","required":["b"]"#), &object(ab, "")).is_empty());
        // Required without a property declaration still counts.
        let issues = backward(&object(ab, ""), &object(ab, r#","required":["c"]"#));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].0, "c");
    }

    #[test]
    fn types_and_widening() {
        let t = |ty: &str| object(&format!(r#""n":{{"type":{ty}}}"#), "");
        assert!(backward(&t(r#""integer""#), &t(r#""number""#)).is_empty());
        assert_eq!(
            backward(&t(r#""number""#), &t(r#""integer""#)),
            vec![(
                "n".into(),
                "type of property `n` changed from number to integer: new readers cannot read old records".into()
            )]
        );
        assert!(backward(&t(r#""string""#), &t(r#"["string","null"]"#)).is_empty());
        assert_eq!(backward(&t(r#"["string","null"]"#), &t(r#""string""#)).len(), 1);
        assert!(backward(&t(r#"["string","integer"]"#), &t(r#"["integer","string","boolean"]"#)).is_empty());
        // Constraining a previously unconstrained schema is a narrowing.
        let any = object(r#""n":{}"#, "");
        assert_eq!(backward(&any, &t(r#""string""#)).len(), 1);
        assert!(backward(&t(r#""string""#), &any).is_empty());
        // Nested objects report the nested path.
        let nested = |ty: &str| {
            object(
                &format!(r#""c":{{"type":"object","properties":{{"d":{{"type":"{ty}"}}}}}}"#),
                "",
            )
        };
        assert_eq!(backward(&nested("integer"), &nested("string"))[0].0, "c.d");
        // Array items recurse.
        let items = |ty: &str| object(&format!(r#""l":{{"type":"array","items":{{"type":"{ty}"}}}}"#), "");
        assert!(backward(&items("integer"), &items("number")).is_empty());
        assert_eq!(backward(&items("number"), &items("integer"))[0].0, "l[]");
        let obj_items = |extra: &str| {
            object(
                &format!(
                    r#""l":{{"type":"array","items":{{"type":"object","properties":{{"s":{{"type":"string"}}}}{extra}}}}}"#
                ),
                "",
            )
        };
        let issues = backward(&obj_items(""), &obj_items(r#","required":["s"]"#));
        assert_eq!(issues[0].0, "l[].s");
    }

    #[test]
    fn enums_and_constraints() {
        let p = |schema: &str| object(&format!(r#""p":{schema}"#), "");
        assert!(backward(&p(r#"{"enum":["A","B"]}"#), &p(r#"{"enum":["A","B","C"]}"#)).is_empty());
        assert_eq!(
            backward(&p(r#"{"enum":["A","B","C"]}"#), &p(r#"{"enum":["A","B"]}"#)),
            vec![(
                "p".into(),
                r#"enum values ["C"] removed from property `p`: new readers cannot read old records"#.into()
            )]
        );
        assert_eq!(
            forward(&p(r#"{"enum":["A","B"]}"#), &p(r#"{"enum":["A","B","C"]}"#)),
            vec![(
                "p".into(),
                r#"enum values ["C"] added to property `p`: old readers cannot read new records"#.into()
            )]
        );
        assert!(backward(&p(r#"{"type":"string","enum":["A"]}"#), &p(r#"{"type":"string"}"#)).is_empty());
        assert_eq!(
            backward(&p(r#"{"type":"string"}"#), &p(r#"{"type":"string","enum":["A"]}"#))[0].1,
            "enum constraint added to property `p`: new readers cannot read old records"
        );
        assert!(backward(&p(r#"{"const":"A"}"#), &p(r#"{"enum":["A","B"]}"#)).is_empty());

        let s = |c: &str| p(&format!(r#"{{"type":"string"{c}}}"#));
        assert!(backward(&s(r#","maxLength":5"#), &s(r#","maxLength":10"#)).is_empty());
        assert_eq!(
            backward(&s(r#","maxLength":10"#), &s(r#","maxLength":5"#))[0].1,
            "maxLength of property `p` changed from 10 to 5: new readers cannot read old records"
        );
        assert_eq!(backward(&s(""), &s(r#","maxLength":5"#)).len(), 1);
        assert!(backward(&s(r#","minLength":2"#), &s(r#","minLength":1"#)).is_empty());
        assert_eq!(backward(&s(r#","minLength":1"#), &s(r#","minLength":2"#)).len(), 1);
        assert_eq!(backward(&s(""), &s(r#","pattern":"^a""#)).len(), 1);
        assert!(backward(&s(r#","pattern":"^a""#), &s(r#","pattern":"^a""#)).is_empty());
        assert_eq!(
            backward(&s(r#","pattern":"^a""#), &s(r#","pattern":"^b""#))[0].1,
            "pattern of property `p` changed from `^a` to `^b`: new readers cannot read old records"
        );
        assert!(backward(&s(r#","pattern":"^a""#), &s("")).is_empty());

        let n = |c: &str| p(&format!(r#"{{"type":"number"{c}}}"#));
        assert!(backward(&n(r#","maximum":5"#), &n(r#","maximum":10"#)).is_empty());
        assert_eq!(backward(&n(r#","maximum":10"#), &n(r#","maximum":5"#)).len(), 1);
        assert!(backward(&n(r#","minimum":5"#), &n(r#","minimum":0"#)).is_empty());
        assert_eq!(backward(&n(r#","minimum":0"#), &n(r#","minimum":5"#)).len(), 1);
        assert!(backward(&n(r#","multipleOf":4"#), &n(r#","multipleOf":2"#)).is_empty());
        assert_eq!(backward(&n(r#","multipleOf":2"#), &n(r#","multipleOf":4"#)).len(), 1);
        // Number constraints do not apply to string-only writers.
        assert!(backward(&s(""), &p(r#"{"type":["string","number"],"maximum":3}"#)).is_empty());

        let a = |c: &str| p(&format!(r#"{{"type":"array"{c}}}"#));
        assert_eq!(backward(&a(""), &a(r#","maxItems":3"#)).len(), 1);
        assert_eq!(backward(&a(""), &a(r#","uniqueItems":true"#)).len(), 1);
        assert!(backward(&a(r#","uniqueItems":true"#), &a("")).is_empty());
    }

    #[test]
    fn alternatives() {
        let p = |schema: &str| object(&format!(r#""p":{schema}"#), "");
        let nullable_obj = |props: &str| {
            p(&format!(
                r#"{{"anyOf":[{{"type":"null"}},{{"type":"object","properties":{{{props}}},"additionalProperties":false}}]}}"#
            ))
        };
        let a = r#""a":{"type":"string"}"#;
        let ab = r#""a":{"type":"string"},"b":{"type":"string"}"#;
        assert!(backward(&nullable_obj(a), &nullable_obj(ab)).is_empty());
        let issues = backward(&nullable_obj(ab), &nullable_obj(a));
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].0, "p.b");
        // Dropping the null alternative.
        let issues = backward(
            &nullable_obj(a),
            &p(r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#),
        );
        assert_eq!(
            issues,
            vec![(
                "p".into(),
                "property `p` is no longer nullable: new readers cannot read old records".into()
            )]
        );
        // Adding an alternative is backward compatible, removing one is not.
        let one = p(r#"{"oneOf":[{"type":"string"}]}"#);
        let two = p(r#"{"oneOf":[{"type":"string"},{"type":"integer"}]}"#);
        assert!(backward(&one, &two).is_empty());
        assert_eq!(
            backward(&two, &one),
            vec![(
                "p".into(),
                "property `p` no longer accepts integer: new readers cannot read old records".into()
            )]
        );
        assert!(backward(&p(r#"{"type":"string"}"#), &two).is_empty());
        // allOf is merged.
        let all = p(r#"{"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"required":["a"]}]}"#);
        let plain = p(r#"{"type":"object","properties":{"a":{"type":"string"}}}"#);
        assert!(backward(&all, &plain).is_empty());
        assert_eq!(backward(&plain, &all)[0].0, "p.a");
    }

    #[test]
    fn references_are_followed_in_checks() {
        let v = |city: &str| {
            format!(
                r##"{{"type":"object","$defs":{{"Address":{{"type":"object","properties":{{"city":{{"type":"{city}"}}}}}}}},
                   "properties":{{"home":{{"$ref":"#/$defs/Address"}},"work":{{"$ref":"#/$defs/Address"}}}}}}"##
            )
        };
        let paths: Vec<String> = backward(&v("string"), &v("integer"))
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(paths, vec!["home.city", "work.city"]);
        assert!(backward(&v("integer"), &v("number")).is_empty());
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
