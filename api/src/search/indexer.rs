//! The single owner of the `IndexWriter`: it applies the catalog's
//! committed changes in batches (this replica's, and the other replicas'
//! read back from `mesh.catalog.events`), commits with a watermark (the
//! time of the newest change included), and reconciles with the database
//! at start-up. A change is applied by re-reading its products from the
//! database, so applying one twice, or out of order, converges.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use futures_util::{FutureExt, StreamExt};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use tantivy::indexer::UserOperation;
use tantivy::merge_policy::{LogMergePolicy, NoMergePolicy};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocSet, IndexWriter, Searcher, Term, TERMINATED};
use tokio::sync::{mpsc, oneshot};

use crate::catalog::{Change, ChangeHook, EntityKind};
use crate::store::entities::{access_subscription, audit_entry, data_product};
use crate::store::Store;

use super::document::{all_product_ids, load, load_scope, ProductDoc, Scope};
use super::fields::Fields;
use super::{SearchError, SearchIndex};

/// How far before the watermark the start-up reconciliation looks, to cover
/// transactions that committed out of timestamp order.
const RECONCILE_MARGIN: Duration = Duration::minutes(5);
/// Products loaded per database round trip during a rebuild.
pub(super) const CHUNK: usize = 1000;
/// Chunks a rebuild loads at once (each on its own connection, while the
/// writer indexes the previous ones).
const LOADERS: usize = 2;
/// Indexing memory budget of the writer, shared by its threads: a thread
/// writes a segment each time it has buffered its share. 256 MiB wrote 2
/// segments at 100,000 products instead of 8 and a merge, in the same build
/// time, but raised the peak RSS of a rebuild by 124 MiB, past the server's
/// memory target: the writer lives as long as the server.
pub(super) const WRITER_HEAP: usize = 64 * 1024 * 1024;

enum Command {
    Products { ids: Vec<String>, at: DateTime<Utc> },
    Rebuild(oneshot::Sender<Result<usize, String>>),
    Flush(oneshot::Sender<()>),
    Stop(oneshot::Sender<()>),
}

/// Feeds the index; register it as a catalog [`ChangeHook`].
#[derive(Clone)]
pub struct Indexer {
    tx: mpsc::UnboundedSender<Command>,
    progress: Arc<Mutex<IndexProgress>>,
}

/// How far the index has come.
#[derive(Debug, Clone, Copy)]
pub struct IndexProgress {
    /// The watermark of the last commit: every change up to it is searchable.
    pub applied: DateTime<Utc>,
    /// The time of the newest change handed to the indexer.
    pub newest: DateTime<Utc>,
}

impl IndexProgress {
    /// Index lag: how much older the searchable state is than the newest
    /// change received (zero when everything received is searchable).
    pub fn lag(&self) -> std::time::Duration {
        (self.newest - self.applied).to_std().unwrap_or_default()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    watermark: DateTime<Utc>,
}

struct Worker {
    index: SearchIndex,
    writer: Arc<Mutex<IndexWriter>>,
    db: DatabaseConnection,
    progress: Arc<Mutex<IndexProgress>>,
}

impl Indexer {
    /// Brings the index up to date with the database (full rebuild when
    /// `fresh`, otherwise reconciliation), then starts the writer task.
    pub async fn start(index: SearchIndex, store: &Store, fresh: bool) -> Result<Self, SearchError> {
        let writer = bulk_writer(&index.inner.index)?;
        let stored = stored_watermark(&index).unwrap_or_else(Utc::now);
        let progress = Arc::new(Mutex::new(IndexProgress {
            applied: stored,
            newest: stored,
        }));
        let worker = Worker {
            index,
            writer: Arc::new(Mutex::new(writer)),
            db: store.db().clone(),
            progress: progress.clone(),
        };
        if fresh {
            let n = worker.rebuild().await?;
            tracing::info!(products = n, "search index built");
        } else {
            worker.reconcile().await?;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(worker.run(rx));
        Ok(Self { tx, progress })
    }

    /// How far the index has come (for `/metrics` and `/readyz`).
    pub fn progress(&self) -> IndexProgress {
        *self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where a reader of `mesh.catalog.events` must start so that, with the
    /// start-up reconciliation, no change is missed: a margin before the
    /// watermark (transactions commit out of timestamp order).
    pub fn follow_from(&self) -> DateTime<Utc> {
        self.progress().applied - RECONCILE_MARGIN
    }

    fn queue(&self, change: &Change) {
        if change.products.is_empty() {
            return;
        }
        {
            let mut progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
            progress.newest = progress.newest.max(change.at);
        }
        let _ = self.tx.send(Command::Products {
            ids: change.products.clone(),
            at: change.at,
        });
    }

    /// Rebuilds the whole index from the database; returns the product count.
    pub async fn rebuild(&self) -> Result<usize, SearchError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Rebuild(tx)).map_err(|_| SearchError::Stopped)?;
        rx.await
            .map_err(|_| SearchError::Stopped)?
            .map_err(SearchError::Rebuild)
    }

