//! The index layout: one document per data product.
//!
//! Bump [`LAYOUT_VERSION`] whenever fields, analyzers or the documents'
//! digest change: an index built with another version is rebuilt from the
//! database at start-up.

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::Index;

use super::analysis::{docs_analyzer, ident_analyzer, prose_analyzer, DOCS, IDENT, PROSE};

/// Version of the fields and analysis below.
pub const LAYOUT_VERSION: u32 = 14;

/// Handles to the index fields.
#[derive(Clone, Copy)]
pub struct Fields {
    /// Product id (exact, fast: a hit's id without loading its document).
    pub id: Field,
    /// Lowercased qualified name, name and display name, untokenized: an
    /// exact-name match scores highest.
    pub name_exact: Field,
    /// Qualified name, name and display name, split into words.
    pub name: Field,
    pub tags: Field,
    /// Schema field paths of the latest version, split into words.
    pub fields: Field,
    /// Leaf field names, lowercased and untokenized (typeahead).
    pub field_names: Field,
    /// Leaf field names as one word ([`super::analysis::joined`]), for a
    /// field name typed without its separators or capitals.
    pub field_joined: Field,
    /// Each pair of consecutive words of a field path as one term
    /// ([`super::analysis::word_pairs`]): a query's words in sequence match
    /// a path (`user ip` → `userIpAddress`) as a term lookup, without
    /// reading positions (a phrase query over every path was 45 % of the
    /// time of such queries), and never across two paths.
    pub field_pairs: Field,
    pub domain_text: Field,
    pub owner_text: Field,
    /// The owner team's name as one word ([`super::analysis::joined`]):
    /// a team's name typed in any casing or separators finds its products.
    pub owner_joined: Field,
    pub description: Field,
    pub docs: Field,
    // Filters and facets (exact values, fast).
    pub qname: Field,
    pub domain: Field,
    pub tag: Field,
    pub tier: Field,
    pub quality_class: Field,
    pub status: Field,
    pub owner: Field,
    pub format: Field,
    pub visibility: Field,
    /// Who may see the product: `public`, and `team:<id>` of each team
    /// that may see it when private (see `catalog::policy`).
    pub readers: Field,
    pub quality: Field,
    /// The product's ranking factor (status, quality, subscribers:
    /// `rank::boost`), one column read per scored match.
    pub boost: Field,
    /// The product row's version (its optimistic concurrency token): which
    /// row a hit was indexed from.
    pub version: Field,
    /// A fingerprint of the whole document, to compare the index with the
    /// database (`search::differences`).
    pub digest: Field,
}

/// Stored text split into words, with term frequencies and norms. Only
/// the name keeps positions: the one phrase a query runs is over names
/// (`query::build`); highlights re-read the stored text, and field paths'
/// word sequences are terms of their own (`field_pairs`).
fn text(analyzer: &str, positions: bool) -> TextOptions {
    let option = if positions {
        IndexRecordOption::WithFreqsAndPositions
    } else {
        IndexRecordOption::WithFreqs
    };
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(analyzer)
        .set_index_option(option);
    TextOptions::default().set_indexing_options(indexing).set_stored()
}

/// An untokenized field scored like the others: with term frequencies and
/// norms, so that a word's union of fields can be pruned (block-max WAND
/// needs frequencies in every field it unions).
fn whole_value() -> TextOptions {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::WithFreqs);
    TextOptions::default().set_indexing_options(indexing)
}

/// Builds the schema and its field handles.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING | FAST),
        name_exact: b.add_text_field("name_exact", whole_value()),
        name: b.add_text_field("name", text(IDENT, true)),
        tags: b.add_text_field("tags", text(IDENT, false)),
        fields: b.add_text_field("fields", text(IDENT, false)),
        field_names: b.add_text_field("field_names", STRING),
        field_joined: b.add_text_field("field_joined", whole_value()),
        field_pairs: b.add_text_field("field_pairs", whole_value()),
        domain_text: b.add_text_field("domain_text", text(IDENT, false)),
        owner_text: b.add_text_field("owner_text", text(IDENT, false)),
        owner_joined: b.add_text_field("owner_joined", whole_value()),
        description: b.add_text_field("description", text(PROSE, false)),
        docs: b.add_text_field("docs", text(DOCS, false)),
        qname: b.add_text_field("qname", STRING | FAST | STORED),
        domain: b.add_text_field("domain", STRING | FAST),
        tag: b.add_text_field("tag", STRING | FAST),
        tier: b.add_text_field("tier", STRING | FAST),
        quality_class: b.add_text_field("quality_class", STRING | FAST),
        status: b.add_text_field("status", STRING | FAST),
        owner: b.add_text_field("owner", STRING | FAST),
        format: b.add_text_field("format", STRING | FAST),
        visibility: b.add_text_field("visibility", STRING | FAST),
        readers: b.add_text_field("readers", STRING),
        quality: b.add_f64_field("quality", INDEXED | FAST),
        boost: b.add_f64_field("boost", FAST),
        version: b.add_u64_field("version", FAST),
        digest: b.add_u64_field("digest", FAST),
    };
    (b.build(), fields)
}

/// Our analyzers, by the names the fields above give them.
pub fn analyzers() -> [(&'static str, TextAnalyzer); 3] {
    [
        (IDENT, ident_analyzer()),
        (PROSE, prose_analyzer()),
        (DOCS, docs_analyzer()),
    ]
}

/// Registers our analyzers on an index (needed after every open).
pub fn register_analyzers(index: &Index) {
    for (name, analyzer) in analyzers() {
        index.tokenizers().register(name, analyzer);
    }
}
