//! The bot under attack, in local mode: a Maildir in, a directory of
//! `.eml` out, `introbot run --once` in between. Each test plays one
//! attacker from issue 10 and asserts both what happened and what did not:
//! who got mail (usually nobody), what state the intros are in, and where
//! the message was filed.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use super::*;

const BASE: &str = r#"
[bot]
address = "intros@bot.example"
name = "Intro Bot"
data_dir = "state"
[connectors]
allow = ["@conn.example"]
[maildir]
path = "inbox"
[outbox_dir]
path = "sent"
"#;

/// One email the bot wrote, as read back from the outbox directory.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub(crate) to: String,
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) reply_to: String,
    pub(crate) message_id: String,
    pub(crate) raw: String,
}

/// A bot in a temporary directory, driven one `run --once` at a time.
pub(crate) struct LocalBot {
    pub(crate) dir: tempfile::TempDir,
    delivered: usize,
}

impl LocalBot {
    /// A bot with the base config plus `extra` TOML appended (sections
    /// like `[security]` or `[limits]`).
    pub(crate) fn new(extra: &str) -> LocalBot {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("introbot.toml"), format!("{BASE}{extra}")).expect("config");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(dir.path().join("inbox").join(sub)).expect("maildir");
        }
        LocalBot { dir, delivered: 0 }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Puts a message into the inbox (in delivery order).
    pub(crate) fn deliver(&mut self, raw: impl AsRef<[u8]>) {
        self.delivered += 1;
        let name = format!("{:06}.attack", self.delivered);
        std::fs::write(self.path().join("inbox/new").join(name), raw).expect("deliver");
    }

    /// `introbot run --once`; fails the test unless it exits 0.
    pub(crate) fn run_once(&self) -> Output {
        let out = run(&["run", "--once", "--config", "introbot.toml"], self.path());
        assert!(out.status.success(), "run --once failed ({:?}):\n{}", out.status, stderr(&out));
        out
    }

    /// Everything in the outbox directory so far, oldest first.
    pub(crate) fn sent(&self) -> Vec<Sent> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.path().join("sent"))
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|p| {
                let raw = std::fs::read(p).expect("read");
                let msg = mail_parser::MessageParser::default().parse(&raw).expect("the bot's mail parses");
                let addrs = |a: Option<&mail_parser::Address<'_>>| {
                    a.map(|a| a.iter().filter_map(|x| x.address()).collect::<Vec<_>>().join(", ")).unwrap_or_default()
                };
                Sent {
                    to: addrs(msg.to()),
                    subject: msg.subject().unwrap_or_default().to_owned(),
                    text: msg.body_text(0).unwrap_or_default().into_owned(),
                    reply_to: addrs(msg.reply_to()),
                    message_id: msg.message_id().unwrap_or_default().to_owned(),
                    raw: String::from_utf8_lossy(&raw).into_owned(),
                }
            })
            .collect()
    }

    /// How many inbound messages are filed in `introbot/<folder>`.
    pub(crate) fn filed(&self, folder: &str) -> usize {
        std::fs::read_dir(self.path().join(format!("inbox/.introbot.{folder}/cur"))).map(|d| d.count()).unwrap_or(0)
    }

    /// Messages still waiting in the inbox.
    pub(crate) fn waiting(&self) -> usize {
        ["new", "cur"]
            .iter()
            .map(|s| std::fs::read_dir(self.path().join("inbox").join(s)).map(|d| d.count()).unwrap_or(0))
            .sum()
    }

    /// Every intro, from `introbot list --json`.
    pub(crate) fn intros(&self) -> Vec<serde_json::Value> {
        let out = run(&["list", "--json", "--config", "introbot.toml"], self.path());
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
    }

    /// One intro in full, from `introbot show ID --json`.
    pub(crate) fn show(&self, id: &str) -> serde_json::Value {
        let out = run(&["show", id, "--json", "--config", "introbot.toml"], self.path());
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(stdout(&out).trim()).expect("json")
    }

    /// The reply address the bot gave `who` in its latest email to them.
    pub(crate) fn reply_address_of(&self, who: &str) -> String {
        self.sent().iter().rev().find(|m| m.to == who).map(|m| m.reply_to.clone()).expect("an email to them")
    }

    /// The emails sent to each address, counted.
    pub(crate) fn mail_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for m in self.sent() {
            for to in m.to.split(", ") {
                *counts.entry(to.to_owned()).or_default() += 1;
            }
        }
        counts
    }
}

/// A connector's request, forwarded inline: Alice wants to meet Bob.
pub(crate) fn request(id: &str) -> String {
    request_as("Carol Connor <carol@conn.example>", id, "")
}

/// The same request from `from` with `headers` on top (trace fields an
/// attacker or a server adds).
pub(crate) fn request_as(from: &str, id: &str, headers: &str) -> String {
    format!(
        "{headers}From: {from}\r\nTo: intros@bot.example\r\nSubject: Fwd: Intro: Alice <> Bob\r\nMessage-ID: <{id}>\r\n\r\n\
         Bob Busy <bob@b.example> is great.\r\n\r\n---------- Forwarded message ---------\r\n\
         From: Alice Able <alice@a.example>\r\nSubject: Intro: Alice <> Bob\r\nTo: carol@conn.example\r\n\r\n\
         Hi Carol, I'd love to meet Bob about mail servers.\r\n"
    )
}

