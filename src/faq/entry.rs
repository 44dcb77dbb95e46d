//! FAQ entries and the validation of what authors send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A question the bot can answer, with the ways customers ask it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaqEntry {
    pub id: String,
    pub question: String,
    #[serde(default)]
    pub phrasings: Vec<String>,
    pub answer: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

/// An entry as an author writes it; the id is optional on create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqDraft {
    #[serde(default)]
    pub id: Option<String>,
    pub question: String,
    #[serde(default)]
    pub phrasings: Vec<String>,
    pub answer: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Accepted (and ignored) so an export can be imported again.
    #[serde(default, skip_serializing)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// What is wrong with a draft.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEntry(pub String);

const MAX_QUESTION: usize = 500;
const MAX_ANSWER: usize = 5_000;
const MAX_LIST: usize = 30;
const MAX_TAG: usize = 40;

/// Whether `id` is a valid entry id: 1–64 of `a-z 0-9 - _`, and not
/// `search` (which is the search endpoint's path).
pub(crate) fn valid_id(id: &str) -> bool {
    id != "search"
        && (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl FaqDraft {
    /// Check the draft and turn it into an entry with `id`.
    pub(crate) fn into_entry(self, id: String) -> Result<FaqEntry, InvalidEntry> {
        let bad = |m: String| Err(InvalidEntry(m));
        if !valid_id(&id) {
            return bad(format!(
                "id {id:?} must be 1-64 characters of a-z, 0-9, '-' and '_'"
            ));
        }
        let question = self.question.trim().to_owned();
        let answer = self.answer.trim().to_owned();
        if question.is_empty() || question.chars().count() > MAX_QUESTION {
            return bad(format!("question must be 1-{MAX_QUESTION} characters"));
        }
        if answer.is_empty() || answer.chars().count() > MAX_ANSWER {
            return bad(format!("answer must be 1-{MAX_ANSWER} characters"));
        }
        let clean = |list: Vec<String>| -> Vec<String> {
            list.into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let phrasings = clean(self.phrasings);
        let tags: Vec<String> = clean(self.tags)
            .into_iter()
            .map(|t| t.to_lowercase())
            .collect();
        if phrasings.len() > MAX_LIST || phrasings.iter().any(|p| p.chars().count() > MAX_QUESTION)
        {
            return bad(format!(
                "at most {MAX_LIST} phrasings of at most {MAX_QUESTION} characters"
            ));
        }
        if tags.len() > MAX_LIST || tags.iter().any(|t| t.chars().count() > MAX_TAG) {
            return bad(format!(
                "at most {MAX_LIST} tags of at most {MAX_TAG} characters"
            ));
        }
        Ok(FaqEntry {
            id,
            question,
            phrasings,
            answer,
            tags,
            updated_at: Utc::now(),
        })
    }
}

impl From<FaqEntry> for FaqDraft {
    fn from(e: FaqEntry) -> Self {
        Self {
            id: Some(e.id),
            question: e.question,
            phrasings: e.phrasings,
            answer: e.answer,
            tags: e.tags,
            updated_at: Some(e.updated_at),
        }
    }
}

/// The id an imported entry without one gets: a slug of its question, so
/// importing the same file twice updates instead of duplicating.
pub(crate) fn slug_id(question: &str) -> String {
    let mut slug = String::new();
    for c in question.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 64 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if valid_id(&slug) {
        slug
    } else {
        new_id()
    }
}

/// A fresh id for an entry created without one.
pub(crate) fn new_id() -> String {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    format!("faq-{}", &uuid[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(q: &str, a: &str) -> FaqDraft {
        FaqDraft {
            id: None,
            question: q.into(),
            phrasings: vec![" ".into(), "other way".into()],
            answer: a.into(),
            tags: vec!["Returns".into()],
            updated_at: None,
        }
    }

    #[test]
    fn drafts_are_trimmed_and_checked() {
        let e = draft(" Q? ", "A.").into_entry("q-1".into()).unwrap();
        assert_eq!(e.question, "Q?");
        assert_eq!(e.phrasings, vec!["other way"]);
        assert_eq!(e.tags, vec!["returns"]);
        assert!(draft("", "A").into_entry("x".into()).is_err());
        assert!(draft("Q", "A").into_entry("Bad Id".into()).is_err());
    }

    #[test]
    fn generated_ids_are_valid() {
        assert!(valid_id(&new_id()));
        assert_eq!(
            slug_id("How do I reset my password?"),
            "how-do-i-reset-my-password"
        );
        assert!(valid_id(&slug_id(&"long question ".repeat(20))));
        assert!(valid_id(&slug_id("¿?")));
    }
}
