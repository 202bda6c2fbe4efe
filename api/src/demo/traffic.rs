//! Live demo traffic: synthetic records for the demo's published products,
//! generated from each product's latest schema version, so that
//! `productEvents`, `productHealth` and the freshness flags have something
//! to show.
//!
//! Avro products get the Confluent wire format (magic byte 0, the schema
//! id, the datum); JSON Schema products get JSON text. The rate follows the
//! SLA tier (PLATINUM 2/s down to BRONZE 0.2/s; about 25 records/s for the
//! whole demo), which the embedded broker sustains for hours. Products marked
//! `"traffic": false` in the demo data get none, so the demo also shows a
//! stale product.
//!
//! The latest version is read as registration reads it
//! (`catalog::parse_stored`); Avro references follow its named types.

use std::time::Duration;

use apache_avro::schema::{UnionSchema, UuidSchema};
use apache_avro::types::Value as Avro;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema as AvroSchema;
use chrono::Utc;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Map, Value};

use crate::catalog::schema::{json_validator, AvroSchema as ParsedAvro};
use crate::catalog::SlaTier;
use crate::catalog::{Catalog, ProductStatus};
use crate::store::entities::{data_product, schema_version};
use crate::stream::Live;

/// Deepest nesting generated (a recursive schema stops here).
const MAX_DEPTH: usize = 6;

/// How to produce one product's records.
struct Source {
    topic: String,
    /// Records per second.
    rate: f64,
    encoding: Encoding,
}

enum Encoding {
    /// Confluent wire format with this schema id.
    Avro {
        definition: ParsedAvro,
        schema_id: u32,
    },
    Json {
        schema: Value,
    },
}

/// Starts producing for every published demo product; runs as long as the
/// server. Failures are logged, never fatal (the catalog works without).
pub async fn start(catalog: &Catalog, live: &Live) {
    let sources = match sources(catalog).await {
        Ok(sources) => sources,
        Err(e) => {
            tracing::warn!(error = %e, "demo traffic: cannot read the products");
            return;
        }
    };
    let producer: FutureProducer = match live.kafka().client(&[("linger.ms", "100"), ("acks", "1")]).create() {
        Ok(producer) => producer,
        Err(e) => {
            tracing::warn!(error = %e, "demo traffic: no producer");
            return;
        }
    };
    tracing::info!(products = sources.len(), "demo traffic started");
    let tasks = live.tasks();
    for source in sources {
        tasks.spawn(produce(producer.clone(), source));
    }
}

async fn sources(catalog: &Catalog) -> Result<Vec<Source>, sea_orm::DbErr> {
    let db = catalog.store().db();
    let products = data_product::Entity::find()
        .filter(data_product::Column::Status.eq(ProductStatus::Published.as_str()))
        .all(db)
        .await?;
    let quiet = super::quiet_products();
    let mut sources = Vec::new();
    for product in products {
        if quiet.contains(&product.qualified_name) {
            continue;
        }
        let Some(latest) = schema_version::Entity::find()
            .filter(schema_version::Column::ProductId.eq(&product.id))
            .order_by_desc(schema_version::Column::Version)
            .one(db)
            .await?
        else {
            continue;
        };
        let Ok(definition) = crate::catalog::parse_stored(&latest) else {
            continue;
        };
        let encoding = if let Some(avro) = definition.avro() {
            let Ok(Some(schema_id)) = catalog.schema_registry_id(&latest.id).await else {
                continue;
            };
            Encoding::Avro {
                definition: avro.clone(),
                schema_id: schema_id as u32,
            }
        } else if let Some(json) = definition.json() {
            Encoding::Json {
                schema: json.to_value(),
            }
        } else {
            continue;
        };
        let rate = match product.sla_tier {
            Some(SlaTier::Platinum) => 2.0,
            Some(SlaTier::Gold) => 1.0,
            Some(SlaTier::Silver) => 0.5,
            _ => 0.2,
        };
        sources.push(Source {
            topic: product.topic_name,
            rate,
            encoding,
        });
    }
    Ok(sources)
}

