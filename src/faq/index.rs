//! The tantivy index over FAQ entries.
//!
//! The index is derived data: the store holds the entries, and the index
//! can always be rebuilt from them. One [`IndexWriter`] exists per index
//! (tantivy allows no more), guarded by a mutex; after each commit the
//! reader is reloaded explicitly, so an edit is searchable as soon as the
//! call that made it returns. All methods block: call them from the
//! blocking pool.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::entry::FaqEntry;

const ANALYZER: &str = "faq_en";
const WRITER_MEMORY: usize = 15_000_000;

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("FAQ index at {path} failed: {source}. Run `frontdesk faq reindex` to rebuild it from the store")]
    Tantivy {
        path: PathBuf,
        source: tantivy::TantivyError,
    },
    #[error("cannot prepare the FAQ index directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A search result: the entry id and its BM25 score.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub id: String,
    pub score: f32,
}

struct Fields {
    id: Field,
    question: Field,
    phrasings: Field,
    answer: Field,
    tags: Field,
}

pub(crate) struct FaqIndex {
    path: PathBuf,
    reader: IndexReader,
    /// The only writer of this index; held for the length of one edit.
    writer: Mutex<IndexWriter>,
    fields: Fields,
    parser: QueryParser,
    /// The fields' analyzer, for [`FaqIndex::terms`].
    analyzer: TextAnalyzer,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        question: b.add_text_field("question", text.clone()),
        phrasings: b.add_text_field("phrasings", text.clone()),
        answer: b.add_text_field("answer", text.clone()),
        tags: b.add_text_field("tags", text),
    };
    (b.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser);
    match StopWordFilter::new(Language::English) {
        Some(stop) => builder
            .filter(stop)
            .filter(Stemmer::new(Language::English))
            .build(),
        None => builder.filter(Stemmer::new(Language::English)).build(),
    }
}

impl FaqIndex {
    /// Open the index in `dir`, creating it if missing. An index that
    /// cannot be opened (damaged files, an older schema) is moved aside and
    /// a fresh one created; the caller then rebuilds it from the store.
    /// Returns the index and whether it was created fresh.
    pub(crate) fn open(dir: &Path) -> Result<(Self, bool), IndexError> {
        let io = |source| IndexError::Io {
            path: dir.to_owned(),
            source,
        };
        match Self::open_existing(dir) {
            Ok(Some(index)) => return Ok((index, false)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(path = %dir.display(), error = %e, "faq index unreadable; rebuilding it from the store");
                let aside =
                    dir.with_extension(format!("broken-{}", chrono::Utc::now().timestamp()));
                std::fs::rename(dir, &aside).map_err(io)?;
            }
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        let (schema, _) = schema();
        let index = Index::create_in_dir(dir, schema).map_err(|source| IndexError::Tantivy {
            path: dir.to_owned(),
            source,
        })?;
        Ok((Self::from_index(dir, index)?, true))
    }

    fn open_existing(dir: &Path) -> Result<Option<Self>, IndexError> {
        if !dir.join("meta.json").exists() {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(|source| IndexError::Io {
                    path: dir.to_owned(),
                    source,
                })?;
            }
            return Ok(None);
        }
        let err = |source| IndexError::Tantivy {
            path: dir.to_owned(),
            source,
        };
        let index = Index::open_in_dir(dir).map_err(err)?;
        if index.schema() != schema().0 {
            return Err(err(tantivy::TantivyError::SchemaError(
                "the index was written with another schema".into(),
            )));
        }
        Self::from_index(dir, index).map(Some)
    }

    fn from_index(dir: &Path, index: Index) -> Result<Self, IndexError> {
        let err = |source| IndexError::Tantivy {
            path: dir.to_owned(),
            source,
        };
        index.tokenizers().register(ANALYZER, analyzer());
        let (_, fields) = schema();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        let writer = index
            .writer_with_num_threads(1, WRITER_MEMORY)
            .map_err(err)?;
        let searched = boosts(&fields).map(|(field, _)| field).to_vec();
        let mut parser = QueryParser::for_index(&index, searched);
        for (field, boost) in boosts(&fields) {
            parser.set_field_boost(field, boost);
        }
        Ok(Self {
            path: dir.to_owned(),
            reader,
            writer: Mutex::new(writer),
            fields,
            parser,
            analyzer: analyzer(),
        })
    }

    fn tantivy<T>(&self, r: tantivy::Result<T>) -> Result<T, IndexError> {
        r.map_err(|source| IndexError::Tantivy {
            path: self.path.clone(),
            source,
        })
    }

    /// Hold the single writer while `f` runs, then commit and reload.
    /// Lets a caller update its source of truth and the index under one
    /// lock so concurrent edits reach both in the same order.
    pub(crate) fn edit<T>(&self, f: impl FnOnce(&mut IndexEdit<'_>) -> T) -> Result<T, IndexError> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut edit = IndexEdit {
            writer: &mut writer,
            fields: &self.fields,
        };
        let out = f(&mut edit);
        let r = writer.commit();
        self.tantivy(r)?;
        let r = self.reader.reload();
        self.tantivy(r)?;
        Ok(out)
    }

