//! Text analysis shared by indexing, querying and highlighting.
//!
//! Identifiers are split on `.`, `-`, `_`, `/`, other punctuation and
//! camelCase boundaries, so `orderId`, `order_id`, `order-id` and `OrderID`
//! all become `order id`; everything is lowercased and ASCII-folded. Prose
//! fields are additionally stemmed (English).

use std::collections::HashMap;

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, Stemmer, TextAnalyzer, Token,
    TokenFilter, TokenStream, Tokenizer,
};

/// Analyzer name for names, tags, field paths, owners and domains.
pub const IDENT: &str = "mesh_ident";
/// Analyzer name for descriptions.
pub const PROSE: &str = "mesh_prose";
/// Analyzer name for field docs: prose, written `path: doc` per line, of
/// which only the doc is indexed (the path is the `fields` field's).
pub const DOCS: &str = "mesh_docs";
/// What ends a line's label in the field docs' text (`path: doc`).
pub const LABEL_END: &str = ": ";

/// Splits identifiers and prose into words at punctuation and camelCase
/// boundaries (`userIPAddress` → `user`, `IP`, `Address`).
#[derive(Clone, Default)]
pub struct IdentifierTokenizer {
    /// The tokens of the last text; their strings are reused by the next
    /// one (indexing splits millions of texts: no allocation per word).
    tokens: Vec<Token>,
    /// Each line's label, up to its first [`LABEL_END`], is skipped.
    labelled: bool,
}

/// Token stream over the words found by [`IdentifierTokenizer`].
pub struct IdentifierTokenStream<'a> {
    tokens: &'a mut [Token],
    next: usize,
}

impl Tokenizer for IdentifierTokenizer {
    type TokenStream<'a> = IdentifierTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> IdentifierTokenStream<'a> {
        let tokens = &mut self.tokens;
        let mut n = 0;
        let mut push = |from: usize, to: usize| {
            if let Some(token) = tokens.get_mut(n) {
                token.offset_from = from;
                token.offset_to = to;
                token.position = n;
                token.position_length = 1;
                token.text.clear();
                token.text.push_str(&text[from..to]);
            } else {
                tokens.push(Token {
                    offset_from: from,
                    offset_to: to,
                    position: n,
                    text: text[from..to].to_owned(),
                    position_length: 1,
                });
            }
            n += 1;
        };
        if self.labelled {
            each_unlabelled(text, &mut push);
        } else {
            each_word(text, push);
        }
        IdentifierTokenStream {
            tokens: &mut tokens[..n],
            next: 0,
        }
    }
}

impl TokenStream for IdentifierTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// English stemming (tantivy's [`Stemmer`]) with a memo of the words
/// already stemmed: a catalog's prose repeats a small vocabulary, and the
/// Snowball algorithm costs more than a hash lookup. Output identical to
/// the plain filter.
#[derive(Clone, Default)]
pub struct CachedStemmer;

/// Words stemmed by one analyzer before its memo is emptied (bounds its
/// memory).
const STEM_MEMO: usize = 50_000;

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner: tokenizer,
            stem: stemmer(),
            memo: HashMap::new(),
        }
    }
}

/// One word in, its stem out (tantivy's English stemmer on a whole text).
fn stemmer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(Stemmer::new(Language::English))
        .build()
}

pub struct CachedStemmerFilter<T> {
    inner: T,
    stem: TextAnalyzer,
    memo: HashMap<String, String>,
}

/// A clone starts with an empty memo (tantivy clones the registered
/// analyzer for every segment and query).
impl<T: Clone> Clone for CachedStemmerFilter<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            stem: stemmer(),
            memo: HashMap::new(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            stem: &mut self.stem,
            memo: &mut self.memo,
        }
    }
}

pub struct CachedStemmerStream<'a, T> {
    tail: T,
    stem: &'a mut TextAnalyzer,
    memo: &'a mut HashMap<String, String>,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if let Some(stemmed) = self.memo.get(&token.text) {
            token.text.clear();
            token.text.push_str(stemmed);
            return true;
        }
        let mut stream = self.stem.token_stream(&token.text);
        let stemmed = if stream.advance() {
            std::mem::take(&mut stream.token_mut().text)
        } else {
            String::new()
        };
        drop(stream);
        if self.memo.len() >= STEM_MEMO {
            self.memo.clear();
        }
        let word = std::mem::replace(&mut token.text, stemmed.clone());
        self.memo.insert(word, stemmed);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// An identifier written as one word: its letters and digits, lowercased
