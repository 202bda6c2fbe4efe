//! Avro support: parsing (by `apache-avro`), field extraction and reader/writer resolution
//! checks.
//!
//! We walk `apache_avro::Schema` ourselves instead of using
//! `apache_avro::schema_compatibility`: that checker stops at the first error, compares
//! `Schema::Ref` against inline definitions by kind only, ignores record-name aliases, treats
//! readers missing enum symbols as "partially" compatible and produces messages without
//! field paths. The rules below follow the Avro specification's schema resolution as
//! applied by the Java `SchemaCompatibility` used by Confluent Schema Registry.

use std::collections::{HashMap, HashSet};

use apache_avro::schema::{
    Alias, DecimalSchema, EnumSchema, FixedSchema, InnerDecimalSchema, Name, RecordField, RecordSchema, Schema,
    UnionSchema, UuidSchema,
};

use super::issue::{with_abort_notice, Issue, Kind, MAX_STEPS};
use super::{canonical_json, collect_tags, join_path, FieldInfo, SchemaField, MAX_DEPTH, MAX_NODES};

/// A parsed Avro definition: the schema and its named types.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    schema: Schema,
    /// Named types by full name (and by alias full name) to resolve `Schema::Ref`.
    names: HashMap<Name, Schema>,
}

impl AvroSchema {
    pub(super) fn parse(raw: &str) -> Result<Self, String> {
        let schema = Schema::parse_str(raw).map_err(|e| error_chain(&e))?;
        let mut names = HashMap::new();
        collect_names(&schema, &mut names, 0);
        Ok(AvroSchema { schema, names })
    }

    /// The schema as apache-avro parsed it (what its datum readers and writers take).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The named type (record, enum, fixed) a `Schema::Ref` names, by full name or alias.
    pub fn named(&self, name: &Name) -> Option<&Schema> {
        self.names.get(name)
    }

    pub(super) fn canonical(&self) -> String {
        match serde_json::to_value(&self.schema) {
            Ok(value) => canonical_json(&value),
            Err(_) => self.schema.canonical_form(),
        }
    }

    /// The field list; fails when the definition nests too deep or expands too far.
    pub(super) fn fields(&self) -> Result<Vec<FieldInfo>, String> {
        let mut walker = FieldWalker {
            schema: self,
            out: Vec::new(),
            stack: Vec::new(),
            nodes: 0,
        };
        walker.descend(&self.schema, None, "", String::new(), 0)?;
        Ok(walker.out)
    }

    /// Follows a `Schema::Ref` to its definition (left as is when unknown).
    fn resolve<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => self.names.get(name).unwrap_or(schema),
            other => other,
        }
    }

    /// Human type name, e.g. `array<record Line>`; references are named, not expanded.
    fn type_name(&self, schema: &Schema, depth: usize) -> String {
        if depth > MAX_DEPTH {
            return "...".to_string();
        }
        match self.resolve(schema) {
            Schema::Null => "null".into(),
            Schema::Boolean => "boolean".into(),
            Schema::Int => "int".into(),
            Schema::Long => "long".into(),
            Schema::Float => "float".into(),
            Schema::Double => "double".into(),
            Schema::Bytes => "bytes".into(),
            Schema::String => "string".into(),
            Schema::Array(a) => format!("array<{}>", self.type_name(&a.items, depth + 1)),
            Schema::Map(m) => format!("map<{}>", self.type_name(&m.types, depth + 1)),
            Schema::Union(u) => format!(
                "union<{}>",
                u.variants()
                    .iter()
                    .map(|v| self.type_name(v, depth + 1))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Schema::Record(r) => format!("record {}", r.name.name()),
            Schema::Enum(e) => format!("enum {}", e.name.name()),
            Schema::Fixed(f) => format!("fixed {}({})", f.name.name(), f.size),
            Schema::Decimal(d) => format!("decimal({},{})", d.precision, d.scale),
            Schema::BigDecimal => "big-decimal".into(),
            Schema::Uuid(_) => "uuid".into(),
            Schema::Date => "date".into(),
            Schema::TimeMillis => "time-millis".into(),
            Schema::TimeMicros => "time-micros".into(),
            Schema::TimestampMillis => "timestamp-millis".into(),
            Schema::TimestampMicros => "timestamp-micros".into(),
            Schema::TimestampNanos => "timestamp-nanos".into(),
            Schema::LocalTimestampMillis => "local-timestamp-millis".into(),
            Schema::LocalTimestampMicros => "local-timestamp-micros".into(),
            Schema::LocalTimestampNanos => "local-timestamp-nanos".into(),
            Schema::Duration(_) => "duration".into(),
            Schema::Ref { name } => name.name().to_string(),
        }
    }

    /// Field-level type: a union with `null` and one other branch shows as that branch.
    fn field_type(&self, schema: &Schema) -> (String, bool) {
        match self.resolve(schema) {
            Schema::Union(u) => {
                let nullable = u.variants().iter().any(|v| matches!(v, Schema::Null));
                let rest: Vec<&Schema> = u.variants().iter().filter(|v| !matches!(v, Schema::Null)).collect();
                let name = match rest.as_slice() {
                    [] => "null".to_string(),
                    [single] => self.type_name(single, 1),
                    many => format!(
                        "union<{}>",
                        many.iter().map(|v| self.type_name(v, 1)).collect::<Vec<_>>().join(",")
                    ),
                };
                (name, nullable)
            }
            other => (self.type_name(other, 0), false),
        }
    }

    /// Short label of a union branch used in paths: `payment<Card>`.
    fn branch_label(&self, schema: &Schema) -> String {
        match self.resolve(schema) {
            Schema::Array(_) => "array".into(),
            Schema::Map(_) => "map".into(),
            other => match other.name() {
                Some(name) => name.name().to_string(),
                None => self.type_name(other, 0),
            },
        }
    }
}

