//! The understanding model and its tokenizer.
//!
//! `understanding.onnx` is one MiniLM trunk with two outputs, computed in
//! one pass: `sentence_embedding` (384-d, mean-pooled and L2-normalised,
//! for FAQ retrieval and intents) and `probabilities` (sentiment:
//! negative, neutral, positive), each from a short branch of its own on
//! the shared layers. See `models/README.md`.
//!
//! [`ModelFiles`] reads the files once; every inference worker builds its
//! own [`Model`] session from them, sharing the prepacked weights. ONNX
//! Runtime's threads do not spin while waiting, so an idle server uses no
//! CPU.
//! A text always runs alone, never padded into a batch with other texts,
//! so its scores do not depend on what else is being analysed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ort::session::builder::{GraphOptimizationLevel, PrepackedWeights};
use ort::session::Session;
use ort::value::Tensor;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use super::{runtime, NluError};

/// Width of the sentence embedding.
pub(crate) const DIM: usize = 384;
/// Longest input in tokens; longer texts are truncated.
pub(crate) const MAX_TOKENS: usize = 128;
/// The model file in a models directory.
pub const MODEL_FILE: &str = "understanding.onnx";
/// The tokenizer file in a models directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// What the model makes of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub embedding: Vec<f32>,
    /// Probabilities of negative, neutral, positive.
    pub sentiment: [f32; 3],
}

/// The model and tokenizer files of one directory, read and checked once.
pub struct ModelFiles {
    dir: PathBuf,
    /// Shared by every session's worker: it is only read.
    tokenizer: Arc<Tokenizer>,
    model: Vec<u8>,
    fingerprint: String,
    prepacked: PrepackedWeights,
}

impl std::fmt::Debug for ModelFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFiles")
            .field("dir", &self.dir)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

pub(super) fn model_error(file: &Path, e: impl std::fmt::Display) -> NluError {
    NluError::Model(format!("{}: {e}", file.display()))
}

pub(super) fn read(file: &Path) -> Result<Vec<u8>, NluError> {
    std::fs::read(file).map_err(|e| {
        NluError::Model(format!(
            "cannot read {}: {e}; the models ship in the repository's models/ directory (see models/README.md)",
            file.display()
        ))
    })
}

impl ModelFiles {
    /// Read `tokenizer.json` and `understanding.onnx` from `dir`.
    pub fn read(dir: &Path) -> Result<Self, NluError> {
        // Loads the runtime library first: the prepacked-weights container
        // below is created by it.
        runtime::environment()?;
        let tokenizer_file = dir.join(TOKENIZER_FILE);
        let tokenizer_bytes = read(&tokenizer_file)?;
        let mut tokenizer =
            Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| model_error(&tokenizer_file, e))?;
        // One text per run: no padding at all.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| model_error(&tokenizer_file, e))?;
        let model = read(&dir.join(MODEL_FILE))?;
        let fingerprint = fingerprint(&tokenizer_bytes, &model);
        Ok(Self {
            dir: dir.to_owned(),
            tokenizer: Arc::new(tokenizer),
            model,
            fingerprint,
            prepacked: PrepackedWeights::new(),
        })
    }

    /// Where the files were read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Hex SHA-256 over the tokenizer and the model: what anything derived
    /// from the model's output (caches) is keyed by.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A session over the model with `threads` ONNX Runtime threads, for
    /// one worker.
    pub fn model(&self, threads: usize) -> Result<Model, NluError> {
        let session = session(
            &self.dir.join(MODEL_FILE),
            &self.model,
            threads,
            Some(&self.prepacked),
            &["sentence_embedding", "probabilities"],
        )?;
        Ok(Model {
            tokenizer: self.tokenizer.clone(),
            session,
        })
    }
}

