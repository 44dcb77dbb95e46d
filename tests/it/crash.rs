//! The real binary, killed with SIGKILL while clients send: every message
//! that was acknowledged must be in the timeline after a restart.
//!
//! `FRONTDESK_CRASH_CYCLES` sets the number of cycles (default 20). The
//! same cycles, with the file system's unsynced writes dropped after each
//! kill, make the power-cut test in durability.rs.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::helpers::*;

const CLIENTS: usize = 4;
/// Acks to collect before the kill, so every cycle kills mid-traffic.
const ACKS_BEFORE_KILL: usize = 12;

pub(crate) struct Server {
    pub child: Child,
    pub addr: String,
}

pub(crate) fn start(data_dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data_dir)
        .env("FRONTDESK_OPERATOR_TOKEN", OPERATOR)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let addr = listening_address(child.stdout.take().expect("stdout"));
    Server { child, addr }
}

/// What a client was told: (conversation, client_id) → (seq, the text
/// sent, the conversation's resume token).
type Acked = HashMap<AckKey, AckValue>;
type AckKey = (String, String);
type AckValue = (u64, String, String);

async fn client(
    addr: String,
    n: usize,
    cycle: usize,
    acks: mpsc::UnboundedSender<(AckKey, AckValue)>,
) {
    let Ok((ws, _)) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/chat")).await else {
        return;
    };
    let mut chat = Chat { ws };
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let hello = json!({"type": "hello"}).to_string();
    if chat.ws.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    let mut conversation = None;
    let mut resume = String::new();
    let mut i = 0;
    let mut pending: HashMap<String, String> = HashMap::new();
    while let Some(Ok(frame)) = chat.ws.next().await {
        let Message::Text(text) = frame else { continue };
        let frame: Value = serde_json::from_str(&text).expect("json");
        match frame["type"].as_str() {
            Some("welcome") => {
                conversation = frame["conversation_id"].as_str().map(String::from);
                resume = frame["resume_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
            }
            Some("ack") => {
                let client_id = frame["client_id"].as_str().unwrap().to_owned();
                let text = pending.remove(&client_id).expect("ack for a sent message");
                let key = (conversation.clone().unwrap(), client_id);
                let seq = frame["seq"].as_u64().unwrap();
                let _ = acks.send((key, (seq, text, resume.clone())));
            }
            _ => {}
        }
        if !matches!(frame["type"].as_str(), Some("welcome") | Some("ack")) && i > 0 {
            continue;
        }
        // Send the next message after the welcome and after each ack.
        i += 1;
        let client_id = format!("k{cycle}-{n}-{i}");
        let text = format!("cycle {cycle} client {n} message {i}: how much does shipping cost?");
        pending.insert(client_id.clone(), text.clone());
        let frame = json!({"type": "message", "client_id": client_id, "text": text});
        if chat
            .ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn verify(addr: &str, acked: &Acked) {
    let http = reqwest::Client::new();
    let mut by_conversation: HashMap<&str, Vec<Value>> = HashMap::new();
    for (conversation, _) in acked.keys() {
        if by_conversation.contains_key(conversation.as_str()) {
            continue;
        }
        let body: Value = http
            .get(format!("http://{addr}/v1/conversations/{conversation}"))
            .bearer_auth(OPERATOR)
            .send()
            .await
            .expect("transcript")
            .json()
            .await
            .expect("json");
        let messages = body["messages"].as_array().expect("messages").clone();
        let seqs: Vec<u64> = messages
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "seq without gaps"
        );
        by_conversation.insert(conversation.as_str(), messages);
    }
    for ((conversation, client_id), (seq, text, _)) in acked {
        let messages = &by_conversation[conversation.as_str()];
        let stored = messages
            .iter()
            .find(|m| m["client_id"] == client_id.as_str())
            .unwrap_or_else(|| panic!("acked message {client_id} lost"));
        assert_eq!(stored["seq"].as_u64(), Some(*seq), "{client_id}");
        assert_eq!(stored["text"].as_str(), Some(text.as_str()), "{client_id}");
    }
    // A new tab on every conversation, from nothing: the replay is the
    // whole transcript, in order.
    let mut resumed = std::collections::HashSet::new();
    for ((conversation, _), (_, _, resume)) in acked {
        if resumed.insert(conversation.as_str()) {
            replay_matches(addr, resume, &by_conversation[conversation.as_str()]).await;
        }
    }
}

async fn replay_matches(addr: &str, resume: &str, stored: &[Value]) {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/chat"))
        .await
        .expect("chat connects");
    let mut tab = Chat { ws };
    tab.send(json!({"type": "hello", "resume_token": resume, "last_seq": 0}))
        .await;
    assert_eq!(tab.recv_type("welcome").await["resumed"], true);
    for m in stored {
        let replayed = tab.recv_type("message").await;
        assert_eq!(replayed["seq"], m["seq"]);
        assert_eq!(replayed["text"], m["text"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    kill_and_restart(dir.path(), cycles(20), || {}).await;
}

/// `FRONTDESK_CRASH_CYCLES`, or `default`.
pub fn cycles(default: usize) -> usize {
    std::env::var("FRONTDESK_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Run the server on `dir` for `cycles` cycles, each killed with SIGKILL
/// mid-traffic and followed by `after_kill`, and check after every restart
/// that every acknowledged message is stored.
pub async fn kill_and_restart(dir: &std::path::Path, cycles: usize, mut after_kill: impl FnMut()) {
    let mut acked = Acked::new();
    for cycle in 0..cycles {
        let mut server = start(dir);
        verify(&server.addr, &acked).await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|n| tokio::spawn(client(server.addr.clone(), n, cycle, tx.clone())))
            .collect();
        drop(tx);
        let mut this_cycle = 0;
        while this_cycle < ACKS_BEFORE_KILL {
            let Some((key, value)) = rx.recv().await else {
                break;
            };
            acked.insert(key, value);
            this_cycle += 1;
        }
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reaped");
        after_kill();
        // Acks already on the wire when the process died still count.
        for c in clients {
            let _ = c.await;
        }
        while let Ok((key, value)) = rx.try_recv() {
            acked.insert(key, value);
        }
        assert!(
            this_cycle >= ACKS_BEFORE_KILL,
            "cycle {cycle}: clients stalled"
        );
    }
    let server = start(dir);
    verify(&server.addr, &acked).await;
    let mut child = server.child;
    child.kill().ok();
    child.wait().ok();
    assert!(acked.len() >= cycles * ACKS_BEFORE_KILL);
}

#[test]
fn a_broken_config_file_exits_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("frontdesk.toml");
    std::fs::write(&config, "[limits]\nmax_frame_byts = 10\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("frontdesk.toml") && stderr.contains("max_frame_byts"),
        "{stderr}"
    );
}

/// At `RUST_LOG=trace` the log holds no message text, email or token:
/// other crates' traces (websocket frames, HTTP headers) are cut off.
#[tokio::test]
async fn trace_logs_hold_no_message_text_or_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("FRONTDESK_OPERATOR_TOKEN", OPERATOR)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the binary starts");
    let addr = listening_address(child.stdout.take().expect("stdout"));
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/chat"))
        .await
        .expect("chat connects");
    let mut chat = Chat { ws };
    chat.send(json!({"type": "hello", "customer": {"email": "zebra-7731@example.org"}}))
        .await;
    let welcome = chat.recv_type("welcome").await;
    let resume = welcome["resume_token"].as_str().unwrap().to_owned();
    chat.ask("c1", "my parcel quokka-5529 never arrived").await;
    let status = reqwest::Client::new()
        .get(format!("http://{addr}/v1/conversations"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 200);
    child.kill().ok();
    child.wait().ok();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("DEBUG"), "RUST_LOG=trace was not in effect");
    for secret in ["quokka-5529", "zebra-7731", resume.as_str(), OPERATOR] {
        assert!(!text.contains(secret), "the log holds {secret:?}");
    }
}
