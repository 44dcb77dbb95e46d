//! What a turn learns about a customer message before storing it: the
//! models' analysis and the FAQ entries that may answer it.

use std::time::Instant;

use crate::crm::{FaqScore, MessageAnalysis};
use crate::faq::{self, Faq, FaqCandidate, FaqError, ScoredEntry};
use crate::nlu::{Analysis, Understanding};

/// FAQ candidates fetched per turn.
const CANDIDATES: usize = 5;
/// FAQ scores kept with the message in the timeline.
const STORED_SCORES: usize = 3;

/// The analysis of one customer message.
#[derive(Debug, Clone)]
pub(crate) struct Understood {
    /// `None` when the models were busy or failed.
    pub analysis: Option<Analysis>,
    /// Search hits, best first.
    pub faq: Vec<ScoredEntry>,
    /// The same hits with the calibrated confidence of each.
    pub candidates: Vec<FaqCandidate>,
    /// Each sentence's analysis, for a message of several (see
    /// `Understanding::analyze_sentences`); not stored.
    pub sentences: Vec<Analysis>,
    /// The message's language, when detected reliably.
    pub language: Option<String>,
}

impl Understood {
    /// The analysis as stored with the message.
    pub(crate) fn stored(&self) -> Option<MessageAnalysis> {
        self.analysis.as_ref().map(|a| MessageAnalysis {
            sentiment: a.sentiment,
            intent: a.intent.clone(),
            faq: self.scores(),
            language: self.language.clone(),
        })
    }

    /// The FAQ scores kept with the message, best first.
    fn scores(&self) -> Vec<FaqScore> {
        self.faq
            .iter()
            .zip(&self.candidates)
            .take(STORED_SCORES)
            .map(|(s, c)| FaqScore {
                id: s.entry.id.clone(),
                bm25: s.score,
                similarity: s.similarity,
                confidence: c.confidence,
            })
            .collect()
    }
}

/// Run the models and the FAQ search over `text`. Busy or failing models
/// are logged and leave the analysis empty; the FAQ search then ranks by
/// BM25 alone.
pub(crate) async fn understand(
    understanding: &Understanding,
    faq: &Faq,
    text: &str,
) -> Result<Understood, FaqError> {
    let started = Instant::now();
    // The message and its sentences, on as many workers as are free.
    let (analyzed, sentences) = tokio::join!(
        understanding.analyze(text),
        understanding.analyze_sentences(text)
    );
    let analyzed = match analyzed {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::warn!(error = %e, "message analysis unavailable");
            None
        }
    };
    let sentences = match (&analyzed, sentences) {
        (Some(_), Ok(s)) => s,
        (Some(_), Err(e)) => {
            tracing::warn!(error = %e, "sentence analysis unavailable");
            Vec::new()
        }
        (None, _) => Vec::new(),
    };
    let infer_ms = started.elapsed().as_millis() as u64;
    let (analysis, embedding) = analyzed.unzip();
    let mut understood = retrieve(faq, text, analysis, embedding).await?;
    understood.sentences = sentences;
    understood.language = crate::nlu::language::detect(text);
    tracing::debug!(
        infer_ms,
        search_ms = started.elapsed().as_millis() as u64 - infer_ms,
        "message understood"
    );
    Ok(understood)
}

/// The FAQ search for `text`, re-ranked by meaning when its embedding is
/// there.
pub(crate) async fn retrieve(
    faq: &Faq,
    text: &str,
    analysis: Option<Analysis>,
    embedding: Option<Vec<f32>>,
) -> Result<Understood, FaqError> {
    let found = faq
        .search_hybrid(text.to_owned(), embedding, CANDIDATES)
        .await?;
    let candidates = faq::calibrate(&found);
    Ok(Understood {
        analysis,
        faq: found,
        candidates,
        sentences: Vec::new(),
        language: None,
    })
}
