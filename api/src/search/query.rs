//! Turning a search request into a tantivy query, and counting facets.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::query::{
    AutomatonWeight, BooleanQuery, BoostQuery, ConstScoreQuery, DfaWrapper, EnableScoring, FuzzyTermQuery, Occur,
    PhraseQuery, Query, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, Term};

use super::analysis::{analyze, each_word, ident_words, joined, prose_analyzer, typo_budget, word_pairs};
use super::fields::Fields;
use super::union::Union;

/// Exact-value filters; within a list any value matches, across lists all
/// must match. RETIRED products are hidden unless `statuses` asks for them.
#[derive(Debug, Clone, Default)]
pub struct SearchFilters {
    pub domains: Vec<String>,
    pub tags: Vec<String>,
    pub tiers: Vec<String>,
    pub quality_classes: Vec<String>,
    pub statuses: Vec<String>,
    pub owners: Vec<String>,
    pub formats: Vec<String>,
    pub min_quality: Option<f64>,
}

/// Field weights: exact name ≫ words of the name > tags and field names >
/// owner and domain > description > field docs.
const EXACT_NAME: Score = 30.0;
/// The whole query is a product's name within the typo budget (only when
/// a word is misspelt: otherwise the exact name applies).
const NAME_TYPO: Score = 15.0;
/// The whole query is the owner team's name, or a schema field's name, in
/// any casing and separators.
const OWNER_EXACT: Score = 12.0;
const FIELD_EXACT: Score = 6.0;
const NAME_PHRASE: Score = 6.0;
const FIELD_PHRASE: Score = 6.0;
const NAME: Score = 6.0;
const TAGS: Score = 3.0;
const FIELDS: Score = 3.0;
const OWNER_DOMAIN: Score = 2.5;
const DESCRIPTION: Score = 1.5;
const DOCS: Score = 1.0;
/// Typo and prefix matches score a constant far below any exact word match,
/// so they never outrank one.
const FUZZY: Score = 0.01;
const PREFIX: Score = 0.02;
/// A prefix of a name word beats every typo and prefix match elsewhere.
const NAME_PREFIX: Score = 0.07;

/// The words of a query: as typed (identifier analysis) and stemmed.
#[derive(Debug, Clone)]
pub struct QueryWords {
    pub plain: Vec<String>,
    pub stemmed: Vec<String>,
    /// The whole query lowercased, for exact name matches.
    pub exact: String,
    /// Whether each word occurs exactly in the index (set by the index).
    pub known: Vec<bool>,
    /// The query has words but every one is longer than any indexed word
    /// (64 bytes): it matches nothing, where a query without words lists.
    pub unmatchable: bool,
}

impl QueryWords {
    pub fn parse(query: &str) -> Self {
        let plain: Vec<String> = ident_words(query);
        let stemmed: Vec<String> = analyze(&mut prose_analyzer(), query)
            .into_iter()
            .map(|w| w.text)
            .collect();
        let known = vec![false; plain.len()];
        let mut has_words = false;
        if plain.is_empty() {
            each_word(query, |_, _| has_words = true);
        }
        Self {
            unmatchable: has_words,
            plain,
            stemmed,
            exact: query.trim().to_lowercase(),
            known,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.plain.is_empty()
    }

    /// Word `i` as typed and stemmed (as typed when the prose analysis has
    /// no stem for it).
    pub fn forms(&self, i: usize) -> (&str, &str) {
        let plain = self.plain[i].as_str();
        let stemmed = self.stemmed.get(i).filter(|s| !s.is_empty());
        (plain, stemmed.map_or(plain, String::as_str))
    }
}

/// The stored field a match is shown in: what a hit's matched fields and
/// highlights name, best first (the order of the variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Name,
    Tags,
    Fields,
    Owner,
    Domain,
    Description,
    Docs,
}

impl Shown {
    pub const ALL: [Shown; 7] = [
        Shown::Name,
        Shown::Tags,
        Shown::Fields,
        Shown::Owner,
        Shown::Domain,
        Shown::Description,
        Shown::Docs,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Shown::Name => "name",
            Shown::Tags => "tags",
            Shown::Fields => "fields",
            Shown::Owner => "owner",
            Shown::Domain => "domain",
            Shown::Description => "description",
            Shown::Docs => "docs",
        }
    }

    /// The stored field holding its text.
    pub fn stored(self, f: &Fields) -> Field {
        match self {
            Shown::Name => f.name,
            Shown::Tags => f.tags,
            Shown::Fields => f.fields,
            Shown::Owner => f.owner_text,
            Shown::Domain => f.domain_text,
            Shown::Description => f.description,
            Shown::Docs => f.docs,
        }
    }
}

