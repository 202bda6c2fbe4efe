//! Discovery search: a tantivy index with one document per data product.
//!
//! One task owns the `IndexWriter` ([`indexer`]); it is fed by the catalog's
//! after-commit hook, so every committed change is searchable a commit
//! later. Searches take a fresh searcher per query. The index is a cache of
//! the database: missing, corrupt or built by another layout, it is rebuilt;
//! on start it reconciles with the changes the audit log recorded after its
//! last commit.

pub mod analysis;
mod cores;
mod document;
mod explain;
mod fields;
mod filter;
mod indexer;
#[doc(hidden)]
pub mod profile;
mod query;
mod rank;
mod union;
mod verify;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tantivy::collector::{Count, TopDocs};
use tantivy::index::SegmentId;
use tantivy::query::{BooleanQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::store::Compressor;
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexSettings, Order, ReloadPolicy, Score, Searcher, SegmentReader,
    TantivyDocument, Term, TERMINATED,
};

pub use document::ProductDoc;
pub use explain::Highlight;
pub use fields::LAYOUT_VERSION;
pub use indexer::{IndexProgress, Indexer};
pub use query::{FacetCounts, Facets, SearchFilters};
pub use rank::TRACK_TOTAL;
pub use verify::{differences, Difference};

use analysis::ident_words;
use fields::{register_analyzers, Fields};
use filter::{Allowed, Filter, FilterCache};
use query::{build, exact_clauses, Clauses, FacetCollector, QueryWords, Shown};

use crate::catalog::policy::Audience;

/// A search failure; all are internal (bad input is clamped or ignored).
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index error: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("cannot read the catalog for indexing: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// A stored value the index cannot take (a corrupt row).
    #[error("a stored row does not decode: {0}")]
    Row(#[from] crate::catalog::CatalogError),
    #[error("stored schema fields do not parse: {0}")]
    Fields(#[from] serde_json::Error),
    /// The indexer task's rebuild failed (its error, as text: it is
    /// answered to every caller waiting for the rebuild).
    #[error("the index rebuild failed: {0}")]
    Rebuild(String),
    #[error("search index I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the indexer has stopped")]
    Stopped,
    #[error("{0}")]
    Layout(String),
}

/// What a search computes besides the ranked page; each costs a pass over
/// every match (facets), seeking the hits in the postings (matched fields)
/// or loading each hit's stored text (fragments), so callers ask only for
/// what they show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extras {
    pub facets: bool,
    pub highlights: Highlights,
}

impl Extras {
    pub const ALL: Self = Self {
        facets: true,
        highlights: Highlights::Fragments,
    };
}

/// How much of each hit's match is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Highlights {
    None,
    /// The matched fields, read from the index (no stored text).
    Fields,
    /// The matched fields and their highlighted fragments (each hit's
    /// stored text read).
    Fragments,
}

/// One page of search results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// Matches across all pages: exact up to [`TRACK_TOTAL`], a lower
    /// bound beyond (`total_exact` false) unless facets were counted.
    pub total: usize,
    pub total_exact: bool,
    pub has_next_page: bool,
    /// Empty unless asked for ([`Extras::facets`]).
    pub facets: Facets,
}

/// A matching product.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub product_id: String,
    /// The version of the product row the hit was indexed from.
    pub version: i32,
    pub qualified_name: String,
    pub score: f32,
    /// Position-independent key for cursors.
    pub cursor: Cursor,
    /// Matched fields with their fragments, best field first (empty
    /// unless asked for: [`Extras::highlights`]).
    pub highlights: Vec<Highlight>,
}

/// Where a page ends: the sort key of its last hit and its offset.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    pub offset: usize,
    pub score: f32,
    pub name: String,
}

/// A typeahead suggestion.
#[derive(Debug, Clone, PartialEq)]
pub enum Suggestion {
    Product {
        id: String,
        qualified_name: String,
        display_name: String,
    },
    /// A schema field name and how many products have it.
    Field { name: String, products: u64 },
}

/// Extra candidates collected beyond a page so that ties and index changes
/// between two page requests still resume at the right hit.
const CURSOR_SLACK: usize = 16;

/// The search index. Cheap to clone.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Allowed documents per segment and filter.
    filters: FilterCache,
    /// Decoded `id` and `qname` values per segment, as hits ask for them.
    values: ValueCache,
    /// One search per core at a time: queued searches wait their turn
    /// instead of time-slicing each other into long tails.
    cores: Arc<cores::Cores>,
    /// Threads for the second half of a ranking split while a core is
    /// idle (see [`SearchIndex::spare_core`]).
    helpers: rayon::ThreadPool,
    /// Searches running now (in [`SearchIndex::search`]).
    searching: AtomicUsize,
}

