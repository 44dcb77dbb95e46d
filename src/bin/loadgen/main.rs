//! `loadgen`: drive a running frontdesk server with concurrent customer
//! chats and report throughput and latency.
//!
//! Each of `--connections` tasks opens a customer websocket, sends `hello`,
//! then `--messages` `message` frames one after another. A turn is timed
//! from sending the message to its `ack` and to the bot's reply (`message`
//! with `from: "bot"`); the echo, `typing` and `status` frames are skipped.
//! The run stops after the last turn or at `--duration-secs`, whichever
//! comes first. Only loopback servers are accepted: this is a benchmark
//! tool, not a way to load someone else's server.
//!
//! With `--faq-entries N --faq-file F` it only writes N synthetic FAQ
//! entries to F for `frontdesk faq import` (see docs/benchmarks.md).
//!
//! With `--server-pid` it also reports the server's peak RSS and its CPU
//! use during the run by thread name (from /proc), and always its own CPU
//! use, since loadgen shares the machine with the server.
//!
//! With `--idle N` it measures idle sockets instead: what N customers
//! who opened the widget and said `hello`, but nothing else, cost the
//! server's memory, and what it keeps after they leave ([`idle`]).
//!
//! The server's per-connection rate limit (2 messages/s by default) and
//! per-IP connection limit (16) apply; raise them in the server's config
//! to measure capacity rather than the limits (see docs/benchmarks.md).

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Parser;
use process::{cpu_line, cpu_ticks, server_memory};

mod idle;
mod process;
mod questions;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::Message;

use questions::QUESTIONS;

/// How long one turn (message → bot reply) may take before it counts as
/// a timeout.
const TURN_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a `rate_limited` error before the next message.
const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Parser, Debug)]
#[command(
    name = "loadgen",
    about = "Concurrent customer chats against a local frontdesk server"
)]
struct Args {
    /// Customer websocket URL; the host must be 127.0.0.1, localhost or `[::1]`.
    #[arg(long, default_value = "ws://127.0.0.1:8080/v1/chat")]
    url: String,
    /// Concurrent customer connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Messages each connection sends, one turn after another.
    #[arg(long, default_value_t = 20)]
    messages: usize,
    /// Upper bound on the run; unfinished turns are abandoned.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// PID of the server, to report its peak RSS (VmHWM in /proc/PID/status).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Instead of chats: open this many idle customer sockets and report
    /// the server's memory per socket before and after `hello`, and after
    /// they close (needs `--server-pid`).
    #[arg(long, value_name = "N")]
    idle: Option<usize>,
    /// With `--idle`: how long the server gets to settle before each
    /// memory reading.
    #[arg(long, default_value_t = 5)]
    settle_secs: u64,
    /// Write this many synthetic FAQ entries (`frontdesk::faq::synthetic`:
    /// question templates × products × product lines, each with a
    /// question, three phrasings and an answer) to `--faq-file` as JSON
    /// and exit, instead of running the load. Import them with
    /// `frontdesk faq import FILE` while the server is stopped.
    #[arg(long, requires = "faq_file")]
    faq_entries: Option<usize>,
    /// Where `--faq-entries` writes the entries (a `.json` file).
    #[arg(long)]
    faq_file: Option<std::path::PathBuf>,
}

/// Write `n` synthetic FAQ entries to `path` as a JSON list of drafts.
fn write_faq(n: usize, path: &std::path::Path) -> Result<(), String> {
    let capacity = frontdesk::faq::synthetic::capacity();
    if n > capacity {
        return Err(format!(
            "--faq-entries: at most {capacity} distinct entries"
        ));
    }
    let drafts: Vec<_> = (0..n).map(frontdesk::faq::synthetic::entry).collect();
    let text = serde_json::to_string(&drafts).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// What one connection measured.
#[derive(Default)]
struct Stats {
    turns: usize,
    /// Conversations the bot handed to the agent queue.
    escalations: usize,
    ack: Vec<Duration>,
    reply: Vec<Duration>,
    /// Error frames by `code`, plus client-side failures as `client:*`.
    errors: BTreeMap<String, u64>,
}

impl Stats {
    fn error(&mut self, code: &str) {
        *self.errors.entry(code.to_owned()).or_default() += 1;
    }

    fn merge(&mut self, other: Stats) {
        self.turns += other.turns;
        self.escalations += other.escalations;
        self.ack.extend(other.ack);
        self.reply.extend(other.reply);
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
    }
}

/// Refuse anything but a ws:// URL on the loopback interface.
fn check_loopback(url: &str) -> Result<(), String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    if uri.scheme_str() != Some("ws") {
        return Err(format!("{url}: only ws:// URLs are supported"));
    }
    match uri.host() {
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1") => Ok(()),
        other => Err(format!(
            "{url}: host {:?} is not loopback; loadgen only targets 127.0.0.1, localhost or [::1]",
            other.unwrap_or("")
        )),
    }
}