/// How a clause matches its term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Matching {
    /// The term itself, scored by BM25 times the clause's weight.
    Exact,
    /// Any term within this many edits, scored the weight.
    Typo(u8),
    /// Any term starting with it, scored the weight.
    Prefix,
}

/// One way a search matches a document: a term of an index field, how it
/// matches, its weight, and the stored field a match is shown in. The
/// ranking's query and a hit's matched fields are both made of these.
#[derive(Debug, Clone)]
pub struct Clause {
    pub term: Term,
    pub matching: Matching,
    pub weight: Score,
    pub shown: Shown,
    /// The automaton of a typo or prefix clause ([`Clauses::of`]).
    pub automaton: Option<Automaton>,
}

/// The terms a typo or prefix clause reaches, as a Levenshtein automaton,
/// built once per word and kind of expansion and shared by the fields
/// (and the searches' queries, and the matched fields) that use it.
#[derive(Clone)]
pub struct Automaton(Arc<DfaWrapper>);

impl std::fmt::Debug for Automaton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Automaton")
    }
}

impl Automaton {
    /// Its weight over `field`'s dictionary.
    pub fn over(&self, field: Field) -> AutomatonWeight<DfaWrapper> {
        AutomatonWeight::new(field, self.0.clone())
    }
}

/// An expanding clause as a query: the documents of every term its
/// automaton reaches (a constant score is applied around it).
#[derive(Debug, Clone)]
struct Expanded(Field, Automaton);

impl Query for Expanded {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.1.over(self.0)))
    }
}

impl Clause {
    fn new(field: Field, text: &str, matching: Matching, weight: Score, shown: Shown) -> Self {
        Self {
            term: Term::from_field_text(field, text),
            matching,
            weight,
            shown,
            automaton: None,
        }
    }

    pub(super) fn query(&self) -> Box<dyn Query> {
        match &self.automaton {
            None => boosted(
                Box::new(TermQuery::new(self.term.clone(), IndexRecordOption::WithFreqs)),
                self.weight,
            ),
            Some(automaton) => Box::new(ConstScoreQuery::new(
                Box::new(Expanded(self.term.field(), automaton.clone())),
                self.weight,
            )),
        }
    }
}

fn boosted(query: Box<dyn Query>, boost: Score) -> Box<dyn Query> {
    Box::new(BoostQuery::new(query, boost))
}

/// A query word in each searchable field, in the form it takes there
/// (prose fields are stemmed): what the index must hold for the word to be
/// known exactly.
pub fn exact_clauses(f: &Fields, plain: &str, stemmed: &str) -> [Clause; 8] {
    let exact = |field, text, weight, shown| Clause::new(field, text, Matching::Exact, weight, shown);
    [
        exact(f.name, plain, NAME, Shown::Name),
        exact(f.tags, plain, TAGS, Shown::Tags),
        exact(f.fields, plain, FIELDS, Shown::Fields),
        // A field name typed as one word (`orderid` for `orderId`).
        exact(f.field_joined, plain, FIELDS, Shown::Fields),
        exact(f.owner_text, plain, OWNER_DOMAIN, Shown::Owner),
        exact(f.domain_text, plain, OWNER_DOMAIN, Shown::Domain),
        exact(f.description, stemmed, DESCRIPTION, Shown::Description),
        exact(f.docs, stemmed, DOCS, Shown::Docs),
    ]
}

