//! Starting the real server on port 0 with a temp data dir, and a real
//! websocket client for protocol v1.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use frontdesk::{Application, Config, Understanding};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::{CancellationToken, DropGuard};

pub const OPERATOR: &str = "test-operator-token-0123456789";
/// Upper bound on waiting for any one frame; a hang fails instead of
/// stalling the suite.
pub const FRAME_WAIT: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub addr: SocketAddr,
    pub dir: TempDir,
    /// Stops the server when the test drops the app.
    stop: DropGuard,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The models and intents `config` names, loaded once per test binary
/// for each distinct setting: loading is the slow part of a start.
pub async fn understanding_for(config: &Config) -> Understanding {
    static LOADED: OnceLock<tokio::sync::Mutex<HashMap<String, Understanding>>> = OnceLock::new();
    let key = serde_json::to_string(&config.models).expect("model settings serialise");
    let mut loaded = LOADED.get_or_init(Default::default).lock().await;
    if let Some(u) = loaded.get(&key) {
        return u.clone();
    }
    let u = Understanding::load(&config.models)
        .await
        .expect("the models load");
    loaded.insert(key, u.clone());
    u
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_in(dir, tweak).await
}

/// Start a server on an existing data directory.
pub async fn spawn_in(dir: TempDir, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let config = test_config(&dir, tweak);
    let understanding = understanding_for(&config).await;
    start(dir, config, understanding).await
}

/// Start a server with models already loaded (not from the shared cache).
pub async fn spawn_loaded(
    understanding: Understanding,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = test_config(&dir, tweak);
    start(dir, config, understanding).await
}

/// The configuration of a test server in `dir`: port 0, the test
/// operator token, then `tweak`.
fn test_config(dir: &TempDir, tweak: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        operator_token: Some(OPERATOR.into()),
        ..Config::default()
    };
    tweak(&mut config);
    config
}

async fn start(dir: TempDir, config: Config, understanding: Understanding) -> TestApp {
    let app = Application::build_with(config, understanding)
        .await
        .expect("server builds");
    let addr = app.local_addr();
    let stop = CancellationToken::new();
    let signal = stop.clone();
    let server = tokio::spawn(app.run_until(async move { signal.cancelled().await }));
    TestApp {
        addr,
        dir,
        stop: stop.drop_guard(),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/chat", self.addr)
    }

    pub async fn chat(&self) -> Chat {
        let (ws, _) = tokio_tungstenite::connect_async(self.ws_url())
            .await
            .expect("websocket connects");
        Chat { ws }
    }

    /// A new conversation, past `hello`.
    pub async fn conversation(&self) -> (Chat, Value) {
        let mut chat = self.chat().await;
        chat.send(json!({"type": "hello"})).await;
        let welcome = chat.recv_type("welcome").await;
        (chat, welcome)
    }

    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self
            .http()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
        let r = self
            .http()
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A token for a new author.
    pub async fn author_token(&self) -> String {
        let (status, body) = self
            .send_json(
                reqwest::Method::POST,
                "/v1/authors",
                OPERATOR,
                json!({"name": "Ada"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A token for a new agent named `name`.
    pub async fn agent_token(&self, name: &str) -> String {
        let (status, body) = self
            .send_json(
                reqwest::Method::POST,
                "/v1/agents",
                OPERATOR,
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Every message of a conversation, from the store.
    pub async fn transcript(&self, conversation_id: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/v1/conversations/{conversation_id}"), OPERATOR)
            .await;
        assert_eq!(status, 200, "{body}");
        body["messages"].as_array().expect("messages").clone()
    }

    /// Shut the server down gracefully and return its data directory.
    pub async fn stop(mut self) -> TempDir {
        self.stop.disarm().cancel();
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server shuts down cleanly");
        }
        self.dir
    }
}

pub struct Chat {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Chat {
    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send");
    }

    /// The next JSON frame (pings are answered by the client library).
    pub async fn recv(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(FRAME_WAIT, self.ws.next())
                .await
                .expect("a frame within the wait")
                .expect("socket open")
                .expect("frame reads");
            match next {
                Message::Text(t) => {
                    return serde_json::from_str(&t).expect("server frames are JSON")
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next frame of `kind`, skipping `typing` indicators only.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
            assert_eq!(frame["type"], "typing", "expected {kind}, got {frame}");
        }
    }

    /// Frames up to and including the bot's reply, typing skipped.
    pub async fn until_bot_message(&mut self) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame["type"] == "typing" {
                continue;
            }
            let done = frame["type"] == "message" && frame["from"] == "bot";
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }

    /// Send a message; return its ack and the bot's reply.
    pub async fn ask(&mut self, client_id: &str, text: &str) -> (Value, Value) {
        self.send(json!({"type": "message", "client_id": client_id, "text": text}))
            .await;
        let frames = self.until_bot_message().await;
        let ack = frames
            .iter()
            .find(|f| f["type"] == "ack")
            .cloned()
            .expect("an ack");
        assert_eq!(ack["client_id"], client_id);
        let reply = frames.last().cloned().expect("a reply");
        (ack, reply)
    }

    /// Wait for the server's close frame.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            let next = tokio::time::timeout(FRAME_WAIT, self.ws.next())
                .await
                .expect("close within the wait");
            match next {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// The address a `frontdesk serve` child prints on its standard output
/// once it listens.
pub fn listening_address(stdout: std::process::ChildStdout) -> String {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .expect("stdout reads");
        if let Some(addr) = line.strip_prefix("frontdesk listening on http://") {
            return addr.to_owned();
        }
    }
}

/// Run `frontdesk eval ARGS` and return its report (printed, so a CI log
/// shows the figures), failing if the command fails.
pub fn eval_report(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("eval")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{report}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

/// The total row of a `frontdesk eval faq` report, and its right answers
/// (share of answerable), wrong answers (share of all) and right entry in
/// the top 3, in percent.
pub fn faq_eval_figures(report: &str) -> (String, f64, f64, f64) {
    let all = report
        .lines()
        .find(|l| l.starts_with("| all ("))
        .expect("a total row")
        .to_owned();
    let cells: Vec<&str> = all.split('|').map(str::trim).collect();
    let percent = |cell: &str| -> f64 {
        cell.trim_end_matches(" %")
            .parse()
            .unwrap_or_else(|_| panic!("{cell:?} in {all}"))
    };
    let (right, wrong, top3) = (percent(cells[3]), percent(cells[4]), percent(cells[9]));
    (all, right, wrong, top3)
}
