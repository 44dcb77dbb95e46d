//! The model layer: loading, the classifier caches, finding the models next
//! to the binary, scores independent of other traffic, several workers,
//! and overload.

use std::process::{Command, Stdio};

use frontdesk::nlu::{ModelSettings, Origin};
use frontdesk::Understanding;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A copy of the shipped intents that a test may change.
fn intents_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in std::fs::read_dir(repo("intents")).unwrap() {
        let file = file.unwrap().path();
        if file.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&file, dir.path().join(file.file_name().unwrap())).unwrap();
        }
    }
    dir
}

async fn analyze(app: &TestApp, text: &str) -> (u16, Value) {
    app.send_json(
        Method::POST,
        "/v1/analyze",
        OPERATOR,
        json!({ "text": text }),
    )
    .await
}

#[tokio::test]
async fn the_intent_classifier_is_cached_and_rebuilt_when_stale_or_damaged() {
    let cache = tempfile::tempdir().unwrap();
    let intents = intents_copy();
    let settings = ModelSettings {
        cache_dir: Some(cache.path().to_owned()),
        intents_dir: Some(intents.path().to_owned()),
        workers: 1,
        ..ModelSettings::default()
    };
    let trained = Understanding::load(&settings).await.unwrap();
    assert_eq!(trained.classifier_origin(), Origin::Trained);
    let cached = Understanding::load(&settings).await.unwrap();
    assert_eq!(cached.classifier_origin(), Origin::Cache);

    // The cached classifier classifies exactly as the trained one.
    let text = "I forgot my password and cannot log in";
    let from_training = analyze(&spawn_loaded(trained, |_| {}).await, text).await.1;
    let from_cache = analyze(&spawn_loaded(cached, |_| {}).await, text).await.1;
    assert_eq!(from_training["intent"], from_cache["intent"]);
    assert_eq!(
        from_cache["intent"]["name"], "password_reset",
        "{from_cache}"
    );

    // An intents change retrains.
    std::fs::write(
        intents.path().join("store_events.yaml"),
        "name: store_events\nexamples:\n- are there any workshops in the store\n- what events are coming up\n",
    )
    .unwrap();
    let changed = Understanding::load(&settings).await.unwrap();
    assert_eq!(changed.classifier_origin(), Origin::Retrained);

    // A damaged cache file is rebuilt, then trusted again.
    let cached_file = cache.path().join("intent-classifier.bin");
    let mut bytes = std::fs::read(&cached_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&cached_file, bytes).unwrap();
    let rebuilt = Understanding::load(&settings).await.unwrap();
    assert_eq!(rebuilt.classifier_origin(), Origin::Rebuilt);
    let again = Understanding::load(&settings).await.unwrap();
    assert_eq!(again.classifier_origin(), Origin::Cache);
}

/// The classifier that reads other languages through the multilingual
/// model is cached the same way, apart from the English one.
#[tokio::test]
async fn the_intents_in_other_languages_are_cached_too() {
    let cache = tempfile::tempdir().unwrap();
    let settings = ModelSettings {
        cache_dir: Some(cache.path().to_owned()),
        workers: 1,
        ..ModelSettings::default()
    };
    let first = Understanding::load(&settings).await.unwrap();
    assert_eq!(
        first.learn_intents_in_other_languages().await,
        Some(Origin::Trained)
    );
    assert!(cache
        .path()
        .join("intent-classifier-multilingual.bin")
        .is_file());
    let again = Understanding::load(&settings).await.unwrap();
    assert_eq!(again.classifier_origin(), Origin::Cache);
    assert_eq!(
        again.learn_intents_in_other_languages().await,
        Some(Origin::Cache)
    );
    // Turned off, there is nothing to learn.
    let off = ModelSettings {
        multilingual: false,
        ..settings
    };
    let off = Understanding::load(&off).await.unwrap();
    assert_eq!(off.learn_intents_in_other_languages().await, None);
}

#[tokio::test]
async fn the_server_keeps_its_classifier_in_the_data_directory() {
    let data = tempfile::tempdir().unwrap();
    let config = || frontdesk::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.path().to_owned(),
        operator_token: Some(OPERATOR.into()),
        ..frontdesk::Config::default()
    };
    drop(frontdesk::Application::build(config()).await.unwrap());
    assert!(data.path().join("cache/intent-classifier.bin").is_file());
}

/// A message's scores do not depend on what else the models are doing:
/// the same text alone and among concurrent texts of other lengths gives
/// the same probabilities.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scores_do_not_depend_on_other_traffic() {
    let app = spawn_with(|c| c.models.workers = 2).await;
    let texts = [
        "Hi",
        "Where is my order?",
        "My order arrived late and the box was a bit damaged.",
        "This is the third time I ask about my refund and nobody answers, I am really angry now",
        "thanks!",
        "Can I change the delivery address after I placed the order, or is it too late once it has shipped to the warehouse?",
        "I love the jacket",
        "The zip broke after two weeks",
    ];
    let mut alone = Vec::new();
    for text in texts {
        let (status, body) = analyze(&app, text).await;
        assert_eq!(status, 200, "{body}");
        alone.push(body);
    }
    for round in 0..3 {
        let together = join_all(
            texts
                .iter()
                .cycle()
                .skip(round)
                .take(24)
                .map(|t| analyze(&app, t)),
        )
        .await;
        for (i, (status, body)) in together.into_iter().enumerate() {
            assert_eq!(status, 200, "{body}");
            let before = &alone[(i + round) % texts.len()];
            for key in ["negative", "neutral", "positive"] {
                let (a, b) = (
                    before["sentiment"][key].as_f64().unwrap(),
                    body["sentiment"][key].as_f64().unwrap(),
                );
                assert!((a - b).abs() <= 1e-5, "{key}: {a} alone, {b} with others");
            }
            assert_eq!(before["intent"], body["intent"]);
        }
    }
}

