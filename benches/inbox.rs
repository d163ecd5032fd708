//! Inbox throughput: 10,000 intro requests and 20,000 replies as files in a
//! Maildir, processed by the release binary with `run --once` into an
//! outbox directory, durability on (the store is flushed before any mail is
//! filed or sent, and every outbox file is fsynced). Beside it, in the same
//! run, a parse-only pass (mail-parser over the same files) for scale.
//!
//! Run: `cargo bench --bench inbox` (INTROS=N to change the size,
//! INTROBOT_BIN=PATH to time another build, e.g. an older commit's,
//! OUTBOX_DIR=PATH for the outbox directory, e.g. on a tmpfs).
//! Needs GNU time at /usr/bin/time for peak RSS.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let intros: usize = std::env::var("INTROS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // OUTBOX_DIR puts the outbox directory elsewhere (a tmpfs, say), to
    // tell introbot's time from the kernel's creating the files.
    let outbox = std::env::var("OUTBOX_DIR").map(PathBuf::from).unwrap_or_else(|_| d.join("sent"));
    std::fs::write(
        d.join("introbot.toml"),
        format!(
            "[bot]\naddress = \"intros@example.com\"\ndata_dir = \"state\"\n[connectors]\nallow = [\"carol@example.com\"]\n[maildir]\npath = \"inbox\"\n[outbox_dir]\npath = \"{}\"\n\
             [limits]\nintros_per_connector_per_day = 100000000\n",
            outbox.display()
        ),
    )
    .expect("config");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(d.join("inbox").join(sub)).expect("maildir");
    }

    // Phase 1: the requests.
    let mut request_files = Vec::new();
    for i in 0..intros {
        let path = d.join("inbox/new").join(format!("{:010}.req{i}.bench", 1_700_000_000 + i));
        std::fs::write(&path, request(i)).expect("write");
        request_files.push(path);
    }
    let parse_requests = parse_only(&request_files);
    let run1 = run_once(d);

    // Phase 2: a yes from each party, through the reply address they got.
    let mut reply_files = Vec::new();
    for (n, (to, token)) in reply_addresses(&outbox).into_iter().enumerate() {
        let path = d.join("inbox/new").join(format!("{:010}.rep{n}.bench", 1_800_000_000 + n));
        std::fs::write(&path, reply(n, &to, &token)).expect("write");
        reply_files.push(path);
    }
    assert_eq!(reply_files.len(), 2 * intros, "every party got a consent note");
    let parse_replies = parse_only(&reply_files);
    let run2 = run_once(d);

    let sent = std::fs::read_dir(&outbox).expect("sent").count();
    assert_eq!(sent, 5 * intros, "ack, 2 consent notes, introduction, outcome per intro");
    let store_bytes = du(&d.join("state"));
    let inbound = 3 * intros;
    let secs = run1.secs + run2.secs;
    let parse_secs = parse_requests + parse_replies;
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| inbound messages | {inbound} ({intros} requests, {} replies) |", 2 * intros);
    println!("| emails written to the outbox | {sent} |");
    for (name, r) in [("requests", &run1), ("replies", &run2)] {
        println!(
            "| `run --once` {name}: wall (user + sys CPU), peak RSS | {:.2} s ({:.2} + {:.2} s), {:.1} MB |",
            r.secs,
            r.user,
            r.sys,
            r.rss_kb as f64 / 1024.0
        );
    }
    println!("| **inbound messages/s** (both runs) | **{:.0}** |", inbound as f64 / secs);
    println!("| parse-only (mail-parser, same files) | {:.0} messages/s |", inbound as f64 / parse_secs);
    println!("| ratio introbot / parse-only | 1 : {:.1} |", secs / parse_secs);
    println!(
        "| store on disk | {:.1} MB, {:.0} bytes per intro |",
        store_bytes as f64 / 1e6,
        store_bytes as f64 / intros as f64
    );
}

struct Run {
    secs: f64,
    rss_kb: u64,
    user: f64,
    sys: f64,
}