/// apache-avro's messages are often generic ("Failed to parse schema from JSON"); the cause
/// (e.g. serde_json's position) is in the source chain.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Indexes every named type (and its aliases) defined inline in `schema`.
///
/// Not apache-avro's `ResolvedSchema`: it indexes no aliases, and it fails on two kinds of
/// definitions its own parser accepts (and registration always has): a reference to a named
/// type by one of its aliases, and two definitions of one full name (the first is kept here).
fn collect_names(schema: &Schema, names: &mut HashMap<Name, Schema>, depth: usize) {
    if depth > 4 * MAX_DEPTH {
        return;
    }
    let mut register = |name: &Name, aliases: &Option<Vec<Alias>>| {
        names.entry(name.clone()).or_insert_with(|| schema.clone());
        for alias in aliases.iter().flatten() {
            let full = alias.fully_qualified_name(name.namespace()).into_owned();
            names.entry(full).or_insert_with(|| schema.clone());
        }
    };
    match schema {
        Schema::Record(RecordSchema {
            name, aliases, fields, ..
        }) => {
            register(name, aliases);
            for field in fields {
                collect_names(&field.schema, names, depth + 1);
            }
        }
        Schema::Enum(EnumSchema { name, aliases, .. })
        | Schema::Fixed(FixedSchema { name, aliases, .. })
        | Schema::Duration(FixedSchema { name, aliases, .. })
        | Schema::Uuid(UuidSchema::Fixed(FixedSchema { name, aliases, .. }))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(FixedSchema { name, aliases, .. }),
            ..
        }) => register(name, aliases),
        Schema::Array(a) => collect_names(&a.items, names, depth + 1),
        Schema::Map(m) => collect_names(&m.types, names, depth + 1),
        Schema::Union(u) => {
            for v in u.variants() {
                collect_names(v, names, depth + 1);
            }
        }
        _ => {}
    }
}

struct FieldWalker<'a> {
    schema: &'a AvroSchema,
    out: Vec<FieldInfo>,
    /// Records currently being expanded; a recursive type is listed once, not unrolled.
    stack: Vec<&'a Name>,
    nodes: usize,
}

impl<'a> FieldWalker<'a> {
    /// Lists the fields reachable below `schema`, which sits at `path` (+ `container`).
    fn descend(
        &mut self,
        schema: &'a Schema,
        parent: Option<usize>,
        path: &str,
        container: String,
        depth: usize,
    ) -> Result<(), String> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!(
                "schema too large: more than {MAX_NODES} nodes after expanding named types"
            ));
        }
        if depth > MAX_DEPTH {
            return Err(format!("schema nested deeper than {MAX_DEPTH} levels"));
        }
        match self.schema.resolve(schema) {
            Schema::Record(record) => {
                if self.stack.contains(&&record.name) {
                    return Ok(());
                }
                self.stack.push(&record.name);
                let result = self.record_fields(record, parent, path, &container, depth);
                self.stack.pop();
                result
            }
            Schema::Array(a) => self.descend(&a.items, parent, path, container + "[]", depth + 1),
            Schema::Map(m) => self.descend(&m.types, parent, path, container + "{}", depth + 1),
            Schema::Union(u) => self.union_branches(u, parent, path, container, depth),
            _ => Ok(()),
        }
    }

    fn union_branches(
        &mut self,
        union: &'a UnionSchema,
        parent: Option<usize>,
        path: &str,
        container: String,
        depth: usize,
    ) -> Result<(), String> {
        let branches: Vec<&Schema> = union.variants().iter().filter(|v| !matches!(v, Schema::Null)).collect();
        if let [single] = branches.as_slice() {
            return self.descend(single, parent, path, container, depth + 1);
        }
        for branch in branches {
            let label = self.schema.branch_label(branch);
            self.descend(branch, parent, path, format!("{container}<{label}>"), depth + 1)?;
        }
        Ok(())
    }

    fn record_fields(
        &mut self,
        record: &'a RecordSchema,
        parent: Option<usize>,
        path: &str,
        container: &str,
        depth: usize,
    ) -> Result<(), String> {
        for field in &record.fields {
            self.nodes += 1;
            let field_path = join_path(path, container, &field.name);
            let (type_name, nullable) = self.schema.field_type(&field.schema);
            self.out.push(FieldInfo {
                field: SchemaField {
                    path: field_path.clone(),
                    type_name,
                    doc: field.doc.clone(),
                    nullable,
                    required: field.default.is_none(),
                    default: field.default.clone(),
                    tags: collect_tags(|k| field.custom_attributes.get(k)),
                },
                name: field.name.clone(),
                parent,
                container: container.to_string(),
                aliases: field.aliases.clone(),
            });
            let index = self.out.len() - 1;
            self.descend(&field.schema, Some(index), &field_path, String::new(), depth + 1)?;
        }
        Ok(())
    }
}

