//! The desk's tools over the real server: who a token is, canned replies,
//! transcript search, labels, who is viewing, transfers and automatic
//! assignment, business hours, idle conversations closed by the bot, and
//! the report figures.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::handoff::{agent, escalate, id, next_of, next_where, say};
use crate::helpers::*;

async fn claim(agent: &mut Chat, conversation: &str) {
    agent
        .send(json!({"type": "claim", "conversation_id": conversation}))
        .await;
    next_where(agent, |f| {
        f["type"] == "conversation" && f["conversation"]["id"] == conversation
    })
    .await;
}

/// Poll `path` until `done` holds for the body.
async fn poll(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    loop {
        let (status, body) = app.get(path, OPERATOR).await;
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never got there: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn me_names_the_role_of_every_token() {
    let app = spawn_app().await;
    let agent = app.agent_token("Alex").await;
    let author = app.author_token().await;
    for (token, role) in [
        (agent.as_str(), "agent"),
        (author.as_str(), "author"),
        (OPERATOR, "operator"),
    ] {
        let (status, body) = app.get("/v1/me", token).await;
        assert_eq!((status, body["role"].as_str()), (200, Some(role)), "{body}");
    }
    let (status, body) = app.get("/v1/me", "not-a-token").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("unauthorized"))
    );
}

