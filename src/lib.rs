//! # frontdesk
//!
//! A customer-support chat server in one binary: a website visitor chats
//! through a widget, a bot answers from the company's FAQ, and every
//! conversation lands in the customer's CRM timeline.
//!
//! ## Layout
//!
//! Following one customer message from the socket to the store and back:
//!
//! - `transport` — the accept loop (`transport/listener`: connection cap,
//!   header read timeout) and the axum router. The customer socket
//!   `/v1/chat` and the agent socket `/v1/agent` run on one skeleton
//!   (`transport/socket`: outbox, heartbeat, hello deadline, frame checks,
//!   strikes); REST for agents,
//!   operators and FAQ authors; health checks. It turns the domain's
//!   events into frames and the domain's errors into error codes.
//! - `protocol` — the frames of both sockets, parsed at the edge, and the
//!   wire views of the queue and the briefing.
//! - `input` — values checked once at the edge (`ClientId`,
//!   `MessageText`, `Email`, `Rating`, `Note`).
//! - `turn` — one customer turn in the order it happens: understand the
//!   message (models and FAQ search), store it, acknowledge it, then let
//!   the bot plan (a pure function) and apply its reply and escalation.
//! - `dialogue` — the bot's turn policy and the escalation rules, pure
//!   functions, with the phrases (requests for a person in six languages,
//!   threats, "I asked before") the intent model misses.
//! - `handoff` — the agent queue, agent presence, and every change of
//!   hands (escalate, claim, release, transfer, hand back, close), with
//!   optional automatic assignment, business hours, labels and who has a
//!   conversation open; the briefing an agent gets, with replies suggested
//!   from the FAQ for the recent conversation.
//! - `room` — live conversations: the domain publishes typed events
//!   (messages, typing, handovers, places in line, notes, labels, who is
//!   viewing) to the sockets that follow each one.
//! - `transcripts` — search over conversations for agents: an in-memory
//!   tantivy index fed every stored message, with filters on status,
//!   reason, agent, label and date.
//! - `copy` — every sentence the server itself says to customers.
//! - [`nlu`] — the ONNX model (sentence embedding and sentiment in one
//!   pass) on one inference thread per core, and intents learned from
//!   `intents/` (cached between starts), with the distance that tells a
//!   message far from every intent (`nlu::scope`); the language of a
//!   message, and a second, multilingual model (loaded with the first
//!   message in German, French, Spanish, Italian or Dutch) with its own
//!   compact tokenizer, through which the same intents read those
//!   languages; an [`Understanding`] is the loaded whole.
//! - [`faq`] — FAQ entries (in the store), their tantivy index, their
//!   embeddings (persisted, with an HNSW graph over them, searched on
//!   8-bit codes and re-scored exactly) for hybrid
//!   retrieval and the confidence of each hit: its closeness times its
//!   share among the candidates; a second graph by the multilingual model
//!   ranks entries for messages in the other languages.
//! - [`crm`] — the sled store: customers, conversations, timeline events,
//!   credentials, the access audit; group commit makes writes durable
//!   before they are acknowledged. Customer records and events are sealed
//!   under each customer's own key (`crm::keyring`), so erasing a
//!   customer destroys their key first.
//! - [`privacy`] — the data lifecycle around the store: masking card
//!   numbers and contact details before a message is kept, erasure with
//!   its live effects (queue, sockets), the retention schedule, and the
//!   offline `frontdesk customer` commands.
//! - `auth` — bearer tokens for operators, agents and authors.
//! - `error` — the error codes; each module's error names its own code
//!   through the `Coded` trait, and this is the one mapping to HTTP and
//!   to `error` frames.
//! - [`app`](Application) — the composition root: `Application::build`
//!   loads the models, opens the store and the FAQ and binds the listener;
//!   `main` and the tests both start the server through it.
//! - `background` — work started by its first caller in the background,
//!   one run at a time, and started again if a run ended without it.
//! - `open_files` — the open-file budget: the soft limit raised at start,
//!   and the connection cap kept within it.
//! - [`config`] — the one typed configuration tree (defaults, TOML file,
//!   environment).
//! - [`eval`] — measuring the models against labelled datasets, and
//!   replaying labelled customer questions and support conversations
//!   through the whole turn pipeline (`frontdesk eval faq`, `eval
//!   escalation`).
//!
//! Only what `main`, `loadgen`, the benchmarks and the tests use is
//! public; everything else is `pub(crate)`, so the compiler reports what
//! nothing uses.
//!
//! ## Concurrency
//!
//! Each socket is a reading task and a writing task joined by a bounded
//! queue. A turn's reads and writes of a few keys in sled run on its own
//! task (they are in memory); scans, exports and tantivy work run on
//! tokio's blocking pool; `fsync`s are batched by one committer thread; model inference runs on its own
//! worker threads (one per core) behind a bounded queue, one text per run. The turns of one conversation are serialised by
//! its room's turn lock, held from storing the message to storing the
//! reply; different conversations run in parallel. Changes of hands run
//! one at a time under the handoff desk's lock, and the store's
//! transaction decides races (exactly one agent wins a claim; the bot
//! cannot speak once an agent owns the conversation).

mod app;
mod auth;
mod background;
pub mod config;
mod copy;
pub mod crm;
mod dialogue;
mod error;
pub mod eval;
pub mod faq;
mod handoff;
mod input;
pub mod nlu;
mod open_files;
pub mod privacy;
mod protocol;
mod room;
mod transcripts;
mod transport;
mod turn;

pub use app::Application;
pub use config::Config;
pub use nlu::Understanding;