async fn produce(producer: FutureProducer, source: Source) {
    let period = Duration::from_secs_f64(1.0 / source.rate);
    // Spread the products' first records over one period.
    tokio::time::sleep(period.mul_f64(fastrand::f64())).await;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        let (key, payload) = match &source.encoding {
            Encoding::Avro { definition, schema_id } => {
                let value = avro_sample(definition.schema(), definition, "", 0);
                let key = key_of_avro(&value);
                let mut bytes = vec![0u8];
                bytes.extend_from_slice(&schema_id.to_be_bytes());
                match GenericDatumWriter::builder(definition.schema())
                    .build()
                    .and_then(|w| w.write_value_to_vec(value))
                {
                    Ok(datum) => bytes.extend(datum),
                    Err(e) => {
                        tracing::warn!(topic = %source.topic, error = %e, "demo traffic: cannot encode; stopping");
                        return;
                    }
                }
                (key, bytes)
            }
            Encoding::Json { schema } => {
                let value = json_sample(schema, "", 0);
                (key_of_json(&value), value.to_string().into_bytes())
            }
        };
        let record = FutureRecord::to(&source.topic).key(&key).payload(&payload);
        if let Err((e, _)) = producer.send(record, Duration::from_secs(5)).await {
            tracing::debug!(topic = %source.topic, error = %e, "demo traffic: produce failed");
        }
    }
}

/// The record key: the first `…id` string field, else a fresh id.
fn key_of_avro(value: &Avro) -> String {
    if let Avro::Record(fields) = value {
        for (name, field) in fields {
            if is_id(name) {
                if let Avro::String(s) | Avro::Enum(_, s) = field {
                    return s.clone();
                }
                if let Avro::Uuid(u) = field {
                    return u.to_string();
                }
            }
        }
    }
    uuid::Uuid::new_v4().to_string()
}

