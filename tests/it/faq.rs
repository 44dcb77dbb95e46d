//! FAQ authoring over REST, and the bot answering from the edits.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn an_edit_is_answered_by_the_very_next_turn() {
    let app = spawn_app().await;
    let author = app.author_token().await;
    let (mut chat, _) = app.conversation().await;
    let (_, before) = chat
        .ask("c1", "Do you have a physical store I can visit?")
        .await;
    assert_eq!(before["faq_id"], "stores");

    let (status, mut entry) = app.get("/v1/faq/stores", &author).await;
    assert_eq!(status, 200);
    entry["answer"] = json!("Our new flagship store opened in Lübeck, Breite Straße 1.");
    let (status, updated) = app
        .send_json(Method::PUT, "/v1/faq/stores", &author, entry)
        .await;
    assert_eq!(status, 200, "{updated}");

    // No waiting: the PUT returns after the index commit and reload.
    let (_, after) = chat
        .ask("c2", "Do you have a physical store I can visit?")
        .await;
    assert_eq!(
        after["text"],
        "Our new flagship store opened in Lübeck, Breite Straße 1."
    );
}

#[tokio::test]
async fn create_search_delete() {
    let app = spawn_app().await;
    let author = app.author_token().await;
    let draft = json!({
        "id": "pet-policy",
        "question": "Can I bring my dog to the store?",
        "phrasings": ["are pets allowed in the shop"],
        "answer": "Dogs on a lead are welcome in our Hamburg store.",
        "tags": ["store"]
    });
    let (status, created) = app
        .send_json(Method::POST, "/v1/faq", &author, draft.clone())
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(created["updated_at"].is_string());
    let (status, _) = app.send_json(Method::POST, "/v1/faq", &author, draft).await;
    assert_eq!(status, 409, "creating an existing id is a conflict");

    let (status, hits) = app
        .get("/v1/faq/search?q=are%20pets%20allowed", &author)
        .await;
    assert_eq!(status, 200);
    assert_eq!(hits[0]["id"], "pet-policy", "{hits}");
    assert!(hits[0]["score"].as_f64().unwrap() > 0.0);

    let (mut chat, _) = app.conversation().await;
    let (_, reply) = chat.ask("c1", "Can I bring my dog to the store?").await;
    assert_eq!(reply["faq_id"], "pet-policy");

    let r = app
        .http()
        .delete(app.url("/v1/faq/pet-policy"))
        .bearer_auth(&author)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = app.get("/v1/faq/pet-policy", &author).await;
    assert_eq!(status, 404);
    let (_, reply) = chat.ask("c2", "Can I bring my dog to the store?").await;
    assert_ne!(reply["faq_id"], "pet-policy");
}

#[tokio::test]
async fn invalid_entries_are_rejected_with_the_reason() {
    let app = spawn_app().await;
    let author = app.author_token().await;
    let cases = [
        json!({"question": "", "answer": "x"}),
        json!({"id": "Not A Slug", "question": "q", "answer": "a"}),
        json!({"question": "q"}),
        json!({"question": "q", "answer": "a", "colour": "red"}),
    ];
    for body in cases {
        let (status, error) = app
            .send_json(Method::POST, "/v1/faq", &author, body.clone())
            .await;
        assert_eq!(status, 400, "{body} -> {error}");
        assert_eq!(error["error"]["code"], "bad_frame");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
    }
    let r = app
        .http()
        .post(app.url("/v1/faq"))
        .bearer_auth(&author)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (status, _) = app
        .send_json(
            Method::PUT,
            "/v1/faq/nope",
            &author,
            json!({"question": "q", "answer": "a"}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_list_holds_the_demo_faq() {
    let app = spawn_app().await;
    let (status, list) = app.get("/v1/faq", OPERATOR).await;
    assert_eq!(status, 200);
    assert!(list.as_array().unwrap().len() >= 30);
}

#[tokio::test]
async fn a_damaged_index_is_rebuilt_from_the_store() {
    let app = spawn_app().await;
    let author = app.author_token().await;
    let draft = json!({"id": "kayaks", "question": "Do you rent kayaks?", "answer": "Not yet."});
    assert_eq!(
        app.send_json(Method::POST, "/v1/faq", &author, draft)
            .await
            .0,
        201
    );
    let dir = app.stop().await;

    std::fs::write(
        dir.path().join("faq-index/meta.json"),
        b"{ this is not an index",
    )
    .unwrap();
    let app = spawn_in(dir, |_| {}).await;
    let (mut chat, _) = app.conversation().await;
    let (_, reply) = chat.ask("c1", "Do you rent kayaks?").await;
    assert_eq!(reply["faq_id"], "kayaks");
}
