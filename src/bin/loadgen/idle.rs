//! `loadgen --idle N`: what idle customer sockets cost the server.
//!
//! Opens N customer websockets and leaves them idle, one step at a time,
//! reading the server's resident memory (`VmRSS` in /proc/PID/status)
//! once it has settled after each step: before the first socket, with
//! every socket connected, with every socket greeted (`hello` sent,
//! `welcome` received), and after every socket has closed. Each socket
//! keeps reading while it waits, so it answers the server's pings as a
//! browser would and is not closed as idle.
//!
//! The server's limits apply: `connections_per_ip`, `max_connections`,
//! `conversation_burst` and `hello_timeout` must allow N sockets from one
//! address (see docs/benchmarks.md for the configuration used).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::process::server_memory;

/// Sockets connecting, or waiting for `welcome`, at once: more would
/// overflow the listen backlog and time out in SYN retries, which
/// measures the kernel rather than the server.
const AT_ONCE: usize = 256;

/// How long one step (connect, or hello → welcome) may take per socket.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Descriptors loadgen needs besides its sockets.
const SPARE_FILES: u64 = 64;

/// What every socket is told to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connect,
    Hello,
    Close,
}

/// What a socket reports back.
#[derive(Debug)]
enum Step {
    Connected,
    Greeted,
    /// The socket failed or was closed by the server; the code says how.
    Failed(String),
}

/// The measurement's settings.
pub(crate) struct Idle {
    pub url: String,
    pub sockets: usize,
    pub server_pid: u32,
    /// How long the server gets to settle before each reading.
    pub settle: Duration,
}

/// Resident memory in KiB, or 0 if /proc cannot be read.
fn rss_kib(pid: u32) -> u64 {
    server_memory(pid).map_or(0, |(_, rss)| rss)
}

/// KiB per socket between two readings (negative if memory went down).
pub(crate) fn per_socket(from_kib: u64, to_kib: u64, sockets: usize) -> f64 {
    (to_kib as f64 - from_kib as f64) / sockets.max(1) as f64
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub(crate) async fn run(idle: Idle) -> std::process::ExitCode {
    let n = idle.sockets;
    if let Err(e) = rlimit::increase_nofile_limit(n as u64 + SPARE_FILES) {
        eprintln!("loadgen: cannot raise the open-file limit: {e}");
    }
    let before = rss_kib(idle.server_pid);
    let (phase, phase_rx) = watch::channel(Phase::Connect);
    let (report, mut reports) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(AT_ONCE));
    let url: Arc<str> = idle.url.into();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(idle_socket(
                url.clone(),
                phase_rx.clone(),
                report.clone(),
                gate.clone(),
            ))
        })
        .collect();
    drop(report);
    let mut tally = Tally::default();
    let connected = tally
        .wait(&mut reports, n, |s| matches!(s, Step::Connected))
        .await;
    tokio::time::sleep(idle.settle).await;
    let after_connect = rss_kib(idle.server_pid);
    let _ = phase.send(Phase::Hello);
    let greeted = tally
        .wait(&mut reports, n, |s| matches!(s, Step::Greeted))
        .await;
    tokio::time::sleep(idle.settle).await;
    let after_hello = rss_kib(idle.server_pid);
    let _ = phase.send(Phase::Close);
    for task in tasks {
        let _ = task.await;
    }
    while let Ok(step) = reports.try_recv() {
        tally.count(&step);
    }
    let failures = tally.failures;
    tokio::time::sleep(idle.settle).await;
    let after_close = rss_kib(idle.server_pid);

    println!("idle sockets={n} url={url} settle={:?}", idle.settle);
    println!("connected: {connected}, greeted: {greeted}");
    if failures.is_empty() {
        println!("errors: none");
    } else {
        for (code, count) in &failures {
            println!("error {code}: {count}");
        }
    }
    println!("server RSS before:        {:8.1} MiB", mib(before));
    println!(
        "server RSS connected:     {:8.1} MiB  {:6.1} KiB per socket over before",
        mib(after_connect),
        per_socket(before, after_connect, connected)
    );
    println!(
        "server RSS after hello:   {:8.1} MiB  {:6.1} KiB per socket over before ({:+.1} KiB by hello)",
        mib(after_hello),
        per_socket(before, after_hello, greeted),
        per_socket(after_connect, after_hello, greeted)
    );
    println!(
        "server RSS after close:   {:8.1} MiB  {:+.1} MiB over before",
        mib(after_close),
        (after_close as f64 - before as f64) / 1024.0
    );
    if failures.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Failures so far, by code.
