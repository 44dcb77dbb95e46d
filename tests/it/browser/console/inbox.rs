//! The console's inbox tools: tabs with counts and previews, a queue of
//! hundreds, labels, alerts, who else has a conversation open, and
//! automatic assignment.

use futures_util::StreamExt;
use serde_json::json;

use super::super::webdriver::Browser;
use super::super::ENTER;
use super::{
    by_id, click_in_row, in_row, in_view, open_console, queued_customer, row_text, toast,
    wait_equal, RECORD_ALERTS,
};
use crate::handoff::{agent, next_of, next_where, say};
use crate::helpers::*;

const TITLE: &str = "Agent console · frontdesk";

/// The conversation ids of the rows the inbox shows, in order.
async fn rows(browser: &Browser) -> Vec<String> {
    let ids = browser
        .js(
            "return [...document.querySelectorAll('#queue-list .queue-item')].map((r) => r.dataset.conversationId);",
            vec![],
        )
        .await;
    serde_json::from_value(ids).expect("ids")
}

async fn show_tab(browser: &Browser, tab: &str) {
    browser
        .click(&by_id(browser, &format!("qtab-{tab}")).await)
        .await;
    browser
        .wait_for(
            &format!("the {tab} tab"),
            "return document.getElementById('qtab-' + arguments[0]).getAttribute('aria-selected') === 'true';",
            vec![json!(tab)],
        )
        .await;
}

async fn counts(browser: &Browser, mine: u32, queued: u32, all: u32) {
    wait_equal(
        browser,
        "the tabs' counts (mine, queued, all open)",
        "return ['mine', 'queued', 'all'].map((t) => Number(document.getElementById('count-' + t).textContent));",
        vec![],
        json!([mine, queued, all]),
    )
    .await;
}

#[tokio::test]
async fn the_inbox_has_tabs_with_counts_and_a_preview_of_each_conversation() {
    let app = spawn_app().await;
    let browser = open_console(&app, &app.agent_token("Alex").await, "").await;
    let (mut blair, _) = agent(&app, &app.agent_token("Blair").await).await;
    let (_dana, first) = queued_customer(&app, json!({"name": "Dana Whitfield"})).await;
    let (_erin, second) = queued_customer(&app, json!({"email": "erin@example.com"})).await;
    counts(&browser, 0, 2, 2).await;

    // Each row previews the last message: who, then what.
    let last = app
        .transcript(&first)
        .await
        .last()
        .cloned()
        .expect("a message");
    assert_eq!(last["from"], "bot");
    let preview = format!("Bot: {}", last["text"].as_str().expect("text"));
    row_text(&browser, &first, "preview", &preview).await;

    blair
        .send(json!({"type": "claim", "conversation_id": second}))
        .await;
    next_of(&mut blair, "conversation").await;
    counts(&browser, 0, 1, 2).await;
    click_in_row(&browser, &first, "claim").await;
    in_view(&browser, &first).await;
    counts(&browser, 1, 0, 2).await;

    show_tab(&browser, "mine").await;
    assert_eq!(rows(&browser).await, std::slice::from_ref(&first));
    show_tab(&browser, "all").await;
    let mut all = rows(&browser).await;
    all.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(all, expected);
    row_text(&browser, &second, "queue-name", "erin@example.com").await;

    // The arrow keys move between the tabs.
    let all_tab = by_id(&browser, "qtab-all").await;
    browser.type_text(&all_tab, "\u{E012}").await; // ArrowLeft
    browser
        .wait_for(
            "the Queued tab, empty",
            "return document.getElementById('qtab-queued').getAttribute('aria-selected') === 'true' && \
                    document.activeElement.id === 'qtab-queued' && \
                    !document.querySelector('#queue-list .queue-item') && \
                    document.getElementById('queue-empty').textContent === 'Nobody is waiting.';",
            vec![],
        )
        .await;
    browser.assert_no_csp_violations().await;
}

