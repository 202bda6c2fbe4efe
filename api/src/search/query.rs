//! Turning a search request into a tantivy query, counting facets, and
//! explaining hits (matched fields and highlighted fragments).

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, Term};

use super::analysis::{
    analyze, each_word, edit_distance, ident_analyzer, ident_words, joined, prose_analyzer, typo_budget, word_pairs,
};
use super::fields::Fields;

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
}

impl QueryWords {
    pub fn parse(query: &str) -> Self {
        let plain: Vec<String> = ident_words(query);
        let stemmed: Vec<String> = analyze(&mut prose_analyzer(), query)
            .into_iter()
            .map(|w| w.text)
            .collect();
        let known = vec![false; plain.len()];
        Self {
            plain,
            stemmed,
            exact: query.trim().to_lowercase(),
            known,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.plain.is_empty()
    }
}

fn term(field: Field, text: &str) -> Term {
    Term::from_field_text(field, text)
}

fn boosted(query: Box<dyn Query>, boost: Score) -> Box<dyn Query> {
    Box::new(BoostQuery::new(query, boost))
}

fn term_query(field: Field, text: &str, boost: Score) -> Box<dyn Query> {
    boosted(
        Box::new(TermQuery::new(term(field, text), IndexRecordOption::WithFreqs)),
        boost,
    )
}

/// Everything that can match one query word. Typo and prefix expansions
/// are only added for words the index does not know exactly (`known`):
/// they are what makes a query expensive, and a correctly spelled word
/// should not drift to its neighbours.
fn word_query(f: &Fields, plain: &str, stemmed: &str, last: bool, known: bool) -> Vec<(Occur, Box<dyn Query>)> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = vec![
        (Occur::Should, term_query(f.name, plain, NAME)),
        (Occur::Should, term_query(f.tags, plain, TAGS)),
        (Occur::Should, term_query(f.fields, plain, FIELDS)),
        // A field name typed as one word (`orderid` for `orderId`).
        (Occur::Should, term_query(f.field_joined, plain, FIELDS)),
        (Occur::Should, term_query(f.owner_text, plain, OWNER_DOMAIN)),
        (Occur::Should, term_query(f.domain_text, plain, OWNER_DOMAIN)),
        (Occur::Should, term_query(f.description, stemmed, DESCRIPTION)),
        (Occur::Should, term_query(f.docs, stemmed, DOCS)),
    ];
    if known {
        return should;
    }
    let budget = typo_budget(plain);
    if budget > 0 {
        for field in [f.name, f.tags, f.fields, f.owner_text, f.domain_text] {
            let fuzzy = FuzzyTermQuery::new(term(field, plain), budget, true);
            should.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(fuzzy), FUZZY))));
        }
        let fuzzy = FuzzyTermQuery::new(term(f.description, stemmed), typo_budget(stemmed), true);
        should.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(fuzzy), FUZZY))));
    }
    if last && plain.chars().count() >= 2 {
        for (field, score) in [(f.name, NAME_PREFIX), (f.tags, PREFIX), (f.fields, PREFIX)] {
            let prefix = FuzzyTermQuery::new_prefix(term(field, plain), 0, true);
            should.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(prefix), score))));
        }
    }
    should
}

