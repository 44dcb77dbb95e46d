//! The tantivy index behind transcript search, in memory: one document
//! per message and one per conversation for the customer's name and
//! email. Nothing of it reaches the disk, so encryption at rest and
//! erasure hold for it without more work.

use std::collections::HashMap;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, Value, STORED, STRING, TEXT};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TokenStream;
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::crm::ConversationId;

const WRITER_MEMORY: usize = 15_000_000;
/// Words of at least this many characters match with one typo.
const FUZZY_FROM: usize = 5;

pub(super) struct TranscriptIndex {
    index: Index,
    reader: IndexReader,
    writer: IndexWriter,
    conversation: Field,
    text: Field,
    customer: Field,
}

/// A conversation the words were found in, best first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub conversation_id: ConversationId,
    pub score: f32,
    /// Words around the match, as plain text.
    pub snippet: String,
}

impl TranscriptIndex {
    pub(super) fn new() -> tantivy::Result<Self> {
        let mut schema = Schema::builder();
        let conversation = schema.add_text_field("conversation", STRING | STORED);
        let text = schema.add_text_field("text", TEXT | STORED);
        let customer = schema.add_text_field("customer", TEXT | STORED);
        let index = Index::create_in_ram(schema.build());
        let writer = index.writer(WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            writer,
            conversation,
            text,
            customer,
        })
    }

    pub(super) fn add_message(&mut self, id: ConversationId, text: &str) -> tantivy::Result<()> {
        self.writer
            .add_document(doc!(self.conversation => id.to_string(), self.text => text))?;
        Ok(())
    }

    pub(super) fn add_customer(&mut self, id: ConversationId, who: &str) -> tantivy::Result<()> {
        self.writer
            .add_document(doc!(self.conversation => id.to_string(), self.customer => who))?;
        Ok(())
    }

    pub(super) fn forget(&mut self, id: ConversationId) {
        self.writer
            .delete_term(Term::from_field_text(self.conversation, &id.to_string()));
    }

    /// Make what was added searchable.
    pub(super) fn commit(&mut self) -> tantivy::Result<()> {
        self.writer.commit()?;
        self.reader.reload()
    }

    /// Conversations whose messages or customer match every word of
    /// `words`, best first, at most `limit`.
    pub(super) fn search(&self, words: &str, limit: usize) -> tantivy::Result<Vec<Found>> {
        let terms = self.words(words);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let query = BooleanQuery::new(
            terms
                .iter()
                .map(|w| (Occur::Must, self.either_field(w)))
                .collect(),
        );
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit * 8))?;
        let mut snippets = SnippetGenerator::create(&searcher, &query, self.text)?;
        snippets.set_max_num_chars(160);
        let mut best: HashMap<ConversationId, Found> = HashMap::new();
        let mut order = Vec::new();
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(id) = doc
                .get_first(self.conversation)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<ConversationId>().ok())
            else {
                continue;
            };
            if best.contains_key(&id) {
                continue;
            }
            let snippet = match doc.get_first(self.customer).and_then(|v| v.as_str()) {
                Some(who) => who.to_owned(),
                None => {
                    let around = snippets.snippet_from_doc(&doc).fragment().to_owned();
                    // A word found only with its typo has no exact match
                    // to centre on: the start of the message then.
                    match around.is_empty() {
                        true => start_of(doc.get_first(self.text).and_then(|v| v.as_str())),
                        false => around,
                    }
                }
            };
            order.push(id);
            best.insert(
                id,
                Found {
                    conversation_id: id,
                    score,
                    snippet,
                },
            );
            if order.len() == limit {
                break;
            }
        }
        Ok(order
            .into_iter()
            .filter_map(|id| best.remove(&id))
            .collect())
    }

    /// The words of `q` as the index's tokenizer makes them.
    fn words(&self, q: &str) -> Vec<String> {
        let Ok(mut analyzer) = self.index.tokenizer_for_field(self.text) else {
            return Vec::new();
        };
        let mut stream = analyzer.token_stream(q);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out.dedup();
        out
    }

    /// `word` in the transcript or the customer's name and email, with
    /// one typo allowed in a long word.
    fn either_field(&self, word: &str) -> Box<dyn Query> {
        let one = |field: Field| -> (Occur, Box<dyn Query>) {
            let term = Term::from_field_text(field, word);
            let q: Box<dyn Query> = if word.chars().count() >= FUZZY_FROM {
                Box::new(FuzzyTermQuery::new(term, 1, true))
            } else {
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
            };
            (Occur::Should, q)
        };
        Box::new(BooleanQuery::new(vec![one(self.text), one(self.customer)]))
    }
}

/// The first 160 characters of `text`.
fn start_of(text: Option<&str>) -> String {
    let text = text.unwrap_or_default();
    let mut start: String = text.chars().take(160).collect();
    if start.len() < text.len() {
        start.push('…');
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_words_with_a_typo_and_forgets() {
        let mut ix = TranscriptIndex::new().unwrap();
        let (a, b) = (ConversationId::new(), ConversationId::new());
        ix.add_message(a, "My parcel never arrived at the cottage")
            .unwrap();
        ix.add_message(a, "It was a tent").unwrap();
        ix.add_customer(a, "Ana Lima ana@example.com").unwrap();
        ix.add_message(b, "Where is my refund?").unwrap();
        ix.commit().unwrap();
        let hits = ix.search("parcle", 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].conversation_id, a);
        assert!(hits[0].snippet.contains("parcel"), "{:?}", hits[0]);
        assert_eq!(
            ix.search("ana@example.com", 10).unwrap()[0].conversation_id,
            a
        );
        assert_eq!(ix.search("refund", 10).unwrap()[0].conversation_id, b);
        assert!(ix.search("tent refund", 10).unwrap().is_empty());
        ix.forget(a);
        ix.commit().unwrap();
        assert!(ix.search("parcel", 10).unwrap().is_empty());
        assert!(ix.search("", 10).unwrap().is_empty());
    }
}