/// Counts a running search for as long as it lives.
struct Searching<'a>(&'a AtomicUsize);

impl<'a> Searching<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Searching<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where the index lives.
#[derive(Debug, Clone)]
pub enum IndexLocation {
    Disk(PathBuf),
    Memory,
}

/// LZ4 for the document store: hits load their stored fields for
/// highlighting, and LZ4 decompresses several times faster than zstd.
fn settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::Lz4,
        docstore_blocksize: 4096,
        ..IndexSettings::default()
    }
}

fn layout_file(dir: &Path) -> PathBuf {
    dir.join("layout.json")
}

impl SearchIndex {
    /// Opens the index, creating it (empty) when it is missing, corrupt or
    /// of another layout. Returns whether it was (re)created, in which case
    /// it must be rebuilt from the database.
    pub fn open(location: &IndexLocation) -> Result<(Self, bool), SearchError> {
        let (schema, fields) = fields::schema();
        let (index, fresh) = match location {
            IndexLocation::Memory => (
                Index::builder().schema(schema).settings(settings()).create_in_ram()?,
                true,
            ),
            IndexLocation::Disk(dir) => {
                std::fs::create_dir_all(dir)?;
                let layout = std::fs::read_to_string(layout_file(dir)).ok();
                let current = layout.as_deref().map(str::trim) == Some(LAYOUT_VERSION.to_string().as_str());
                let opened = if current { Index::open_in_dir(dir).ok() } else { None };
                match opened.filter(|i| i.schema() == schema && i.load_metas().is_ok()) {
                    Some(index) => (index, false),
                    None => {
                        if layout.is_some() || dir.join("meta.json").exists() {
                            tracing::warn!(dir = %dir.display(), "search index is missing, corrupt or of another layout: rebuilding");
                        }
                        std::fs::remove_dir_all(dir)?;
                        std::fs::create_dir_all(dir)?;
                        let index = Index::builder()
                            .schema(schema)
                            .settings(settings())
                            .create_in_dir(dir)?;
                        std::fs::write(layout_file(dir), LAYOUT_VERSION.to_string())?;
                        (index, true)
                    }
                }
            }
        };
        Ok((Self::with_reader(index, fields)?, fresh))
    }

    fn with_reader(index: Index, fields: Fields) -> Result<Self, SearchError> {
        register_analyzers(&index);
        // The indexer makes each of its commits visible at once (`reload`);
        // the policy's watch on the index's meta file also picks up what the
        // writer's background merges commit, so that searches stop visiting
        // (and keeping on disk) segments merged away.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let helpers = rayon::ThreadPoolBuilder::new()
            .num_threads((cpus / 2).max(1))
            .thread_name(|i| format!("search-helper-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        let inner = Arc::new(Inner {
            index,
            reader,
            fields,
            filters: FilterCache::default(),
            values: ValueCache::default(),
            cores: cores::Cores::new(cpus),
            helpers,
            searching: AtomicUsize::new(0),
        });
        Ok(Self { inner })
    }

    /// Opens an existing index for reading only (e.g. to compare another
    /// process's index with the database); never creates or rebuilds.
    pub fn open_existing(dir: &Path) -> Result<Self, SearchError> {
        let (schema, fields) = fields::schema();
        let layout = std::fs::read_to_string(layout_file(dir))?;
        if layout.trim() != LAYOUT_VERSION.to_string() {
            return Err(SearchError::Layout(format!(
                "{} holds an index of layout {}, not {LAYOUT_VERSION}",
                dir.display(),
                layout.trim()
            )));
        }
        let index = Index::open_in_dir(dir)?;
        if index.schema() != schema {
            return Err(SearchError::Layout(format!(
                "{} holds an index of another schema",
                dir.display()
            )));
        }
        Self::with_reader(index, fields)
    }

