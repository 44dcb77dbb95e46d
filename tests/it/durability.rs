//! The real binary under `strace`: between reading a customer's message
//! and writing its ack, the server must `fsync` (or `fdatasync`) the
//! store's log. sled's own flush only calls `sync_file_range`, which does
//! not survive a power cut, so an ack without an `fsync` before it is a
//! promise the disk may not keep.
//!
//! The order comes from the trace itself: strace stops each thread at every
//! traced call and prints the calls in the order it handled them, and the
//! ack can only be written after the committer thread returned from its
//! `fsync` (see docs/durability.md).
//!
//! The power-cut test, on a LazyFS mount, runs only by hand.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::helpers::*;

const TRACED: &str = "trace=read,readv,recvfrom,recvmsg,write,writev,sendto,sendmsg,\
                      fsync,fdatasync,sync_file_range";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_is_written_only_after_the_store_is_fsynced() {
    if Command::new("strace").arg("-V").output().is_err() {
        panic!(
            "strace is not installed: run `apt-get install -y strace` \
             (this test traces the server's system calls; .ci/run installs it)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("strace.txt");
    let data = dir.path().join("data");
    // -xx prints every byte of buffers and paths as \xNN, -yy names each
    // fd's file or socket, --seccomp-bpf stops only at the traced calls.
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-yy", "-xx", "-s", "65536", "--seccomp-bpf"])
        .args(["-e", TRACED, "-e", "signal=none", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("FRONTDESK_OPERATOR_TOKEN", OPERATOR)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("strace starts");
    let addr = listening_address(strace.stdout.take().expect("stdout"));

    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/chat"))
        .await
        .expect("websocket connects");
    let mut chat = Chat { ws };
    chat.send(json!({"type": "hello"})).await;
    chat.recv_type("welcome").await;
    let client_id = "durable-ack-7f3a";
    chat.send(
        json!({"type": "message", "client_id": client_id, "text": "how much does shipping cost?"}),
    )
    .await;
    let ack = chat.recv_type("ack").await;
    assert_eq!(ack["client_id"], client_id);
    drop(chat);

    // strace blocks SIGTERM while it runs a program: stop the server
    // itself, and strace ends with it, its trace complete.
    let server = child_of(strace.id()).expect("the server runs under strace");
    let killed = Command::new("kill")
        .args(["-TERM", &server.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    strace.wait().expect("strace ends");

    let text = std::fs::read_to_string(&trace).expect("the trace reads");
    let calls: Vec<Call> = text.lines().filter_map(Call::parse).collect();
    let read = calls
        .iter()
        .position(|c| {
            c.is_read() && c.part != Part::Start && contains(&unmask(&c.buffers()), client_id)
        })
        .expect("the trace shows the server reading the message");
    let ack = calls
        .iter()
        .position(|c| {
            let sent = c.buffers();
            c.is_write()
                && c.part != Part::End
                && contains(&sent, r#""type":"ack""#)
                && contains(&sent, client_id)
        })
        .expect("the trace shows the server writing the ack");
    let synced = db_syncs(&calls)
        .into_iter()
        .any(|s| read < s.start && s.end < ack && s.ok);
    assert!(
        synced,
        "no successful fsync/fdatasync of store/db between reading message {client_id} \
         (trace line {read}) and writing its ack (line {ack}):\n{}",
        calls[read..=ack]
            .iter()
            .map(|c| c.excerpt())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Power cuts: the crash test's cycles on a LazyFS mount, which keeps
/// every write in its own cache until it is fsynced; after each SIGKILL it
/// drops what was not synced, as a power cut would. Needs a mount, so it
/// runs only by hand; docs/durability.md says how.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a LazyFS mount; see docs/durability.md"]
async fn acknowledged_messages_survive_power_cuts() {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("set {name}; see docs/durability.md"))
    };
    let mount = var("FRONTDESK_LAZYFS_DIR");
    let faults = var("FRONTDESK_LAZYFS_FIFO");
    let done = var("FRONTDESK_LAZYFS_DONE_FIFO");
    // LazyFS keeps the completion fifo open and writes a line per command:
    // keep one reader open for the whole test.
    let mut done = BufReader::new(std::fs::File::open(&done).expect("LazyFS's completion fifo"));
    let dir = tempfile::tempdir_in(&mount).expect("a temp dir on the LazyFS mount");
    crate::crash::kill_and_restart(dir.path(), crate::crash::cycles(5), || {
        std::fs::write(&faults, "lazyfs::clear-cache\n").expect("LazyFS's fault fifo");
        let mut answer = String::new();
        done.read_line(&mut answer).expect("LazyFS answers");
        assert_eq!(answer.trim(), "finished::clear-cache");
    })
    .await;
}

/// The pid of the (only) child of `parent`, from /proc.
fn child_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat =
            std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
        // "pid (comm) state ppid ...": comm may hold spaces and parens.
        let after_comm = &stat[stat.rfind(')')? + 1..];
        let ppid: u32 = after_comm.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent).then_some(pid)
    })
}

#[derive(Debug, PartialEq)]
enum Part {
    /// A call strace saw enter and return with nothing in between.
    Whole,
    /// `... <unfinished ...>`: entered; another thread's call came next.
    Start,
    /// `<... name resumed>...`: the return of a `Start`.
    End,
}

/// One line of `strace -f -xx` output.
struct Call {
    pid: u32,
    name: String,
    part: Part,
    raw: String,
}

impl Call {
    fn parse(line: &str) -> Option<Call> {
        let (pid, rest) = line.split_once(' ')?;
        let pid = pid.parse().ok()?;
        let rest = rest.trim_start();
        let (name, part) = if let Some(resumed) = rest.strip_prefix("<... ") {
            (resumed.split(' ').next()?, Part::End)
        } else if rest.ends_with("<unfinished ...>") {
            (rest.split('(').next()?, Part::Start)
        } else {
            (rest.split('(').next()?, Part::Whole)
        };
        Some(Call {
            pid,
            name: name.to_owned(),
            part,
            raw: line.to_owned(),
        })
    }

    fn is_read(&self) -> bool {
        matches!(
            self.name.as_str(),
            "read" | "readv" | "recvfrom" | "recvmsg"
        )
    }

    fn is_write(&self) -> bool {
        matches!(
            self.name.as_str(),
            "write" | "writev" | "sendto" | "sendmsg"
        )
    }

    /// The data of the call's buffers: every quoted string, joined.
    fn buffers(&self) -> Vec<u8> {
        self.raw
            .split('"')
            .skip(1)
            .step_by(2)
            .flat_map(unhex)
            .collect()
    }

    /// The line with `\xNN` decoded, for paths and for people.
    fn decoded(&self) -> String {
        String::from_utf8_lossy(&unhex(&self.raw)).into_owned()
    }

    /// The decoded line, shortened, with unprintable bytes as dots.
    fn excerpt(&self) -> String {
        unhex(&self.raw)
            .iter()
            .take(160)
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect()
    }
}

/// A `fsync`/`fdatasync` of the store's log: the lines where it started and
/// ended, and whether it returned 0.
struct Sync {
    start: usize,
    end: usize,
    ok: bool,
}

fn db_syncs(calls: &[Call]) -> Vec<Sync> {
    let mut syncs = Vec::new();
    for (start, call) in calls.iter().enumerate() {
        if !matches!(call.name.as_str(), "fsync" | "fdatasync")
            || call.part == Part::End
            || !call.decoded().contains("/store/db>")
        {
            continue;
        }
        let end = match call.part {
            Part::Start => calls[start + 1..]
                .iter()
                .position(|c| c.pid == call.pid && c.name == call.name && c.part == Part::End)
                .map(|i| start + 1 + i),
            _ => Some(start),
        };
        if let Some(end) = end {
            let ok = calls[end].raw.trim_end().ends_with("= 0");
            syncs.push(Sync { start, end, ok });
        }
    }
    syncs
}

/// `\xNN` sequences to bytes; anything else is kept as it is.
fn unhex(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 4);
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 2..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (
            b[i],
            b.get(i + 1),
            hex.and_then(|h| u8::from_str_radix(h, 16).ok()),
        ) {
            (b'\\', Some(b'x'), Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (other, _, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

/// The payload of the first websocket frame in `data`, unmasked (a client's
/// frames are masked, so its text is not visible in the raw bytes).
fn unmask(data: &[u8]) -> Vec<u8> {
    let Some(&b1) = data.get(1) else {
        return Vec::new();
    };
    let (len, mut at) = match (b1 & 0x7f, data.get(2..4)) {
        (126, Some(len)) => (u16::from_be_bytes([len[0], len[1]]) as usize, 4),
        (126 | 127, _) => return Vec::new(), // not a short chat message
        (n, _) => (n as usize, 2),
    };
    let mut key = [0u8; 4];
    if b1 & 0x80 != 0 {
        let Some(k) = data.get(at..at + 4) else {
            return Vec::new();
        };
        key.copy_from_slice(k);
        at += 4;
    }
    data.iter()
        .skip(at)
        .take(len)
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