fn run_once(dir: &Path) -> Run {
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M %U %S"])
        .arg(std::env::var("INTROBOT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_introbot").to_owned()))
        .args(["run", "--once", "--config", "introbot.toml"])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("/usr/bin/time and introbot run");
    let secs = start.elapsed().as_secs_f64();
    assert!(out.status.success(), "run --once failed: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last: Vec<f64> =
        stderr.lines().last().unwrap_or_default().split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let (rss_kb, user, sys) = match last.as_slice() {
        [m, u, s] => (*m as u64, *u, *s),
        _ => (0, 0.0, 0.0),
    };
    Run { secs, rss_kb, user, sys }
}

fn parse_only(files: &[PathBuf]) -> f64 {
    let start = Instant::now();
    let mut n = 0usize;
    for f in files {
        let raw = std::fs::read(f).expect("read");
        if let Some(m) = mail_parser::MessageParser::default().parse(&raw) {
            n += m.body_text(0).map(|b| b.len()).unwrap_or(0);
        }
    }
    assert!(n > 0);
    start.elapsed().as_secs_f64()
}

fn du(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let meta = e.metadata().expect("meta");
        total += if meta.is_dir() { du(&e.path()) } else { meta.len() };
    }
    total
}

/// (party address, reply address) of every consent note in the outbox.
fn reply_addresses(sent: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(sent).expect("sent").flatten().map(|e| e.path()).collect();
    files.sort();
    for f in files {
        let raw = std::fs::read(&f).expect("read");
        let msg = mail_parser::MessageParser::default().parse(&raw).expect("parses");
        let to = msg.to().and_then(|a| a.first()).and_then(|a| a.address()).expect("to").to_owned();
        // After the requests, all but the acknowledgements are consent notes
        // (Message-IDs are random: nothing in a file name says which).
        if to == "carol@example.com" {
            continue;
        }
        let reply_to = msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).expect("reply-to").to_owned();
        out.push((to, reply_to));
    }
    out
}

fn request(i: usize) -> String {
    format!(
        "Return-Path: <carol@example.com>\r\nDelivered-To: intros@example.com\r\nFrom: Carol Connor <carol@example.com>\r\nTo: Intro Bot <intros@example.com>\r\nSubject: Fwd: Intro: Alice{i} Able <> Bob{i} Busy\r\nDate: Mon, 30 Nov 2026 09:00:00 -0500\r\nMessage-ID: <req-{i}@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBob{i} ran mail at Example Corp; he is the one to ask: Bob{i} Busy <bob{i}@example.org>\r\n\r\n---------- Forwarded message ---------\r\nFrom: Alice{i} Able <alice{i}@example.net>\r\nDate: Mon, 30 Nov 2026 at 08:12\r\nSubject: Intro: Alice{i} Able <> Bob{i} Busy\r\nTo: Carol Connor <carol@example.com>\r\n\r\nHi Carol,\r\n\r\nI'm building an open-source mail server in Rust and would love twenty minutes of Bob's time\r\non how he scaled IMAP IDLE to a million mailboxes. I've read his talk twice, and I have two\r\nconcrete questions about connection draining during deploys.\r\n\r\nThanks!\r\nAlice\r\n"
    )
}

fn reply(n: usize, from: &str, reply_to: &str) -> String {
    format!(
        "From: {from}\r\nTo: Intro Bot <{reply_to}>\r\nDelivered-To: {reply_to}\r\nSubject: Re: Would you like to meet?\r\nDate: Tue, 1 Dec 2026 10:00:00 -0500\r\nMessage-ID: <reply-{n}@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYes, happy to!\r\n\r\nOn Mon, 30 Nov 2026 at 09:00, Intro Bot <{reply_to}> wrote:\r\n> Hi,\r\n>\r\n> If you're swamped, no worries: just reply \"no\" and that's the end of it.\r\n> Would you like to meet? Reply \"yes\" and I'll introduce you both by email.\r\n"
    )
}
