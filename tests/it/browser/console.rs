//! The consoles in the browser: FAQ authoring edits what the widget
//! answers, and an agent takes over an escalated conversation. The
//! console's fixes are shown in [`defects`], its inbox tools in [`inbox`];
//! both use the helpers here.

use serde_json::{json, Value};

use super::webdriver::{Browser, Element, PAGE_WAIT};
use super::{newest_customer, timeline_event, Widget, ENTER};
use crate::handoff::{escalate, id};
use crate::helpers::*;

mod defects;
mod inbox;

/// Run on the sign-in page: while `window.__hold` is true the page keeps
/// the agent socket's incoming frames, as a slow network would, and
/// `window.__release()` hands them over in order.
const HOLD_FRAMES: &str = "\
    const d = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage'); \
    window.__held = []; window.__hold = false; \
    Object.defineProperty(WebSocket.prototype, 'onmessage', { configurable: true, \
      get() { return d.get.call(this); }, \
      set(fn) { d.set.call(this, (e) => (window.__hold ? window.__held.push(() => fn(e)) : fn(e))); } }); \
    window.__release = () => { window.__hold = false; for (const run of window.__held.splice(0)) run(); };";

/// Run on the sign-in page: desktop notifications may be shown and are
/// recorded in `window.__notified`; beeps are counted in `window.__beeps`.
const RECORD_ALERTS: &str = "\
    window.__notified = []; window.__beeps = 0; \
    window.Notification = class { \
      constructor(title, options) { window.__notified.push({ title, body: (options || {}).body }); } \
      static requestPermission() { window.Notification.permission = 'granted'; return Promise.resolve('granted'); } }; \
    window.Notification.permission = 'default'; \
    const node = () => ({ connect: (next) => next, frequency: { setValueAtTime() {} }, \
      gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, start() { window.__beeps++; }, stop() {} }); \
    window.AudioContext = class { \
      constructor() { this.state = 'running'; this.currentTime = 0; this.destination = {}; } \
      createOscillator() { return node(); } createGain() { return node(); } resume() {} };";

/// Sign in on a console page; `""` when it worked, else the error shown.
pub(super) async fn try_sign_in(browser: &Browser, token: &str) -> String {
    let input = by_id(browser, "signin-token").await;
    browser.clear(&input).await;
    browser.type_text(&input, &format!("{token}{ENTER}")).await;
    let outcome = browser
        .wait_for(
            "the sign-in to end",
            "const e = document.getElementById('signin-error').textContent; \
             if (e && e !== 'Signing in…') return 'error: ' + e; \
             return !document.getElementById('app').hidden && 'signed in';",
            vec![],
        )
        .await;
    let outcome = outcome.as_str().expect("text").to_owned();
    outcome
        .strip_prefix("error: ")
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Sign in on a console page with a token.
pub(super) async fn sign_in(browser: &Browser, token: &str) {
    assert_eq!(try_sign_in(browser, token).await, "", "signing in failed");
}

/// A visible element by id.
pub(super) async fn by_id(browser: &Browser, id: &str) -> Element {
    browser
        .element(
            &format!("#{id}"),
            "const e = document.getElementById(arguments[0]); \
             return e && e.offsetParent !== null ? e : null;",
            vec![json!(id)],
        )
        .await
}

/// A browser on the agent console, signed in with `token` after running
/// `setup` (a script, or "") on the sign-in page, its socket connected.
pub(super) async fn open_console(app: &TestApp, token: &str, setup: &str) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&app.url("/console")).await;
    if !setup.is_empty() {
        browser.js(setup, vec![]).await;
    }
    sign_in(&browser, token).await;
    browser
        .wait_for(
            "the agent socket to be connected",
            "return document.getElementById('conn').dataset.state === 'online';",
            vec![],
        )
        .await;
    browser
}

/// A customer (`hello.customer`) who asked for a person: their socket and
/// the conversation's id.
async fn queued_customer(app: &TestApp, customer: Value) -> (Chat, String) {
    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello", "customer": customer}))
        .await;
    let welcome = chat.recv_type("welcome").await;
    escalate(&mut chat, "m1", "I want to talk to a human").await;
    (chat, id(&welcome, "conversation_id"))
}

/// Wait for the queue row of `conversation`, or for the element with
/// `data-testid=testid` in it.
async fn in_row(browser: &Browser, conversation: &str, testid: &str) -> Element {
    browser
        .element(
            &format!("{testid:?} in the queue row of {conversation}"),
            "const row = document.querySelector(`.queue-item[data-conversation-id=\"${arguments[0]}\"]`); \
             return row && (arguments[1] ? row.querySelector(`[data-testid=${arguments[1]}]`) : row);",
            vec![json!(conversation), json!(testid)],
        )
        .await
}

