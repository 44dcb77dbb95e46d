//! Reading and writing FAQ files: JSON, YAML and CSV.
//!
//! JSON and YAML hold a list of entries (or `{"entries": [...]}`); CSV has
//! the columns `id,question,phrasings,answer,tags`, with phrasings and tags
//! separated by `|` inside their cell.

use std::path::Path;

use serde::Deserialize;

use super::entry::{FaqDraft, FaqEntry};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Yaml,
    Csv,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("cannot tell the format of {0}; name it .json, .yaml, .yml or .csv")]
    UnknownExtension(String),
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("invalid CSV: {0}")]
    Csv(#[from] csv::Error),
}

impl Format {
    pub fn from_path(path: &Path) -> Result<Self, FormatError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Ok(Format::Json),
            Some("yaml" | "yml") => Ok(Format::Yaml),
            Some("csv") => Ok(Format::Csv),
            _ => Err(FormatError::UnknownExtension(path.display().to_string())),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped {
    entries: Vec<FaqDraft>,
}

/// A list of entries, or an object with `entries`; errors name the entry
/// and field that is wrong.
fn document<E>(
    text: &str,
    list: impl Fn(&str) -> Result<Vec<FaqDraft>, E>,
    wrapped: impl Fn(&str) -> Result<Wrapped, E>,
) -> Result<Vec<FaqDraft>, E> {
    match list(text) {
        Ok(l) => Ok(l),
        Err(list_error) => wrapped(text).map(|w| w.entries).map_err(|_| list_error),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvRow {
    #[serde(default)]
    id: Option<String>,
    question: String,
    #[serde(default)]
    phrasings: String,
    answer: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    updated_at: Option<String>,
}

fn split(cell: &str) -> Vec<String> {
    cell.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Parse a file's text into drafts.
pub fn parse(text: &str, format: Format) -> Result<Vec<FaqDraft>, FormatError> {
    Ok(match format {
        Format::Json => document(
            text,
            |t| serde_json::from_str(t),
            |t| serde_json::from_str(t),
        )?,
        Format::Yaml => document(
            text,
            |t| serde_yaml::from_str(t),
            |t| serde_yaml::from_str(t),
        )?,
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            let mut out = Vec::new();
            for row in reader.deserialize::<CsvRow>() {
                let row = row?;
                let _ = row.updated_at;
                out.push(FaqDraft {
                    id: row.id.filter(|s| !s.is_empty()),
                    question: row.question,
                    phrasings: split(&row.phrasings),
                    answer: row.answer,
                    tags: split(&row.tags),
                    updated_at: None,
                });
            }
            out
        }
    })
}

/// Write entries in `format`.
pub fn render(entries: &[FaqEntry], format: Format) -> Result<String, FormatError> {
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(entries)? + "\n",
        Format::Yaml => serde_yaml::to_string(entries)?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "id",
                "question",
                "phrasings",
                "answer",
                "tags",
                "updated_at",
            ])?;
            for e in entries {
                w.write_record([
                    e.id.as_str(),
                    &e.question,
                    &e.phrasings.join(" | "),
                    &e.answer,
                    &e.tags.join(" | "),
                    &e.updated_at.to_rfc3339(),
                ])?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| csv::Error::from(e.into_error()))?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_faq_parses() {
        let drafts = parse(super::super::DEMO_FAQ, Format::Yaml).unwrap();
        assert!(drafts.len() >= 30, "{}", drafts.len());
    }

    #[test]
    fn every_format_round_trips() {
        let entries: Vec<FaqEntry> = parse(super::super::DEMO_FAQ, Format::Yaml)
            .unwrap()
            .into_iter()
            .map(|d| {
                let id = d.id.clone().unwrap();
                d.into_entry(id).unwrap()
            })
            .collect();
        for format in [Format::Json, Format::Yaml, Format::Csv] {
            let text = render(&entries, format).unwrap();
            let back = parse(&text, format).unwrap();
            assert_eq!(back.len(), entries.len(), "{format:?}");
            assert_eq!(back[3].phrasings, entries[3].phrasings, "{format:?}");
            assert_eq!(back[3].answer, entries[3].answer, "{format:?}");
        }
    }

    #[test]
    fn broken_files_give_typed_errors() {
        assert!(matches!(
            parse("[{", Format::Json),
            Err(FormatError::Json(_))
        ));
        assert!(matches!(
            parse("- {question: 1", Format::Yaml),
            Err(FormatError::Yaml(_))
        ));
        assert!(matches!(
            parse("nope\n1", Format::Csv),
            Err(FormatError::Csv(_))
        ));
    }
}
