//! introbot runs consent-first ("double opt-in") introductions over email.
//!
//! A tour of the layout, from the pure middle outwards (ARCHITECTURE.md has
//! the rules between them):
//!
//! - [`core`] — the intro state machine, and the vocabulary every room
//!   shares ([`core::Address`], [`core::MessageId`], [`core::EmailKind`],
//!   ids and tokens). Events and `now` in, the next intro and its effects
//!   (emails to send, addresses to suppress) out. No IO, no clock;
//!   property-tested.
//! - [`mail`] — understanding inbound mail: intro requests, replies and
//!   their decisions, automatic mail (out-of-office, bounces). Pure too.
//! - `compose` — turning effects into RFC 5322 messages with the templates:
//!   text and HTML, threading headers, reply tokens.
//! - `tokens` — intro ids, reply tokens and Message-IDs from the OS
//!   CSPRNG; tokens compared in constant time.
//! - `private` — owner-only directories and files (store, outbox).
//! - `store` — sled: intros, indexes, timers, suppression list and the
//!   outbox, with a state change and its emails committed together.
//! - `source` — where mail comes from (a Maildir, IMAP).
//! - `transport` — where mail goes (a directory of `.eml`, sendmail, SMTP).
//! - `engine` — one inbound message or timer, end to end: route, step,
//!   commit; then drain the outbox.
//! - [`daemon`] — the long-running loop and `run --once`, on the [`clock`]
//!   it is given (the system's, or a manual one in tests); with a Maildir
//!   and an outbox directory, inbound batches pipelined over four threads
//!   (handling, staging the emails, writing, publishing), each group of
//!   batches written through a redo record (`store::redo`).
//! - [`config`] — the TOML file, validated; reading it is the only IO.
//! - `error` — printing an error with each cause once.
//! - `failpoint` — crash points for the stress and crash tests, inert
//!   unless `INTROBOT_FAILPOINT` names one.
//! - [`control`] — the store commands (`list`, `show`, `cancel`,
//!   `suppress`), run directly or through the running daemon's socket.
//! - [`check`], `report`, [`inspect`], [`demo`] — the `check`,
//!   `list`/`show`, `inspect` and `demo` commands; `src/main.rs` only parses
//!   arguments and dispatches.
//!
//! The public surface is what the binary, the tests, the benches and the
//! fuzz targets use: the commands' modules, the pure [`core`] and [`mail`],
//! the [`clock`], the errors the commands return, and [`MailStream`] for
//! the tests' own IMAP client. Everything else is `pub(crate)`.

pub mod check;
pub mod clock;
pub mod config;
pub mod control;
pub mod core;
pub mod daemon;
pub mod demo;
pub mod inspect;
pub mod mail;

mod compose;
mod engine;
mod error;
mod failpoint;
mod private;
mod report;
mod source;
mod store;
mod tokens;
mod transport;

// The errors the commands above return, and the ones they wrap.
/// For the `compose` fuzz target: every kind of email from any names and texts, checked.
pub use compose::compose_anything;
pub use compose::{ComposeError, TemplateError};
pub use engine::EngineError;
pub use report::ReportError;
pub use source::imap::{ImapError, MailStream, TlsError};
pub use source::maildir::MaildirError;
pub use store::StoreError;
pub use tokens::RandomError;
pub use transport::TransportError;
