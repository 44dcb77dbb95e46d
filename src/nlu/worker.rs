//! The inference thread: owns the models and batches concurrent requests.
//!
//! Requests arrive on a bounded channel; a full channel is overload and
//! answered at once with [`NluError::Overloaded`], never queued without
//! bound. The thread takes the first waiting request, then everything that
//! arrives within `max_wait` up to `max_batch` texts, runs them as one
//! batch (padded to the longest text in it) and answers each request on
//! its own one-shot channel.

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::models::{Encoded, Models};
use super::NluError;

/// Batching settings.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Most texts in one model run.
    pub max_batch: usize,
    /// Longest the thread waits for more requests before running a batch.
    pub max_wait: Duration,
    /// Requests that may wait; more are refused as overload.
    pub queue: usize,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            max_batch: 32,
            max_wait: Duration::from_millis(2),
            queue: 256,
        }
    }
}

struct Job {
    texts: Vec<String>,
    sentiment: bool,
    reply: oneshot::Sender<Result<Vec<Encoded>, NluError>>,
}

/// Handle to the inference thread; cheap to clone. The thread ends when
/// the last handle is dropped.
#[derive(Clone)]
pub(crate) struct Worker {
    jobs: SyncSender<Job>,
}

impl Worker {
    pub(crate) fn start(mut models: Models, batching: Batching) -> Result<Self, NluError> {
        let (jobs, rx) = mpsc::sync_channel::<Job>(batching.queue);
        std::thread::Builder::new()
            .name("frontdesk-nlu".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    let mut texts = batch[0].texts.len();
                    let deadline = Instant::now() + batching.max_wait;
                    while texts < batching.max_batch {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match rx.recv_timeout(left) {
                            Ok(job) => {
                                texts += job.texts.len();
                                batch.push(job);
                            }
                            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                                break
                            }
                        }
                    }
                    run_batch(&mut models, batch, batching.max_batch);
                }
            })
            .map_err(|e| NluError::Inference(format!("cannot start the inference thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Encode `texts`; `sentiment` also runs the sentiment model.
    pub(crate) async fn encode(
        &self,
        texts: Vec<String>,
        sentiment: bool,
    ) -> Result<Vec<Encoded>, NluError> {
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job {
            texts,
            sentiment,
            reply,
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(NluError::Overloaded),
            Err(TrySendError::Disconnected(_)) => return Err(NluError::Stopped),
        }
        answer.await.map_err(|_| NluError::Stopped)?
    }
}

fn run_batch(models: &mut Models, batch: Vec<Job>, max_batch: usize) {
    let sentiment = batch.iter().any(|j| j.sentiment);
    let texts: Vec<&str> = batch
        .iter()
        .flat_map(|j| j.texts.iter().map(String::as_str))
        .collect();
    let started = Instant::now();
    let mut results: Result<Vec<Encoded>, NluError> = Ok(Vec::with_capacity(texts.len()));
    for chunk in texts.chunks(max_batch.max(1)) {
        match (&mut results, models.encode(chunk, sentiment)) {
            (Ok(all), Ok(encoded)) => all.extend(encoded),
            (Ok(_), Err(e)) => results = Err(e),
            (Err(_), _) => break,
        }
    }
    tracing::debug!(
        texts = texts.len(),
        requests = batch.len(),
        infer_ms = started.elapsed().as_millis() as u64,
        "inference batch"
    );
    match results {
        Ok(mut all) => {
            for job in batch.into_iter().rev() {
                let mine = all.split_off(all.len() - job.texts.len());
                let _ = job.reply.send(Ok(mine));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "inference failed");
            for job in batch {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}
