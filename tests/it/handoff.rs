//! Escalation and human handoff end to end: the real models decide, the
//! agent socket claims and answers, the customer sees every change.

use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) async fn agent_socket(app: &TestApp) -> Chat {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/v1/agent", app.addr))
        .await
        .expect("agent socket connects");
    Chat { ws }
}

/// A signed-in agent console, past `welcome` and the first queue.
pub(crate) async fn agent(app: &TestApp, token: &str) -> (Chat, Value) {
    let mut a = agent_socket(app).await;
    a.send(json!({"type": "hello", "token": token})).await;
    let welcome = a.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let queue = next_of(&mut a, "queue").await;
    (a, queue)
}

/// The next frame of `kind`, skipping any other.
pub(crate) async fn next_of(socket: &mut Chat, kind: &str) -> Value {
    loop {
        let frame = socket.recv().await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

/// The next frame matching `pred`, skipping any other.
pub(crate) async fn next_where(socket: &mut Chat, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = socket.recv().await;
        if pred(&frame) {
            return frame;
        }
    }
}

pub(crate) async fn say(chat: &mut Chat, client_id: &str, text: &str) {
    chat.send(json!({"type": "message", "client_id": client_id, "text": text}))
        .await;
}

/// Send `text` and return the `queued` status it leads to.
pub(crate) async fn escalate(chat: &mut Chat, client_id: &str, text: &str) -> Value {
    say(chat, client_id, text).await;
    next_of(chat, "status").await
}

pub(crate) fn id(frame: &Value, field: &str) -> String {
    frame[field].as_str().unwrap().to_owned()
}

/// The timeline events of a conversation of `kind`.
pub(crate) async fn events_of(app: &TestApp, conversation: &str, kind: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/v1/conversations/{conversation}"), OPERATOR)
        .await;
    assert_eq!(status, 200, "{body}");
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn two_agents_racing_to_claim_exactly_one_wins() {
    let app = spawn_app().await;
    let (mut a, _) = agent(&app, &app.agent_token("Alex").await).await;
    let (mut b, _) = agent(&app, &app.agent_token("Blair").await).await;
    for round in 0..5 {
        let (mut chat, welcome) = app.conversation().await;
        escalate(&mut chat, "m1", "I want to talk to a human").await;
        let conversation = id(&welcome, "conversation_id");
        let claim = json!({"type": "claim", "conversation_id": conversation});
        tokio::join!(a.send(claim.clone()), b.send(claim));
        let is_outcome = |f: &Value| {
            f["conversation_id"] == conversation.as_str()
                && (f["type"] == "error" || f["type"] == "conversation")
                || f["conversation"]["id"] == conversation.as_str()
        };
        let (ra, rb) = tokio::join!(
            next_where(&mut a, is_outcome),
            next_where(&mut b, is_outcome)
        );
        let won: Vec<bool> = [&ra, &rb]
            .iter()
            .map(|f| f["type"] == "conversation")
            .collect();
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: {ra} / {rb}"
        );
        let lost = if won[0] { &rb } else { &ra };
        assert_eq!(lost["code"], "conflict", "{lost}");
        let winner = if won[0] { "Alex" } else { "Blair" };
        let status = next_where(&mut chat, |f| {
            f["type"] == "status" && f["status"] == "agent"
        })
        .await;
        assert_eq!(status["agent_name"], winner);
        let assigned = events_of(&app, &conversation, "assigned").await;
        assert_eq!(assigned.len(), 1);
        // Close it so both agents keep room under their capacity.
        let owner = if won[0] { &mut a } else { &mut b };
        owner
            .send(json!({"type": "close", "conversation_id": conversation, "resolution": "test"}))
            .await;
        next_where(&mut chat, |f| f["status"] == "closed").await;
    }
}

#[tokio::test]
async fn an_agent_answers_notes_hands_back_and_closes() {
    let app = spawn_app().await;
    let (mut console, _) = agent(&app, &app.agent_token("Alex").await).await;
    let (mut chat, welcome) = app.conversation().await;
    let conversation = id(&welcome, "conversation_id");
    escalate(&mut chat, "m1", "I want to talk to a human").await;
    let queue = next_where(&mut console, |f| {
        f["type"] == "queue" && f["items"].as_array().is_some_and(|i| !i.is_empty())
    })
    .await;
    assert_eq!(queue["items"][0]["conversation_id"], conversation.as_str());

    console
        .send(json!({"type": "claim", "conversation_id": conversation}))
        .await;
    let briefing = next_of(&mut console, "conversation").await;
    assert_eq!(briefing["conversation"]["status"], "agent");
    assert_eq!(briefing["escalation"]["code"], "handoff_requested");
    assert_eq!(briefing["timeline"]["conversations"], 1);
    let first = &briefing["messages"][0];
    assert_eq!(first["from"], "customer");
    assert!(
        first["analysis"]["sentiment"]["label"].is_string(),
        "{first}"
    );
    let joined = next_where(&mut chat, |f| f["type"] == "status").await;
    assert_eq!(joined["status"], "agent");
    assert_eq!(joined["agent_name"], "Alex");

    // The agent types and speaks; the customer sees both, and the name.
    console
        .send(json!({"type": "typing", "conversation_id": conversation}))
        .await;
    let typing = chat.recv().await;
    assert_eq!(typing, json!({"type": "typing", "from": "agent"}));
    console
        .send(json!({"type": "message", "conversation_id": conversation, "client_id": "m1", "text": "Hi, Alex here. How can I help?"}))
        .await;
    // The customer's `client_id`s and the agent's do not collide.
    let ack = next_of(&mut console, "ack").await;
    assert_eq!(ack["client_id"], "m1");
    assert!(ack["seq"].as_u64().unwrap() > 2, "{ack}");
    let m = next_of(&mut chat, "message").await;
    assert_eq!(m["from"], "agent");
    assert_eq!(m["agent_name"], "Alex");
    assert_eq!(m["seq"], ack["seq"]);

    // A note reaches agents only; the bot stays quiet while Alex owns it.
    console
        .send(json!({"type": "note", "conversation_id": conversation, "text": "VIP customer"}))
        .await;
    let note = next_of(&mut console, "note").await;
    assert_eq!(note["text"], "VIP customer");
    say(&mut chat, "m2", "How long do I have to return an item?").await;
    let seen = next_where(&mut console, |f| {
        f["type"] == "message" && f["from"] == "customer"
    })
    .await;
    assert!(
        seen["analysis"]["sentiment"]["negative"].is_number(),
        "{seen}"
    );
    let mut frames = Vec::new();
    loop {
        let f = chat.recv().await;
        if f["type"] == "message" && f["from"] == "customer" {
            break;
        }
        frames.push(f);
    }
    assert!(frames.iter().all(|f| f["type"] == "ack"), "{frames:?}");
    let transcript = app.transcript(&conversation).await;
    assert!(
        transcript.iter().skip(2).all(|m| m["from"] != "bot"),
        "{transcript:?}"
    );

    // Hand back: the bot answers again.
    console
        .send(json!({"type": "hand_back", "conversation_id": conversation}))
        .await;
    let back = next_of(&mut chat, "status").await;
    assert_eq!(back["status"], "bot");
    let (_, reply) = chat
        .ask("m3", "How long do I have to return an item?")
        .await;
    assert_eq!(reply["faq_id"], "returns-window");
    let back = next_where(&mut console, |f| f["type"] == "status").await;
    assert_eq!(back["status"], "bot");

    // Take over from the bot, then close with a resolution.
    console
        .send(json!({"type": "claim", "conversation_id": conversation}))
        .await;
    next_of(&mut console, "conversation").await;
    let over = next_of(&mut chat, "status").await;
    assert_eq!(over["status"], "agent");
    console
        .send(json!({"type": "close", "conversation_id": conversation, "resolution": "Explained the returns window"}))
        .await;
    let closed = next_of(&mut chat, "status").await;
    assert_eq!(closed["status"], "closed");
    assert!(closed["reason"].as_str().unwrap().contains("Alex"));
    let closes = events_of(&app, &conversation, "conversation_closed").await;
    assert_eq!(closes[0]["resolution"], "Explained the returns window");
    assert_eq!(closes[0]["by"], "agent");
    let codes: Vec<Value> = events_of(&app, &conversation, "escalated")
        .await
        .iter()
        .map(|e| e["escalation"]["code"].clone())
        .collect();
    assert_eq!(codes, [json!("handoff_requested"), json!("agent_takeover")]);
    for kind in ["handed_back", "note"] {
        assert_eq!(
            events_of(&app, &conversation, kind).await.len(),
            1,
            "{kind}"
        );
    }

    let (_, stats) = app.get("/v1/stats", OPERATOR).await;
    assert_eq!(stats["escalations"]["by_reason"]["handoff_requested"], 1);
    assert_eq!(stats["escalations"]["by_reason"]["agent_takeover"], 1);
    assert_eq!(stats["closed"], 1);
    assert_eq!(stats["deflection_rate"], 0.0);
}

#[tokio::test]
async fn release_transfer_and_queue_positions() {
    let app = spawn_app().await;
    let (mut a, _) = agent(&app, &app.agent_token("Alex").await).await;
    let (mut b, _) = agent(&app, &app.agent_token("Blair").await).await;
    let (mut first, w1) = app.conversation().await;
    let (mut second, w2) = app.conversation().await;
    let (c1, c2) = (id(&w1, "conversation_id"), id(&w2, "conversation_id"));
    assert_eq!(
        escalate(&mut first, "m1", "I want to talk to a human").await["position"],
        1
    );
    assert_eq!(
        escalate(&mut second, "m1", "I want to talk to a human").await["position"],
        2
    );

    // The first is claimed: the second moves up.
    a.send(json!({"type": "claim", "conversation_id": c1}))
        .await;
    next_of(&mut a, "conversation").await;
    assert_eq!(next_of(&mut first, "status").await["agent_name"], "Alex");
    let moved = next_of(&mut second, "status").await;
    assert_eq!(
        (moved["status"].clone(), moved["position"].clone()),
        (json!("queued"), json!(1))
    );

    // Transfer to Blair, who releases it back to the queue behind the second.
    let (_, agents) = app.get("/v1/agents", OPERATOR).await;
    let blair = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Blair")
        .unwrap()["id"]
        .clone();
    a.send(json!({"type": "transfer", "conversation_id": c1, "agent_id": blair}))
        .await;
    let taken = next_where(&mut first, |f| f["type"] == "status").await;
    assert_eq!(taken["agent_name"], "Blair");
    assert!(taken["reason"].as_str().unwrap().contains("taking over"));
    b.send(json!({"type": "release", "conversation_id": c1}))
        .await;
    let requeued = next_of(&mut first, "status").await;
    assert_eq!(requeued["status"], "queued");
    assert_eq!(
        requeued["position"], 1,
        "earlier escalation keeps its place"
    );
    let behind = next_of(&mut second, "status").await;
    assert_eq!(behind["position"], 2);

    // Only the owner acts on a conversation; releasing twice is a no-op.
    b.send(json!({"type": "release", "conversation_id": c1}))
        .await;
    a.send(json!({"type": "hand_back", "conversation_id": c2}))
        .await;
    let refused = next_of(&mut a, "error").await;
    assert_eq!(refused["code"], "conflict");
    assert_eq!(refused["conversation_id"], c2.as_str());
    let (_, queue) = app.get("/v1/queue", OPERATOR).await;
    let queued: Vec<&Value> = queue["items"].as_array().unwrap().iter().collect();
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|i| i["status"] == "queued"));
}

