//! # frontdesk
//!
//! A customer-support chat server in one binary: a website visitor chats
//! through a widget, a bot answers from the company's FAQ, and every
//! conversation lands in the customer's CRM timeline.
//!
//! ## Layout
//!
//! - [`app`] — the composition root: `Application::build(config)` opens the
//!   store and the FAQ and binds the listener; `main` and the tests both
//!   start the server through it.
//! - [`config`] — the one typed configuration tree (defaults, TOML file,
//!   environment).
//! - [`transport`] — the axum router: the customer websocket `/v1/chat`,
//!   the agent websocket `/v1/agent`, REST for agents, operators and FAQ
//!   authors, health checks.
//! - [`protocol`] — protocol v1 frames of both sockets, parsed at the edge.
//! - [`room`] — live conversations and the sockets attached to each.
//! - [`turn`] — one customer turn: store, acknowledge, retrieve, decide,
//!   answer.
//! - [`dialogue`] — the bot's turn policy and the escalation rules, pure
//!   functions.
//! - [`handoff`] — the agent queue, agent presence, and every change of
//!   hands (escalate, claim, release, transfer, hand back, close).
//! - [`nlu`] — the ONNX models (sentence encoder, sentiment) on a batching
//!   inference thread, and intents learned from `intents/` at start-up.
//! - [`faq`] — FAQ entries (in the store), their tantivy index and their
//!   embeddings for hybrid retrieval.
//! - [`crm`] — the sled store: customers, conversations, timeline events,
//!   credentials; group commit makes writes durable before they are
//!   acknowledged.
//! - [`auth`] — bearer tokens for operators, agents and authors.
//! - [`error`] — the one mapping from internal errors to error codes.
//! - [`eval`] — measuring the models against labelled datasets.
//!
//! ## Concurrency
//!
//! Each socket is a reading task and a writing task joined by a bounded
//! queue. sled and tantivy work runs on tokio's blocking pool; `fsync`s are
//! batched by one committer thread; model inference runs on its own thread
//! behind a bounded queue. The turns of one conversation are
//! serialised by its room's lock; different conversations run in parallel.
//! Changes of hands run one at a time under the handoff desk's lock, and
//! the store's transaction decides races (exactly one agent wins a
//! claim; the bot cannot speak once an agent owns the conversation).

mod app;
mod auth;
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
mod protocol;
mod room;
mod transport;
mod turn;

pub use app::Application;
pub use config::Config;
pub use nlu::Understanding;
