//! Compares the index with the database, document by document: how a
//! replica's index is checked against the catalog it follows.

use std::collections::HashMap;

use sea_orm::DatabaseConnection;

use super::document::{all_product_ids, load};
use super::{SearchError, SearchIndex};

/// Products loaded per database round trip.
const CHUNK: usize = 500;

/// One way the index differs from the database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    /// In the database, not in the index.
    Missing(String),
    /// In the index, not in the database.
    Extra(String),
    /// Indexed from another state of the product than the database's.
    Stale(String),
    /// Indexed more than once.
    Duplicate(String),
}

/// Every difference between what the index holds (its last commit, as
/// searches see it) and what the database says; empty when they match.
pub async fn differences(index: &SearchIndex, db: &DatabaseConnection) -> Result<Vec<Difference>, SearchError> {
    let (indexed, mut out) = index.run(|index| index.digests()).await?;
    let mut indexed: HashMap<String, u64> = indexed;
    let ids = all_product_ids(db).await?;
    for chunk in ids.chunks(CHUNK) {
        for doc in load(db, chunk).await? {
            match indexed.remove(&doc.id) {
                None => out.push(Difference::Missing(doc.id)),
                Some(digest) if digest != doc.digest(&index.inner.fields) => out.push(Difference::Stale(doc.id)),
                Some(_) => {}
            }
        }
    }
    out.extend(indexed.into_keys().map(Difference::Extra));
    out.sort();
    Ok(out)
}

impl SearchIndex {
    /// Each indexed product's digest, and the products indexed twice.
    fn digests(&self) -> Result<(HashMap<String, u64>, Vec<Difference>), SearchError> {
        let searcher = self.searcher();
        let mut digests = HashMap::new();
        let mut duplicates = Vec::new();
        for segment in searcher.segment_readers() {
            let ids = segment.fast_fields().str("id")?;
            let values = segment.fast_fields().u64("digest")?;
            let Some(ids) = ids else { continue };
            let mut id = String::new();
            for doc in 0..segment.max_doc() {
                if segment.alive_bitset().is_some_and(|a| !a.is_alive(doc)) {
                    continue;
                }
                id.clear();
                if let Some(ord) = ids.term_ords(doc).next() {
                    ids.ord_to_str(ord, &mut id)?;
                }
                let digest = values.first(doc).unwrap_or_default();
                if digests.insert(id.clone(), digest).is_some() {
                    duplicates.push(Difference::Duplicate(id.clone()));
                }
            }
        }
        Ok((digests, duplicates))
    }
}
