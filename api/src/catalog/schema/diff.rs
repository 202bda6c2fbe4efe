//! Field-level diff between two versions, matched by path, with Avro alias-based rename
//! detection.

use std::collections::{HashMap, HashSet};

use super::{join_path, ChangeKind, FieldChange, FieldInfo, SchemaDefinition, SchemaField};

/// Structural diff between two versions, by field path (Avro aliases: a field renamed with an
/// alias to the old name is reported as Changed "renamed from `old`", not removed+added).
///
/// Added and changed fields come first, in the order of `to`; removed fields follow in the
/// order of `from`. Children of a renamed field are matched under the old parent path and
/// only reported if they changed themselves.
pub fn diff(from: &SchemaDefinition, to: &SchemaDefinition) -> Vec<FieldChange> {
    let before = from.field_infos();
    let after = to.field_infos();
    let before_index: HashMap<&str, usize> = before
        .iter()
        .enumerate()
        .map(|(i, f)| (f.field.path.as_str(), i))
        .collect();
    let after_paths: HashSet<&str> = after.iter().map(|f| f.field.path.as_str()).collect();

    // For every field of `to`, the index of its counterpart in `from`. Parents precede their
    // children in the listing, so a renamed parent is resolved before its children.
    let mut counterpart: Vec<Option<usize>> = Vec::with_capacity(after.len());
    for field in after {
        let base = match field.parent {
            None => Some(String::new()),
            Some(p) => counterpart
                .get(p)
                .copied()
                .flatten()
                .and_then(|i| before.get(i))
                .map(|b| b.field.path.clone()),
        };
        let found = base.and_then(|base| find_counterpart(field, &base, &before_index, &after_paths));
        counterpart.push(found);
    }

    let mut matched = HashSet::new();
    let mut changes = Vec::new();
    for (field, old) in after.iter().zip(&counterpart) {
        match old.and_then(|i| before.get(i).map(|b| (i, b))) {
            Some((i, old)) => {
                matched.insert(i);
                let mut details = field_details(&old.field, &field.field);
                if old.name != field.name {
                    details.insert(0, format!("renamed from `{}`", old.field.path));
                }
                if !details.is_empty() {
                    changes.push(FieldChange {
                        path: field.field.path.clone(),
                        kind: ChangeKind::Changed,
                        before: Some(old.field.clone()),
                        after: Some(field.field.clone()),
                        details,
                    });
                }
            }
            None => changes.push(FieldChange {
                path: field.field.path.clone(),
                kind: ChangeKind::Added,
                before: None,
                after: Some(field.field.clone()),
                details: Vec::new(),
            }),
        }
    }
    for (i, old) in before.iter().enumerate() {
        if !matched.contains(&i) {
            changes.push(FieldChange {
                path: old.field.path.clone(),
                kind: ChangeKind::Removed,
                before: Some(old.field.clone()),
                after: None,
                details: Vec::new(),
            });
        }
    }
    changes
}

/// The field's own name under the (old) parent path first, then its aliases, as long as the
/// aliased path is not still used in the new version (then it is not a rename).
fn find_counterpart(
    field: &FieldInfo,
    base: &str,
    before_index: &HashMap<&str, usize>,
    after_paths: &HashSet<&str>,
) -> Option<usize> {
    let own = join_path(base, &field.container, &field.name);
    if let Some(&i) = before_index.get(own.as_str()) {
        return Some(i);
    }
    field.aliases.iter().find_map(|alias| {
        let old = join_path(base, &field.container, alias);
        if after_paths.contains(old.as_str()) {
            return None;
        }
        before_index.get(old.as_str()).copied()
    })
}

fn field_details(before: &SchemaField, after: &SchemaField) -> Vec<String> {
    let mut details = Vec::new();
    if before.type_name != after.type_name {
        details.push(format!("type {} -> {}", before.type_name, after.type_name));
    }
    if before.nullable != after.nullable {
        details.push(format!("nullable {} -> {}", before.nullable, after.nullable));
    }
    if before.required != after.required {
        details.push(format!("required {} -> {}", before.required, after.required));
    }
    if before.default != after.default {
        let show = |d: &Option<serde_json::Value>| d.as_ref().map_or("none".to_string(), |v| v.to_string());
        details.push(format!("default {} -> {}", show(&before.default), show(&after.default)));
    }
    if before.doc != after.doc {
        details.push("doc changed".to_string());
    }
    let sorted = |tags: &[String]| {
        let mut tags = tags.to_vec();
        tags.sort();
        tags
    };
    if sorted(&before.tags) != sorted(&after.tags) {
        details.push(format!(
            "tags [{}] -> [{}]",
            before.tags.join(", "),
            after.tags.join(", ")
        ));
    }
    details
}

#[cfg(test)]
mod tests {
    use super::super::SchemaFormat;
    use super::*;