    /// Number of entries in the index.
    pub(crate) fn entries(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The `limit` best entries for a customer's text, best first.
    pub(crate) fn search(&self, text: &str, limit: usize) -> Result<Vec<Hit>, IndexError> {
        let text = sanitize(text);
        let query = match self.terms(&text) {
            Some(query) => query,
            None => self.parser.parse_query_lenient(&text).0,
        };
        let searcher = self.reader.searcher();
        let top = self.tantivy(searcher.search(&query, &TopDocs::with_limit(limit.max(1))))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = self.tantivy(searcher.doc(address))?;
            if let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) {
                hits.push(Hit {
                    id: id.to_owned(),
                    score,
                });
            }
        }
        Ok(hits)
    }

    /// The query the parser makes of `text` (sanitised), built flat: one
    /// boosted term per word and field, in one disjunction. The parser
    /// nests each word's fields in a query of their own, so tantivy walks
    /// every entry holding any word; flat, it can skip those that cannot
    /// reach the best `limit` (block-max WAND), which matters when common
    /// words such as "how" or "my" appear in most of a large FAQ. The
    /// scores are the parser's. `None` when a word splits into several
    /// terms ("don't"), of which the parser makes a phrase, or when no
    /// word is left once stop words are dropped.
    fn terms(&self, text: &str) -> Option<Box<dyn Query>> {
        let mut analyzer = self.analyzer.clone();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in text.split_whitespace() {
            let mut tokens = Vec::new();
            analyzer
                .token_stream(word)
                .process(&mut |t| tokens.push(t.text.clone()));
            if tokens.len() > 1 {
                return None;
            }
            for token in tokens {
                for (field, boost) in boosts(&self.fields) {
                    let term = TermQuery::new(
                        Term::from_field_text(field, &token),
                        IndexRecordOption::WithFreqs,
                    );
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(term), boost)),
                    ));
                }
            }
        }
        // Of stop words only: the parser's query, whatever it matches.
        if clauses.is_empty() {
            return None;
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }
}

/// The searched fields and how much a match in each counts.
fn boosts(f: &Fields) -> [(Field, f32); 4] {
    [
        (f.question, 2.0),
        (f.phrasings, 1.5),
        (f.answer, 0.5),
        (f.tags, 1.0),
    ]
}

/// Changes made under the writer lock.
pub(crate) struct IndexEdit<'a> {
    writer: &'a mut IndexWriter,
    fields: &'a Fields,
}

impl IndexEdit<'_> {
    pub(crate) fn upsert(&mut self, entry: &FaqEntry) -> Result<(), tantivy::TantivyError> {
        let f = self.fields;
        self.writer
            .delete_term(Term::from_field_text(f.id, &entry.id));
        let mut d = doc!(
            f.id => entry.id.as_str(),
            f.question => entry.question.as_str(),
            f.answer => entry.answer.as_str(),
        );
        for p in &entry.phrasings {
            d.add_text(f.phrasings, p);
        }
        for t in &entry.tags {
            d.add_text(f.tags, t);
        }
        self.writer.add_document(d)?;
        Ok(())
    }

    pub(crate) fn delete(&mut self, id: &str) {
        self.writer
            .delete_term(Term::from_field_text(self.fields.id, id));
    }

    pub(crate) fn clear(&mut self) -> Result<(), tantivy::TantivyError> {
        self.writer.delete_all_documents()?;
        Ok(())
    }
}

/// Customers type free text; the query parser's syntax characters must
/// not turn a question into a field query or a phrase.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faq::io::{parse, Format};

    fn demo_index(dir: &Path) -> FaqIndex {
        let (index, _) = FaqIndex::open(dir).expect("open");
        let entries: Vec<FaqEntry> = parse(crate::faq::DEMO_FAQ, Format::Yaml)
            .expect("demo")
            .into_iter()
            .map(|d| {
                let id = d.id.clone().expect("demo ids");
                d.into_entry(id).expect("entry")
            })
            .collect();
        index
            .edit(|e| {
                for entry in &entries {
                    e.upsert(entry).expect("upsert");
                }
            })
            .expect("commit");
        index
    }

    #[test]
    fn the_flat_query_scores_as_the_parser_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let index = demo_index(dir.path());
        let searcher = index.reader.searcher();
        for text in [
            "how do I return my boots",
            "Where is my order #10482??",
            "refund refund REFUND to my card",
            "do you ship to Switzerland",
            "the and of",
        ] {
            let text = sanitize(text);
            let parsed = index.parser.parse_query_lenient(&text).0;
            let flat = index.terms(&text).unwrap_or_else(|| parsed.box_clone());
            let top = |q: &dyn Query| {
                searcher
                    .search(q, &TopDocs::with_limit(10))
                    .expect("search")
            };
            let (a, b) = (top(flat.as_ref()), top(parsed.as_ref()));
            assert_eq!(a.len(), b.len(), "{text}");
            for ((sa, _), (sb, _)) in a.iter().zip(&b) {
                assert!((sa - sb).abs() < 1e-4, "{text}: {sa} against {sb}");
            }
        }
        // A word of several terms is left to the parser, which makes a
        // phrase of it, and so is a text of stop words only.
        assert!(index.terms("don't").is_none());
        assert!(index.terms("the and of").is_none());
        assert!(index.terms("my boots").is_some());
    }
}
