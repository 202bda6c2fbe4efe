//! Reader/writer compatibility of two JSON Schemas, following Confluent Schema Registry's
//! JSON Schema rules: keyword by keyword (types, enums, bounds, patterns), object content
//! models (open, closed, partially open), array items and tuples, and `anyOf`/`oneOf`
//! alternatives. Recursive `$ref`s are compared coinductively within a step budget.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::node::Node;
use super::resolve::View;
use super::JsonSchema;
use crate::catalog::schema::issue::{with_abort_notice, Issue, Kind, MAX_STEPS};
use crate::catalog::schema::MAX_DEPTH;

/// Accepts-everything schema used where a keyword is absent (e.g. missing `items`).
static TRUE: Node = Node::Bool(true);

/// Content model of an object schema (Confluent terminology).
#[derive(Debug, Clone, Copy)]
enum Additional<'a> {
    Open,
    Closed,
    Partial(&'a Node),
}

impl<'a> View<'a> {
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
pub(in crate::catalog::schema) fn reader_issues(writer: &JsonSchema, reader: &JsonSchema) -> Vec<Issue> {
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
    use super::super::testing::*;

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
}