#[tokio::test]
async fn no_agent_online_lets_the_customer_leave_a_message() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    let status = escalate(&mut chat, "m1", "I want to talk to a human").await;
    assert_eq!(status["agents_online"], false);
    chat.send(json!({"type": "contact", "client_id": "c1", "email": "dana@example.com", "text": "Please call me back about order 1182."}))
        .await;
    let ack = next_of(&mut chat, "ack").await;
    assert_eq!(ack["client_id"], "c1");
    chat.send(json!({"type": "contact", "client_id": "c2", "email": "not-an-email", "text": "x"}))
        .await;
    let bad = next_of(&mut chat, "error").await;
    assert_eq!(bad["code"], "bad_frame");
    assert_eq!(bad["client_id"], "c2");

    let conversation = id(&welcome, "conversation_id");
    let left = events_of(&app, &conversation, "contact_left").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["email"], "dana@example.com");
    assert_eq!(left[0]["seq"], ack["seq"]);
    let customer = id(&welcome, "customer_id");
    let (_, timeline) = app
        .get(&format!("/v1/customers/{customer}/timeline"), OPERATOR)
        .await;
    assert_eq!(timeline["customer"]["email"], "dana@example.com");

    // When an agent signs in, the waiting customer is told.
    let (_console, _) = agent(&app, &app.agent_token("Alex").await).await;
    let online = next_of(&mut chat, "status").await;
    assert_eq!(online["agents_online"], true);
    assert_eq!(online["position"], 1);
}