#[tokio::test]
async fn canned_replies_are_shared_unique_and_checked() {
    let app = spawn_app().await;
    let agent = app.agent_token("Alex").await;
    let reply = json!({"shortcut": "Refund", "title": "Refund timeline", "text": "Hi {{first_name}}, refunds take 5 days."});
    let (status, created) = app
        .send_json(Method::POST, "/v1/canned", &agent, reply.clone())
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["shortcut"], "refund");
    let (status, taken) = app
        .send_json(Method::POST, "/v1/canned", OPERATOR, reply)
        .await;
    assert_eq!(
        (status, &taken["error"]["code"]),
        (409, &json!("conflict")),
        "{taken}"
    );
    let (status, bad) = app
        .send_json(
            Method::POST,
            "/v1/canned",
            &agent,
            json!({"shortcut": "a b", "title": "t", "text": "x"}),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    let author = app.author_token().await;
    let (status, _) = app.get("/v1/canned", &author).await;
    assert_eq!(status, 403);
    let path = format!("/v1/canned/{}", id(&created, "id"));
    let (status, renamed) = app
        .send_json(
            Method::PUT,
            &path,
            &agent,
            json!({"shortcut": "refunds", "title": "Refunds", "text": "Soon."}),
        )
        .await;
    assert_eq!(
        (status, &renamed["shortcut"]),
        (200, &json!("refunds")),
        "{renamed}"
    );
    // The old shortcut is free again.
    let (status, _) = app
        .send_json(
            Method::POST,
            "/v1/canned",
            &agent,
            json!({"shortcut": "refund", "title": "t", "text": "x"}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, list) = app.get("/v1/canned", &agent).await;
    let shortcuts: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["shortcut"].clone())
        .collect();
    assert_eq!(shortcuts, vec![json!("refund"), json!("refunds")]);
    let r = app
        .http()
        .delete(app.url(&path))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .http()
        .delete(app.url(&path))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn search_finds_words_names_and_emails_with_filters_and_forgets_the_erased() {
    let app = spawn_app().await;
    let mut chat = app.chat().await;
    chat.send(
        json!({"type": "hello", "customer": {"name": "Ana Lima", "email": "ana@example.com"}}),
    )
    .await;
    let welcome = chat.recv_type("welcome").await;
    chat.ask("m1", "My tarpaulin never arrived at the cottage")
        .await;
    let (mut other, _) = app.conversation().await;
    other.ask("m1", "How long does shipping take?").await;
    let conversation = id(&welcome, "conversation_id");
    let agent = app.agent_token("Alex").await;
    let found = |q: &str| format!("/v1/conversations/search?q={q}");
    // A typo, a word from the transcript, the email.
    let hits = poll(&app, &found("tarpaulinn"), |b| b["total"] == 1).await;
    assert_eq!(hits["hits"][0]["conversation_id"], conversation.as_str());
    assert!(
        hits["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("tarpaulin"),
        "{hits}"
    );
    assert_eq!(hits["hits"][0]["customer_email"], "ana@example.com");
    let (_, hits) = app.get(&found("ana@example.com"), &agent).await;
    assert_eq!(
        hits["hits"][0]["conversation_id"],
        conversation.as_str(),
        "{hits}"
    );
    let (_, hits) = app
        .get(&format!("{}&status=closed", found("tarpaulin")), &agent)
        .await;
    assert_eq!(hits["total"], 0, "{hits}");
    // No words: every conversation with a message, newest first.
    let (_, all) = app.get("/v1/conversations/search?status=bot", &agent).await;
    assert_eq!(all["total"], 2, "{all}");
    let (status, _) = app.get("/v1/conversations/search?limit=0", &agent).await;
    assert_eq!(status, 400);
    // Searching is recorded like any read of customer data.
    let (_, audit) = app.get("/v1/audit", OPERATOR).await;
    assert!(audit.to_string().contains("\"search\""), "{audit}");
    let r = app
        .http()
        .delete(app.url(&format!("/v1/customers/{}", id(&welcome, "customer_id"))))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, hits) = app.get(&found("tarpaulin"), &agent).await;
    assert_eq!(
        hits["total"], 0,
        "an erased conversation is not found: {hits}"
    );
}

#[tokio::test]
async fn labels_viewers_and_previews_reach_every_console() {
    let app = spawn_app().await;
    let (mut a, _) = agent(&app, &app.agent_token("Alex").await).await;
    let (mut b, _) = agent(&app, &app.agent_token("Blair").await).await;
    let (mut chat, welcome) = app.conversation().await;
    escalate(&mut chat, "m1", "I want to talk to a human").await;
    let conversation = id(&welcome, "conversation_id");
    let line = |q: &Value| {
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["conversation_id"] == conversation.as_str())
            .cloned()
    };
    let queue = next_where(&mut a, |f| f["type"] == "queue" && line(f).is_some()).await;
    let item = line(&queue).unwrap();
    // The bot's last words before the handoff.
    assert_eq!(item["last_message"]["from"], "bot", "{item}");
    assert_eq!(item["labels"], json!([]));
    claim(&mut a, &conversation).await;
    b.send(json!({"type": "watch", "conversation_id": conversation}))
        .await;
    let viewers = next_where(&mut a, |f| {
        f["type"] == "viewers" && f["agents"].as_array().unwrap().len() == 2
    })
    .await;
    assert_eq!(viewers["conversation_id"], conversation.as_str());
    a.send(json!({"type": "label", "conversation_id": conversation, "labels": ["VIP", "refund", "vip"]}))
        .await;
    let labels = next_of(&mut b, "labels").await;
    assert_eq!(labels["labels"], json!(["refund", "vip"]));
    let queue = next_where(&mut b, |f| {
        f["type"] == "queue" && line(f).is_some_and(|i| i["labels"] == json!(["refund", "vip"]))
    })
    .await;
    assert_eq!(
        line(&queue).unwrap()["viewers"].as_array().unwrap().len(),
        2
    );
    a.send(json!({"type": "label", "conversation_id": conversation, "labels": ["<b>"]}))
        .await;
    let err = next_of(&mut a, "error").await;
    assert_eq!(err["code"], "bad_frame", "{err}");
    b.send(json!({"type": "unwatch", "conversation_id": conversation}))
        .await;
    next_where(&mut a, |f| {
        f["type"] == "viewers" && f["agents"].as_array().unwrap().len() == 1
    })
    .await;
    // The agent's reply becomes the preview.
    a.send(json!({"type": "message", "conversation_id": conversation, "client_id": "a1", "text": "Hello, I am here."}))
        .await;
    next_where(&mut b, |f| {
        f["type"] == "queue" && line(f).is_some_and(|i| i["last_message"]["from"] == "agent")
    })
    .await;
    let (_, stats) = app.get("/v1/stats", OPERATOR).await;
    assert_eq!(stats["labels"]["vip"], 1, "{stats}");
}