/// Several workers answer concurrent conversations, each in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_workers_answer_concurrent_conversations_in_order() {
    let app = spawn_with(|c| {
        c.models.workers = 2;
        c.limits.message_burst = 100;
    })
    .await;
    let questions = [
        "How long do I have to return an item?",
        "Do you ship to Switzerland?",
        "Which payment methods do you accept?",
        "Can I change the delivery address after ordering?",
    ];
    let conversations = (0..6).map(|n| {
        let app = &app;
        async move {
            let (mut chat, welcome) = app.conversation().await;
            let asked: Vec<&str> = questions.iter().copied().cycle().skip(n).take(4).collect();
            let mut acked = Vec::new();
            for (i, q) in asked.iter().enumerate() {
                let (ack, reply) = chat.ask(&format!("m{i}"), q).await;
                assert_eq!(reply["from"], "bot", "{reply}");
                acked.push(ack["seq"].as_u64().unwrap());
            }
            assert!(acked.windows(2).all(|w| w[0] < w[1]), "{acked:?}");
            (
                welcome["conversation_id"].as_str().unwrap().to_owned(),
                asked,
            )
        }
    });
    for (id, asked) in join_all(conversations).await {
        let transcript = app.transcript(&id).await;
        let said: Vec<&str> = transcript
            .iter()
            .filter(|m| m["from"] == "customer")
            .filter_map(|m| m["text"].as_str())
            .collect();
        assert_eq!(said, asked, "{transcript:?}");
        let last = transcript.last().unwrap();
        assert_eq!(last["from"], "bot", "{transcript:?}");
    }
}

/// With the models' queue full, analysis is refused as `unavailable`
/// while customer messages are still stored, acknowledged and answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overload_refuses_analysis_and_loses_no_message() {
    let app = spawn_with(|c| {
        c.models.workers = 1;
        c.models.queue = 1;
        c.limits.message_burst = 100;
    })
    .await;
    let long =
        "my parcel has not arrived and the tracking page has not changed for days, ".repeat(4);
    let analyses = join_all((0..40).map(|_| analyze(&app, &long)));
    let chats = join_all((0..8).map(|n| {
        let app = &app;
        async move {
            let (mut chat, welcome) = app.conversation().await;
            let (ack, reply) = chat
                .ask(&format!("c{n}"), "Do you ship to Switzerland?")
                .await;
            assert_eq!(ack["type"], "ack");
            assert_eq!(reply["from"], "bot", "{reply}");
            welcome["conversation_id"].as_str().unwrap().to_owned()
        }
    }));
    let (analyses, conversations) = tokio::join!(analyses, chats);
    let refused = analyses
        .iter()
        .filter(|(status, body)| *status == 503 && body["error"]["code"] == "unavailable")
        .count();
    let ok = analyses.iter().filter(|(status, _)| *status == 200).count();
    assert!(refused > 0, "the queue of 1 never overflowed");
    assert_eq!(refused + ok, analyses.len(), "{analyses:?}");
    for id in conversations {
        let transcript = app.transcript(&id).await;
        assert!(
            transcript
                .iter()
                .any(|m| m["text"] == "Do you ship to Switzerland?"),
            "{transcript:?}"
        );
    }
}

/// A binary unpacked elsewhere, with `models/` and `intents/` beside it,
/// loads those and says so.
#[test]
fn a_binary_finds_its_models_beside_itself() {
    let release = tempfile::tempdir().unwrap();
    let binary = release.path().join("frontdesk");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_frontdesk"), &binary).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_frontdesk"), &binary).unwrap();
    }
    let built = std::path::Path::new(env!("CARGO_BIN_EXE_frontdesk"))
        .parent()
        .unwrap()
        .join("libonnxruntime.so.1.31.1");
    std::os::unix::fs::symlink(built, release.path().join("libonnxruntime.so.1.31.1")).unwrap();
    for dir in ["models", "intents"] {
        std::os::unix::fs::symlink(repo(dir), release.path().join(dir)).unwrap();
    }
    let (elsewhere, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let log = elsewhere.path().join("log.txt");
    let mut child = Command::new(&binary)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data.path())
        .current_dir(elsewhere.path())
        .env("FRONTDESK_OPERATOR_TOKEN", OPERATOR)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    listening_address(child.stdout.take().unwrap());
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    let expected = format!("models={}", release.path().join("models").display());
    assert!(log.contains(&expected), "{expected} not in:\n{log}");
}
