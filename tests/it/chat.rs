//! Protocol v1 end to end.

use std::time::Duration;

use serde_json::json;

use crate::handoff::{agent, escalate, id, next_of};
use crate::helpers::*;

#[tokio::test]
async fn hello_message_ack_and_faq_answer() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    assert_eq!(welcome["resumed"], false);
    assert_eq!(welcome["status"], "bot");
    assert!(welcome["resume_token"]
        .as_str()
        .is_some_and(|t| t.len() > 20));

    chat.send(json!({"type": "message", "client_id": "c1", "text": "How long do I have to return an item?"}))
        .await;
    let frames = chat.until_bot_message().await;
    let types: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ack", "message", "message"], "{frames:?}");
    assert_eq!(
        frames[0],
        json!({"type": "ack", "client_id": "c1", "seq": 1})
    );
    assert_eq!(frames[1]["seq"], 1);
    assert_eq!(frames[1]["from"], "customer");
    assert_eq!(frames[1]["client_id"], "c1");
    let reply = &frames[2];
    assert_eq!(reply["seq"], 2);
    assert_eq!(reply["faq_id"], "returns-window");
    let (_, entry) = app.get("/v1/faq/returns-window", OPERATOR).await;
    assert_eq!(reply["text"], entry["answer"]);
    assert!(chrono::DateTime::parse_from_rfc3339(reply["at"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn an_unclear_question_gets_suggestions_or_a_rephrase() {
    let app = spawn_app().await;
    let (mut chat, _) = app.conversation().await;
    let (_, reply) = chat.ask("c1", "change").await;
    assert!(reply.get("faq_id").is_none(), "{reply}");
    let suggestions = reply["suggestions"].as_array().expect("suggestions");
    assert!(!suggestions.is_empty() && suggestions.len() <= 3, "{reply}");

    let (_, reply) = chat.ask("c2", "zxqv blorft").await;
    assert!(
        reply.get("faq_id").is_none() && reply.get("suggestions").is_none(),
        "{reply}"
    );
}

/// Questions that share words and topic with an FAQ entry but that it
/// does not answer: the bot must not answer them from that entry.
#[tokio::test]
async fn questions_near_an_entry_that_it_does_not_answer_get_no_answer() {
    let app = spawn_app().await;
    for text in [
        "Can I get a bulk discount on gift cards for our 30 employees?",
        "is the hamburg store wheelchair accessible?",
        "can you embroider our club logo on fleeces?",
    ] {
        // A conversation each: three unanswered turns in a row would go
        // to a person.
        let (mut chat, _) = app.conversation().await;
        let (_, reply) = chat.ask("q1", text).await;
        assert_eq!(reply["from"], "bot", "{reply}");
        assert!(reply.get("faq_id").is_none(), "{text:?} answered: {reply}");
    }
}

#[tokio::test]
async fn resume_replays_exactly_the_missed_messages() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    let token = welcome["resume_token"].as_str().unwrap().to_owned();
    chat.ask("c1", "Which payment methods do you accept?").await;
    chat.ask("c2", "How do I reset my password?").await;
    drop(chat);

    // The client had seen up to seq 2; it must get 3 and 4, in order, once.
    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello", "resume_token": token, "last_seq": 2}))
        .await;
    let welcome2 = chat.recv_type("welcome").await;
    assert_eq!(welcome2["resumed"], true);
    assert_eq!(welcome2["conversation_id"], welcome["conversation_id"]);
    let m3 = chat.recv().await;
    let m4 = chat.recv().await;
    assert_eq!(
        (m3["seq"].as_u64(), m3["from"].as_str()),
        (Some(3), Some("customer"))
    );
    assert_eq!(
        (m4["seq"].as_u64(), m4["from"].as_str()),
        (Some(4), Some("bot"))
    );

    // Nothing replayed twice: the next frames are the new turn's.
    let (ack, reply) = chat.ask("c3", "Do you have a store?").await;
    assert_eq!(ack["seq"], 5);
    assert_eq!(reply["seq"], 6);
}

#[tokio::test]
async fn a_resent_client_id_is_acked_with_its_seq_and_stored_once() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    let (ack, _) = chat.ask("same", "How much does shipping cost?").await;
    assert_eq!(ack["seq"], 1);

    // A resend after reconnecting (the ack was lost, say).
    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello", "resume_token": welcome["resume_token"], "last_seq": 2}))
        .await;
    chat.recv_type("welcome").await;
    chat.send(
        json!({"type": "message", "client_id": "same", "text": "How much does shipping cost?"}),
    )
    .await;
    assert_eq!(
        chat.recv_type("ack").await,
        json!({"type": "ack", "client_id": "same", "seq": 1})
    );

    let messages = app
        .transcript(welcome["conversation_id"].as_str().unwrap())
        .await;
    let seqs: Vec<u64> = messages
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2], "stored once, no bot reply to the duplicate");
}

