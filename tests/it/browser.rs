//! The browser surfaces end to end in headless Chromium, against the real
//! server: the widget on the demo page here and in [`widget`], FAQ
//! authoring and the agent console in [`console`], the WebDriver client in
//! [`webdriver`].
//!
//! Every wait polls the page until a condition holds (at most
//! [`webdriver::PAGE_WAIT`]); nothing sleeps for a fixed time. With
//! `FRONTDESK_SCREENSHOTS=<dir>` the tests also save screenshots for the
//! docs (see docs/testing.md).

mod console;
mod desk_tools;
mod webdriver;
mod widget;

use serde_json::{json, Value};

use crate::helpers::*;
use webdriver::{Browser, Element};

const ENTER: &str = "\u{E007}";

/// Prepended to widget scripts: `$`/`$$` query the widget's shadow root.
const IN_WIDGET: &str = "const root = document.querySelector('#frontdesk-widget')?.shadowRoot; \
     const $ = (q) => root ? root.querySelector(q) : null; \
     const $$ = (q) => root ? [...root.querySelectorAll(q)] : [];\n";

/// The chat widget as a visitor uses it.
struct Widget<'a>(&'a Browser);

impl Widget<'_> {
    async fn js(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        self.0
            .wait_for(what, &format!("{IN_WIDGET}{script}"), args)
            .await
    }

    /// The element once it is shown: a hidden one cannot be clicked or
    /// typed into.
    async fn element(&self, what: &str, selector: &str) -> Element {
        self.0
            .element(
                what,
                &format!(
                    "{IN_WIDGET}const e = $(arguments[0]); \
                     return e && e.getClientRects().length > 0 ? e : null;"
                ),
                vec![json!(selector)],
            )
            .await
    }

    /// Open the panel (unless it reopened by itself) and wait for `welcome`.
    async fn open(&self) {
        let launcher = self
            .element("the chat bubble", "[data-testid=launcher]")
            .await;
        let open = self
            .0
            .js(&format!("{IN_WIDGET}return !$('#panel').hidden;"), vec![])
            .await;
        if open != true {
            self.0.click(&launcher).await;
        }
        self.js(
            "the widget to be open and connected",
            "return !$('#panel').hidden && root.host.dataset.connection === 'online';",
            vec![],
        )
        .await;
    }

    async fn ask(&self, text: &str) {
        let input = self.element("the message box", "#input").await;
        self.0.type_text(&input, &format!("{text}{ENTER}")).await;
    }

    /// Wait for a stored message from `from` with exactly `text`; its seq.
    async fn message(&self, from: &str, text: &str) -> u64 {
        let seq = self
            .js(
                &format!("a {from} message {text:?}"),
                "const m = $$('[data-testid=message][data-seq]').find((m) => \
                   m.dataset.from === arguments[0] && \
                   m.querySelector('[data-testid=message-text]').textContent === arguments[1]); \
                 return m ? Number(m.dataset.seq) : null;",
                vec![json!(from), json!(text)],
            )
            .await;
        seq.as_u64().expect("a seq")
    }

    /// The seq of every message element in the transcript, in order;
    /// `0` for one not stored yet.
    async fn seqs(&self) -> Vec<u64> {
        let seqs = self
            .0
            .js(
                &format!(
                    "{IN_WIDGET}return $$('[data-testid=message]').map((m) => Number(m.dataset.seq || 0));"
                ),
                vec![],
            )
            .await;
        serde_json::from_value(seqs).expect("numbers")
    }
}

