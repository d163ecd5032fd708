//! Start-up and `list` with a big store: `INTROS` intros (100,000), half
//! of them ended (both parties said yes: introduced), half still open,
//! made once through the release binary (`run --once` in local mode: a
//! Maildir of requests, then of yeses, into an outbox directory emptied
//! after each round) and kept in `STARTUP_DIR` (default
//! `target/bench-startup-N`) for later runs.
//!
//! A store built by an older introbot gets `list`'s summaries on its first
//! open by this one (once per store): a first, separately reported `list`
//! does that, so the samples below are of a store as it stays.
//!
//! Then, five times each: the daemon from start to READY (`sd_notify`,
//! read on our own `NOTIFY_SOCKET`; a Maildir source, so no IMAP login is
//! counted), `list` and `list --json` on that store (output thrown away);
//! medians and maxima, and the store's size.
//!
//! Run: `cargo bench --bench startup` (`INTROS=N` for another size,
//! `INTROBOT_BIN=PATH` to time another build).

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> String {
    std::env::var("INTROBOT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_introbot").to_owned())
}

const CONFIG: &str = "[bot]\naddress = \"intros@example.com\"\ndata_dir = \"state\"\n[connectors]\nallow = [\"carol@example.com\"]\n[maildir]\npath = \"inbox\"\n[outbox_dir]\npath = \"sent\"\n[limits]\nintros_per_connector_per_day = 100000000\n";

/// Rounds of requests the store is built in (each round's files are
/// removed before the next, so the disk never holds more than one round).
const ROUND: usize = 10_000;

fn main() {
    let intros: usize = std::env::var("INTROS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = std::env::var("STARTUP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-startup-{intros}")));
    if !dir.join("built").exists() {
        let t = Instant::now();
        build(&dir, intros);
        std::fs::write(dir.join("built"), "").expect("marker");
        eprintln!("startup: built a store of {intros} intros in {:.0} s", t.elapsed().as_secs_f64());
    }
    let first = timed(&dir, &["list"]);
    let ready: Vec<f64> = (0..5).map(|_| start_to_ready(&dir)).collect();
    let list: Vec<f64> = (0..5).map(|_| timed(&dir, &["list"])).collect();
    let json: Vec<f64> = (0..5).map(|_| timed(&dir, &["list", "--json"])).collect();
    let lines = Command::new(bin())
        .args(["list", "--json", "--config", "introbot.toml"])
        .current_dir(&dir)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0);
    assert_eq!(lines, intros, "every intro listed");
    let ended = Command::new(bin())
        .args(["list", "--json", "--state", "introduced", "--config", "introbot.toml"])
        .current_dir(&dir)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0);
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| intros stored | {intros} ({ended} introduced, {} open) |", intros - ended);
    println!("| store on disk | {:.0} MB |", du(&dir.join("state")) as f64 / 1e6);
    println!(
        "| first `list` by this build (builds the summaries of a store from an older one) | {:.0} ms |",
        first * 1e3
    );
    println!(
        "| start to READY (Maildir source, no IMAP login), 5 starts | median {} ms, max {} ms |",
        ms(&ready, 0.5),
        ms(&ready, 1.0)
    );
    println!("| `list` (table), 5 runs | median {} ms, max {} ms |", ms(&list, 0.5), ms(&list, 1.0));
    println!("| `list --json`, 5 runs | median {} ms, max {} ms |", ms(&json, 0.5), ms(&json, 1.0));
}

fn ms(samples: &[f64], q: f64) -> String {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() - 1) as f64 * q).round() as usize;
    format!("{:.0}", s[i] * 1e3)
}

