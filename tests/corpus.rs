//! Golden tests over real forwarded emails (`tests/fixtures/corpus/forward`,
//! see its README for sources and licences): every file is parsed, every
//! field its expectation asserts is compared, and the misses are printed.
//! The pass count may only go up: `FORWARD_FLOOR` is the number that passed
//! when this test last changed.

use std::path::{Path, PathBuf};

use introbot::mail::forward::{Forward, parse_forward};
use serde_json::Value;

const FORWARD_FLOOR: usize = 105;

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn people(list: &[introbot::mail::Mention]) -> Value {
    Value::Array(
        list.iter()
            .map(|p| {
                let name = if p.name.is_empty() { Value::Null } else { Value::String(p.name.clone()) };
                let address = p.email.as_ref().map_or(Value::Null, |e| Value::String(e.to_string()));
                serde_json::json!({"name": name, "address": address})
            })
            .collect(),
    )
}

/// Compares one asserted field; `Err` says how it differs.
fn check(field: &str, expected: &Value, fwd: Option<&Forward>) -> Result<(), String> {
    let orig = &expected["original"];
    let got: Value = match (field, fwd) {
        ("forwarded", f) => Value::Bool(f.is_some()),
        ("forwarder_note", f) => match f.map(|f| norm(&f.note)).filter(|n| !n.is_empty()) {
            Some(n) => Value::String(n),
            None => Value::Null,
        },
        (_, None) => return Err(format!("{field}: not found as a forward")),
        ("original.body", Some(f)) => Value::String(norm(&f.body)),
        ("original.subject", Some(f)) => Value::String(f.subject.clone()),
        ("original.from_email", Some(f)) => {
            f.from.as_ref().and_then(|p| p.email.as_ref()).map_or(Value::Null, |e| Value::String(e.to_string()))
        }
        ("original.from_name", Some(f)) => f
            .from
            .as_ref()
            .map_or(Value::Null, |p| if p.name.is_empty() { Value::Null } else { Value::String(p.name.clone()) }),
        ("original.date_nonempty", Some(f)) => Value::Bool(!f.date.is_empty()),
        ("original.to", Some(f)) => people(&f.to),
        ("original.cc", Some(f)) => people(&f.cc),
        ("original.to_addresses", Some(f)) => Value::Array(
            f.to.iter().map(|p| Value::String(p.email.as_ref().map(|e| e.to_string()).unwrap_or_default())).collect(),
        ),
        (other, _) => return Err(format!("unknown field {other}")),
    };
    let want = match field {
        "forwarded" => expected["forwarded"].clone(),
        "forwarder_note" => expected["forwarder_note"].as_str().map_or(Value::Null, |s| Value::String(norm(s))),
        "original.body" => Value::String(norm(orig["body"].as_str().unwrap_or_default())),
        f => orig[f.trim_start_matches("original.")].clone(),
    };
    if got == want { Ok(()) } else { Err(format!("{field}: got {got}, want {want}")) }
}

/// Every mail in `dir` with its row of `dir/expected.jsonl`.
fn fixtures(dir: &Path) -> Vec<(Value, Vec<u8>)> {
    let expectations = std::fs::read_to_string(dir.join("expected.jsonl")).expect("expectations");
    expectations
        .lines()
        .map(|line| {
            let expected: Value = serde_json::from_str(line).expect("json");
            let file = expected["file"].as_str().expect("file");
            let raw = std::fs::read(dir.join(file)).expect("fixture");
            (expected, raw)
        })
        .collect()
}

