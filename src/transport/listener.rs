//! The accept loop: every TCP connection from `accept` to its last byte.
//!
//! Each accepted socket gets `TCP_NODELAY` and a place under the
//! connection cap, which it holds until the socket is closed, also after
//! an upgrade has handed it to a websocket. HTTP/1 is served with a
//! header read timeout, so a connection that sends nothing, or dribbles a
//! request head, is closed instead of holding a descriptor forever. A
//! connection over the cap gets a short 503 and is closed without reaching
//! the router. An `accept` that fails (out of descriptors: `EMFILE`) is
//! retried after a short pause, and reported at most once a second.
//!
//! At shutdown the loop stops accepting, lets each connection finish the
//! request it is serving, and returns once every socket is closed; the
//! websockets close themselves on the same token.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::error::{ApiError, ErrorCode};

/// How long to wait before accepting again after `accept` failed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Repeated failures and refusals are logged at most this often.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Connections over the cap being answered at once; past this they are
/// closed without an answer, so that refusing cannot itself run the
/// process out of descriptors.
const REFUSING_AT_ONCE: usize = 64;

/// How long a refused connection gets to send its request and read the
/// 503.
const REFUSAL_WAIT: Duration = Duration::from_secs(2);

/// How connections are served.
pub(crate) struct Settings {
    /// `limits.header_read_timeout`.
    pub header_read_timeout: Duration,
    /// The connection cap in force (`limits.max_connections`, perhaps
    /// lowered to fit the open-file limit).
    pub max_connections: usize,
}

/// Accept connections on `listener` and serve `router` on them until
/// `shutdown` is cancelled; return once every connection is closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    settings: Settings,
    shutdown: CancellationToken,
) {
    let open = Arc::new(Semaphore::new(settings.max_connections));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    // HTTP/1 only, as axum builds hyper. hyper-util's `auto` builder would
    // first read the start of the request looking for the HTTP/2 preface,
    // with no timeout: a connection that sends nothing would never reach
    // the header read timeout.
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let http = Arc::new(http);
    let mut reports = Reports::new(settings.max_connections);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = sleep_until(reports.due()) => {
                reports.flush(Instant::now());
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            // The peer gave up before we accepted: nothing to do.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                reports.accept_failed(e, Instant::now());
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        // Replies are small frames written right after reading one: without
        // TCP_NODELAY, Nagle's algorithm holds each back until the client's
        // delayed ACK (about 40 ms a turn; docs/benchmarks.md).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        match open.clone().try_acquire_owned() {
            Ok(place) => {
                let io = Counted { _place: place, tcp };
                let connection =
                    connection(http.clone(), io, router.clone(), peer, shutdown.clone());
                tokio::spawn(connection);
            }
            Err(_) => {
                reports.refused(Instant::now());
                // Over both limits the socket is dropped here, unanswered.
                if let Ok(slot) = refusing.clone().try_acquire_owned() {
                    tokio::spawn(refuse(tcp, slot));
                }
            }
        }
    }
    drop(listener);
    // Every connection holds a place until its socket is closed: with all
    // of them back, every socket is closed.
    let all = u32::try_from(settings.max_connections).unwrap_or(u32::MAX);
    let _ = open.acquire_many(all).await;
}

/// Serve HTTP on one connection, upgrades included, until the peer or
/// the header read timeout ends it; at shutdown, finish the request in
/// hand and close.
async fn connection(
    http: Arc<http1::Builder>,
    io: Counted,
    router: Router,
    peer: SocketAddr,
    shutdown: CancellationToken,
) {
    // What `into_make_service_with_connect_info` would do: handlers read
    // the peer address through `ConnectInfo`.
    let service = router.map_request(move |request: Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let mut conn = pin!(http
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
        .with_upgrades());
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        if e.is_timeout() {
            tracing::debug!("connection closed: no complete request head in time");
        } else {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }
}

/// Answer a connection over the cap with a 503 and close it. The request
/// is read first: closing a socket with unread bytes resets it, and the
/// client might never see the answer.
async fn refuse(tcp: TcpStream, _slot: OwnedSemaphorePermit) {
    let mut http = http1::Builder::new();
    http.keep_alive(false)
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_WAIT);
    let service = hyper::service::service_fn(|_: Request<Incoming>| async {
        Ok::<_, Infallible>(over_capacity())
    });
    let conn = http.serve_connection(TokioIo::new(tcp), service);
    let _ = tokio::time::timeout(REFUSAL_WAIT, conn).await;
}