/// A plain reply.
pub(crate) fn reply(from: &str, to: &str, id: &str, headers: &str, text: &str) -> String {
    format!("{headers}From: {from}\r\nTo: {to}\r\nSubject: Re: hello\r\nMessage-ID: <{id}>\r\n\r\n{text}\r\n")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        }
        out.push(p);
    }
}

/// Leak: under umask 022 the store and outbox were 0755/0644, so any local
/// user could read the reply tokens. Now the data directory and the outbox
/// are 0700 and every file the bot creates 0600, whatever the umask.
#[test]
fn store_and_outbox_are_owner_only_whatever_the_umask() {
    let mut bot = LocalBot::new("");
    bot.deliver(request("req-1@conn.example"));
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" run --once --config introbot.toml")
        .arg(env!("CARGO_BIN_EXE_introbot"))
        .current_dir(bot.path())
        .env_remove("RUST_LOG")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(bot.sent().len(), 3, "the request went through");
    for top in ["state", "sent"] {
        let top = bot.path().join(top);
        assert_eq!(mode(&top), 0o700, "{}", top.display());
        let mut all = Vec::new();
        walk(&top, &mut all);
        assert!(!all.is_empty());
        for p in all {
            let expected = if p.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(&p), expected, "{} is readable by others", p.display());
        }
    }
    // And a store made world-readable by hand (or by an older version) is
    // made private again on the next start.
    std::fs::set_permissions(bot.path().join("state"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(bot.path().join("state/db"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    bot.run_once();
    assert_eq!(mode(&bot.path().join("state")), 0o700);
    assert_eq!(mode(&bot.path().join("state/db")), 0o600);
}

fn poison(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/poison").join(name)).expect("fixture")
}

/// Every address the bot's mail went to, from the envelope the outbox
/// directory records.
fn envelope_recipients(bot: &LocalBot) -> Vec<String> {
    bot.sent()
        .iter()
        .flat_map(|m| {
            let line = m.raw.lines().find(|l| l.starts_with("Envelope-To: ")).unwrap_or_default().to_owned();
            line["Envelope-To: ".len().min(line.len())..].split(", ").map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

fn assert_no_injected_header(bot: &LocalBot) {
    for m in bot.sent() {
        let head = m.raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(
            !head.split("\r\n").any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "an injected Bcc in {}:\n{head}",
            m.subject
        );
    }
    assert!(!envelope_recipients(bot).iter().any(|r| r.contains("evil@")), "{:?}", envelope_recipients(bot));
}

/// Poison (regression fixture): a display name whose encoded-word decodes
/// to CR/LF panicked in compose on every run, and every later message
/// waited behind it forever. Now the name is cleaned, the connector gets
/// their answer, nobody else gets anything, and the next message is handled.
#[test]
fn poison_display_name_is_cleaned_and_the_inbox_moves_on() {
    let mut bot = LocalBot::new("");
    bot.deliver(poison("crlf-display-name.eml"));
    bot.deliver("From: carol@conn.example\r\nTo: intros@bot.example\r\nSubject: status\r\nMessage-ID: <status-1@conn.example>\r\n\r\n\r\n");
    bot.run_once();
    assert_eq!(bot.waiting(), 0, "nothing stuck in the inbox");
    assert_eq!(bot.filed("processed"), 2);
    let sent = bot.sent();
    assert_eq!(sent.len(), 2, "help and status, nothing else");
    assert!(sent.iter().all(|m| m.to == "carol@conn.example"), "{:?}", sent.iter().map(|m| &m.to).collect::<Vec<_>>());
    assert_no_injected_header(&bot);
}

/// Poison (regression fixture): the same name on the requester inside an
/// attached original. The intro starts with the name cleaned; the address
/// hidden in it gets nothing.
#[test]
fn poison_requester_name_in_an_attached_original_is_cleaned() {
    let mut bot = LocalBot::new("");
    bot.deliver(poison("crlf-requester-name-attached.eml"));
    bot.run_once();
    assert_eq!(bot.waiting(), 0);
    let intros = bot.intros();
    assert_eq!(intros.len(), 1);
    let mut to: Vec<String> = bot.sent().iter().map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["alice@a.example", "bob@b.example", "carol@conn.example"]);
    assert_no_injected_header(&bot);
    let consent_to_bob = bot.sent().into_iter().find(|m| m.to == "bob@b.example").expect("Bob is asked");
    assert!(!consent_to_bob.raw.contains("evil@x.example"), "{}", consent_to_bob.raw);
}

/// A request whose forwarded summary is `size` bytes of plain LF text.
/// (Regression fixture for the quadratic composing: 1 MB took 0.5 s, 8 MB
/// 26 s, 30 MB over 15 minutes; `BENCHMARKS.md` has the times now.)
pub(crate) fn huge_request(id: &str, size: usize) -> String {
    let line = "I would love to meet Bob to talk about mail servers and many other things.\n";
    let body = line.repeat(size / line.len() + 1);
    format!(
        "From: Carol Connor <carol@conn.example>\nTo: intros@bot.example\nSubject: Fwd: Intro: Alice <> Bob\nMessage-ID: <{id}>\n\n\
         Bob Busy <bob@b.example>\n\n---------- Forwarded message ---------\nFrom: Alice Able <alice@a.example>\n\
         Subject: Intro: Alice <> Bob\nTo: carol@conn.example\n\n{body}"
    )
}

/// Quadratic input: an 8 MB plain-text request is handled (time is a
/// benchmark figure, not asserted here), and what is passed on is capped:
/// no email the bot writes is bigger than a few tens of kilobytes.
#[test]
fn a_huge_request_is_handled_and_its_summary_capped() {
    // No preview: a long summary is a guess the connector would see first.
    let mut bot = LocalBot::new("\n[consent]\npreview = \"off\"\n");
    bot.deliver(huge_request("huge-1@conn.example", 8 << 20));
    bot.run_once();
    assert_eq!(bot.waiting(), 0);
    assert_eq!(bot.filed("processed"), 1);
    let sent = bot.sent();
    assert_eq!(sent.len(), 3, "ack and two consent notes");
    for m in &sent {
        assert!(m.raw.len() < 100_000, "{} to {} is {} bytes", m.subject, m.to, m.raw.len());
    }
    let to_bob = sent.iter().find(|m| m.to == "bob@b.example").expect("Bob is asked");
    assert!(to_bob.text.contains("[…]"), "the cut is marked");
}

// ---- forged connectors ----

const TRUSTED: &str = "\n[security]\nauthserv_id = \"mx.bot.example\"\n";

/// What the bot's own receiving server adds on top of a message.
fn trusted_hop(dmarc: &str) -> String {
    format!(
        "Authentication-Results: mx.bot.example; spf=pass smtp.mailfrom=conn.example; dmarc={dmarc} header.from=conn.example\r\n\
         Received: from out.sender.example by mx.bot.example; Mon, 30 Nov 2026 09:00:00 +0000\r\n"
    )
}

/// Nothing went anywhere, no intro exists, and every message is filed in `folder`.
fn assert_nothing_happened(bot: &LocalBot, folder: &str, messages: usize) {
    assert!(
        bot.sent().is_empty(),
        "mail went out: {:?}",
        bot.sent().iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
    );
    assert!(bot.intros().is_empty(), "an intro was started");
    assert_eq!(bot.filed(folder), messages, "filed in introbot/{folder}");
    assert_eq!(bot.waiting(), 0);
}

/// Forged connector: the connector's From with the trusted server saying
/// dmarc=fail. Before: accepted, three emails out. Now nothing starts and
/// nobody is written to (a reply would be backscatter to the real connector).
#[test]
fn forged_connector_failing_dmarc_starts_nothing() {
    let mut bot = LocalBot::new(TRUSTED);
    bot.deliver(request_as("Carol Connor <carol@conn.example>", "forged-1@evil.example", &trusted_hop("fail")));
    bot.run_once();
    assert_nothing_happened(&bot, "ignored", 1);
    // The same request passing DMARC starts the intro: the check is not a wall.
    bot.deliver(request_as("Carol Connor <carol@conn.example>", "real-1@conn.example", &trusted_hop("pass")));
    bot.run_once();
    assert_eq!(bot.intros().len(), 1);
    assert_eq!(bot.sent().len(), 3);
}

/// Forged connector, subtler: the sender writes the trusted server's
/// Authentication-Results themselves, "dmarc=pass". Those sit below the
/// Received of the trusted hop (or the server adds none, or adds its own
/// fail right above): never believed.
#[test]
fn authentication_results_written_by_the_sender_are_not_believed() {
    let mut bot = LocalBot::new(TRUSTED);
    let forged = "Authentication-Results: mx.bot.example; dmarc=pass header.from=conn.example\r\n";
    let hop = "Received: from out.evil.example by mx.bot.example; Mon, 30 Nov 2026 09:00:00 +0000\r\n";
    // The server added nothing; the sender's field (a copied header block)
    // sits under a Received of their own.
    let theirs = "Received: from laptop by out.evil.example; Mon, 30 Nov 2026 08:59:00 +0000\r\n";
    bot.deliver(request_as("carol@conn.example", "forged-2@evil.example", &format!("{hop}{theirs}{forged}")));
    // The server's fail, then the sender's pass right under it.
    let fail = "Authentication-Results: mx.bot.example; dmarc=fail header.from=conn.example\r\n";
    bot.deliver(request_as("carol@conn.example", "forged-3@evil.example", &format!("{fail}{forged}{hop}")));
    // Another server's pass.
    let other = "Authentication-Results: mx.evil.example; dmarc=pass header.from=conn.example\r\n";
    bot.deliver(request_as("carol@conn.example", "forged-4@evil.example", &format!("{other}{hop}")));
    bot.run_once();
    assert_nothing_happened(&bot, "ignored", 3);
}

/// Forged connector by field count: a stranger's From first, the
/// connector's second (the bot acted on the last one), a From naming two
/// people, or a Sender who is someone else. No single author: refused,
/// even without [security].
#[test]
fn no_single_author_starts_nothing() {
    let mut bot = LocalBot::new("");
    bot.deliver(request_as("carol@conn.example", "two-from@evil.example", "From: mallory@evil.example\r\n"));
    bot.deliver(request_as("carol@conn.example, mallory@evil.example", "two-authors@evil.example", ""));
    bot.deliver(request_as("carol@conn.example", "sender@evil.example", "Sender: mallory@evil.example\r\n"));
    bot.run_once();
    assert_nothing_happened(&bot, "ignored", 3);
    // Carol's own Sender is fine.
    bot.deliver(request_as("carol@conn.example", "own-sender@conn.example", "Sender: Carol <carol@conn.example>\r\n"));
    bot.run_once();
    assert_eq!(bot.intros().len(), 1);
}

// ---- forged consent ----

/// The Message-ID of the latest email the bot sent `to`.
pub(crate) fn message_id_of(bot: &LocalBot, to: &str) -> String {
    bot.sent().iter().rev().find(|m| m.to == to).map(|m| m.message_id.clone()).expect("an email to them")
}

/// A bot with `extra` config whose first request (Alice to meet Bob) has
/// been handled: the bot, and the intro's id.
pub(crate) fn started(extra: &str) -> (LocalBot, String) {
    let mut bot = LocalBot::new(extra);
    bot.deliver(request("req-1@conn.example"));
    bot.run_once();
    let id = intro_id(&bot);
    (bot, id)
}

pub(crate) fn intro_id(bot: &LocalBot) -> String {
    bot.intros()[0]["id"].as_str().expect("id").to_owned()
}

/// Forged consent: the requester answers "yes" as the target, with the
/// target's From and In-Reply-To the target's consent note, but without the
/// target's token. Before: the introduction went out. Now the reply is held
/// for the connector and Bob is still only asked, even when the forger
/// somehow has the consent note's Message-ID; a Message-ID is the intro's
/// id and 130 random bits, so one's own tells nothing of the other's.
#[test]
fn forged_consent_without_the_token_is_held_never_acted_on() {
    let (mut bot, id) = started("");
    for m in bot.sent() {
        let local = m.message_id.split('@').next().unwrap_or_default();
        let random = local.strip_prefix(&format!("{id}.")).unwrap_or_default();
        assert!(
            random.len() == 26 && random.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)),
            "the intro's id and 130 random bits: {}",
            m.message_id
        );
    }
    let bob_consent = message_id_of(&bot, "bob@b.example");
    let alice = bot.reply_address_of("alice@a.example");
    bot.deliver(reply("Alice Able <alice@a.example>", &alice, "alice-yes@a.example", "", "Yes please!"));
    // The forgery, threaded under Bob's real consent note.
    let thread = format!("In-Reply-To: <{bob_consent}>\r\nReferences: <{bob_consent}>\r\n");
    bot.deliver(reply(
        "Bob Busy <bob@b.example>",
        "intros@bot.example",
        "forged-yes@a.example",
        &thread,
        "Yes, happy to meet Alice!",
    ));
    // And the old, guessable form of the id.
    let guess = format!("In-Reply-To: <{id}.target.consent_request@bot.example>\r\n");
    bot.deliver(reply("bob@b.example", "intros@bot.example", "forged-yes-2@a.example", &guess, "yes"));
    let before = bot.sent().len();
    bot.run_once();
    let intro = bot.show(&id);
    assert_eq!(intro["state"], "awaiting_consent");
    assert_eq!(intro["target"]["state"], "asked", "{intro}");
    let new: Vec<Sent> = bot.sent().into_iter().skip(before).collect();
    assert_eq!(new.len(), 1, "only the held note: {:?}", new.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>());
    assert_eq!(new[0].to, "carol@conn.example");
    assert!(new[0].text.contains("not through the reply address"), "{}", new[0].text);
    assert!(
        !bot.sent().iter().any(|m| m.to.contains("alice@a.example") && m.to.contains("bob@b.example")),
        "introduced"
    );
}

/// Forged decision: the connector's yes for an unclear answer, with the
/// connector's From and In-Reply-To the acknowledgement, no token. Not acted on.
#[test]
fn forged_connector_decision_without_the_token_is_not_acted_on() {
    let (mut bot, id) = started("");
    let ack = message_id_of(&bot, "carol@conn.example");
    let (alice, bob) = (bot.reply_address_of("alice@a.example"), bot.reply_address_of("bob@b.example"));
    bot.deliver(reply("alice@a.example", &alice, "a1@a.example", "", "Yes!"));
    bot.deliver(reply("bob@b.example", &bob, "b1@b.example", "", "Who is Alice, and why me?"));
    bot.run_once();
    assert_eq!(bot.show(&id)["target"]["state"], "unclear");
    let before = bot.sent().len();
    let thread = format!("In-Reply-To: <{ack}>\r\n");
    bot.deliver(reply(
        "Carol Connor <carol@conn.example>",
        "intros@bot.example",
        "forged-decide@a.example",
        &thread,
        "Yes",
    ));
    bot.run_once();
    assert_eq!(bot.show(&id)["target"]["state"], "unclear", "not decided");
    assert_eq!(bot.show(&id)["state"], "awaiting_consent");
    assert_eq!(bot.sent().len(), before, "nothing sent");
    assert_eq!(bot.filed("ignored"), 1);
}

/// Forged consent through the token but failing authentication (with
/// [security]): Bob's token and From, the trusted server says dmarc=fail.
/// Held for the connector, never acted on.
#[test]
fn a_partys_reply_failing_authentication_is_held() {
    let mut bot = LocalBot::new(TRUSTED);
    bot.deliver(request_as("Carol Connor <carol@conn.example>", "req-1@conn.example", &trusted_hop("pass")));
    bot.run_once();
    let id = intro_id(&bot);
    let bob = bot.reply_address_of("bob@b.example");
    let fail = "Authentication-Results: mx.bot.example; dmarc=fail header.from=b.example\r\nReceived: from x by mx.bot.example\r\n";
    bot.deliver(reply("bob@b.example", &bob, "b1@evil.example", fail, "Yes!"));
    let before = bot.sent().len();
    bot.run_once();
    assert_eq!(bot.show(&id)["target"]["state"], "asked");
    let new: Vec<Sent> = bot.sent().into_iter().skip(before).collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].to, "carol@conn.example");
    assert!(new[0].text.contains("couldn't confirm"), "{}", new[0].text);
    // Bob's real answer, passing, counts.
    let pass = "Authentication-Results: mx.bot.example; dmarc=pass header.from=b.example\r\nReceived: from x by mx.bot.example\r\n";
    bot.deliver(reply("bob@b.example", &bob, "b2@b.example", pass, "Yes!"));
    bot.run_once();
    assert_eq!(bot.show(&id)["target"]["state"], "yes");
}

// ---- no poison, no stalls ----

/// A message the bot cannot handle (here: a template override that fails on
/// this request's words) is filed to introbot/failed with the reason, and
/// the next message is handled.
#[test]
fn a_message_the_bot_cannot_handle_is_filed_as_failed_and_the_next_is_handled() {
    let mut bot = LocalBot::new("");
    std::fs::create_dir_all(bot.path().join("templates")).expect("mkdir");
    // Renders for the samples at start-up, fails on a summary saying BOOM.
    std::fs::write(
        bot.path().join("templates/acknowledgement.txt.j2"),
        "Subject: On it\n\n{% if 'BOOM' in summary %}{{ nothing.here }}{% endif %}Got it.\n",
    )
    .expect("template");
    let config = std::fs::read_to_string(bot.path().join("introbot.toml")).expect("config");
    std::fs::write(
        bot.path().join("introbot.toml"),
        config.replace("data_dir = \"state\"", "data_dir = \"state\"\ntemplates = \"templates\""),
    )
    .expect("config");
    bot.deliver(request("boom@conn.example").replace("I'd love to meet Bob", "BOOM"));
    bot.deliver(request("fine@conn.example").replace("Bob Busy <bob@b.example>", "Bob Busy <bob2@b.example>"));
    let out = bot.run_once();
    assert_eq!(bot.filed("failed"), 1);
    assert_eq!(bot.filed("processed"), 1, "the next one was handled");
    assert_eq!(bot.intros().len(), 1);
    let log = stderr(&out);
    assert!(log.contains("message filed as failed") && log.contains("acknowledgement"), "the reason is logged:\n{log}");
    // Read again (a redelivery), it is not tried twice.
    let again = std::fs::read_dir(bot.path().join("inbox/.introbot.failed/cur")).expect("dir").next().expect("one");
    std::fs::copy(again.expect("entry").path(), bot.path().join("inbox/new/redelivered")).expect("copy");
    bot.run_once();
    assert_eq!(bot.filed("failed"), 2);
    assert_eq!(bot.sent().len(), 3, "nothing more");
}

/// `[limits] max_message_size`: bigger mail is filed aside unread and the
/// next is handled.
#[test]
fn mail_over_max_message_size_is_filed_aside_unread() {
    let mut bot = LocalBot::new("\n[limits]\nmax_message_size = \"1 MB\"\n");
    bot.deliver(huge_request("big@conn.example", 2 << 20));
    bot.deliver(request("small@conn.example"));
    let out = bot.run_once();
    assert_eq!(bot.filed("failed"), 1);
    assert_eq!(bot.filed("processed"), 1);
    assert_eq!(bot.intros().len(), 1, "only the small one");
    assert!(stderr(&out).contains("bigger than max_message_size"), "{}", stderr(&out));
}

/// A huge reply is capped when passed on to the connector.
#[test]
fn a_huge_reply_is_capped_when_passed_on() {
    let (mut bot, _) = started("");
    let bob = bot.reply_address_of("bob@b.example");
    let text = "Who is Alice, and why would I? ".repeat(150_000);
    bot.deliver(reply("bob@b.example", &bob, "b1@b.example", "", &text));
    bot.run_once();
    let note = bot
        .sent()
        .into_iter()
        .find(|m| m.to == "carol@conn.example" && m.text.contains("Who is Alice"))
        .expect("the unclear note");
    assert!(note.raw.len() < 100_000, "{} bytes", note.raw.len());
    assert!(note.text.contains("[…]"));
}

/// SIGTERM is honoured between two messages: the daemon exits cleanly
/// with work left in the inbox, everything it handled filed, nothing half done.
#[test]
fn sigterm_is_honoured_between_two_messages() {
    let mut bot = LocalBot::new("");
    let total = 3000;
    for n in 0..total {
        bot.deliver(format!(
            "From: stranger{n}@elsewhere.example\r\nTo: intros@bot.example\r\nSubject: hello {n}\r\nMessage-ID: <s{n}@elsewhere.example>\r\n\r\nhi\r\n"
        ));
    }
    let mut daemon = introbot()
        .args(["run", "--config", "introbot.toml"])
        .current_dir(bot.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("daemon starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while bot.filed("ignored") == 0 && bot.waiting() == total && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let kill = Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let status = daemon.wait().expect("exits");
    assert!(status.success(), "a clean stop: {status:?}");
    let (filed, waiting) = (bot.filed("ignored"), bot.waiting());
    assert!(waiting > 0, "it stopped before the end of the inbox (filed {filed})");
    assert_eq!(filed + waiting, total, "every message is either filed or still waiting");
}

// ---- automatic mail and loops ----

/// A connector's auto-responder that carries none of the known signs,
/// answering the bot's note with a reply of its own each time, gets at most
/// one note an hour: no loop.
#[test]
fn a_connectors_unmarked_auto_responder_gets_at_most_one_note_an_hour() {
    let mut bot = LocalBot::new("");
    // A request the bot cannot use: it answers with a note.
    bot.deliver(request("bad-1@conn.example").replace("Bob Busy <bob@b.example> is great.", "Bob is great."));
    bot.run_once();
    assert_eq!(bot.sent().len(), 1, "one problem note");
    for round in 0..5 {
        let last = bot.sent().last().cloned().expect("a note");
        assert!(
            !last.reply_to.is_empty() && last.reply_to.starts_with("intros+"),
            "the note carries a token: {}",
            last.reply_to
        );
        let answer = format!(
            "From: Carol <carol@conn.example>\r\nTo: {to}\r\nSubject: Re: {subject}\r\nMessage-ID: <auto-{round}@conn.example>\r\n\
             In-Reply-To: <{id}>\r\n\r\nThanks for your message, I will get back to you on Monday.\r\n\r\n> {quoted}\r\n",
            to = last.reply_to,
            subject = last.subject,
            id = last.message_id,
            quoted = last.text.lines().next().unwrap_or_default(),
        );
        bot.deliver(answer);
        bot.run_once();
    }
    assert_eq!(
        bot.sent().len(),
        1,
        "no second note within the hour: {:?}",
        bot.sent().iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert_eq!(bot.filed("ignored"), 5);
}

// ---- limits ----

/// A request from `connector` for `requester_name <requester>` to meet
/// `target_name <target>`.
pub(crate) fn request_for(connector: &str, id: &str, requester: (&str, &str), target: (&str, &str)) -> String {
    format!(
        "From: {connector}\r\nTo: intros@bot.example\r\nSubject: Fwd: Intro: {rn} <> {tn}\r\nMessage-ID: <{id}>\r\n\r\n\
         {tn} <{te}> is great.\r\n\r\n---------- Forwarded message ---------\r\n\
         From: {rn} <{re}>\r\nSubject: Intro: {rn} <> {tn}\r\nTo: {connector}\r\n\r\nHi, I'd love to meet {tn} about mail servers.\r\n",
        rn = requester.0,
        re = requester.1,
        tn = target.0,
        te = target.1,
    )
}

/// No limits before: 100 requests from one connector for one pair made 100
/// consent notes to Bob. Now one intro, one explanation, 99 filed.
#[test]
fn a_hundred_requests_for_one_pair_open_one_intro_and_explain_once() {
    let mut bot = LocalBot::new("");
    for n in 0..100 {
        bot.deliver(request(&format!("req-{n}@conn.example")));
    }
    bot.run_once();
    assert_eq!(bot.intros().len(), 1);
    let counts = bot.mail_counts();
    assert_eq!(counts.get("bob@b.example"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("alice@a.example"), Some(&1));
    assert_eq!(counts.get("carol@conn.example"), Some(&2), "the acknowledgement and one explanation");
    let note = bot.sent().into_iter().find(|m| m.text.contains("won't ask them twice")).expect("explained");
    assert_eq!(note.to, "carol@conn.example");
    assert_eq!((bot.filed("processed"), bot.filed("ignored")), (2, 98));
}

/// A connector starts at most `intros_per_connector_per_day` intros, told
/// once why the next ones do not start.
#[test]
fn a_connector_starts_at_most_the_daily_number_of_intros() {
    let mut bot = LocalBot::new("\n[limits]\nintros_per_connector_per_day = 4\n");
    for n in 0..7 {
        let target = format!("t{n}@t.example");
        bot.deliver(request_for(
            "carol@conn.example",
            &format!("r{n}@conn.example"),
            ("Alice", &format!("alice{n}@a.example")),
            ("Tom", &target),
        ));
    }
    bot.run_once();
    assert_eq!(bot.intros().len(), 4);
    let notes: Vec<Sent> =
        bot.sent().into_iter().filter(|m| m.text.contains("the most I start for one person in a day")).collect();
    assert_eq!(notes.len(), 1, "explained once");
    for n in 4..7 {
        assert!(!bot.mail_counts().contains_key(&format!("t{n}@t.example")), "t{n} was asked");
    }
}

/// A target is asked at most `asks_per_target_per_30_days` times, across
/// connectors, whatever form of their address each uses.
#[test]
fn a_target_is_asked_a_limited_number_of_times_across_connectors() {
    let mut bot = LocalBot::new("");
    let forms = ["bob@b.example", "Bob@B.Example", "bob+intros@b.example", "BOB+x@b.example", "bob@b.example"];
    for (n, form) in forms.iter().enumerate() {
        let connector = format!("c{n}@conn.example");
        bot.deliver(request_for(
            &connector,
            &format!("r{n}@conn.example"),
            ("Ann", &format!("ann{n}@a.example")),
            ("Bob Busy", form),
        ));
    }
    bot.run_once();
    assert_eq!(bot.intros().len(), 3);
    let to_bob = bot.sent().iter().filter(|m| m.to.to_ascii_lowercase().starts_with("bob")).count();
    assert_eq!(to_bob, 3, "{:?}", bot.mail_counts());
    assert_eq!(
        bot.sent().iter().filter(|m| m.text.contains("the most I ask anyone")).count(),
        2,
        "each connector told once"
    );
}

/// Emails to any one address per day, across intros: the last line of
/// defence, here against one requester address used in many intros.
#[test]
fn an_address_gets_a_limited_number_of_emails_a_day() {
    let mut bot = LocalBot::new("\n[limits]\nemails_per_address_per_day = 3\n");
    for n in 0..6 {
        bot.deliver(request_for(
            "carol@conn.example",
            &format!("r{n}@conn.example"),
            ("Victim", "victim@v.example"),
            ("Tom", &format!("t{n}@t.example")),
        ));
    }
    bot.run_once();
    assert_eq!(bot.mail_counts().get("victim@v.example"), Some(&3));
    assert_eq!(bot.intros().len(), 3);
}

/// A stranger writing again and again to a party's reply address (which
/// they somehow learned) makes the connector hear of it at most three times.
#[test]
fn a_stranger_through_a_token_causes_a_limited_number_of_held_notes() {
    let (mut bot, id) = started("");
    let bob = bot.reply_address_of("bob@b.example");
    for n in 0..10 {
        bot.deliver(reply("mallory@evil.example", &bob, &format!("m{n}@evil.example"), "", "yes"));
    }
    bot.run_once();
    let held = bot
        .sent()
        .into_iter()
        .filter(|m| m.to == "carol@conn.example" && m.subject.contains("another address"))
        .count();
    assert_eq!(held, 3);
    assert_eq!(bot.show(&id)["target"]["state"], "asked");
    assert!(!bot.mail_counts().contains_key("mallory@evil.example"), "the stranger hears nothing");
}

// ---- leaks and bypasses ----

/// Before: `"Bob Baker (bob@b.example)" <bob@b.example>` put Bob's address
/// into the requester's subject before Bob answered. Display names never
/// carry an address into mail for the other party.
#[test]
fn an_address_in_a_display_name_never_reaches_the_other_party() {
    let mut bot = LocalBot::new("");
    let raw = request("req-1@conn.example")
        .replace("Subject: Fwd: Intro: Alice <> Bob", "Subject: Fwd: Intro: Alice <> Bob Baker (bob@b.example)")
        .replace("Bob Busy <bob@b.example> is great.", "\"Bob Baker (bob@b.example)\" <bob@b.example> is great.");
    bot.deliver(raw);
    bot.run_once();
    let to_alice: Vec<Sent> = bot.sent().into_iter().filter(|m| m.to == "alice@a.example").collect();
    assert_eq!(to_alice.len(), 1);
    assert!(!to_alice[0].raw.contains("bob@b.example"), "Bob's address reached Alice:\n{}", to_alice[0].raw);
    assert!(!to_alice[0].subject.contains('@'), "{}", to_alice[0].subject);
}

/// Before: after Bob's "stop", `bob+intro@b.example` was asked again. The
/// suppression list compares canonical addresses.
#[test]
fn stop_holds_for_every_form_of_the_address() {
    let (mut bot, _) = started("");
    let bob = bot.reply_address_of("bob@b.example");
    bot.deliver(reply("bob@b.example", &bob, "b1@b.example", "", "Please never contact me again."));
    bot.run_once();
    let before = bot.sent().len();
    for (n, form) in ["bob+intro@b.example", "BOB@B.EXAMPLE", "Bob+x@b.example"].iter().enumerate() {
        bot.deliver(request_for(
            "carol@conn.example",
            &format!("again-{n}@conn.example"),
            ("Dana", &format!("dana{n}@d.example")),
            ("Bob", form),
        ));
    }
    bot.run_once();
    let new: Vec<Sent> = bot.sent().into_iter().skip(before).collect();
    assert!(new.iter().all(|m| m.to == "carol@conn.example"), "{:?}", new.iter().map(|m| &m.to).collect::<Vec<_>>());
    assert!(new.iter().all(|m| m.text.contains("asked not to receive")), "each explained");
    assert_eq!(bot.intros().len(), 1);
}

/// The bot's own address, or a plus form of it, is never a party.
#[test]
fn the_bots_own_address_is_never_a_party() {
    let mut bot = LocalBot::new("");
    for (n, own) in ["intros@bot.example", "intros+loop@bot.example", "Intros@Bot.Example"].iter().enumerate() {
        bot.deliver(request_for(
            "carol@conn.example",
            &format!("own-{n}@conn.example"),
            ("Me", own),
            ("Tom", &format!("t{n}@t.example")),
        ));
    }
    bot.run_once();
    assert!(bot.intros().is_empty());
    let sent = bot.sent();
    assert_eq!(sent.len(), 3);
    // Refused, to the connector alone: the request parser takes the bot's
    // address as nobody's (and the engine would refuse it as a party if it
    // did: `engine::tests::limits`).
    assert!(sent.iter().all(|m| m.to == "carol@conn.example"), "{:?}", sent.iter().map(|m| &m.to).collect::<Vec<_>>());
}

/// A password file every local user can read is refused, with the reason.
#[test]
fn a_world_readable_password_file_is_refused() {
    let bot = LocalBot::new("");
    let pw = bot.path().join("smtp-password");
    std::fs::write(&pw, "hunter2\n").expect("write");
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let config = std::fs::read_to_string(bot.path().join("introbot.toml")).expect("config").replace(
        "[outbox_dir]\npath = \"sent\"",
        "[smtp]\nhost = \"127.0.0.1\"\nport = 1\nsecurity = \"plain\"\nusername = \"u\"\npassword_file = \"smtp-password\"",
    );
    std::fs::write(bot.path().join("introbot.toml"), config).expect("config");
    let out = run(&["run", "--once", "--config", "introbot.toml"], bot.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("smtp.password_file") && err.contains("mode 644") && err.contains("chmod 600"), "{err}");
}

// ---- saying what [security] means ----

/// `introbot check` and the startup log say plainly what the bot trusts:
/// without an authserv-id, that anyone who can forge a connector's From
/// can start intros; with one, whether recent mail carries its results.
#[test]
fn check_and_the_startup_log_say_what_security_means() {
    let mut bot = LocalBot::new("");
    let check = run(&["check", "--config", "introbot.toml"], bot.path());
    assert!(check.status.success(), "a warning, not a failure: {}", stdout(&check));
    assert!(
        stdout(&check).contains("warn security: no [security] authserv_id, so anyone who can forge"),
        "{}",
        stdout(&check)
    );
    let out = bot.run_once();
    assert!(
        stderr(&out).contains("anyone who can forge a connector's From address can start intros"),
        "{}",
        stderr(&out)
    );

    // With an id the server does write: ok, and how recent mail would fare.
    let config = std::fs::read_to_string(bot.path().join("introbot.toml")).expect("config");
    std::fs::write(bot.path().join("introbot.toml"), format!("{config}{TRUSTED}")).expect("config");
    bot.deliver(request_as("carol@conn.example", "r1@conn.example", &trusted_hop("pass")));
    let check = run(&["check", "--config", "introbot.toml"], bot.path());
    assert!(check.status.success(), "{}", stdout(&check));
    assert!(stdout(&check).contains("ok   security: 1 of the 1 newest messages carry Authentication-Results from mx.bot.example, 1 of them passing dmarc"), "{}", stdout(&check));
    let out = bot.run_once();
    assert!(
        stderr(&out).contains("sender authentication") && !stderr(&out).contains("anyone who can forge"),
        "{}",
        stderr(&out)
    );

    // With an id the server never writes: a failure that says why.
    std::fs::write(
        bot.path().join("introbot.toml"),
        format!("{config}\n[security]\nauthserv_id = \"mx.elsewhere.example\"\n"),
    )
    .expect("config");
    let check = run(&["check", "--config", "introbot.toml"], bot.path());
    assert!(!check.status.success());
    assert!(stdout(&check).contains("FAIL security: none of the 1 newest messages has Authentication-Results from mx.elsewhere.example (ids seen: mx.bot.example)"), "{}", stdout(&check));
}

// ---- automatic mail (recognised by `mail::automatic`, issue 8's work) ----

/// Before: an out-of-office with no auto-reply headers, subject "Automatic
/// reply: …", saying "Yes, I have received your message…", counted as Bob's
/// yes; the connector's own out-of-office decided an unclear reply. Now
/// neither is a decision and neither is answered.
#[test]
fn out_of_office_replies_without_headers_are_never_a_decision() {
    let (mut bot, id) = started("");
    let (alice, bob) = (bot.reply_address_of("alice@a.example"), bot.reply_address_of("bob@b.example"));
    let ooo = |from: &str, to: &str, mid: &str, text: &str| {
        format!(
            "From: {from}\r\nTo: {to}\r\nSubject: Automatic reply: Would you like to meet?\r\nMessage-ID: <{mid}>\r\n\r\n{text}\r\n"
        )
    };
    bot.deliver(ooo(
        "bob@b.example",
        &bob,
        "ooo-1@b.example",
        "Yes, I have received your message and will reply as soon as possible.",
    ));
    bot.deliver(reply("alice@a.example", &alice, "a1@a.example", "", "Hmm, what would we talk about?"));
    bot.run_once();
    assert_eq!(bot.show(&id)["target"]["state"], "asked", "an out-of-office is not a yes");
    assert_eq!(bot.show(&id)["requester"]["state"], "unclear");
    let carol = bot.reply_address_of("carol@conn.example");
    let before = bot.sent().len();
    bot.deliver(ooo("carol@conn.example", &carol, "ooo-2@conn.example", "Sure, I will get back to you on Monday."));
    bot.run_once();
    assert_eq!(bot.show(&id)["requester"]["state"], "unclear", "the connector's out-of-office decides nothing");
    assert_eq!(bot.sent().len(), before, "and nobody is answered");
}

/// A delivery status report through a party's envelope token.
fn dsn(to: &str, id: &str, action: &str, status: &str) -> String {
    format!(
        "From: MAILER-DAEMON@b.example\r\nTo: {to}\r\nSubject: Delivery Status Notification\r\nMessage-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nA report.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.b.example\r\n\r\nFinal-Recipient: rfc822; bob@b.example\r\nAction: {action}\r\nStatus: {status}\r\n\r\n--b--\r\n"
    )
}

/// Before: `Action: delayed`, `delivered` and `relayed` reports marked the
/// party bounced and ended the intro. Only `failed` does now.
#[test]
fn only_a_failed_delivery_report_bounces_a_party() {
    let (mut bot, id) = started("");
    let bob = bot.reply_address_of("bob@b.example");
    let before = bot.sent().len();
    bot.deliver(dsn(&bob, "d1@b.example", "delayed", "4.4.1"));
    bot.deliver(dsn(&bob, "d2@b.example", "delivered", "2.0.0"));
    bot.deliver(dsn(&bob, "d3@b.example", "relayed", "2.0.0"));
    bot.run_once();
    assert_eq!(bot.show(&id)["state"], "awaiting_consent");
    assert_eq!(bot.show(&id)["target"]["state"], "asked");
    assert_eq!(bot.sent().len(), before, "nothing sent, nobody told");
    assert_eq!(bot.filed("ignored"), 3);
    bot.deliver(dsn(&bob, "d4@b.example", "failed", "5.1.1"));
    bot.run_once();
    assert_eq!(bot.show(&id)["state"], "failed");
    assert_eq!(bot.show(&id)["target"]["state"], "bounced");
}