fn key_of_json(value: &Value) -> String {
    value
        .as_object()
        .and_then(|o| o.iter().find(|(k, v)| is_id(k) && v.is_string()))
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn is_id(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("_id") || lower.ends_with("id") && lower.len() > 2
}

/// A plausible string for a field, from its name.
fn text_for(field: &str) -> String {
    let lower = field.to_ascii_lowercase();
    let pick = |options: &[&str]| options[fastrand::usize(..options.len())].to_owned();
    if lower.contains("email") {
        format!("user{}@example.com", fastrand::u32(1..5000))
    } else if lower.contains("country") {
        pick(&["DE", "FR", "NL", "US", "GB", "ES", "IT", "PL"])
    } else if lower.contains("currency") {
        pick(&["EUR", "USD", "GBP"])
    } else if lower.contains("url") || lower.contains("page") || lower.contains("path") {
        pick(&["/", "/search", "/product/42", "/cart", "/checkout", "/account"])
    } else if lower.contains("name") {
        pick(&["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis"])
    } else if lower.contains("status") || lower.contains("state") {
        pick(&["ACTIVE", "PENDING", "DONE"])
    } else if lower.ends_with("id") {
        format!(
            "{}-{}",
            lower.trim_end_matches("id").trim_end_matches('_'),
            fastrand::u32(1..100_000)
        )
    } else {
        pick(&["alpha", "beta", "gamma", "delta", "epsilon"])
    }
}

/// A value of `schema`, a part of `definition` (whose named types references follow).
fn avro_sample(schema: &AvroSchema, definition: &ParsedAvro, field: &str, depth: usize) -> Avro {
    let now = Utc::now();
    match schema {
        AvroSchema::Null => Avro::Null,
        AvroSchema::Boolean => Avro::Boolean(fastrand::bool()),
        AvroSchema::Int => Avro::Int(fastrand::i32(0..1000)),
        AvroSchema::Long => Avro::Long(fastrand::i64(0..1_000_000)),
        AvroSchema::Float => Avro::Float(fastrand::f32() * 100.0),
        AvroSchema::Double => Avro::Double((fastrand::f64() * 10_000.0).round() / 100.0),
        AvroSchema::Bytes => Avro::Bytes((0..8).map(|_| fastrand::u8(..)).collect()),
        AvroSchema::String => Avro::String(text_for(field)),
        AvroSchema::Uuid(UuidSchema::String | UuidSchema::Bytes) | AvroSchema::Uuid(_) => {
            Avro::Uuid(uuid::Uuid::new_v4())
        }
        AvroSchema::Date => Avro::Date((now.timestamp() / 86_400) as i32),
        AvroSchema::TimeMillis => Avro::TimeMillis(fastrand::i32(0..86_400_000)),
        AvroSchema::TimeMicros => Avro::TimeMicros(fastrand::i64(0..86_400_000_000)),
        AvroSchema::TimestampMillis => Avro::TimestampMillis(now.timestamp_millis()),
        AvroSchema::TimestampMicros => Avro::TimestampMicros(now.timestamp_micros()),
        AvroSchema::TimestampNanos => Avro::TimestampNanos(now.timestamp_micros() * 1000),
        AvroSchema::LocalTimestampMillis => Avro::LocalTimestampMillis(now.timestamp_millis()),
        AvroSchema::LocalTimestampMicros => Avro::LocalTimestampMicros(now.timestamp_micros()),
        AvroSchema::LocalTimestampNanos => Avro::LocalTimestampNanos(now.timestamp_micros() * 1000),
        // An amount, always positive: four bytes of two's complement keep
        // the sign bit clear (two bytes made every value from 32,768 negative).
        AvroSchema::Decimal(_) | AvroSchema::BigDecimal => Avro::Decimal(apache_avro::Decimal::from(
            fastrand::u32(100..60_000).to_be_bytes().to_vec(),
        )),
        AvroSchema::Fixed(f) => Avro::Fixed(f.size, (0..f.size).map(|_| fastrand::u8(..)).collect()),
        AvroSchema::Duration(_) => Avro::Duration(apache_avro::Duration::new(
            apache_avro::Months::new(0),
            apache_avro::Days::new(fastrand::u32(0..30)),
            apache_avro::Millis::new(0),
        )),
        AvroSchema::Enum(e) => {
            let i = fastrand::usize(..e.symbols.len().max(1));
            Avro::Enum(i as u32, e.symbols.get(i).cloned().unwrap_or_default())
        }
        AvroSchema::Array(a) if depth < MAX_DEPTH => Avro::Array(
            (0..fastrand::usize(1..4))
                .map(|_| avro_sample(&a.items, definition, field, depth + 1))
                .collect(),
        ),
        AvroSchema::Map(m) if depth < MAX_DEPTH => Avro::Map(
            (0..fastrand::usize(1..3))
                .map(|i| (format!("k{i}"), avro_sample(&m.types, definition, field, depth + 1)))
                .collect(),
        ),
        AvroSchema::Array(_) => Avro::Array(Vec::new()),
        AvroSchema::Map(_) => Avro::Map(Default::default()),
        AvroSchema::Union(u) => union_sample(u, definition, field, depth),
        AvroSchema::Record(record) => Avro::Record(
            record
                .fields
                .iter()
                .map(|f| (f.name.clone(), avro_sample(&f.schema, definition, &f.name, depth + 1)))
                .collect(),
        ),
        AvroSchema::Ref { name } => match definition.named(name) {
            Some(named) if depth < MAX_DEPTH => avro_sample(named, definition, field, depth + 1),
            _ => Avro::Null,
        },
    }
}

/// A union: null now and then when allowed, else one of the other branches.
fn union_sample(union: &UnionSchema, definition: &ParsedAvro, field: &str, depth: usize) -> Avro {
    let variants = union.variants();
    let null = variants.iter().position(|v| matches!(v, AvroSchema::Null));
    let others: Vec<usize> = (0..variants.len()).filter(|i| Some(*i) != null).collect();
    let index = match null {
        Some(n) if others.is_empty() || fastrand::u8(..5) == 0 || depth >= MAX_DEPTH => n,
        _ => others[fastrand::usize(..others.len())],
    };
    Avro::Union(
        index as u32,
        Box::new(avro_sample(&variants[index], definition, field, depth + 1)),
    )
}

fn json_sample(schema: &Value, field: &str, depth: usize) -> Value {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.is_empty() {
            return values[fastrand::usize(..values.len())].clone();
        }
    }
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        // A list of types: the first that is not null.
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match kind {
        "object" if depth < MAX_DEPTH => {
            let mut object = Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    object.insert(name.clone(), json_sample(property, name, depth + 1));
                }
            }
            Value::Object(object)
        }
        "array" if depth < MAX_DEPTH => {
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            Value::Array(
                (0..fastrand::usize(1..4))
                    .map(|_| json_sample(&items, field, depth + 1))
                    .collect(),
            )
        }
        "integer" => {
            let min = schema.get("minimum").and_then(Value::as_i64).unwrap_or(0);
            let max = schema
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(min + 1000)
                .max(min);
            json!(fastrand::i64(min..=max))
        }
        "number" => {
            let min = schema.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
            let max = schema
                .get("maximum")
                .and_then(Value::as_f64)
                .unwrap_or(min + 1000.0)
                .max(min);
            json!(((min + fastrand::f64() * (max - min)) * 100.0).round() / 100.0)
        }
        "boolean" => json!(fastrand::bool()),
        "null" => Value::Null,
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => json!(Utc::now().to_rfc3339()),
            Some("date") => json!(Utc::now().date_naive().to_string()),
            Some("uuid") => json!(uuid::Uuid::new_v4().to_string()),
            Some("email") => json!(format!("user{}@example.com", fastrand::u32(1..5000))),
            Some("uri") => json!(format!("https://shop.example.com{}", text_for("path"))),
            _ if schema.get("pattern").is_some() => patterned(schema, field),
            _ => json!(text_for(field)),
        },
        "object" => json!({}),
        _ => Value::Array(Vec::new()),
    }
}