/// Everything that can match one query word. Typo and prefix expansions
/// are only added for words the index does not know exactly (`known`):
/// they are what makes a query expensive, and a correctly spelled word
/// should not drift to its neighbours.
fn word_clauses(f: &Fields, plain: &str, stemmed: &str, last: bool, known: bool) -> Vec<Clause> {
    let mut clauses = exact_clauses(f, plain, stemmed).to_vec();
    if known {
        return clauses;
    }
    let budget = typo_budget(plain);
    if budget > 0 {
        for (field, shown) in [
            (f.name, Shown::Name),
            (f.tags, Shown::Tags),
            (f.fields, Shown::Fields),
            (f.owner_text, Shown::Owner),
            (f.domain_text, Shown::Domain),
        ] {
            clauses.push(Clause::new(field, plain, Matching::Typo(budget), FUZZY, shown));
        }
        let typo = Matching::Typo(typo_budget(stemmed));
        clauses.push(Clause::new(f.description, stemmed, typo, FUZZY, Shown::Description));
    }
    if last && plain.chars().count() >= 2 {
        for (field, weight, shown) in [
            (f.name, NAME_PREFIX, Shown::Name),
            (f.tags, PREFIX, Shown::Tags),
            (f.fields, PREFIX, Shown::Fields),
        ] {
            clauses.push(Clause::new(field, plain, Matching::Prefix, weight, shown));
        }
    }
    clauses
}

/// The clauses of a search: those of the whole query, and each word's.
/// (The words-in-sequence clauses of [`build`] are not among them: they
/// match only where each word's exact clause does.)
pub struct Clauses {
    pub whole: Vec<Clause>,
    pub words: Vec<Vec<Clause>>,
}

impl Clauses {
    /// The clauses of `words`' search, each expanding clause with its
    /// automaton.
    pub fn of(f: &Fields, words: &QueryWords) -> tantivy::Result<Self> {
        let mut whole = vec![Clause::new(
            f.name_exact,
            &words.exact,
            Matching::Exact,
            EXACT_NAME,
            Shown::Name,
        )];
        let identifier = joined(&words.exact);
        if !identifier.is_empty() {
            whole.push(Clause::new(
                f.owner_joined,
                &identifier,
                Matching::Exact,
                OWNER_EXACT,
                Shown::Owner,
            ));
            if words.plain.len() > 1 {
                whole.push(Clause::new(
                    f.field_joined,
                    &identifier,
                    Matching::Exact,
                    FIELD_EXACT,
                    Shown::Fields,
                ));
            }
        }
        let budget = typo_budget(&words.exact);
        if budget > 0 && words.known.contains(&false) {
            whole.push(Clause::new(
                f.name_exact,
                &words.exact,
                Matching::Typo(budget),
                NAME_TYPO,
                Shown::Name,
            ));
        }
        let n = words.plain.len();
        let per_word = (0..n)
            .map(|i| {
                let (plain, stemmed) = words.forms(i);
                let known = words.known.get(i).copied().unwrap_or(false);
                word_clauses(f, plain, stemmed, i + 1 == n, known)
            })
            .collect();
        let mut clauses = Self { whole, words: per_word };
        let mut automata: HashMap<(Vec<u8>, Matching), Automaton> = HashMap::new();
        for clause in clauses.whole.iter_mut().chain(clauses.words.iter_mut().flatten()) {
            let expansion = match clause.matching {
                Matching::Exact => continue,
                Matching::Typo(distance) => FuzzyTermQuery::new(clause.term.clone(), distance, true),
                Matching::Prefix => FuzzyTermQuery::new_prefix(clause.term.clone(), 0, true),
            };
            let key = (clause.term.serialized_value_bytes().to_vec(), clause.matching);
            let automaton = match automata.entry(key) {
                Entry::Occupied(e) => e.get().clone(),
                Entry::Vacant(e) => e.insert(Automaton(Arc::new(expansion.automaton()?))).clone(),
            };
            clause.automaton = Some(automaton);
        }
        Ok(clauses)
    }

    pub fn all(&self) -> impl Iterator<Item = &Clause> {
        self.whole.iter().chain(self.words.iter().flatten())
    }
}

/// How the unions of a query (a word's clauses, the optional clauses) are
/// run: walked, or only sought to the documents another part proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unions {
    /// tantivy's own buffered union, the fastest to walk; one word is then
    /// a flat union of term queries, which the engine can prune (block-max
    /// WAND).
    Walked,
    /// [`Union`], which scores only the documents it is sought to: for a
    /// search restricted to few documents (see `rank::unions`).
    Sought,
}

impl Unions {
    fn of(self, parts: impl Iterator<Item = Box<dyn Query>>) -> Box<dyn Query> {
        match self {
            Unions::Walked => Box::new(BooleanQuery::new(parts.map(|q| (Occur::Should, q)).collect())),
            Unions::Sought => Box::new(Union(parts.collect())),
        }
    }
}

