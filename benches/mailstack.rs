//! Through the real mail stack (Dovecot + Postfix on loopback): how long
//! from Postfix accepting the second "yes" until the introduction is in both
//! inboxes, with IDLE and with polling at the default interval; and 500
//! intros end to end, with the daemon's peak RSS.
//!
//! And the load run (`BENCH_PHASES=load`): `LOAD_INTROS` intros (5,000)
//! end to end, the cost of each email sent read from the daemon's debug
//! log, then the IDLE latency again with that store behind it, the
//! daemon's peak RSS and the store's size.
//!
//! Run: `cargo bench --bench mailstack` (starts the stack if
//! `MAILSTACK_DIR` is not set; needs root and apt the first time).
//! LATENCY_INTROS and THROUGHPUT_INTROS change the sizes (50 and 500);
//! `BENCH_PHASES` picks phases among idle, poll, bulk and load (default:
//! the first three).

#[path = "../tests/support/mailstack.rs"]
mod mailstack;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use introbot::MailStream;
use mailstack::*;

/// The account set the tests leave alone.
const SET: u32 = 8;

/// The bot's limits off: every intro here is between other people (the
/// pair rule would refuse the same two people while one intro is open),
/// and one connector opens thousands a day.
const NO_LIMITS: &str = "\n[limits]\nintros_per_connector_per_day = 100000000\nasks_per_target_per_30_days = 100000000\n\
                         emails_per_address_per_day = 100000000\nnotes_per_connector_per_day = 100000000\n";

/// A person of one intro: `who8-{run}{i}@…`, delivered to `who8`'s inbox
/// (the stack's recipient delimiter is `+` or `-`), a person of their own
/// to the bot, which compares addresses whole but for a `+tag`.
fn person(acc: &Accounts, who: &str, run: &str, i: usize) -> String {
    let (local, domain) = acc.addr(who).split_once('@').map(|(l, d)| (l.to_owned(), d.to_owned())).unwrap_or_default();
    format!("{local}-{run}{i}@{domain}")
}

fn size(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn request_for(acc: &Accounts, i: usize, run: &str) -> String {
    format!(
        "From: Connie Connector <{c}>\r\nTo: {bot}\r\nSubject: Fwd: Intro: Alice{i} Able <> Bob{i} Busy\r\nMessage-ID: <{run}-req-{i}@example.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nBob{i} Busy <{bob}>\r\n\r\n---------- Forwarded message ---------\r\n\
         From: Alice{i} Able <{alice}>\r\nSubject: Intro: Alice{i} <> Bob{i}\r\nTo: {c}\r\n\r\nHi, I'd love to meet Bob{i}.\r\n",
        c = acc.addr("connector"),
        bot = acc.addr("bot"),
        bob = person(acc, "bob", run, i),
        alice = person(acc, "alice", run, i),
    )
}

/// A logged-in IMAP session for one person, for cheap repeated looks.
struct Mailbox {
    session: async_imap::Session<MailStream>,
}

impl Mailbox {
    async fn open(user: &str) -> Mailbox {
        let s = stack();
        let tcp = tokio::net::TcpStream::connect((s.host.as_str(), s.imap_port)).await.expect("imap reachable");
        let mut client = async_imap::Client::new(MailStream::Plain(tcp));
        client.read_response().await.expect("greeting");
        let session = client.login(user, &s.password).await.map_err(|(e, _)| e).expect("login");
        Mailbox { session }
    }

    async fn count(&mut self) -> u32 {
        self.session.status("INBOX", "(MESSAGES)").await.expect("STATUS").exists
    }

    /// (UID, subject, Reply-To address, Message-ID, To address) of every
    /// message.
    async fn headers(&mut self) -> Vec<(u32, String, String, String, String)> {
        self.session.select("INBOX").await.expect("SELECT");
        let fetches: Vec<async_imap::types::Fetch> = self
            .session
            .uid_fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT REPLY-TO MESSAGE-ID TO)])")
            .await
            .expect("FETCH")
            .try_collect()
            .await
            .expect("FETCH");
        fetches
            .iter()
            .filter_map(|f| {
                let msg = mail_parser::MessageParser::default().parse(f.header()?)?;
                let reply_to = msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default();
                let to = msg.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default();
                Some((
                    f.uid?,
                    msg.subject().unwrap_or_default().to_owned(),
                    reply_to.to_owned(),
                    msg.message_id().unwrap_or_default().to_owned(),
                    to.to_owned(),
                ))
            })
            .collect()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn yes(from: &str, to: &str, subject: &str, parent: &str, id: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: {subject}\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{parent}>\r\n\r\nYes, happy to!\r\n"
    )
}

