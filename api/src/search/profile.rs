//! Where a full index build spends its time (for the search benchmark's
//! `BENCH_ONLY_BUILD=1`): each stage of [`super::Indexer`]'s rebuild run
//! alone, one after the other, on the same documents, and the floor —
//! raw tantivy indexing those documents with its own tokenizer.

use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use tantivy::schema::{FieldType, Value};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{Index, TantivyDocument};

use super::document::{self, all_product_ids, load_scope, ProductDoc, Scope};
use super::fields::{self, analyzers, register_analyzers};
use super::indexer::{bulk_writer, writer_with_heap, CHUNK, WRITER_HEAP};
use super::SearchError;

/// The stages of a rebuild, each timed alone.
#[derive(Debug, Clone, Default)]
pub struct BuildPhases {
    pub products: usize,
    /// Reading every product's rows from the database and assembling the
    /// documents (`document::load_scope`, chunk after chunk, as a rebuild).
    pub database: Duration,
    /// `ProductDoc::to_document` for every product.
    pub documents: Duration,
    /// Of which: the digests.
    pub digests: Duration,
    /// Our analyzers over every analyzed text, on one thread.
    pub tokenize: Duration,
    /// tantivy's default tokenizer over the same texts, on one thread.
    pub tokenize_default: Duration,
    /// Handing the built documents to the rebuild's writer (in RAM),
    /// until it has taken them all.
    pub index: Duration,
    /// Its commit (the last segments written).
    pub commit: Duration,
    /// The merges the merge policy started, waited for after the commit.
    pub merges: Duration,
    /// The same indexing (add + commit, in RAM) with other writer memory
    /// budgets: per budget (MiB), wall time, CPU time, segments written,
    /// and how much the peak RSS grew (KiB).
    pub heaps: Vec<HeapRun>,
    /// CPU time (all threads of the process) of `database`, `documents`,
    /// `index` + `commit`, and `floor`.
    pub cpu: [Duration; 4],
    /// The floor: the same documents into the same schema with tantivy's
    /// default tokenizer in place of ours (add + commit, as the rebuild).
    pub floor: Duration,
}

/// One indexing run of [`BuildPhases::heaps`].
#[derive(Debug, Clone)]
pub struct HeapRun {
    pub heap_mib: usize,
    pub wall: Duration,
    pub cpu: Duration,
    pub segments: usize,
    pub peak_growth_kib: u64,
}

/// Times each stage of a rebuild of every product in `db` (holds all the
/// documents in memory: for benchmarks only).
pub async fn build_phases(db: &DatabaseConnection) -> Result<BuildPhases, SearchError> {
    let mut p = BuildPhases::default();
    let ids = all_product_ids(db).await?;
    let (t, c) = (Instant::now(), process_cpu());
    let docs = load_all(db, &ids).await?;
    p.database = t.elapsed();
    p.cpu[0] = process_cpu().saturating_sub(c);
    p.products = docs.len();
    tokio::task::spawn_blocking(move || {
        let (schema, f) = fields::schema();
        let (t, c) = (Instant::now(), process_cpu());
        let built: Vec<TantivyDocument> = docs.iter().map(|d| d.to_document(&f)).collect();
        p.documents = t.elapsed();
        p.cpu[1] = process_cpu().saturating_sub(c);
        let t = Instant::now();
        let digest = built.iter().fold(0u64, |h, d| h ^ document::digest(d));
        std::hint::black_box(digest);
        p.digests = t.elapsed();
        drop(docs);

        let mut ours = analyzers();
        let mut default = default_analyzer();
        let mut tokens = (0usize, 0usize);
        let t = Instant::now();
        each_text(&schema, &built, |analyzer, text| {
            let Some((_, a)) = ours.iter_mut().find(|(name, _)| *name == analyzer) else {
                return;
            };
            let mut stream = a.token_stream(text);
            while stream.advance() {
                tokens.0 += 1;
            }
        });
        p.tokenize = t.elapsed();
        let t = Instant::now();
        each_text(&schema, &built, |_, text| {
            let mut stream = default.token_stream(text);
            while stream.advance() {
                tokens.1 += 1;
            }
        });
        p.tokenize_default = t.elapsed();
        std::hint::black_box(tokens);

        let index = Index::create_in_ram(schema.clone());
        register_analyzers(&index);
        let mut writer = bulk_writer(&index)?;
        let copies = built.clone();
        let (t, c) = (Instant::now(), process_cpu());
        for doc in copies {
            writer.add_document(doc)?;
        }
        p.index = t.elapsed();
        let t = Instant::now();
        writer.commit()?;
        p.commit = t.elapsed();
        p.cpu[2] = process_cpu().saturating_sub(c);
        let t = Instant::now();
        writer.wait_merging_threads()?;
        p.merges = t.elapsed();

        drop(index);
        for heap_mib in [64, 128, WRITER_HEAP >> 20] {
            let index = Index::create_in_ram(schema.clone());
            register_analyzers(&index);
            let mut writer = writer_with_heap(&index, heap_mib << 20)?;
            let copies = built.clone();
            let rss = rss_kib().0;
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let (t, c) = (Instant::now(), process_cpu());
            for doc in copies {
                writer.add_document(doc)?;
            }
            writer.commit()?;
            let (wall, cpu) = (t.elapsed(), process_cpu().saturating_sub(c));
            let peak = rss_kib().1;
            writer.wait_merging_threads()?;
            p.heaps.push(HeapRun {
                heap_mib,
                wall,
                cpu,
                segments: index.searchable_segment_ids()?.len(),
                peak_growth_kib: peak.saturating_sub(rss),
            });
        }

        (p.floor, p.cpu[3]) = floor(schema, built)?;
        Ok(p)
    })
    .await
    .map_err(|_| SearchError::Stopped)?
}

