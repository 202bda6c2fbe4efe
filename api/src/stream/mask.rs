//! Masking of PII in decoded records: every value at a path of a schema
//! field tagged `PII` is replaced by [`MASK`].
//!
//! Paths are the catalog's field paths (see `catalog::schema`): `.` between
//! fields, `[]` for array items, `{}` for map values, `[i]` for tuple items
//! and `<Branch>` for a union branch — decoded JSON has no union level, so a
//! branch segment is skipped.

use serde_json::Value;

/// What a masked value becomes.
pub const MASK: &str = "***";

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Items,
    MapValues,
    Index(usize),
}

/// A parsed field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiPath(Vec<Step>);

impl PiiPath {
    /// Parses a catalog field path (`customer.emails[]`, `attrs{}.value`,
    /// `payment<Card>.number`).
    pub fn parse(path: &str) -> Self {
        let mut steps = Vec::new();
        for segment in path.split('.').filter(|s| !s.is_empty()) {
            let name_end = segment.find(['[', '{', '<']).unwrap_or(segment.len());
            if name_end > 0 {
                steps.push(Step::Field(segment[..name_end].to_owned()));
            }
            let mut rest = &segment[name_end..];
            while !rest.is_empty() {
                if let Some(r) = rest.strip_prefix("[]") {
                    steps.push(Step::Items);
                    rest = r;
                } else if let Some(r) = rest.strip_prefix("{}") {
                    steps.push(Step::MapValues);
                    rest = r;
                } else if let Some(close) = rest.strip_prefix('[').and_then(|r| r.find(']').map(|i| (r, i))) {
                    let (r, i) = close;
                    if let Ok(index) = r[..i].parse() {
                        steps.push(Step::Index(index));
                    }
                    rest = &r[i + 1..];
                } else if let Some(close) = rest.find('>') {
                    // A union branch: transparent in decoded JSON.
                    rest = &rest[close + 1..];
                } else {
                    break;
                }
            }
        }
        Self(steps)
    }
}

/// A copy of `value` with every PII path masked; `None` when nothing was
/// masked (the value can be shown as it is).
pub fn masked(value: &Value, paths: &[PiiPath]) -> Option<Value> {
    let mut copy = value.clone();
    let mut changed = false;
    for path in paths {
        changed |= mask(&mut copy, &path.0);
    }
    changed.then_some(copy)
}

fn mask(value: &mut Value, steps: &[Step]) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        if value.is_null() {
            return false;
        }
        *value = Value::String(MASK.to_owned());
        return true;
    };
    match (step, value) {
        (Step::Field(name), Value::Object(map)) => map.get_mut(name).is_some_and(|v| mask(v, rest)),
        (Step::Items, Value::Array(items)) => items.iter_mut().fold(false, |any, v| mask(v, rest) | any),
        (Step::MapValues, Value::Object(map)) => map.values_mut().fold(false, |any, v| mask(v, rest) | any),
        (Step::Index(i), Value::Array(items)) => items.get_mut(*i).is_some_and(|v| mask(v, rest)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn masks_every_kind_of_path() {
        let paths: Vec<PiiPath> = [
            "email",
            "customer.address.city",
            "lines[].owner",
            "attrs{}.ssn",
            "point[1]",
            "payment<Card>.number",
        ]
        .iter()
        .map(|p| PiiPath::parse(p))
        .collect();
        let value = json!({
            "email": "a@example.com", "id": 7,
            "customer": { "address": { "city": "Lyon", "zip": "69001" } },
            "lines": [{ "owner": "x", "sku": "A" }, { "owner": null, "sku": "B" }],
            "attrs": { "k1": { "ssn": "123" }, "k2": { "other": 1 } },
            "point": [1, 2],
            "payment": { "number": "4111" }
        });
        let out = masked(&value, &paths).expect("something is masked");
        assert_eq!(
            out,
            json!({
                "email": "***", "id": 7,
                "customer": { "address": { "city": "***", "zip": "69001" } },
                "lines": [{ "owner": "***", "sku": "A" }, { "owner": null, "sku": "B" }],
                "attrs": { "k1": { "ssn": "***" }, "k2": { "other": 1 } },
                "point": [1, "***"],
                "payment": { "number": "***" }
            })
        );
        assert_eq!(masked(&json!({ "id": 1 }), &paths), None, "nothing to mask");
    }
}