/// Starts the daemon and waits for READY=1 on a socket of our own.
fn start_to_ready(dir: &Path) -> f64 {
    let socket = dir.join("notify.sock");
    let _ = std::fs::remove_file(&socket);
    let listener = UnixDatagram::bind(&socket).expect("notify socket");
    listener.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let start = Instant::now();
    let mut child = Command::new(bin())
        .args(["run", "--config", "introbot.toml"])
        .current_dir(dir)
        .env("NOTIFY_SOCKET", &socket)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("introbot starts");
    let mut buf = [0u8; 4096];
    let secs = loop {
        let n = listener.recv(&mut buf).expect("a notification within 60 s");
        if String::from_utf8_lossy(&buf[..n]).lines().any(|l| l == "READY=1") {
            break start.elapsed().as_secs_f64();
        }
    };
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let _ = std::fs::remove_file(&socket);
    secs
}

fn timed(dir: &Path, args: &[&str]) -> f64 {
    let start = Instant::now();
    let status = Command::new(bin())
        .args(args)
        .args(["--config", "introbot.toml"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("introbot runs");
    assert!(status.success(), "{args:?} failed");
    start.elapsed().as_secs_f64()
}

fn run_once(dir: &Path) {
    let out = Command::new(bin())
        .args(["run", "--once", "--config", "introbot.toml"])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("introbot runs");
    assert!(out.status.success(), "run --once failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Makes the store: rounds of requests, then a yes from both parties of
/// every other intro of the round.
fn build(dir: &Path, intros: usize) {
    let _ = std::fs::remove_dir_all(dir);
    for sub in ["inbox/new", "inbox/cur", "inbox/tmp", "sent"] {
        std::fs::create_dir_all(dir.join(sub)).expect("dirs");
    }
    std::fs::write(dir.join("introbot.toml"), CONFIG).expect("config");
    let mut i = 0;
    while i < intros {
        let end = (i + ROUND).min(intros);
        for n in i..end {
            std::fs::write(dir.join("inbox/new").join(format!("{n:09}.req")), request(n)).expect("request");
        }
        run_once(dir);
        // Every other intro of the round: both parties say yes through
        // the reply address of their consent note.
        let mut replies = 0;
        for f in std::fs::read_dir(dir.join("sent")).expect("sent").flatten() {
            let raw = std::fs::read(f.path()).expect("read");
            let Some(msg) = mail_parser::MessageParser::default().parse(&raw) else { continue };
            let to = msg.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
            let Some(n) =
                to.split('@').next().and_then(|l| l.trim_start_matches(char::is_alphabetic).parse::<usize>().ok())
            else {
                continue;
            };
            if n % 2 == 1 {
                continue;
            }
            let reply_to =
                msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
            let raw = format!(
                "From: {to}\r\nTo: {reply_to}\r\nSubject: Re: Would you like to meet?\r\nMessage-ID: <yes-{to}>\r\n\r\nYes, happy to!\r\n"
            );
            std::fs::write(dir.join("inbox/new").join(format!("{n:09}.{replies}.yes")), raw).expect("reply");
            replies += 1;
        }
        for f in std::fs::read_dir(dir.join("sent")).expect("sent").flatten() {
            let _ = std::fs::remove_file(f.path());
        }
        run_once(dir);
        for f in std::fs::read_dir(dir.join("sent")).expect("sent").flatten() {
            let _ = std::fs::remove_file(f.path());
        }
        for sub in [".introbot.processed/cur", ".introbot.ignored/cur", ".introbot.failed/cur"] {
            let _ = std::fs::remove_dir_all(dir.join("inbox").join(sub));
        }
        eprintln!("startup: {end} of {intros} intros stored");
        i = end;
    }
}

fn request(n: usize) -> String {
    format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: Intro: Alice{n} Able <> Bob{n} Busy\r\nMessage-ID: <start-{n}@example.com>\r\n\r\nBob{n} Busy <bob{n}@example.org>\r\n\r\n---------- Forwarded message ---------\r\nFrom: Alice{n} Able <alice{n}@example.net>\r\nSubject: Intro: Alice{n} Able <> Bob{n} Busy\r\nTo: carol@example.com\r\n\r\nHi Carol, I'd love twenty minutes with Bob{n} about mail queues.\r\n"
    )
}

fn du(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(meta) = e.metadata() else { continue };
        total += if meta.is_dir() { du(&e.path()) } else { meta.len() };
    }
    total
}
