//! Which model embeds the FAQ's texts for a [`super::Semantic`], and
//! which texts of an entry it embeds.

use std::borrow::Cow;

use crate::faq::FaqEntry;
use crate::nlu::multilingual::Multilingual;
use crate::nlu::{Nlu, NluError};

/// The model that embeds the FAQ's texts for one [`super::Semantic`]: the
/// understanding model (for English), or the multilingual one.
#[derive(Clone)]
pub(crate) enum Embedder {
    Understanding(Nlu),
    Multilingual(Multilingual),
}

impl Embedder {
    pub(super) fn fingerprint(&self) -> &str {
        match self {
            Embedder::Understanding(nlu) => nlu.fingerprint(),
            Embedder::Multilingual(m) => m.fingerprint(),
        }
    }

    pub(super) async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, NluError> {
        match self {
            Embedder::Understanding(nlu) => nlu.embed(texts).await,
            Embedder::Multilingual(m) => m.embed(texts).await,
        }
    }

    /// Whether it also embeds each entry's answer (see
    /// [`super::Semantic::across_languages`]).
    pub(super) fn reads_answers(&self) -> bool {
        matches!(self, Embedder::Multilingual(_))
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            Embedder::Understanding(_) => "understanding",
            Embedder::Multilingual(_) => "multilingual",
        }
    }
}

/// The texts of an entry that are compared with a customer's question:
/// the question and every phrasing, and, with `answers`, the question
/// with its answer as one text (see [`super::Semantic::across_languages`]).
pub(super) fn texts(entry: &FaqEntry, answers: bool) -> Vec<Cow<'_, str>> {
    let mut out: Vec<Cow<'_, str>> = std::iter::once(&entry.question)
        .chain(&entry.phrasings)
        .map(|t| Cow::Borrowed(t.as_str()))
        .collect();
    if answers {
        out.push(Cow::Owned(answer_text(entry)));
    }
    out
}

/// An entry's question and answer as one text.
pub(super) fn answer_text(entry: &FaqEntry) -> String {
    format!("{}\n\n{}", entry.question, entry.answer)
}
