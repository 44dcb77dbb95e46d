//! The multilingual encoder: sentence embeddings of German, French,
//! Spanish, Italian and Dutch messages, in one space with the FAQ's
//! English texts, so a question in another language finds the English
//! entry that answers it.
//!
//! `multilingual.onnx` is multilingual-e5-small with 4-bit weights and a
//! vocabulary cut to Latin script (`models/README.md`): about three times
//! the cost of the understanding model per message, so it only runs for
//! messages in [`LANGUAGES`]. It is loaded on first use, not at start,
//! so a shop that only meets English pays nothing for it. As the model
//! was trained, a customer's message is embedded as `query: …` and the
//! FAQ's texts it is compared with as `passage: …`. Its tokenizer is
//! `nlu::unigram`, which reads the same file in a fifteenth of the
//! memory.

use std::path::Path;
use std::sync::Arc;

use ort::session::Session;
use ort::value::Tensor;

use super::model::{fingerprint, infer, model_error, read, session, DIM};
use super::unigram::Unigram;
use super::workers::{Pass, Workers};
use super::{runtime, NluError, Parallelism};

/// The model file in a models directory.
pub const MODEL_FILE: &str = "multilingual.onnx";
/// Its tokenizer.
pub const TOKENIZER_FILE: &str = "multilingual-tokenizer.json";
/// The languages (ISO 639-1) the bot answers through this model; measured
/// in docs/quality.md.
pub const LANGUAGES: [&str; 5] = ["de", "fr", "es", "it", "nl"];
/// What the model expects before a question, and before a text that may
/// answer one.
const QUERY: &str = "query: ";
const PASSAGE: &str = "passage: ";
/// Longest input in tokens: room for an FAQ entry's question with its
/// answer (see `faq::semantic`); longer texts are truncated.
const MAX_TOKENS: usize = 256;
/// Customer messages that may wait for it.
const QUEUE: usize = 64;

/// Whether messages in `language` are answered through this model.
pub fn answers_in(language: &str) -> bool {
    LANGUAGES.contains(&language)
}

/// Handle to the loaded model; cheap to clone.
#[derive(Clone)]
pub struct Multilingual {
    workers: Workers<Encoder>,
    fingerprint: Arc<str>,
}

impl std::fmt::Debug for Multilingual {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multilingual")
            .field("fingerprint", &&self.fingerprint[..12])
            .finish_non_exhaustive()
    }
}

impl Multilingual {
    /// Read the model in `dir` and start its worker (one thread: it
    /// serves the few messages in other languages). Blocks.
    pub fn load(dir: &Path) -> Result<Self, NluError> {
        runtime::environment()?;
        let tokenizer_file = dir.join(TOKENIZER_FILE);
        let tokenizer_bytes = read(&tokenizer_file)?;
        let tokenizer =
            Unigram::from_json(&tokenizer_bytes).map_err(|e| model_error(&tokenizer_file, e))?;
        let model_file = dir.join(MODEL_FILE);
        let model = read(&model_file)?;
        let fingerprint = fingerprint(&tokenizer_bytes, &model);
        let tokenizer = Arc::new(tokenizer);
        let p = Parallelism {
            workers: 1,
            threads: 1,
            queue: QUEUE,
        };
        let workers = Workers::start("multilingual", p, |threads| {
            Ok(Encoder {
                tokenizer: tokenizer.clone(),
                session: session(&model_file, &model, threads, None, &["sentence_embedding"])?,
            })
        })?;
        tracing::info!(
            model = %model_file.display(),
            fingerprint = &fingerprint[..12],
            "multilingual model loaded"
        );
        Ok(Self {
            workers,
            fingerprint: fingerprint.into(),
        })
    }

    /// Hex SHA-256 over the tokenizer and the model.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The embedding of one customer's message; refused with
    /// [`NluError::Overloaded`] when too many wait.
    pub async fn embed_message(&self, text: &str) -> Result<Vec<f32>, NluError> {
        self.workers.turn(format!("{QUERY}{text}")).await
    }

    /// Embeddings of many customer messages, such as an intent's examples
    /// (bulk: waits for room).
    pub async fn embed_messages(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, NluError> {
        let texts = texts.into_iter().map(|t| format!("{QUERY}{t}")).collect();
        self.workers.bulk(texts).await
    }

    /// Embeddings of many FAQ texts (bulk: waits for room).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, NluError> {
        let texts = texts.into_iter().map(|t| format!("{PASSAGE}{t}")).collect();
        self.workers.bulk(texts).await
    }
}

/// One session over the model.
struct Encoder {
    tokenizer: Arc<Unigram>,
    session: Session,
}

impl Pass for Encoder {
    type Output = Vec<f32>;

    fn run(&mut self, text: &str) -> Result<Vec<f32>, NluError> {
        let ids = self.tokenizer.encode(text, MAX_TOKENS);
        let tensor =
            |values: Vec<i64>| Tensor::from_array(([1, values.len()], values)).map_err(infer);
        let mask = vec![1; ids.len()];
        let outputs = self
            .session
            .run(ort::inputs![
                "input_ids" => tensor(ids.into_iter().map(i64::from).collect())?,
                "attention_mask" => tensor(mask)?,
            ])
            .map_err(infer)?;
        let (_, embedding) = outputs["sentence_embedding"]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        match embedding.len() {
            DIM => Ok(embedding.to_vec()),
            n => Err(NluError::Inference(format!(
                "the multilingual model returned {n} embedding values for one text"
            ))),
        }
    }
}
