//! The desk's tools in the browser: FAQ authoring that checks the token's
//! role, never drops unsaved edits silently and never cuts long text;
//! saved replies written in the Replies tab and inserted with `/`;
//! conversation search; the stats tab's reports for a period.

use serde_json::{json, Value};

use super::console::{by_id, open_console, sign_in, try_sign_in};
use super::webdriver::{Browser, Element};
use super::ENTER;
use crate::handoff::{agent, escalate, id, next_of, next_where, say};
use crate::helpers::*;

mod faq;

const TAB: &str = "\u{E004}";
const ESCAPE: &str = "\u{E00C}";
const ARROW_UP: &str = "\u{E013}";
const ARROW_DOWN: &str = "\u{E015}";

/// A visible element by CSS selector.
async fn by_css(browser: &Browser, what: &str, selector: &str) -> Element {
    browser
        .element(
            what,
            "const e = document.querySelector(arguments[0]); \
             return e && e.offsetParent !== null ? e : null;",
            vec![json!(selector)],
        )
        .await
}

async fn click_id(browser: &Browser, id: &str) {
    browser.click(&by_id(browser, id).await).await;
}

async fn type_into(browser: &Browser, id: &str, text: &str) {
    browser.type_text(&by_id(browser, id).await, text).await;
}

/// The agent console, signed in and connected.
async fn console(app: &TestApp, token: &str) -> Browser {
    open_console(app, token, "").await
}

/// A customer with a name and an email, past `welcome`; the conversation id.
async fn customer(app: &TestApp, name: &str, email: &str) -> (Chat, String) {
    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello", "customer": {"name": name, "email": email}}))
        .await;
    let welcome = chat.recv_type("welcome").await;
    (chat, id(&welcome, "conversation_id"))
}

/// The customer's next message from an agent.
async fn agent_message(chat: &mut Chat) -> String {
    let m = next_where(chat, |f| f["type"] == "message" && f["from"] == "agent").await;
    m["text"].as_str().expect("text").to_owned()
}

