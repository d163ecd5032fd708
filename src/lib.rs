//! introbot runs consent-first ("double opt-in") introductions over email.
//!
//! A tour of the layout, from the pure middle outwards:
//!
//! - [`core`] — the intro state machine. Events and `now` in, the next intro
//!   and its effects (emails to send, addresses to suppress) out. No IO, no
//!   clock; property-tested.
//! - [`mail`] — understanding inbound mail: intro requests, replies and
//!   their decisions, automatic mail (out-of-office, bounces). Pure too.
//! - [`compose`] — turning effects into RFC 5322 messages with the
//!   templates: text and HTML, threading headers, reply tokens.
//! - [`tokens`] — intro ids and reply tokens from the OS CSPRNG.
//! - [`store`] — sled: intros, indexes, timers, suppression list and the
//!   outbox, with a state change and its emails committed together.
//! - [`source`] — where mail comes from (a Maildir, IMAP).
//! - [`transport`] — where mail goes (a directory of `.eml`, sendmail, SMTP).
//! - [`engine`] — one inbound message or timer, end to end: classify, step,
//!   commit; then drain the outbox.
//! - [`daemon`] — the long-running loop and `run --once`.
//! - [`config`] — the TOML file, validated.
//! - [`control`] — the store commands (`list`, `show`, `cancel`,
//!   `suppress`), run directly or through the running daemon's socket.
//! - [`check`], [`report`], [`inspect`], [`demo`] — the `check`,
//!   `list`/`show`, `inspect` and `demo` commands; `src/main.rs` only parses
//!   arguments and dispatches.

pub mod check;
pub mod compose;
pub mod config;
pub mod control;
pub mod core;
pub mod daemon;
pub mod demo;
pub mod engine;
pub mod inspect;
pub mod mail;
pub mod report;
pub mod source;
pub mod store;
pub mod tokens;
pub mod transport;