/// Builds the text query (the allowed documents are applied apart, see
/// `filter`): every word must match somewhere (`all_words`), or any word
/// may (the fallback when nothing matches all of them). One word is a flat
/// union of term queries, which the engine can prune (block-max WAND).
pub fn build(f: &Fields, words: &QueryWords, all_words: bool) -> Box<dyn Query> {
    let mut whole = vec![(Occur::Should, term_query(f.name_exact, &words.exact, EXACT_NAME))];
    let identifier = joined(&words.exact);
    if !identifier.is_empty() {
        whole.push((Occur::Should, term_query(f.owner_joined, &identifier, OWNER_EXACT)));
        if words.plain.len() > 1 {
            whole.push((Occur::Should, term_query(f.field_joined, &identifier, FIELD_EXACT)));
        }
    }
    let budget = typo_budget(&words.exact);
    if budget > 0 && words.known.contains(&false) {
        let fuzzy = FuzzyTermQuery::new(term(f.name_exact, &words.exact), budget, true);
        whole.push((
            Occur::Should,
            Box::new(ConstScoreQuery::new(Box::new(fuzzy), NAME_TYPO)),
        ));
    }
    let n = words.plain.len();
    let none = String::new();
    let mut per_word = words
        .plain
        .iter()
        .zip(words.stemmed.iter().chain(std::iter::repeat(&none)))
        .enumerate()
        .map(|(i, (plain, stemmed))| {
            let stemmed = if stemmed.is_empty() { plain } else { stemmed };
            let known = words.known.get(i).copied().unwrap_or(false);
            word_query(f, plain, stemmed, i + 1 == n, known)
        });
    if n == 1 {
        let mut clauses = per_word.next().unwrap_or_default();
        clauses.extend(whole);
        return Box::new(BooleanQuery::new(clauses));
    }
    let occur = if all_words { Occur::Must } else { Occur::Should };
    let per_word: Vec<(Occur, Box<dyn Query>)> = per_word
        .map(|clauses| (occur, Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>))
        .collect();
    let mut clauses = vec![(Occur::Must, Box::new(BooleanQuery::new(per_word)) as Box<dyn Query>)];
    clauses.extend(whole);
    // Words in sequence: a multi-word name, or an identifier split into
    // words (`userIPAddress` → `user ip address`) matching a field path,
    // pair by pair.
    let phrase = PhraseQuery::new(words.plain.iter().map(|w| term(f.name, w)).collect());
    clauses.push((Occur::Should, boosted(Box::new(phrase), NAME_PHRASE)));
    for pair in word_pairs(&words.plain) {
        clauses.push((Occur::Should, term_query(f.field_pairs, &pair, FIELD_PHRASE)));
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

/// A matched field of a hit and its fragment, with the matched words marked.
#[derive(Debug, Clone, PartialEq)]
pub struct Highlight {
    pub field: &'static str,
    /// Plain text of the fragment.
    pub fragment: String,
    /// Byte ranges of the matched words within `fragment`.
    pub ranges: Vec<(usize, usize)>,
}

/// Query words prepared for matching stored text while highlighting.
struct Matcher<'a> {
    plain: &'a [String],
    stems: &'a [String],
    /// Words the index knows exactly: like the search, no typo matching.
    known: &'a [bool],
}

impl<'a> Matcher<'a> {
    fn of(words: &'a QueryWords) -> Self {
        Self {
            plain: &words.plain,
            stems: &words.stemmed,
            known: &words.known,
        }
    }

    /// Does a stored word (already lowercased and folded) match: equal to a
    /// query word, within the typo budget of a word the index does not
    /// know, sharing its stem (`refunded` for `refunds`), or extending the
    /// last word (a prefix)?
    fn matches(&self, word: &str) -> bool {
        let last = self.plain.len().saturating_sub(1);
        self.plain.iter().enumerate().any(|(i, q)| {
            if word == q {
                return true;
            }
            let budget = if self.known.get(i).copied().unwrap_or(false) {
                0
            } else {
                typo_budget(q)
            };
            if budget > 0 && word.len().abs_diff(q.len()) <= budget as usize && edit_distance(word, q, budget) <= budget
            {
                return true;
            }
            if i == last && q.len() >= 2 && word.starts_with(q.as_str()) {
                return true;
            }
            self.stems
                .get(i)
                .is_some_and(|s| s.len() >= 3 && word.len() <= s.len() + 4 && word.starts_with(s.as_str()))
        })
    }
}

/// Lowercases and ASCII-folds a word into `out` (reused between words);
/// ASCII words need no analyzer run.
fn normalize(word: &str, analyzer: &mut TextAnalyzer, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.push_str(word);
        out.make_ascii_lowercase();
    } else {
        for w in analyze(analyzer, word) {
            out.push_str(&w.text);
        }
    }
}

