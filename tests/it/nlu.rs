//! The real ONNX models: clear cases, analysis in the timeline, intents
//! picked up from `intents/`, and a missing runtime library.

use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

async fn analyze(app: &TestApp, text: &str) -> Value {
    let (status, body) = app
        .send_json(Method::POST, "/v1/analyze", OPERATOR, json!({"text": text}))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn clear_cases_get_the_expected_labels() {
    let app = spawn_app().await;
    for (text, sentiment) in [
        (
            "I am furious, this is the worst service I have ever had",
            "negative",
        ),
        (
            "My parcel arrived broken and nobody answers my emails. Terrible.",
            "negative",
        ),
        ("Thank you so much, that was really helpful!", "positive"),
        ("I love the jacket, it fits perfectly", "positive"),
    ] {
        let a = analyze(&app, text).await;
        assert_eq!(a["sentiment"]["label"], sentiment, "{text}: {a}");
        let p = &a["sentiment"];
        let total = p["negative"].as_f64().unwrap()
            + p["neutral"].as_f64().unwrap()
            + p["positive"].as_f64().unwrap();
        assert!((total - 1.0).abs() < 1e-3, "{p}");
    }
    for (text, intent) in [
        ("hello there", Some("greeting")),
        ("can I talk to a real person please", Some("human_agent")),
        (
            "I forgot my password and can't log in",
            Some("password_reset"),
        ),
        ("I want my money back for this order", Some("refund")),
        ("what is the capital of Mongolia", None),
    ] {
        let a = analyze(&app, text).await;
        assert_eq!(a["intent"]["name"].as_str(), intent, "{text}: {a}");
    }
    // Retrieval by meaning: no phrasing says "boots" or "three weeks".
    let a = analyze(
        &app,
        "can I still send back the boots I bought three weeks ago?",
    )
    .await;
    assert_eq!(a["faq"][0]["id"], "returns-window", "{a}");
    assert_eq!(
        a["faq_questions"].as_array().unwrap().len(),
        a["faq"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn analysis_lands_in_the_timeline_with_each_customer_message() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    let (_, reply) = chat.ask("c1", "hi").await;
    assert!(
        reply.get("faq_id").is_none(),
        "a greeting is answered by its intent: {reply}"
    );
    chat.ask("c2", "This is unacceptable, my order is two weeks late!")
        .await;
    let messages = app
        .transcript(welcome["conversation_id"].as_str().unwrap())
        .await;
    let angry = &messages[2]["analysis"];
    assert_eq!(angry["sentiment"]["label"], "negative", "{angry}");
    assert!(
        angry["faq"].as_array().is_some_and(|f| !f.is_empty()),
        "{angry}"
    );
    assert_eq!(messages[0]["analysis"]["intent"]["name"], "greeting");
    assert!(
        messages[1].get("analysis").is_none(),
        "bot messages carry no analysis"
    );
}

#[tokio::test]
async fn an_intent_added_to_the_directory_is_picked_up() {
    let intents = tempfile::tempdir().unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
    for file in std::fs::read_dir(shipped).unwrap() {
        let file = file.unwrap().path();
        if file.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&file, intents.path().join(file.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        intents.path().join("store_events.yaml"),
        "name: store_events\ndescription: Workshops and events in the store.\nexamples:\n\
         - are there any workshops in the store\n- do you host events like climbing talks\n\
         - when is the next repair workshop\n- can I join a hiking meetup at your shop\n\
         - what events are coming up\nresponses:\n- Our events calendar is on the website.\n",
    )
    .unwrap();
    let dir = intents.path().to_owned();
    let app = spawn_with(move |c| c.models.intents_dir = Some(dir)).await;
    let a = analyze(&app, "is there a gear repair workshop next week?").await;
    assert_eq!(a["intent"]["name"], "store_events", "{a}");
    let (mut chat, _) = app.conversation().await;
    let (_, reply) = chat.ask("c1", "are there any workshops coming up?").await;
    assert_eq!(reply["text"], "Our events calendar is on the website.");
}

#[tokio::test]
async fn broken_intent_files_stop_the_start_with_the_file_named() {
    let intents = tempfile::tempdir().unwrap();
    std::fs::write(intents.path().join("a.yaml"), "name: a\nexamples: [hi]\n").unwrap();
    std::fs::write(intents.path().join("b.yaml"), "name: b\nexamples: [\n").unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut config = frontdesk::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.path().to_owned(),
        operator_token: Some(OPERATOR.into()),
        ..frontdesk::Config::default()
    };
    config.models.intents_dir = Some(intents.path().to_owned());
    let err = frontdesk::Application::build(config)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("b.yaml"), "{err}");
}

#[test]
fn without_the_runtime_library_the_server_says_what_to_do() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data.path())
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1")
        .env("FRONTDESK_OPERATOR_TOKEN", OPERATOR)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ORT_DYLIB_PATH") && stderr.contains("libonnxruntime"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