    /// Waits until every change queued before this call is searchable.
    pub async fn flush(&self) -> Result<(), SearchError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Flush(tx)).map_err(|_| SearchError::Stopped)?;
        rx.await.map_err(|_| SearchError::Stopped)
    }

    /// Commits every change queued before this call, then stops the writer
    /// once its merges have ended: after this, nothing of this indexer
    /// touches the index directory (a merge finishing later would collect
    /// the files it does not know, e.g. those of an index made since).
    pub async fn stop(&self) -> Result<(), SearchError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Stop(tx)).map_err(|_| SearchError::Stopped)?;
        rx.await.map_err(|_| SearchError::Stopped)
    }
}

impl ChangeHook for Indexer {
    fn after_commit(&self, change: &Change) {
        self.queue(change);
    }

    fn after_peer_commit(&self, change: &Change) {
        self.queue(change);
    }
}

impl Worker {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut stops = Vec::new();
        while let Some(first) = rx.recv().await {
            // Everything already queued goes into the same commit.
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let mut ids = BTreeSet::new();
            let mut watermark = None;
            let mut rebuilds = Vec::new();
            let mut flushes = Vec::new();
            for command in batch {
                match command {
                    Command::Products { ids: more, at } => {
                        ids.extend(more);
                        watermark = watermark.max(Some(at));
                    }
                    Command::Rebuild(reply) => rebuilds.push(reply),
                    Command::Flush(reply) => flushes.push(reply),
                    Command::Stop(reply) => stops.push(reply),
                }
            }
            if !rebuilds.is_empty() {
                let result = self.rebuild().await.map_err(|e| e.to_string());
                for reply in rebuilds {
                    let _ = reply.send(result.clone());
                }
            } else if let Some(watermark) = watermark {
                let ids: Vec<String> = ids.into_iter().collect();
                match self.apply(&ids, watermark).await {
                    Ok(()) => self.applied(watermark),
                    Err(e) => {
                        tracing::error!(error = %e, products = ids.len(), "search indexing failed; the next start reconciles")
                    }
                }
            }
            for reply in flushes {
                let _ = reply.send(());
            }
            if !stops.is_empty() {
                break;
            }
        }
        drop(rx);
        // Every other handle on the writer lived inside an awaited task.
        if let Ok(writer) = Arc::try_unwrap(self.writer) {
            let writer = writer.into_inner().unwrap_or_else(|e| e.into_inner());
            let merged = tokio::task::spawn_blocking(move || writer.wait_merging_threads()).await;
            if let Ok(Err(e)) = merged {
                tracing::warn!(error = %e, "a merge of the search index failed at shutdown");
            }
        }
        for reply in stops {
            let _ = reply.send(());
        }
    }

    /// Re-indexes `ids` (deleting those no longer in the database) and
    /// commits with `watermark`.
    async fn apply(&self, ids: &[String], watermark: DateTime<Utc>) -> Result<(), SearchError> {
        let mut docs = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            docs.extend(load(&self.db, chunk).await?);
        }
        let writer = self.writer.clone();
        let index = self.index.clone();
        let ids = ids.to_vec();
        tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
            let mut writer = writer.lock().map_err(|_| SearchError::Stopped)?;
            if replace(&writer, &index.searcher(), &index.inner.fields, &ids, &docs)? == 0 {
                return Ok(());
            }
            commit(&mut writer, watermark)?;
            index.reload()
        })
        .await
        .map_err(|_| SearchError::Stopped)?
    }

    /// Re-indexes every product, then merges the new segments into one in
    /// the background: every search visits each segment (term lookups,
    /// automata walks, column opens), and the log policy would leave two or
    /// three of a rebuild's. Merges wait while it writes.
    async fn rebuild(&self) -> Result<usize, SearchError> {
        let merging = |on: bool| -> Result<(), SearchError> {
            let writer = self.writer.lock().map_err(|_| SearchError::Stopped)?;
            if on {
                writer.set_merge_policy(Box::new(merge_policy()));
            } else {
                writer.set_merge_policy(Box::new(NoMergePolicy));
            }
            Ok(())
        };
        merging(false)?;
        let built = self.rebuild_unmerged().await;
        merging(true)?;
        let count = built?;
        let mut writer = self.writer.lock().map_err(|_| SearchError::Stopped)?;
        merge_into_one(&mut writer, &self.index.inner.index)?;
        Ok(count)
    }

    /// [`Self::rebuild`]'s writing: one task loads chunks from the database
    /// while this one hands the previous chunk to the writer's threads.
    async fn rebuild_unmerged(&self) -> Result<usize, SearchError> {
        let started = Utc::now();
        let ids = all_product_ids(&self.db).await?;
        {
            let writer = self.writer.lock().map_err(|_| SearchError::Stopped)?;
            writer.delete_all_documents()?;
        }
        let (tx, mut rx) = mpsc::channel(2);
        let db = self.db.clone();
        // Each chunk of the sorted ids is read as the range of ids it spans.
        let ranges: Vec<(String, String)> = ids
            .chunks(CHUNK)
            .map(|chunk| (chunk[0].clone(), chunk[chunk.len() - 1].clone()))
            .collect();
        let loader = tokio::spawn(async move {
            let mut loads = futures_util::stream::iter(ranges)
                .map(|(first, last)| {
                    let db = db.clone();
                    tokio::spawn(async move { load_scope(&db, Scope::Range(&first, &last)).await })
                })
                .buffered(LOADERS);
            while let Some(docs) = loads.next().await {
                let docs = docs.map_err(|_| SearchError::Stopped).and_then(|docs| docs);
                let failed = docs.is_err();
                if tx.send(docs).await.is_err() || failed {
                    break;
                }
            }
        });
        while let Some(docs) = rx.recv().await {
            let docs = docs?;
            let writer = self.writer.clone();
            let f = self.index.inner.fields;
            tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
                let writer = writer.lock().map_err(|_| SearchError::Stopped)?;
                for doc in &docs {
                    writer.add_document(doc.to_document(&f))?;
                }
                Ok(())
            })
            .await
            .map_err(|_| SearchError::Stopped)??;
        }
        loader.await.map_err(|_| SearchError::Stopped)?;
        let writer = self.writer.clone();
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
            let mut writer = writer.lock().map_err(|_| SearchError::Stopped)?;
            commit(&mut writer, started)?;
            index.reload()
        })
        .await
        .map_err(|_| SearchError::Stopped)??;
        self.applied(started);
        Ok(ids.len())
    }

    /// Catches up with changes committed to the database but not to the
    /// index (a crash between the two): every product the audit log touched
    /// since the watermark is re-indexed. A different product count means
    /// the index belongs to another database: rebuild.
    async fn reconcile(&self) -> Result<(), SearchError> {
        let watermark = stored_watermark(&self.index);
        let products = data_product::Entity::find().count(&self.db).await?;
        let Some(watermark) = watermark.filter(|_| products == self.index.len()) else {
            let n = self.rebuild().await?;
            tracing::info!(products = n, "search index rebuilt: it did not match the database");
            return Ok(());
        };
        let since = watermark - RECONCILE_MARGIN;
        let entries = audit_entry::Entity::find()
            .filter(audit_entry::Column::At.gte(since))
            .select_only()
            .column(audit_entry::Column::EntityKind)
            .column(audit_entry::Column::EntityId)
            .into_tuple::<(String, String)>()
            .all(&self.db)
            .await?;
        let mut ids = BTreeSet::new();
        let mut subscriptions = Vec::new();
        for (kind, id) in entries {
            if kind == EntityKind::Product.as_str() {
                ids.insert(id);
            } else if kind == EntityKind::Subscription.as_str() {
                subscriptions.push(id);
            }
        }
        for chunk in subscriptions.chunks(CHUNK) {
            ids.extend(
                access_subscription::Entity::find()
                    .filter(access_subscription::Column::Id.is_in(chunk.to_vec()))
                    .select_only()
                    .column(access_subscription::Column::ProductId)
                    .into_tuple::<String>()
                    .all(&self.db)
                    .await?,
            );
        }
        // Products created by a transaction that crashed the index before
        // it committed but not listed (defensive; normally covered above).
        let known = data_product::Entity::find()
            .filter(data_product::Column::UpdatedAt.gte(since))
            .select_only()
            .column(data_product::Column::Id)
            .into_tuple::<String>()
            .all(&self.db)
            .await?;
        ids.extend(known);
        let ids: Vec<String> = ids.into_iter().collect();
        if ids.len() as u64 > products / 2 {
            // Most of the catalog changed: a rebuild is cheaper.
            self.rebuild().await?;
        } else if !ids.is_empty() {
            let now = Utc::now();
            self.apply(&ids, now).await?;
            self.applied(now);
        }
        tracing::info!(products = ids.len(), "search index reconciled");
        Ok(())
    }
}

