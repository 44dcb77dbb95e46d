//! What a turn learns about a customer message before storing it: the
//! models' analysis and the FAQ entries that may answer it.

use std::time::{Duration, Instant};

use crate::crm::{FaqScore, MessageAnalysis};
use crate::faq::{self, Faq, FaqCandidate, FaqError, ScoredEntry};
use crate::nlu::multilingual;
use crate::nlu::{Analysis, IntentMatch, Understanding};

/// FAQ candidates fetched per turn.
const CANDIDATES: usize = 5;
/// FAQ scores kept with the message in the timeline.
const STORED_SCORES: usize = 3;
/// How long a message in another language waits for the FAQ's
/// multilingual vectors (built once; the demo FAQ takes about two
/// seconds), and for how long after the first such message any wait at
/// all. Past either, it gets the offer of a person in its language until
/// the vectors are ready.
const MULTILINGUAL_WAIT: Duration = Duration::from_secs(5);
const MULTILINGUAL_WINDOW: Duration = Duration::from_secs(30);

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
    /// The FAQ was searched with the multilingual model: the message is in
    /// one of its languages, and the hits are English entries.
    pub across_languages: bool,
    /// The analysis's intent was read through the multilingual model.
    pub intent_across_languages: bool,
}

/// What the multilingual model makes of a message in one of its
/// languages.
#[derive(Debug, Clone)]
pub(crate) struct Across {
    /// The FAQ entries closest in meaning, best first.
    pub found: Vec<ScoredEntry>,
    /// The confidence of each.
    pub candidates: Vec<FaqCandidate>,
    /// The message's intent, once the intents in other languages are
    /// learnt.
    pub intent: Option<IntentMatch>,
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
/// BM25 alone. `earlier` is the language of the customer's earlier
/// messages: a message too short to tell its own is taken to be in it
/// when the multilingual model reads it.
pub(crate) async fn understand(
    understanding: &Understanding,
    faq: &Faq,
    text: &str,
    earlier: Option<&str>,
) -> Result<Understood, FaqError> {
    let started = Instant::now();
    let language = crate::nlu::language::detect(text).or_else(|| {
        earlier
            .filter(|l| multilingual::answers_in(l))
            .map(str::to_owned)
    });
    let foreign = language.as_deref().is_some_and(multilingual::answers_in);
    // The message and its sentences, on as many workers as are free; a
    // message in another language on the multilingual model too.
    let (analyzed, sentences, across) = tokio::join!(
        understanding.analyze(text),
        understanding.analyze_sentences(text),
        async {
            match foreign {
                true => across_languages(understanding, faq, text).await,
                false => Ok(None),
            }
        }
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
    let (mut understood, intent) = match across? {
        Some(Across {
            found,
            candidates,
            intent,
        }) => {
            let understood = Understood {
                analysis,
                candidates,
                faq: found,
                sentences: Vec::new(),
                language: None,
                across_languages: true,
                intent_across_languages: false,
            };
            (understood, intent)
        }
        None => (retrieve(faq, text, analysis, embedding).await?, None),
    };
    understood.sentences = sentences;
    understood.language = language;
    // The intents are learnt from English examples: through the
    // multilingual model they read the message in its own language, and
    // the understanding model's reading of it (or of its sentences) is
    // not used.
    if let (Some(intent), Some(analysis)) = (intent, understood.analysis.as_mut()) {
        analysis.intent = intent;
        understood.intent_across_languages = true;
        understood.sentences.clear();
    }
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
    let candidates = faq::calibrate(&found, faq::ENGLISH);
    Ok(Understood {
        analysis,
        faq: found,
        candidates,
        sentences: Vec::new(),
        language: None,
        across_languages: false,
        intent_across_languages: false,
    })
}

/// What the multilingual model makes of `text`, a message in one of its
/// languages: the FAQ entries closest in meaning and the intent. `None`
/// when the model is off, cannot be loaded, is busy, or the FAQ's vectors
/// by it are not ready in time.
pub(crate) async fn across_languages(
    understanding: &Understanding,
    faq: &Faq,
    text: &str,
) -> Result<Option<Across>, FaqError> {
    let Some(model) = understanding.multilingual().await else {
        return Ok(None);
    };
    let (embedding, ready) = tokio::join!(
        model.embed_message(text),
        faq.multilingual_ready(&model, MULTILINGUAL_WAIT, MULTILINGUAL_WINDOW)
    );
    let embedding = match embedding {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "multilingual analysis unavailable");
            return Ok(None);
        }
    };
    if !ready {
        return Ok(None);
    }
    // The intents are learnt once the FAQ's vectors, which the first
    // such customer waits for, are built: both run on the model's worker.
    let intent = understanding
        .intents_across_languages(&model)
        .map(|intents| intents.classify(&embedding));
    let found = faq.search_multilingual(embedding, CANDIDATES).await?;
    let candidates = faq::calibrate(&found, faq::MULTILINGUAL);
    Ok(Some(Across {
        found,
        candidates,
        intent,
    }))
}
