//! What a browser walk through the widget found, each fixed and kept
//! fixed: the order of fast messages, ratings that change, a clear state
//! when nobody is online, links in answers, and the small things (focus,
//! sizes, contrast, text direction, status lines across a reload).

use chrono::{Datelike, Duration, Utc};
use serde_json::{json, Value};

use super::webdriver::{Browser, PAGE_WAIT};
use super::{Widget, ENTER, IN_WIDGET};
use crate::handoff::{agent, id, next_of, next_where};
use crate::helpers::*;

const ESCAPE: &str = "\u{E00C}";
const BACKSPACE: &str = "\u{E003}";

/// Record the widget's socket in `window.wire` as `["out" | "in", frame]`,
/// each incoming frame before the widget handles it. Call it on the page
/// before the widget connects.
async fn record_the_socket(browser: &Browser) {
    browser
        .js(
            "window.wire = []; \
             const send = WebSocket.prototype.send; \
             WebSocket.prototype.send = function (data) { \
               window.wire.push(['out', JSON.parse(data)]); return send.call(this, data); }; \
             const on = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage'); \
             Object.defineProperty(WebSocket.prototype, 'onmessage', { configurable: true, get: on.get, \
               set(handle) { on.set.call(this, (e) => { window.wire.push(['in', JSON.parse(e.data)]); handle(e); }); } });",
            vec![],
        )
        .await;
}

async fn recorded(browser: &Browser) -> Vec<(String, Value)> {
    let wire = browser.js("return window.wire;", vec![]).await;
    serde_json::from_value(wire).expect("the recorded frames")
}

/// Check the widget kept one message on the wire at a time and resent
/// the same one after `rate_limited`; returns how many were refused.
fn one_at_a_time(wire: &[(String, Value)]) -> usize {
    let (mut in_flight, mut resend, mut refused) = (None::<Value>, None::<Value>, 0);
    for (direction, frame) in wire {
        let client_id = frame["client_id"].clone();
        match (direction.as_str(), frame["type"].as_str()) {
            ("out", Some("message")) => {
                assert!(
                    in_flight.is_none(),
                    "{client_id} sent while {in_flight:?} was not acked"
                );
                if let Some(head) = resend.take() {
                    assert_eq!(client_id, head, "the refused message goes again first");
                }
                in_flight = Some(client_id);
            }
            ("in", Some("ack" | "error" | "message")) if in_flight.as_ref() == Some(&client_id) => {
                if frame["code"] == "rate_limited" {
                    refused += 1;
                    resend = Some(client_id);
                }
                in_flight = None;
            }
            _ => {}
        }
    }
    refused
}

/// Wait until `script` (in the widget) returns a number above `past`,
/// as often as it keeps growing: a long run is waited for step by step.
async fn count_up_to(widget: &Widget<'_>, what: &str, script: &str, goal: u64) {
    let mut past = 0;
    while past < goal {
        let now = widget
            .js(
                what,
                &format!("const n = (() => {{ {script} }})(); return n > arguments[0] ? n : null;"),
                vec![json!(past)],
            )
            .await;
        past = now.as_u64().expect("a count");
    }
}

#[tokio::test]
async fn fast_typing_is_stored_in_the_order_typed_despite_the_rate_limit() {
    let app = spawn_with(|c| {
        c.limits.messages_per_second = 3.0;
        c.limits.message_burst = 3;
        // Fifty lines the bot cannot answer stay with the bot.
        c.escalation.unresolved_turns = 100;
        c.escalation.repeated_answers = 100;
    })
    .await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    record_the_socket(&browser).await;
    let widget = Widget(&browser);
    widget.open().await;

    let lines: Vec<String> = (1..=50).map(|i| format!("line {i:02}")).collect();
    let input = widget.element("the message box", "#input").await;
    let typed: String = lines.iter().map(|l| format!("{l}{ENTER}")).collect();
    browser.type_text(&input, &typed).await;
    count_up_to(
        &widget,
        "the 50 lines to be stored",
        "return $$('[data-testid=message][data-from=customer][data-seq]').length;",
        50,
    )
    .await;

    let refused = one_at_a_time(&recorded(&browser).await);
    assert!(refused > 0, "the rate limit never triggered");
    let shown = widget
        .js(
            "the customer's messages",
            "return $$('[data-testid=message][data-from=customer]').map((m) => \
               [Number(m.dataset.seq), m.querySelector('[data-testid=message-text]').textContent]);",
            vec![],
        )
        .await;
    let shown: Vec<(u64, String)> = serde_json::from_value(shown).unwrap();
    assert!(shown.windows(2).all(|w| w[0].0 < w[1].0), "{shown:?}");
    let shown: Vec<String> = shown.into_iter().map(|(_, text)| text).collect();
    assert_eq!(shown, lines, "the widget shows them in typing order");

    let (_, listed) = app.get("/v1/conversations?limit=1", OPERATOR).await;
    let conversation = listed["conversations"][0]["id"].as_str().expect("an id");
    let stored: Vec<Value> = app
        .transcript(conversation)
        .await
        .into_iter()
        .filter(|m| m["from"] == "customer")
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(stored, lines, "stored once each, in typing order");
}