impl Worker {
    /// Records a commit whose watermark is `watermark`.
    fn applied(&self, watermark: DateTime<Utc>) {
        let mut progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        progress.applied = progress.applied.max(watermark);
        progress.newest = progress.newest.max(progress.applied);
    }
}

/// Replaces the documents of `ids` with `docs` (those of the `ids` still in
/// the database), uncommitted; returns how many it deleted or wrote. A
/// product whose document is indexed already, with the same digest, is
/// left as it is: most changes that name a product (a freshness flag, an
/// access request, a lineage edge) change nothing indexed about it, and
/// re-adding it would churn segments and shift every score's document
/// statistics for nothing. The documents go to the writer in groups: a
/// group's documents go to one indexing thread, so a commit of up to CHUNK
/// writes one segment. Added one by one, they were spread over the writer's
/// threads, and each wrote a segment of its own, at a fixed cost of about
/// 1 MiB per indexed field (tantivy-fst's node registry) however few its
/// documents: under a stream of publishes that was a third of the server's
/// CPU (docs/BENCHMARKS-search.md, "Session 13"). The writer checks its
/// memory budget between groups, hence the bound.
pub(super) fn replace(
    writer: &IndexWriter,
    searcher: &Searcher,
    f: &Fields,
    ids: &[String],
    docs: &[ProductDoc],
) -> Result<usize, SearchError> {
    let indexed = indexed_digests(searcher, f, docs)?;
    let mut unchanged = HashSet::new();
    let mut built = Vec::with_capacity(docs.len());
    for doc in docs {
        let document = doc.to_document(f);
        let digest = document.get_first(f.digest).and_then(|v| v.as_u64());
        if digest.is_some() && indexed.get(doc.id.as_str()).copied() == digest {
            unchanged.insert(doc.id.as_str());
        } else {
            built.push(document);
        }
    }
    let mut operations = 0;
    for id in ids.iter().filter(|id| !unchanged.contains(String::as_str(id))) {
        writer.delete_term(Term::from_field_text(f.id, id));
        operations += 1;
    }
    operations += built.len();
    let mut built = built.into_iter().peekable();
    while built.peek().is_some() {
        writer.run(built.by_ref().take(CHUNK).map(UserOperation::Add).collect::<Vec<_>>())?;
    }
    Ok(operations)
}