    /// Runs CPU-bound index work on a blocking thread, one per core.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&SearchIndex) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, SearchError> {
        let index = self.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.inner.cores.submit(move || {
            // Its caller gone (a timeout, a closed connection): not run.
            if !tx.is_closed() {
                let _ = tx.send(work(&index));
            }
        });
        rx.await.map_err(|_| SearchError::Stopped)?
    }

    fn searcher(&self) -> Searcher {
        self.inner.reader.searcher()
    }

    /// A core for the second half of a ranking, when no other search
    /// waits for it and the searches running leave one idle: at one
    /// search at a time its heaviest queries answer in about half the
    /// time, while under load (every core busy) no search is split and
    /// none pays for it. The core is the reservation's, until dropped.
    fn spare_core(&self) -> Option<cores::Reservation> {
        let inner = &self.inner;
        if inner.searching.load(Ordering::Relaxed) * 2 > inner.cores.count() {
            return None;
        }
        inner.cores.reserve()
    }

    /// Makes the last commit visible to searches.
    fn reload(&self) -> Result<(), SearchError> {
        Ok(self.inner.reader.reload()?)
    }

    /// Number of indexed products.
    pub fn len(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// Number of index segments (each search visits every one).
    pub fn segments(&self) -> usize {
        self.searcher().segment_readers().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Searches; `first` is clamped to 1..=100. Blocking (CPU-bound): call
    /// from a blocking task.
    pub fn search(
        &self,
        text: &str,
        filters: &SearchFilters,
        audience: &Audience,
        first: usize,
        after: Option<&Cursor>,
        extras: Extras,
    ) -> Result<SearchPage, SearchError> {
        let first = first.clamp(1, 100);
        let _searching = Searching::start(&self.inner.searching);
        let mut words = QueryWords::parse(text);
        if words.unmatchable {
            return Ok(SearchPage {
                hits: Vec::new(),
                total: 0,
                total_exact: true,
                has_next_page: false,
                facets: Facets::default(),
            });
        }
        let searcher = self.searcher();
        let f = &self.inner.fields;
        let allowed = self.allowed(&searcher, filters, audience)?;
        words.known = self.known(&searcher, &words, &allowed)?;
        let clauses = Clauses::of(f, &words)?;
        let skip = after.map_or(0, |c| c.offset);
        let want = skip + first + 1 + if after.is_some() { CURSOR_SLACK } else { 0 };

        let (ranked, total, total_exact, facets) = if words.is_empty() {
            // Listing: alphabetical, exact and stable.
            let top = TopDocs::with_limit(want).order_by_string_fast_field("qname", Order::Asc);
            let facets = extras.facets.then_some(FacetCollector);
            let (docs, total, facets) = searcher.search(&allowed.query(), &(top, Count, facets))?;
            let ranked: Vec<(f32, String, DocAddress)> = docs
                .into_iter()
                .map(|(name, addr)| (1.0, name.unwrap_or_default(), addr))
                .collect();
            (ranked, total, true, facets.unwrap_or_default())
        } else {
            // A word without typo or prefix expansions (known) and with
            // more matches than the bound is counted apart, cheaply, or
            // not at all, and the ranking then prunes from its first page.
            let count = if extras.facets {
                rank::Count::Facets
            } else if words.known.iter().all(|k| *k) {
                self.word_count(&searcher, &words, &allowed)?
            } else {
                rank::Count::Ranking
            };
            // One exact word is a union of terms, which the engine prunes
            // block by block; any other query, and any query counting
            // facets, visits each match, and is split over a second core
            // when one is idle.
            let prunes = words.known == [true] && !extras.facets;
            let spare = if prunes { None } else { self.spare_core() };
            let pool = spare.as_ref().map(|_| &self.inner.helpers);
            let unions = rank::unions(&allowed, count);
            let query = |all_words| build(f, &words, &clauses, all_words, unions);
            let mut result = rank::top_k(&searcher, &*query(true), &allowed, want, count, pool)?;
            if result.total == 0 && words.plain.len() > 1 {
                result = rank::top_k(&searcher, &*query(false), &allowed, want, count, pool)?;
            }
            drop(spare);
            (
                named(&searcher, &self.inner.values, result.top)?,
                result.total,
                result.exact,
                result.facets,
            )
        };
        // Resume after the cursor's hit (by sort key, not position, so that
        // ties and small index changes do not repeat or skip hits).
        let start = match after {
            None => 0,
            Some(c) => ranked
                .iter()
                .position(|(score, name, _)| {
                    if words.is_empty() {
                        name.as_str() > c.name.as_str()
                    } else {
                        *score < c.score || (*score == c.score && name.as_str() > c.name.as_str())
                    }
                })
                .unwrap_or(ranked.len()),
        };
        let page: Vec<_> = ranked.iter().skip(start).take(first).cloned().collect();
        let has_next_page = ranked.len() > start + first || (start + first) < total;
        let highlight = if words.is_empty() {
            Highlights::None
        } else {
            extras.highlights
        };
        let addrs: Vec<DocAddress> = page.iter().map(|(_, _, addr)| *addr).collect();
        let matched = match highlight {
            Highlights::None => vec![Vec::new(); page.len()],
            _ => explain::matched(&searcher, &clauses, &addrs)?,
        };
        let mut ids = FastStr::new(&searcher, &self.inner.values, "id");
        let mut versions = FastU64::new(&searcher, "version");
        let hits = page
            .into_iter()
            .zip(matched)
            .enumerate()
            .map(|(i, ((score, name, addr), matched))| {
                Ok(SearchHit {
                    product_id: ids.get(addr)?,
                    version: i32::try_from(versions.get(addr)?).unwrap_or(0),
                    highlights: match highlight {
                        Highlights::Fragments => self.fragments(&searcher, addr, &words, &matched)?,
                        _ => matched
                            .iter()
                            .map(|shown| Highlight {
                                field: shown.label(),
                                fragment: String::new(),
                                ranges: Vec::new(),
                            })
                            .collect(),
                    },
                    cursor: Cursor {
                        offset: start + i + 1,
                        score,
                        name: name.clone(),
                    },
                    qualified_name: name,
                    score,
                })
            })
            .collect::<Result<Vec<_>, SearchError>>()?;
        Ok(SearchPage {
            hits,
            total,
            total_exact,
            has_next_page,
            facets,
        })
    }

    /// The highlighted fragments of a hit's matched fields, from its
    /// stored text.
    fn fragments(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        words: &QueryWords,
        matched: &[Shown],
    ) -> Result<Vec<Highlight>, SearchError> {
        let f = &self.inner.fields;
        let doc: TantivyDocument = searcher.doc(addr)?;
        let texts: Vec<(Shown, String)> = matched
            .iter()
            .map(|shown| {
                let values: Vec<&str> = doc.get_all(shown.stored(f)).filter_map(|v| v.as_str()).collect();
                (*shown, values.join("\n"))
            })
            .collect();
        Ok(explain::fragments(words, &texts))
    }

    /// The documents a search by `audience` with `filters` may return.
    fn allowed<'s>(
        &self,
        searcher: &'s Searcher,
        filters: &SearchFilters,
        audience: &Audience,
    ) -> Result<Allowed<'s>, SearchError> {
        let filter = Filter { filters, audience };
        self.inner.filters.allowed(searcher, &self.inner.fields, filter)
    }

    /// For each query word: does it occur exactly in a searchable field of
    /// a document the search may return? (Not of any document: whether
    /// typo expansion happens would tell that a hidden product has the
    /// word.) Read from the term dictionaries and postings, stopping at
    /// the first allowed document.
    fn known(&self, searcher: &Searcher, words: &QueryWords, allowed: &Allowed) -> Result<Vec<bool>, SearchError> {
        let f = &self.inner.fields;
        let mut known = Vec::with_capacity(words.plain.len());
        for i in 0..words.plain.len() {
            let (plain, stemmed) = words.forms(i);
            let clauses = exact_clauses(f, plain, stemmed);
            let mut found = false;
            'segments: for (ord, segment) in searcher.segment_readers().iter().enumerate() {
                for clause in &clauses {
                    if count_allowed(segment, &clause.term, allowed, ord, 1)? > 0 {
                        found = true;
                        break 'segments;
                    }
                }
            }
            known.push(found);
        }
        Ok(known)
    }

    /// How the ranking of one exact word counts its matches. When they
    /// are estimated past [`rank::TRACK_TOTAL`] (from the word's most
    /// frequent term in each segment and the allowed share), that term's
    /// allowed live documents are walked (its postings without scores, up
    /// to the bound): past it, nothing more is counted
    /// ([`rank::Count::Beyond`]: the word matches at least those), else the
    /// word's matches are counted apart ([`rank::Count::Apart`]).
    /// Otherwise, and for several words (an intersection, which no one
    /// term bounds), the ranking counts.
    fn word_count(
        &self,
        searcher: &Searcher,
        words: &QueryWords,
        allowed: &Allowed,
    ) -> Result<rank::Count, SearchError> {
        if words.plain.len() != 1 {
            return Ok(rank::Count::Ranking);
        }
        let (plain, stemmed) = words.forms(0);
        let clauses = exact_clauses(&self.inner.fields, plain, stemmed);
        // Each segment's most frequent term, and its documents.
        let mut most = Vec::new();
        let mut estimate = 0.0;
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let mut best = (0, None);
            for clause in &clauses {
                let term = &clause.term;
                let freq = segment.inverted_index(term.field())?.doc_freq(term)?;
                if freq > best.0 {
                    best = (freq, Some(term));
                }
            }
            estimate += f64::from(best.0) * allowed.share(ord);
            most.push(best.1);
        }
        if estimate <= rank::TRACK_TOTAL as f64 {
            return Ok(rank::Count::Ranking);
        }
        let past = rank::TRACK_TOTAL as u64 + 1;
        let mut count = 0;
        for ((ord, segment), term) in searcher.segment_readers().iter().enumerate().zip(most) {
            if let Some(term) = term {
                count += count_allowed(segment, term, allowed, ord, past - count)?;
                if count == past {
                    return Ok(rank::Count::Beyond);
                }
            }
        }
        Ok(rank::Count::Apart)
    }

    /// Typeahead: products whose name words start with the prefix's words,
    /// then schema field names starting with it, both among the products
    /// the audience may see, at most `limit` in all. Retired products
    /// excluded.
    pub fn suggest(&self, prefix: &str, audience: &Audience, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        let limit = limit.clamp(1, 50);
        let f = &self.inner.fields;
        let searcher = self.searcher();
        let allowed = self.allowed(&searcher, &SearchFilters::default(), audience)?;
        let words: Vec<String> = ident_words(prefix);
        let mut out = Vec::new();
        if let Some((last, rest)) = words.split_last() {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = rest
                .iter()
                .map(|w| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(f.name, w),
                        IndexRecordOption::WithFreqs,
                    ));
                    (Occur::Must, q)
                })
                .collect();
            let prefix_query = FuzzyTermQuery::new_prefix(Term::from_field_text(f.name, last), 0, true);
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(prefix_query), 1.0))));
            let query = BooleanQuery::new(clauses);
            let ranked = rank::top_k(&searcher, &query, &allowed, limit, rank::Count::None, None)?;
            let mut ids = FastStr::new(&searcher, &self.inner.values, "id");
            for (_, name, addr) in named(&searcher, &self.inner.values, ranked.top)? {
                let doc: TantivyDocument = searcher.doc(addr)?;
                let id = ids.get(addr)?;
                let display = doc
                    .get_first(f.name)
                    .and_then(|v| v.as_str())
                    .and_then(|s| s.split_once('\n').map(|(_, d)| d.to_owned()))
                    .unwrap_or_default();
                out.push(Suggestion::Product {
                    id,
                    qualified_name: name,
                    display_name: display,
                });
            }
        }
        let key = prefix.trim().to_lowercase();
        if !key.is_empty() {
            let mut fields: std::collections::BTreeMap<String, u64> = Default::default();
            for segment in searcher.segment_readers() {
                let inverted = segment.inverted_index(f.field_names)?;
                let mut stream = inverted.terms().range().ge(key.as_bytes()).into_stream()?;
                while stream.advance() {
                    let Ok(term) = std::str::from_utf8(stream.key()) else {
                        continue;
                    };
                    if !term.starts_with(&key) {
                        break;
                    }
                    *fields.entry(term.to_owned()).or_default() += u64::from(stream.value().doc_freq);
                    if fields.len() > 10 * limit {
                        break;
                    }
                }
            }
            // Count only documents the audience may see (a field that only
            // hidden products have is not suggested at all).
            for (name, count) in fields.iter_mut() {
                let term = Term::from_field_text(f.field_names, name);
                *count = 0;
                for (ord, segment) in searcher.segment_readers().iter().enumerate() {
                    *count += count_allowed(segment, &term, &allowed, ord, u64::MAX)?;
                }
            }
            fields.retain(|_, count| *count > 0);
            let mut fields: Vec<(String, u64)> = fields.into_iter().collect();
            fields.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let room = limit.saturating_sub(out.len());
            out.extend(
                fields
                    .into_iter()
                    .take(room)
                    .map(|(name, products)| Suggestion::Field { name, products }),
            );
        }
        Ok(out)
    }
}