#[tokio::test]
async fn a_saved_reply_is_written_in_the_replies_tab_and_inserted_with_a_slash() {
    let app = spawn_app().await;
    let token = app.agent_token("Alex").await;
    // A colleague's reply, already there.
    let (status, body) = app
        .send_json(
            reqwest::Method::POST,
            "/v1/canned",
            &token,
            json!({"shortcut": "shipping", "title": "Shipping times",
                   "text": "Parcels arrive in 2 to 4 days, {{name}}."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let browser = console(&app, &token).await;

    // The agent writes one in the Replies tab.
    click_id(&browser, "tab-replies").await;
    by_css(
        &browser,
        "the colleague's reply in the list",
        "[data-testid=canned-item][data-shortcut=shipping]",
    )
    .await;
    let text = "Hi {{first_name}}, your refund reaches {{email}} within 5 days. Best, {{agent}}";
    type_into(&browser, "canned-shortcut", "refund").await;
    type_into(&browser, "canned-title", "Refund timeline").await;
    type_into(&browser, "canned-text", text).await;
    click_id(&browser, "canned-save").await;
    by_css(
        &browser,
        "the new reply in the list",
        "[data-testid=canned-item][data-shortcut=refund]",
    )
    .await;
    let (_, stored) = app.get("/v1/canned", &token).await;
    let shortcuts: Vec<&str> = stored
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["shortcut"].as_str())
        .collect();
    assert_eq!(shortcuts, ["refund", "shipping"], "{stored}");
    browser.screenshot("console-replies").await;

    // A customer asks for a person; the agent claims the conversation.
    let (mut chat, conversation) = customer(&app, "Dana Scully", "dana@example.com").await;
    escalate(&mut chat, "m1", "I want to talk to a human").await;
    click_id(&browser, "tab-inbox").await;
    let claim = browser
        .element(
            "the Claim button",
            "const item = document.querySelector(`.queue-item[data-conversation-id=\"${arguments[0]}\"]`); \
             return item && item.querySelector('[data-testid=claim]');",
            vec![json!(conversation)],
        )
        .await;
    browser.click(&claim).await;
    browser
        .wait_for(
            "the claimed conversation, ready for a reply",
            "const conv = document.getElementById('conv'); \
             return !conv.hidden && conv.dataset.conversationId === arguments[0] && \
                    !document.getElementById('reply-input').disabled;",
            vec![json!(conversation)],
        )
        .await;

    // `/` lists every reply; arrows move; typing filters; Tab inserts.
    let input = by_id(&browser, "reply-input").await;
    browser.type_text(&input, "/").await;
    let listed = browser
        .wait_for(
            "the picker with both replies",
            "const list = document.getElementById('canned-picker'); \
             const input = document.getElementById('reply-input'); \
             const options = [...list.querySelectorAll('[role=option]')]; \
             return !list.hidden && options.length === 2 && input.getAttribute('aria-expanded') === 'true' && \
                    [options.map((o) => o.dataset.shortcut), input.getAttribute('aria-activedescendant'), \
                     options.map((o) => o.getAttribute('aria-selected'))];",
            vec![],
        )
        .await;
    assert_eq!(
        listed,
        json!([["refund", "shipping"], "canned-option-0", ["true", "false"]])
    );
    browser.screenshot("console-canned-picker").await;
    browser.type_text(&input, ARROW_DOWN).await;
    browser
        .wait_for(
            "the second reply active",
            "return document.getElementById('reply-input').getAttribute('aria-activedescendant') === 'canned-option-1';",
            vec![],
        )
        .await;
    browser.type_text(&input, ARROW_UP).await;
    browser.type_text(&input, "ref").await;
    browser
        .wait_for(
            "the picker filtered to /refund",
            "const options = [...document.querySelectorAll('#canned-picker [role=option]')]; \
             return options.length === 1 && options[0].dataset.shortcut === 'refund' && \
                    options[0].getAttribute('aria-selected') === 'true';",
            vec![],
        )
        .await;
    browser.type_text(&input, TAB).await;
    let filled = "Hi Dana, your refund reaches dana@example.com within 5 days. Best, Alex";
    browser
        .wait_for(
            "the reply inserted with its placeholders filled",
            "return document.getElementById('reply-input').value === arguments[0] && \
                    document.getElementById('canned-picker').hidden && \
                    document.activeElement === document.getElementById('reply-input');",
            vec![json!(filled)],
        )
        .await;
    browser.type_text(&input, ENTER).await;
    assert_eq!(agent_message(&mut chat).await, filled);

    // Escape closes the picker and leaves the text as typed.
    browser
        .wait_for(
            "an empty composer",
            "return document.getElementById('reply-input').value === '';",
            vec![],
        )
        .await;
    browser.type_text(&input, "See /sh").await;
    by_css(
        &browser,
        "the picker",
        "#canned-picker [data-shortcut=shipping]",
    )
    .await;
    browser.type_text(&input, ESCAPE).await;
    browser
        .wait_for(
            "the picker closed, the text kept",
            "return document.getElementById('canned-picker').hidden && \
                    document.getElementById('reply-input').value === 'See /sh';",
            vec![],
        )
        .await;

    // The mouse picks one too.
    browser.clear(&input).await;
    browser.type_text(&input, "/ship").await;
    let option = by_css(
        &browser,
        "the shipping option",
        "#canned-picker [data-shortcut=shipping]",
    )
    .await;
    browser.click(&option).await;
    let shipping = "Parcels arrive in 2 to 4 days, Dana Scully.";
    browser
        .wait_for(
            "the clicked reply inserted",
            "return document.getElementById('reply-input').value === arguments[0];",
            vec![json!(shipping)],
        )
        .await;
    browser.type_text(&input, ENTER).await;
    assert_eq!(agent_message(&mut chat).await, shipping);
    browser.assert_no_csp_violations().await;
}

/// Poll the search API until `query` finds `conversation`.
async fn searchable(app: &TestApp, token: &str, query: &str, conversation: &str) {
    let started = std::time::Instant::now();
    loop {
        let (status, found) = app
            .get(&format!("/v1/conversations/search?{query}"), token)
            .await;
        let hits = found["hits"].as_array().cloned().unwrap_or_default();
        if hits.iter().any(|h| h["conversation_id"] == conversation) {
            return;
        }
        assert!(
            started.elapsed() < super::webdriver::PAGE_WAIT,
            "{query} never found {conversation}: {status} {found}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The search results on the page: conversation ids, in order.
async fn results_once(browser: &Browser, what: &str, expected: &[&str]) {
    browser
        .wait_for(
            what,
            "if (document.getElementById('search-results').getAttribute('aria-busy')) return false; \
             const e = document.getElementById('search-error').textContent; \
             if (e) return 'error: ' + e; \
             const ids = [...document.querySelectorAll('[data-testid=search-hit]')].map((h) => h.dataset.conversationId); \
             return JSON.stringify(ids.slice(0, arguments[0].length)) === JSON.stringify(arguments[0]) && \
                    (arguments[0].length > 0 || document.getElementById('search-summary').textContent === 'No conversation matches.');",
            vec![json!(expected)],
        )
        .await;
}

/// Pick a status in the search filter, as a click on its option.
async fn pick_status(browser: &Browser, status: &str) {
    let option = browser
        .element(
            &format!("the status option {status}"),
            "return document.querySelector(`#search-status option[value=\"${arguments[0]}\"]`);",
            vec![json!(status)],
        )
        .await;
    browser.click(&option).await;
}

#[tokio::test]
async fn search_finds_a_conversation_by_its_words_and_the_customers_email() {
    let app = spawn_app().await;
    let token = app.agent_token("Alex").await;
    let (mut dana, lost) = customer(&app, "Dana Scully", "dana@example.com").await;
    dana.ask("m1", "Where is my parcel to Reykjavik?").await;
    say(&mut dana, "m2", "I want to talk to a human").await;
    let (mut fox, gift) = customer(&app, "Fox Mulder", "fox@example.com").await;
    fox.ask("m1", "How long do I have to return an item?").await;
    searchable(&app, &token, "q=reykjavik&status=queued", &lost).await;
    searchable(&app, &token, "q=fox%40example.com", &gift).await;

    let browser = console(&app, &token).await;
    click_id(&browser, "tab-search").await;
    type_into(&browser, "search-q", "Reykjavik").await;
    results_once(&browser, "Dana's conversation for Reykjavik", &[&lost]).await;
    let hit = browser
        .js(
            "const hit = document.querySelector('[data-testid=search-hit]'); \
             return [hit.querySelector('.hit-name').textContent, \
                     hit.querySelector('[data-testid=hit-status]').textContent, \
                     hit.querySelector('[data-testid=hit-snippet] mark')?.textContent];",
            vec![],
        )
        .await;
    assert_eq!(hit, json!(["Dana Scully", "queued", "Reykjavik"]));

    // By email, then narrowed by status.
    let q = by_id(&browser, "search-q").await;
    browser.clear(&q).await;
    browser
        .type_text(&q, &format!("fox@example.com{ENTER}"))
        .await;
    results_once(&browser, "Fox's conversation first, by email", &[&gift]).await;
    pick_status(&browser, "bot").await;
    results_once(&browser, "Fox's conversation with the bot", &[&gift]).await;
    pick_status(&browser, "closed").await;
    results_once(&browser, "nothing closed", &[]).await;
    browser.clear(&q).await;
    browser
        .type_text(&q, &format!("dana@example.com{ENTER}"))
        .await;
    pick_status(&browser, "queued").await;
    results_once(&browser, "Dana's queued conversation", &[&lost]).await;
    browser.screenshot("console-search").await;

    // A result opens in the inbox.
    let hit = by_css(
        &browser,
        "Dana's result",
        &format!("[data-testid=search-hit][data-conversation-id=\"{lost}\"]"),
    )
    .await;
    browser.click(&hit).await;
    browser
        .wait_for(
            "the conversation open in the inbox",
            "const conv = document.getElementById('conv'); \
             return !document.getElementById('view-inbox').hidden && !conv.hidden && \
                    conv.dataset.conversationId === arguments[0] && \
                    [...document.querySelectorAll('#transcript [data-from=customer] .bubble')] \
                      .some((b) => b.textContent.includes('Reykjavik'));",
            vec![json!(lost)],
        )
        .await;
    browser.assert_no_csp_violations().await;
}

/// The text of each cell of a report row, by `data-testid`.
async fn report_row(browser: &Browser, what: &str, selector: &str) -> Value {
    browser
        .wait_for(
            what,
            "const row = document.querySelector(arguments[0]); \
             if (!row) return null; \
             const cells = {}; \
             for (const c of row.querySelectorAll('td[data-testid]')) cells[c.dataset.testid] = c.textContent; \
             cells.name = row.querySelector('th').textContent; \
             return cells;",
            vec![json!(selector)],
        )
        .await
}

#[tokio::test]
async fn the_stats_tab_reports_response_times_per_agent_reason_and_label() {
    let app = spawn_app().await;
    let alex = app.agent_token("Alex").await;
    let (mut desk, _) = agent(&app, &alex).await;

    // Escalated, answered by Alex, labelled and closed.
    let (mut dana, conversation) = customer(&app, "Dana Scully", "dana@example.com").await;
    escalate(&mut dana, "m1", "I want to talk to a human").await;
    next_where(&mut desk, |f| {
        f["type"] == "queue" && f["items"].as_array().is_some_and(|i| !i.is_empty())
    })
    .await;
    desk.send(json!({"type": "claim", "conversation_id": conversation}))
        .await;
    next_of(&mut desk, "conversation").await;
    desk.send(json!({"type": "message", "conversation_id": conversation,
                     "client_id": "a1", "text": "Hi Dana, Alex here."}))
        .await;
    next_of(&mut desk, "ack").await;
    desk.send(json!({"type": "label", "conversation_id": conversation, "labels": ["refund"]}))
        .await;
    next_of(&mut desk, "labels").await;
    desk.send(json!({"type": "close", "conversation_id": conversation, "resolution": "resolved"}))
        .await;
    next_where(&mut dana, |f| {
        f["type"] == "status" && f["status"] == "closed"
    })
    .await;
    // And one the bot settles alone.
    let (mut fox, _) = customer(&app, "Fox Mulder", "fox@example.com").await;
    fox.ask("m1", "How long do I have to return an item?").await;
    fox.send(json!({"type": "close"})).await;
    next_where(&mut fox, |f| {
        f["type"] == "status" && f["status"] == "closed"
    })
    .await;

    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(29);
    let (_, stats) = app
        .get(&format!("/v1/stats?from={from}&to={today}"), &alex)
        .await;
    assert_eq!(stats["reports"]["first_response"]["count"], 1, "{stats}");
    assert_eq!(stats["bot_resolved"], 1, "{stats}");

    // Another agent reads the figures for the default period.
    let blair = app.agent_token("Blair").await;
    let browser = console(&app, &blair).await;
    click_id(&browser, "tab-stats").await;
    let period = browser
        .wait_for(
            "the period",
            "const f = document.getElementById('stats-from'), t = document.getElementById('stats-to'); \
             return f && t && f.value && [f.value, t.value];",
            vec![],
        )
        .await;
    assert_eq!(
        period,
        json!([from.to_string(), today.to_string()]),
        "the last 30 days"
    );
    let first = report_row(
        &browser,
        "the first response times",
        "[data-testid=report-first-response]",
    )
    .await;
    assert_eq!(first["count"], "1", "{first}");
    assert!(first["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("First response")));
    for cell in ["median", "p90"] {
        assert_ne!(first[cell], "—", "{first}");
    }
    let resolution = report_row(
        &browser,
        "the resolution times",
        "[data-testid=report-resolution]",
    )
    .await;
    assert_eq!(resolution["count"], "1", "{resolution}");
    assert_ne!(resolution["median"], "—", "{resolution}");
    let by_agent = report_row(&browser, "Alex's row", "[data-testid=report-agent]").await;
    assert_eq!(by_agent["name"], "Alex", "{by_agent}");
    assert_eq!(by_agent["conversations"], "1", "{by_agent}");
    assert_ne!(by_agent["first-response"], "—", "{by_agent}");
    assert_ne!(by_agent["resolution"], "—", "{by_agent}");
    let by_reason = report_row(
        &browser,
        "the reason's row",
        "[data-testid=report-reason][data-code=handoff_requested]",
    )
    .await;
    assert_eq!(by_reason["name"], "Asked for a person", "{by_reason}");
    assert_eq!(by_reason["conversations"], "1", "{by_reason}");
    let label = report_row(
        &browser,
        "the label's row",
        "[data-testid=report-label][data-label=refund]",
    )
    .await;
    assert_eq!(label["conversations"], "1", "{label}");
    let bot_resolved = browser
        .js(
            "const k = document.querySelector('[data-testid=kpi-bot-resolved]'); \
             return [k.querySelector('.kpi-label').textContent, k.querySelector('.kpi-value').textContent];",
            vec![],
        )
        .await;
    assert_eq!(bot_resolved, json!(["Resolved by the bot", "1"]));
    browser
        .js(
            "document.getElementById('reports').scrollIntoView();",
            vec![],
        )
        .await;
    browser.screenshot("console-reports").await;

    // A period before any of it has nothing to measure.
    browser
        .js(
            "const set = (id, v) => { const e = document.getElementById(id); e.value = v; \
               e.dispatchEvent(new Event('change', { bubbles: true })); }; \
             set('stats-from', '2020-01-01'); set('stats-to', '2020-01-31');",
            vec![],
        )
        .await;
    let nothing = browser
        .wait_for(
            "no figures for January 2020",
            "const row = document.querySelector('[data-testid=report-first-response]'); \
             const count = row && row.querySelector('[data-testid=count]').textContent; \
             const median = row && row.querySelector('[data-testid=median]').textContent; \
             const agents = document.querySelector('[data-testid=report-agents] p.muted'); \
             return count === '0' && agents && [median, agents.textContent];",
            vec![],
        )
        .await;
    assert_eq!(
        nothing,
        json!(["—", "No agent handled a conversation in this period."])
    );
    browser.assert_no_csp_violations().await;
}
