//! Turns a Kafka record's value into JSON using the product's registered
//! schema versions.
//!
//! Tried in this order:
//! 1. empty value → `null` (a tombstone);
//! 2. Confluent wire format: byte 0, then a 4-byte big-endian schema id —
//!    the id is the schema version's global numeric id (`schemaId` on
//!    `SchemaVersion`, table `schema_registry_id`), stable once given;
//! 3. JSON text;
//! 4. plain Avro (no header), with each of the product's Avro versions from
//!    the newest, accepted only if it consumes every byte.
//!
//! Anything else is a [`DecodeFailure`] carrying the raw bytes in base64: a
//! record is never silently dropped.
//!
//! Each version is read through its [`SchemaDefinition`], parsed as registration
//! parses it (`catalog::parse_stored`): its Avro schema, its JSON Schema
//! validator (the same draft) and its field list (for the PII paths).

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::Schema as AvroSchema;
use base64::Engine;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use crate::catalog::schema::SchemaDefinition;
use crate::store::entities::{schema_registry_id, schema_version};
use crate::store::Store;

use super::mask::{masked, PiiPath};
use super::StreamError;

/// How a record's value was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Empty,
    Json,
    AvroConfluent,
    Avro,
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub value: Value,
    pub encoding: Encoding,
    /// The schema version it was read with (Avro) or validated against (JSON).
    pub schema_version: Option<i32>,
    /// Whether it conforms to a registered schema version of the product.
    pub conforms: bool,
    /// The value with its PII fields masked, when it has any (readers
    /// without PII access get this one).
    pub masked: Option<Value>,
}

/// A value that could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeFailure {
    pub message: String,
    pub raw_base64: String,
}

/// The schema id of a Confluent wire-format value (magic byte 0, then the
/// id in 4 big-endian bytes).
fn wire_schema_id(bytes: &[u8]) -> Option<i64> {
    match bytes {
        [0, a, b, c, d, ..] => Some(i64::from(u32::from_be_bytes([*a, *b, *c, *d]))),
        _ => None,
    }
}

struct Known {
    version: i32,
    registry_id: i64,
    /// `None` when the stored definition no longer parses.
    definition: Option<SchemaDefinition>,
}

impl Known {
    fn avro(&self) -> Option<&AvroSchema> {
        Some(self.definition.as_ref()?.avro()?.schema())
    }

    fn json(&self) -> Option<&jsonschema::Validator> {
        Some(self.definition.as_ref()?.json()?.validator())
    }
}

/// The schema versions of one product, parsed once per feed.
#[derive(Default)]
pub struct Decoder {
    /// Newest first.
    versions: Vec<Known>,
    /// Fields tagged PII in any version.
    pii: Vec<PiiPath>,
}

impl Decoder {
    /// A decoder that knows no schema (JSON only; e.g. the catalog events).
    pub fn json_only() -> Self {
        Self::default()
    }

    /// Loads and parses every schema version of `product_id`. A definition
    /// that does not parse is skipped (and logged), never fatal.
    pub async fn load(store: &Store, product_id: &str) -> Result<Self, StreamError> {
        let rows = schema_version::Entity::find()
            .filter(schema_version::Column::ProductId.eq(product_id))
            .order_by_desc(schema_version::Column::Version)
            .all(store.db())
            .await?;
        let ids = schema_registry_id::Entity::find()
            .filter(schema_registry_id::Column::SchemaVersionId.is_in(rows.iter().map(|r| r.id.clone())))
            .all(store.db())
            .await?;
        let mut versions = Vec::with_capacity(rows.len());
        let mut pii: Vec<String> = Vec::new();
        for row in rows {
            let registry_id = ids.iter().find(|i| i.schema_version_id == row.id).map_or(-1, |i| i.id);
            let definition = match crate::catalog::parse_stored(&row) {
                Ok(definition) => Some(definition),
                Err(e) => {
                    tracing::warn!(product = product_id, version = row.version, error = %e, "unusable schema");
                    None
                }
            };
            if let Some(definition) = &definition {
                pii.extend(
                    definition
                        .fields()
                        .into_iter()
                        .filter(|f| f.tags.iter().any(|t| t == "PII"))
                        .map(|f| f.path),
                );
            }
            versions.push(Known {
                version: row.version,
                registry_id,
                definition,
            });
        }
        pii.sort();
        pii.dedup();
        Ok(Self {
            versions,
            pii: pii.iter().map(|p| PiiPath::parse(p)).collect(),
        })
    }

    /// The schema id of a Confluent wire-format value that this decoder
    /// does not know (a version registered after it was loaded).
    pub fn unknown_schema_id(&self, bytes: Option<&[u8]>) -> Option<i64> {
        let id = wire_schema_id(bytes?)?;
        (!self.versions.iter().any(|k| k.registry_id == id)).then_some(id)
    }

    /// Decodes one record value, with its PII-masked copy.
    pub fn decode(&self, bytes: Option<&[u8]>) -> Result<Decoded, DecodeFailure> {
        let mut decoded = self.decode_value(bytes)?;
        if !self.pii.is_empty() {
            decoded.masked = masked(&decoded.value, &self.pii);
        }
        Ok(decoded)
    }

    fn decode_value(&self, bytes: Option<&[u8]>) -> Result<Decoded, DecodeFailure> {
        let bytes = match bytes {
            None | Some([]) => {
                return Ok(Decoded {
                    value: Value::Null,
                    encoding: Encoding::Empty,
                    schema_version: None,
                    conforms: true,
                    masked: None,
                });
            }
            Some(b) => b,
        };
        let mut reasons = Vec::new();
        if let Some(id) = wire_schema_id(bytes) {
            match self.versions.iter().find(|k| k.registry_id == id) {
                Some(known) => match known.avro() {
                    Some(schema) => match read_avro(schema, &bytes[5..]) {
                        Ok(value) => {
                            return Ok(Decoded {
                                value,
                                encoding: Encoding::AvroConfluent,
                                schema_version: Some(known.version),
                                conforms: true,
                                masked: None,
                            });
                        }
                        Err(e) => reasons.push(format!("Avro with schema id {id} (version {}): {e}", known.version)),
                    },
                    None => reasons.push(format!("schema id {id} is not an Avro schema")),
                },
                None => reasons.push(format!("unknown schema id {id} for this product")),
            }
        }
        if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
            let matched = self
                .versions
                .iter()
                .find(|k| k.json().is_some_and(|v| v.is_valid(&value)));
            return Ok(Decoded {
                conforms: matched.is_some(),
                schema_version: matched.map(|k| k.version),
                value,
                encoding: Encoding::Json,
                masked: None,
            });
        }
        for known in &self.versions {
            if let Some(schema) = known.avro() {
                if let Ok(value) = read_avro(schema, bytes) {
                    return Ok(Decoded {
                        value,
                        encoding: Encoding::Avro,
                        schema_version: Some(known.version),
                        conforms: true,
                        masked: None,
                    });
                }
            }
        }
        reasons.push(if self.versions.iter().any(|k| k.avro().is_some()) {
            "not JSON, and no Avro schema version of the product reads it".into()
        } else {
            "not JSON".into()
        });
        Err(DecodeFailure {
            message: reasons.join("; "),
            raw_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }
}

/// Reads one Avro datum that must span exactly `bytes`.
fn read_avro(schema: &AvroSchema, bytes: &[u8]) -> Result<Value, String> {
    let reader = GenericDatumReader::builder(schema).build().map_err(|e| e.to_string())?;
    let mut rest = bytes;
    let value = reader.read_value(&mut rest).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes", rest.len()));
    }
    Value::try_from(value).map_err(|e| e.to_string())
}