/// Ranked hits with their qualified names, best first, ties by name.
fn named(
    searcher: &Searcher,
    values: &ValueCache,
    top: Vec<(Score, DocAddress)>,
) -> Result<Vec<(Score, String, DocAddress)>, SearchError> {
    let mut qname = FastStr::new(searcher, values, "qname");
    let mut named = top
        .into_iter()
        .map(|(score, addr)| Ok((score, qname.get(addr)?, addr)))
        .collect::<Result<Vec<_>, SearchError>>()?;
    named.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(named)
}

/// A segment's decoded values of one string fast field, by term ordinal.
type Decoded = Arc<Vec<OnceLock<Box<str>>>>;

/// Values of string fast fields decoded once per segment, as hits ask for
/// them: reading a value from a column's dictionary decodes part of a
/// block of it, which was 12 % of a search's CPU (41 values per search).
/// A segment's values never change; entries of segments no longer
/// searched are dropped when a new segment's are added.
#[derive(Default)]
struct ValueCache(Mutex<HashMap<(SegmentId, &'static str), Decoded>>);

impl ValueCache {
    fn segment(&self, searcher: &Searcher, segment: &SegmentReader, field: &'static str, terms: usize) -> Decoded {
        let key = (segment.segment_id(), field);
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(decoded) = cache.get(&key) {
            return decoded.clone();
        }
        let live: Vec<SegmentId> = searcher.segment_readers().iter().map(|s| s.segment_id()).collect();
        cache.retain(|(id, _), _| live.contains(id));
        let decoded: Decoded = Arc::new((0..terms).map(|_| OnceLock::new()).collect());
        cache.insert(key, decoded.clone());
        decoded
    }
}

/// The (first) values of a string fast field, each segment's column opened
/// once (opening one costs more than reading a value).
struct FastStr<'s> {
    searcher: &'s Searcher,
    values: &'s ValueCache,
    field: &'static str,
    columns: Vec<Option<Option<(tantivy::columnar::StrColumn, Decoded)>>>,
}

impl<'s> FastStr<'s> {
    fn new(searcher: &'s Searcher, values: &'s ValueCache, field: &'static str) -> Self {
        let columns = vec![None; searcher.segment_readers().len()];
        Self {
            searcher,
            values,
            field,
            columns,
        }
    }

    fn get(&mut self, addr: DocAddress) -> Result<String, SearchError> {
        let ord = addr.segment_ord as usize;
        if self.columns[ord].is_none() {
            let segment = self.searcher.segment_reader(addr.segment_ord);
            let column = segment.fast_fields().str(self.field)?.map(|column| {
                let terms = column.dictionary().num_terms();
                let decoded = self.values.segment(self.searcher, segment, self.field, terms);
                (column, decoded)
            });
            self.columns[ord] = Some(column);
        }
        let mut value = String::new();
        if let Some(Some((column, decoded))) = &self.columns[ord] {
            if let Some(term) = column.term_ords(addr.doc_id).next() {
                let cell = decoded.get(term as usize);
                if let Some(known) = cell.and_then(OnceLock::get) {
                    value.push_str(known);
                } else {
                    column.ord_to_str(term, &mut value)?;
                    if let Some(cell) = cell {
                        let _ = cell.set(value.as_str().into());
                    }
                }
            }
        }
        Ok(value)
    }
}

/// The (first) values of a u64 fast field, each segment's column opened
/// once.
struct FastU64<'s> {
    searcher: &'s Searcher,
    field: &'static str,
    columns: Vec<Option<tantivy::columnar::Column<u64>>>,
}

