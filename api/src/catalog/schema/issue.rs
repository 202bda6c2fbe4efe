//! What a reader/writer check finds: the format-specific rules (`avro.rs`,
//! `json/compat.rs`) report [`Issue`]s in reader/writer terms; `compat.rs` turns
//! them into "added"/"removed" once it knows which side is the new schema.

/// Budget of comparison steps for one reader/writer check; exhausting it reports the schema
/// as too complex instead of spending unbounded time on adversarial definitions.
pub(super) const MAX_STEPS: usize = 400_000;

/// One reason a reader cannot read data produced by a writer.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Issue {
    pub path: String,
    /// What the path designates, e.g. "field `a.b`", "property `a`", "the root schema".
    pub subject: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// A reader field has no counterpart in the writer and no default (Avro).
    FieldMissingDefault,
    /// Some aspect differs; `writer`/`reader` are human renderings of each side.
    Changed {
        what: &'static str,
        writer: String,
        reader: String,
    },
    /// Enum symbols/values the writer may produce but the reader does not know.
    EnumValuesMissing { noun: &'static str, values: Vec<String> },
    /// The reader restricts to an enum while the writer did not (JSON Schema).
    EnumAdded,
    /// A writer union branch (or accepted type) the reader cannot read.
    BranchUnreadable { branch: String },
    /// A reader-only property that does not accept everything the writer's open model allows.
    PropertyInOpenModel,
    /// A reader-only property incompatible with the writer's `additionalProperties` schema.
    PropertyInPartiallyOpenModel,
    /// A writer-only property the reader's closed model rejects.
    PropertyNotInClosedModel,
    /// A writer-only property incompatible with the reader's `additionalProperties` schema.
    PropertyNotInPartiallyOpenModel,
    /// The reader requires a property the writer did not require.
    RequiredMissing { declared_by_writer: bool },
    /// The step budget ran out.
    TooComplex,
}

/// Adds the whole-schema "too complex" issue when a check hit its step
/// budget (once, however many checks aborted).
pub(super) fn with_abort_notice(mut issues: Vec<Issue>, aborted: bool, subject: String) -> Vec<Issue> {
    if aborted && !issues.iter().any(|i| i.kind == Kind::TooComplex) {
        issues.push(Issue {
            path: String::new(),
            subject,
            kind: Kind::TooComplex,
        });
    }
    issues
}