fn over_capacity() -> Response<Body> {
    let mut response = ApiError::new(
        ErrorCode::Unavailable,
        "the server has too many open connections; try again shortly",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The accept loop's warnings: refusals over the cap and failed
/// `accept`s, each logged at most once per [`REPORT_EVERY`] with a count,
/// so that a flood cannot flood the log too.
struct Reports {
    max_connections: usize,
    refusals: Tally,
    accept_failures: Tally,
    last_accept_error: Option<io::Error>,
}

impl Reports {
    fn new(max_connections: usize) -> Self {
        Self {
            max_connections,
            refusals: Tally::default(),
            accept_failures: Tally::default(),
            last_accept_error: None,
        }
    }

    fn refused(&mut self, now: Instant) {
        if let Some(refused) = self.refusals.count(now) {
            self.report_refusals(refused);
        }
    }

    fn accept_failed(&mut self, error: io::Error, now: Instant) {
        let error = self.last_accept_error.insert(error);
        if let Some(failures) = self.accept_failures.count(now) {
            report_accept_failures(failures, error);
        }
    }

    /// When counts not yet reported are due.
    fn due(&self) -> Option<Instant> {
        self.refusals
            .due()
            .into_iter()
            .chain(self.accept_failures.due())
            .min()
    }

    /// Report the counts that are due.
    fn flush(&mut self, now: Instant) {
        if let Some(refused) = self.refusals.flush(now) {
            self.report_refusals(refused);
        }
        if let (Some(failures), Some(error)) =
            (self.accept_failures.flush(now), &self.last_accept_error)
        {
            report_accept_failures(failures, error);
        }
    }

    fn report_refusals(&self, refused: u64) {
        tracing::warn!(
            reason = "max_connections",
            refused,
            max_connections = self.max_connections,
            "connections refused"
        );
    }
}

fn report_accept_failures(failures: u64, error: &io::Error) {
    tracing::error!(
        %error,
        failures,
        "cannot accept connections; retrying every 50 ms. If the server is out of file \
         descriptors, raise the open-file limit or lower limits.max_connections"
    );
}

/// Sleep until `at`; never if there is no `at`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Errors of one connection that `accept` reports; the next one is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Counts a repeated event and says when to report it: at most once per
/// [`REPORT_EVERY`], with the count since the last report.
#[derive(Debug, Default)]
struct Tally {
    since_report: u64,
    last_report: Option<Instant>,
}

impl Tally {
    /// Count one event at `now`; `Some(count)` when it is time to report.
    fn count(&mut self, now: Instant) -> Option<u64> {
        self.since_report += 1;
        self.flush(now)
    }

    /// When the events counted since the last report are due to be
    /// reported, if there are any.
    fn due(&self) -> Option<Instant> {
        let last = self.last_report.filter(|_| self.since_report > 0)?;
        Some(last + REPORT_EVERY)
    }

    /// The count since the last report, if there is one and it is time.
    fn flush(&mut self, now: Instant) -> Option<u64> {
        let waiting = self
            .last_report
            .is_some_and(|last| now.saturating_duration_since(last) < REPORT_EVERY);
        if self.since_report == 0 || waiting {
            return None;
        }
        self.last_report = Some(now);
        Some(std::mem::take(&mut self.since_report))
    }
}

/// An accepted socket with its place under the cap. A websocket keeps the
/// socket after its upgrade request is done, so the place goes with the
/// socket, not with the HTTP connection.
struct Counted {
    /// Declared first, so dropped first: the place is free before the
    /// peer sees the socket close, and a peer that reconnects then is
    /// not refused.
    _place: OwnedSemaphorePermit,
    tcp: TcpStream,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_reports_at_most_once_a_second_with_the_count() {
        let t0 = Instant::now();
        let mut tally = Tally::default();
        assert_eq!(tally.count(t0), Some(1));
        assert_eq!(tally.count(t0 + Duration::from_millis(10)), None);
        assert_eq!(tally.count(t0 + Duration::from_millis(500)), None);
        assert_eq!(tally.count(t0 + Duration::from_millis(1000)), Some(3));
        assert_eq!(tally.count(t0 + Duration::from_millis(1500)), None);
        assert_eq!(tally.count(t0 + Duration::from_secs(5)), Some(2));
        let t5 = t0 + Duration::from_secs(5);
        assert_eq!(tally.due(), None, "nothing to report");
        assert_eq!(tally.count(t5 + Duration::from_millis(10)), None);
        assert_eq!(tally.due(), Some(t5 + REPORT_EVERY));
        assert_eq!(tally.flush(t5 + Duration::from_millis(500)), None);
        assert_eq!(tally.flush(t5 + REPORT_EVERY), Some(1));
        assert_eq!(tally.due(), None);
    }
}
