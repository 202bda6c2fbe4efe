//! The ranked part of a search: the best `k` allowed matches by text score
//! times the product's boosts, with a total exact up to [`TRACK_TOTAL`].
//!
//! Boosts are bounded ([`max_boost`]), so once the total is no longer
//! counted by the ranking pass the engine may skip every match whose text
//! score, boosted at most, could not enter the top `k` (block-max WAND for
//! a word's union of fields): a common word no longer costs a pass over
//! half the catalog. The ranking is exactly that of scoring every match.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, BoostQuery, EnableScoring, Occur, Query, Weight};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED};

use super::filter::Allowed;
use super::query::{FacetCollector, Facets, Unions};
use super::SearchError;
use crate::catalog::ProductStatus;

/// Totals are exact up to this many matches, and a lower bound beyond
/// (Elasticsearch's default `track_total_hits`).
pub const TRACK_TOTAL: usize = 10_000;

/// Subscribers beyond this add nothing more to the ranking.
const SUBSCRIBERS_CAP: u64 = 10_000;

/// The largest factor the boosts can apply: PUBLISHED (×1), quality 100
/// (×1.1), [`SUBSCRIBERS_CAP`] subscribers.
fn max_boost() -> Score {
    1.1 * popularity(SUBSCRIBERS_CAP)
}

fn popularity(subscribers: u64) -> Score {
    1.0 + 0.03 * (1.0 + subscribers.min(SUBSCRIBERS_CAP) as f32).ln()
}

/// A product's ranking factor: PUBLISHED ×1, DRAFT/DEPRECATED ×0.5,
/// RETIRED ×0.25; quality up to +10 %, subscribers a few % (logarithmic).
/// Computed when the product is indexed ([`super::ProductDoc`]), stored
/// in the `boost` fast field, and at most [`max_boost`].
pub fn boost(status: ProductStatus, quality: Option<f64>, subscribers: u64) -> Score {
    let status = match status {
        ProductStatus::Published => 1.0,
        ProductStatus::Draft | ProductStatus::Deprecated => 0.5,
        ProductStatus::Retired => 0.25,
    };
    let quality = 1.0 + 0.1 * (quality.filter(|q| !q.is_nan()).unwrap_or(0.0).clamp(0.0, 100.0) as Score / 100.0);
    status * quality * popularity(subscribers)
}

/// A segment's boost column.
pub struct Boosts(Option<Column<f64>>);

impl Boosts {
    pub fn new(segment: &SegmentReader) -> Self {
        Self(segment.fast_fields().f64("boost").ok())
    }

    #[inline]
    pub fn apply(&self, doc: DocId, score: Score) -> Score {
        let boost = self.0.as_ref().and_then(|c| c.first(doc)).unwrap_or(1.0);
        score * boost as Score
    }
}

/// The ranked candidates, the total and the facets.
pub struct Ranked {
    /// Best first; ties in address order.
    pub top: Vec<(Score, DocAddress)>,
    pub total: usize,
    /// False when `total` is only a lower bound.
    pub exact: bool,
    pub facets: Facets,
}

/// A candidate in the heap: the worst on top.
#[derive(PartialEq)]
struct Candidate(Score, Reverse<DocAddress>);

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then_with(|| self.1.cmp(&other.1))
    }
}

/// How a ranking counts the matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Every match, with the facets: no pruning.
    Facets,
    /// In the ranking pass, up to [`TRACK_TOTAL`]; pruning starts after.
    /// For queries with typo or prefix expansions, which a counting pass of
    /// their own would expand again.
    Ranking,
    /// Apart, first: the documents of the postings without their scores,
    /// up to [`TRACK_TOTAL`]; then the ranking prunes from its first full
    /// page. For one exact word with more matches than the bound: its
    /// postings are cheap to walk, and the walk stops at the bound.
    Apart,
    /// Already known to be past [`TRACK_TOTAL`] (one exact word, whose most
    /// frequent term alone has more allowed documents than the bound):
    /// nothing counted, the total is the bound, a lower bound; the ranking
    /// prunes from its first full page.
    Beyond,
    /// Not at all (typeahead): pruning from the first full page; the
    /// total is then only the matches the ranking visited (not exact).
    None,
}

struct Top {
    k: usize,
    heap: BinaryHeap<Reverse<Candidate>>,
    count: usize,
    /// [`max_boost`], computed once.
    max_boost: Score,
    /// Whether the ranking pass counts up to [`TRACK_TOTAL`] before it prunes.
    counting: bool,
}

impl Top {
    fn new(k: usize, count: Count) -> Self {
        Self {
            k: k.max(1),
            heap: BinaryHeap::with_capacity(k + 1),
            count: 0,
            max_boost: max_boost(),
            counting: matches!(count, Count::Facets | Count::Ranking),
        }
    }