/// The byte ranges of the words of `text` that match, in order (with
/// `first_only`, up to the first). An identifier typed as one word
/// (`orderid` for `orderId`) is marked whole, replacing the marks of its
/// words. Identifiers are runs of words joined by nothing, `_` or `-`, with
/// any `_` or `-` around them. `analyzer` and `word` are reused between
/// calls.
fn marks(
    text: &str,
    matcher: &Matcher,
    first_only: bool,
    analyzer: &mut TextAnalyzer,
    word: &mut String,
) -> Vec<(usize, usize)> {
    let joiner = |b: &u8| matches!(b, b'_' | b'-');
    let mut hits: Vec<(usize, usize)> = Vec::new();
    // The identifier being read, and its words lowercased and joined.
    let mut identifier: Option<(usize, usize)> = None;
    let mut key = String::new();
    let close = |(from, to): (usize, usize), key: &str, hits: &mut Vec<(usize, usize)>| {
        if matcher.plain.iter().any(|w| w == key) {
            let to = to + text[to..].bytes().take_while(joiner).count();
            hits.retain(|&(a, b)| b <= from || a >= to);
            hits.push((from, to));
        }
    };
    each_word(text, |from, to| {
        if first_only && !hits.is_empty() {
            return;
        }
        normalize(&text[from..to], analyzer, word);
        if matcher.matches(word) {
            hits.push((from, to));
        }
        match identifier {
            Some((start, end)) if text[end..from].bytes().all(|b| joiner(&b)) => identifier = Some((start, to)),
            previous => {
                if let Some(previous) = previous {
                    close(previous, &key, &mut hits);
                }
                let start = from - text[..from].bytes().rev().take_while(joiner).count();
                identifier = Some((start, to));
                key.clear();
            }
        }
        if text[from..to].is_ascii() {
            key.push_str(word);
        } else {
            key.extend(text[from..to].chars().flat_map(char::to_lowercase));
        }
    });
    if let Some(last) = identifier {
        close(last, &key, &mut hits);
    }
    hits.sort_unstable();
    hits
}