/// (`tracking_number`, `trackingNumber` → `trackingnumber`).
pub fn joined(identifier: &str) -> String {
    let mut out = String::with_capacity(identifier.len());
    for c in identifier.chars() {
        // ASCII first: the same result, without Unicode's case tables.
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            }
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Each pair of consecutive words, as one term: `a b`.
pub fn word_pairs(words: &[String]) -> impl Iterator<Item = String> + '_ {
    words.windows(2).map(|pair| format!("{} {}", pair[0], pair[1]))
}

/// The words of `text` as the identifier analyzer makes them, with an
/// analyzer kept per thread (document building calls this per field path).
pub fn ident_words(text: &str) -> Vec<String> {
    thread_local! {
        static ANALYZER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(ident_analyzer());
    }
    ANALYZER.with(|a| analyze(&mut a.borrow_mut(), text).into_iter().map(|w| w.text).collect())
}

/// Byte ranges of the words of `text`.
pub fn split_words(text: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    each_word(text, |from, to| words.push((from, to)));
    words
}

/// Calls `word(from, to)` with the byte range of each word of `text`, in
/// order: runs of letters and digits, split before an uppercase letter that
/// follows a lowercase one or a digit ("orderId", "v2Name"), and before the
/// last capital of an acronym followed by lowercase ("IPAddress" → "IP" +
/// "Address").
pub fn each_word(text: &str, word: impl FnMut(usize, usize)) {
    // Most text is ASCII, and decoding chars was a third of splitting it.
    if text.is_ascii() {
        split(text.bytes().enumerate(), text.len(), word);
    } else {
        split(text.char_indices(), text.len(), word);
    }
}

/// [`each_word`] over each line of `text` after its label (the line up to
/// and including its first [`LABEL_END`], if it has one).
fn each_unlabelled(text: &str, mut word: impl FnMut(usize, usize)) {
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let skip = line.find(LABEL_END).map_or(0, |i| i + LABEL_END.len());
        each_word(&line[skip..], |from, to| word(start + skip + from, start + skip + to));
        start += line.len();
    }
}

/// A character as [`each_word`] classifies it: a byte of ASCII text or a
/// char of any text.
trait Letter: Copy {
    fn alphanumeric(self) -> bool;
    fn upper(self) -> bool;
    fn lower(self) -> bool;
    fn digit(self) -> bool;
}

impl Letter for u8 {
    fn alphanumeric(self) -> bool {
        self.is_ascii_alphanumeric()
    }
    fn upper(self) -> bool {
        self.is_ascii_uppercase()
    }
    fn lower(self) -> bool {
        self.is_ascii_lowercase()
    }
    fn digit(self) -> bool {
        self.is_ascii_digit()
    }
}

impl Letter for char {
    fn alphanumeric(self) -> bool {
        self.is_alphanumeric()
    }
    fn upper(self) -> bool {
        self.is_uppercase()
    }
    fn lower(self) -> bool {
        self.is_lowercase()
    }
    fn digit(self) -> bool {
        self.is_ascii_digit()
    }
}

/// [`each_word`] over the characters of a text of `len` bytes, each with
/// its byte offset.
fn split<C: Letter>(chars: impl Iterator<Item = (usize, C)>, len: usize, mut word: impl FnMut(usize, usize)) {
    let mut start: Option<usize> = None;
    let mut prev: Option<C> = None;
    let mut chars = chars.peekable();
    while let Some((offset, c)) = chars.next() {
        if !c.alphanumeric() {
            if let Some(s) = start.take() {
                word(s, offset);
            }
        } else {
            match start {
                None => start = Some(offset),
                Some(s) => {
                    let boundary = c.upper()
                        && prev.is_some_and(|p| {
                            p.lower() || p.digit() || (p.upper() && chars.peek().is_some_and(|&(_, n)| n.lower()))
                        });
                    if boundary {
                        word(s, offset);
                        start = Some(offset);
                    }
                }
            }
        }
        prev = Some(c);
    }
    if let Some(s) = start {
        word(s, len);
    }
}

/// The identifier analyzer: split, drop absurdly long tokens, lowercase, fold.
pub fn ident_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(IdentifierTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The prose analyzer: the identifier analyzer plus English stemming.
pub fn prose_analyzer() -> TextAnalyzer {
    prose(IdentifierTokenizer::default())
}

/// `tokenizer`'s words lowercased, folded and stemmed.
fn prose(tokenizer: IdentifierTokenizer) -> TextAnalyzer {
    TextAnalyzer::builder(tokenizer)
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(CachedStemmer)
        .build()
}

/// The field docs' analyzer: the prose analyzer over each line's text
/// after its label.
pub fn docs_analyzer() -> TextAnalyzer {
    let labelled = IdentifierTokenizer {
        labelled: true,
        ..IdentifierTokenizer::default()
    };
    prose(labelled)
}

/// A token of analyzed text with its byte range in the original.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub from: usize,
    pub to: usize,
}