#[tokio::test]
async fn a_transfer_tells_the_receiver_and_refusals_are_named() {
    let app = spawn_with(|c| c.handoff.agent_capacity = 1).await;
    let (mut a, _) = agent(&app, &app.agent_token("Alex").await).await;
    let (mut b, _) = agent(&app, &app.agent_token("Blair").await).await;
    let (mut first, w1) = app.conversation().await;
    escalate(&mut first, "m1", "I want to talk to a human").await;
    let (mut second, w2) = app.conversation().await;
    escalate(&mut second, "m1", "I want to talk to a human").await;
    let (c1, c2) = (id(&w1, "conversation_id"), id(&w2, "conversation_id"));
    claim(&mut a, &c1).await;
    a.send(json!({"type": "claim", "conversation_id": c2}))
        .await;
    let full = next_of(&mut a, "error").await;
    assert_eq!(full["refusal"], "at_capacity", "{full}");
    let welcome_b = {
        let (_, q) = app.get("/v1/agents", OPERATOR).await;
        q.as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "Blair")
            .unwrap()["id"]
            .clone()
    };
    a.send(json!({"type": "transfer", "conversation_id": c1, "agent_id": welcome_b}))
        .await;
    let told = next_of(&mut b, "assigned").await;
    assert_eq!(
        (told["how"].as_str(), told["by"]["name"].as_str()),
        (Some("transfer"), Some("Alex")),
        "{told}"
    );
    assert_eq!(told["conversation_id"], c1.as_str());
    // Blair is full now; Alex lost the race for c1 long ago.
    claim(&mut a, &c2).await;
    b.send(json!({"type": "claim", "conversation_id": c2}))
        .await;
    let lost = next_of(&mut b, "error").await;
    assert!(
        matches!(lost["refusal"].as_str(), Some("taken" | "at_capacity")),
        "{lost}"
    );
}

#[tokio::test]
async fn automatic_assignment_gives_the_least_loaded_agent_what_waits() {
    let app = spawn_with(|c| {
        c.handoff.assignment = frontdesk::config::Assignment::Auto;
        c.handoff.agent_capacity = 1;
    })
    .await;
    let (mut chat, welcome) = app.conversation().await;
    let queued = escalate(&mut chat, "m1", "I want to talk to a human").await;
    assert_eq!(queued["status"], "queued", "nobody is online yet: {queued}");
    let (mut a, _) = agent(&app, &app.agent_token("Alex").await).await;
    let told = next_of(&mut a, "assigned").await;
    assert_eq!(
        (told["how"].as_str(), told["by"].is_null()),
        (Some("auto"), true),
        "{told}"
    );
    assert_eq!(told["conversation_id"], welcome["conversation_id"]);
    let joined = next_where(&mut chat, |f| {
        f["type"] == "status" && f["status"] == "agent"
    })
    .await;
    assert_eq!(joined["agent_name"], "Alex");
    // Alex is full: the next one waits for room.
    let (mut other, _) = app.conversation().await;
    let queued = escalate(&mut other, "m1", "I want to talk to a human").await;
    assert_eq!(queued["status"], "queued");
    a.send(json!({"type": "close", "conversation_id": welcome["conversation_id"]}))
        .await;
    next_of(&mut a, "assigned").await;
    next_where(&mut other, |f| {
        f["type"] == "status" && f["status"] == "agent"
    })
    .await;
}

#[tokio::test]
async fn out_of_hours_customers_get_the_contact_form_and_the_widget_knows() {
    let app = spawn_with(|c| {
        // Hours that are never now: a day of the week that is not today.
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
            .format("%a")
            .to_string()
            .to_lowercase();
        c.business_hours = frontdesk::config::BusinessHours {
            enabled: true,
            days: vec![tomorrow],
            reply_time: "an hour".into(),
            ..Default::default()
        };
    })
    .await;
    let (_a, _) = agent(&app, &app.agent_token("Alex").await).await;
    let (mut chat, welcome) = app.conversation().await;
    let availability = &welcome["availability"];
    assert_eq!(availability["open"], false, "{welcome}");
    assert_eq!(availability["agents_online"], false);
    assert_eq!(availability["reply_time"], "an hour");
    assert!(availability["opens_at"].is_string());
    let queued = escalate(&mut chat, "m1", "I want to talk to a human").await;
    assert_eq!(
        (queued["status"].as_str(), &queued["agents_online"]),
        (Some("queued"), &json!(false)),
        "{queued}"
    );
}

