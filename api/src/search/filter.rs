//! Which documents a search may return — the caller's audience, the
//! filters and the status rule — as one bitset per segment, computed once
//! per (segment, filter) and cached. A segment's documents never change
//! (deletions are checked apart, from its alive bitset), so a cached set
//! stays right until the segment is merged away; a search then costs one
//! bit test per candidate instead of a boolean query rebuilt every time,
//! or, when the set is selective, skips straight to allowed documents.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::query::{
    BitSetDocSet, BooleanQuery, ConstScorer, EmptyScorer, EnableScoring, Explanation, Occur, Query, RangeQuery, Scorer,
    TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::BitSet;
use tantivy::{DocId, Score, Searcher, SegmentReader, Term};

use crate::catalog::policy::Audience;

use super::fields::Fields;
use super::query::SearchFilters;
use super::SearchError;

/// Cached sets may hold at most this many bits in all (16 MiB): about a
/// hundred audience and filter combinations over a million products.
const CACHE_BITS: u64 = 128 * 1024 * 1024;

/// The bitsets of recent filters, per segment.
#[derive(Default)]
pub struct FilterCache {
    sets: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    by_key: HashMap<(SegmentId, String), Arc<BitSet>>,
    bits: u64,
}

/// A search's restriction: who asks and what they filter on.
pub struct Filter<'a> {
    pub filters: &'a SearchFilters,
    pub audience: &'a Audience,
}

impl Filter<'_> {
    /// A key equal for equal restrictions (lists compared as sets).
    fn key(&self) -> String {
        let sorted = |values: &[String]| {
            let mut v = values.to_vec();
            v.sort();
            v.dedup();
            v
        };
        let f = self.filters;
        let readers = match self.audience {
            Audience::All => None,
            Audience::Readers(keys) => Some(sorted(keys)),
        };
        format!(
            "{readers:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            sorted(&f.domains),
            sorted(&f.tags),
            sorted(&f.tiers),
            sorted(&f.quality_classes),
            sorted(&f.statuses),
            sorted(&f.owners),
            sorted(&f.formats),
            f.min_quality.map(f64::to_bits),
        )
    }

    /// The restriction as a query: every list must match one of its values,
    /// RETIRED products only when a status filter asks for them.
    fn query(&self, f: &Fields) -> Box<dyn Query> {
        let filters = self.filters;
        let audience = match self.audience {
            Audience::All => None,
            Audience::Readers(keys) => Some(any_term(f.readers, keys)),
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = [
            audience,
            filter(f.domain, &filters.domains),
            filter(f.tag, &filters.tags),
            filter(f.tier, &filters.tiers),
            filter(f.quality_class, &filters.quality_classes),
            filter(f.status, &filters.statuses),
            filter(f.owner, &filters.owners),
            filter(f.format, &filters.formats),
        ]
        .into_iter()
        .flatten()
        .map(|q| (Occur::Must, q))
        .collect();
        if let Some(min) = filters.min_quality {
            let range = RangeQuery::new(Bound::Included(Term::from_field_f64(f.quality, min)), Bound::Unbounded);
            clauses.push((Occur::Must, Box::new(range)));
        }
        if filters.statuses.is_empty() {
            let visible = ["DRAFT", "PUBLISHED", "DEPRECATED"].map(str::to_owned);
            clauses.push((Occur::Must, any_term(f.status, &visible)));
        }
        Box::new(BooleanQuery::new(clauses))
    }
}

fn filter(field: Field, values: &[String]) -> Option<Box<dyn Query>> {
    (!values.is_empty()).then(|| any_term(field, values))
}

/// Documents with any of `values` in `field`.
fn any_term(field: Field, values: &[String]) -> Box<dyn Query> {
    let union: Vec<(Occur, Box<dyn Query>)> = values
        .iter()
        .map(|v| {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ));
            (Occur::Should, q)
        })
        .collect();
    Box::new(BooleanQuery::new(union))
}

/// The documents a search may return, one set per segment of its searcher
/// (in segment order), deleted documents excluded by [`Allowed::admits`].
pub struct Allowed<'s> {
    sets: Vec<Arc<BitSet>>,
    searcher: &'s Searcher,
}

