//! The agent console's fixes: refusals say what happened, a lost claim
//! race leaves nothing half-open, Claim stops at capacity, a transfer is
//! announced, and a conversation reads in words, with safe links, on a
//! desk and on a phone.

use serde_json::{json, Value};

use super::super::webdriver::Browser;
use super::super::ENTER;
use super::{
    by_id, click_in_row, in_row, in_view, open_console, queued_customer, toast, wait_equal,
    HOLD_FRAMES, RECORD_ALERTS,
};
use crate::handoff::{agent, id, next_of, next_where, say};
use crate::helpers::*;

const SHIFT_ENTER: &str = "\u{E008}\u{E007}\u{E000}";

async fn presence(browser: &Browser, want: &str) {
    browser.click(&by_id(browser, "presence").await).await;
    browser
        .wait_for(
            &format!("presence {want}"),
            "return document.getElementById('presence').dataset.presence === arguments[0];",
            vec![json!(want)],
        )
        .await;
}

#[tokio::test]
async fn refusals_say_what_happened_and_a_lost_claim_race_clears_the_pane() {
    let app = spawn_with(|c| c.handoff.agent_capacity = 1).await;
    let alex = app.agent_token("Alex").await;
    let browser = open_console(&app, &alex, HOLD_FRAMES).await;
    let (_dana, first) = queued_customer(&app, json!({"name": "Dana Whitfield"})).await;

    // Away, a claim is refused, and the toast says why as the server does:
    // nobody else got there first.
    presence(&browser, "away").await;
    click_in_row(&browser, &first, "claim").await;
    let refused = toast(&browser, "away").await;
    assert_eq!(
        refused,
        "you are away; only online agents take conversations"
    );
    presence(&browser, "online").await;

    // Blair claims while the console is slow to hear of it: the console's
    // own claim loses the race.
    let (mut blair, _) = agent(&app, &app.agent_token("Blair").await).await;
    browser.js("window.__hold = true;", vec![]).await;
    blair
        .send(json!({"type": "claim", "conversation_id": first}))
        .await;
    next_of(&mut blair, "conversation").await;
    click_in_row(&browser, &first, "claim").await;
    browser.js("window.__release();", vec![]).await;
    let lost = toast(&browser, "already took").await;
    assert_eq!(
        lost,
        "Someone else got there first: Blair already took this conversation"
    );
    browser
        .wait_for(
            "no row selected and the empty pane again",
            "return !document.querySelector('.queue-item.selected') && \
                    document.getElementById('conv').hidden && \
                    !document.getElementById('conv-empty').hidden;",
            vec![],
        )
        .await;

    // With one conversation of one allowed, Claim is off, and says why.
    let (_erin, second) = queued_customer(&app, json!({"name": "Erin Vogel"})).await;
    click_in_row(&browser, &second, "claim").await;
    in_view(&browser, &second).await;
    let (_finn, third) = queued_customer(&app, json!({"name": "Finn Ahlberg"})).await;
    let why = browser
        .wait_for(
            "the third conversation's Claim off, with the reason",
            "const b = document.querySelector(`.queue-item[data-conversation-id=\"${arguments[0]}\"] [data-testid=claim]`); \
             const note = document.getElementById('queue-full'); \
             return b && b.disabled && !note.hidden && note.textContent === b.title && b.title;",
            vec![json!(third)],
        )
        .await;
    assert!(
        why.as_str()
            .is_some_and(|w| w.starts_with("You have 1 conversation, the most you may have")),
        "{why}"
    );
    click_in_row(&browser, &third, "queue-open").await;
    in_view(&browser, &third).await;
    let header = browser
        .wait_for(
            "the header's Claim off too",
            "const b = document.getElementById('btn-claim'); \
             return !b.hidden && b.disabled && b.title;",
            vec![],
        )
        .await;
    assert_eq!(header, why);
    browser.assert_no_csp_violations().await;
}

