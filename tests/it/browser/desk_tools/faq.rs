//! FAQ authoring in the browser: the token's role is checked at sign-in,
//! unsaved edits are never dropped silently, long text is never cut.

use super::*;

/// Fire a synthetic `beforeunload`: whether the page asks to stay.
async fn asks_before_leaving(browser: &Browser) -> bool {
    browser
        .js(
            "const e = new Event('beforeunload', { cancelable: true }); \
             window.dispatchEvent(e); return e.defaultPrevented;",
            vec![],
        )
        .await
        == true
}

#[tokio::test]
async fn faq_authoring_turns_an_agent_token_away_and_lets_an_author_in() {
    let app = spawn_app().await;
    let agent_token = app.agent_token("Alex").await;
    let author = app.author_token().await;
    let (status, me) = app.get("/v1/me", &agent_token).await;
    assert_eq!((status, &me["role"]), (200, &json!("agent")), "{me}");

    let browser = Browser::start().await;
    browser.goto(&app.url("/console/faq")).await;
    let refused = try_sign_in(&browser, &agent_token).await;
    assert_eq!(
        refused,
        "This is an agent token; FAQ authoring needs an author token. Agents sign in at /console."
    );
    let editor_hidden = browser
        .js("return document.getElementById('app').hidden;", vec![])
        .await;
    assert_eq!(editor_hidden, true, "the editor stays out of reach");

    sign_in(&browser, &author).await;
    let who = browser
        .wait_for(
            "the author's name and role",
            "return document.getElementById('me-name').textContent;",
            vec![],
        )
        .await;
    assert_eq!(who, "Ada · author");
    by_css(
        &browser,
        "the FAQ entries",
        "[data-testid=faq-item][data-id=stores]",
    )
    .await;
}

#[tokio::test]
async fn unsaved_faq_edits_are_kept_until_discarded_and_long_text_is_never_cut() {
    let app = spawn_app().await;
    let author = app.author_token().await;
    let (_, stores) = app.get("/v1/faq/stores", &author).await;
    let question = stores["question"].as_str().expect("question");
    let browser = Browser::start().await;
    browser.goto(&app.url("/console/faq")).await;
    sign_in(&browser, &author).await;
    assert!(!asks_before_leaving(&browser).await, "nothing to lose yet");

    // An edit, then another entry: the page asks first.
    let item = by_css(
        &browser,
        "the stores entry",
        "[data-testid=faq-item][data-id=stores]",
    )
    .await;
    browser.click(&item).await;
    browser
        .wait_for(
            "the stores entry in the editor",
            "return document.getElementById('faq-question').value === arguments[0];",
            vec![json!(question)],
        )
        .await;
    type_into(&browser, "faq-answer", " Also open on Sundays.").await;
    let other = by_css(
        &browser,
        "the returns entry",
        "[data-testid=faq-item][data-id=returns-window]",
    )
    .await;
    browser.click(&other).await;
    let asked = browser
        .wait_for(
            "the discard question",
            "const bar = document.getElementById('faq-confirm'); \
             return !bar.hidden && document.getElementById('faq-confirm-text').textContent;",
            vec![],
        )
        .await;
    assert_eq!(
        asked,
        json!(format!("Discard your changes to “{question}”?"))
    );
    let still = browser
        .js(
            "return [document.getElementById('faq-question').value, \
                     document.getElementById('faq-answer').value.endsWith(' Also open on Sundays.')];",
            vec![],
        )
        .await;
    assert_eq!(still, json!([question, true]), "nothing switched yet");
    assert!(
        asks_before_leaving(&browser).await,
        "leaving the page asks too"
    );
    browser.screenshot("faq-unsaved").await;

    // Keep editing: the edit stays. New entry asks again; Discard drops it.
    click_id(&browser, "faq-confirm-keep").await;
    browser
        .wait_for(
            "the bar to go, the edit kept",
            "return document.getElementById('faq-confirm').hidden && \
                    document.getElementById('faq-answer').value.endsWith(' Also open on Sundays.');",
            vec![],
        )
        .await;
    click_id(&browser, "faq-new").await;
    by_id(&browser, "faq-confirm").await;
    click_id(&browser, "faq-confirm-discard").await;
    browser
        .wait_for(
            "an empty new entry",
            "return document.getElementById('faq-form-title').textContent === 'New entry' && \
                    document.getElementById('faq-question').value === '' && \
                    document.getElementById('faq-confirm').hidden;",
            vec![],
        )
        .await;
    assert!(!asks_before_leaving(&browser).await, "nothing left to lose");
    let (_, kept) = app.get("/v1/faq/stores", &author).await;
    assert_eq!(
        kept["answer"], stores["answer"],
        "the discarded edit was never saved"
    );

    // Text over a limit stays whole, is counted and flagged, and blocks Save.
    let long_question = "Where is the nearest store to me? ".repeat(18); // 612 characters
    let long_question = long_question.trim_end(); // 611, as the server counts
    type_into(&browser, "faq-question", long_question).await;
    let flagged = browser
        .wait_for(
            "the question's length flagged",
            "const q = document.getElementById('faq-question'); \
             const count = document.getElementById('faq-question-count').textContent; \
             return q.value.length === 611 && count.includes('too many') && \
                    document.getElementById('faq-save').disabled && \
                    [count, document.getElementById('faq-question-error').textContent, q.getAttribute('aria-invalid')];",
            vec![],
        )
        .await;
    assert_eq!(
        flagged,
        json!([
            "611 of 500 characters · 111 too many",
            "The question is 611 characters, 111 over the limit of 500. Shorten it to save.",
            "true"
        ])
    );
    browser.screenshot("faq-too-long").await;
    // A pasted answer over its limit is kept whole too.
    let answer = by_id(&browser, "faq-answer").await;
    browser.click(&answer).await;
    browser
        .js(
            "document.execCommand('insertText', false, 'x'.repeat(5100));",
            vec![],
        )
        .await;
    let answer_flag = browser
        .wait_for(
            "the answer's length flagged",
            "return document.getElementById('faq-answer').value.length === 5100 && \
                    document.getElementById('faq-answer-error').textContent;",
            vec![],
        )
        .await;
    assert_eq!(
        answer_flag,
        "The answer is 5100 characters, 100 over the limit of 5000. Shorten it to save."
    );

    // Shortened, it saves.
    for field in ["faq-question", "faq-answer"] {
        browser.clear(&by_id(&browser, field).await).await;
    }
    type_into(&browser, "faq-question", "Where is the nearest store?").await;
    type_into(
        &browser,
        "faq-answer",
        "Our store finder lists every shop near you.",
    )
    .await;
    browser
        .wait_for(
            "Save to be back",
            "return !document.getElementById('faq-save').disabled && \
                    document.getElementById('faq-question-error').textContent === '' && \
                    document.getElementById('faq-save-hint').textContent === '';",
            vec![],
        )
        .await;
    click_id(&browser, "faq-save").await;
    browser
        .wait_for(
            "the entry saved",
            "const e = document.getElementById('faq-error').textContent; \
             if (e) return 'error: ' + e; \
             return document.getElementById('faq-live').textContent !== '';",
            vec![],
        )
        .await;
    assert!(
        !asks_before_leaving(&browser).await,
        "saved, nothing to lose"
    );
    browser.assert_no_csp_violations().await;
}
