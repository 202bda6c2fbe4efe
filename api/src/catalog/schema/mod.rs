//! TEMPORARY STUB (replaced by the real module).
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SchemaFormat { Avro, JsonSchema }
impl std::fmt::Display for SchemaFormat { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "x") } }
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CompatibilityMode { #[default] Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive, None }
#[derive(Debug, thiserror::Error)]
pub enum SchemaError { #[error("invalid {format} schema: {message}")] Invalid { format: SchemaFormat, message: String } }
#[derive(Debug, Clone)]
pub struct SchemaDefinition { format: SchemaFormat, raw: String }
impl SchemaDefinition {
    pub fn parse(format: SchemaFormat, raw: &str) -> Result<Self, SchemaError> { Ok(Self { format, raw: raw.into() }) }
    pub fn format(&self) -> SchemaFormat { self.format }
    pub fn raw(&self) -> &str { &self.raw }
    pub fn canonical(&self) -> String { self.raw.clone() }
    pub fn fields(&self) -> Vec<SchemaField> { vec![] }
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaField { pub path: String, pub type_name: String, pub doc: Option<String>, pub nullable: bool, pub required: bool, pub default: Option<serde_json::Value>, pub tags: Vec<String> }
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incompatibility { pub path: String, pub message: String, pub against_version: Option<i32> }
pub fn check_compatibility(_mode: CompatibilityMode, _new: &SchemaDefinition, _previous: &[(i32, SchemaDefinition)]) -> Vec<Incompatibility> { vec![] }
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangeKind { Added, Removed, Changed }
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange { pub path: String, pub kind: ChangeKind, pub before: Option<SchemaField>, pub after: Option<SchemaField>, pub details: Vec<String> }
pub fn diff(_from: &SchemaDefinition, _to: &SchemaDefinition) -> Vec<FieldChange> { vec![] }