    /// Adds the candidates and count of a ranking of other documents: the
    /// top k of the union is within the two top k's (each part pruned only
    /// what could not enter its own top k). Each part counted up to
    /// [`TRACK_TOTAL`] before it pruned, so the sum is exact whenever it
    /// is within the bound, as the count of one pass would be.
    fn merge(mut self, other: Top) -> Self {
        self.count += other.count;
        for Reverse(candidate) in other.heap {
            self.keep(candidate);
        }
        self
    }

    /// Keeps `candidate` if the heap has room or it beats the worst.
    #[inline]
    fn keep(&mut self, candidate: Candidate) {
        if self.heap.len() < self.k {
            self.heap.push(Reverse(candidate));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if candidate > worst.0 {
                *worst = Reverse(candidate);
            }
        }
    }

    /// Counts a match of text score `text` and keeps it if its boosted
    /// score enters the top k; the boosts are read only if the text score,
    /// boosted at most, could.
    fn push(&mut self, text: Score, boosted: impl FnOnce(Score) -> Score, addr: DocAddress) {
        self.count += 1;
        if self.heap.len() == self.k && self.heap.peek().is_some_and(|worst| text * self.max_boost < worst.0 .0) {
            return;
        }
        self.keep(Candidate(boosted(text), Reverse(addr)));
    }

    /// The text score a match must beat to matter: none while the total is
    /// still counted or the heap not full.
    fn threshold(&self) -> Score {
        match self.heap.peek() {
            Some(worst) if (!self.counting || self.count > TRACK_TOTAL) && self.heap.len() == self.k => {
                worst.0 .0 / self.max_boost
            }
            _ => Score::MIN,
        }
    }
}

/// The allowed matches of `query`, counted up to one past [`TRACK_TOTAL`]
/// without scoring them.
fn count_apart(searcher: &Searcher, query: &dyn Query, allowed: &Allowed) -> Result<usize, SearchError> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut count = 0;
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let alive = segment.alive_bitset();
        let mut docs = weight.scorer(segment, 1.0)?;
        let mut doc = docs.doc();
        while doc != TERMINATED {
            if allowed.admits(ord, alive, doc) {
                count += 1;
                if count > TRACK_TOTAL {
                    return Ok(count);
                }
            }
            doc = docs.advance();
        }
    }
    Ok(count)
}

/// The facet counts of one segment (or part of one).
type FacetFruit = <<FacetCollector as Collector>::Child as SegmentCollector>::Fruit;

/// Which documents of each segment a part of a split ranking visits.
#[derive(Clone, Copy)]
enum Half {
    First,
    Second,
}

/// Ranks one half of every segment's documents, with the query's scorers
/// as tantivy's own loops do for any query other than a flat union or
/// intersection of terms: score each match, hand on those above the
/// threshold (or, counting facets, every match). (Those two skip whole
/// blocks by block-max WAND instead, which a scorer started in the middle
/// of a segment cannot do: they are not split unless facets are counted,
/// which visits every match anyway.)
fn rank_half(
    searcher: &Searcher,
    weight: &dyn Weight,
    allowed: &Allowed,
    half: Half,
    k: usize,
    count: Count,
) -> Result<(Top, Vec<FacetFruit>), SearchError> {
    let facets = count == Count::Facets;
    let mut top = Top::new(k, count);
    let mut fruits = Vec::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let middle = segment.max_doc() / 2;
        let (from, to) = match half {
            Half::First => (0, middle),
            Half::Second => (middle, TERMINATED),
        };
        let boosts = Boosts::new(segment);
        let alive = segment.alive_bitset();
        let mut counter = if facets {
            Some(FacetCollector.for_segment(ord as u32, segment)?)
        } else {
            None
        };
        let mut scorer = weight.scorer(segment, 1.0)?;
        let mut doc = scorer.doc();
        if doc < from {
            doc = scorer.seek(from);
        }
        let mut threshold = if facets { Score::MIN } else { top.threshold() };
        while doc < to {
            let score = scorer.score();
            if score > threshold {
                if allowed.admits(ord, alive, doc) {
                    if let Some(counter) = &mut counter {
                        counter.collect(doc, score);
                    }
                    top.push(
                        score,
                        |score| boosts.apply(doc, score),
                        DocAddress::new(ord as u32, doc),
                    );
                }
                if !facets {
                    threshold = top.threshold();
                }
            }
            doc = scorer.advance();
        }
        fruits.extend(counter.map(SegmentCollector::harvest));
    }
    Ok((top, fruits))
}

/// Whether [`top_k`] restricts the query to the allowed documents: a
/// selective restriction (a filter) as a required clause that scores
/// nothing, so that only allowed documents are scored, with the same
/// scores. Not when counting facets, which visit every match anyway:
/// measured, the intersection made the search page 7 % slower in-process.
fn restricts(allowed: &Allowed, count: Count) -> bool {
    count != Count::Facets && allowed.is_selective()
}

