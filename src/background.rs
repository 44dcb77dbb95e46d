//! Work started in the background by the first caller that needs its
//! result, one run at a time, and started again by a later caller if a
//! run ended without it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether a run is under way. A run that ends in any way (done, failed,
/// or cancelled with the runtime it was spawned on) clears it, so the
/// next caller that still lacks the result starts another.
#[derive(Debug, Default, Clone)]
pub(crate) struct OneRun(Arc<AtomicBool>);

impl OneRun {
    /// Spawn `run` unless a run is under way.
    pub(crate) fn start(&self, run: impl Future<Output = ()> + Send + 'static) {
        if self.0.swap(true, Ordering::AcqRel) {
            return;
        }
        let ended = Ended(self.0.clone());
        tokio::spawn(async move {
            let _ended = ended;
            run.await;
        });
    }
}

/// Clears the flag when dropped.
struct Ended(Arc<AtomicBool>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_run_at_a_time_and_another_once_it_ended() {
        let once = OneRun::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = |runs: &Arc<std::sync::atomic::AtomicUsize>| {
            runs.fetch_add(1, Ordering::SeqCst);
        };
        let r = runs.clone();
        once.start(async move {
            counted(&r);
            let _ = rx.await;
        });
        // Under way: not started again.
        let r = runs.clone();
        once.start(async move { counted(&r) });
        tokio::task::yield_now().await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        tx.send(()).unwrap();
        while once.0.load(Ordering::Acquire) {
            tokio::task::yield_now().await;
        }
        let r = runs.clone();
        once.start(async move { counted(&r) });
        while once.0.load(Ordering::Acquire) {
            tokio::task::yield_now().await;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