#[tokio::test]
async fn two_sockets_on_one_conversation_both_see_every_message() {
    let app = spawn_app().await;
    let (mut first, welcome) = app.conversation().await;
    first.ask("c0", "How much does shipping cost?").await;
    let mut second = app.chat().await;
    second
        .send(json!({"type": "hello", "resume_token": welcome["resume_token"], "last_seq": 2}))
        .await;
    second.recv_type("welcome").await;
    first.ask("c1", "Do you ship to Switzerland?").await;
    let m3 = second.recv_type("message").await;
    let m4 = second.recv_type("message").await;
    assert_eq!((m3["seq"].as_u64(), m4["seq"].as_u64()), (Some(3), Some(4)));
}

#[tokio::test]
async fn feedback_rating_and_close_land_in_the_timeline() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    let (_, reply) = chat.ask("c1", "How do I reset my password?").await;
    chat.send(json!({"type": "typing"})).await;
    chat.send(json!({"type": "feedback", "seq": reply["seq"], "helpful": true}))
        .await;
    chat.send(json!({"type": "close"})).await;
    let status = chat.recv_type("status").await;
    assert_eq!(status["status"], "closed");
    chat.send(json!({"type": "rating", "score": 5, "comment": "quick!"}))
        .await;
    // A message after close is refused, and says so.
    chat.send(json!({"type": "message", "client_id": "late", "text": "hello?"}))
        .await;
    let error = chat.recv_type("error").await;
    assert_eq!(
        (error["code"].as_str(), error["client_id"].as_str()),
        (Some("conflict"), Some("late"))
    );

    let customer = welcome["customer_id"].as_str().unwrap();
    let (status, timeline) = app
        .get(&format!("/v1/customers/{customer}/timeline"), OPERATOR)
        .await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "conversation_opened",
            "message",
            "message",
            "feedback",
            "conversation_closed",
            "rating"
        ]
    );
    let events = timeline["events"].as_array().unwrap();
    assert_eq!(events[1]["message"]["from"], "customer");
    assert_eq!(events[3]["helpful"], true);
    assert_eq!(events[5]["score"], 5);
}

const IDENTITY_SECRET: &str = "test-identity-secret-0123456789abcdef";