/// The digest indexed for each of `docs`' products that has exactly one
/// live document (each segment's term dictionary and digest column opened
/// once for the whole batch).
fn indexed_digests<'d>(
    searcher: &Searcher,
    f: &Fields,
    docs: &'d [ProductDoc],
) -> Result<HashMap<&'d str, u64>, SearchError> {
    // `None`: indexed more than once, or without a digest.
    let mut found: HashMap<&str, Option<u64>> = HashMap::with_capacity(docs.len());
    for segment in searcher.segment_readers() {
        let ids = segment.inverted_index(f.id)?;
        let digests = segment.fast_fields().u64("digest")?;
        let alive = segment.alive_bitset();
        for product in docs {
            let term = Term::from_field_text(f.id, &product.id);
            let Some(mut postings) = ids.read_postings(&term, IndexRecordOption::Basic)? else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    found
                        .entry(product.id.as_str())
                        .and_modify(|digest| *digest = None)
                        .or_insert(digests.first(doc));
                }
                doc = postings.advance();
            }
        }
    }
    Ok(found
        .into_iter()
        .filter_map(|(id, digest)| Some((id, digest?)))
        .collect())
}

/// The watermark of the index's last commit, if it has one.
fn stored_watermark(index: &SearchIndex) -> Option<DateTime<Utc>> {
    let payload = index.inner.index.load_metas().ok()?.payload?;
    serde_json::from_str::<Payload>(&payload).ok().map(|p| p.watermark)
}