#[tokio::test]
async fn two_hundred_waiting_conversations_keep_the_selection_and_the_scroll() {
    const WAITING: usize = 200;
    let app = spawn_with(|c| {
        c.limits.conversations_per_minute = 100_000.0;
        c.limits.conversation_burst = 1_000;
    })
    .await;
    let browser = open_console(&app, &app.agent_token("Alex").await, "").await;
    // Customers ask for a person, a few at a time; their sockets close,
    // their conversations wait.
    let made: Vec<String> = futures_util::stream::iter(0..WAITING)
        .map(|n| {
            let app = &app;
            async move {
                let customer = json!({"name": format!("Customer {n:03}")});
                queued_customer(app, customer).await.1
            }
        })
        .buffer_unordered(6)
        .collect()
        .await;
    assert_eq!(made.len(), WAITING);
    browser
        .wait_for(
            "200 rows under Queued",
            "return document.getElementById('count-queued').textContent === '200' && \
                    document.querySelectorAll('#queue-list .queue-item').length === 200;",
            vec![],
        )
        .await;

    // Open one in the middle, scrolled to it.
    let picked = browser
        .js(
            "const row = document.querySelectorAll('#queue-list .queue-item')[120]; \
             row.scrollIntoView({ block: 'center' }); \
             return row.dataset.conversationId;",
            vec![],
        )
        .await;
    let picked = picked.as_str().expect("an id").to_owned();
    click_in_row(&browser, &picked, "queue-open").await;
    in_view(&browser, &picked).await;
    let scrolled = browser
        .js(
            "for (const row of document.querySelectorAll('#queue-list .queue-item')) row.kept = true; \
             return document.getElementById('queue-panel').scrollTop;",
            vec![],
        )
        .await;
    assert!(scrolled.as_f64().is_some_and(|top| top > 0.0), "{scrolled}");

    // A new snapshot: one more customer waits. Only their row is new; the
    // others, the selection and the scroll position stay.
    let (_late, late) = queued_customer(&app, json!({"name": "Customer 200"})).await;
    in_row(&browser, &late, "").await;
    let after = browser
        .js(
            "const rows = [...document.querySelectorAll('#queue-list .queue-item')]; \
             return { count: rows.length, fresh: rows.filter((r) => !r.kept).map((r) => r.dataset.conversationId), \
                      selected: rows.filter((r) => r.classList.contains('selected')).map((r) => r.dataset.conversationId), \
                      top: document.getElementById('queue-panel').scrollTop };",
            vec![],
        )
        .await;
    assert_eq!(
        after,
        json!({"count": WAITING + 1, "fresh": [late], "selected": [picked], "top": scrolled})
    );
    browser.screenshot("console-queue-200").await;
}

#[tokio::test]
async fn labels_are_edited_in_the_header_and_shown_in_the_queue() {
    let app = spawn_app().await;
    let browser = open_console(&app, &app.agent_token("Alex").await, "").await;
    let (mut blair, _) = agent(&app, &app.agent_token("Blair").await).await;
    let (_dana, conversation) = queued_customer(&app, json!({"name": "Dana Whitfield"})).await;
    click_in_row(&browser, &conversation, "claim").await;
    in_view(&browser, &conversation).await;

    let header_labels = "return [...document.querySelectorAll('#label-list [data-testid=label]')].map((l) => l.dataset.label);";
    let input = by_id(&browser, "label-input").await;
    browser
        .type_text(&input, &format!("Refund  Request{ENTER}"))
        .await;
    browser.type_text(&input, &format!("vip{ENTER}")).await;
    wait_equal(
        &browser,
        "two labels",
        header_labels,
        vec![],
        json!(["refund request", "vip"]),
    )
    .await;
    // A label the server would refuse is explained, not sent.
    browser.type_text(&input, &format!("no/slash{ENTER}")).await;
    let error = browser
        .wait_for(
            "the label's error",
            "return document.getElementById('label-error').textContent;",
            vec![],
        )
        .await;
    assert!(
        error.as_str().is_some_and(|e| e.contains("letters")),
        "{error}"
    );
    let remove = browser
        .element(
            "vip's remove button",
            "return document.querySelector('[data-testid=label][data-label=vip] [data-testid=label-remove]');",
            vec![],
        )
        .await;
    browser.click(&remove).await;
    wait_equal(
        &browser,
        "one label",
        header_labels,
        vec![],
        json!(["refund request"]),
    )
    .await;

    // The queue shows them, to every agent.
    show_tab(&browser, "mine").await;
    let chips = "return [...document.querySelectorAll(`.queue-item[data-conversation-id=\"${arguments[0]}\"] [data-testid=queue-label]`)] \
                 .map((c) => c.textContent);";
    wait_equal(
        &browser,
        "the label on the queue row",
        chips,
        vec![json!(conversation)],
        json!(["refund request"]),
    )
    .await;
    browser.screenshot("console-labels").await;
    next_where(&mut blair, |f| {
        f["type"] == "queue" && f["items"][0]["labels"] == json!(["refund request"])
    })
    .await;

    // They are the conversation's: there again after a reload.
    browser.refresh().await;
    show_tab(&browser, "mine").await;
    click_in_row(&browser, &conversation, "queue-open").await;
    in_view(&browser, &conversation).await;
    wait_equal(
        &browser,
        "the label after a reload",
        header_labels,
        vec![],
        json!(["refund request"]),
    )
    .await;
    browser.assert_no_csp_violations().await;
}