#[tokio::test]
async fn customer_and_agent_reconnect_while_queued_and_assigned() {
    let app = spawn_app().await;
    let token = app.agent_token("Alex").await;
    let (mut chat, welcome) = app.conversation().await;
    let conversation = id(&welcome, "conversation_id");
    let resume = id(&welcome, "resume_token");
    escalate(&mut chat, "m1", "I want to talk to a human").await;
    drop(chat);

    // The customer comes back while queued.
    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello", "resume_token": resume, "last_seq": 2}))
        .await;
    let back = chat.recv_type("welcome").await;
    assert_eq!(back["status"], "queued");
    let status = chat.recv_type("status").await;
    assert_eq!(status["position"], 1);
    drop(chat);

    // Claimed and answered while the customer is away.
    let (mut console, _) = agent(&app, &token).await;
    console
        .send(json!({"type": "claim", "conversation_id": conversation}))
        .await;
    next_of(&mut console, "conversation").await;
    console
        .send(json!({"type": "message", "conversation_id": conversation, "client_id": "a1", "text": "Alex here."}))
        .await;
    let ack = next_of(&mut console, "ack").await;

    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello", "resume_token": resume, "last_seq": 2}))
        .await;
    assert_eq!(chat.recv_type("welcome").await["status"], "agent");
    let missed = chat.recv_type("message").await;
    assert_eq!(missed["seq"], ack["seq"]);
    assert_eq!(missed["agent_name"], "Alex");
    let status = chat.recv_type("status").await;
    assert_eq!(status["agent_name"], "Alex");

    // The agent reconnects: the queue shows their conversation; watching
    // it brings what was said meanwhile.
    drop(console);
    say(&mut chat, "m2", "Thanks, I need help with my order").await;
    chat.recv_type("ack").await;
    let (mut console, queue) = agent(&app, &token).await;
    let mine = &queue["items"][0];
    assert_eq!(mine["conversation_id"], conversation.as_str());
    assert_eq!(mine["assigned"]["name"], "Alex");
    console
        .send(json!({"type": "watch", "conversation_id": conversation}))
        .await;
    let briefing = next_of(&mut console, "conversation").await;
    let last = briefing["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["text"], "Thanks, I need help with my order");

    // A restart keeps the queue.
    drop((chat, console));
    let dir = app.stop().await;
    let app = spawn_in(dir, |_| {}).await;
    let (_, queue) = app.get("/v1/queue", OPERATOR).await;
    assert_eq!(queue["items"][0]["conversation_id"], conversation.as_str());
    assert_eq!(queue["items"][0]["status"], "agent");
}

#[tokio::test]
async fn a_long_wait_is_flagged_and_moves_up() {
    let app = spawn_with(|c| {
        c.handoff.overdue_after = std::time::Duration::from_millis(500);
    })
    .await;
    let (mut console, _) = agent(&app, &app.agent_token("Alex").await).await;
    // Asking for a person has a lower priority than anger by default...
    let (mut early, w1) = app.conversation().await;
    escalate(&mut early, "m1", "I want to talk to a human").await;
    let flagged = next_where(&mut console, |f| {
        f["type"] == "queue" && f["items"][0]["overdue"] == true
    })
    .await;
    assert!(
        flagged["items"][0]["priority"].as_u64().unwrap() > 3,
        "{flagged}"
    );
    // ...but after waiting too long it goes ahead of a fresh angry customer.
    let (mut angry, w2) = app.conversation().await;
    let status = escalate(
        &mut angry,
        "m1",
        "This is ridiculous, I am so angry right now!!",
    )
    .await;
    assert_eq!(status["position"], 2);
    let both = next_where(&mut console, |f| {
        f["type"] == "queue" && f["items"].as_array().is_some_and(|i| i.len() == 2)
    })
    .await;
    assert_eq!(
        both["items"][0]["conversation_id"], w1["conversation_id"],
        "{both}"
    );
    assert_eq!(both["items"][1]["conversation_id"], w2["conversation_id"]);
    assert_eq!(both["items"][1]["overdue"], false);
}

/// Claim the only queued conversation and return its briefing.
/// The briefing's suggestions, whose first is about a late parcel.
pub(crate) fn the_late_parcel_leads(briefing: &Value) -> &Vec<Value> {
    let suggestions = briefing["suggestions"].as_array().expect("suggestions");
    assert!(!suggestions.is_empty(), "{briefing}");
    let first = suggestions[0]["faq_id"].as_str().unwrap();
    assert!(
        [
            "order-status",
            "shipping-lost-parcel",
            "order-tracking-number"
        ]
        .contains(&first),
        "the late parcel leads, not {first}: {suggestions:?}"
    );
    suggestions
}

pub(crate) async fn claim_briefing(app: &TestApp, conversation: &str) -> Value {
    let (mut console, _) = agent(app, &app.agent_token("Sam").await).await;
    console
        .send(json!({"type": "claim", "conversation_id": conversation}))
        .await;
    next_of(&mut console, "conversation").await
}

#[tokio::test]
async fn suggested_replies_follow_a_complaint_over_several_messages() {
    let app = spawn_app().await;
    let (mut chat, welcome) = app.conversation().await;
    let conversation = id(&welcome, "conversation_id");
    for (n, text) in [
        "I ordered the Fjord tent two weeks ago for a trip this weekend",
        "still nothing here and the tracking hasn't changed since Monday",
    ]
    .into_iter()
    .enumerate()
    {
        say(&mut chat, &format!("m{n}"), text).await;
        next_of(&mut chat, "ack").await;
    }
    escalate(
        &mut chat,
        "m9",
        "This is ridiculous, let me talk to a person",
    )
    .await;

    let briefing = claim_briefing(&app, &conversation).await;
    let suggestions = the_late_parcel_leads(&briefing);
    let confidences: Vec<f64> = suggestions
        .iter()
        .map(|s| s["confidence"].as_f64().unwrap())
        .collect();
    assert!(
        confidences.windows(2).all(|w| w[0] >= w[1]),
        "ranked by confidence: {confidences:?}"
    );
}

#[tokio::test]
async fn suggested_replies_below_the_floor_are_left_out() {
    let app = spawn_with(|c| c.bot.suggestion_confidence = 1.0).await;
    let (mut chat, welcome) = app.conversation().await;
    let conversation = id(&welcome, "conversation_id");
    say(&mut chat, "m0", "Can I change it?").await;
    next_of(&mut chat, "ack").await;
    escalate(&mut chat, "m1", "I want to talk to a human").await;
    let briefing = claim_briefing(&app, &conversation).await;
    assert_eq!(briefing["suggestions"], json!([]), "{briefing}");
    // The customer's clarification offered nothing either.
    let clarification = briefing["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["reason"] == "no_match")
        .cloned();
    assert!(clarification.is_some(), "{briefing}");
}