/// Tiny xorshift generator: reproducible question order per connection
/// without another dependency.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Read the next text frame as JSON before `deadline`. `Err` names a
/// client-side failure (timeout, closed socket, unparseable frame).
async fn next_frame<S>(ws: &mut S, deadline: Instant) -> Result<Value, &'static str>
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match timeout_at(deadline, ws.next()).await {
            Err(_) => return Err("client:timeout"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Err("client:closed"),
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str(text.as_str()).map_err(|_| "client:bad_json")
            }
            // Pings are answered by tungstenite itself; nothing else is expected.
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// One customer: hello, then `messages` turns, stopping at `end`. When
/// the bot hands the conversation to a person (a `queued` status), the
/// customer starts a new conversation, as the bot would no longer answer.
async fn customer(id: usize, url: String, messages: usize, end: Instant) -> Stats {
    let mut stats = Stats::default();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (id as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut n = 0;
    while n < messages && Instant::now() < end {
        let Some(mut ws) = open_conversation(&url, end, &mut stats).await else {
            return stats;
        };
        match turns(&mut ws, id, &mut n, messages, end, &mut rng, &mut stats).await {
            Conversation::HandedOver => stats.escalations += 1,
            Conversation::Done => {
                let _ = ws.close(None).await;
                return stats;
            }
        }
        let _ = ws.close(None).await;
    }
    stats
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum Conversation {
    /// Out of messages, out of time, or the socket failed.
    Done,
    /// Escalated to the agent queue; the bot no longer answers.
    HandedOver,
}

/// Connect and say hello; `None` if that failed (recorded in `stats`).
async fn open_conversation(url: &str, end: Instant, stats: &mut Stats) -> Option<Socket> {
    let mut ws = match timeout_at(end, tokio_tungstenite::connect_async(url)).await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(_)) => {
            stats.error("client:connect");
            return None;
        }
        Err(_) => {
            stats.error("client:timeout");
            return None;
        }
    };
    if ws
        .send(Message::text(json!({"type": "hello"}).to_string()))
        .await
        .is_err()
    {
        stats.error("client:closed");
        return None;
    }
    // Wait for `welcome`; the server may first refuse us (connection limit).
    loop {
        match next_frame(&mut ws, end).await {
            Ok(f) if f["type"] == "welcome" => return Some(ws),
            Ok(f) if f["type"] == "error" => stats.error(f["code"].as_str().unwrap_or("unknown")),
            Ok(_) => {}
            Err(e) => {
                stats.error(e);
                return None;
            }
        }
    }
}

/// The questions in a random order: a customer asks each at most once
/// per conversation, as people do who got an answer (asked again, the
/// same question goes to a person).
fn shuffled(rng: &mut u64) -> Vec<&'static str> {
    let mut order = QUESTIONS.to_vec();
    for i in (1..order.len()).rev() {
        let j = (next_random(rng) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Ask questions in one conversation until done or handed over.
async fn turns(
    ws: &mut Socket,
    id: usize,
    n: &mut usize,
    messages: usize,
    end: Instant,
    rng: &mut u64,
    stats: &mut Stats,
) -> Conversation {
    let mut questions = Vec::new();
    while *n < messages && Instant::now() < end {
        let client_id = format!("lg-{id}-{n}");
        *n += 1;
        if questions.is_empty() {
            questions = shuffled(rng);
        }
        let Some(text) = questions.pop() else {
            return Conversation::Done;
        };
        let frame = json!({"type": "message", "client_id": client_id, "text": text});
        let sent = Instant::now();
        if ws.send(Message::text(frame.to_string())).await.is_err() {
            stats.error("client:closed");
            return Conversation::Done;
        }
        let deadline = (sent + TURN_TIMEOUT).min(end);
        // Read until the bot's reply, or an error that ends this turn.
        loop {
            let f = match next_frame(ws, deadline).await {
                Ok(f) => f,
                // Past the run's end the turn is abandoned, not failed.
                Err("client:timeout") if deadline == end => return Conversation::Done,
                Err(e) => {
                    stats.error(e);
                    return Conversation::Done;
                }
            };
            match f["type"].as_str() {
                Some("ack") if f["client_id"] == client_id.as_str() => {
                    stats.ack.push(sent.elapsed())
                }
                Some("message") if f["from"] == "bot" => {
                    stats.reply.push(sent.elapsed());
                    stats.turns += 1;
                    break;
                }
                Some("status") if f["status"] == "queued" => return Conversation::HandedOver,
                Some("error") => {
                    let code = f["code"].as_str().unwrap_or("unknown");
                    stats.error(code);
                    // An error for our message, or the bot giving up
                    // (`unavailable` has no client_id), ends the turn.
                    if f["client_id"] == client_id.as_str() || f.get("client_id").is_none() {
                        if code == "rate_limited" {
                            tokio::time::sleep(RATE_LIMIT_BACKOFF).await;
                        }
                        break;
                    }
                }
                // Echo, typing: not part of the measurement.
                _ => {}
            }
        }
    }
    Conversation::Done
}

/// Nearest-rank percentile of sorted `v`.
fn percentile(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn latency_line(name: &str, v: &mut [Duration]) {
    v.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<16} n={:<6} p50={:>8.2} ms  p90={:>8.2} ms  p99={:>8.2} ms  max={:>8.2} ms",
        v.len(),
        ms(percentile(v, 50.0)),
        ms(percentile(v, 90.0)),
        ms(percentile(v, 99.0)),
        ms(v.last().copied().unwrap_or_default()),
    );
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let (Some(n), Some(path)) = (args.faq_entries, &args.faq_file) {
        return match write_faq(n, path) {
            Ok(()) => {
                println!("wrote {n} FAQ entries to {}", path.display());
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Err(e) = check_loopback(&args.url) {
        eprintln!("loadgen: {e}");
        return std::process::ExitCode::FAILURE;
    }
    if let Some(sockets) = args.idle {
        let Some(server_pid) = args.server_pid else {
            eprintln!("loadgen: --idle needs --server-pid");
            return std::process::ExitCode::FAILURE;
        };
        return idle::run(idle::Idle {
            url: args.url,
            sockets,
            server_pid,
            settle: Duration::from_secs(args.settle_secs),
        })
        .await;
    }
    if args.connections == 0 {
        eprintln!("loadgen: --connections must be at least 1");
        return std::process::ExitCode::FAILURE;
    }
    let before = args.server_pid.and_then(server_memory);
    let server_pid = args.server_pid.map(|p| p.to_string());
    let cpu_before = (server_pid.as_deref().map(cpu_ticks), cpu_ticks("self"));
    let started = Instant::now();
    let end = started + Duration::from_secs(args.duration_secs);
    let tasks: Vec<_> = (0..args.connections)
        .map(|id| tokio::spawn(customer(id, args.url.clone(), args.messages, end)))
        .collect();
    let mut total = Stats::default();
    for task in tasks {
        match task.await {
            Ok(stats) => total.merge(stats),
            Err(_) => total.error("client:task_failed"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = (server_pid.as_deref().map(cpu_ticks), cpu_ticks("self"));

    println!(
        "connections={} messages/conn={} url={}",
        args.connections, args.messages, args.url
    );
    println!(
        "turns: {} in {elapsed:.2} s = {:.1} turns/s",
        total.turns,
        total.turns as f64 / elapsed
    );
    println!(
        "conversations handed to the agent queue: {}",
        total.escalations
    );
    latency_line("message→ack", &mut total.ack);
    latency_line("message→reply", &mut total.reply);
    if total.errors.is_empty() {
        println!("errors: none");
    } else {
        for (code, n) in &total.errors {
            println!("error {code}: {n}");
        }
    }
    if let Some(pid) = args.server_pid {
        match (before, server_memory(pid)) {
            (Some((hwm0, _)), Some((hwm, rss))) => println!(
                "server pid {pid}: peak RSS (VmHWM) {:.1} MiB (was {:.1} MiB before the run), current RSS {:.1} MiB",
                hwm as f64 / 1024.0,
                hwm0 as f64 / 1024.0,
                rss as f64 / 1024.0
            ),
            _ => println!("server pid {pid}: /proc/{pid}/status not readable"),
        }
        if let (Some(b), Some(a)) = (&cpu_before.0, &cpu_after.0) {
            println!("server CPU: {}", cpu_line(b, a, elapsed));
        }
    }
    println!(
        "loadgen CPU: {}",
        cpu_line(&cpu_before.1, &cpu_after.1, elapsed)
    );
    std::process::ExitCode::SUCCESS
}