/// Click the element with `data-testid=testid` in the queue row of
/// `conversation`, found afresh if the row was rebuilt meanwhile.
async fn click_in_row(browser: &Browser, conversation: &str, testid: &str) {
    browser
        .click_fresh(|| in_row(browser, conversation, testid))
        .await;
}

/// Wait until the element with `data-testid=testid` in the queue row of
/// `conversation` shows `expected` (read afresh each time: rows are
/// rebuilt when what they show changes).
async fn row_text(browser: &Browser, conversation: &str, testid: &str, expected: &str) {
    wait_equal(
        browser,
        &format!("{testid:?} in the queue row of {conversation}"),
        "const row = document.querySelector(`.queue-item[data-conversation-id=\"${arguments[0]}\"]`); \
         const el = row && row.querySelector(`[data-testid=${arguments[1]}]`); \
         return el && el.textContent;",
        vec![json!(conversation), json!(testid)],
        json!(expected),
    )
    .await;
}

/// Wait until `conversation` is in view in the conversation pane.
async fn in_view(browser: &Browser, conversation: &str) {
    browser
        .wait_for(
            &format!("conversation {conversation} in view"),
            "const conv = document.getElementById('conv'); \
             return !conv.hidden && conv.dataset.conversationId === arguments[0];",
            vec![json!(conversation)],
        )
        .await;
}

/// Wait for a toast that contains `part`, and return its text.
async fn toast(browser: &Browser, part: &str) -> String {
    let text = browser
        .wait_for(
            &format!("a toast with {part:?}"),
            "return [...document.querySelectorAll('[data-testid=toast]')] \
               .map((t) => t.textContent).find((t) => t.includes(arguments[0]));",
            vec![json!(part)],
        )
        .await;
    text.as_str().expect("text").to_owned()
}

/// Poll `script` until it returns `expected` (compared as JSON values);
/// on timeout, fail with the last value it returned.
async fn wait_equal(
    browser: &Browser,
    what: &str,
    script: &str,
    args: Vec<Value>,
    expected: Value,
) {
    let started = std::time::Instant::now();
    loop {
        let got = browser.try_js(script, args.clone()).await;
        if got.as_ref() == Ok(&expected) {
            return;
        }
        assert!(
            started.elapsed() < PAGE_WAIT,
            "timed out after {PAGE_WAIT:?} waiting for {what}: expected {expected}, last {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_faq_edit_in_the_console_is_answered_in_the_widget() {
    let app = spawn_app().await;
    let author = app.author_token().await;
    let (_, entry) = app.get("/v1/faq/stores", &author).await;
    let question = "Do you have a physical store I can visit?";
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    widget.ask(question).await;
    widget
        .message("bot", entry["answer"].as_str().expect("answer"))
        .await;

    browser.goto(&app.url("/console/faq")).await;
    sign_in(&browser, &author).await;
    let item = browser
        .element(
            "the stores entry in the list",
            "return document.querySelector('[data-testid=faq-item][data-id=stores]');",
            vec![],
        )
        .await;
    browser.click(&item).await;
    browser
        .wait_for(
            "the entry in the editor",
            "return document.getElementById('faq-question').value === arguments[0];",
            vec![entry["question"].clone()],
        )
        .await;
    let new_answer =
        "Our new flagship store opened in Lübeck, Breite Straße 1, open daily 9:00 to 20:00.";
    let answer = by_id(&browser, "faq-answer").await;
    browser.clear(&answer).await;
    browser.type_text(&answer, new_answer).await;
    browser.click(&by_id(&browser, "faq-save").await).await;
    let live = browser
        .wait_for(
            "the saved entry to be live",
            "const live = document.getElementById('faq-live').textContent; \
             const error = document.getElementById('faq-error').textContent; \
             return error ? 'error: ' + error : live;",
            vec![],
        )
        .await;
    assert!(
        live.as_str().is_some_and(|l| l.starts_with("Live:")),
        "{live}"
    );
    let (_, stored) = app.get("/v1/faq/stores", &author).await;
    assert_eq!(stored["answer"], new_answer);
    assert_eq!(stored["phrasings"], entry["phrasings"], "the rest is kept");
    browser.screenshot("faq-authoring").await;

    // An API error is shown next to the form: this id is taken.
    browser.click(&by_id(&browser, "faq-new").await).await;
    for (field, text) in [
        ("faq-question", "Is the Hamburg store open on Sundays?"),
        ("faq-answer", "No, only Monday to Saturday."),
        ("faq-id", "stores"),
    ] {
        let element = by_id(&browser, field).await;
        browser.type_text(&element, text).await;
    }
    browser.click(&by_id(&browser, "faq-save").await).await;
    let error = browser
        .wait_for(
            "the API's error",
            "return document.getElementById('faq-error').textContent;",
            vec![],
        )
        .await;
    assert!(
        error
            .as_str()
            .is_some_and(|e| e.contains("already exists") && e.contains("(conflict)")),
        "{error}"
    );

    // Back on the shop, the visitor's next question gets the new answer.
    browser.goto(&app.url("/")).await;
    widget.open().await;
    widget.ask(question).await;
    let seq = widget.message("bot", new_answer).await;
    assert_eq!(seq, 4);
}

/// The escalation reason code of the conversation in view, once shown.
async fn reason_code(browser: &Browser) -> Value {
    browser
        .wait_for(
            "the escalation reason",
            "return document.querySelector('[data-testid=reason-code]')?.textContent;",
            vec![],
        )
        .await
}

/// Why a conversation escalated reads in words: a German customer whose
/// angry words escalated it shows "in words: angry words (German)" beside
/// the reason.
#[tokio::test]
async fn an_escalation_by_the_customers_words_says_so_in_words() {
    let app = spawn_app().await;
    let token = app.agent_token("Alex").await;
    let browser = open_console(&app, &token, "").await;
    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello", "customer": {"name": "Jonas Weber"}}))
        .await;
    let welcome = chat.recv_type("welcome").await;
    let angry = "Ich bin echt sauer. Seit zwei Wochen warte ich auf mein Paket, eine Frechheit!";
    escalate(&mut chat, "m1", angry).await;
    let conversation = id(&welcome, "conversation_id");
    click_in_row(&browser, &conversation, "claim").await;
    in_view(&browser, &conversation).await;
    let reason = reason_code(&browser).await;
    assert_eq!(reason, "negative_sentiment");
    let scores = browser
        .wait_for(
            "the escalation's scores",
            "const s = [...document.querySelectorAll('[data-testid=score]')].map((e) => e.textContent); \
             return s.length ? s : null;",
            vec![],
        )
        .await;
    assert!(
        scores
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s == "in words: angry words (German)")),
        "{scores}"
    );
    browser.assert_no_csp_violations().await;
}

