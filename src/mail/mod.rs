//! Understanding inbound mail. Pure: bytes or parsed messages in, plain data
//! out; no store, no network.
//!
//! - [`auth`] — who really sent it: one author, and the sender
//!   authentication results of the trusted server (RFC 8601).
//! - [`clean`] — names, subjects and texts from strangers made safe to
//!   store and to write into headers and bodies again.
//! - [`inbound`] — the facts of one message the engine needs: ids, sender,
//!   tokens in its recipient addresses, visible text, automatic or not.
//! - [`forward`] — a forwarded original and the note above it, from the
//!   formats of common mail clients in every locale they ship.
//! - [`history`] — the vocabulary of quoted history both of those read:
//!   separators, attributions, header fields (read structurally), footers
//!   and addresses, from a table of client × locale rows.
//! - [`html`] — the text a reader sees in an HTML-only mail.
//! - [`request`] — an intro request (`Intro: Alice <> Bob`) from a connector.
//! - [`reply`] — the visible part of a reply: quotes and signature removed.
//! - [`decision`] — what a reply's words amount to (yes/no/later/stop/unclear).
//! - [`automatic`] — out-of-office, bounces, delivery reports and list mail,
//!   which never count as an answer and never get one.
//! - [`out_of_office`] — the return date an out-of-office notice names.

pub mod auth;
pub mod automatic;
pub mod clean;
pub mod decision;
pub mod forward;
mod guarded;
pub mod history;
pub mod html;
pub mod inbound;
pub mod out_of_office;
pub mod reply;
pub mod request;

pub use automatic::Automatic;
pub use decision::decide;
pub use inbound::Inbound;
pub use request::{Request, RequestProblem, parse_request, parse_request_with_contacts};

use std::borrow::Cow;

use mail_parser::{Message, PartType};

use crate::core::{Address, Person};

/// Someone a header or a line of text names: a name, and an address when
/// one was written (some clients put only a name in a forwarded header).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mention {
    /// The name as written; may be empty.
    pub name: String,
    /// The address, when there was a valid one.
    pub email: Option<Address>,
}

impl Mention {
    /// A name without an address.
    pub fn name_only(name: impl Into<String>) -> Self {
        Self { name: name.into(), email: None }
    }

    /// The person, when there is an address to reach them at.
    pub fn into_person(self) -> Option<Person> {
        Some(Person::new(self.name, self.email?))
    }
}

impl From<Person> for Mention {
    fn from(p: Person) -> Self {
        Self { name: p.name, email: Some(p.email) }
    }
}

/// The first text body of `msg`: its plain-text part, or the text a reader
/// sees in its HTML part when it has no plain one (block-aware, unlike
/// mail-parser's own conversion, which glues `<div>Thanks,</div><div>Alex`
/// into `Thanks,Alex`). Byte-order marks a client left in it are removed.
pub fn body_text<'a>(msg: &'a Message<'a>) -> Option<Cow<'a, str>> {
    match &msg.text_part(0)?.body {
        PartType::Text(text) => Some(history::without_bom(text.as_ref())),
        PartType::Html(html) => Some(Cow::Owned(history::without_bom(&html::to_text(html)).into_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod robustness {
    //! No input makes mail understanding panic: random bytes, and random
    //! mixtures of the pieces real mail is made of (headers, separators,
    //! localized field names, quoting, odd Unicode).

    use proptest::prelude::*;

    use crate::inspect::{Inspect, inspect_bytes};

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("From: John Doe <john.doe@acme.com>\r\n".to_owned()),
            Just("Subject: Fwd: Intro: Alice <> Bob\r\n".to_owned()),
            Just("Od: a <a@b.cz>Komu: \"b\" <b@c.cz>Předmět: x".to_owned()),
            Just("---------- Forwarded message ---------\r\n".to_owned()),
            Just("________________________________\r\n".to_owned()),
            Just("> ".to_owned()),
            Just("\r\n".to_owned()),
            Just("On Mon, 1 Jan 2024, Bob <bob@x.org> wrote:\r\n".to_owned()),
            Just("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n".to_owned()),
            Just("Content-Type: message/rfc822\r\n\r\n".to_owned()),
            Just("\u{feff}".to_owned()),
            Just("差出人：山田 <a@b.jp>\r\n件名 ： x\r\n".to_owned()),
            Just("Betreff: \tx\r\nVon: \t„A” <a@b.de>\r\n".to_owned()),
            Just("Dnia 28.10.2021 o 12:46 użytkownik „John Doe” <j@x.pl> napisał:\r\n".to_owned()),
            Just("{author}-ը գրել է.".to_owned()),
            Just("<li><a href=\"https://x.org\">x</a></li><td>Subject: </td>".to_owned()),
            Just("----- Weitergeleitete Nachricht ----- Von: A <a@b.de>An: b@c.de".to_owned()),
            Just("«".to_owned()),
            Just("yes".to_owned()),
            Just("<>".to_owned()),
            Just(":".to_owned()),
            "\\PC{0,40}",
        ]
    }

    /// Inputs the fuzzer once crashed on (`tests/fixtures/fuzz`).
    #[test]
    fn regression_fuzz_findings_do_not_panic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let raw = std::fs::read(entry.expect("entry").path()).expect("read");
            for what in [Inspect::Forward, Inspect::Request, Inspect::Reply] {
                let _ = inspect_bytes(what, "fuzz", &raw);
            }
            n += 1;
        }
        assert!(n > 0, "the findings are there");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
            for what in [Inspect::Forward, Inspect::Request, Inspect::Reply] {
                let _ = inspect_bytes(what, "fuzz", &raw);
            }
        }

        #[test]
        fn mail_shaped_input_never_panics(parts in proptest::collection::vec(fragment(), 0..40)) {
            let text = parts.concat();
            for what in [Inspect::Forward, Inspect::Request, Inspect::Reply] {
                let _ = inspect_bytes(what, "fuzz", text.as_bytes());
            }
            let _ = super::forward::parse_forward_text(&text, "Fwd: x");
            let _ = super::reply::strip_quotes(&text);
            let _ = super::decide(&text);
            let _ = super::history::attribution::attribution(&text);
            let _ = super::history::addresses(&text);
            let lines: Vec<&str> = text.lines().collect();
            let _ = super::history::fields::read_block(&lines, 0);
            let _ = super::html::to_text(&text);
            let _ = super::request::parse_subject(&text);
        }
    }
}
