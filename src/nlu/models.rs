//! The ONNX models and their tokenizer, run synchronously on the
//! inference thread.
//!
//! - `encoder.onnx`: all-MiniLM-L6-v2, int8; token ids → a 384-d sentence
//!   embedding (mean-pooled and L2-normalised inside the graph).
//! - `sentiment.onnx`: negative / neutral / positive probabilities, either
//!   a head over the embedding (input `embedding`) or a fine-tuned encoder
//!   (inputs `input_ids`, …); the input names tell which.

use std::path::Path;

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{runtime, NluError};

/// Width of the sentence embedding.
pub(crate) const DIM: usize = 384;
/// Longest input in tokens; longer texts are truncated.
pub(crate) const MAX_TOKENS: usize = 128;

/// What the models make of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub embedding: Vec<f32>,
    /// Probabilities of negative, neutral, positive.
    pub sentiment: [f32; 3],
}

enum SentimentInput {
    Embedding,
    Tokens,
}

pub struct Models {
    tokenizer: Tokenizer,
    encoder: Session,
    sentiment: Session,
    sentiment_input: SentimentInput,
    /// Hex sha256 of the tokenizer and model files, in load order.
    fingerprint: String,
}

fn model_error(file: &Path, e: impl std::fmt::Display) -> NluError {
    NluError::Model(format!("{}: {e}", file.display()))
}

/// Hex sha256 of the bytes of `files`, one after another.
fn fingerprint(files: &[&Path]) -> Result<String, NluError> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for file in files {
        h.update(std::fs::read(file).map_err(|e| model_error(file, e))?);
    }
    Ok(hex::encode(h.finalize()))
}

fn session(file: &Path, threads: usize) -> Result<Session, NluError> {
    if !file.is_file() {
        return Err(NluError::Model(format!(
            "{} is missing; the models ship in the repository's models/ directory (see models/README.md)",
            file.display()
        )));
    }
    let env = runtime::environment()?;
    let build = || -> ort::Result<Session> {
        Session::builder(env)?
            .with_optimization_level(GraphOptimizationLevel::Level3)?
            .with_intra_threads(threads)?
            .with_inter_threads(1)?
            .commit_from_file(file)
    };
    build().map_err(|e| model_error(file, e))
}

impl Models {
    /// Load the tokenizer and both models from `dir`.
    pub fn load(dir: &Path, threads: usize) -> Result<Self, NluError> {
        let tokenizer_file = dir.join("tokenizer.json");
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_file).map_err(|e| model_error(&tokenizer_file, e))?;
        // The bundled tokenizer pads every input to 128; pad to the longest
        // in each batch instead.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| model_error(&tokenizer_file, e))?;
        let encoder_file = dir.join("encoder.onnx");
        let encoder = session(&encoder_file, threads)?;
        let sentiment_file = dir.join("sentiment.onnx");
        let sentiment = session(&sentiment_file, threads)?;
        let sentiment_input = if sentiment.inputs().iter().any(|i| i.name() == "input_ids") {
            SentimentInput::Tokens
        } else if sentiment.inputs().iter().any(|i| i.name() == "embedding") {
            SentimentInput::Embedding
        } else {
            return Err(model_error(
                &sentiment_file,
                "expected an `embedding` or `input_ids` input",
            ));
        };
        let fingerprint = fingerprint(&[&tokenizer_file, &encoder_file, &sentiment_file])?;
        Ok(Self {
            tokenizer,
            encoder,
            sentiment,
            sentiment_input,
            fingerprint,
        })
    }

    /// Hex sha256 of `tokenizer.json` followed by every model file loaded:
    /// changes whenever the embeddings may.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Run both models over a batch of texts.
    pub fn encode(
        &mut self,
        texts: &[&str],
        with_sentiment: bool,
    ) -> Result<Vec<Encoded>, NluError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| NluError::Inference(format!("tokenizer: {e}")))?;
        let batch = encodings.len();
        let seq = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut ids = Vec::with_capacity(batch * seq);
        let mut mask = Vec::with_capacity(batch * seq);
        let mut types = Vec::with_capacity(batch * seq);
        for e in &encodings {
            ids.extend(e.get_ids().iter().map(|&x| i64::from(x)));
            mask.extend(e.get_attention_mask().iter().map(|&x| i64::from(x)));
            types.extend(e.get_type_ids().iter().map(|&x| i64::from(x)));
        }
        let shape = [batch, seq];
        let tensor = |data: Vec<i64>| Tensor::from_array((shape, data)).map_err(infer);
        let embeddings: Vec<f32> = {
            let outputs = self
                .encoder
                .run(ort::inputs![
                    "input_ids" => tensor(ids.clone())?,
                    "attention_mask" => tensor(mask.clone())?,
                    "token_type_ids" => tensor(types.clone())?,
                ])
                .map_err(infer)?;
            let (_, data) = outputs["sentence_embedding"]
                .try_extract_tensor::<f32>()
                .map_err(infer)?;
            data.to_vec()
        };
        if embeddings.len() != batch * DIM {
            return Err(NluError::Inference(format!(
                "the encoder returned {} values for {batch} texts",
                embeddings.len()
            )));
        }
        let probabilities: Vec<f32> = if with_sentiment {
            let outputs = match self.sentiment_input {
                SentimentInput::Embedding => self
                    .sentiment
                    .run(ort::inputs![
                        "embedding" => Tensor::from_array(([batch, DIM], embeddings.clone())).map_err(infer)?,
                    ])
                    .map_err(infer)?,
                SentimentInput::Tokens => self
                    .sentiment
                    .run(ort::inputs![
                        "input_ids" => tensor(ids)?,
                        "attention_mask" => tensor(mask)?,
                        "token_type_ids" => tensor(types)?,
                    ])
                    .map_err(infer)?,
            };
            let (_, data) = outputs["probabilities"]
                .try_extract_tensor::<f32>()
                .map_err(infer)?;
            data.to_vec()
        } else {
            vec![0.0; batch * 3]
        };
        Ok(embeddings
            .chunks_exact(DIM)
            .zip(probabilities.chunks_exact(3))
            .map(|(e, p)| Encoded {
                embedding: e.to_vec(),
                sentiment: [p[0], p[1], p[2]],
            })
            .collect())
    }
}

fn infer(e: ort::Error) -> NluError {
    NluError::Inference(e.to_string())
}