#[tokio::test]
async fn an_angry_visitor_is_escalated_and_an_agent_answers_from_the_console() {
    let app = spawn_app().await;
    let token = app.agent_token("Alex").await;
    let token = token.as_str();

    // The agent signs in first, so the visitor finds someone online.
    let browser = Browser::start().await;
    browser.goto(&app.url("/console")).await;
    sign_in(&browser, token).await;
    browser
        .wait_for(
            "the agent socket to be connected",
            "return document.getElementById('conn').dataset.state === 'online' && \
                    document.getElementById('agent-name').textContent === 'Alex';",
            vec![],
        )
        .await;
    let console = browser.window().await;

    let shop = browser.new_window().await;
    assert_ne!(shop, console);
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    let angry =
        "This is absolutely terrible, I am furious, your service is the worst and nobody helps me!";
    widget.ask(angry).await;
    widget.message("customer", angry).await;
    widget
        .js(
            "the visitor to be told they are queued",
            "return $('#banner').dataset.status === 'queued' && !$('#banner').hidden;",
            vec![],
        )
        .await;
    let (_, listed) = app.get("/v1/conversations?limit=1", OPERATOR).await;
    let conversation = listed["conversations"][0]["id"].clone();
    assert_eq!(listed["conversations"][0]["status"], "queued", "{listed}");

    // The agent claims it from the queue and replies.
    browser.switch_to(&console).await;
    let claim = browser
        .element(
            "the Claim button of the queued conversation",
            "const item = document.querySelector(`.queue-item[data-conversation-id=\"${arguments[0]}\"]`); \
             return item && item.querySelector('[data-testid=claim]');",
            vec![conversation.clone()],
        )
        .await;
    browser.click(&claim).await;
    browser
        .wait_for(
            "the claimed conversation with the angry message, marked negative",
            "const conv = document.getElementById('conv'); \
             if (conv.hidden || conv.dataset.conversationId !== arguments[0]) return false; \
             return [...document.querySelectorAll('#transcript [data-from=customer]')] \
               .some((m) => m.querySelector('.bubble').textContent === arguments[1] && m.classList.contains('s-neg'));",
            vec![conversation.clone(), json!(angry)],
        )
        .await;
    let reason = reason_code(&browser).await;
    assert!(
        reason == "negative_sentiment" || reason == "intent_needs_human",
        "{reason}"
    );
    // While the agent has it open, the customer's next message arrives live.
    browser.switch_to(&shop).await;
    let follow_up = "Hello? I have been waiting for my refund for three weeks.";
    widget.ask(follow_up).await;
    widget.message("customer", follow_up).await;
    browser.switch_to(&console).await;
    browser
        .wait_for(
            "the customer's follow-up in the console",
            "return [...document.querySelectorAll('#transcript [data-from=customer][data-seq] .bubble')] \
               .some((b) => b.textContent === arguments[0]);",
            vec![json!(follow_up)],
        )
        .await;
    let note = by_id(&browser, "mode-note").await;
    browser.click(&note).await;
    let input = by_id(&browser, "reply-input").await;
    let note_text = "Upset about waiting; offer free express shipping.";
    browser
        .type_text(&input, &format!("{note_text}{ENTER}"))
        .await;
    browser
        .wait_for(
            "the internal note",
            "return [...document.querySelectorAll('#transcript [data-testid=note] .bubble')] \
               .some((n) => n.textContent === arguments[0]);",
            vec![json!(note_text)],
        )
        .await;
    browser.click(&by_id(&browser, "mode-reply").await).await;
    let reply =
        "I'm so sorry, that should not have happened. Let me sort this out for you right now.";
    browser.type_text(&input, &format!("{reply}{ENTER}")).await;
    browser
        .wait_for(
            "the reply in the console's transcript",
            "return [...document.querySelectorAll('#transcript [data-from=agent][data-seq]')] \
               .some((m) => m.querySelector('.bubble').textContent === arguments[0]);",
            vec![json!(reply)],
        )
        .await;
    browser.screenshot("console-conversation").await;

    // The visitor sees the agent's message under the agent's name, and
    // never the note.
    browser.switch_to(&shop).await;
    let seq = widget.message("agent", reply).await;
    let meta = widget
        .js(
            "the agent's name on the message",
            "return $(`[data-seq=\"${arguments[0]}\"] [data-testid=message-meta]`)?.textContent;",
            vec![json!(seq)],
        )
        .await;
    assert!(
        meta.as_str().is_some_and(|m| m.starts_with("Alex")),
        "{meta}"
    );
    let header = widget
        .js(
            "the panel's subtitle",
            "return $('[data-testid=connection]').textContent;",
            vec![],
        )
        .await;
    assert_eq!(header, "Chatting with Alex");
    let shown = widget
        .js("the widget's text", "return $('#log').textContent;", vec![])
        .await;
    assert!(!shown.as_str().unwrap_or_default().contains(note_text));
    browser.screenshot("widget-agent").await;

    // The agent closes it with a resolution; the visitor is asked to rate.
    browser.switch_to(&console).await;
    browser.click(&by_id(&browser, "btn-close").await).await;
    browser
        .wait_for(
            "the conversation to be closed",
            "return document.querySelector('[data-testid=conv-status]').textContent === 'closed';",
            vec![],
        )
        .await;
    browser.switch_to(&shop).await;
    widget
        .js(
            "the rating card",
            "return !$('#closed').hidden && $('#composer').hidden;",
            vec![],
        )
        .await;
    let five = widget
        .element(
            "the fifth star",
            "[data-testid=rating-star][data-score=\"5\"]",
        )
        .await;
    browser.click(&five).await;
    widget
        .js(
            "the thanks for rating",
            "return !$('[data-testid=rating-thanks]').hidden;",
            vec![],
        )
        .await;

    let customer = newest_customer(&app).await;
    timeline_event(&app, &customer, "rating").await;

    // The stats tab draws the day's numbers.
    browser.switch_to(&console).await;
    browser.click(&by_id(&browser, "tab-stats").await).await;
    let escalations = browser
        .wait_for(
            "the stats",
            "const e = document.getElementById('stats-error').textContent; \
             if (e) return 'error: ' + e; \
             const k = document.querySelector('[data-testid=kpi-escalations] .kpi-value'); \
             return k && document.querySelector('#chart-reasons svg') && k.textContent;",
            vec![],
        )
        .await;
    assert_eq!(escalations, "1");
    let csat = browser
        .js(
            "return document.querySelector('[data-testid=kpi-csat] .kpi-value').textContent;",
            vec![],
        )
        .await;
    assert_eq!(csat, "5.0 / 5");
    browser.screenshot("console-stats").await;
    browser.assert_no_csp_violations().await;
}