/// Runs `analyzer` over `text`.
pub fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Word> {
    let mut stream = analyzer.token_stream(text);
    let mut words = Vec::new();
    while stream.advance() {
        let t = stream.token();
        words.push(Word {
            text: t.text.clone(),
            from: t.offset_from,
            to: t.offset_to,
        });
    }
    words
}

/// Edit distance allowed for a query word: 1 from 5 letters, 2 from 9.
pub fn typo_budget(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Optimal string alignment distance (Levenshtein with adjacent
/// transpositions counting as one edit), capped at `cap + 1`. Works on
/// bytes without allocating for words of up to 32 bytes (longer words, or
/// non-ASCII ones, fall back to chars).
pub fn edit_distance(a: &str, b: &str, cap: u8) -> u8 {
    const MAX: usize = 32;
    let cap = cap as usize;
    if a.len().abs_diff(b.len()) > cap {
        return (cap + 1) as u8;
    }
    if !(a.is_ascii() && b.is_ascii() && a.len() <= MAX && b.len() <= MAX) {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        return osa(&a, &b, cap);
    }
    osa(a.as_bytes(), b.as_bytes(), cap)
}

fn osa<T: PartialEq>(a: &[T], b: &[T], cap: usize) -> u8 {
    const ROW: usize = 33;
    if b.len() >= ROW {
        return osa_heap(a, b, cap);
    }
    let (mut prev2, mut prev, mut cur) = ([0usize; ROW], [0usize; ROW], [0usize; ROW]);
    for (j, slot) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *slot = j;
    }
    let mut prev_best = 0;
    for i in 1..=a.len() {
        cur[0] = i;
        let mut best = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
            best = best.min(cur[j]);
        }
        // Later cells come from this row (+1) or, by transposition, from the
        // previous one (+1): past the cap, the distance is too.
        if best > cap && prev_best + 1 > cap {
            return (cap + 1) as u8;
        }
        prev_best = best;
        prev2 = prev;
        prev = cur;
    }
    prev[b.len()].min(cap + 1) as u8
}

