//! The data lifecycle end to end: export, erase (crypto-shredding),
//! encryption at rest, redaction, the access audit, retention and who may
//! do what. The erasure of a customer is checked where it could leak:
//! the API, the agent queue, the live sockets, the raw data directory and
//! the server's log.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::handoff::{agent, escalate, next_of};

use crate::helpers::*;

/// Whether any file under `dir` contains `needle`.
fn found_in_files(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(path.display().to_string());
                }
            }
        }
    }
    hits
}

/// A customer who tells their name and email, says something unique and
/// rates the chat; returns the chat, the welcome and the unique words.
async fn chatty_customer(app: &TestApp, tag: &str) -> (Chat, Value, String, String) {
    let unique = format!("zebra-{tag}-{}", uuid_like());
    let email = format!("{unique}@example.org");
    let mut chat = app.chat().await;
    chat.send(
        json!({"type": "hello", "customer": {"name": format!("Ada {unique}"), "email": email}}),
    )
    .await;
    let welcome = chat.recv_type("welcome").await;
    chat.ask("m1", &format!("where is my parcel {unique}?"))
        .await;
    let (_, reply) = chat.ask("m2", "how long does shipping take?").await;
    chat.send(json!({"type": "feedback", "seq": reply["seq"], "helpful": true}))
        .await;
    chat.send(json!({"type": "rating", "score": 4, "comment": format!("thanks {unique}")}))
        .await;
    (chat, welcome, unique, email)
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

async fn delete(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let r = app
        .http()
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn search(app: &TestApp, body: Value, token: &str) -> (u16, Value) {
    let r = app
        .http()
        .post(app.url("/v1/customers/search"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Wait until `f` holds, polling; fail after `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + within;
    while !f().await {
        assert!(tokio::time::Instant::now() < until, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_holds_everything_the_turns_stored() {
    let app = spawn_app().await;
    let (mut chat, welcome, unique, email) = chatty_customer(&app, "export").await;
    // The rating is stored before the next frame is answered.
    chat.ask("m3", "thanks").await;
    let customer = welcome["customer_id"].as_str().unwrap();
    let conversation = welcome["conversation_id"].as_str().unwrap();

    let (status, export) = app
        .get(&format!("/v1/customers/{customer}/export"), OPERATOR)
        .await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["schema"], "frontdesk.customer-export.v1");
    assert_eq!(export["customer"]["email"], email.as_str());
    assert_eq!(export["customer"]["name"], format!("Ada {unique}"));
    let conversations = export["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["conversation"]["id"], conversation);

    // Every message the transcript has, with its analysis, and every
    // other event of the timeline.
    let events = conversations[0]["events"].as_array().unwrap();
    let exported: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| &e["message"])
        .collect();
    let transcript = app.transcript(conversation).await;
    assert_eq!(exported.len(), transcript.len());
    for (e, t) in exported.iter().zip(&transcript) {
        assert_eq!(*e, t);
    }
    assert!(exported
        .iter()
        .filter(|m| m["from"] == "customer")
        .all(|m| m["analysis"]["sentiment"].is_object()));
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for kind in ["conversation_opened", "message", "feedback", "rating"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let (_, timeline) = app
        .get(&format!("/v1/customers/{customer}/timeline"), OPERATOR)
        .await;
    assert_eq!(timeline["events"].as_array().unwrap().len(), events.len());

    // Found by email (any case) and not by another.
    let (status, found) = search(&app, json!({"email": email.to_uppercase()}), OPERATOR).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["customers"][0]["id"], customer);
    let (_, none) = search(&app, json!({"email": "nobody@example.org"}), OPERATOR).await;
    assert_eq!(none["customers"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_customer_leaves_no_trace() {
    let app = spawn_app().await;
    let (mut chat, welcome, unique, email) = chatty_customer(&app, "erase").await;
    escalate(&mut chat, "m3", "I want to talk to a human").await;
    let customer = welcome["customer_id"].as_str().unwrap().to_owned();
    let conversation = welcome["conversation_id"].as_str().unwrap().to_owned();
    // Someone else, who must keep everything.
    let (_bystander, other, other_unique, _) = chatty_customer(&app, "stays").await;
    let other_customer = other["customer_id"].as_str().unwrap();

    let agent_token = app.agent_token("Alex").await;
    let (mut console, queue) = agent(&app, &agent_token).await;
    assert!(queue.to_string().contains(&conversation));
    console
        .send(json!({"type": "watch", "conversation_id": conversation}))
        .await;
    next_of(&mut console, "conversation").await;

    // Encrypted at rest: the unique words are nowhere in the raw files.
    app.http().get(app.url("/readyz")).send().await.unwrap();
    for needle in [unique.as_str(), email.as_str(), other_unique.as_str()] {
        let hits = found_in_files(app.dir.path(), needle.as_bytes());
        assert!(hits.is_empty(), "{needle} readable in {hits:?}");
    }

    let (status, body) = delete(&app, &format!("/v1/customers/{customer}"), OPERATOR).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["existed"], true);
    assert_eq!(body["conversations"], 1);

    // The customer's socket is closed, the console lets go, the queue
    // forgets the conversation.
    let close = chat.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4001);
    // The queue and the conversation's status come on separate paths, in
    // either order.
    let (mut closed, mut dropped) = (false, false);
    while !(closed && dropped) {
        let frame = console.recv().await;
        match frame["type"].as_str() {
            Some("status") => {
                assert_eq!(frame["status"], "closed");
                closed = true;
            }
            Some("queue") => dropped = !frame.to_string().contains(&conversation),
            _ => {}
        }
    }

    // Nothing readable through the API.
    for path in [
        format!("/v1/customers/{customer}/timeline"),
        format!("/v1/customers/{customer}/export"),
        format!("/v1/conversations/{conversation}"),
    ] {
        let (status, body) = app.get(&path, OPERATOR).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (_, found) = search(&app, json!({ "email": email }), OPERATOR).await;
    assert_eq!(found["customers"], json!([]));
    let (_, page) = app.get("/v1/conversations?limit=200", OPERATOR).await;
    assert!(!page.to_string().contains(&conversation));
    // Stats read the whole timeline and still work.
    let (status, _) = app.get("/v1/stats", OPERATOR).await;
    assert_eq!(status, 200);

    // Idempotent.
    let (status, again) = delete(&app, &format!("/v1/customers/{customer}"), OPERATOR).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["existed"], false);

    // The audit has the erasure and the console's read, without personal
    // data.
    let (status, audit) = app.get("/v1/audit", OPERATOR).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries
        .iter()
        .any(|e| e["action"] == "erase" && e["customer_id"] == customer.as_str()));
    assert!(entries
        .iter()
        .any(|e| e["action"] == "read_conversation" && e["actor"]["name"] == "Alex"));
    let text = audit.to_string();
    assert!(!text.contains(&unique) && !text.contains(&email));

    // The other customer keeps everything.
    let (status, _) = app
        .get(&format!("/v1/customers/{other_customer}/export"), OPERATOR)
        .await;
    assert_eq!(status, 200);

    // And on disk, after a clean stop: the data key's slot is zeros.
    let dir = app.stop().await;
    let id = customer.replace('-', "");
    let id_bytes = hex_bytes(&id);
    let keys = std::fs::read(dir.path().join("customer-keys")).unwrap();
    assert!(!keys.windows(16).any(|w| w == id_bytes.as_slice()));
    for needle in [unique.as_str(), email.as_str()] {
        let hits = found_in_files(dir.path(), needle.as_bytes());
        assert!(hits.is_empty(), "{needle} readable in {hits:?}");
    }
    let app = spawn_in(dir, |_| {}).await;
    let (status, _) = app
        .get(&format!("/v1/customers/{customer}/timeline"), OPERATOR)
        .await;
    assert_eq!(status, 404);
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_numbers_never_reach_the_store_and_contacts_when_configured() {
    let app = spawn_with(|c| c.redaction.emails = true).await;
    let (mut chat, welcome) = app.conversation().await;
    let (ack, _) = chat
        .ask(
            "m1",
            "my card 4242 4242 4242 4242 was charged twice, IBAN DE89 3704 0044 0532 0130 00, mail me at ada@example.org",
        )
        .await;
    let conversation = welcome["conversation_id"].as_str().unwrap();
    let stored = app.transcript(conversation).await;
    let text = stored[ack["seq"].as_u64().unwrap() as usize - 1]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        text,
        "my card [card •••• 4242] was charged twice, IBAN [IBAN], mail me at [email]"
    );
    // Phones stay: not configured.
    let (ack, _) = chat.ask("m2", "call me on +49 170 1234567").await;
    let stored = app.transcript(conversation).await;
    assert_eq!(
        stored[ack["seq"].as_u64().unwrap() as usize - 1]["text"],
        "call me on +49 170 1234567"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_operators_export_erase_and_read_the_audit() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    chat.ask("m1", "hello").await;
    let customer = welcome["customer_id"].as_str().unwrap();
    let agent_token = app.agent_token("Alex").await;
    let author_token = app.author_token().await;
    for token in [agent_token.as_str(), author_token.as_str()] {
        for path in [
            format!("/v1/customers/{customer}/export"),
            "/v1/audit".to_owned(),
        ] {
            let (status, body) = app.get(&path, token).await;
            assert_eq!(status, 403, "{path}: {body}");
            assert_eq!(body["error"]["code"], "forbidden", "{body}");
        }
        let (status, _) = search(&app, json!({"email": "a@example.org"}), token).await;
        assert_eq!(status, 403);
        let (status, _) = delete(&app, &format!("/v1/customers/{customer}"), token).await;
        assert_eq!(status, 403);
    }
    // Agents read timelines, and that is audited.
    let (status, _) = app
        .get(&format!("/v1/customers/{customer}/timeline"), &agent_token)
        .await;
    assert_eq!(status, 200);
    let (_, audit) = app.get("/v1/audit", OPERATOR).await;
    let last = audit["entries"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last["action"], "read_timeline");
    assert_eq!(last["actor"]["role"], "agent");
    assert_eq!(last["customer_id"], customer);
    // Bad requests are typed.
    let (status, body) = search(&app, json!({}), OPERATOR).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = delete(&app, "/v1/customers/not-a-uuid", OPERATOR).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_closed_conversations_and_keeps_open_ones() {
    let app = spawn_with(|c| {
        // 0.6 s after closing.
        c.retention.closed_conversations_days = Some(0.6 / 86_400.0);
        c.retention.check_every = Duration::from_millis(200);
    })
    .await;
    let (mut closing, closed) = app.conversation().await;
    closing.ask("m1", "how long does shipping take?").await;
    closing.send(json!({"type": "close"})).await;
    let (mut open, opened) = app.conversation().await;
    open.ask("m1", "how long does shipping take?").await;
    let closed = closed["conversation_id"].as_str().unwrap().to_owned();
    let opened = opened["conversation_id"].as_str().unwrap().to_owned();

    let path = format!("/v1/conversations/{closed}");
    eventually(
        Duration::from_secs(10),
        "the closed conversation is removed",
        || {
            let app = &app;
            let path = path.clone();
            async move { app.get(&path, OPERATOR).await.0 == 404 }
        },
    )
    .await;
    let (status, _) = app
        .get(&format!("/v1/conversations/{opened}"), OPERATOR)
        .await;
    assert_eq!(status, 200);
    // The customer of the removed conversation is still there.
    let (status, _) = app.get("/v1/stats", OPERATOR).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_says_it_is_automated_first() {
    let app = spawn_app().await;
    let (_, welcome) = app.conversation().await;
    assert!(
        welcome["disclosure"]
            .as_str()
            .unwrap()
            .contains("automated assistant"),
        "{welcome}"
    );
    let app = spawn_with(|c| c.bot.disclosure = "Ich bin ein Bot.".into()).await;
    let (_, welcome) = app.conversation().await;
    assert_eq!(welcome["disclosure"], "Ich bin ein Bot.");
}

/// The real binary with debug logging: after a customer chats and is
/// erased, their words, name and email are in no log line; a wrong
/// master key is refused with a clear error, the right one from the
/// environment works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_personal_data_and_the_master_key_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let serve = |extra: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .env("FRONTDESK_OPERATOR_TOKEN", OPERATOR)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.spawn().expect("the server starts")
    };
    let mut server = serve(&[]);
    let addr = listening_address(server.stdout.take().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/chat"))
        .await
        .unwrap();
    let mut chat = Chat { ws };
    let unique = format!("okapi-{}", uuid_like());
    let email = format!("{unique}@example.org");
    chat.send(
        json!({"type": "hello", "customer": {"name": format!("Grace {unique}"), "email": email}}),
    )
    .await;
    let welcome = chat.recv_type("welcome").await;
    chat.ask("m1", &format!("my parcel {unique} is late")).await;
    let customer = welcome["customer_id"].as_str().unwrap();
    let r = reqwest::Client::new()
        .delete(format!("http://{addr}/v1/customers/{customer}"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    drop(chat);
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    server.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("customer erased"), "{text}");
    for needle in [&unique, &email] {
        assert!(!text.contains(needle.as_str()), "{needle} in the log");
    }
    // The generated key is beside the data, readable by the owner only.
    let key_file = data.join("master.key");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();

    // Another key is refused, the right one from the environment works.
    let wrong = "11".repeat(32);
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("FRONTDESK_MASTER_KEY", &wrong)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not open the customer key file"), "{err}");
    std::fs::rename(&key_file, dir.path().join("kept-elsewhere.key")).unwrap();
    let mut server = serve(&[("FRONTDESK_MASTER_KEY", key.trim())]);
    let addr = listening_address(server.stdout.take().unwrap());
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The real binary killed with SIGKILL while erasures run: after the
/// restart every erasure that was answered is complete, and every other
/// customer is either wholly there or wholly gone, never half-erased.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasures_survive_sigkill_midway() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = crate::crash::start(dir.path());
    let addr = server.addr.clone();
    let http = reqwest::Client::new();
    let mut customers = Vec::new();
    for n in 0..12 {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/chat"))
            .await
            .unwrap();
        let mut chat = Chat { ws };
        chat.send(json!({"type": "hello"})).await;
        let welcome = chat.recv_type("welcome").await;
        chat.ask("m1", &format!("parcel number {n} is late")).await;
        chat.ask("m2", "how long does shipping take?").await;
        customers.push((
            welcome["customer_id"].as_str().unwrap().to_owned(),
            welcome["conversation_id"].as_str().unwrap().to_owned(),
        ));
    }
    let (tx, mut answered) = tokio::sync::mpsc::unbounded_channel();
    for (customer, _) in &customers {
        let (http, url, tx) = (
            http.clone(),
            format!("http://{addr}/v1/customers/{customer}"),
            tx.clone(),
        );
        let customer = customer.clone();
        tokio::spawn(async move {
            if let Ok(r) = http.delete(url).bearer_auth(OPERATOR).send().await {
                if r.status().as_u16() == 200 {
                    let _ = tx.send(customer);
                }
            }
        });
    }
    drop(tx);
    // Kill as soon as the first erasure is answered: the others are in
    // flight.
    let first = answered.recv().await.expect("an erasure is answered");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut done = vec![first];
    while let Some(c) = answered.recv().await {
        done.push(c);
    }

    let server = crate::crash::start(dir.path());
    let get = |path: String| {
        let (http, addr) = (http.clone(), server.addr.clone());
        async move {
            let r = http
                .get(format!("http://{addr}{path}"))
                .bearer_auth(OPERATOR)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let mut gone = 0;
    for (customer, conversation) in &customers {
        let (export, body) = get(format!("/v1/customers/{customer}/export")).await;
        let (transcript, _) = get(format!("/v1/conversations/{conversation}")).await;
        if done.contains(customer) {
            assert_eq!((export, transcript), (404, 404), "{customer} was answered");
        }
        match export {
            404 => {
                assert_eq!(transcript, 404, "{customer} half-erased");
                gone += 1;
            }
            200 => {
                assert_eq!(transcript, 200);
                let events = &body["conversations"][0]["events"];
                let messages = events
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["event"] == "message")
                    .count();
                assert_eq!(messages, 4, "{customer} lost messages: {body}");
            }
            other => panic!("export answered {other}"),
        }
    }
    assert!(gone >= done.len());
    let mut child = server.child;
    child.kill().ok();
    child.wait().ok();
}
