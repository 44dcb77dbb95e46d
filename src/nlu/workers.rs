//! The inference workers: OS threads, each with its own model session
//! (which may use several ONNX Runtime threads).
//!
//! Two queues feed them. A customer's message goes on the bounded *turn*
//! queue; when it is full the message is refused at once with
//! [`NluError::Overloaded`], never queued without bound. Bulk work
//! (embedding FAQ entries or intent examples, evaluations) goes on the
//! *bulk* queue in small chunks, at most one chunk per worker in flight,
//! and its callers wait for room instead of being refused. A worker always
//! takes a waiting turn before a bulk chunk, so an FAQ import never
//! stands between a customer and the bot. An idle worker starts a request
//! the moment it arrives: there is no batching window.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};
use futures_util::future::try_join_all;
use tokio::sync::{oneshot, Semaphore};

use super::{NluError, Parallelism};

/// Texts in one bulk chunk: small, so a turn waits at most a few
/// milliseconds behind one.
const BULK_CHUNK: usize = 8;

/// A model session a worker runs: one text in, one result out.
pub(crate) trait Pass: Send + 'static {
    type Output: Send + 'static;
    fn run(&mut self, text: &str) -> Result<Self::Output, NluError>;
}

struct Job<O> {
    texts: Vec<String>,
    reply: oneshot::Sender<Result<Vec<O>, NluError>>,
}

/// Handle to the workers; cheap to clone. The threads end when the last
/// handle is dropped.
pub(crate) struct Workers<M: Pass> {
    inner: Arc<Inner<M::Output>>,
}

impl<M: Pass> Clone for Workers<M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<O> {
    turns: Sender<Job<O>>,
    bulk: Sender<Job<O>>,
    /// One permit per worker: bulk chunks in flight.
    bulk_slots: Semaphore,
}

impl<M: Pass> Workers<M> {
    /// Start the workers `p` asks for, each building its own session with
    /// `session(p.threads)`; returns once all are ready. `p.queue` turns
    /// may wait; more are refused. `name` names the threads.
    pub(crate) fn start(
        name: &str,
        p: Parallelism,
        session: impl Fn(usize) -> Result<M, NluError> + Sync,
    ) -> Result<Self, NluError> {
        let count = p.workers.max(1);
        let (turns, turn_rx) = crossbeam_channel::bounded::<Job<M::Output>>(p.queue.max(1));
        let (bulk, bulk_rx) = crossbeam_channel::unbounded::<Job<M::Output>>();
        // Sessions are built in parallel, one per thread.
        let models: Vec<M> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..count).map(|_| s.spawn(|| session(p.threads))).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(NluError::Inference(
                            "loading a model session panicked".into(),
                        ))
                    })
                })
                .collect::<Result<_, _>>()
        })?;
        for (i, model) in models.into_iter().enumerate() {
            let (turn_rx, bulk_rx) = (turn_rx.clone(), bulk_rx.clone());
            std::thread::Builder::new()
                .name(format!("frontdesk-{name}-{i}"))
                .spawn(move || work(model, turn_rx, bulk_rx))
                .map_err(|e| {
                    NluError::Inference(format!("cannot start an inference worker: {e}"))
                })?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                turns,
                bulk,
                bulk_slots: Semaphore::new(count),
            }),
        })
    }

    /// Encode one customer's text, or refuse at once when the turn queue
    /// is full.
    pub(crate) async fn turn(&self, text: String) -> Result<M::Output, NluError> {
        let (reply, answer) = oneshot::channel();
        match self.inner.turns.try_send(Job {
            texts: vec![text],
            reply,
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(NluError::Overloaded),
            Err(TrySendError::Disconnected(_)) => return Err(NluError::Stopped),
        }
        answer
            .await
            .map_err(|_| NluError::Stopped)??
            .pop()
            .ok_or_else(|| NluError::Inference("no result".into()))
    }

    /// Encode many texts on all workers, waiting for room rather than
    /// being refused; results in the order of `texts`.
    pub(crate) async fn bulk(&self, texts: Vec<String>) -> Result<Vec<M::Output>, NluError> {
        let chunks = texts.chunks(BULK_CHUNK).map(|chunk| async move {
            let _slot = self
                .inner
                .bulk_slots
                .acquire()
                .await
                .map_err(|_| NluError::Stopped)?;
            let (reply, answer) = oneshot::channel();
            self.inner
                .bulk
                .send(Job {
                    texts: chunk.to_vec(),
                    reply,
                })
                .map_err(|_| NluError::Stopped)?;
            answer.await.map_err(|_| NluError::Stopped)?
        });
        Ok(try_join_all(chunks).await?.into_iter().flatten().collect())
    }
}

/// A worker's loop: turns first, then bulk chunks; ends when the handles
/// are gone.
fn work<M: Pass>(mut model: M, turns: Receiver<Job<M::Output>>, bulk: Receiver<Job<M::Output>>) {
    loop {
        let job = match turns.try_recv() {
            Ok(job) => job,
            Err(TryRecvError::Disconnected) => return,
            Err(TryRecvError::Empty) => crossbeam_channel::select_biased! {
                recv(turns) -> job => match job { Ok(job) => job, Err(_) => return },
                recv(bulk) -> job => match job { Ok(job) => job, Err(_) => return },
            },
        };
        let started = Instant::now();
        let result: Result<Vec<M::Output>, NluError> =
            job.texts.iter().map(|t| model.run(t)).collect();
        tracing::debug!(
            texts = job.texts.len(),
            infer_us = started.elapsed().as_micros() as u64,
            "inference"
        );
        if let Err(e) = &result {
            tracing::error!(error = %e, "inference failed");
        }
        // The requester may have gone (a closed socket); nothing to do then.
        let _ = job.reply.send(result);
    }
}