#[tokio::test]
async fn a_visitor_asks_the_widget_and_gets_the_faq_answer() {
    let app = spawn_app().await;
    let (status, entry) = app.get("/v1/faq/returns-window", OPERATOR).await;
    assert_eq!(status, 200, "{entry}");
    let answer = entry["answer"].as_str().expect("answer");
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);

    widget.open().await;
    let question = "How long do I have to return an item?";
    widget.ask(question).await;
    let asked = widget.message("customer", question).await;
    let answered = widget.message("bot", answer).await;
    assert_eq!((asked, answered), (1, 2));
    let faq_id = widget
        .js(
            "the answer's FAQ id",
            "return $('[data-seq=\"2\"]').dataset.faqId;",
            vec![],
        )
        .await;
    assert_eq!(faq_id, "returns-window");
    assert_eq!(widget.seqs().await, [1, 2], "each message shown once");

    // "Was this helpful?" lands in the customer's timeline.
    let helpful = widget
        .element(
            "the thumbs-up",
            "[data-seq=\"2\"] [data-testid=feedback-yes]",
        )
        .await;
    browser.click(&helpful).await;
    widget
        .js(
            "the thanks for the feedback",
            "return $('[data-seq=\"2\"] [data-testid=feedback]').textContent.startsWith('Thanks');",
            vec![],
        )
        .await;
    let customer = newest_customer(&app).await;
    let feedback = timeline_event(&app, &customer, "feedback").await;
    assert_eq!(feedback["seq"], 2, "a feedback event for seq 2");
    assert_eq!(feedback["helpful"], true);

    // A vague question gets quick replies; tapping one asks it.
    widget.ask("Can I change it?").await;
    let suggestion = widget
        .element("a quick reply", "[data-testid=suggestion]")
        .await;
    let picked = browser.text(&suggestion).await;
    browser.click(&suggestion).await;
    widget.message("customer", &picked).await;
    widget
        .js(
            "the answer to the quick reply",
            "const m = $$('[data-testid=message][data-from=bot]'); \
             return m.length === 3 && m[2].dataset.faqId;",
            vec![],
        )
        .await;
    browser.screenshot("widget-desktop").await;

    // On a phone the panel takes the whole screen, and the conversation
    // comes back after a reload there.
    browser.emulate(Some((390, 844))).await;
    browser.refresh().await;
    widget.open().await;
    widget
        .js(
            "the panel to fill a 390 px wide screen",
            "const r = $('#panel').getBoundingClientRect(); \
             return innerWidth === 390 && r.left === 0 && r.width === innerWidth && r.height === innerHeight;",
            vec![],
        )
        .await;
    browser.screenshot("widget-phone").await;
    browser.emulate(None).await;

    // Escape closes the panel and gives the focus back to the bubble.
    let input = widget.element("the message box", "#input").await;
    browser.type_text(&input, "\u{E00C}").await;
    widget
        .js(
            "the panel closed, the bubble focused",
            "return $('#panel').hidden && root.activeElement === $('#launcher');",
            vec![],
        )
        .await;
    browser.assert_no_csp_violations().await;
}

#[tokio::test]
async fn a_reload_resumes_the_conversation_without_duplicates() {
    let app = spawn_app().await;
    let (_, entry) = app.get("/v1/faq/shipping-costs", OPERATOR).await;
    let answer = entry["answer"].as_str().expect("answer");
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    widget.ask("How much does shipping cost?").await;
    widget.message("bot", answer).await;
    let before = widget.seqs().await;
    assert_eq!(before, [1, 2]);

    // The widget reopens by itself and resumes with last_seq 2: the
    // transcript comes back from the widget's copy, nothing twice.
    browser.refresh().await;
    widget.open().await;
    assert_eq!(
        widget.seqs().await,
        before,
        "the same messages after reload"
    );

    // A copy that missed the last message gets it replayed, exactly once.
    browser
        .js(
            "for (const k of Object.keys(localStorage)) { \
               if (!k.startsWith('frontdesk:')) continue; \
               const s = JSON.parse(localStorage.getItem(k)); \
               s.messages = s.messages.filter((m) => m.seq < 2); s.lastSeq = 1; \
               localStorage.setItem(k, JSON.stringify(s)); }",
            vec![],
        )
        .await;
    browser.refresh().await;
    widget.open().await;
    widget.message("bot", answer).await;
    assert_eq!(widget.seqs().await, before, "the replayed message once");

    // The conversation goes on where it was: the next turn is seq 3 and 4.
    widget.ask("How much does shipping cost?").await;
    widget
        .js(
            "four messages",
            "return $$('[data-testid=message][data-seq]').length === 4;",
            vec![],
        )
        .await;
    assert_eq!(widget.seqs().await, [1, 2, 3, 4]);
    let (_, conversations) = app.get("/v1/conversations", OPERATOR).await;
    assert_eq!(
        conversations["conversations"].as_array().map(Vec::len),
        Some(1),
        "one conversation across the reloads: {conversations}"
    );
}