/// The index's writer (the indexer's, and the benchmark's split of a build).
pub(super) fn bulk_writer(index: &tantivy::Index) -> Result<IndexWriter, SearchError> {
    writer_with_heap(index, WRITER_HEAP)
}

/// A writer with `heap` bytes of indexing memory, shared by its threads,
/// merging with [`merge_policy`].
pub(super) fn writer_with_heap(index: &tantivy::Index, heap: usize) -> Result<IndexWriter, SearchError> {
    let writer = index.writer(heap)?;
    writer.set_merge_policy(Box::new(merge_policy()));
    Ok(writer)
}

/// tantivy's log merge policy, with small segments in levels of their own.
/// By default every segment under 10,000 documents is in one level, so
/// under a stream of publishes (a commit of a few documents each time) the
/// growing small segment was rewritten with every 7 new ones: each
/// document some hundreds of times before it reached 10,000, and merging
/// took 44 % of the server's CPU while publishing. From 100 documents up,
/// segments of similar size merge together (8 at a time), so a document is
/// rewritten a few times in all.
fn merge_policy() -> LogMergePolicy {
    let mut policy = LogMergePolicy::default();
    policy.set_min_layer_size(MERGE_MIN_LAYER);
    policy
}

/// Starts merging every searchable segment into one, in the background.
pub(super) fn merge_into_one(writer: &mut IndexWriter, index: &tantivy::Index) -> Result<(), SearchError> {
    let segments = index.searchable_segment_ids()?;
    if segments.len() > 1 {
        // A merge that cannot start (a segment already in a merge the
        // policy started before the rebuild) fails at once; one that
        // started goes on in the background when its handle drops.
        if let Some(Err(e)) = writer.merge(&segments).now_or_never() {
            tracing::warn!(error = %e, segments = segments.len(), "the rebuild's segments were not merged into one");
        }
    }
    Ok(())
}

/// Segments up to this many documents are one level (see [`merge_policy`]).
const MERGE_MIN_LAYER: u32 = 100;

fn commit(writer: &mut IndexWriter, watermark: DateTime<Utc>) -> Result<(), SearchError> {
    let payload = serde_json::to_string(&Payload { watermark }).unwrap_or_default();
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload(&payload);
    prepared.commit()?;
    Ok(())
}
