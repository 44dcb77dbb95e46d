//! Escalation: each trigger sends the conversation to the queue with its
//! code, its scores and a reason the customer reads.

use serde_json::json;

use crate::handoff::{agent, escalate, events_of, id, next_of, next_where, say};
use crate::helpers::*;

#[tokio::test]
async fn asking_for_a_person_queues_with_reason_and_position() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    let (_, reply) = chat.ask("m1", "I want to talk to a human").await;
    assert_eq!(reply["from"], "bot");
    let status = next_of(&mut chat, "status").await;
    assert_eq!(status["status"], "queued");
    assert_eq!(status["position"], 1);
    // Nobody is signed in to the console yet.
    assert_eq!(status["agents_online"], false);
    assert!(status["reason"].as_str().unwrap().contains("email"));

    let conversation = id(&welcome, "conversation_id");
    let escalated = events_of(&app, &conversation, "escalated").await;
    assert_eq!(escalated.len(), 1);
    let e = &escalated[0]["escalation"];
    assert_eq!(e["code"], "handoff_requested");
    assert_eq!(e["scores"]["intent"], "human_agent");
    assert!(e["message"].as_str().unwrap().len() > 10);

    let (status, queue) = app.get("/v1/queue", OPERATOR).await;
    assert_eq!(status, 200);
    assert_eq!(queue["items"][0]["conversation_id"], conversation.as_str());
    assert_eq!(queue["items"][0]["position"], 1);
    assert_eq!(queue["items"][0]["reason"]["code"], "handoff_requested");
}

#[tokio::test]
async fn each_trigger_escalates_with_its_code() {
    let app = spawn_app().await;
    let token = app.agent_token("Alex").await;
    let (_console, _) = agent(&app, &token).await;
    let cases = [
        (
            "I want to file a complaint about your service",
            "intent_needs_human",
            "intent",
        ),
        (
            "My order arrived late and the box was a bit damaged.",
            "negative_sentiment",
            "negative",
        ),
    ];
    for (text, code, score) in cases {
        let (mut chat, welcome) = app.conversation().await;
        let status = escalate(&mut chat, "m1", text).await;
        assert_eq!(status["status"], "queued", "{text}");
        assert_eq!(status["agents_online"], true);
        let events = events_of(&app, &id(&welcome, "conversation_id"), "escalated").await;
        assert_eq!(events[0]["escalation"]["code"], code, "{text}");
        assert!(
            !events[0]["escalation"]["scores"][score].is_null(),
            "{events:?}"
        );
    }

    // Unresolved: the third turn in a row without an answer.
    let (mut chat, welcome) = app.conversation().await;
    for (i, text) in ["qwzx blorp fnargle", "zorp quax vlim", "gribble snarf wup"]
        .iter()
        .enumerate()
    {
        say(&mut chat, &format!("u{i}"), text).await;
        if i < 2 {
            let reply = next_where(&mut chat, |f| f["from"] == "bot").await;
            assert!(reply["faq_id"].is_null(), "{reply}");
        }
    }
    let status = next_of(&mut chat, "status").await;
    assert_eq!(status["status"], "queued");
    let events = events_of(&app, &id(&welcome, "conversation_id"), "escalated").await;
    assert_eq!(events[0]["escalation"]["code"], "unresolved");
    assert_eq!(events[0]["escalation"]["scores"]["unresolved_turns"], 3);

    // Not helpful: an answer marked unhelpful, then a turn not answered.
    let (mut chat, welcome) = app.conversation().await;
    let (_, answer) = chat
        .ask("h1", "How long do I have to return an item?")
        .await;
    assert!(answer["faq_id"].is_string());
    chat.send(json!({"type": "feedback", "seq": answer["seq"], "helpful": false}))
        .await;
    let status = escalate(&mut chat, "h2", "qwzx blorp fnargle").await;
    assert_eq!(status["status"], "queued");
    let events = events_of(&app, &id(&welcome, "conversation_id"), "escalated").await;
    assert_eq!(events[0]["escalation"]["code"], "not_helpful");
}

#[tokio::test]
async fn a_negative_trend_escalates_where_one_message_does_not() {
    let app = spawn_with(|c| {
        c.escalation.strong_negative = 1.0;
        c.escalation.trend_turns = 2;
        c.escalation.trend_negative = 0.9;
    })
    .await;
    let (mut chat, welcome) = app.conversation().await;
    let (_, reply) = chat
        .ask("t1", "Where is my order? It has been two weeks.")
        .await;
    assert_eq!(reply["from"], "bot");
    let (_, reply) = chat
        .ask("t2", "I'm not happy, this is taking too long.")
        .await;
    assert_eq!(reply["from"], "bot");
    let status = escalate(&mut chat, "t3", "Still nothing works, this is frustrating.").await;
    assert_eq!(status["status"], "queued");
    let events = events_of(&app, &id(&welcome, "conversation_id"), "escalated").await;
    let e = &events[0]["escalation"];
    assert_eq!(e["code"], "negative_trend");
    assert!(e["scores"]["trend"].as_f64().unwrap() >= 0.9);
    assert_eq!(e["scores"]["trend_turns"], 2);
}