#[tokio::test]
async fn an_agent_sees_who_else_has_the_conversation_open() {
    let app = spawn_app().await;
    let browser = open_console(&app, &app.agent_token("Alex").await, "").await;
    let (mut blair, _) = agent(&app, &app.agent_token("Blair").await).await;
    let (_dana, conversation) = queued_customer(&app, json!({"name": "Dana Whitfield"})).await;
    click_in_row(&browser, &conversation, "queue-open").await;
    in_view(&browser, &conversation).await;
    let viewers =
        "const v = document.getElementById('conv-viewers'); return v.hidden ? '' : v.textContent;";
    wait_equal(&browser, "nobody else", viewers, vec![], json!("")).await;

    blair
        .send(json!({"type": "watch", "conversation_id": conversation}))
        .await;
    next_of(&mut blair, "conversation").await;
    wait_equal(
        &browser,
        "Blair viewing",
        viewers,
        vec![],
        json!("Also viewing: Blair"),
    )
    .await;
    row_text(&browser, &conversation, "queue-viewers", "Open for Blair").await;
    browser.screenshot("console-viewers").await;

    blair
        .send(json!({"type": "unwatch", "conversation_id": conversation}))
        .await;
    wait_equal(&browser, "Blair gone", viewers, vec![], json!("")).await;
}