/// Poll the customer's timeline until an event of `kind` shows up.
async fn timeline_event(app: &TestApp, customer: &str, kind: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (_, timeline) = app
            .get(&format!("/v1/customers/{customer}/timeline"), OPERATOR)
            .await;
        let events = timeline["events"].as_array().cloned().unwrap_or_default();
        if let Some(event) = events.into_iter().find(|e| e["event"] == kind) {
            return event;
        }
        assert!(
            started.elapsed() < webdriver::PAGE_WAIT,
            "no {kind} event in {timeline}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The customer of the newest conversation.
async fn newest_customer(app: &TestApp) -> String {
    let (_, listed) = app.get("/v1/conversations?limit=1", OPERATOR).await;
    listed["conversations"][0]["customer_id"]
        .as_str()
        .expect("customer")
        .to_owned()
}

#[tokio::test]
async fn a_visitor_ends_the_chat_rates_it_and_starts_a_new_one() {
    let app = spawn_app().await;
    let (_, entry) = app.get("/v1/faq/gift-cards", OPERATOR).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    widget.ask("How do gift cards work?").await;
    widget
        .message("bot", entry["answer"].as_str().expect("answer"))
        .await;

    let end = widget.element("End chat", "[data-testid=end-chat]").await;
    browser.click(&end).await;
    let confirm = widget
        .element("the confirmation", "[data-testid=end-confirm]")
        .await;
    browser.click(&confirm).await;
    widget
        .js(
            "the rating card instead of the message box",
            "return !$('#closed').hidden && $('#composer').hidden;",
            vec![],
        )
        .await;
    let four = widget
        .element(
            "the fourth star",
            "[data-testid=rating-star][data-score=\"4\"]",
        )
        .await;
    browser.click(&four).await;
    widget
        .js(
            "the thanks for rating",
            "return $('[data-testid=rating-thanks]').textContent.includes('4 out of 5');",
            vec![],
        )
        .await;
    let customer = newest_customer(&app).await;
    let rating = timeline_event(&app, &customer, "rating").await;
    assert_eq!(rating["score"], 4);
    timeline_event(&app, &customer, "conversation_closed").await;

    // A new conversation starts empty and numbers from 1 again.
    let again = widget
        .element("Start a new conversation", "[data-testid=new-conversation]")
        .await;
    browser.click(&again).await;
    widget
        .js(
            "an empty, connected widget",
            "return $$('[data-testid=message]').length === 0 && !$('#composer').hidden \
                    && root.host.dataset.connection === 'online';",
            vec![],
        )
        .await;
    widget.ask("How do gift cards work?").await;
    widget
        .message("bot", entry["answer"].as_str().expect("answer"))
        .await;
    assert_eq!(widget.seqs().await, [1, 2]);
    let (_, listed) = app.get("/v1/conversations", OPERATOR).await;
    assert_eq!(
        listed["conversations"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
}

#[tokio::test]
async fn with_nobody_online_the_visitor_leaves_an_email() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    let angry =
        "This is absolutely terrible, I am furious, your service is the worst and nobody helps me!";
    widget.ask(angry).await;
    let email = widget
        .element(
            "the contact form's email field",
            "[data-testid=contact-email]",
        )
        .await;
    browser.type_text(&email, "dana@example.com").await;
    let text = widget
        .element("the contact form's message", "[data-testid=contact-text]")
        .await;
    let message = "Please call me back about order 1182.";
    browser.type_text(&text, message).await;
    let send = widget
        .element("the contact form's button", "[data-testid=contact-submit]")
        .await;
    browser.click(&send).await;
    widget
        .js(
            "the thanks for leaving an email",
            "return $$('[data-testid=notice]').some((n) => n.textContent.includes('dana@example.com')) \
                    && $('#contact').hidden;",
            vec![],
        )
        .await;
    widget.message("customer", message).await;

    let customer = newest_customer(&app).await;
    timeline_event(&app, &customer, "contact_left").await;
    let (_, timeline) = app
        .get(&format!("/v1/customers/{customer}/timeline"), OPERATOR)
        .await;
    assert_eq!(timeline["customer"]["email"], "dana@example.com");
}

#[tokio::test]
async fn the_widget_says_it_is_a_bot_first_and_forgets_an_erased_chat() {
    let app = spawn_with(|c| {
        c.bot.disclosure = "An automated assistant answers here; ask for a person any time.".into()
    })
    .await;
    let (_, entry) = app.get("/v1/faq/gift-cards", OPERATOR).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let widget = Widget(&browser);
    widget.open().await;
    // The first thing in the transcript, in the server's words.
    widget
        .js(
            "the disclosure in the first message",
            "const first = $('#log').firstElementChild; \
             const d = first && first.querySelector('[data-testid=disclosure]'); \
             return d && d.textContent === arguments[0];",
            vec![json!(
                "An automated assistant answers here; ask for a person any time."
            )],
        )
        .await;
    widget.ask("How do gift cards work?").await;
    widget
        .message("bot", entry["answer"].as_str().expect("answer"))
        .await;

    let customer = newest_customer(&app).await;
    let r = app
        .http()
        .delete(app.url(&format!("/v1/customers/{customer}")))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    widget
        .js(
            "the erased chat to be forgotten",
            "return [...$$('[data-testid=notice]')].some((n) => n.textContent.startsWith('This conversation has been deleted.')) \
               && $$('[data-testid=message]').length === 0 \
               && !Object.keys(localStorage).some((k) => k.startsWith('frontdesk:') && localStorage.getItem(k).includes('gift'));",
            vec![],
        )
        .await;
}
