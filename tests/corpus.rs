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

/// Forwards encoded in legacy charsets (Shift_JIS, ISO-2022-JP, EUC-KR,
/// GBK, Big5, KOI8-R, windows-1251, windows-1252; `tests/fixtures/charsets`,
/// written by its `generate.py`): mail-parser decodes them with its
/// `full_encoding` feature, and every one must be read right.
#[test]
fn forwards_in_legacy_charsets() {
    let (passed, total, report) = score_forwards("tests/fixtures/charsets/forward");
    assert!(total >= 9, "the fixtures are there");
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

/// Replies in the same legacy charsets as the forwards above.
#[test]
fn replies_in_legacy_charsets() {
    let (passed, total, report) = score_replies("tests/fixtures/charsets/replies");
    assert!(total >= 9, "the fixtures are there");
    assert_eq!(passed, total, "{report}");
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

/// Golden forwards and replies for every row of the vocabulary table
/// (`src/mail/history/locales.tsv`): each client × locale's own format,
/// rendered the way that client writes it (separator or intro line, the
/// fields in its order with its names and punctuation, `>` quoting for
/// Apple Mail, one run-together line for Yahoo, an indented original under
/// an attribution for Outlook 2019, Thunderbird's and Gmail's HTML), then
/// read back through `introbot inspect`. Every row must be read right.
mod golden {
    use introbot::inspect::{Inspect, inspect_bytes};
    use introbot::mail::history::{Field, Locale, locales};
    use serde_json::Value;

    const NOTE: &str = "Bob, Alice is great, worth a chat.";
    const BODY: &str = "Hi Carol,\n\nCould you introduce me to Bob Target?\n\nThanks,\nAlice";
    const SUBJECT: &str = "Intro: Alice <> Bob";
    const DATE: &str = "23.11.2026";
    const TIME: &str = "09:00";

    fn value(field: Field) -> &'static str {
        match field {
            Field::From => "Alice Example <alice@example.org>",
            Field::To => "Carol Connector <carol@example.com>",
            Field::Cc => "Dan Deputy <dan@example.org>",
            Field::ReplyTo => "alice@example.org",
            Field::Subject => SUBJECT,
            Field::Date => "Mon, 23 Nov 2026 09:00:00 +0100",
        }
    }

    /// The fields a row writes, in its order: `name` `colon` `value`.
    fn field_lines(row: &Locale) -> Vec<String> {
        row.order
            .iter()
            .filter_map(|f| row.names(*f).first().map(|name| format!("{name}{}{}", row.colon, value(*f))))
            .collect()
    }

    fn eml(subject_prefix: &str, content_type: &str, body: &str) -> Vec<u8> {
        format!(
            "From: Carol Connector <carol@example.com>\r\nTo: intros@bot.example\r\nSubject: {subject_prefix}: {SUBJECT}\r\n\
             Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <golden@clients.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
            body.replace('\n', "\r\n")
        )
        .into_bytes()
    }

    fn html_escape(s: &str) -> String {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    }

    /// The forwards a row's client writes (a name for each), if it writes any.
    fn forwards(row: &Locale) -> Vec<(&'static str, Vec<u8>)> {
        let prefix = row.prefix.first().copied().unwrap_or("Fwd");
        let fields = field_lines(row);
        let mut out = Vec::new();
        match row.client {
            "outlook_2019" => {
                for template in &row.attribution {
                    let line = attribution(row, template);
                    let body: String = BODY.lines().map(|l| format!("    {l}\n")).collect();
                    out.push(("attribution", eml(prefix, "text/plain", &format!("{NOTE}\n\n{line}\n\n{body}"))));
                }
            }
            _ if fields.is_empty() => {}
            "apple_mail" => {
                let intro = row.forward.first().copied().unwrap_or("Begin forwarded message:");
                let quoted: String = fields.iter().map(|f| format!("> {f}\n")).collect();
                let body: String = BODY.lines().map(|l| format!("> {l}\n")).collect();
                let text = format!("{NOTE}\n\n{intro}\n\n{quoted}>\n{body}");
                out.push(("text", eml(prefix, "text/plain", &text)));
            }
            "yahoo" => {
                let separator = row.forward.first().copied().unwrap_or("----- Forwarded Message -----");
                let text = format!("{NOTE}\n\n   {separator} {}\n {BODY}", fields.concat());
                out.push(("run together", eml(prefix, "text/plain", &text)));
            }
            "new_outlook" => {
                let text = format!("{NOTE}\n\n{}\n\n{BODY}", fields.join("\n"));
                out.push(("text", eml(prefix, "text/plain", &text)));
            }
            _ => {
                let separator = row.forward.first().copied().unwrap_or_default();
                let text = format!("{NOTE}\n\n{separator}\n{}\n\n\n{BODY}", fields.join("\n"));
                out.push(("text", eml(prefix, "text/plain", &text)));
                if row.client == "thunderbird" {
                    let rows: String = row
                        .order
                        .iter()
                        .filter_map(|f| {
                            let name = row.names(*f).first()?;
                            Some(format!(
                                "<tr><th valign=\"BASELINE\" nowrap=\"nowrap\" align=\"RIGHT\">{name}: </th><td>{}</td></tr>",
                                html_escape(value(*f))
                            ))
                        })
                        .collect();
                    let body = BODY.replace('\n', "<br>\n");
                    let html = format!(
                        "<html><body><p>{NOTE}</p><div class=\"moz-forward-container\"><br><br>{separator}\n\
                         <table class=\"moz-email-headers-table\" cellspacing=\"0\" cellpadding=\"0\" border=\"0\"><tbody>{rows}</tbody></table><br><br>\
                         <p>{body}</p></div></body></html>"
                    );
                    out.push(("html", eml(prefix, "text/html", &html)));
                }
                if row.client == "gmail" {
                    let lines: String = fields.iter().map(|f| format!("{}<br>", html_escape(f))).collect();
                    let body = BODY.replace('\n', "<br>");
                    let html = format!(
                        "<div dir=\"ltr\">{NOTE}<br><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">{separator}<br>{lines}</div><br><br><div dir=\"ltr\">{body}</div></div></div>"
                    );
                    out.push(("html", eml(prefix, "text/html", &html)));
                }
            }
        }
        out
    }

    fn attribution(row: &Locale, template: &str) -> String {
        let author = row.author.replace("{name}", "Alice Example").replace("{address}", "alice@example.org");
        template.replace("{author}", &author).replace("{date}", DATE).replace("{time}", TIME)
    }

    /// What is wrong in the inspected forward, if anything.
    fn check_forward(row: &Locale, got: &Value) -> Vec<String> {
        let mut wrong = Vec::new();
        let mut want = |what: &str, ok: bool| {
            if !ok {
                wrong.push(format!("{what}: got {got}"));
            }
        };
        let original = &got["original"];
        let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        want("forwarded", got["forwarded"] == true);
        want("note", got["note"] == NOTE);
        want("from", original["from"]["email"] == "alice@example.org" && original["from"]["name"] == "Alice Example");
        want("subject", original["subject"] == SUBJECT);
        want("date", original["date"].as_str().is_some_and(|d| !d.is_empty()));
        want("body", original["body"].as_str().map(norm) == Some(norm(BODY)));
        let emails = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|p| p["email"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        if row.order.contains(&Field::To) {
            want("to", emails(&original["to"]) == ["carol@example.com"]);
        }
        if row.order.contains(&Field::Cc) {
            want("cc", emails(&original["cc"]) == ["dan@example.org"]);
        }
        wrong
    }

    /// The replies a row's client writes above a quoted original.
    fn replies(row: &Locale) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for template in &row.attribution {
            let line = attribution(row, template);
            out.push((
                format!("attribution {template}"),
                format!("Yes, happy to.\n\n{line}\n> Would you like to meet Bob?\n>\n> Intro Bot\n"),
            ));
        }
        let fields = field_lines(row);
        for original in &row.original {
            let quoted = fields.join("\n").replace(SUBJECT, "Would you like to meet Bob?");
            out.push((
                format!("separator {original}"),
                format!("Yes, happy to.\n\n{original}\n{quoted}\n\nWould you like to meet Bob?\n"),
            ));
        }
        if !fields.is_empty() && matches!(row.client, "outlook" | "new_outlook" | "outlook_live") {
            out.push((
                "header block".into(),
                format!("Yes, happy to.\n\n{}\n\nWould you like to meet Bob?\n", fields.join("\n")),
            ));
        }
        out
    }

    /// The row of `expected.jsonl` (the corpus schema) for a golden forward.
    fn forward_expectation(row: &Locale, file: &str) -> Value {
        let person = |f: Field| {
            let v = value(f);
            let (name, address) = v.split_once(" <").unwrap_or_default();
            serde_json::json!({"name": name, "address": address.trim_end_matches('>')})
        };
        let list = |f: Field| if row.order.contains(&f) { vec![person(f)] } else { vec![] };
        let mut asserted =
            vec!["forwarded", "forwarder_note", "original.body", "original.from_email", "original.from_name"];
        asserted.extend(["original.subject", "original.date_nonempty"]);
        if row.order.contains(&Field::To) {
            asserted.push("original.to");
        }
        if row.order.contains(&Field::Cc) {
            asserted.push("original.cc");
        }
        serde_json::json!({
            "file": file, "client": row.client, "language": row.locale, "forwarded": true,
            "original": {"from_name": "Alice Example", "from_email": "alice@example.org", "subject": SUBJECT,
                "date_nonempty": true, "body": BODY, "to": list(Field::To), "cc": list(Field::Cc), "to_addresses": null},
            "forwarder_note": NOTE, "asserted": asserted,
        })
    }

    /// With `INTROBOT_GOLDEN_DIR` set, the golden mails are also written
    /// there (`forward/`, `replies/`, each with its `expected.jsonl`), for
    /// `scripts/bench-compare` to score other parsers on them.
    struct Dump(Option<std::path::PathBuf>);

    impl Dump {
        fn new() -> Dump {
            let dir = std::env::var_os("INTROBOT_GOLDEN_DIR").map(std::path::PathBuf::from);
            for kind in ["forward", "replies"] {
                if let Some(dir) = &dir {
                    let _ = std::fs::remove_dir_all(dir.join(kind));
                    std::fs::create_dir_all(dir.join(kind)).expect("golden dir");
                }
            }
            Dump(dir)
        }

        fn write(&self, kind: &str, file: &str, raw: &[u8], expected: Value) {
            let Some(dir) = &self.0 else { return };
            use std::io::Write;
            std::fs::write(dir.join(kind).join(file), raw).expect("golden file");
            let mut rows = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(kind).join("expected.jsonl"))
                .expect("golden expectations");
            writeln!(rows, "{expected}").expect("golden expectations");
        }
    }

    #[test]
    fn every_client_and_locale_of_the_vocabulary() {
        let (mut forwards_ok, mut forwards_total, mut replies_ok, mut replies_total) = (0, 0, 0, 0);
        let mut report = String::new();
        let mut per_client: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        let dump = Dump::new();
        for row in locales() {
            let mut row_ok = true;
            for (kind, raw) in forwards(row) {
                forwards_total += 1;
                let file = format!("{}_{}_{}_{forwards_total}.eml", row.client, row.locale, kind.replace(' ', "_"));
                dump.write("forward", &file, &raw, forward_expectation(row, &file));
                let got = inspect_bytes(Inspect::Forward, "golden", &raw);
                let wrong = check_forward(row, &got);
                if wrong.is_empty() {
                    forwards_ok += 1;
                } else {
                    row_ok = false;
                    report.push_str(&format!(
                        "forward {} {} ({kind}):\n  {}\n",
                        row.client,
                        row.locale,
                        wrong.join("\n  ")
                    ));
                }
            }
            for (kind, text) in replies(row) {
                replies_total += 1;
                let file = format!("{}_{}_{replies_total}.eml", row.client, row.locale);
                let raw = format!(
                    "From: Bob Busy <bob@example.org>\r\nTo: intros+golden@bot.example\r\nSubject: Re: Would you like to meet Bob?\r\n\
                     Message-ID: <{file}@golden.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
                     Content-Transfer-Encoding: 8bit\r\n\r\n{}",
                    text.replace('\n', "\r\n")
                );
                dump.write(
                    "replies",
                    &file,
                    raw.as_bytes(),
                    serde_json::json!({"file": file, "expected_reply_text": "Yes, happy to."}),
                );
                let got = introbot::mail::reply::strip_quotes(&text);
                if got == "Yes, happy to." {
                    replies_ok += 1;
                } else {
                    row_ok = false;
                    report.push_str(&format!("reply {} {} ({kind}):\n  got {got:?}\n", row.client, row.locale));
                }
            }
            let entry = per_client.entry(row.client).or_default();
            entry.1 += 1;
            if row_ok {
                entry.0 += 1;
            }
        }
        let clients: Vec<String> = per_client.iter().map(|(c, (ok, n))| format!("{c} {ok}/{n}")).collect();
        println!(
            "{report}golden rows by client: {}\ngolden forwards {forwards_ok}/{forwards_total}, replies {replies_ok}/{replies_total}",
            clients.join(", ")
        );
        assert!(locales().len() >= 200 && forwards_total >= 250 && replies_total >= 250, "the table is there");
        assert!(report.is_empty(), "{report}");
    }
}