#[tokio::test]
async fn a_transfer_is_announced_to_the_agent_who_gets_it() {
    let app = spawn_app().await;
    let browser = open_console(&app, &app.agent_token("Alex").await, RECORD_ALERTS).await;
    browser.click(&by_id(&browser, "alert-desktop").await).await;
    let (mut blair, queue) = agent(&app, &app.agent_token("Blair").await).await;
    let alex = queue["agents"]
        .as_array()
        .and_then(|agents| agents.iter().find(|a| a["name"] == "Alex"))
        .map(|a| a["id"].clone())
        .expect("Alex in the queue's agents");
    let (_dana, conversation) = queued_customer(&app, json!({"name": "Dana Whitfield"})).await;
    blair
        .send(json!({"type": "claim", "conversation_id": conversation}))
        .await;
    next_of(&mut blair, "conversation").await;
    blair
        .send(json!({"type": "transfer", "conversation_id": conversation, "agent_id": alex}))
        .await;

    let notice = toast(&browser, "transferred").await;
    assert_eq!(
        notice,
        "Blair transferred a conversation with Dana Whitfield to you"
    );
    browser
        .wait_for(
            "a desktop notification saying so",
            "return window.__notified.some((n) => n.body === arguments[0]);",
            vec![json!(notice)],
        )
        .await;
    wait_equal(
        &browser,
        "the conversation under Mine",
        "return document.getElementById('count-mine').textContent;",
        vec![],
        json!("1"),
    )
    .await;
    let notices = browser
        .js(
            "return [...document.querySelectorAll('[data-testid=toast]')] \
               .filter((t) => t.textContent.includes('transferred')).length;",
            vec![],
        )
        .await;
    assert_eq!(notices, 1, "announced once");
}

/// Three turns the bot cannot answer escalate as `unresolved`.
async fn unresolved_customer(app: &TestApp, customer: Value) -> (Chat, String) {
    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello", "customer": customer}))
        .await;
    let welcome = chat.recv_type("welcome").await;
    for (i, text) in ["qwzx blorp fnargle", "zorp quax vlim", "gribble snarf wup"]
        .iter()
        .enumerate()
    {
        say(&mut chat, &format!("u{i}"), text).await;
        if i < 2 {
            next_where(&mut chat, |f| f["from"] == "bot").await;
        }
    }
    let status = next_of(&mut chat, "status").await;
    assert_eq!(status["status"], "queued", "{status}");
    (chat, id(&welcome, "conversation_id"))
}

#[tokio::test]
async fn a_conversation_reads_in_words_with_safe_links() {
    let app = spawn_app().await;
    let browser = open_console(&app, &app.agent_token("Alex").await, "").await;
    let email = "sam.okafor@example.com";
    let (mut chat, conversation) = unresolved_customer(&app, json!({"email": email})).await;
    let text = "Photos: https://example.com/orders/1182?view=photos, and javascript:alert(1) too.";
    say(&mut chat, "u3", text).await;
    next_of(&mut chat, "ack").await;

    // Without a name, the email stands for the customer, in full.
    wait_equal(
        &browser,
        "the email as the row's name, not cut",
        "const n = document.querySelector(`.queue-item[data-conversation-id=\"${arguments[0]}\"] [data-testid=queue-name]`); \
         return n && [n.textContent, n.scrollWidth <= n.clientWidth];",
        vec![json!(conversation)],
        json!([email, true]),
    )
    .await;
    click_in_row(&browser, &conversation, "claim").await;
    in_view(&browser, &conversation).await;
    wait_equal(
        &browser,
        "the email as the header's title",
        "return document.getElementById('conv-title').textContent;",
        vec![],
        json!(email),
    )
    .await;

    // Why it escalated, in words and whole numbers.
    let scores = browser
        .wait_for(
            "the escalation's scores",
            "const s = [...document.querySelectorAll('#why-body [data-testid=score]')]; \
             return s.length && s.map((li) => li.textContent);",
            vec![],
        )
        .await;
    assert_eq!(scores, json!(["unresolved turns: 3"]));

    // Each customer message's sentiment: its label and that label's
    // probability, as stored.
    let expected: Vec<Value> = app
        .transcript(&conversation)
        .await
        .iter()
        .filter(|m| m["from"] == "customer")
        .map(|m| {
            let s = &m["analysis"]["sentiment"];
            let label = s["label"].as_str().expect("a label");
            let p = s[label].as_f64().expect("its probability");
            json!(format!("{label} {}%", (p * 100.0).round()))
        })
        .collect();
    assert_eq!(expected.len(), 4);
    wait_equal(
        &browser,
        "the sentiment pills",
        "return [...document.querySelectorAll('#transcript [data-from=customer] [data-testid=sentiment]')] \
           .map((p) => p.textContent);",
        vec![],
        Value::Array(expected),
    )
    .await;

    // Bubbles follow the text's direction; only the http(s) URL is a
    // link, opening apart from the console.
    let bubbles = browser
        .js(
            "return [...document.querySelectorAll('#transcript .bubble')].every((b) => b.dir === 'auto');",
            vec![],
        )
        .await;
    assert_eq!(bubbles, true);
    let links = browser
        .js(
            "const b = [...document.querySelectorAll('#transcript .bubble')].find((b) => b.textContent === arguments[0]); \
             return b && [...b.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.target, a.rel, a.textContent]);",
            vec![json!(text)],
        )
        .await;
    let url = "https://example.com/orders/1182?view=photos";
    assert_eq!(
        links,
        json!([[url, "_blank", "noopener noreferrer", url]]),
        "the message's text is kept whole, with one link"
    );
    browser.screenshot("console-conversation-words").await;
    browser.assert_no_csp_violations().await;
}