/// Wait for the bot's reply to the one question asked (whatever it says).
async fn bot_replied(widget: &Widget<'_>) {
    widget
        .js(
            "the bot's reply",
            "return $$('[data-testid=message][data-from=bot][data-seq]').length === 1;",
            vec![],
        )
        .await;
}

/// Poll the conversation's events until a rating with `comment` is there.
async fn rating_with_comment(app: &TestApp, comment: &str) {
    let started = std::time::Instant::now();
    loop {
        let (_, listed) = app.get("/v1/conversations?limit=1", OPERATOR).await;
        let conversation = listed["conversations"][0]["id"].as_str().unwrap_or("none");
        let (_, body) = app
            .get(&format!("/v1/conversations/{conversation}"), OPERATOR)
            .await;
        let events = body["events"].as_array().cloned().unwrap_or_default();
        if events
            .iter()
            .any(|e| e["event"] == "rating" && e["comment"] == comment)
        {
            return;
        }
        assert!(
            started.elapsed() < PAGE_WAIT,
            "no rating with {comment:?}: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_visitor_changes_the_rating_and_adds_a_comment_and_it_counts_once() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    widget.ask("How do gift cards work?").await;
    bot_replied(&widget).await;

    // Escape in "End this conversation?" dismisses the bar, not the panel.
    let end = widget.element("End chat", "[data-testid=end-chat]").await;
    browser.click(&end).await;
    let confirm = widget
        .element("the confirmation", "[data-testid=end-confirm]")
        .await;
    browser.type_text(&confirm, ESCAPE).await;
    widget
        .js(
            "the bar gone, the panel open, the focus on End chat",
            "return $('#confirm').hidden && !$('#panel').hidden && root.activeElement === $('#end');",
            vec![],
        )
        .await;
    browser.click(&end).await;
    let confirm = widget
        .element("the confirmation", "[data-testid=end-confirm]")
        .await;
    browser.click(&confirm).await;
    // The stars exist all along; they can be clicked once the card shows.
    widget
        .js(
            "the rating card",
            "return !$('[data-testid=closed]').hidden;",
            vec![],
        )
        .await;

    for score in [5, 1, 3] {
        let star = widget
            .element(
                &format!("star {score}"),
                &format!("[data-testid=rating-star][data-score=\"{score}\"]"),
            )
            .await;
        browser.click(&star).await;
        widget
            .js(
                &format!("the thanks for {score} stars"),
                "return $('[data-testid=rating-thanks]').textContent.includes(arguments[0] + ' out of 5') \
                   && $$('.star[aria-pressed=true]').length === arguments[0];",
                vec![json!(score)],
            )
            .await;
    }
    let comment = widget
        .element("the comment box", "[data-testid=rating-comment]")
        .await;
    browser.type_text(&comment, "Quick and friendly").await;
    let send = widget
        .element("Send feedback", "[data-testid=rating-comment-submit]")
        .await;
    browser.click(&send).await;
    widget
        .js(
            "the thanks for the comment, focused",
            "const t = $('[data-testid=rating-comment-thanks]'); \
             return !t.hidden && root.activeElement === t && $('[data-testid=rating-comment-form]').hidden;",
            vec![],
        )
        .await;
    rating_with_comment(&app, "Quick and friendly").await;

    // The server keeps the last rating of a conversation.
    let (status, stats) = app.get("/v1/stats", OPERATOR).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["csat"]["ratings"], 1, "one rating: {stats}");
    assert_eq!(stats["csat"]["average"], 3.0, "the last score: {stats}");
}

#[tokio::test]
async fn with_nobody_online_the_widget_offers_the_contact_form_and_a_way_back() {
    // The first question the bot cannot answer goes to a person, and the
    // escalation takes the place of the bot's reply.
    let app = spawn_with(|c| c.escalation.unresolved_turns = 1).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    widget
        .js(
            "the header to say nobody is in",
            "return root.host.hasAttribute('data-away') && $('#subtitle').textContent === 'Away · we reply by email';",
            vec![],
        )
        .await;
    browser
        .js(
            &format!(
                "{IN_WIDGET} window.typingShown = false; \
                 new MutationObserver(() => {{ if (!$('#typing').hidden) window.typingShown = true; }}) \
                   .observe($('#typing'), {{ attributes: true }});"
            ),
            vec![],
        )
        .await;
    widget.ask("asdf qwer").await;

    // One clear state, at once: no bot typing, a banner, the form in the
    // message box's place.
    widget
        .js("the contact form", "return !$('#contact').hidden;", vec![])
        .await;
    let state = widget
        .js(
            "the widget's state",
            "const shown = (e) => e.offsetParent !== null; \
             return { typing: !$('#typing').hidden, typed: window.typingShown, \
               banner: $('#banner').textContent, subtitle: $('#subtitle').textContent, \
               boxes: $$('textarea, input').filter(shown).map((e) => e.id), \
               log: $('#log').clientHeight };",
            vec![],
        )
        .await;
    assert_eq!(state["typing"], false, "{state}");
    assert_eq!(state["typed"], true, "the bot had started typing: {state}");
    assert_eq!(
        state["banner"], "Nobody from our team is online right now.",
        "{state}"
    );
    assert_eq!(state["subtitle"], "Away · we reply by email", "{state}");
    assert_eq!(state["boxes"], json!(["contact-email", "contact-text"]));
    assert!(state["log"].as_u64().unwrap() >= 200, "{state}");
    browser.screenshot("widget-nobody-online").await;

    // The escalation's status line comes back after a reload, in its
    // place after the question, once.
    let after_question = "const items = [...$('#log').children]; \
         const asked = items.findIndex((e) => e.dataset.from === 'customer' && e.dataset.seq); \
         const lines = items.filter((e) => e.dataset.kind === 'status'); \
         return asked >= 0 && lines.length === 1 && items.indexOf(lines[0]) > asked \
           && !$('#contact').hidden && lines[0].textContent;";
    let line = widget
        .js("the status line after the question", after_question, vec![])
        .await;
    browser.refresh().await;
    widget.open().await;
    let again = widget
        .js("the status line after a reload", after_question, vec![])
        .await;
    assert_eq!(again, line);

    // On a small phone the transcript keeps its room too.
    browser.emulate(Some((360, 640))).await;
    widget
        .js(
            "a usable transcript on a 360×640 screen",
            "return innerWidth === 360 && !$('#contact').hidden && $('#log').clientHeight >= 200;",
            vec![],
        )
        .await;
    browser.emulate(None).await;

    // Back to the assistant: a new conversation with the bot.
    let back = widget
        .element("Chat with the assistant", "[data-testid=back-to-bot]")
        .await;
    browser.click(&back).await;
    widget
        .js(
            "the message box back, focused",
            "return $('#contact').hidden && $('#banner').hidden && !$('#composer').hidden \
               && root.activeElement === $('#input') && root.host.dataset.connection === 'online';",
            vec![],
        )
        .await;
    widget.ask("How do gift cards work?").await;
    bot_replied(&widget).await;
    assert_eq!(widget.seqs().await, [1, 2], "a new conversation");
    let (_, listed) = app.get("/v1/conversations", OPERATOR).await;
    let statuses: Vec<Value> = listed["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(statuses.len(), 2, "{listed}");
    assert_eq!(statuses[1], "closed", "the queued one was left: {listed}");
}

#[tokio::test]
async fn links_in_an_agents_answer_open_safely_and_markup_stays_text() {
    let app = spawn_app().await;
    let (mut console, _) = agent(&app, &app.agent_token("Alex").await).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    widget
        .js(
            "the reply time in the header",
            "return !root.host.hasAttribute('data-away') \
               && $('#subtitle').textContent === 'Online · usually replies in a few minutes';",
            vec![],
        )
        .await;

    // Right to left text reads right to left, in the box and the bubble.
    let hebrew = "שלום, מה שעות הפתיחה שלכם?";
    let input = widget.element("the message box", "#input").await;
    browser.type_text(&input, hebrew).await;
    widget
        .js(
            "the message box right to left",
            "return $('#input').getAttribute('dir') === 'auto' && $('#input').matches(':dir(rtl)');",
            vec![],
        )
        .await;
    browser.type_text(&input, ENTER).await;
    let seq = widget.message("customer", hebrew).await;
    let rtl = widget
        .js(
            "the bubble's direction",
            "const b = $(`[data-seq=\"${arguments[0]}\"] [data-testid=message-text]`); \
             return b.getAttribute('dir') === 'auto' && b.matches(':dir(rtl)') && 'rtl';",
            vec![json!(seq)],
        )
        .await;
    assert_eq!(rtl, "rtl");

    widget.ask("I want to talk to a human").await;
    let queue = next_where(&mut console, |f| {
        f["type"] == "queue" && f["items"].as_array().is_some_and(|i| !i.is_empty())
    })
    .await;
    let conversation = id(&queue["items"][0], "conversation_id");
    console
        .send(json!({"type": "claim", "conversation_id": conversation}))
        .await;
    next_of(&mut console, "conversation").await;
    widget
        .js(
            "the agent in the header",
            "return $('#subtitle').textContent === 'Chatting with Alex';",
            vec![],
        )
        .await;

    let text = "Track it at https://shop.example/track?order=1182&lang=en. \
                (Returns: https://shop.example/returns_(eu)), not javascript:alert(1) \
                or data:text/html,hi <img src=x onerror=\"window.pwned=1\"><b>bold</b>";
    console
        .send(json!({"type": "message", "conversation_id": conversation, "client_id": "a1", "text": text}))
        .await;
    let seq = widget.message("agent", text).await;
    let bubble = widget
        .js(
            "the agent's bubble",
            "const b = $(`[data-seq=\"${arguments[0]}\"] [data-testid=message-text]`); \
             return { text: b.textContent, elements: [...b.querySelectorAll('*')].map((e) => e.tagName), \
               links: [...b.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.textContent, a.target, a.rel]), \
               pwned: window.pwned === 1 };",
            vec![json!(seq)],
        )
        .await;
    assert_eq!(bubble["text"], text, "{bubble}");
    assert_eq!(
        bubble["elements"],
        json!(["A", "A"]),
        "only links: {bubble}"
    );
    assert_eq!(
        bubble["links"],
        json!([
            [
                "https://shop.example/track?order=1182&lang=en",
                "https://shop.example/track?order=1182&lang=en",
                "_blank",
                "noopener noreferrer"
            ],
            [
                "https://shop.example/returns_(eu)",
                "https://shop.example/returns_(eu)",
                "_blank",
                "noopener noreferrer"
            ]
        ]),
        "{bubble}"
    );
    assert_eq!(bubble["pwned"], false);
    browser.assert_no_csp_violations().await;
}

#[tokio::test]
async fn the_message_box_keeps_long_text_its_size_and_the_focus() {
    let app = spawn_app().await;
    let (_, entry) = app.get("/v1/faq/returns-window", OPERATOR).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;

    // 16 px text (iOS zooms into smaller), "Powered by" readable.
    let looks = widget
        .js(
            "the computed styles",
            "const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number); \
             const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255; \
               return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); \
               return 0.2126 * r + 0.7152 * g + 0.0722 * b; }; \
             const p = getComputedStyle($('[data-testid=powered]')); \
             const [hi, lo] = [lum(p.color), lum(p.backgroundColor)].sort((a, b) => b - a); \
             return { font: getComputedStyle($('#input')).fontSize, contrast: (hi + 0.05) / (lo + 0.05), \
               background: p.backgroundColor };",
            vec![],
        )
        .await;
    assert_eq!(looks["font"], "16px");
    assert_eq!(looks["background"], "rgb(255, 255, 255)", "{looks}");
    assert!(looks["contrast"].as_f64().unwrap() >= 4.5, "{looks}");

    // One line fits without a scrollbar, before and after sending.
    let fits = "const i = $('#input'); return i.scrollHeight <= i.clientHeight \
         && getComputedStyle(i).overflowY === 'hidden' && i.offsetHeight <= 48 && i.value === arguments[0];";
    let input = widget.element("the message box", "#input").await;
    browser.type_text(&input, "Hi there").await;
    widget
        .js("one line, no scrollbar", fits, vec![json!("Hi there")])
        .await;
    browser.type_text(&input, ENTER).await;
    widget
        .js("an empty box, no scrollbar", fits, vec![json!("")])
        .await;

    // Enter on 👍 keeps the focus in the panel.
    widget.ask("How long do I have to return an item?").await;
    let seq = widget
        .message("bot", entry["answer"].as_str().expect("answer"))
        .await;
    let yes = widget
        .element(
            "the thumbs-up",
            &format!("[data-seq=\"{seq}\"] [data-testid=feedback-yes]"),
        )
        .await;
    browser.type_text(&yes, ENTER).await;
    widget
        .js(
            "the thanks, focused",
            "const t = $(`[data-seq=\"${arguments[0]}\"] [data-testid=feedback-thanks]`); \
             return t && root.activeElement === t;",
            vec![json!(seq)],
        )
        .await;

    // Text over 2,000 characters is kept whole; sending waits until it
    // is short enough.
    let long = "a".repeat(2100);
    browser.type_text(&input, &long).await;
    let over = widget
        .js(
            "the counter over the limit",
            "const c = $('[data-testid=char-count]'); \
             return $('#input').value.length === 2100 && !c.hidden && $('#send').disabled && c.textContent;",
            vec![],
        )
        .await;
    assert!(
        over.as_str()
            .is_some_and(|c| c.starts_with("2,100 / 2,000")),
        "{over}"
    );
    browser.type_text(&input, ENTER).await;
    let kept = widget
        .js(
            "the text still in the box",
            "return $('#input').value.length === 2100 && $$('.pending').length === 0 ? 'kept' : 'sent';",
            vec![],
        )
        .await;
    assert_eq!(kept, "kept", "nothing is sent over the limit");
    browser.type_text(&input, &BACKSPACE.repeat(100)).await;
    widget
        .js(
            "the counter at the limit",
            "return $('[data-testid=char-count]').textContent === '2,000 / 2,000' && !$('#send').disabled;",
            vec![],
        )
        .await;
    browser.type_text(&input, ENTER).await;
    widget.message("customer", &"a".repeat(2000)).await;
    widget
        .js(
            "an empty box, the counter gone",
            "return $('#input').value === '' && $('[data-testid=char-count]').hidden;",
            vec![],
        )
        .await;
}

#[tokio::test]
async fn out_of_hours_the_header_says_when_the_team_is_back() {
    let tomorrow = (Utc::now() + Duration::days(1)).weekday();
    let app = spawn_with(|c| {
        c.business_hours.enabled = true;
        c.business_hours.utc_offset = "+00:00".into();
        c.business_hours.days = vec![tomorrow.to_string().to_lowercase()];
        c.business_hours.open = "09:00".into();
        c.business_hours.close = "17:00".into();
    })
    .await;
    let opens_at = (Utc::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .expect("a time")
        .and_utc()
        .to_rfc3339();
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    let header = widget
        .js(
            "the header to say when the team is back",
            "const d = new Date(arguments[0]); \
             const back = 'Back ' + d.toLocaleDateString([], { weekday: 'long' }) + ' ' \
               + d.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' }); \
             return root.host.hasAttribute('data-away') && $('#subtitle').textContent === back && back;",
            vec![json!(opens_at)],
        )
        .await;
    assert!(
        header.as_str().is_some_and(|h| h.starts_with("Back ")),
        "{header}"
    );
}