#[tokio::test]
async fn the_title_counts_what_waits_and_alerts_come_when_asked() {
    let app = spawn_app().await;
    let browser = open_console(&app, &app.agent_token("Alex").await, RECORD_ALERTS).await;
    let title = "return document.title;";
    let pressed = "return ['alert-sound', 'alert-desktop'] \
                   .map((id) => document.getElementById(id).getAttribute('aria-pressed') === 'true');";
    assert_eq!(browser.js(title, vec![]).await, TITLE);
    assert_eq!(
        browser.js(pressed, vec![]).await,
        json!([false, false]),
        "off until asked"
    );

    // Turned on, the sound beeps once to show itself; the browser is asked
    // for notifications only now.
    let asked = "return window.Notification.permission;";
    assert_eq!(browser.js(asked, vec![]).await, "default");
    browser.click(&by_id(&browser, "alert-sound").await).await;
    browser.click(&by_id(&browser, "alert-desktop").await).await;
    wait_equal(&browser, "both on", pressed, vec![], json!([true, true])).await;
    assert_eq!(browser.js(asked, vec![]).await, "granted");
    assert_eq!(browser.js("return window.__beeps;", vec![]).await, 1);

    let (mut dana, first) = queued_customer(&app, json!({"name": "Dana Whitfield"})).await;
    wait_equal(
        &browser,
        "one waiting",
        title,
        vec![],
        json!(format!("(1) {TITLE}")),
    )
    .await;
    let notified = browser
        .wait_for(
            "a notification for the waiting customer",
            "return window.__notified.find((n) => n.title === 'Waiting: Dana Whitfield');",
            vec![],
        )
        .await;
    assert_eq!(notified["body"], "Asked for a person");
    assert_eq!(browser.js("return window.__beeps;", vec![]).await, 2);
    let (_erin, second) = queued_customer(&app, json!({"name": "Erin Vogel"})).await;
    wait_equal(
        &browser,
        "two waiting",
        title,
        vec![],
        json!(format!("(2) {TITLE}")),
    )
    .await;

    // Claimed, Dana no longer waits; her message while Erin is open does.
    click_in_row(&browser, &first, "claim").await;
    in_view(&browser, &first).await;
    wait_equal(
        &browser,
        "one waiting again",
        title,
        vec![],
        json!(format!("(1) {TITLE}")),
    )
    .await;
    click_in_row(&browser, &second, "queue-open").await;
    in_view(&browser, &second).await;
    say(&mut dana, "m2", "Are you still there?").await;
    wait_equal(
        &browser,
        "Erin and Dana's message",
        title,
        vec![],
        json!(format!("(2) {TITLE}")),
    )
    .await;
    browser
        .wait_for(
            "a notification for Dana's message",
            "return window.__notified.some((n) => n.title === 'New message from Dana Whitfield' && n.body === 'Are you still there?');",
            vec![],
        )
        .await;
    show_tab(&browser, "mine").await;
    row_text(&browser, &first, "unread", "1").await;
    click_in_row(&browser, &first, "queue-open").await;
    in_view(&browser, &first).await;
    wait_equal(
        &browser,
        "Dana's message read",
        title,
        vec![],
        json!(format!("(1) {TITLE}")),
    )
    .await;

    // The choice is kept for the next visit.
    browser.refresh().await;
    browser
        .wait_for(
            "the console again",
            "return document.getElementById('conn').dataset.state === 'online';",
            vec![],
        )
        .await;
    let kept = browser
        .js(
            "return [JSON.parse(localStorage.getItem('frontdesk:alerts')), \
                     document.getElementById('alert-sound').getAttribute('aria-pressed'), \
                     document.getElementById('alert-desktop').getAttribute('aria-pressed') === \
                       String(window.Notification.permission !== 'denied')];",
            vec![],
        )
        .await;
    assert_eq!(
        kept,
        json!([{"sound": true, "desktop": true}, "true", true])
    );
}

#[tokio::test]
async fn with_automatic_assignment_the_queue_says_so_and_claim_stays() {
    let app = spawn_with(|c| c.handoff.assignment = frontdesk::config::Assignment::Auto).await;
    let browser = open_console(&app, &app.agent_token("Alex").await, "").await;
    let note = browser
        .wait_for(
            "the note on the Queued tab",
            "const n = document.getElementById('queue-auto'); return !n.hidden && n.textContent;",
            vec![],
        )
        .await;
    assert!(
        note.as_str()
            .is_some_and(|n| n.contains("assigned automatically")),
        "{note}"
    );

    // Online with room, a waiting conversation comes to Alex by itself.
    let (_dana, _) = queued_customer(&app, json!({"name": "Dana Whitfield"})).await;
    let notice = toast(&browser, "assigned").await;
    assert_eq!(notice, "A conversation was assigned to you");
    counts(&browser, 1, 0, 1).await;

    // Away, the next one waits, and Alex may still claim it.
    browser.click(&by_id(&browser, "presence").await).await;
    browser
        .wait_for(
            "presence away",
            "return document.getElementById('presence').dataset.presence === 'away';",
            vec![],
        )
        .await;
    let (_erin, second) = queued_customer(&app, json!({"name": "Erin Vogel"})).await;
    browser
        .wait_for(
            "Claim on Erin's row, usable",
            "const b = document.querySelector(`.queue-item[data-conversation-id=\"${arguments[0]}\"] [data-testid=claim]`); \
             return b && !b.disabled && !document.getElementById('queue-auto').hidden;",
            vec![json!(second)],
        )
        .await;
}