#[tokio::test]
async fn the_console_fits_a_phone_and_the_composer_keeps_its_size() {
    let app = spawn_app().await;
    let browser = open_console(&app, &app.agent_token("Alex").await, "").await;
    let name = "Margarethe Vandersloot";
    let (_chat, conversation) = queued_customer(&app, json!({"name": name})).await;

    // The name is shown whole next to its Claim button.
    in_row(&browser, &conversation, "claim").await;
    let shown = browser
        .js(
            "const n = document.querySelector('[data-testid=queue-name]'); \
             return [n.textContent, n.scrollWidth <= n.clientWidth];",
            vec![],
        )
        .await;
    assert_eq!(shown, json!([name, true]));

    // The composer grows with the text instead of scrolling, and is its
    // old size again once the message is sent.
    click_in_row(&browser, &conversation, "claim").await;
    in_view(&browser, &conversation).await;
    let input = by_id(&browser, "reply-input").await;
    let size = "const i = document.getElementById('reply-input'); \
                return [i.offsetHeight, i.scrollHeight <= i.clientHeight];";
    let empty = browser.js(size, vec![]).await;
    assert_eq!(empty[1], true, "{empty}");
    let lines = [
        "Thanks for waiting.",
        "I see the order.",
        "It ships today.",
        "Tracking follows.",
    ];
    browser.type_text(&input, &lines.join(SHIFT_ENTER)).await;
    let typed = browser.js(size, vec![]).await;
    assert!(
        typed[0].as_f64() > empty[0].as_f64() && typed[1] == true,
        "grown without a scrollbar: {typed} (empty {empty})"
    );
    browser.type_text(&input, ENTER).await;
    browser
        .wait_for(
            "the reply stored",
            "return document.querySelector('#transcript [data-from=agent][data-seq]');",
            vec![],
        )
        .await;
    assert_eq!(browser.js(size, vec![]).await, empty);

    // On a phone, the top bar wraps: every control is on screen and
    // nothing scrolls sideways.
    browser.emulate(Some((375, 812))).await;
    browser
        .wait_for(
            "the console to fit 375 px",
            "if (innerWidth !== 375) return false; \
             const bar = document.querySelector('.topbar'); \
             const controls = [...bar.querySelectorAll('button, a')].filter((e) => e.offsetParent !== null); \
             return document.documentElement.scrollWidth <= innerWidth && bar.scrollWidth <= bar.clientWidth && \
               controls.length >= 8 && controls.every((e) => { \
                 const r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; });",
            vec![],
        )
        .await;
    browser.screenshot("console-phone").await;
    browser.emulate(None).await;
}