impl FilterCache {
    /// The allowed documents of every segment of `searcher`.
    pub fn allowed<'s>(&self, searcher: &'s Searcher, f: &Fields, filter: Filter) -> Result<Allowed<'s>, SearchError> {
        let key = filter.key();
        let mut sets = Vec::with_capacity(searcher.segment_readers().len());
        let mut weight = None;
        for segment in searcher.segment_readers() {
            let id = (segment.segment_id(), key.clone());
            let cached = self.lock().by_key.get(&id).cloned();
            let set = match cached {
                Some(set) => set,
                None => {
                    let weight = match &mut weight {
                        Some(w) => w,
                        None => weight.insert(
                            filter
                                .query(f)
                                .weight(EnableScoring::disabled_from_searcher(searcher))?,
                        ),
                    };
                    let mut set = BitSet::with_max_value(segment.max_doc());
                    weight.for_each_no_score(segment, &mut |docs| {
                        for &doc in docs {
                            set.insert(doc);
                        }
                    })?;
                    let set = Arc::new(set);
                    self.insert(searcher, id, set.clone(), u64::from(segment.max_doc()));
                    set
                }
            };
            sets.push(set);
        }
        Ok(Allowed { sets, searcher })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.sets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Caches a set; over the budget, first forgets sets of segments the
    /// index no longer has, then everything.
    fn insert(&self, searcher: &Searcher, id: (SegmentId, String), set: Arc<BitSet>, bits: u64) {
        let mut cached = self.lock();
        if cached.bits + bits > CACHE_BITS {
            let live: Vec<SegmentId> = searcher.segment_readers().iter().map(|s| s.segment_id()).collect();
            cached.by_key.retain(|(segment, _), _| live.contains(segment));
            cached.bits = cached.by_key.values().map(|s| u64::from(s.max_value())).sum();
            if cached.bits + bits > CACHE_BITS {
                cached.by_key.clear();
                cached.bits = 0;
            }
        }
        if cached.by_key.insert(id, set).is_none() {
            cached.bits += bits;
        }
    }
}

/// A restriction allowing at most this share of the documents is
/// intersected with the text query (see [`Allowed::is_selective`]).
const SELECTIVE: f64 = 0.25;

impl Allowed<'_> {
    /// Whether few enough documents are allowed that the search should visit
    /// only them: the restriction intersected with the text query (its
    /// postings skipped past what is not allowed) rather than checked on
    /// each match. A broad restriction (an audience that sees most of the
    /// catalog) is checked per match instead, which keeps block-max WAND for
    /// queries of one word.
    pub fn is_selective(&self) -> bool {
        let allowed: usize = self.sets.iter().map(|s| s.len()).sum();
        let docs: u64 = self
            .searcher
            .segment_readers()
            .iter()
            .map(|s| u64::from(s.max_doc()))
            .sum();
        (allowed as f64) <= SELECTIVE * docs as f64
    }

    /// The share of segment `ord`'s documents that is allowed.
    pub fn share(&self, ord: usize) -> f64 {
        let set = &self.sets[ord];
        set.len() as f64 / f64::from(set.max_value().max(1))
    }

    /// Whether `doc` of segment `ord` is allowed and not deleted.
    #[inline]
    pub fn admits(&self, ord: usize, alive: Option<&tantivy::fastfield::AliveBitSet>, doc: DocId) -> bool {
        self.sets[ord].contains(doc) && alive.is_none_or(|a| a.is_alive(doc))
    }

    /// The allowed documents as a query (for listings and typeahead).
    pub fn query(&self) -> AllowedQuery {
        let sets = self
            .searcher
            .segment_readers()
            .iter()
            .zip(&self.sets)
            .map(|(segment, set)| (segment.segment_id(), set.clone()))
            .collect();
        AllowedQuery { sets: Arc::new(sets) }
    }
}

/// [`Allowed`] as a tantivy query, valid for the searcher it came from.
#[derive(Clone, Debug)]
pub struct AllowedQuery {
    sets: Arc<HashMap<SegmentId, Arc<BitSet>>>,
}

impl Query for AllowedQuery {
    fn weight(&self, _: EnableScoring) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for AllowedQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(match self.sets.get(&reader.segment_id()) {
            Some(set) => Box::new(ConstScorer::new(BitSetDocSet::from(set.as_ref().clone()), boost)),
            None => Box::new(EmptyScorer),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let allowed = self.sets.get(&reader.segment_id()).is_some_and(|s| s.contains(doc));
        Ok(Explanation::new("allowed", if allowed { 1.0 } else { 0.0 }))
    }
}
