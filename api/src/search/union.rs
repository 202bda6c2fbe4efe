//! A union that moves its parts only as far as it is asked, and scores a
//! document only when asked: the unions of a search restricted to few
//! documents (a selective filter), which are only sought to the allowed
//! documents.
//!
//! tantivy's own union ([`tantivy::query::BufferedUnionScorer`]) scores
//! every document of its parts, 4,096 at a time, as soon as it moves into
//! a window: the fastest way to walk a union, and wasted when the union is
//! only sought to sparse documents. This one keeps each part's position,
//! seeks the parts to the document asked for (their skip lists jump the
//! gaps), and sums the parts' scores on it, in the parts' order: the sum a
//! buffered union of the same parts gives.

use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, TERMINATED};

/// Matches a document any of its parts matches, scored the sum of theirs.
#[derive(Debug)]
pub struct Union(pub Vec<Box<dyn Query>>);

impl Clone for Union {
    fn clone(&self) -> Self {
        Self(self.0.iter().map(|q| q.box_clone()).collect())
    }
}

impl Query for Union {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let parts = self
            .0
            .iter()
            .map(|q| q.weight(scoring))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(UnionWeight(parts)))
    }
}

struct UnionWeight(Vec<Box<dyn Weight>>);

impl Weight for UnionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut parts = Vec::with_capacity(self.0.len());
        for weight in &self.0 {
            let part = weight.scorer(reader, boost)?;
            if part.doc() != TERMINATED {
                parts.push(part);
            }
        }
        if parts.len() > 1 {
            return Ok(Box::new(UnionScorer::new(parts, reader.max_doc())));
        }
        Ok(parts.pop().unwrap_or_else(|| Box::new(EmptyScorer)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!("document {doc} does not match")));
        }
        Ok(Explanation::new("sum of the matching parts", scorer.score()))
    }
}

/// The parts and where each stands; the union stands at the least.
struct UnionScorer {
    parts: Vec<Box<dyn Scorer>>,
    /// Each part's document, kept here: no call through the part to read it.
    docs: Vec<DocId>,
    doc: DocId,
    cost: u64,
    size_hint: u32,
}

impl UnionScorer {
    fn new(parts: Vec<Box<dyn Scorer>>, max_doc: DocId) -> Self {
        let docs: Vec<DocId> = parts.iter().map(|p| p.doc()).collect();
        let doc = docs.iter().copied().min().unwrap_or(TERMINATED);
        let cost = parts.iter().map(|p| p.cost()).sum();
        let size_hint = parts.iter().map(|p| u64::from(p.size_hint())).sum::<u64>();
        Self {
            parts,
            docs,
            doc,
            cost,
            size_hint: size_hint.min(u64::from(max_doc)) as u32,
        }
    }
}

impl DocSet for UnionScorer {
    fn advance(&mut self) -> DocId {
        let current = self.doc;
        let mut least = TERMINATED;
        for (part, doc) in self.parts.iter_mut().zip(self.docs.iter_mut()) {
            if *doc == current {
                *doc = part.advance();
            }
            least = least.min(*doc);
        }
        self.doc = least;
        least
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        let mut least = TERMINATED;
        for (part, doc) in self.parts.iter_mut().zip(self.docs.iter_mut()) {
            if *doc < target {
                *doc = part.seek(target);
            }
            least = least.min(*doc);
        }
        self.doc = least;
        least
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.size_hint
    }

    fn cost(&self) -> u64 {
        self.cost
    }
}

impl Scorer for UnionScorer {
    fn score(&mut self) -> Score {
        let mut sum = 0.0;
        for (part, doc) in self.parts.iter_mut().zip(&self.docs) {
            if *doc == self.doc {
                sum += part.score();
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, TEXT};
    use tantivy::{doc, Index, Term};

    use super::*;

    #[test]
    fn a_union_matches_and_scores_as_the_engine_s_own_and_seeks_alone() {
        let mut schema = Schema::builder();
        let (a, b) = (schema.add_text_field("a", TEXT), schema.add_text_field("b", TEXT));
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..10_000u32 {
            let word = |n: u32| if i % n == 0 { "x" } else { "y" };
            writer
                .add_document(doc!(a => word(3), b => format!("{} {}", word(7), word(5))))
                .unwrap();
        }
        writer.commit().unwrap();
        let parts = || -> Vec<Box<dyn Query>> {
            let term = |f, w| {
                Box::new(TermQuery::new(
                    Term::from_field_text(f, w),
                    IndexRecordOption::WithFreqs,
                ))
            };
            vec![
                term(a, "x"),
                Box::new(ConstScoreQuery::new(term(b, "x"), 0.5)),
                term(b, "nothing"),
            ]
        };
        let searcher = index.reader().unwrap().searcher();
        let scoring = EnableScoring::enabled_from_searcher(&searcher);
        let engine = BooleanQuery::new(parts().into_iter().map(|q| (Occur::Should, q)).collect());
        let ours = Union(parts()).weight(scoring).unwrap();
        let segment = searcher.segment_reader(0);
        let walk = |mut scorer: Box<dyn Scorer>| {
            let mut out = Vec::new();
            while scorer.doc() != TERMINATED {
                out.push((scorer.doc(), scorer.score()));
                scorer.advance();
            }
            out
        };
        let expected = walk(engine.weight(scoring).unwrap().scorer(segment, 1.0).unwrap());
        assert_eq!(
            expected.len(),
            (0..10_000).filter(|i| i % 3 == 0 || i % 5 == 0 || i % 7 == 0).count()
        );
        assert_eq!(walk(ours.scorer(segment, 1.0).unwrap()), expected);

        // Seeking: to a match, between matches, and past the end.
        let mut scorer = ours.scorer(segment, 1.0).unwrap();
        assert_eq!(scorer.seek(20), 20);
        assert_eq!(scorer.score(), expected.iter().find(|(d, _)| *d == 20).unwrap().1);
        assert_eq!(scorer.seek(22), 24);
        assert_eq!(scorer.advance(), 25);
        assert_eq!(scorer.seek(10_000), TERMINATED);
    }
}
