//! Parsed documents by their text. Clients send the same few documents
//! over and over (a portal's pages, a service's queries), and parsing one
//! was a fifth of GraphQL's share of a search request's CPU.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::Request;
use lru::LruCache;

/// The documents parsed last (at most [`Documents::CAPACITY`], each at
/// most [`Documents::LONGEST`] bytes of text: some 10 MiB in all).
#[derive(Clone)]
pub struct Documents(Arc<Mutex<LruCache<String, ExecutableDocument>>>);

impl Documents {
    const CAPACITY: NonZeroUsize = NonZeroUsize::new(512).unwrap();
    /// Longer documents are parsed each time.
    const LONGEST: usize = 8 * 1024;

    /// Leaves `request` with its document parsed: a copy of the last parse
    /// of the same text, or a new parse, kept when it succeeds.
    pub fn parse(&self, request: &mut Request) {
        if request.query.len() > Self::LONGEST {
            return;
        }
        let cached = self.lock().get(&request.query).cloned();
        match cached {
            Some(document) => request.set_parsed_query(document),
            None => {
                if let Ok(document) = request.parsed_query() {
                    let document = document.clone();
                    self.lock().put(request.query.clone(), document);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, ExecutableDocument>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for Documents {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(LruCache::new(Self::CAPACITY))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_its_parse_reused() {
        let documents = Documents::default();
        let text = "query Q($q: String!) { search(query: $q) { totalCount } }";
        let mut first = Request::new(text);
        documents.parse(&mut first);
        let parsed = format!("{:?}", first.parsed_query().unwrap());
        assert_eq!(documents.lock().len(), 1);

        let mut second = Request::new(text);
        documents.parse(&mut second);
        assert_eq!(format!("{:?}", second.parsed_query().unwrap()), parsed);
        assert_eq!(documents.lock().len(), 1);

        // Neither a syntax error nor a text past the bound is kept.
        documents.parse(&mut Request::new("{ search("));
        documents.parse(&mut Request::new(format!(
            "{{ __typename }} #{}",
            "x".repeat(Documents::LONGEST)
        )));
        assert_eq!(documents.lock().len(), 1);
    }
}