/// What the host site's backend computes for its signed-in customer.
fn signature(external_id: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(IDENTITY_SECRET.as_bytes()).unwrap();
    mac.update(external_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn returning_customers_share_one_timeline() {
    let app = spawn_with(|c| c.identity_secret = Some(IDENTITY_SECRET.into())).await;
    let mut ids = Vec::new();
    for q in [
        "How do I reset my password?",
        "How much does shipping cost?",
    ] {
        let mut chat = app.chat().await;
        let customer =
            json!({"external_id": "shop-42", "name": "Kim", "signature": signature("shop-42")});
        chat.send(json!({"type": "hello", "customer": customer}))
            .await;
        let welcome = chat.recv_type("welcome").await;
        chat.ask("c1", q).await;
        ids.push(welcome["customer_id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    let (_, timeline) = app
        .get(
            &format!("/v1/customers/{}/timeline", ids[0].as_str().unwrap()),
            OPERATOR,
        )
        .await;
    assert_eq!(timeline["customer"]["name"], "Kim");
    let opened = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "conversation_opened");
    assert_eq!(opened.count(), 2);
}

/// Naming someone else's `external_id` without the site's signature gets
/// an anonymous record of one's own: the victim's record, name and email
/// stay as they were and their timeline gains nothing.
#[tokio::test]
async fn an_unsigned_external_id_cannot_take_over_a_customer() {
    let app = spawn_with(|c| c.identity_secret = Some(IDENTITY_SECRET.into())).await;
    let mut victim = app.chat().await;
    let customer = json!({"external_id": "shop-7", "name": "Kim", "email": "kim@example.com",
                          "signature": signature("shop-7")});
    victim
        .send(json!({"type": "hello", "customer": customer}))
        .await;
    let victim_id = victim.recv_type("welcome").await["customer_id"].clone();
    victim.ask("v1", "How much does shipping cost?").await;

    for forged in [
        json!({"external_id": "shop-7", "name": "Mallory", "email": "m@evil.example"}),
        json!({"external_id": "shop-7", "name": "Mallory", "signature": signature("shop-8")}),
        json!({"external_id": "shop-7", "name": "Mallory", "signature": "00ff"}),
    ] {
        let mut attacker = app.chat().await;
        attacker
            .send(json!({"type": "hello", "customer": forged}))
            .await;
        let welcome = attacker.recv_type("welcome").await;
        assert_ne!(welcome["customer_id"], victim_id, "{forged}");
        attacker.ask("a1", "Where is my order?").await;
    }
    let (_, timeline) = app
        .get(
            &format!("/v1/customers/{}/timeline", victim_id.as_str().unwrap()),
            OPERATOR,
        )
        .await;
    assert_eq!(timeline["customer"]["name"], "Kim");
    assert_eq!(timeline["customer"]["email"], "kim@example.com");
    let opened = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "conversation_opened");
    assert_eq!(opened.count(), 1);
}

#[tokio::test]
async fn conversations_are_listed_newest_first_in_pages() {
    let app = spawn_app().await;
    let mut opened = Vec::new();
    for _ in 0..5 {
        let (mut chat, welcome) = app.conversation().await;
        chat.ask("c1", "How much does shipping cost?").await;
        opened.push(welcome["conversation_id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut path = "/v1/conversations?limit=2".to_owned();
    loop {
        let (status, page) = app.get(&path, OPERATOR).await;
        assert_eq!(status, 200, "{page}");
        let items = page["conversations"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/conversations?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut expected = opened.clone();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "every conversation exactly once");
    let (status, _) = app.get("/v1/conversations?limit=0", OPERATOR).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn shutdown_closes_sockets_with_a_close_frame_and_keeps_the_data() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    chat.ask("c1", "How do I reset my password?").await;
    let stopping = tokio::spawn(app.stop());
    let frame = chat.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1001);
    let dir = stopping.await.unwrap();

    let app = spawn_in(dir, |_| {}).await;
    let messages = app
        .transcript(welcome["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(messages.len(), 2);
}

/// A long conversation resumed from the start by a client that reads
/// slowly: the replay streams at the client's pace, every message once and
/// in order, and the socket goes on working after it.
#[tokio::test]
async fn a_long_conversation_replays_in_full_to_a_slow_reader() {
    const MESSAGES: u64 = 5000;
    const WINDOW: u64 = 100;
    let app = spawn_with(|c| {
        c.limits.outbound_queue = 8;
        c.limits.messages_per_second = 1e6;
        c.limits.message_burst = 1_000_000;
    })
    .await;
    let (mut chat, welcome) = app.conversation().await;
    let resume = id(&welcome, "resume_token");
    let conversation_id = id(&welcome, "conversation_id");
    escalate(&mut chat, "c1", "I want to talk to a human").await;
    drop(chat);

    // An agent fills the conversation fast: no models run for agent
    // messages.
    let token = app.agent_token("Alex").await;
    let (mut console, _) = agent(&app, &token).await;
    console
        .send(json!({"type": "claim", "conversation_id": conversation_id}))
        .await;
    next_of(&mut console, "conversation").await;
    let mut sent = 0;
    while sent < MESSAGES {
        for n in sent..sent + WINDOW {
            console
                .send(
                    json!({"type": "message", "conversation_id": conversation_id,
                             "client_id": format!("a{n}"), "text": format!("line {n}")}),
                )
                .await;
        }
        let mut acked = 0;
        while acked < WINDOW {
            let f = console.recv().await;
            assert_ne!(f["type"], "error", "{f}");
            if f["type"] == "ack" {
                acked += 1;
            }
        }
        sent += WINDOW;
    }
    let total = app.transcript(&conversation_id).await.len() as u64;
    assert!(total >= MESSAGES + 2, "{total} messages stored");

    // A new tab: resume from nothing, and do not read for a while.
    let mut tab = app.chat().await;
    tab.send(json!({"type": "hello", "resume_token": resume, "last_seq": 0}))
        .await;
    assert_eq!(tab.recv_type("welcome").await["resumed"], true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut expected = 1;
    while expected <= total {
        let f = tab.recv().await;
        if f["type"] != "message" {
            continue;
        }
        assert_eq!(f["seq"].as_u64(), Some(expected), "{f}");
        expected += 1;
        if expected % 1000 == 0 {
            // Slow again, with the server's queue full.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let status = tab.recv_type("status").await;
    assert_eq!(status["status"], "agent", "{status}");
    tab.send(json!({"type": "message", "client_id": "after", "text": "still there?"}))
        .await;
    let ack = tab.recv_type("ack").await;
    assert_eq!(ack["seq"].as_u64(), Some(total + 1));
}

/// Opening the widget costs nothing: a conversation is stored with its
/// first message, under the ids `welcome` gave, and a visitor who says
/// nothing leaves no trace.
#[tokio::test]
async fn a_conversation_is_stored_with_its_first_message() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let (mut silent, _) = app.conversation().await;
        silent.send(json!({"type": "close"})).await;
        assert_eq!(silent.recv_type("status").await["status"], "closed");
    }
    let (_, page) = app.get("/v1/conversations", OPERATOR).await;
    assert_eq!(page["conversations"].as_array().unwrap().len(), 0, "{page}");

    let (mut chat, welcome) = app.conversation().await;
    chat.send(json!({"type": "rating", "score": 5})).await;
    assert_eq!(chat.recv().await["code"], "bad_frame");
    let (ack, _) = chat.ask("c1", "How much does shipping cost?").await;
    assert_eq!(ack["seq"], 1);
    let (_, page) = app.get("/v1/conversations", OPERATOR).await;
    let listed = page["conversations"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{page}");
    assert_eq!(listed[0]["id"], welcome["conversation_id"]);
    assert_eq!(listed[0]["customer_id"], welcome["customer_id"]);
    // The resume token works from then on.
    let mut tab = app.chat().await;
    tab.send(json!({"type": "hello", "resume_token": welcome["resume_token"], "last_seq": 0}))
        .await;
    assert_eq!(tab.recv_type("welcome").await["resumed"], true);
}

/// Many customers who only opened the widget: each socket keeps its
/// conversation open and idle, stores nothing, and a customer who then
/// chats (a new one, and one of the idle ones) is answered as usual.
#[tokio::test]
async fn many_idle_sockets_after_hello_then_one_chatting() {
    const IDLE: usize = 200;
    let app = spawn_with(|c| {
        c.limits.connections_per_ip = IDLE + 8;
        c.limits.conversation_burst = IDLE as u32 + 8;
    })
    .await;
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let (chat, welcome) = app.conversation().await;
        assert_eq!(welcome["status"], "bot");
        idle.push(chat);
    }
    let agent = app.agent_token("Ann").await;
    let (status, page) = app.get("/v1/conversations", &agent).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["conversations"],
        json!([]),
        "hello alone stores nothing"
    );

    let (mut chat, _) = app.conversation().await;
    let (ack, reply) = chat
        .ask("c1", "How long do I have to return an item?")
        .await;
    assert_eq!(ack["seq"], 1);
    assert_eq!(reply["from"], "bot");
    let waited = idle.last_mut().unwrap();
    let (ack, reply) = waited.ask("w1", "How much does shipping cost?").await;
    assert_eq!(ack["seq"], 1);
    assert_eq!(reply["from"], "bot");

    let (_, page) = app.get("/v1/conversations", &agent).await;
    let stored = page["conversations"].as_array().expect("conversations");
    assert_eq!(stored.len(), 2, "{page}");
    // The other idle sockets are still open.
    let (ack, _) = idle[0].ask("i1", "Hi there").await;
    assert_eq!(ack["seq"], 1);
}
