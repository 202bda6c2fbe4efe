//! Field lists: the properties of a JSON Schema flattened into [`FieldInfo`]s (paths as in
//! the `schema` module docs), with a human type name for each, following `$ref`s (a
//! recursive definition is listed once) within the node and depth limits.

use serde_json::Value;

use super::node::Node;
use super::resolve::View;
use crate::catalog::schema::{collect_tags, join_path, FieldInfo, SchemaField, MAX_DEPTH, MAX_NODES};

/// Lists the fields of the schema `root`, depth-first in declaration order; fails when the
/// expansion is nested too deep or grows too large.
pub(super) fn fields(root: &Node) -> Result<Vec<FieldInfo>, String> {
    let mut walker = FieldWalker {
        root,
        out: Vec::new(),
        // `{"$ref": "#"}` re-enters the root, which is already being expanded.
        stack: vec![root.address()],
        nodes: 0,
    };
    walker.descend(root, None, "", String::new(), 0)?;
    Ok(walker.out)
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::catalog::schema::SchemaField;
    use serde_json::json;

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
}