/// Scores every forward in `dir` against its `expected.jsonl`: files fully
/// right, the total, and a report of the misses.
fn score_forwards(dir: &str) -> (usize, usize, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let (mut passed, mut total, mut fields_ok, mut fields) = (0, 0, 0, 0);
    let mut report = String::new();
    for (expected, raw) in fixtures(&dir) {
        let file = expected["file"].as_str().expect("file");
        let msg = mail_parser::MessageParser::default().parse(&raw).expect("parses");
        let fwd = parse_forward(&msg);
        let misses: Vec<String> = expected["asserted"]
            .as_array()
            .expect("asserted")
            .iter()
            .filter_map(|f| check(f.as_str().unwrap_or_default(), &expected, fwd.as_ref()).err())
            .collect();
        let asserted = expected["asserted"].as_array().map_or(0, Vec::len);
        fields += asserted;
        fields_ok += asserted - misses.len();
        total += 1;
        if misses.is_empty() {
            passed += 1;
        } else {
            report.push_str(&format!("{file}:\n  {}\n", misses.join("\n  ")));
        }
    }
    println!("{report}{}: {passed}/{total} files, {fields_ok}/{fields} fields", dir.display());
    (passed, total, report)
}

#[test]
fn forwards_from_many_clients_and_languages() {
    let (passed, total, report) = score_forwards("tests/fixtures/corpus/forward");
    assert!(total > 100, "the corpus is there");
    assert!(passed >= FORWARD_FLOOR, "{passed} files passed, fewer than the floor {FORWARD_FLOOR}:\n{report}");
}

/// Formats of clients the shared corpus has no sample of (Proton, Fastmail,
/// Zimbra, new Yahoo, Outlook in Japanese, Korean, Chinese and Russian,
/// HTML-only Gmail and Outlook), written by us after each client's format:
/// every one must be read right.
#[test]
fn forwards_from_clients_beyond_the_corpus() {
    let (passed, total, report) = score_forwards("tests/fixtures/clients/forward");
    assert!(total >= 15, "the fixtures are there");
    assert_eq!(passed, total, "{report}");
}

const REPLY_FLOOR: usize = 72;

/// Signatures and mobile footers the bot strips on purpose, where some
/// sources (talon) keep them: removed from the expectation before comparing.
fn without_signature(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    if let Some(i) = lines.iter().position(|l| *l == "-- " || l.trim_end() == "--") {
        lines.truncate(i);
    }
    while lines.last().is_some_and(|l| {
        let l = l.trim().to_lowercase();
        l.is_empty() || l.starts_with("sent from my") || l.starts_with("get outlook for")
    }) {
        lines.pop();
    }
    lines.join("\n")
}

/// Scores every reply in `dir` against its `expected.jsonl`.
fn score_replies(dir: &str) -> (usize, usize, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let (mut passed, mut total) = (0, 0);
    let mut report = String::new();
    for (expected, raw) in fixtures(&dir) {
        let file = expected["file"].as_str().expect("file");
        let got = introbot::inspect::inspect_bytes(introbot::inspect::Inspect::Reply, file, &raw);
        let got = norm(got["reply_text"].as_str().unwrap_or_default());
        let want = norm(&without_signature(expected["expected_reply_text"].as_str().unwrap_or_default()));
        total += 1;
        if got == want {
            passed += 1;
        } else {
            report.push_str(&format!("{file}:\n  got  {got:?}\n  want {want:?}\n"));
        }
    }
    println!("{report}{}: {passed}/{total} files", dir.display());
    (passed, total, report)
}

#[test]
fn replies_without_their_quotes() {
    let (passed, total, report) = score_replies("tests/fixtures/corpus/replies");
    assert!(total > 70, "the corpus is there");
    assert!(passed >= REPLY_FLOOR, "{passed} replies right, fewer than the floor {REPLY_FLOOR}:\n{report}");
}

/// Replies as Proton, Fastmail, Zimbra, Yahoo, Gmail and Apple Mail write
/// them in languages the corpus lacks (ja, ko, zh, ru, it, nl, pt, sv),
/// HTML-only replies with each client's quote container, an answer below
/// the quote, and a disclaimer a server appended: every one must be right.
#[test]
fn replies_from_clients_beyond_the_corpus() {
    let (passed, total, report) = score_replies("tests/fixtures/clients/replies");
    assert!(total >= 25, "the fixtures are there");
    assert_eq!(passed, total, "{report}");
}
