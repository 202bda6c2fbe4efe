//! Discovery queries: `search` (full text with filters, facets, highlights
//! and cursors) and `suggest` (typeahead).

use async_graphql::connection::{Connection, CursorType, Edge, OpaqueCursor};
use async_graphql::{Context, Enum, ErrorExtensions, InputObject, Object, Result, SimpleObject};

use crate::catalog::{CatalogError, ProductStatus, QualityClass, SlaTier};
use crate::search::{
    Cursor, Extras, FacetCounts, Facets, Highlight as IndexHighlight, Highlights, SearchFilters, SearchHit as IndexHit,
    SearchIndex, Suggestion as IndexSuggestion,
};

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::error::GqlResult;
use super::objects::{visible_product, DataProduct, SchemaFormat};
use super::query::{bounded, short};
use super::{catalog, principal};
use crate::catalog::policy;
use crate::store::entities::data_product;

/// Narrows a search; within a list any value matches, across lists all
/// must. RETIRED products only appear when `statuses` includes RETIRED.
#[derive(InputObject, Default)]
pub struct SearchFiltersInput {
    /// Domain names.
    #[graphql(default)]
    pub domains: Vec<String>,
    #[graphql(default)]
    pub tags: Vec<String>,
    #[graphql(default)]
    pub tiers: Vec<SlaTier>,
    #[graphql(default)]
    pub quality_classes: Vec<QualityClass>,
    #[graphql(default)]
    pub statuses: Vec<ProductStatus>,
    /// Owner team names.
    #[graphql(default)]
    pub owners: Vec<String>,
    #[graphql(default)]
    pub formats: Vec<SchemaFormat>,
    /// Minimum quality score (0–100).
    pub min_quality: Option<f64>,
}

impl From<SearchFiltersInput> for SearchFilters {
    fn from(f: SearchFiltersInput) -> Self {
        Self {
            domains: f.domains,
            tags: f.tags.into_iter().map(|t| t.to_lowercase()).collect(),
            tiers: f.tiers.into_iter().map(|t| t.as_str().to_owned()).collect(),
            quality_classes: f.quality_classes.into_iter().map(|c| c.as_str().to_owned()).collect(),
            statuses: f.statuses.into_iter().map(|s| s.as_str().to_owned()).collect(),
            owners: f.owners,
            formats: f
                .formats
                .into_iter()
                .map(|x| crate::catalog::format_str(x.into()).to_owned())
                .collect(),
            min_quality: f.min_quality,
        }
    }
}

/// A value of a facet and how many matching products have it.
#[derive(SimpleObject)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

fn counts(list: &FacetCounts) -> Vec<FacetCount> {
    list.iter()
        .map(|(value, count)| FacetCount {
            value: value.clone(),
            count: *count,
        })
        .collect()
}

/// Facet counts over the whole filtered result set.
pub struct SearchFacets(Facets);

#[Object]
impl SearchFacets {
    async fn domains(&self) -> Vec<FacetCount> {
        counts(&self.0.domains)
    }
    async fn tags(&self) -> Vec<FacetCount> {
        counts(&self.0.tags)
    }
    async fn tiers(&self) -> Vec<FacetCount> {
        counts(&self.0.tiers)
    }
    async fn quality_classes(&self) -> Vec<FacetCount> {
        counts(&self.0.quality_classes)
    }
    async fn statuses(&self) -> Vec<FacetCount> {
        counts(&self.0.statuses)
    }
    async fn owners(&self) -> Vec<FacetCount> {
        counts(&self.0.owners)
    }
    async fn formats(&self) -> Vec<FacetCount> {
        counts(&self.0.formats)
    }
}

/// Character range (Unicode scalar values) of a matched word.
#[derive(SimpleObject)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

/// A fragment of a matched field with the matched words marked.
pub struct Highlight(IndexHighlight);

