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
use apache_avro::types::Value as AvroValue;
use apache_avro::Schema as AvroSchema;
use base64::Engine;
use num_bigint::{BigInt, Sign};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use crate::catalog::schema::{AvroSchema as ParsedAvro, SchemaDefinition};
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
    fn avro(&self) -> Option<&ParsedAvro> {
        self.definition.as_ref()?.avro()
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
fn read_avro(schema: &ParsedAvro, bytes: &[u8]) -> Result<Value, String> {
    let reader = GenericDatumReader::builder(schema.schema())
        .build()
        .map_err(|e| e.to_string())?;
    let mut rest = bytes;
    let value = reader.read_value(&mut rest).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes", rest.len()));
    }
    to_json(value, schema.schema(), schema)
}

/// An Avro datum as JSON, read with its schema (named types resolved as
/// registration resolves them): a decimal as its digits (`"-12.50"`, a
/// string: a JSON number would lose its scale) rather than its unscaled
/// two's-complement bytes, which is all `Value::try_from` knows of it;
/// everything else as `Value::try_from` gives it.
fn to_json(value: AvroValue, schema: &AvroSchema, parsed: &ParsedAvro) -> Result<Value, String> {
    let schema = match schema {
        AvroSchema::Ref { name } => parsed.named(name).ok_or_else(|| format!("unknown Avro type {name}"))?,
        schema => schema,
    };
    Ok(match (value, schema) {
        (AvroValue::Decimal(d), AvroSchema::Decimal(decimal)) => {
            let bytes = <Vec<u8>>::try_from(&d).map_err(|e| e.to_string())?;
            Value::String(decimal_text(&bytes, decimal.scale))
        }
        (AvroValue::BigDecimal(d), _) => Value::String(d.to_string()),
        (AvroValue::Union(i, value), AvroSchema::Union(union)) => {
            let variant = union.variants().get(i as usize).ok_or("union branch out of range")?;
            to_json(*value, variant, parsed)?
        }
        (AvroValue::Array(items), AvroSchema::Array(array)) => Value::Array(
            items
                .into_iter()
                .map(|item| to_json(item, &array.items, parsed))
                .collect::<Result<_, _>>()?,
        ),
        (AvroValue::Map(entries), AvroSchema::Map(map)) => Value::Object(
            entries
                .into_iter()
                .map(|(key, value)| Ok((key, to_json(value, &map.types, parsed)?)))
                .collect::<Result<_, String>>()?,
        ),
        // The reader gives a record's fields in its schema's order.
        (AvroValue::Record(fields), AvroSchema::Record(record)) => Value::Object(
            fields
                .into_iter()
                .zip(&record.fields)
                .map(|((name, value), field)| Ok((name, to_json(value, &field.schema, parsed)?)))
                .collect::<Result<_, String>>()?,
        ),
        (value, _) => Value::try_from(value).map_err(|e| e.to_string())?,
    })
}

/// The decimal whose unscaled value is `bytes` (two's complement, big
/// endian, any length) and whose scale is `scale`: `[0x04, 0xD2]`, 2 →
/// `12.34`.
fn decimal_text(bytes: &[u8], scale: usize) -> String {
    let unscaled = BigInt::from_signed_bytes_be(bytes);
    let digits = format!("{:0>width$}", unscaled.magnitude().to_string(), width = scale + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let sign = if unscaled.sign() == Sign::Minus { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::SchemaFormat;

    #[test]
    fn decimals_read_as_their_digits() {
        assert_eq!(decimal_text(&[0x04, 0xD2], 2), "12.34");
        assert_eq!(decimal_text(&[0xFB, 0x2E], 2), "-12.34");
        assert_eq!(decimal_text(&[0x05], 2), "0.05");
        assert_eq!(decimal_text(&[0xFF], 3), "-0.001");
        assert_eq!(decimal_text(&[0x80], 0), "-128");
        assert_eq!(decimal_text(&[0x04, 0xD2], 0), "1234");
        assert_eq!(decimal_text(&[], 2), "0.00");
        // Wider than any machine integer: 2^127 has 39 digits.
        let mut wide = vec![0u8; 17];
        wide[1] = 0x80;
        assert_eq!(decimal_text(&wide, 2), "1701411834604692317316873037158841057.28");
    }

    #[test]
    fn an_avro_record_reads_its_decimals_through_unions_arrays_and_named_types() {
        let definition = SchemaDefinition::parse(
            SchemaFormat::Avro,
            r#"{"type": "record", "name": "Order", "fields": [
                {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
                {"name": "tax", "type": ["null", {"type": "fixed", "name": "Money", "size": 8, "logicalType": "decimal", "precision": 12, "scale": 2}]},
                {"name": "lines", "type": {"type": "array", "items": "Money"}},
                {"name": "id", "type": "string"}
            ]}"#,
        )
        .unwrap();
        let schema = definition.avro().unwrap();
        let money = |cents: i64| apache_avro::Decimal::from(cents.to_be_bytes().to_vec());
        let record = AvroValue::Record(vec![
            (
                "total".into(),
                AvroValue::Decimal(apache_avro::Decimal::from(vec![0x30, 0x39])),
            ),
            (
                "tax".into(),
                AvroValue::Union(1, Box::new(AvroValue::Decimal(money(-250)))),
            ),
            ("lines".into(), AvroValue::Array(vec![AvroValue::Decimal(money(1999))])),
            ("id".into(), AvroValue::String("o-1".into())),
        ]);
        let writer = apache_avro::writer::datum::GenericDatumWriter::builder(schema.schema())
            .build()
            .unwrap();
        let bytes = writer.write_value_to_vec(record).unwrap();
        assert_eq!(
            read_avro(schema, &bytes).unwrap(),
            serde_json::json!({"total": "123.45", "tax": "-2.50", "lines": ["19.99"], "id": "o-1"})
        );
    }
}
