//! `POST /v1/analyze`: what the models make of a text, for other systems
//! and for measuring quality.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::json::JsonBody;
use crate::app::AppState;
use crate::auth::Caller;
use crate::crm::{FaqScore, MessageAnalysis};
use crate::error::ApiError;
use crate::turn;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeRequest {
    text: String,
}

#[derive(Serialize)]
pub struct Analyzed {
    #[serde(flatten)]
    analysis: MessageAnalysis,
    /// The question of each FAQ match, in the order of `faq`.
    faq_questions: Vec<String>,
}

pub async fn analyze(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<AnalyzeRequest>,
) -> Result<Json<Analyzed>, ApiError> {
    caller.require(&[])?;
    let text = body.text.trim();
    let max = state.config.limits.max_message_chars;
    if text.is_empty() || text.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "text must be 1-{max} characters"
        )));
    }
    // The same analysis a customer turn runs; busy models are an error
    // here rather than a silent fallback.
    let (analysis, embedding) = state.understanding.analyze(text).await?;
    let found = state
        .faq
        .search_hybrid(text.to_owned(), Some(embedding), 5)
        .await?;
    let candidates = turn::candidates(&found);
    let faq = found
        .iter()
        .zip(&candidates)
        .map(|(s, c)| FaqScore {
            id: s.entry.id.clone(),
            bm25: s.score,
            similarity: s.similarity,
            confidence: c.confidence,
        })
        .collect();
    Ok(Json(Analyzed {
        analysis: MessageAnalysis {
            sentiment: analysis.sentiment,
            intent: analysis.intent,
            faq,
        },
        faq_questions: found.into_iter().map(|s| s.entry.question).collect(),
    }))
}