#[tokio::test]
async fn idle_bot_conversations_close_as_resolved_by_the_bot() {
    let app = spawn_with(|c| c.conversations.close_idle_after = Duration::from_millis(600)).await;
    let (mut chat, welcome) = app.conversation().await;
    chat.ask("m1", "How long does shipping take?").await;
    let closed = next_where(&mut chat, |f| {
        f["type"] == "status" && f["status"] == "closed"
    })
    .await;
    assert!(
        closed["reason"]
            .as_str()
            .unwrap()
            .contains("without messages"),
        "{closed}"
    );
    let events = crate::handoff::events_of(
        &app,
        welcome["conversation_id"].as_str().unwrap(),
        "conversation_closed",
    )
    .await;
    assert_eq!(events[0]["resolution"], "resolved_by_bot", "{events:?}");
    // A visitor who only opened the widget left nothing to close or count.
    let (_idle, _) = app.conversation().await;
    let stats = poll(&app, "/v1/stats", |s| s["closed"] == 1).await;
    assert_eq!(
        (
            stats["conversations"].as_u64(),
            stats["bot_resolved"].as_u64()
        ),
        (Some(1), Some(1)),
        "{stats}"
    );
    assert_eq!(stats["deflection_rate"], 1.0);
}

#[tokio::test]
async fn a_changed_rating_counts_once_and_reports_time_the_agents() {
    let app = spawn_app().await;
    let (mut a, _) = agent(&app, &app.agent_token("Alex").await).await;
    let (mut chat, welcome) = app.conversation().await;
    escalate(&mut chat, "m1", "I want to talk to a human").await;
    let conversation = id(&welcome, "conversation_id");
    claim(&mut a, &conversation).await;
    a.send(json!({"type": "message", "conversation_id": conversation, "client_id": "a1", "text": "Hi, Alex here."}))
        .await;
    next_of(&mut a, "ack").await;
    a.send(json!({"type": "close", "conversation_id": conversation, "resolution": "answered"}))
        .await;
    next_where(&mut chat, |f| {
        f["type"] == "status" && f["status"] == "closed"
    })
    .await;
    for score in [5, 1, 3] {
        chat.send(json!({"type": "rating", "score": score, "comment": "ok"}))
            .await;
    }
    let stats = poll(&app, "/v1/stats?days=1", |s| s["csat"]["average"] == 3.0).await;
    assert_eq!(stats["csat"]["ratings"], 1, "{stats}");
    let reports = &stats["reports"];
    assert_eq!(reports["first_response"]["count"], 1, "{stats}");
    assert_eq!(reports["resolution"]["count"], 1);
    assert_eq!(reports["by_agent"][0]["name"], "Alex");
    assert_eq!(reports["by_agent"][0]["csat_average"], 3.0);
    assert_eq!(reports["by_reason"][0]["code"], "handoff_requested");
    let today = chrono::Utc::now().date_naive();
    let (_, ranged) = app
        .get(&format!("/v1/stats?from={today}&to={today}"), OPERATOR)
        .await;
    assert_eq!(ranged["conversations"], 1, "{ranged}");
    let (_, before) = app
        .get("/v1/stats?from=2020-01-01&to=2020-01-31", OPERATOR)
        .await;
    assert_eq!(before["conversations"], 0, "{before}");
    let (status, _) = app
        .get("/v1/stats?from=2020-02-01&to=2020-01-01", OPERATOR)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn rate_limited_messages_say_how_long_to_wait() {
    let app = spawn_with(|c| {
        c.limits.messages_per_second = 2.0;
        c.limits.message_burst = 1;
    })
    .await;
    let (mut chat, _) = app.conversation().await;
    say(&mut chat, "m1", "hello").await;
    say(&mut chat, "m2", "hello again").await;
    let limited = next_where(&mut chat, |f| {
        f["type"] == "error" && f["code"] == "rate_limited"
    })
    .await;
    let wait = limited["retry_after_ms"].as_u64().expect("a retry hint");
    assert!((1..=1000).contains(&wait), "{limited}");
}