impl<'s> FastU64<'s> {
    fn new(searcher: &'s Searcher, field: &'static str) -> Self {
        let columns = vec![None; searcher.segment_readers().len()];
        Self {
            searcher,
            field,
            columns,
        }
    }

    fn get(&mut self, addr: DocAddress) -> Result<u64, SearchError> {
        let column = match &mut self.columns[addr.segment_ord as usize] {
            Some(column) => column,
            empty => empty.insert(
                self.searcher
                    .segment_reader(addr.segment_ord)
                    .fast_fields()
                    .u64(self.field)?,
            ),
        };
        Ok(column.first(addr.doc_id).unwrap_or(0))
    }
}

/// How many allowed, live documents of segment `ord` have `term`, counted
/// up to `limit` (the walk stops there).
fn count_allowed(
    segment: &SegmentReader,
    term: &Term,
    allowed: &Allowed,
    ord: usize,
    limit: u64,
) -> Result<u64, SearchError> {
    let inverted = segment.inverted_index(term.field())?;
    let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::Basic)? else {
        return Ok(0);
    };
    let alive = segment.alive_bitset();
    let mut n = 0;
    let mut doc = postings.doc();
    while doc != TERMINATED && n < limit {
        n += u64::from(allowed.admits(ord, alive, doc));
        doc = postings.advance();
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
