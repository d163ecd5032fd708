//! Prints what the readers of an inbound message make of every fixture
//! mail, one block per mail, so that two builds can be compared line by
//! line (`scripts/requests-unchanged BASE` does that): a change meant to
//! be pure speed in reading mail must leave this output identical.
//!
//! For every `.eml` under `tests/fixtures` (and under `GOLDEN_DIR` when
//! set, the golden client × locale mails written by
//! `INTROBOT_GOLDEN_DIR=DIR cargo test --test tests golden`), in path
//! order: `Inbound::read` (Message-ID, author, subject, reply tokens,
//! references, automatic, visible text), `forward::parse_forward`, and
//! `parse_request` with the mail's author as the connector; then the
//! blurb-related helpers over each line of `tests/fixtures/decisions.tsv`.
//!
//! Run: `cargo run --release --example request_outputs > outputs.txt`
//! (`INPUTS=DIR`: the fixtures under DIR instead of this checkout's). Only
//! long-standing public APIs are used, so the same file builds against an
//! older commit.

use std::path::{Path, PathBuf};

use fixtures::collect;

use introbot::core::{Address, Person};
use introbot::mail::{forward, inbound, parse_request, parse_request_with_contacts, reply};

#[path = "support/fixtures.rs"]
mod fixtures;

fn main() {
    let root = std::env::var_os("INPUTS").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let bot = Address::parse("intros@example.com").expect("bot address");
    let mut files = Vec::new();
    collect(&root.join("tests/fixtures"), &mut files);
    if let Some(dir) = std::env::var_os("GOLDEN_DIR") {
        collect(Path::new(&dir), &mut files);
    }
    let mut out = String::new();
    for file in &files {
        let raw = std::fs::read(file).expect("readable fixture");
        let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        let Some(msg) = inbound::parse(&raw) else {
            out.push_str(&format!("== {name}\nnot mail\n"));
            continue;
        };
        let read = inbound::Inbound::read(&msg, Some(&bot));
        out.push_str(&format!("== {name}\ninbound {read:?}\nforward {:?}\n", forward::parse_forward(&msg)));
        let connector = read.from.clone().unwrap_or_else(|| Person::parse("", "someone@example.com").expect("valid"));
        out.push_str(&format!("request {:?}\n", parse_request(&msg, &connector, Some(&bot))));
        // The same mail as an intro request, whatever its subject was: the
        // blurb, sign-off and note readers run on every fixture.
        let as_request = with_subject(&raw, "Fwd: Intro: Priya Shah <> Bob Martin");
        if let Some(msg) = inbound::parse(&as_request) {
            let contacts = [Person::parse("Bob Martin", "bob.martin@contacts.example").expect("valid")];
            let request = parse_request_with_contacts(&msg, &connector, Some(&bot), &contacts);
            out.push_str(&format!("as request {request:?}\n"));
        }
    }
    let table = std::fs::read_to_string(root.join("tests/fixtures/decisions.tsv")).expect("decisions.tsv");
    for (n, row) in table.lines().enumerate().filter(|(_, l)| !l.starts_with('#')) {
        let text = row.rsplit_once('\t').map_or(row, |(t, _)| t).replace("\\n", "\n");
        out.push_str(&format!("row {}\t{:?}\n", n + 1, reply::strip_quotes(&text)));
    }
    print!("{out}");
    eprintln!("{} mails read", files.len());
}

/// `raw` with its first `Subject:` header replaced (or one added on top).
fn with_subject(raw: &[u8], subject: &str) -> Vec<u8> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| raw.windows(2).position(|w| w == b"\n\n"));
    let head = &raw[..head_end.unwrap_or(raw.len())];
    let mut start = 0;
    while start < head.len() {
        let end = head[start..].iter().position(|b| *b == b'\n').map_or(head.len(), |e| start + e + 1);
        if head[start..end].len() >= 8 && head[start..start + 8].eq_ignore_ascii_case(b"subject:") {
            // The header's folded continuation lines go with it.
            let mut stop = end;
            while stop < head.len() && matches!(head[stop], b' ' | b'\t') {
                stop = head[stop..].iter().position(|b| *b == b'\n').map_or(head.len(), |e| stop + e + 1);
            }
            return [&raw[..start], format!("Subject: {subject}\r\n").as_bytes(), &raw[stop..]].concat();
        }
        start = end;
    }
    [format!("Subject: {subject}\r\n").as_bytes(), raw].concat()
}