fn osa_heap<T: PartialEq>(a: &[T], b: &[T], cap: usize) -> u8 {
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()].min(cap + 1) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_keeps_letters_and_digits_lowercased() {
        let reference = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect()
        };
        for text in [
            "tracking_number",
            "trackingNumber",
            "Order-ID 42",
            "Straße_Nr",
            "İstanbul.Ünïcødé",
            "ΣΊΣΥΦΟΣ",
            "lines[].sku",
            "",
        ] {
            assert_eq!(joined(text), reference(text), "{text}");
        }
        assert_eq!(joined("trackingNumber"), "trackingnumber");
    }

    #[test]
    fn identifiers_split_the_same_way_in_every_casing() {
        for text in [
            "orderId", "order_id", "order-id", "OrderID", "ORDER_ID", "order.id", "order/id", "Order Id",
        ] {
            assert_eq!(ident_words(text), ["order", "id"], "{text}");
        }
        assert_eq!(ident_words("userIPAddress"), ["user", "ip", "address"]);
        assert_eq!(
            ident_words("orders.order-events-v1"),
            ["orders", "order", "events", "v1"]
        );
        assert_eq!(ident_words("lines[].sku"), ["lines", "sku"]);
        assert_eq!(ident_words("Inés García"), ["ines", "garcia"]);
        assert_eq!(ident_words(""), Vec::<String>::new());
    }

    /// The allocation-per-char splitter [`split_words`] replaced.
    fn reference_split(text: &str) -> Vec<(usize, usize)> {
        let mut words = Vec::new();
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut start: Option<usize> = None;
        for i in 0..chars.len() {
            let (offset, c) = chars[i];
            if !c.is_alphanumeric() {
                if let Some(s) = start.take() {
                    words.push((s, offset));
                }
                continue;
            }
            match start {
                None => start = Some(offset),
                Some(s) => {
                    let prev = chars[i - 1].1;
                    let next = chars.get(i + 1).map(|(_, c)| *c);
                    let boundary = c.is_uppercase()
                        && (prev.is_lowercase()
                            || prev.is_ascii_digit()
                            || (prev.is_uppercase() && next.is_some_and(|n| n.is_lowercase())));
                    if boundary {
                        words.push((s, offset));
                        start = Some(offset);
                    }
                }
            }
        }
        if let Some(s) = start {
            words.push((s, text.len()));
        }
        words
    }

    #[test]
    fn splitting_agrees_with_the_reference() {
        // Any text, and ASCII text (split a byte at a time).
        let any = [
            'a', 'B', 'c', 'D', '1', '9', '_', '.', ' ', 'É', 'é', 'ß', '日', '-', 'İ', 'ǅ',
        ];
        let ascii = ['a', 'B', 'c', 'D', 'E', 'f', '1', '9', '_', '.', ' ', '-'];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for alphabet in [&any[..], &ascii[..]] {
            for len in 0..400 {
                let text: String = (0..len % 24)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[(seed % alphabet.len() as u64) as usize]
                    })
                    .collect();
                assert_eq!(split_words(&text), reference_split(&text), "{text:?}");
            }
        }
        for text in [
            "userIPAddress",
            "orders.order-events-v1",
            "HTTPServer2XXCount",
            "Inés García",
            "a",
            "",
        ] {
            assert_eq!(split_words(text), reference_split(text), "{text:?}");
        }
    }

    #[test]
    fn tokens_are_reused_without_leaking_between_texts() {
        let mut analyzer = ident_analyzer();
        assert_eq!(analyze(&mut analyzer, "customerLifetimeValue orderId").len(), 5);
        let words = analyze(&mut analyzer, "skuCode");
        assert_eq!(
            words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            ["sku", "code"]
        );
        assert_eq!((words[1].from, words[1].to), (3, 7));
        assert!(analyze(&mut analyzer, "").is_empty());
    }

    #[test]
    fn the_memo_stems_like_the_stemmer() {
        let plain = || {
            TextAnalyzer::builder(IdentifierTokenizer::default())
                .filter(RemoveLongFilter::limit(64))
                .filter(LowerCaser)
                .filter(AsciiFoldingFilter)
                .filter(Stemmer::new(Language::English))
                .build()
        };
        let (mut cached, mut reference) = (prose_analyzer(), plain());
        let text = "Payments refunded running runs ran generously generalization \
                    Payments refunded running relational relationships organizations \
                    caresses ponies ties caress cats feed agreed disabled matting mating meeting";
        for _ in 0..3 {
            assert_eq!(analyze(&mut cached, text), analyze(&mut reference, text));
        }
        let mut clone = cached.clone();
        assert_eq!(analyze(&mut clone, text), analyze(&mut reference, text));
    }

    #[test]
    fn prose_is_stemmed() {
        let stemmed: Vec<String> = analyze(&mut prose_analyzer(), "Payments refunded")
            .into_iter()
            .map(|w| w.text)
            .collect();
        assert_eq!(stemmed, ["payment", "refund"]);
    }

    #[test]
    fn field_docs_are_indexed_without_their_paths() {
        let text = "shipment.trackingNumber: The carrier's tracking numbers\nnotes\nid: Unique: per order";
        let words = analyze(&mut docs_analyzer(), text);
        let stems: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            stems,
            ["the", "carrier", "s", "track", "number", "note", "uniqu", "per", "order"]
        );
        // Offsets into the whole text, as highlights read them.
        let w = &words[1];
        assert_eq!(&text[w.from..w.to], "carrier");
        let w = &words[6];
        assert_eq!(&text[w.from..w.to], "Unique");
    }

    #[test]
    fn offsets_point_into_the_original() {
        let w = analyze(&mut ident_analyzer(), "customerEmail");
        assert_eq!((w[1].from, w[1].to), (8, 13));
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("shipment", "shipment", 2), 0);
        assert_eq!(edit_distance("shipmnet", "shipment", 2), 1);
        assert_eq!(edit_distance("shpment", "shipment", 2), 1);
        assert_eq!(edit_distance("abc", "xyzxyz", 1), 2);
        assert_eq!(edit_distance("garcía", "garcia", 1), 1);
        assert_eq!(
            edit_distance(
                "customerlifetimevalueinformation",
                "customerlifetimevalueinformatoin",
                2
            ),
            1
        );
        assert_eq!(typo_budget("ship"), 0);
        assert_eq!(typo_budget("order"), 1);
        assert_eq!(typo_budget("inventory"), 2);
    }
}
