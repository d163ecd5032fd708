//! Understanding inbound mail. Pure: bytes or parsed messages in, plain data
//! out; no store, no network.
//!
//! - [`inbound`] — the facts of one message the engine needs: ids, sender,
//!   tokens in its recipient addresses, visible text, automatic or not.
//! - [`request`] — an intro request (`Intro: Alice <> Bob`) from a connector.
//! - [`reply`] — the visible part of a reply: quotes and signature removed.
//! - [`decision`] — what a reply's words amount to (yes/no/later/stop/unclear).
//! - [`automatic`] — out-of-office, bounces and list mail, which never count
//!   as an answer and never get one.

pub mod automatic;
pub mod decision;
pub mod forward;
pub mod inbound;
pub mod reply;
pub mod request;

pub use automatic::Automatic;
pub use decision::decide;
pub use inbound::Inbound;
pub use request::{Request, RequestProblem, parse_request};