#[Object]
impl Highlight {
    /// `name`, `tags`, `fields`, `owner`, `domain`, `description` or `docs`.
    async fn field(&self) -> &str {
        self.0.field
    }
    /// Plain text.
    async fn fragment(&self) -> &str {
        &self.0.fragment
    }
    /// HTML-escaped text with matched words in `<mark>…</mark>`.
    async fn marked(&self) -> String {
        let text = &self.0.fragment;
        let mut out = String::with_capacity(text.len() + 16);
        let mut at = 0;
        for (from, to) in &self.0.ranges {
            out.push_str(&escape(&text[at..*from]));
            out.push_str("<mark>");
            out.push_str(&escape(&text[*from..*to]));
            out.push_str("</mark>");
            at = *to;
        }
        out.push_str(&escape(&text[at..]));
        out
    }
    /// Matched words as character ranges of `fragment`.
    async fn ranges(&self) -> Vec<TextRange> {
        let text = &self.0.fragment;
        let chars = |byte: usize| text[..byte].chars().count();
        self.0
            .ranges
            .iter()
            .map(|(a, b)| TextRange {
                start: chars(*a),
                end: chars(*b),
            })
            .collect()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The product rows search hits read last, by id (at most `CAPACITY`,
/// least recently used out first). A hit takes its product from here when
/// the row has the version the index holds, and from the database
/// otherwise: a hit's product is the row it was indexed from, or a newer
/// one. Rows are never changed in place (every change increments
/// `version`), so an entry is either the indexed row or not used.
#[derive(Clone)]
pub struct HitProducts(Arc<Mutex<LruCache<String, Arc<data_product::Model>>>>);

impl HitProducts {
    /// 1–2 KiB a row: at most some 20 MiB.
    const CAPACITY: NonZeroUsize = NonZeroUsize::new(10_000).unwrap();

    fn get(&self, id: &str, version: i32) -> Option<Arc<data_product::Model>> {
        let mut rows = self.0.lock().unwrap_or_else(|e| e.into_inner());
        rows.get(id).filter(|row| row.version == version).cloned()
    }

    fn put(&self, row: &Arc<data_product::Model>) {
        let mut rows = self.0.lock().unwrap_or_else(|e| e.into_inner());
        rows.put(row.id.clone(), row.clone());
    }
}

impl Default for HitProducts {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(LruCache::new(Self::CAPACITY))))
    }
}

/// A matching product.
pub struct SearchHit(IndexHit);

#[Object]
impl SearchHit {
    /// Relevance (higher is better; comparable within one search only).
    async fn score(&self) -> f32 {
        self.0.score
    }
    // Null only if the product changed since the index was read (deleted,
    // or no longer visible to the caller).
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<DataProduct>> {
        let products = ctx.data_unchecked::<HitProducts>();
        if let Some(row) = products.get(&self.0.product_id, self.0.version) {
            return Ok(policy::can_see(principal(ctx), &row).then_some(DataProduct(row)));
        }
        let product = visible_product(ctx, &self.0.product_id).await?;
        if let Some(product) = &product {
            products.put(&product.0);
        }
        Ok(product)
    }
    /// Fields where the query matched, best first.
    async fn matched_fields(&self) -> Vec<&str> {
        self.0.highlights.iter().map(|h| h.field).collect()
    }
    async fn highlights(&self) -> Vec<Highlight> {
        self.0.highlights.iter().cloned().map(Highlight).collect()
    }
}