/// Physical type after stripping logical types, which Avro resolution ignores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array,
    Map,
    Union,
    Record,
    Enum,
    Fixed,
    /// An unresolvable reference; only equal names are considered compatible.
    Ref,
}

fn base(schema: &Schema) -> Base {
    match schema {
        Schema::Null => Base::Null,
        Schema::Boolean => Base::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Base::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Base::Long,
        Schema::Float => Base::Float,
        Schema::Double => Base::Double,
        Schema::Bytes
        | Schema::BigDecimal
        | Schema::Uuid(UuidSchema::Bytes)
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Bytes,
            ..
        }) => Base::Bytes,
        Schema::String | Schema::Uuid(UuidSchema::String) => Base::String,
        Schema::Array(_) => Base::Array,
        Schema::Map(_) => Base::Map,
        Schema::Union(_) => Base::Union,
        Schema::Record(_) => Base::Record,
        Schema::Enum(_) => Base::Enum,
        Schema::Fixed(_)
        | Schema::Duration(_)
        | Schema::Uuid(UuidSchema::Fixed(_))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(_),
            ..
        }) => Base::Fixed,
        Schema::Ref { .. } => Base::Ref,
    }
}

/// Avro's type promotions (writer type on the left).
fn promotable(writer: Base, reader: Base) -> bool {
    use Base::*;
    matches!(
        (writer, reader),
        (Int, Long | Float | Double) | (Long, Float | Double) | (Float, Double) | (String, Bytes) | (Bytes, String)
    )
}

fn fixed_size(schema: &Schema) -> Option<usize> {
    match schema {
        Schema::Fixed(f)
        | Schema::Duration(f)
        | Schema::Uuid(UuidSchema::Fixed(f))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(f),
            ..
        }) => Some(f.size),
        _ => None,
    }
}

/// Whether a reader named type accepts a writer named type: equal unqualified names (as the
/// Java implementation compares them) or a reader alias naming the writer type.
fn names_match(writer: &Name, reader: &Schema) -> bool {
    let Some(reader_name) = reader.name() else {
        return false;
    };
    if reader_name.name() == writer.name() {
        return true;
    }
    reader.aliases().into_iter().flatten().any(|alias| {
        alias.fully_qualified_name(reader_name.namespace()).as_ref() == writer || alias.name() == writer.name()
    })
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
        format!("field `{path}`")
    }
}

/// Issues preventing `reader` from reading data written with `writer`.
pub(super) fn reader_issues(writer: &AvroSchema, reader: &AvroSchema) -> Vec<Issue> {
    let mut checker = Checker {
        w: writer,
        r: reader,
        issues: Vec::new(),
        in_progress: HashSet::new(),
        steps: 0,
        aborted: false,
    };
    checker.check(&writer.schema, &reader.schema, "", 0);
    with_abort_notice(checker.issues, checker.aborted, subject(""))
}

