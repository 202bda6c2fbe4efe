//! Explaining hits: the fields where a search matched each hit, read
//! from the index, and highlighted fragments of their stored text.

use std::collections::BTreeMap;

use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, DocId, DocSet, Searcher};

use super::analysis::{analyze, each_word, edit_distance, ident_analyzer, typo_budget};
use super::query::{Clauses, QueryWords, Shown};
use super::SearchError;

/// For each hit, the fields where a clause of the search matches it, best
/// first: where the ranking matched it. Each clause's term (or each term
/// its typo or prefix automaton reaches in a segment's dictionary) is
/// sought in its postings at the hits of that segment, until every hit of
/// the segment is matched in that field; no stored text is read.
pub fn matched(searcher: &Searcher, clauses: &Clauses, hits: &[DocAddress]) -> Result<Vec<Vec<Shown>>, SearchError> {
    let mut by_segment: BTreeMap<u32, Vec<(DocId, usize)>> = BTreeMap::new();
    for (i, hit) in hits.iter().enumerate() {
        by_segment.entry(hit.segment_ord).or_default().push((hit.doc_id, i));
    }
    for docs in by_segment.values_mut() {
        docs.sort_unstable();
    }
    let mut matched = vec![Vec::new(); hits.len()];
    for shown in Shown::ALL {
        for (&ord, docs) in &by_segment {
            let segment = searcher.segment_reader(ord);
            let mut pending = docs.clone();
            for clause in clauses.all().filter(|c| c.shown == shown) {
                if pending.is_empty() {
                    break;
                }
                let index = segment.inverted_index(clause.term.field())?;
                let terms = match &clause.automaton {
                    None => index.get_term_info(&clause.term)?.into_iter().collect(),
                    Some(automaton) => automaton.over(clause.term.field()).get_match_term_infos(segment)?,
                };
                for term in terms {
                    if pending.is_empty() {
                        break;
                    }
                    let mut postings = index.read_postings_from_terminfo(&term, IndexRecordOption::Basic)?;
                    pending.retain(|&(doc, i)| {
                        let found = postings.doc() == doc || (postings.doc() < doc && postings.seek(doc) == doc);
                        if found {
                            matched[i].push(shown);
                        }
                        !found
                    });
                }
            }
        }
    }
    Ok(matched)
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

/// The byte ranges of the words of `text` that match, in order. An identifier typed as one word
/// (`orderid` for `orderId`) is marked whole, replacing the marks of its
/// words. Identifiers are runs of words joined by nothing, `_` or `-`, with
/// any `_` or `-` around them. `analyzer` and `word` are reused between
/// calls.
fn marks(text: &str, matcher: &Matcher, analyzer: &mut TextAnalyzer, word: &mut String) -> Vec<(usize, usize)> {
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

/// A highlight of each matched field of a hit (`texts`: each field's
/// stored text, in [`matched`] order): a window of its text around its
/// first marked word, with the matched words marked. A field whose text
/// has no word to mark (its match was an identifier's whole value, say)
/// shows its beginning.
pub fn fragments(words: &QueryWords, texts: &[(Shown, String)]) -> Vec<Highlight> {
    const WINDOW: usize = 160;
    let matcher = Matcher::of(words);
    let mut analyzer = ident_analyzer();
    let mut word = String::new();
    texts
        .iter()
        .map(|(shown, text)| {
            let hits = marks(text, &matcher, &mut analyzer, &mut word);
            let first = hits.first().map_or(0, |&(from, _)| from);
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
            let ranges = hits
                .into_iter()
                .filter(|(a, b)| *a >= start && *b <= end)
                .map(|(a, b)| (a - start, b - start))
                .collect();
            Highlight {
                field: shown.label(),
                fragment: text[start..end].to_owned(),
                ranges,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::analysis::joined;
    use super::*;

    #[test]
    fn highlights_mark_exact_typo_and_prefix_matches() {
        let words = QueryWords::parse("shipmnet track");
        let texts = [
            (Shown::Name, "logistics.shipment-tracking".to_owned()),
            // A field matched (by the index) with nothing to mark: its start.
            (Shown::Owner, "logistics team".to_owned()),
        ];
        let h = fragments(&words, &texts);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].field, "name");
        let marked: Vec<&str> = h[0].ranges.iter().map(|(a, b)| &h[0].fragment[*a..*b]).collect();
        assert_eq!(marked, ["shipment", "tracking"]);
        assert_eq!((h[1].field, h[1].fragment.as_str()), ("owner", "logistics team"));
        assert!(h[1].ranges.is_empty());
    }

    #[test]
    fn an_identifier_typed_as_one_word_is_highlighted_whole() {
        let words = QueryWords::parse("trackingnumber");
        let h = fragments(
            &words,
            &[(Shown::Fields, "shipment.trackingNumber\ncarrier".to_owned())],
        );
        let (a, b) = h[0].ranges[0];
        assert_eq!(&h[0].fragment[a..b], "trackingNumber");
        assert_eq!(h[0].ranges.len(), 1);
        // With one of its words also in the query: one mark, not two.
        let h = fragments(&words, &[(Shown::Fields, "tracking_number".to_owned())]);
        assert_eq!(h[0].ranges, [(0, 15)]);
        let words = QueryWords::parse("number trackingnumber");
        let h = fragments(&words, &[(Shown::Fields, "trackingNumber number".to_owned())]);
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
                    let all = marks(text, &matcher, &mut analyzer, &mut word);
                    assert_eq!(all, reference_marks(text, &words), "{query:?} in {text:?}");
                }
            }
        }
    }

    #[test]
    fn fragments_start_at_a_word() {
        let words = QueryWords::parse("needle");
        let text = format!("{} needle", "haystack ".repeat(20));
        let h = fragments(&words, &[(Shown::Description, text)]);
        assert!(h[0].fragment.starts_with("haystack"), "{:?}", h[0].fragment);
        let (a, b) = h[0].ranges[0];
        assert_eq!(&h[0].fragment[a..b], "needle");
    }
}
