//! Mode handling for compatibility checks and rendering of reader/writer findings as
//! human messages. The format-specific rules live in `avro.rs` and `json.rs`; they report
//! [`Issue`]s in reader/writer terms, which only become "added"/"removed" once we know
//! whether the reader is the new schema (BACKWARD) or the old one (FORWARD).

use super::issue::{Issue, Kind};
use super::{CompatibilityMode, Incompatibility, Parsed, SchemaDefinition};

/// Which side is the new schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// New schema reads data written with the old one.
    Backward,
    /// Old schema reads data written with the new one.
    Forward,
}

impl Dir {
    /// Maps (writer, reader) renderings to (old, new).
    fn old_new<'a>(self, writer: &'a str, reader: &'a str) -> (&'a str, &'a str) {
        match self {
            Dir::Backward => (writer, reader),
            Dir::Forward => (reader, writer),
        }
    }

    /// Verb for something only the reader has.
    fn reader_only(self) -> &'static str {
        match self {
            Dir::Backward => "added",
            Dir::Forward => "removed",
        }
    }

    /// `reader_only` with the preposition for "... a content model".
    fn reader_only_to(self) -> &'static str {
        match self {
            Dir::Backward => "added to",
            Dir::Forward => "removed from",
        }
    }

    fn writer_only_to(self) -> &'static str {
        match self {
            Dir::Backward => "removed from",
            Dir::Forward => "added to",
        }
    }

    fn consequence(self) -> &'static str {
        match self {
            Dir::Backward => "new readers cannot read old records",
            Dir::Forward => "old readers cannot read new records",
        }
    }
}

const BOTH_WAYS: &str = "old and new readers cannot read each other's records";

/// Renders the direction-specific description (without consequence).
fn describe(issue: &Issue, dir: Dir) -> String {
    let s = &issue.subject;
    match &issue.kind {
        Kind::FieldMissingDefault => match dir {
            Dir::Backward => format!("{s} added without a default"),
            Dir::Forward => format!("{s} removed, but the previous schema declares it without a default"),
        },
        Kind::Changed { what, writer, reader } => {
            let (old, new) = dir.old_new(writer, reader);
            format!("{what} of {s} changed from {old} to {new}")
        }
        Kind::EnumValuesMissing { noun, values } => {
            let list = values.join(", ");
            match dir {
                Dir::Backward => format!("enum {noun} [{list}] removed from {s}"),
                Dir::Forward => format!("enum {noun} [{list}] added to {s}"),
            }
        }
        Kind::EnumAdded => match dir {
            Dir::Backward => format!("enum constraint added to {s}"),
            Dir::Forward => format!("enum constraint removed from {s}"),
        },
        Kind::BranchUnreadable { branch } if branch == "null" => match dir {
            Dir::Backward => format!("{s} is no longer nullable"),
            Dir::Forward => format!("{s} became nullable"),
        },
        Kind::BranchUnreadable { branch } => match dir {
            Dir::Backward => format!("{s} no longer accepts {branch}"),
            Dir::Forward => format!("{s} now accepts {branch}"),
        },
        Kind::PropertyInOpenModel => {
            format!("{s} {} an open content model", dir.reader_only_to())
        }
        Kind::PropertyInPartiallyOpenModel => format!(
            "{s} {} a partially open content model (its schema does not match additionalProperties)",
            dir.reader_only_to()
        ),
        Kind::PropertyNotInClosedModel => {
            format!("{s} {} a closed content model", dir.writer_only_to())
        }
        Kind::PropertyNotInPartiallyOpenModel => format!(
            "{s} {} a partially open content model (its schema does not match additionalProperties)",
            dir.writer_only_to()
        ),
        Kind::RequiredMissing {
            declared_by_writer: false,
        } => format!("required {s} {}", dir.reader_only()),
        Kind::RequiredMissing {
            declared_by_writer: true,
        } => match dir {
            Dir::Backward => format!("{s} became required"),
            Dir::Forward => format!("{s} is no longer required"),
        },
        Kind::TooComplex => {
            "compatibility check aborted: the schemas are too deeply nested or too large to compare completely"
                .to_string()
        }
    }
}