#[derive(Default)]
struct Tally {
    failed: usize,
    failures: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    /// Count a failure; whether `step` was one.
    fn count(&mut self, step: &Step) -> bool {
        let Step::Failed(code) = step else {
            return false;
        };
        self.failed += 1;
        *self.failures.entry(code.clone()).or_default() += 1;
        true
    }

    /// Wait until every one of `n` sockets has reported `want` or failed;
    /// how many reported `want`.
    async fn wait(
        &mut self,
        reports: &mut mpsc::UnboundedReceiver<Step>,
        n: usize,
        want: fn(&Step) -> bool,
    ) -> usize {
        let mut done = 0;
        while done + self.failed < n {
            match reports.recv().await {
                Some(step) if want(&step) => done += 1,
                Some(step) => {
                    self.count(&step);
                }
                None => break,
            }
        }
        done
    }
}

/// One idle customer: connect, say hello when told, read until told to
/// close.
async fn idle_socket(
    url: Arc<str>,
    mut phase: watch::Receiver<Phase>,
    report: mpsc::UnboundedSender<Step>,
    gate: Arc<Semaphore>,
) {
    let fail = |code: &str| {
        let _ = report.send(Step::Failed(code.to_owned()));
    };
    // Small buffers: the client's memory is not what is measured, but
    // tungstenite's default 128 KiB read buffer times N adds up.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let connect = async {
        let _turn = gate.acquire().await;
        tokio::time::timeout(
            STEP_TIMEOUT,
            tokio_tungstenite::connect_async_with_config(&*url, Some(config), true),
        )
        .await
    };
    let mut ws = match connect.await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(_)) => return fail("client:connect"),
        Err(_) => return fail("client:timeout"),
    };
    let _ = report.send(Step::Connected);
    // While waiting for `welcome`: a place among the sockets doing so, and
    // the time it is due by.
    let mut greeting: Option<(tokio::sync::OwnedSemaphorePermit, tokio::time::Instant)> = None;
    loop {
        let welcome_due = greeting.as_ref().map(|g| g.1);
        tokio::select! {
            _ = sleep_until(welcome_due) => return fail("client:timeout"),
            changed = phase.changed() => {
                let now = *phase.borrow_and_update();
                if changed.is_err() || now == Phase::Close {
                    let _ = ws.close(None).await;
                    // Read up to the server's close frame, so both ends
                    // close cleanly.
                    let until_closed = async { while let Some(Ok(_)) = ws.next().await {} };
                    let _ = tokio::time::timeout(STEP_TIMEOUT, until_closed).await;
                    return;
                }
                if now == Phase::Hello {
                    let Ok(permit) = gate.clone().acquire_owned().await else {
                        return fail("client:closed");
                    };
                    greeting = Some((permit, tokio::time::Instant::now() + STEP_TIMEOUT));
                    let hello = Message::text(json!({"type": "hello"}).to_string());
                    if ws.send(hello).await.is_err() {
                        return fail("client:closed");
                    }
                }
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    match frame["type"].as_str() {
                        Some("welcome") => {
                            greeting = None;
                            let _ = report.send(Step::Greeted);
                        }
                        Some("error") => {
                            let code = frame["code"].as_str().unwrap_or("unknown");
                            return fail(code);
                        }
                        _ => {}
                    }
                }
                // Pings are answered by tungstenite as it reads.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Binary(_))) => {}
                Some(Ok(Message::Close(_))) | None => return fail("client:closed_by_server"),
                Some(Err(_)) => return fail("client:read"),
            },
        }
    }
}

/// Sleep until `at`; forever if there is none.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_socket_cost_is_the_difference_over_the_sockets() {
        assert_eq!(per_socket(1000, 3000, 100), 20.0);
        assert_eq!(per_socket(3000, 1000, 100), -20.0);
        assert_eq!(per_socket(1000, 1000, 0), 0.0);
    }

    #[tokio::test]
    async fn a_step_is_done_when_every_socket_reported_it_or_failed() {
        let (report, mut reports) = mpsc::unbounded_channel();
        for step in [
            Step::Connected,
            Step::Failed("client:connect".into()),
            Step::Connected,
        ] {
            report.send(step).unwrap();
        }
        let mut tally = Tally::default();
        let connected = tally
            .wait(&mut reports, 3, |s| matches!(s, Step::Connected))
            .await;
        assert_eq!(connected, 2);
        assert_eq!(tally.failures["client:connect"], 1);
        // The failed socket does not hold up the next step either.
        report.send(Step::Greeted).unwrap();
        report.send(Step::Greeted).unwrap();
        let greeted = tally
            .wait(&mut reports, 3, |s| matches!(s, Step::Greeted))
            .await;
        assert_eq!(greeted, 2);
    }
}