/// Totals and facets of a search.
#[derive(SimpleObject)]
pub struct SearchExtras {
    /// Matches across all pages: exact up to 10,000; beyond, 10,000 as a
    /// lower bound (`totalCountIsExact` false), as Elasticsearch counts by
    /// default. Selecting `facets` makes it exact at any size.
    pub total_count: usize,
    /// Whether `totalCount` is the exact number of matches (otherwise there
    /// are at least that many).
    pub total_count_is_exact: bool,
    pub facets: SearchFacets,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SuggestionKind {
    Product,
    Field,
}

/// A typeahead suggestion: a product, or a schema field name.
pub struct Suggestion(IndexSuggestion);

#[Object]
impl Suggestion {
    async fn kind(&self) -> SuggestionKind {
        match self.0 {
            IndexSuggestion::Product { .. } => SuggestionKind::Product,
            IndexSuggestion::Field { .. } => SuggestionKind::Field,
        }
    }
    /// The qualified name or the field name.
    async fn text(&self) -> &str {
        match &self.0 {
            IndexSuggestion::Product { qualified_name, .. } => qualified_name,
            IndexSuggestion::Field { name, .. } => name,
        }
    }
    async fn display_name(&self) -> Option<&str> {
        match &self.0 {
            IndexSuggestion::Product { display_name, .. } => Some(display_name),
            IndexSuggestion::Field { .. } => None,
        }
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<DataProduct>> {
        match &self.0 {
            IndexSuggestion::Product { id, .. } => visible_product(ctx, id).await,
            IndexSuggestion::Field { .. } => Ok(None),
        }
    }
    /// For a field: how many products have it.
    async fn product_count(&self) -> Option<u64> {
        match &self.0 {
            IndexSuggestion::Field { products, .. } => Some(*products),
            IndexSuggestion::Product { .. } => None,
        }
    }
}

/// Facets and highlights are computed only when the query selects them.
fn selected_extras(ctx: &Context<'_>) -> Extras {
    let selection = ctx.look_ahead();
    let hits = [selection.field("edges").field("node"), selection.field("nodes")];
    let highlights = if hits.iter().any(|hit| hit.field("highlights").exists()) {
        Highlights::Fragments
    } else if hits.iter().any(|hit| hit.field("matchedFields").exists()) {
        Highlights::Fields
    } else {
        Highlights::None
    };
    Extras {
        facets: selection.field("facets").exists(),
        highlights,
    }
}

fn index<'a>(ctx: &Context<'a>) -> &'a SearchIndex {
    ctx.data_unchecked::<SearchIndex>()
}

pub type SearchConnection = Connection<OpaqueCursor<Cursor>, SearchHit, SearchExtras>;

#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Full-text search over data products: names, descriptions, tags,
    /// owners, domains, schema field names and docs. Typos (1 edit from 5
    /// letters, 2 from 9) and a prefix on the last word are tolerated; a
    /// query without words (empty, or only punctuation) lists every product
    /// alphabetically; words over 64 bytes match nothing. `first`: 1–100;
    /// `query`: at most 1000 bytes.
    async fn search(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] query: String,
        filters: Option<SearchFiltersInput>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<SearchConnection> {
        let first = bounded("first", first, 100)? as usize;
        short("query", &query, 1_000)?;
        let after = after
            .map(|c| OpaqueCursor::<Cursor>::decode_cursor(&c).map(|c| c.0))
            .transpose()
            .map_err(|_| CatalogError::Validation("invalid cursor".into()).extend())?;
        let filters: SearchFilters = filters.unwrap_or_default().into();
        let audience = catalog(ctx).search_audience(principal(ctx)).gql()?;
        let index = index(ctx).clone();
        let has_previous = after.is_some();
        let extras = selected_extras(ctx);
        let started = std::time::Instant::now();
        let page = index
            .run(move |index| index.search(&query, &filters, &audience, first, after.as_ref(), extras))
            .await
            .gql()?;
        if let Ok(metrics) = ctx.data::<super::metrics::Metrics>() {
            metrics.search(started.elapsed());
        }
        let mut connection = Connection::with_additional_fields(
            has_previous,
            page.has_next_page,
            SearchExtras {
                total_count: page.total,
                total_count_is_exact: page.total_exact,
                facets: SearchFacets(page.facets),
            },
        );
        connection.edges.extend(
            page.hits
                .into_iter()
                .map(|hit| Edge::new(OpaqueCursor(hit.cursor.clone()), SearchHit(hit))),
        );
        Ok(connection)
    }

    /// Typeahead: products whose name words start with `prefix`, then
    /// schema field names starting with it; at most `limit` (1–50) in all.
    async fn suggest(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        #[graphql(default = 8)] limit: i32,
    ) -> Result<Vec<Suggestion>> {
        let limit = bounded("limit", limit, 50)? as usize;
        short("prefix", &prefix, 200)?;
        let audience = catalog(ctx).search_audience(principal(ctx)).gql()?;
        let index = index(ctx).clone();
        let found = index
            .run(move |index| index.suggest(&prefix, &audience, limit))
            .await
            .gql()?;
        Ok(found.into_iter().map(Suggestion).collect())
    }
}