/// `previous` are the already registered versions as (version number, definition), oldest first.
/// Non-transitive modes check only against the latest; transitive ones against all.
/// BACKWARD: the new schema (reader) can read data written with the old (writer).
/// FORWARD: the old schema (reader) can read data written with the new. FULL: both. NONE: always ok.
/// Formats differing between versions => one Incompatibility (format change) unless mode is NONE.
pub fn check_compatibility(
    mode: CompatibilityMode,
    new: &SchemaDefinition,
    previous: &[(i32, SchemaDefinition)],
) -> Vec<Incompatibility> {
    use CompatibilityMode as M;
    let (backward, forward, transitive) = match mode {
        M::None => return Vec::new(),
        M::Backward => (true, false, false),
        M::BackwardTransitive => (true, false, true),
        M::Forward => (false, true, false),
        M::ForwardTransitive => (false, true, true),
        M::Full => (true, true, false),
        M::FullTransitive => (true, true, true),
    };
    let targets: &[(i32, SchemaDefinition)] = if transitive {
        previous
    } else {
        match previous.last() {
            Some(last) => std::slice::from_ref(last),
            None => &[],
        }
    };

    let mut out = Vec::new();
    for (version, old) in targets {
        if old.format() != new.format() {
            out.push(Incompatibility {
                path: String::new(),
                message: format!(
                    "schema format changed from {} to {}: readers of one format cannot read records of the other",
                    old.format(),
                    new.format()
                ),
                against_version: Some(*version),
            });
            continue;
        }
        // (path, description, consequence); a finding present in both directions is merged.
        let mut found: Vec<(String, String, Option<&'static str>)> = Vec::new();
        let mut passes = Vec::new();
        if backward {
            passes.push((Dir::Backward, old, new));
        }
        if forward {
            passes.push((Dir::Forward, new, old));
        }
        for (dir, writer, reader) in passes {
            for issue in reader_issues(writer, reader) {
                let description = describe(&issue, dir);
                let consequence = match issue.kind {
                    Kind::TooComplex => None,
                    _ => Some(dir.consequence()),
                };
                match found.iter_mut().find(|(p, d, _)| *p == issue.path && *d == description) {
                    Some(existing) => {
                        if existing.2.is_some() && existing.2 != consequence {
                            existing.2 = Some(BOTH_WAYS);
                        }
                    }
                    None => found.push((issue.path, description, consequence)),
                }
            }
        }
        for (path, description, consequence) in found {
            let message = match consequence {
                Some(consequence) => format!("{description}: {consequence}"),
                None => description,
            };
            out.push(Incompatibility {
                path,
                message,
                against_version: Some(*version),
            });
        }
    }
    out
}

/// Issues preventing `reader` from reading data written with `writer` (same format).
fn reader_issues(writer: &SchemaDefinition, reader: &SchemaDefinition) -> Vec<Issue> {
    match (&writer.parsed, &reader.parsed) {
        (Parsed::Avro(w), Parsed::Avro(r)) => super::avro::reader_issues(w, r),
        (Parsed::Json(w), Parsed::Json(r)) => super::json::reader_issues(w, r),
        // Callers compare formats first; a mixed pair can never be read.
        _ => vec![Issue {
            path: String::new(),
            subject: "the root schema".to_string(),
            kind: Kind::Changed {
                what: "format",
                writer: writer.format().to_string(),
                reader: reader.format().to_string(),
            },
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::super::SchemaFormat;
    use super::*;
    use CompatibilityMode as M;

    const ALL_MODES: [CompatibilityMode; 7] = [
        M::Backward,
        M::BackwardTransitive,
        M::Forward,
        M::ForwardTransitive,
        M::Full,
        M::FullTransitive,
        M::None,
    ];

    fn avro(fields: &str) -> SchemaDefinition {
        let raw = format!(r#"{{"type":"record","name":"Order","namespace":"shop","fields":[{fields}]}}"#);
        SchemaDefinition::parse(SchemaFormat::Avro, &raw).unwrap()
    }

    fn json(body: &str) -> SchemaDefinition {
        SchemaDefinition::parse(SchemaFormat::JsonSchema, body).unwrap()
    }

    /// Checks `new` against a single previous version in every mode and returns which modes
    /// reported problems, as (backward_ok, forward_ok) expectations are easier to read.
    fn assert_modes(old: &SchemaDefinition, new: &SchemaDefinition, backward_ok: bool, forward_ok: bool) {
        let prev = vec![(1, old.clone())];
        for mode in ALL_MODES {
            let issues = check_compatibility(mode, new, &prev);
            let expected_ok = match mode {
                M::Backward | M::BackwardTransitive => backward_ok,
                M::Forward | M::ForwardTransitive => forward_ok,
                M::Full | M::FullTransitive => backward_ok && forward_ok,
                M::None => true,
            };
            assert_eq!(
                issues.is_empty(),
                expected_ok,
                "mode {mode:?}: {issues:#?}\nold: {}\nnew: {}",
                old.raw(),
                new.raw()
            );
            assert!(issues.iter().all(|i| i.against_version == Some(1)));
        }
    }

    const ID: &str = r#"{"name":"id","type":"long"}"#;

    #[test]
    fn avro_mode_matrix() {
        let base = avro(ID);
        // Field added without default: backward breaks, forward fine (old reader ignores it).
        assert_modes(
            &base,
            &avro(&format!(r#"{ID},{{"name":"email","type":"string"}}"#)),
            false,
            true,
        );
        // Field added with default: fully compatible.
        assert_modes(
            &base,
            &avro(&format!(
                r#"{ID},{{"name":"email","type":["null","string"],"default":null}}"#
            )),
            true,
            true,
        );
        // Field removed that had no default: backward fine, forward breaks.
        let with_email = avro(&format!(r#"{ID},{{"name":"email","type":"string"}}"#));
        assert_modes(&with_email, &base, true, false);
        // Field removed that had a default: fully compatible.
        let with_default = avro(&format!(r#"{ID},{{"name":"email","type":"string","default":""}}"#));
        assert_modes(&with_default, &base, true, true);
        // Type change: incompatible both ways.
        assert_modes(&base, &avro(r#"{"name":"id","type":"string"}"#), false, false);
        // Widening int -> long: backward only.
        let int_id = avro(r#"{"name":"id","type":"int"}"#);
        assert_modes(&int_id, &base, true, false);
        // Rename via alias: backward only (old readers know nothing of the alias).
        assert_modes(
            &base,
            &avro(r#"{"name":"order_id","type":"long","aliases":["id"]}"#),
            true,
            false,
        );
        // Rename via alias where the old field has a default: compatible both ways.
        assert_modes(
            &avro(r#"{"name":"id","type":"long","default":0}"#),
            &avro(r#"{"name":"order_id","type":"long","aliases":["id"],"default":0}"#),
            true,
            true,
        );
        // Enum symbol added: backward ok, forward breaks (no enum default).
        let e2 = avro(r#"{"name":"s","type":{"type":"enum","name":"S","symbols":["A","B"]}}"#);
        let e3 = avro(r#"{"name":"s","type":{"type":"enum","name":"S","symbols":["A","B","C"]}}"#);
        assert_modes(&e2, &e3, true, false);
        assert_modes(&e3, &e2, false, true);
        // With an enum default on the reader, unknown symbols are fine.
        let e2d = avro(r#"{"name":"s","type":{"type":"enum","name":"S","symbols":["A","B"],"default":"A"}}"#);
        let e3d = avro(r#"{"name":"s","type":{"type":"enum","name":"S","symbols":["A","B","C"],"default":"A"}}"#);
        assert_modes(&e2d, &e3d, true, true);
        // Nested record gains a required field.
        let n1 = avro(r#"{"name":"c","type":{"type":"record","name":"C","fields":[{"name":"a","type":"int"}]}}"#);
        let n2 = avro(
            r#"{"name":"c","type":{"type":"record","name":"C","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}}"#,
        );
        assert_modes(&n1, &n2, false, true);
        // Identical schemas are compatible in every mode.
        assert_modes(&base, &avro(ID), true, true);
    }

    #[test]
    fn json_mode_matrix() {
        let open = json(r#"{"type":"object","properties":{"id":{"type":"integer"}}}"#);
        let closed = json(r#"{"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":false}"#);
        // Optional property added to an open model: old data may carry anything under that name.
        let open_plus = json(r#"{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":"string"}}}"#);
        assert_modes(&open, &open_plus, false, true);
        // Optional property added to a closed model: fully compatible.
        let closed_plus = json(
            r#"{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":"string"}},"additionalProperties":false}"#,
        );
        assert_modes(&closed, &closed_plus, true, false);
        // Required property added to a closed model: backward breaks.
        let closed_req = json(
            r#"{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":"string"}},"required":["email"],"additionalProperties":false}"#,
        );
        assert_modes(&closed, &closed_req, false, false);
        // Property accepting anything added to an open model: compatible.
        let open_any = json(r#"{"type":"object","properties":{"id":{"type":"integer"},"extra":{}}}"#);
        assert_modes(&open, &open_any, true, true);
        // Property removed from an open model: backward fine, forward breaks.
        assert_modes(&open_plus, &open, true, false);
        // Type change.
        let string_id = json(r#"{"type":"object","properties":{"id":{"type":"string"}}}"#);
        assert_modes(&open, &string_id, false, false);
        // Widening integer -> number.
        let number_id = json(r#"{"type":"object","properties":{"id":{"type":"number"}}}"#);
        assert_modes(&open, &number_id, true, false);
        // Enum value added / removed.
        let e2 = json(r#"{"type":"object","properties":{"s":{"enum":["A","B"]}}}"#);
        let e3 = json(r#"{"type":"object","properties":{"s":{"enum":["A","B","C"]}}}"#);
        assert_modes(&e2, &e3, true, false);
        assert_modes(&e3, &e2, false, true);
        // Nested object: required property added to a nested closed object.
        let n1 = json(
            r#"{"type":"object","properties":{"c":{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false}}}"#,
        );
        let n2 = json(
            r#"{"type":"object","properties":{"c":{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["b"],"additionalProperties":false}}}"#,
        );
        assert_modes(&n1, &n2, false, false);
        assert_modes(
            &open,
            &json(r#"{"type":"object","properties":{"id":{"type":"integer"}}}"#),
            true,
            true,
        );
    }

    #[test]
    fn messages_name_the_path_and_direction() {
        let old = avro(ID);
        let new = avro(&format!(r#"{ID},{{"name":"email","type":"string"}}"#));
        let issues = check_compatibility(M::Backward, &new, &[(3, old.clone())]);
        assert_eq!(
            issues,
            vec![Incompatibility {
                path: "email".into(),
                message: "field `email` added without a default: new readers cannot read old records".into(),
                against_version: Some(3),
            }]
        );
        let issues = check_compatibility(M::Forward, &old, &[(4, new)]);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "email");
        assert_eq!(
            issues[0].message,
            "field `email` removed, but the previous schema declares it without a default: old readers cannot read new records"
        );
    }

    #[test]
    fn full_mode_merges_symmetric_findings() {
        let old = avro(ID);
        let new = avro(r#"{"name":"id","type":"string"}"#);
        let issues = check_compatibility(M::Full, &new, &[(1, old)]);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(
            issues[0].message,
            "type of field `id` changed from long to string: old and new readers cannot read each other's records"
        );
    }

    #[test]
    fn transitive_checks_all_versions() {
        // v1: id; v2: id + email with default; v3: email without default.
        // v3 is compatible with v2 (v2 has email) but not with v1.
        let v1 = avro(ID);
        let v2 = avro(&format!(r#"{ID},{{"name":"email","type":"string","default":""}}"#));
        let v3 = avro(&format!(r#"{ID},{{"name":"email","type":"string"}}"#));
        let prev = vec![(1, v1.clone()), (2, v2.clone())];
        assert!(check_compatibility(M::Backward, &v3, &prev).is_empty());
        let issues = check_compatibility(M::BackwardTransitive, &v3, &prev);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].against_version, Some(1));
        assert_eq!(issues[0].path, "email");
        // The same holds for FULL vs FULL_TRANSITIVE.
        assert!(check_compatibility(M::Full, &v3, &prev).is_empty());
        assert!(!check_compatibility(M::FullTransitive, &v3, &prev).is_empty());

        // Forward: v1 requires `email`; v2 still has it, v3 drops it with v2 declaring a
        // default, so only the transitive check against v1 fails.
        let f1 = avro(&format!(r#"{ID},{{"name":"email","type":"string"}}"#));
        let f2 = avro(&format!(r#"{ID},{{"name":"email","type":"string","default":""}}"#));
        let f3 = avro(ID);
        let prev = vec![(1, f1), (2, f2)];
        assert!(check_compatibility(M::Forward, &f3, &prev).is_empty());
        let issues = check_compatibility(M::ForwardTransitive, &f3, &prev);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].against_version, Some(1));

        // JSON: v1 open, v2 closed (allowed backward? no: closing is a narrowing), so use
        // required: v1 without `a`, v2 adds optional `a` to a closed model, v3 requires it.
        let j1 = json(r#"{"type":"object","properties":{},"additionalProperties":false}"#);
        let j2 = json(
            r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}"#,
        );
        let j3 = json(
            r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}"#,
        );
        let prev = vec![(1, j1), (2, j2)];
        assert!(check_compatibility(M::Backward, &j3, &prev).is_empty());
        let issues = check_compatibility(M::BackwardTransitive, &j3, &prev);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].against_version, Some(1));
        assert_eq!(issues[0].path, "a");
    }

    #[test]
    fn no_previous_versions_is_always_compatible() {
        for mode in ALL_MODES {
            assert!(check_compatibility(mode, &avro(ID), &[]).is_empty());
        }
    }

    #[test]
    fn format_change_is_one_incompatibility_unless_none() {
        let old = avro(ID);
        let new = json(r#"{"type":"object","properties":{"id":{"type":"integer"}}}"#);
        for mode in ALL_MODES {
            let issues = check_compatibility(mode, &new, &[(1, old.clone())]);
            if mode == M::None {
                assert!(issues.is_empty());
            } else {
                assert_eq!(issues.len(), 1, "{mode:?}");
                assert_eq!(issues[0].path, "");
                assert!(issues[0].message.contains("format changed from Avro to JSON Schema"));
                assert_eq!(issues[0].against_version, Some(1));
            }
        }
    }

    #[test]
    fn none_accepts_anything() {
        let old = avro(ID);
        let new = avro(r#"{"name":"totally","type":"boolean"}"#);
        assert!(check_compatibility(M::None, &new, &[(1, old.clone())]).is_empty());
        assert!(!check_compatibility(M::Full, &new, &[(1, old)]).is_empty());
    }

    #[test]
    fn non_transitive_checks_only_latest() {
        let v1 = avro(r#"{"name":"id","type":"string"}"#);
        let v2 = avro(ID);
        let v3 = avro(ID);
        let issues = check_compatibility(M::Full, &v3, &[(1, v1.clone()), (2, v2.clone())]);
        assert!(issues.is_empty());
        let issues = check_compatibility(M::FullTransitive, &v3, &[(1, v1), (2, v2)]);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].against_version, Some(1));
    }
}