/// The floor of a rebuild of every product in `db` (wall and CPU time):
/// raw tantivy indexing their documents in RAM with its default tokenizer
/// (add + commit). The rows are read and the documents built first,
/// untimed.
pub async fn build_floor(db: &DatabaseConnection) -> Result<(Duration, Duration), SearchError> {
    let docs = load_all(db, &all_product_ids(db).await?).await?;
    tokio::task::spawn_blocking(move || {
        let (schema, f) = fields::schema();
        let built: Vec<TantivyDocument> = docs.iter().map(|d| d.to_document(&f)).collect();
        drop(docs);
        floor(schema, built)
    })
    .await
    .map_err(|_| SearchError::Stopped)?
}

/// How long reading the documents of `ids` (sorted) from `db` takes, chunk
/// after chunk as a rebuild reads them (one product: as re-indexing it
/// after a change reads it).
pub async fn database_load(db: &DatabaseConnection, ids: &[String]) -> Result<Duration, SearchError> {
    let t = Instant::now();
    std::hint::black_box(load_all(db, ids).await?);
    Ok(t.elapsed())
}

/// Ids of every product, in the order a rebuild reads them.
pub async fn product_ids(db: &DatabaseConnection) -> Result<Vec<String>, SearchError> {
    all_product_ids(db).await
}

/// The documents of `ids` (sorted), read chunk after chunk, as a rebuild
/// reads them.
async fn load_all(db: &DatabaseConnection, ids: &[String]) -> Result<Vec<ProductDoc>, SearchError> {
    let mut docs = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        docs.extend(load_scope(db, Scope::Range(&chunk[0], &chunk[chunk.len() - 1])).await?);
    }
    Ok(docs)
}

/// Indexes `built` into a new index in RAM with tantivy's default
/// tokenizer in place of ours; returns the wall and CPU time.
fn floor(schema: tantivy::schema::Schema, built: Vec<TantivyDocument>) -> Result<(Duration, Duration), SearchError> {
    let floor = Index::create_in_ram(schema);
    for (name, _) in analyzers() {
        floor.tokenizers().register(name, default_analyzer());
    }
    let mut writer = bulk_writer(&floor)?;
    let (t, c) = (Instant::now(), process_cpu());
    for doc in built {
        writer.add_document(doc)?;
    }
    writer.commit()?;
    let took = (t.elapsed(), process_cpu().saturating_sub(c));
    writer.wait_merging_threads()?;
    Ok(took)
}

/// CPU time of the whole process so far (user + system; Linux, else zero).
pub fn process_cpu() -> Duration {
    cpu_of(std::process::id())
}

/// CPU time of process `pid` so far (user + system; Linux, else zero).
pub fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and
    // stime are the 14th and 15th fields of the line, in clock ticks.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The process's RSS and peak RSS in KiB (Linux, else zeros).
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// tantivy's `default` analyzer.
fn default_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .build()
}

/// Calls `f(analyzer, text)` for every text of `docs` indexed by one of
/// our analyzers.
fn each_text(schema: &tantivy::schema::Schema, docs: &[TantivyDocument], mut f: impl FnMut(&str, &str)) {
    let ours = analyzers().map(|(name, _)| name);
    for doc in docs {
        for (field, value) in doc.field_values() {
            let FieldType::Str(options) = schema.get_field_entry(field).field_type() else {
                continue;
            };
            let Some(indexing) = options.get_indexing_options() else {
                continue;
            };
            let analyzer = indexing.tokenizer();
            if !ours.contains(&analyzer) {
                continue;
            }
            if let Some(text) = value.as_str() {
                f(analyzer, text);
            }
        }
    }
}
