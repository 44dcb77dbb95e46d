//! How sure the FAQ search is of each entry it found: the ranking score
//! that orders the hybrid search, and its calibration into a 0..1
//! confidence that the bot's policy compares with its thresholds.

use super::ScoredEntry;

/// BM25 score at which its squashed 0..1 form is 0.5.
const BM25_HALF: f32 = 6.0;
/// Weight of the squashed BM25 score next to the cosine similarity.
const BM25_WEIGHT: f32 = 0.3;

/// Ranking score at which the semantic confidence starts to rise, and the
/// width of the rise to 1.
const SCORE_FLOOR: f32 = 0.4;
const SCORE_SPAN: f32 = 0.4;
/// How much a lead over the next entry counts: a lead of 0.1 in ranking
/// score gives full confidence.
const LEAD_WEIGHT: f32 = 5.0;

/// The ranking score of an entry: cosine similarity to its closest
/// phrasing plus a little of BM25, which keeps exact product words (a
/// "parcel", a "refund") from losing to a vaguely similar question.
pub(crate) fn hybrid_score(bm25: f32, similarity: Option<f32>) -> f32 {
    similarity.unwrap_or(-1.0) + BM25_WEIGHT * bm25 / (bm25 + BM25_HALF)
}

/// An FAQ entry the search found for a customer's text, with how sure
/// the search is of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FaqCandidate {
    pub id: String,
    pub question: String,
    pub answer: String,
    /// 0..1.
    pub confidence: f32,
}

/// Turn search hits (best first) into candidates with a 0..1 confidence.
///
/// With embeddings the confidence comes from the hybrid ranking score
/// (cosine similarity plus a little BM25); without, BM25 is squashed to
/// 0..1. Either is scaled down when the next entry is nearly as close, so
/// an ambiguous question is offered as suggestions rather than answered.
pub(crate) fn calibrate(found: &[ScoredEntry]) -> Vec<FaqCandidate> {
    let rank = |s: &ScoredEntry| match s.similarity {
        Some(_) => hybrid_score(s.score, s.similarity),
        None => s.score / (s.score + BM25_HALF),
    };
    found
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let own = match s.similarity {
                Some(_) => ((rank(s) - SCORE_FLOOR) / SCORE_SPAN).clamp(0.0, 1.0),
                None => rank(s),
            };
            let lead = match found.get(i + 1) {
                Some(next) => ((rank(s) - rank(next)) * LEAD_WEIGHT).max(0.0),
                None => 0.5,
            };
            FaqCandidate {
                id: s.entry.id.clone(),
                question: s.entry.question.clone(),
                answer: s.entry.answer.clone(),
                confidence: own * (0.5 + lead).min(1.0),
            }
        })
        .collect()
}