/// How the query [`top_k`] runs should run its unions: only sought to the
/// allowed documents when it restricts the query to them.
pub fn unions(allowed: &Allowed, count: Count) -> Unions {
    if restricts(allowed, count) {
        Unions::Sought
    } else {
        Unions::Walked
    }
}

/// Runs `query` over the allowed documents: the `k` best by boosted score,
/// the total as `count` says, and the facets (exact, over every match)
/// when counted with them. With a `spare` pool (a thread on an otherwise
/// idle core), each segment's second half is ranked there while this
/// thread ranks the first, for queries that score every match (see
/// [`rank_half`]); the result is the same.
pub fn top_k(
    searcher: &Searcher,
    query: &dyn Query,
    allowed: &Allowed,
    k: usize,
    count: Count,
    spare: Option<&rayon::ThreadPool>,
) -> Result<Ranked, SearchError> {
    let facets = count == Count::Facets;
    let restricted;
    let query = if restricts(allowed, count) {
        restricted = BooleanQuery::new(vec![
            (Occur::Must, query.box_clone()),
            (Occur::Must, Box::new(BoostQuery::new(Box::new(allowed.query()), 0.0))),
        ]);
        &restricted as &dyn Query
    } else {
        query
    };
    let apart = match count {
        Count::Apart => Some(count_apart(searcher, query, allowed)?),
        Count::Beyond => Some(TRACK_TOTAL + 1),
        _ => None,
    };
    let weight = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let mut fruits = Vec::new();
    let top = match spare {
        Some(pool) => {
            let mut second = None;
            let (first, first_fruits) = pool.in_place_scope(|scope| {
                scope.spawn(|_| second = Some(rank_half(searcher, &*weight, allowed, Half::Second, k, count)));
                rank_half(searcher, &*weight, allowed, Half::First, k, count)
            })?;
            let (second, second_fruits) = second.ok_or(SearchError::Stopped)??;
            fruits = first_fruits;
            fruits.extend(second_fruits);
            first.merge(second)
        }
        None => {
            let mut top = Top::new(k, count);
            for (ord, segment) in searcher.segment_readers().iter().enumerate() {
                let boosts = Boosts::new(segment);
                let alive = segment.alive_bitset();
                let address = |doc| DocAddress::new(ord as u32, doc);
                if facets {
                    // Facets need every match: no pruning, exact total.
                    let mut counter = FacetCollector.for_segment(ord as u32, segment)?;
                    weight.for_each(segment, &mut |doc, score| {
                        if allowed.admits(ord, alive, doc) {
                            counter.collect(doc, score);
                            top.push(score, |score| boosts.apply(doc, score), address(doc));
                        }
                    })?;
                    fruits.push(counter.harvest());
                } else {
                    weight.for_each_pruning(top.threshold(), segment, &mut |doc, score| {
                        if allowed.admits(ord, alive, doc) {
                            top.push(score, |score| boosts.apply(doc, score), address(doc));
                        }
                        top.threshold()
                    })?;
                }
            }
            top
        }
    };
    let matches = apart.unwrap_or(top.count);
    let exact = facets || (count != Count::None && matches <= TRACK_TOTAL);
    let total = if facets { matches } else { matches.min(TRACK_TOTAL) };
    let mut ranked: Vec<(Score, DocAddress)> = top
        .heap
        .into_iter()
        .map(|Reverse(Candidate(score, Reverse(addr)))| (score, addr))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let facets = if facets {
        FacetCollector.merge_fruits(fruits)?
    } else {
        Facets::default()
    };
    Ok(Ranked {
        top: ranked,
        total,
        exact,
        facets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boost_orders_products_and_stays_within_its_bound() {
        use ProductStatus::*;
        for status in [Published, Draft, Deprecated, Retired] {
            for quality in [None, Some(-5.0), Some(0.0), Some(100.0), Some(250.0), Some(f64::NAN)] {
                for subscribers in [0, 10, SUBSCRIBERS_CAP, u64::MAX] {
                    let b = boost(status, quality, subscribers);
                    assert!(b > 0.0 && b <= max_boost(), "{status:?} {quality:?} {subscribers}: {b}");
                }
            }
        }
        assert!(boost(Published, Some(50.0), 0) > boost(Deprecated, Some(100.0), SUBSCRIBERS_CAP));
        assert!(boost(Draft, Some(0.0), 0) > boost(Retired, Some(100.0), SUBSCRIBERS_CAP));
        assert!(boost(Published, Some(90.0), 5) > boost(Published, Some(80.0), 5));
        assert!(boost(Published, Some(80.0), 50) > boost(Published, Some(80.0), 5));
        assert_eq!(boost(Published, None, 0), 1.0);
    }
}