struct Checker<'a> {
    w: &'a AvroSchema,
    r: &'a AvroSchema,
    issues: Vec<Issue>,
    /// (writer, reader) record pairs being compared; recursive types are assumed compatible
    /// on re-entry (their fields are being checked further up).
    in_progress: HashSet<(Name, Name)>,
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

    fn over_budget(&mut self, depth: usize) -> bool {
        self.steps += 1;
        if self.steps > MAX_STEPS || depth > 2 * MAX_DEPTH {
            self.aborted = true;
        }
        self.aborted
    }

    fn changed_type(&mut self, path: &str, w: &Schema, r: &Schema) {
        let kind = Kind::Changed {
            what: "type",
            writer: self.w.type_name(w, 0),
            reader: self.r.type_name(r, 0),
        };
        self.push(path, kind);
    }

    fn check(&mut self, w: &'a Schema, r: &'a Schema, path: &str, depth: usize) {
        if self.over_budget(depth) {
            return;
        }
        let (w, r) = (self.w.resolve(w), self.r.resolve(r));
        match (w, r) {
            (Schema::Union(wu), Schema::Union(ru)) => {
                for branch in wu.variants() {
                    self.read_into_union(self.w.resolve(branch), ru, path, depth, true);
                }
            }
            (Schema::Union(wu), _) => {
                let matching = |c: &Self, b: &'a Schema| c.shallow_match(c.w.resolve(b), r);
                if !wu.variants().iter().any(|b| matching(self, b)) {
                    self.changed_type(path, w, r);
                    return;
                }
                for branch in wu.variants() {
                    if matching(self, branch) {
                        self.check_plain(self.w.resolve(branch), r, path, depth + 1);
                    } else {
                        let branch = self.w.type_name(branch, 0);
                        self.push(path, Kind::BranchUnreadable { branch });
                    }
                }
            }
            (_, Schema::Union(ru)) => self.read_into_union(w, ru, path, depth, false),
            _ => self.check_plain(w, r, path, depth),
        }
    }

    /// A non-union writer type read by a reader union: Avro picks the first matching branch;
    /// we accept if any branch reads it cleanly and otherwise explain the closest branch.
    fn read_into_union(&mut self, w: &'a Schema, ru: &'a UnionSchema, path: &str, depth: usize, writer_is_union: bool) {
        let non_null = ru.variants().iter().filter(|v| !matches!(v, Schema::Null)).count();
        let branch_path = |c: &Self, b: &Schema| {
            if non_null > 1 && !matches!(b, Schema::Null) {
                format!("{path}<{}>", c.r.branch_label(b))
            } else {
                path.to_string()
            }
        };
        let mut closest = None;
        for branch in ru.variants() {
            let rb = self.r.resolve(branch);
            if !self.shallow_match(w, rb) {
                continue;
            }
            let bp = branch_path(self, branch);
            let saved = std::mem::take(&mut self.issues);
            self.check_plain(w, rb, &bp, depth + 1);
            let trial = std::mem::replace(&mut self.issues, saved);
            if trial.is_empty() {
                return;
            }
            closest.get_or_insert(trial);
        }
        match closest {
            Some(trial) => self.issues.extend(trial),
            None if writer_is_union => {
                let branch = self.w.type_name(w, 0);
                self.push(path, Kind::BranchUnreadable { branch });
            }
            None => {
                let kind = Kind::Changed {
                    what: "type",
                    writer: self.w.type_name(w, 0),
                    reader: format!("union<{}>", {
                        ru.variants()
                            .iter()
                            .map(|v| self.r.type_name(v, 1))
                            .collect::<Vec<_>>()
                            .join(",")
                    }),
                };
                self.push(path, kind);
            }
        }
    }

    /// Whether resolution would even try to read `w` as `r` (same kind and name, or a promotion).
    fn shallow_match(&self, w: &Schema, r: &Schema) -> bool {
        let (bw, br) = (base(w), base(r));
        if promotable(bw, br) {
            return true;
        }
        if bw != br {
            return false;
        }
        match (w, r) {
            (Schema::Ref { name: wn }, Schema::Ref { name: rn }) => wn == rn,
            _ => match w.name() {
                Some(wn) if matches!(bw, Base::Record | Base::Enum | Base::Fixed) => names_match(wn, r),
                _ => true,
            },
        }
    }

    /// Both sides resolved and neither is a union.
    fn check_plain(&mut self, w: &'a Schema, r: &'a Schema, path: &str, depth: usize) {
        if self.over_budget(depth) {
            return;
        }
        let (bw, br) = (base(w), base(r));
        if promotable(bw, br) {
            return;
        }
        if bw != br {
            self.changed_type(path, w, r);
            return;
        }
        if matches!(bw, Base::Record | Base::Enum | Base::Fixed) {
            if let Some(wn) = w.name() {
                if !names_match(wn, r) {
                    let kind = Kind::Changed {
                        what: "name",
                        writer: wn.fullname(None),
                        reader: r.name().map(|n| n.fullname(None)).unwrap_or_default(),
                    };
                    self.push(path, kind);
                }
            }
        }
        match (w, r) {
            (Schema::Record(wr), Schema::Record(rr)) => self.check_record(wr, rr, path, depth),
            (Schema::Enum(we), Schema::Enum(re)) => {
                if re.default.is_none() {
                    let missing: Vec<String> = we.symbols.iter().filter(|s| !re.symbols.contains(s)).cloned().collect();
                    if !missing.is_empty() {
                        self.push(
                            path,
                            Kind::EnumValuesMissing {
                                noun: "symbols",
                                values: missing,
                            },
                        );
                    }
                }
            }
            (Schema::Array(wa), Schema::Array(ra)) => self.check(&wa.items, &ra.items, &format!("{path}[]"), depth + 1),
            (Schema::Map(wm), Schema::Map(rm)) => self.check(&wm.types, &rm.types, &format!("{path}{{}}"), depth + 1),
            (Schema::Ref { name: wn }, Schema::Ref { name: rn }) if wn != rn => self.changed_type(path, w, r),
            _ => {
                if let (Some(ws), Some(rs)) = (fixed_size(w), fixed_size(r)) {
                    if ws != rs {
                        self.push(
                            path,
                            Kind::Changed {
                                what: "size",
                                writer: ws.to_string(),
                                reader: rs.to_string(),
                            },
                        );
                    }
                }
                if let (Schema::Decimal(wd), Schema::Decimal(rd)) = (w, r) {
                    // Rescaling silently changes values, so scale must match and the reader
                    // must not lose digits.
                    if wd.scale != rd.scale || rd.precision < wd.precision {
                        self.push(
                            path,
                            Kind::Changed {
                                what: "decimal precision/scale",
                                writer: format!("decimal({},{})", wd.precision, wd.scale),
                                reader: format!("decimal({},{})", rd.precision, rd.scale),
                            },
                        );
                    }
                }
            }
        }
    }

    fn check_record(&mut self, w: &'a RecordSchema, r: &'a RecordSchema, path: &str, depth: usize) {
        let key = (w.name.clone(), r.name.clone());
        if !self.in_progress.insert(key.clone()) {
            return;
        }
        // Not `w.lookup`: it also contains the writer's aliases, which resolution ignores.
        let writer_fields: HashMap<&str, &RecordField> = w.fields.iter().map(|f| (f.name.as_str(), f)).collect();
        for rf in &r.fields {
            let field_path = child_path(path, &rf.name);
            let wf = std::iter::once(&rf.name)
                .chain(rf.aliases.iter())
                .find_map(|n| writer_fields.get(n.as_str()).copied());
            match wf {
                Some(wf) => self.check(&wf.schema, &rf.schema, &field_path, depth + 1),
                None if rf.default.is_none() => self.push(&field_path, Kind::FieldMissingDefault),
                None => {}
            }
        }
        self.in_progress.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{check_compatibility, CompatibilityMode, SchemaDefinition, SchemaError, SchemaFormat};
    use super::*;
    use serde_json::json;

    fn record(fields: &str) -> String {
        format!(r#"{{"type":"record","name":"Order","namespace":"shop","fields":[{fields}]}}"#)
    }

    /// Messages for BACKWARD (new reads old).
    fn backward(old: &str, new: &str) -> Vec<(String, String)> {
        let old = SchemaDefinition::parse(SchemaFormat::Avro, old).unwrap();
        let new = SchemaDefinition::parse(SchemaFormat::Avro, new).unwrap();
        check_compatibility(CompatibilityMode::Backward, &new, &[(1, old)])
            .into_iter()
            .map(|i| (i.path, i.message))
            .collect()
    }

    fn forward(old: &str, new: &str) -> Vec<(String, String)> {
        let old = SchemaDefinition::parse(SchemaFormat::Avro, old).unwrap();
        let new = SchemaDefinition::parse(SchemaFormat::Avro, new).unwrap();
        check_compatibility(CompatibilityMode::Forward, &new, &[(1, old)])
            .into_iter()
            .map(|i| (i.path, i.message))
            .collect()
    }

    fn invalid(raw: &str) -> String {
        match SchemaDefinition::parse(SchemaFormat::Avro, raw) {
            Err(SchemaError::Invalid { format, message }) => {
                assert_eq!(format, SchemaFormat::Avro);
                message
            }
            Ok(_) => panic!("accepted invalid schema {raw}"),
        }
    }

    #[test]
    fn rejects_invalid_definitions() {
        invalid("not json");
        invalid(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"strin"}]}"#);
        invalid(r#"{"type":"unknown_type"}"#);
        invalid("42");
        invalid(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"long"}]}"#);
        invalid(r#"{"type":"enum","name":"E","symbols":["A","A"]}"#);
        // Defaults are validated by apache-avro at parse time.
        invalid(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}"#);
        invalid(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}"#);
    }

    #[test]
    fn depth_limit_is_reported_as_invalid() {
        // Arrays nest without named types; 100 levels exceeds the 64-level limit but stays
        // within serde_json's own recursion limit.
        let mut s = r#""int""#.to_string();
        for _ in 0..40 {
            s = format!(r#"{{"type":"array","items":{s}}}"#);
        }
        let raw = record(&format!(r#"{{"name":"a","type":{s}}}"#));
        // 40 arrays is fine...
        assert!(AvroSchema::parse(&raw).is_ok());
        // Union + array per level: 80 schema levels within serde_json's 128 JSON levels.
        let mut s = r#""int""#.to_string();
        for _ in 0..40 {
            s = format!(r#"[{{"type":"array","items":{s}}}]"#);
        }
        let raw = record(&format!(r#"{{"name":"a","type":{s}}}"#));
        let message = invalid(&raw);
        assert!(message.contains("deeper than 64"), "{message}");
        // Absurdly deep input is rejected by serde_json's recursion limit, never overflowing.
        let message = invalid(&"[".repeat(100_000));
        assert!(message.contains("recursion limit"), "{message}");
    }

    #[test]
    fn exponential_expansion_is_rejected() {
        // Each level references the previous record twice: 2^30 fields once expanded.
        let mut defs = vec![r#"{"type":"record","name":"L0","fields":[{"name":"x","type":"int"}]}"#.to_string()];
        for i in 1..30 {
            defs.push(format!(
                r#"{{"type":"record","name":"L{i}","fields":[{{"name":"a","type":{prev}}},{{"name":"b","type":"L{p}"}}]}}"#,
                prev = defs[i - 1],
                p = i - 1
            ));
        }
        let message = invalid(&defs[29]);
        assert!(message.contains("too large"), "{message}");
    }

    #[test]
    fn extracts_fields() {
        let raw = r#"{
          "type": "record", "name": "Order", "namespace": "shop", "doc": "An order",
          "fields": [
            {"name": "id", "type": "long", "doc": "Order id"},
            {"name": "email", "type": ["null", "string"], "default": null, "tags": ["pii"]},
            {"name": "ssn", "type": "string", "pii": true},
            {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}, "default": "NEW"},
            {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
              {"name": "name", "type": "string"},
              {"name": "address", "type": ["null", {"type": "record", "name": "Address", "fields": [
                {"name": "city", "type": "string", "tags": ["Location", "PII"], "pii": true}
              ]}], "default": null}
            ]}},
            {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [
              {"name": "sku", "type": "string"},
              {"name": "qty", "type": "int", "default": 1}
            ]}}},
            {"name": "billing", "type": ["null", "Address"], "default": null},
            {"name": "attrs", "type": {"type": "map", "values": "string"}},
            {"name": "notes", "type": {"type": "array", "items": "string"}},
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
            {"name": "payment", "type": [
              {"type": "record", "name": "Card", "fields": [{"name": "number", "type": "string"}]},
              {"type": "record", "name": "Iban", "fields": [{"name": "iban", "type": "string"}]}
            ]},
            {"name": "choice", "type": ["null", "string", "long"], "default": null}
          ]
        }"#;
        let def = SchemaDefinition::parse(SchemaFormat::Avro, raw).unwrap();
        let fields = def.fields();
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "id",
                "email",
                "ssn",
                "status",
                "customer",
                "customer.name",
                "customer.address",
                "customer.address.city",
                "lines",
                "lines[].sku",
                "lines[].qty",
                "billing",
                "billing.city",
                "attrs",
                "notes",
                "ts",
                "amount",
                "payment",
                "payment<Card>.number",
                "payment<Iban>.iban",
                "choice",
            ]
        );
        let get = |p: &str| fields.iter().find(|f| f.path == p).unwrap().clone();
        assert_eq!(
            get("id"),
            SchemaField {
                path: "id".into(),
                type_name: "long".into(),
                doc: Some("Order id".into()),
                nullable: false,
                required: true,
                default: None,
                tags: vec![],
            }
        );
        let email = get("email");
        assert_eq!(email.type_name, "string");
        assert!(email.nullable);
        assert!(!email.required);
        assert_eq!(email.default, Some(json!(null)));
        assert_eq!(email.tags, vec!["PII"]);
        assert_eq!(get("ssn").tags, vec!["PII"]);
        assert_eq!(get("status").type_name, "enum Status");
        assert_eq!(get("status").default, Some(json!("NEW")));
        assert_eq!(get("customer").type_name, "record Customer");
        assert_eq!(get("customer.address").type_name, "record Address");
        assert!(get("customer.address").nullable);
        assert_eq!(get("customer.address.city").tags, vec!["LOCATION", "PII"]);
        assert_eq!(get("lines").type_name, "array<record Line>");
        assert_eq!(get("lines[].qty").default, Some(json!(1)));
        assert!(!get("lines[].qty").required);
        assert_eq!(get("billing").type_name, "record Address");
        assert_eq!(get("attrs").type_name, "map<string>");
        assert_eq!(get("notes").type_name, "array<string>");
        assert_eq!(get("ts").type_name, "timestamp-millis");
        assert_eq!(get("amount").type_name, "decimal(10,2)");
        assert_eq!(get("payment").type_name, "union<record Card,record Iban>");
        assert!(!get("payment").nullable);
        assert_eq!(get("choice").type_name, "union<string,long>");
        assert!(get("choice").nullable);
    }

    #[test]
    fn recursive_types_are_listed_once() {
        let raw = r#"{"type":"record","name":"Node","fields":[
            {"name":"value","type":"int"},
            {"name":"next","type":["null","Node"],"default":null},
            {"name":"children","type":{"type":"array","items":"Node"}}
        ]}"#;
        let def = SchemaDefinition::parse(SchemaFormat::Avro, raw).unwrap();
        let paths: Vec<String> = def.fields().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, vec!["value", "next", "children"]);
        // Recursive types are also compatible with themselves and with a compatible evolution.
        let evolved = raw.replace(
            r#"{"name":"value","type":"int"}"#,
            r#"{"name":"value","type":"long"},{"name":"extra","type":"string","default":""}"#,
        );
        assert!(backward(raw, &evolved).is_empty());
        assert!(backward(raw, raw).is_empty());
        assert_eq!(forward(raw, &evolved).len(), 1);
    }

    #[test]
    fn non_record_root_has_no_fields() {
        let def = SchemaDefinition::parse(SchemaFormat::Avro, r#""string""#).unwrap();
        assert!(def.fields().is_empty());
        let def = SchemaDefinition::parse(
            SchemaFormat::Avro,
            r#"{"type":"array","items":{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}}"#,
        )
        .unwrap();
        let paths: Vec<String> = def.fields().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, vec!["[].a"]);
    }

    #[test]
    fn field_added_without_default() {
        let old = record(r#"{"name":"id","type":"long"}"#);
        let new = record(r#"{"name":"id","type":"long"},{"name":"email","type":"string"}"#);
        assert_eq!(
            backward(&old, &new),
            vec![(
                "email".to_string(),
                "field `email` added without a default: new readers cannot read old records".to_string()
            )]
        );
        assert!(forward(&old, &new).is_empty());
    }

    #[test]
    fn promotions() {
        let chain = ["int", "long", "float", "double"];
        for (i, from) in chain.iter().enumerate() {
            for (j, to) in chain.iter().enumerate() {
                let old = record(&format!(r#"{{"name":"n","type":"{from}"}}"#));
                let new = record(&format!(r#"{{"name":"n","type":"{to}"}}"#));
                assert_eq!(backward(&old, &new).is_empty(), j >= i, "{from} -> {to}");
            }
        }
        let s = record(r#"{"name":"n","type":"string"}"#);
        let b = record(r#"{"name":"n","type":"bytes"}"#);
        assert!(backward(&s, &b).is_empty());
        assert!(backward(&b, &s).is_empty());
        let issues = backward(&s, &record(r#"{"name":"n","type":"int"}"#));
        assert_eq!(
            issues,
            vec![(
                "n".into(),
                "type of field `n` changed from string to int: new readers cannot read old records".into()
            )]
        );
        // Logical types resolve like their physical type.
        let ts = record(r#"{"name":"n","type":{"type":"long","logicalType":"timestamp-millis"}}"#);
        let date = record(r#"{"name":"n","type":{"type":"int","logicalType":"date"}}"#);
        assert!(backward(&date, &ts).is_empty());
        assert!(!backward(&ts, &date).is_empty());
    }

    #[test]
    fn nested_paths_in_messages() {
        let old = record(
            r#"{"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
                {"name":"sku","type":"string"}]}}},
               {"name":"attrs","type":{"type":"map","values":{"type":"record","name":"Attr","fields":[
                {"name":"v","type":"int"}]}}},
               {"name":"customer","type":["null",{"type":"record","name":"Customer","fields":[
                {"name":"name","type":"string"}]}],"default":null}"#,
        );
        let new = record(
            r#"{"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
                {"name":"sku","type":"long"}]}}},
               {"name":"attrs","type":{"type":"map","values":{"type":"record","name":"Attr","fields":[
                {"name":"v","type":"int"},{"name":"w","type":"int"}]}}},
               {"name":"customer","type":["null",{"type":"record","name":"Customer","fields":[
                {"name":"name","type":"string"},{"name":"email","type":"string"}]}],"default":null}"#,
        );
        let paths: Vec<String> = backward(&old, &new).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, vec!["lines[].sku", "attrs{}.w", "customer.email"]);
    }

    #[test]
    fn removed_field_forward_needs_default() {
        let old = record(r#"{"name":"id","type":"long"},{"name":"note","type":"string"}"#);
        let new = record(r#"{"name":"id","type":"long"}"#);
        assert!(backward(&old, &new).is_empty());
        let issues = forward(&old, &new);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].0, "note");
    }

    #[test]
    fn enums() {
        let e = |symbols: &str, default: &str| {
            record(&format!(
                r#"{{"name":"s","type":{{"type":"enum","name":"Status","symbols":[{symbols}]{default}}}}}"#
            ))
        };
        let ab = e(r#""A","B""#, "");
        let abc = e(r#""A","B","C""#, "");
        assert!(backward(&ab, &abc).is_empty());
        assert_eq!(
            forward(&ab, &abc),
            vec![(
                "s".into(),
                "enum symbols [C] added to field `s`: old readers cannot read new records".into()
            )]
        );
        assert_eq!(
            backward(&abc, &ab),
            vec![(
                "s".into(),
                "enum symbols [C] removed from field `s`: new readers cannot read old records".into()
            )]
        );
        // A reader enum default absorbs unknown symbols.
        assert!(backward(&abc, &e(r#""A","B""#, r#","default":"A""#)).is_empty());
        // Renaming the enum needs an alias.
        let renamed = record(r#"{"name":"s","type":{"type":"enum","name":"State","symbols":["A","B"]}}"#);
        let issues = backward(&ab, &renamed);
        assert_eq!(issues.len(), 1);
        assert!(
            issues[0]
                .1
                .contains("name of field `s` changed from shop.Status to shop.State"),
            "{issues:?}"
        );
        let aliased =
            record(r#"{"name":"s","type":{"type":"enum","name":"State","aliases":["Status"],"symbols":["A","B"]}}"#);
        assert!(backward(&ab, &aliased).is_empty());
    }

    #[test]
    fn record_renames_and_aliases() {
        let old = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"}]}"#;
        let renamed =
            r#"{"type":"record","name":"Purchase","namespace":"shop","fields":[{"name":"id","type":"long"}]}"#;
        let aliased = r#"{"type":"record","name":"Purchase","namespace":"shop","aliases":["Order"],"fields":[{"name":"id","type":"long"}]}"#;
        let issues = backward(old, renamed);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].0, "");
        assert!(issues[0]
            .1
            .starts_with("name of the root schema changed from shop.Order to shop.Purchase"));
        assert!(backward(old, aliased).is_empty());
        // Aliases are a reader-side feature: the old reader does not know the new name.
        assert_eq!(forward(old, aliased).len(), 1);

        // Field rename through an alias.
        let old = record(r#"{"name":"mail","type":"string"}"#);
        let new = record(r#"{"name":"email","type":"string","aliases":["mail"]}"#);
        assert!(backward(&old, &new).is_empty());
        let issues = forward(&old, &new);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].0, "mail");
        // Without an alias it is a removal plus an addition without default.
        let bare = record(r#"{"name":"email","type":"string"}"#);
        assert_eq!(backward(&old, &bare)[0].0, "email");
    }

    #[test]
    fn unions() {
        let plain = record(r#"{"name":"a","type":"string"}"#);
        let nullable = record(r#"{"name":"a","type":["null","string"],"default":null}"#);
        assert!(backward(&plain, &nullable).is_empty());
        assert_eq!(
            forward(&plain, &nullable),
            vec![(
                "a".into(),
                "field `a` became nullable: old readers cannot read new records".into()
            )]
        );
        assert_eq!(
            backward(&nullable, &plain),
            vec![(
                "a".into(),
                "field `a` is no longer nullable: new readers cannot read old records".into()
            )]
        );
        // Adding a branch is backward compatible; removing one is not.
        let two = record(r#"{"name":"a","type":["null","string","long"],"default":null}"#);
        assert!(backward(&nullable, &two).is_empty());
        assert_eq!(
            backward(&two, &nullable),
            vec![(
                "a".into(),
                "field `a` no longer accepts long: new readers cannot read old records".into()
            )]
        );
        // A branch can be read through promotion.
        let ints = record(r#"{"name":"a","type":["null","int"],"default":null}"#);
        let doubles = record(r#"{"name":"a","type":["null","double"],"default":null}"#);
        assert!(backward(&ints, &doubles).is_empty());
        // Non-union writer into a union without a matching branch.
        let issues = backward(&record(r#"{"name":"a","type":"boolean"}"#), &nullable);
        assert_eq!(issues.len(), 1);
        assert!(
            issues[0].1.contains("changed from boolean to union<null,string>"),
            "{issues:?}"
        );
        // Nested record inside a nullable union is checked field by field.
        let n1 = record(
            r#"{"name":"c","type":["null",{"type":"record","name":"C","fields":[{"name":"x","type":"int"}]}],"default":null}"#,
        );
        let n2 = record(
            r#"{"name":"c","type":["null",{"type":"record","name":"C","fields":[{"name":"x","type":"string"}]}],"default":null}"#,
        );
        assert_eq!(backward(&n1, &n2)[0].0, "c.x");
        // Union writer read by a non-union reader with an unrelated type.
        let issues = backward(&nullable, &record(r#"{"name":"a","type":"boolean"}"#));
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert!(
            issues[0].1.contains("changed from union<null,string> to boolean"),
            "{issues:?}"
        );
    }

    #[test]
    fn maps_arrays_and_fixed() {
        let a = |t: &str| record(&format!(r#"{{"name":"a","type":{t}}}"#));
        assert!(backward(
            &a(r#"{"type":"array","items":"int"}"#),
            &a(r#"{"type":"array","items":"long"}"#)
        )
        .is_empty());
        assert_eq!(
            backward(
                &a(r#"{"type":"array","items":"long"}"#),
                &a(r#"{"type":"array","items":"int"}"#)
            )[0]
            .0,
            "a[]"
        );
        assert!(backward(
            &a(r#"{"type":"map","values":"int"}"#),
            &a(r#"{"type":"map","values":"long"}"#)
        )
        .is_empty());
        assert_eq!(
            backward(
                &a(r#"{"type":"map","values":"string"}"#),
                &a(r#"{"type":"map","values":"int"}"#)
            )[0]
            .0,
            "a{}"
        );
        assert!(!backward(
            &a(r#"{"type":"array","items":"int"}"#),
            &a(r#"{"type":"map","values":"int"}"#)
        )
        .is_empty());
        let f = |size: u32| a(&format!(r#"{{"type":"fixed","name":"H","size":{size}}}"#));
        assert!(backward(&f(16), &f(16)).is_empty());
        let issues = backward(&f(16), &f(32));
        assert!(
            issues[0].1.contains("size of field `a` changed from 16 to 32"),
            "{issues:?}"
        );
        let d = |p: u32, s: u32| {
            a(&format!(
                r#"{{"type":"bytes","logicalType":"decimal","precision":{p},"scale":{s}}}"#
            ))
        };
        assert!(backward(&d(10, 2), &d(12, 2)).is_empty());
        assert!(!backward(&d(10, 2), &d(10, 3)).is_empty());
    }

    #[test]
    fn reports_every_problem() {
        let old = record(r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#);
        let new = record(r#"{"name":"a","type":"string"},{"name":"b","type":"boolean"},{"name":"c","type":"int"}"#);
        let paths: Vec<String> = backward(&old, &new).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, vec!["a", "b", "c"]);
    }

    #[test]
    fn references_to_named_types_are_resolved() {
        // The second use of `Address` is a reference in both versions.
        let v = |extra: &str| {
            record(&format!(
                r#"{{"name":"home","type":{{"type":"record","name":"Address","fields":[{{"name":"city","type":"string"}}{extra}]}}}},
                   {{"name":"work","type":"Address"}}"#
            ))
        };
        let old = v("");
        let new = v(r#",{"name":"zip","type":"string"}"#);
        let paths: Vec<String> = backward(&old, &new).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, vec!["home.zip", "work.zip"]);
        // Inline definition on one side, reference on the other.
        let inline = record(
            r#"{"name":"work","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}}"#,
        );
        assert!(backward(&old, &inline).is_empty());
    }
}