/// (from, to, raw message).
type Mail = (String, String, String);

/// Sends messages as people through the MX, over one pooled connection
/// (a new connection per message would time the bench, not the bot).
async fn send_all(mail: &[Mail]) {
    use lettre::AsyncTransport;
    let s = stack();
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(s.host.clone()).port(s.mx_port).build();
    for (from, to, raw) in mail {
        let envelope = lettre::address::Envelope::new(Some(from.parse().expect("from")), vec![to.parse().expect("to")])
            .expect("envelope");
        transport.send_raw(&envelope, raw.as_bytes()).await.expect("the MX accepts");
    }
}

/// Creates `n` intros and has Alice say yes to each; returns, per intro,
/// what Bob needs to answer: (his address, reply address, subject, parent
/// id).
fn prepared_intros(
    acc: &Accounts,
    n: usize,
    run: &str,
    rt: &tokio::runtime::Runtime,
    bot: &Bot,
) -> Vec<(String, String, String, String)> {
    let (alice_addr, bob_addr) = (acc.addr("alice"), acc.addr("bob"));
    let requests: Vec<Mail> =
        (0..n).map(|i| (acc.addr("connector"), acc.addr("bot"), request_for(acc, i, run))).collect();
    rt.block_on(send_all(&requests));
    rt.block_on(async {
        let mut alice = Mailbox::open(&alice_addr).await;
        let mut bob = Mailbox::open(&bob_addr).await;
        let deadline = Instant::now() + Duration::from_secs(120) + Duration::from_millis(50) * n as u32;
        while (alice.count().await as usize) < n || (bob.count().await as usize) < n {
            assert!(Instant::now() < deadline, "consent notes did not all arrive\n{}", bot.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let yeses: Vec<Mail> = alice
            .headers()
            .await
            .into_iter()
            .map(|(_, subject, reply_to, id, to)| {
                let raw = yes(&to, &reply_to, &subject, &id, &format!("{run}-a-{id}"));
                (to, reply_to, raw)
            })
            .collect();
        send_all(&yeses).await;
        let mut by_intro: Vec<(String, String, String, String)> =
            bob.headers().await.into_iter().map(|(_, subject, reply_to, id, to)| (to, reply_to, subject, id)).collect();
        by_intro.sort_by_key(|(_, _, subject, _)| subject.clone());
        by_intro
    })
}

/// Sends Bob's yes for each intro at `send_at` offsets and measures the
/// time until the introduction is in both inboxes.
fn measure(
    acc: &Accounts,
    bobs: &[(String, String, String, String)],
    spacing: Duration,
    run: &str,
    rt: &tokio::runtime::Runtime,
) -> Vec<f64> {
    let (alice_addr, bob_addr) = (acc.addr("alice"), acc.addr("bob"));
    rt.block_on(async {
        let mut alice = Mailbox::open(&alice_addr).await;
        let mut bob = Mailbox::open(&bob_addr).await;
        let mut latencies = Vec::new();
        if spacing.is_zero() {
            // One at a time: the next yes only after the last introduction.
            for (from, reply_to, subject, parent) in bobs {
                let (a0, b0) = (alice.count().await, bob.count().await);
                send(from, reply_to, &yes(from, reply_to, subject, parent, &format!("{run}-b-{parent}"))).await;
                let t0 = Instant::now();
                while alice.count().await <= a0 || bob.count().await <= b0 {
                    assert!(t0.elapsed() < Duration::from_secs(120), "no introduction");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                latencies.push(t0.elapsed().as_secs_f64());
            }
        } else {
            // Spread over a poll interval, then watch for the introductions.
            let mut sent_at: HashMap<String, Instant> = HashMap::new();
            for (from, reply_to, subject, parent) in bobs {
                send(from, reply_to, &yes(from, reply_to, subject, parent, &format!("{run}-b-{parent}"))).await;
                let pair = subject.split("meet ").nth(1).unwrap_or_default().trim_end_matches('?').to_owned();
                sent_at.insert(pair, Instant::now());
                tokio::time::sleep(spacing).await;
            }
            let mut seen: HashMap<String, Instant> = HashMap::new();
            let deadline = Instant::now() + Duration::from_secs(300);
            while seen.len() < bobs.len() && Instant::now() < deadline {
                for (_, subject, _, _, _) in alice.headers().await {
                    // "Alice7 Able <> Bob7 Busy"
                    if let Some((a, _)) = subject.split_once(" <> ") {
                        seen.entry(a.to_owned()).or_insert_with(Instant::now);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for (pair, t0) in &sent_at {
                if let Some(t1) = seen.get(pair) {
                    latencies.push(t1.duration_since(*t0).as_secs_f64());
                }
            }
            assert_eq!(latencies.len(), bobs.len(), "every introduction arrived");
        }
        latencies.sort_by(f64::total_cmp);
        latencies
    })
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let acc = Accounts { n: SET };
    let rt = runtime();
    let latency_n = size("LATENCY_INTROS", 50);
    let throughput_n = size("THROUGHPUT_INTROS", 500);
    println!("| measure | value |");
    println!("| --- | --- |");

    let phases = std::env::var("BENCH_PHASES").unwrap_or_else(|_| "idle,poll,bulk".into());

    // IDLE.
    if phases.contains("idle") {
        reset(&acc);
        let bot = start_bot(&acc, NO_LIMITS);
        let bobs = prepared_intros(&acc, latency_n, "idle", &rt, &bot);
        std::thread::sleep(Duration::from_secs(2));
        let l = measure(&acc, &bobs, Duration::ZERO, "idle", &rt);
        println!(
            "| yes → introduction in both inboxes, IDLE, {latency_n} intros one at a time | p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms |",
            percentile(&l, 0.5) * 1e3,
            percentile(&l, 0.95) * 1e3,
            l[l.len() - 1] * 1e3
        );
        drop(bot);
    }

    // Polling at the default interval (60 s): yeses spread over one interval.
    if phases.contains("poll") {
        reset(&acc);
        let bot = start_bot_with(&acc, NO_LIMITS, false, None);
        let bobs = prepared_intros(&acc, latency_n, "poll", &rt, &bot);
        std::thread::sleep(Duration::from_secs(62));
        let l = measure(&acc, &bobs, Duration::from_secs_f64(60.0 / latency_n as f64), "poll", &rt);
        println!(
            "| yes → introduction in both inboxes, polling every 60 s, {latency_n} intros spread over a minute | p50 {:.1} s, p95 {:.1} s, max {:.1} s |",
            percentile(&l, 0.5),
            percentile(&l, 0.95),
            l[l.len() - 1]
        );
        drop(bot);
    }

    // Throughput.
    if phases.contains("bulk") {
        reset(&acc);
        let bot = start_bot(&acc, NO_LIMITS);
        let secs = bulk(&acc, throughput_n, "bulk", &rt, &bot);
        println!(
            "| {throughput_n} intros end to end (request, 2 consent notes, 2 yeses, introduction, connector told) | {secs:.1} s, {:.0} intros/min |",
            throughput_n as f64 / secs * 60.0
        );
        println!("| daemon peak RSS over all of it | {:.1} MB |", peak_rss_mb(bot.child.id()));
    }

    // Load: many intros, then the latency with that store behind it.
    if phases.contains("load") {
        let load_n = size("LOAD_INTROS", 5000);
        reset(&acc);
        let bot = start_bot(&acc, NO_LIMITS);
        let secs = bulk(&acc, load_n, "load", &rt, &bot);
        println!(
            "| {load_n} intros end to end, as above | {secs:.1} s, **{:.0} intros/min** |",
            load_n as f64 / secs * 60.0
        );
        let (median, p95, n) = send_costs(&bot.log());
        println!(
            "| per email sent (SMTP submission to Postfix's 250, then the outbox update synced), {n} back-to-back sends | median {median:.1} ms, p95 {p95:.1} ms |"
        );
        // The people's inboxes emptied (the bot keeps its store), so only
        // the new intros are answered.
        reset(&acc);
        let bobs = prepared_intros(&acc, latency_n, "loadlat", &rt, &bot);
        std::thread::sleep(Duration::from_secs(2));
        let l = measure(&acc, &bobs, Duration::ZERO, "loadlat", &rt);
        println!(
            "| yes → introduction in both inboxes, IDLE, {latency_n} intros one at a time after those {load_n} | p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms |",
            percentile(&l, 0.5) * 1e3,
            percentile(&l, 0.95) * 1e3,
            l[l.len() - 1] * 1e3
        );
        println!("| daemon peak RSS over all of it | {:.1} MB |", peak_rss_mb(bot.child.id()));
        println!("| store on disk after it | {:.0} MB |", du(&bot.dir.path().join("state")) as f64 / 1e6);
    }
}

/// `n` intros end to end, all requests first, then the yeses: seconds from
/// the first request sent to the last introduction and outcome arrived.
fn bulk(acc: &Accounts, n: usize, run: &str, rt: &tokio::runtime::Runtime, bot: &Bot) -> f64 {
    let start = Instant::now();
    let bobs = prepared_intros(acc, n, run, rt, bot);
    let yeses: Vec<Mail> = bobs
        .iter()
        .map(|(from, reply_to, subject, parent)| {
            let raw = yes(from, reply_to, subject, parent, &format!("{run}-b-{parent}"));
            (from.clone(), reply_to.clone(), raw)
        })
        .collect();
    rt.block_on(send_all(&yeses));
    rt.block_on(async {
        let mut alice = Mailbox::open(&acc.addr("alice")).await;
        let mut connector = Mailbox::open(&acc.addr("connector")).await;
        let deadline = Instant::now() + Duration::from_secs(600) + Duration::from_millis(100) * n as u32;
        // Alice: consent notes and introductions; the connector: acks and outcomes.
        while (alice.count().await as usize) < 2 * n || (connector.count().await as usize) < 2 * n {
            assert!(Instant::now() < deadline, "not all intros finished\n{}", bot.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    start.elapsed().as_secs_f64()
}

/// The time between consecutive "sent" lines of the daemon's debug log
/// within a drain (gaps under 200 ms): median, p95 (ms) and how many.
fn send_costs(log: &str) -> (f64, f64, usize) {
    let mut times = Vec::new();
    for line in log.lines().filter(|l| l.contains("introbot::engine::drain") && l.ends_with("sent")) {
        let plain: String = strip_ansi(line);
        if let Some(t) = plain.split_whitespace().next().and_then(|t| t.parse::<jiff::Timestamp>().ok()) {
            times.push(t);
        }
    }
    let mut gaps: Vec<f64> =
        times.windows(2).map(|w| w[1].duration_since(w[0]).as_secs_f64()).filter(|g| *g < 0.2).collect();
    if gaps.is_empty() {
        return (0.0, 0.0, 0);
    }
    gaps.sort_by(f64::total_cmp);
    (percentile(&gaps, 0.5) * 1e3, percentile(&gaps, 0.95) * 1e3, gaps.len())
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn du(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(meta) = e.metadata() else { continue };
        total += if meta.is_dir() { du(&e.path()) } else { meta.len() };
    }
    total
}
