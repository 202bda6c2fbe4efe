//! Schema definitions as `registerSchemaVersion` receives them: parsing,
//! then compatibility checks and a diff between two definitions, must never
//! panic (or recurse without bound) whatever the text.
//!
//! Input: byte 0 picks the formats and the compatibility mode; the rest is
//! two definitions separated by a 0xFF byte (one definition: compared with
//! itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_catalog::catalog::schema::{check_compatibility, diff, CompatibilityMode, SchemaDefinition, SchemaFormat};

fn format(bit: bool) -> SchemaFormat {
    if bit {
        SchemaFormat::JsonSchema
    } else {
        SchemaFormat::Avro
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(2, |b| *b == 0xFF);
    let first = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let second = parts.next().map(|p| String::from_utf8_lossy(p).into_owned());
    let old = SchemaDefinition::parse(format(selector & 1 == 1), &first);
    let new = match &second {
        Some(text) => SchemaDefinition::parse(format(selector & 2 == 2), text),
        None => SchemaDefinition::parse(format(selector & 1 == 1), &first),
    };
    let mode = CompatibilityMode::ALL[usize::from(selector >> 2) % CompatibilityMode::ALL.len()];
    if let (Ok(old), Ok(new)) = (old, new) {
        let _ = check_compatibility(mode, &new, &[(1, old.clone())]);
        let _ = check_compatibility(mode, &old, &[(1, new.clone()), (2, old.clone())]);
        let _ = diff(&old, &new);
        let _ = new.fields();
        let _ = new.canonical();
    }
});