/// Finds the query words in each searchable field of a hit; returns the
/// highlights in ranking order of the fields, without fragments (and
/// reading each field only up to its first match) unless `fragments`.
pub fn explain(words: &QueryWords, stored: &[(&'static str, String)], fragments: bool) -> Vec<Highlight> {
    const WINDOW: usize = 160;
    let matcher = Matcher::of(words);
    // Without typo matching, a field can only match if, lowercased and
    // without separators, it contains a query word or stem: most fields of
    // a hit do not, and this check costs far less than splitting them.
    let exact_only = words.known.iter().all(|k| *k);
    let needles: Vec<&str> = words
        .plain
        .iter()
        .chain(words.stemmed.iter().filter(|s| s.len() >= 3))
        .map(String::as_str)
        .collect();
    let mut squashed = String::new();
    let mut analyzer = ident_analyzer();
    let mut word = String::new();
    let mut out = Vec::new();
    for (field, text) in stored {
        if exact_only && text.is_ascii() {
            squashed.clear();
            squashed.extend(
                text.bytes()
                    .filter(u8::is_ascii_alphanumeric)
                    .map(|b| char::from(b.to_ascii_lowercase())),
            );
            if !needles.iter().any(|n| squashed.contains(n)) {
                continue;
            }
        }
        let hits = marks(text, &matcher, !fragments, &mut analyzer, &mut word);
        let Some(&(first, _)) = hits.first() else { continue };
        if !fragments {
            out.push(Highlight {
                field,
                fragment: String::new(),
                ranges: Vec::new(),
            });
            continue;
        }
        // A window around the first match, on char boundaries.
        let mut start = first.saturating_sub(WINDOW / 3);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        // Begin at a word (or line) start, not in the middle of one.
        if start > 0 {
            if let Some(i) = text[start..first].find([' ', '\n']) {
                start += i + 1;
            }
        }
        let mut end = (start + WINDOW).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let fragment = text[start..end].to_owned();
        let ranges = hits
            .into_iter()
            .filter(|(a, b)| *a >= start && *b <= end)
            .map(|(a, b)| (a - start, b - start))
            .collect();
        out.push(Highlight {
            field,
            fragment,
            ranges,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_mark_exact_typo_and_prefix_matches() {
        let words = QueryWords::parse("shipmnet track");
        let stored = vec![
            ("name", "logistics.shipment-tracking".to_owned()),
            ("description", "Nothing relevant here".to_owned()),
        ];
        let h = explain(&words, &stored, true);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].field, "name");
        let marked: Vec<&str> = h[0].ranges.iter().map(|(a, b)| &h[0].fragment[*a..*b]).collect();
        assert_eq!(marked, ["shipment", "tracking"]);
    }

    #[test]
    fn an_identifier_typed_as_one_word_is_highlighted_whole() {
        let words = QueryWords::parse("trackingnumber");
        let h = explain(
            &words,
            &[("fields", "shipment.trackingNumber\ncarrier".to_owned())],
            true,
        );
        let (a, b) = h[0].ranges[0];
        assert_eq!(&h[0].fragment[a..b], "trackingNumber");
        assert_eq!(h[0].ranges.len(), 1);
        // With one of its words also in the query: one mark, not two.
        let h = explain(&words, &[("fields", "tracking_number".to_owned())], true);
        assert_eq!(h[0].ranges, [(0, 15)]);
        let words = QueryWords::parse("number trackingnumber");
        let h = explain(&words, &[("fields", "trackingNumber number".to_owned())], true);
        let marked: Vec<&str> = h[0].ranges.iter().map(|(a, b)| &h[0].fragment[*a..*b]).collect();
        assert_eq!(marked, ["trackingNumber", "number"]);
    }

    /// The marks as highlighting found them before [`marks`] read
    /// identifiers in the same pass as words: every identifier of the text
    /// compared with every query word.
    fn reference_marks(text: &str, words: &QueryWords) -> Vec<(usize, usize)> {
        let matcher = Matcher::of(words);
        let (mut analyzer, mut word) = (ident_analyzer(), String::new());
        let mut hits = Vec::new();
        each_word(text, |from, to| {
            normalize(&text[from..to], &mut analyzer, &mut word);
            if matcher.matches(&word) {
                hits.push((from, to));
            }
        });
        let mut start = None;
        let identifiers: Vec<(usize, usize)> = text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
            .filter_map(|(i, c)| match (c.is_alphanumeric() || c == '_' || c == '-', start) {
                (true, None) => {
                    start = Some(i);
                    None
                }
                (false, Some(s)) => {
                    start = None;
                    Some((s, i))
                }
                _ => None,
            })
            .collect();
        for (from, to) in identifiers {
            if words.plain.iter().any(|w| joined(&text[from..to]) == *w) {
                hits.retain(|&(a, b)| b <= from || a >= to);
                hits.push((from, to));
            }
        }
        hits.sort_unstable();
        hits
    }

    #[test]
    fn identifiers_are_marked_as_a_pass_over_each_identifier_marked_them() {
        let texts = [
            "shipment.trackingNumber\ncarrier",
            "tracking_number tracking-number Tracking__Number_ -trackingNumber-",
            "_order_id, order.id; ORDER_ID orderID orderId2 order-id-",
            "a.__b b__ c __ -- _-_ x_-y",
            "Straße_Nummer straßenummer STRASSE ÉvénementId événementid",
            "userIPAddress user_ip_address IPAddress ip address",
            "",
            "order",
        ];
        for query in [
            "trackingnumber",
            "number trackingnumber",
            "orderid order",
            "order id",
            "b",
            "xy",
            "straßenummer",
            "événementid",
            "useripaddress ip",
            "ipaddress",
            "trakingnumber",
            "ord",
        ] {
            let mut words = QueryWords::parse(query);
            for known in [false, true] {
                words.known = vec![known; words.plain.len()];
                let matcher = Matcher::of(&words);
                let (mut analyzer, mut word) = (ident_analyzer(), String::new());
                for text in texts {
                    let all = marks(text, &matcher, false, &mut analyzer, &mut word);
                    assert_eq!(all, reference_marks(text, &words), "{query:?} in {text:?}");
                    // Matched fields alone: the same fields match.
                    let first = marks(text, &matcher, true, &mut analyzer, &mut word);
                    assert_eq!(first.is_empty(), all.is_empty(), "{query:?} in {text:?}");
                }
            }
        }
    }

    #[test]
    fn fragments_start_at_a_word() {
        let words = QueryWords::parse("needle");
        let text = format!("{} needle", "haystack ".repeat(20));
        let h = explain(&words, &[("description", text)], true);
        assert!(h[0].fragment.starts_with("haystack"), "{:?}", h[0].fragment);
        let (a, b) = h[0].ranges[0];
        assert_eq!(&h[0].fragment[a..b], "needle");
    }
}
