//! How sure the FAQ search is of each entry it found: the ranking score
//! that orders the hybrid search, and its calibration into a 0..1
//! confidence that the bot's policy compares with its thresholds.

use super::ScoredEntry;

/// BM25 score at which its squashed 0..1 form is 0.5.
const BM25_HALF: f32 = 6.0;
/// Weight of the squashed BM25 score next to the cosine similarity.
const BM25_WEIGHT: f32 = 0.3;

/// How ranking scores become confidences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Calibration {
    /// Ranking score at which an entry's own confidence starts to rise,
    /// and the width of the rise to 1.
    floor: f32,
    span: f32,
    /// How sharply the share of an entry among the candidates follows its
    /// lead in ranking score: at 20, a lead of 0.05 over the one rival
    /// gives the first entry a share of 0.73, a lead of 0.15 a share of
    /// 0.95.
    sharpness: f32,
}

/// For the hybrid search of English messages (docs/quality.md).
pub(crate) const ENGLISH: Calibration = Calibration {
    floor: 0.5,
    span: 0.4,
    sharpness: 20.0,
};

/// For messages in other languages, ranked by the multilingual model's
/// similarity alone (`Semantic::across_languages`), which crowds into a
/// narrower, higher band; chosen on the translated tuning questions
/// (docs/quality.md).
pub(crate) const MULTILINGUAL: Calibration = Calibration {
    floor: 0.74,
    span: 0.12,
    sharpness: 120.0,
};

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
/// An entry's confidence is how close it is on its own (its ranking score
/// between `SCORE_FLOOR` and `SCORE_FLOOR + SCORE_SPAN`, as 0..1) times
/// its share among the candidates (a softmax of the ranking scores): a
/// question that several entries fit about equally well is offered as
/// suggestions rather than answered. With embeddings the ranking score is
/// the hybrid one; without, BM25 squashed to 0..1 is both the closeness
/// and the score the shares come from.
pub(crate) fn calibrate(found: &[ScoredEntry], c: Calibration) -> Vec<FaqCandidate> {
    let rank = |s: &ScoredEntry| match s.similarity {
        Some(_) => hybrid_score(s.score, s.similarity),
        None => s.score / (s.score + BM25_HALF),
    };
    let ranks: Vec<f32> = found.iter().map(rank).collect();
    let top = ranks.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f32> = ranks
        .iter()
        .map(|r| (c.sharpness * (r - top)).exp())
        .collect();
    let total: f32 = weights.iter().sum();
    found
        .iter()
        .zip(ranks.iter().zip(&weights))
        .map(|(s, (&r, &w))| {
            let own = match s.similarity {
                Some(_) => ((r - c.floor) / c.span).clamp(0.0, 1.0),
                None => r,
            };
            FaqCandidate {
                id: s.entry.id.clone(),
                question: s.entry.question.clone(),
                answer: s.entry.answer.clone(),
                confidence: own * w / total,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faq::FaqEntry;

    fn hit(id: &str, similarity: f32) -> ScoredEntry {
        ScoredEntry {
            entry: FaqEntry {
                id: id.into(),
                question: format!("{id}?"),
                phrasings: Vec::new(),
                answer: format!("{id}."),
                tags: Vec::new(),
                updated_at: chrono::Utc::now(),
            },
            score: 0.0,
            similarity: Some(similarity),
        }
    }

    #[test]
    fn a_clear_lead_is_confident_and_a_tie_is_not() {
        let clear = calibrate(&[hit("a", 0.9), hit("b", 0.6)], ENGLISH);
        assert!(clear[0].confidence > 0.95, "{clear:?}");
        let tie = calibrate(&[hit("a", 0.9), hit("b", 0.89)], ENGLISH);
        assert!(tie[0].confidence < 0.6, "{tie:?}");
        assert!(tie[0].confidence > tie[1].confidence);
    }

    #[test]
    fn a_distant_entry_has_no_confidence_however_alone() {
        let far = calibrate(&[hit("a", ENGLISH.floor - 0.05)], ENGLISH);
        assert_eq!(far[0].confidence, 0.0);
        let near = calibrate(&[hit("a", ENGLISH.floor + ENGLISH.span)], ENGLISH);
        assert!((near[0].confidence - 1.0).abs() < 1e-6, "{near:?}");
    }

    #[test]
    fn keyword_only_hits_are_squashed_bm25_times_their_share() {
        let mut a = hit("a", 0.0);
        a.similarity = None;
        a.score = BM25_HALF;
        let only = calibrate(&[a], ENGLISH);
        assert!((only[0].confidence - 0.5).abs() < 1e-6, "{only:?}");
    }
}