/// Graph rewrites ONNX Runtime must not make. Its fusion of a residual
/// addition with the layer normalisation after it (`SkipLayerNormalization`)
/// is slower than the two operators it replaces for one short text on one
/// thread: without it the understanding model takes 10–20 % less time a
/// message (docs/benchmarks.md, section 0f). Most texts get the same
/// scores to the last bit either way; a few longer ones move by up to 0.02
/// in an embedding value and 0.03 in a probability.
const DISABLED_OPTIMIZERS: &str = "SkipLayerNormFusion";

/// Hex SHA-256 over the SHA-256 of a tokenizer file and of a model file,
/// and the graph rewrites the sessions leave out (they change the output
/// in its last digits): what anything derived from the model's output is
/// keyed by.
pub(super) fn fingerprint(tokenizer: &[u8], model: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(Sha256::digest(tokenizer));
    h.update(Sha256::digest(model));
    h.update(DISABLED_OPTIMIZERS.as_bytes());
    hex::encode(h.finalize())
}

/// A session over `model` (read from `file`) with `threads` ONNX Runtime
/// threads that do not spin while waiting, all graph rewrites but
/// [`DISABLED_OPTIMIZERS`], checked to have `outputs`.
pub(super) fn session(
    file: &Path,
    model: &[u8],
    threads: usize,
    prepacked: Option<&PrepackedWeights>,
    outputs: &[&str],
) -> Result<Session, NluError> {
    let env = runtime::environment()?;
    let build = || -> ort::Result<Session> {
        let mut builder = Session::builder(env)?
            .with_optimization_level(GraphOptimizationLevel::Level3)?
            .with_intra_threads(threads.max(1))?
            .with_inter_threads(1)?
            .with_intra_op_spinning(false)?
            .with_inter_op_spinning(false)?
            .with_disabled_optimizers(DISABLED_OPTIMIZERS)?;
        if let Some(weights) = prepacked {
            builder = builder.with_prepacked_weights(weights)?;
        }
        builder.commit_from_memory(model)
    };
    let session = build().map_err(|e| model_error(file, e))?;
    for output in outputs {
        if !session.outputs().iter().any(|o| o.name() == *output) {
            return Err(model_error(
                file,
                format!(
                    "the model has no `{output}` output; see models/README.md for the interface"
                ),
            ));
        }
    }
    Ok(session)
}

/// One session over the model; used by one worker at a time.
pub struct Model {
    tokenizer: Arc<Tokenizer>,
    session: Session,
}

impl super::workers::Pass for Model {
    type Output = Encoded;

    fn run(&mut self, text: &str) -> Result<Encoded, NluError> {
        self.encode(text)
    }
}

impl Model {
    /// Embedding and sentiment of one text.
    pub fn encode(&mut self, text: &str) -> Result<Encoded, NluError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| NluError::Inference(format!("tokenizer: {e}")))?;
        let ids = encoding.get_ids();
        let shape = [1, ids.len()];
        let tensor = |values: &[u32]| {
            Tensor::from_array((
                shape,
                values.iter().map(|&x| i64::from(x)).collect::<Vec<_>>(),
            ))
            .map_err(infer)
        };
        let outputs = self
            .session
            .run(ort::inputs![
                "input_ids" => tensor(ids)?,
                "attention_mask" => tensor(encoding.get_attention_mask())?,
                "token_type_ids" => tensor(encoding.get_type_ids())?,
            ])
            .map_err(infer)?;
        let (_, embedding) = outputs["sentence_embedding"]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        let (_, probabilities) = outputs["probabilities"]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        match (embedding.len(), probabilities) {
            (DIM, &[negative, neutral, positive]) => Ok(Encoded {
                embedding: embedding.to_vec(),
                sentiment: [negative, neutral, positive],
            }),
            (e, p) => Err(NluError::Inference(format!(
                "the model returned {e} embedding values and {} probabilities for one text",
                p.len()
            ))),
        }
    }
}

pub(super) fn infer(e: ort::Error) -> NluError {
    NluError::Inference(e.to_string())
}