/// A string for a schema with a `pattern`: the first of a few plausible
/// shapes (a name-based word, a decimal, a number, a code, an id) that the
/// pattern accepts.
fn patterned(schema: &Value, field: &str) -> Value {
    let candidates = [
        text_for(field),
        format!("{}.{:02}", fastrand::u32(1..500), fastrand::u32(0..100)),
        fastrand::u32(1..100_000).to_string(),
        format!("ABC-{}", fastrand::u32(100..1000)),
        uuid::Uuid::new_v4().to_string(),
    ];
    let Ok(validator) = json_validator(schema) else {
        return json!(text_for(field));
    };
    candidates
        .into_iter()
        .map(Value::String)
        .find(|candidate| validator.is_valid(candidate))
        .unwrap_or_else(|| json!(text_for(field)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::{SchemaDefinition, SchemaFormat};

    #[test]
    fn avro_samples_encode_with_their_schema() {
        let definition = SchemaDefinition::parse(
            SchemaFormat::Avro,
            r#"{"type":"record","name":"R","fields":[
                {"name":"order_id","type":"string"},
                {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
                {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
                {"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B"]}},
                {"name":"lines","type":{"type":"array","items":{"type":"record","name":"L","fields":[{"name":"sku","type":"string"}]}}},
                {"name":"next","type":["null","L"]},
                {"name":"tags","type":{"type":"map","values":"int"}}
            ]}"#,
        )
        .unwrap();
        let definition = definition.avro().unwrap();
        let schema = definition.schema();
        for _ in 0..50 {
            let value = avro_sample(schema, definition, "", 0);
            assert!(key_of_avro(&value).starts_with("order-"));
            let Avro::Record(fields) = &value else {
                panic!("a record")
            };
            let Some((_, Avro::Decimal(amount))) = fields.iter().find(|(name, _)| name == "amount") else {
                panic!("an amount")
            };
            let bytes = <Vec<u8>>::try_from(amount).unwrap();
            assert_eq!(bytes[0] & 0x80, 0, "an amount is positive: {bytes:?}");
            let writer = GenericDatumWriter::builder(schema).build().unwrap();
            writer.write_value_to_vec(value).expect("a generated value encodes");
        }
    }

    #[test]
    fn json_samples_validate_against_their_schema() {
        let schema = json!({"type":"object","required":["id","at"],"properties":{
            "id":{"type":"integer","minimum":1,"maximum":9},
            "at":{"type":"string","format":"date-time"},
            "country":{"type":["string","null"]},
            "status":{"enum":["A","B"]},
            "price":{"type":"string","pattern":"^-?[0-9]+\\.[0-9]{2}$"},
            "items":{"type":"array","items":{"type":"object","properties":{"qty":{"type":"number"}}}}
        }});
        let validator = jsonschema::validator_for(&schema).unwrap();
        for _ in 0..50 {
            let value = json_sample(&schema, "", 0);
            assert!(validator.is_valid(&value), "{value}");
        }
    }
}
