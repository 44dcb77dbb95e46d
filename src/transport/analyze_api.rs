//! `POST /v1/analyze`: what the models make of a text, for other systems
//! and for measuring quality.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::json::JsonBody;
use crate::app::AppState;
use crate::crm::MessageAnalysis;
use crate::error::ApiError;
use crate::turn;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnalyzeRequest {
    text: String,
}

#[derive(Serialize)]
pub(super) struct Analyzed {
    #[serde(flatten)]
    analysis: MessageAnalysis,
    /// The question of each FAQ match, in the order of `faq`.
    faq_questions: Vec<String>,
}

pub(super) async fn analyze(
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
    let understood = turn::retrieve(&state.faq, text, Some(analysis), Some(embedding)).await?;
    let Some(analysis) = understood.stored() else {
        return Err(ApiError::new(
            crate::error::ErrorCode::Internal,
            "the analysis went missing; please try again",
        ));
    };
    let faq_questions = understood
        .faq
        .into_iter()
        .take(analysis.faq.len())
        .map(|s| s.entry.question)
        .collect();
    Ok(Json(Analyzed {
        analysis,
        faq_questions,
    }))
}