    fn avro(fields: &str) -> SchemaDefinition {
        let raw = format!(r#"{{"type":"record","name":"Order","fields":[{fields}]}}"#);
        SchemaDefinition::parse(SchemaFormat::Avro, &raw).unwrap()
    }

    fn json(props: &str, extra: &str) -> SchemaDefinition {
        let raw = format!(r#"{{"type":"object","properties":{{{props}}}{extra}}}"#);
        SchemaDefinition::parse(SchemaFormat::JsonSchema, &raw).unwrap()
    }

    fn summary(changes: &[FieldChange]) -> Vec<(String, ChangeKind, Vec<String>)> {
        changes
            .iter()
            .map(|c| (c.path.clone(), c.kind, c.details.clone()))
            .collect()
    }

    #[test]
    fn identical_versions_have_no_changes() {
        let a = avro(r#"{"name":"id","type":"long"}"#);
        assert!(diff(&a, &a).is_empty());
        let j = json(r#""id":{"type":"integer"}"#, "");
        assert!(diff(&j, &j).is_empty());
    }

    #[test]
    fn added_removed_and_changed() {
        let from = avro(
            r#"{"name":"id","type":"int"},
               {"name":"email","type":"string","doc":"mail"},
               {"name":"qty","type":"int","default":0},
               {"name":"gone","type":"string"}"#,
        );
        let to = avro(
            r#"{"name":"id","type":"long"},
               {"name":"email","type":["null","string"],"default":null,"tags":["pii"],"doc":"e-mail"},
               {"name":"qty","type":"int","default":1},
               {"name":"added","type":{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}}"#,
        );
        let changes = diff(&from, &to);
        assert_eq!(
            summary(&changes),
            vec![
                ("id".into(), ChangeKind::Changed, vec!["type int -> long".to_string()]),
                (
                    "email".into(),
                    ChangeKind::Changed,
                    vec![
                        "nullable false -> true".to_string(),
                        "required true -> false".to_string(),
                        "default none -> null".to_string(),
                        "doc changed".to_string(),
                        "tags [] -> [PII]".to_string(),
                    ]
                ),
                ("qty".into(), ChangeKind::Changed, vec!["default 0 -> 1".to_string()]),
                ("added".into(), ChangeKind::Added, vec![]),
                ("added.x".into(), ChangeKind::Added, vec![]),
                ("gone".into(), ChangeKind::Removed, vec![]),
            ]
        );
        let id = &changes[0];
        assert_eq!(id.before.as_ref().map(|f| f.type_name.as_str()), Some("int"));
        assert_eq!(id.after.as_ref().map(|f| f.type_name.as_str()), Some("long"));
        assert!(changes[3].before.is_none());
        assert!(changes[5].after.is_none());
    }

    #[test]
    fn renames_via_aliases() {
        let from = avro(
            r#"{"name":"mail","type":"string"},
               {"name":"addr","type":{"type":"record","name":"Address","fields":[
                  {"name":"city","type":"string"},{"name":"zip","type":"string"}]}}"#,
        );
        let to = avro(
            r#"{"name":"email","type":"string","aliases":["mail"]},
               {"name":"address","aliases":["addr"],"type":{"type":"record","name":"Address","fields":[
                  {"name":"town","aliases":["city"],"type":"string"},{"name":"zip","type":"long"}]}}"#,
        );
        assert_eq!(
            summary(&diff(&from, &to)),
            vec![
                (
                    "email".into(),
                    ChangeKind::Changed,
                    vec!["renamed from `mail`".to_string()]
                ),
                (
                    "address".into(),
                    ChangeKind::Changed,
                    vec!["renamed from `addr`".to_string()]
                ),
                (
                    "address.town".into(),
                    ChangeKind::Changed,
                    vec!["renamed from `addr.city`".to_string()]
                ),
                (
                    "address.zip".into(),
                    ChangeKind::Changed,
                    vec!["type string -> long".to_string()]
                ),
            ]
        );
        // Without the alias it is a removal plus an addition.
        let bare = avro(r#"{"name":"email","type":"string"}"#);
        let kinds: Vec<ChangeKind> = diff(&avro(r#"{"name":"mail","type":"string"}"#), &bare)
            .iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(kinds, vec![ChangeKind::Added, ChangeKind::Removed]);
        // An alias naming a field that still exists is not a rename.
        let from = avro(r#"{"name":"a","type":"string"}"#);
        let to = avro(r#"{"name":"a","type":"string"},{"name":"b","type":"string","aliases":["a"],"default":""}"#);
        assert_eq!(
            summary(&diff(&from, &to)),
            vec![("b".into(), ChangeKind::Added, vec![])]
        );
    }

    #[test]
    fn json_schema_diff() {
        let from = json(
            r#""id":{"type":"integer"},"name":{"type":"string"},"c":{"type":"object","properties":{"x":{"type":"string"}}}"#,
            r#","required":["id"]"#,
        );
        let to = json(
            r#""id":{"type":"number","description":"Id"},"c":{"type":"object","properties":{"x":{"type":["string","null"],"pii":true}}},"n":{"type":"array","items":{"type":"string"}}"#,
            r#","required":["id","n"]"#,
        );
        assert_eq!(
            summary(&diff(&from, &to)),
            vec![
                (
                    "id".into(),
                    ChangeKind::Changed,
                    vec!["type integer -> number".to_string(), "doc changed".to_string()]
                ),
                (
                    "c.x".into(),
                    ChangeKind::Changed,
                    vec!["nullable false -> true".to_string(), "tags [] -> [PII]".to_string()]
                ),
                ("n".into(), ChangeKind::Added, vec![]),
                ("name".into(), ChangeKind::Removed, vec![]),
            ]
        );
    }

    #[test]
    fn across_formats_by_path() {
        let from = avro(r#"{"name":"id","type":"long"}"#);
        let to = json(r#""id":{"type":"integer"}"#, r#","required":["id"]"#);
        assert_eq!(
            summary(&diff(&from, &to)),
            vec![(
                "id".into(),
                ChangeKind::Changed,
                vec!["type long -> integer".to_string()]
            )]
        );
    }
}