/// Builds the text query (the allowed documents are applied apart, see
/// `filter`): every word must match somewhere (`all_words`), or any word
/// may (the fallback when nothing matches all of them).
pub fn build(f: &Fields, words: &QueryWords, clauses: &Clauses, all_words: bool, unions: Unions) -> Box<dyn Query> {
    let Clauses { whole, words: per_word } = clauses;
    if let [one] = per_word.as_slice() {
        return unions.of(one.iter().chain(whole).map(Clause::query));
    }
    let each_word = per_word.iter().map(|word| unions.of(word.iter().map(Clause::query)));
    let required: Box<dyn Query> = if all_words {
        Box::new(BooleanQuery::new(each_word.map(|q| (Occur::Must, q)).collect()))
    } else {
        unions.of(each_word)
    };
    // Words in sequence: a multi-word name, or an identifier split into
    // words (`userIPAddress` → `user ip address`) matching a field path,
    // pair by pair.
    let phrase = PhraseQuery::new(words.plain.iter().map(|w| Term::from_field_text(f.name, w)).collect());
    let pairs = word_pairs(&words.plain)
        .map(|pair| Clause::new(f.field_pairs, &pair, Matching::Exact, FIELD_PHRASE, Shown::Fields).query());
    let optional = whole
        .iter()
        .map(Clause::query)
        .chain([boosted(Box::new(phrase), NAME_PHRASE)])
        .chain(pairs);
    let mut clauses = vec![(Occur::Must, required)];
    match unions {
        // Each a clause of the outer query, which unions them itself.
        Unions::Walked => clauses.extend(optional.map(|q| (Occur::Should, q))),
        Unions::Sought => clauses.push((Occur::Should, unions.of(optional))),
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Facet counts of one dimension, most frequent first (ties by value).
pub type FacetCounts = Vec<(String, u64)>;

/// Counts per value of the facet dimensions over every matching document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facets {
    pub domains: FacetCounts,
    pub tags: FacetCounts,
    pub tiers: FacetCounts,
    pub quality_classes: FacetCounts,
    pub statuses: FacetCounts,
    pub owners: FacetCounts,
    pub formats: FacetCounts,
}

/// Facet dimensions, in [`Facets`] order.
const FACET_FIELDS: [&str; 7] = ["domain", "tag", "tier", "quality_class", "status", "owner", "format"];

/// Collects facet counts from the string fast fields.
pub struct FacetCollector;

pub struct FacetSegmentCollector {
    columns: Vec<Option<StrColumn>>,
    counts: Vec<Vec<u64>>,
}

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = FacetSegmentCollector;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<FacetSegmentCollector> {
        let columns = FACET_FIELDS
            .iter()
            .map(|name| segment.fast_fields().str(name))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let counts = columns
            .iter()
            .map(|c| vec![0; c.as_ref().map_or(0, |c| c.num_terms())])
            .collect();
        Ok(FacetSegmentCollector { columns, counts })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<Vec<BTreeMap<String, u64>>>) -> tantivy::Result<Facets> {
        let mut merged: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); FACET_FIELDS.len()];
        for segment in segments {
            for (dimension, counts) in segment.into_iter().enumerate() {
                for (value, n) in counts {
                    *merged[dimension].entry(value).or_default() += n;
                }
            }
        }
        let mut sorted = merged.into_iter().map(|m| {
            let mut v: FacetCounts = m.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        });
        let mut next = || sorted.next().unwrap_or_default();
        Ok(Facets {
            domains: next(),
            tags: next(),
            tiers: next(),
            quality_classes: next(),
            statuses: next(),
            owners: next(),
            formats: next(),
        })
    }
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = Vec<BTreeMap<String, u64>>;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (column, counts) in self.columns.iter().zip(self.counts.iter_mut()) {
            if let Some(column) = column {
                for ord in column.term_ords(doc) {
                    if let Some(n) = counts.get_mut(ord as usize) {
                        *n += 1;
                    }
                }
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.columns
            .iter()
            .zip(self.counts)
            .map(|(column, counts)| {
                let mut out = BTreeMap::new();
                if let Some(column) = column {
                    let mut value = String::new();
                    for (ord, n) in counts.into_iter().enumerate().filter(|(_, n)| *n > 0) {
                        value.clear();
                        if column.ord_to_str(ord as u64, &mut value).unwrap_or(false) {
                            out.insert(value.clone(), n);
                        }
                    }
                }
                out
            })
            .collect()
    }
}
