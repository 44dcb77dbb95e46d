//! Integration tests: the real server on port 0, a temp data directory, a
//! real websocket client. One binary, one module per area.

#![allow(clippy::unwrap_used)]

mod auth;
mod browser;
mod chat;
mod crash;
mod desk;
mod durability;
mod escalation;
mod faq;
mod handoff;
mod helpers;
mod languages;
mod limits;
mod models;
mod nlu;
mod privacy;
