//! `introbot demo`: the whole flow on this machine, with no mail account.
//!
//! A throwaway Maildir is the bot's inbox and a directory of `.eml` files is
//! its outbox; the real engine, store, templates and daemon cycle run on
//! them. Scripted people read the emails addressed to them in the outbox and
//! answer the way people do: through the reply address, in their own words.
//! The clock is simulated, so "eight business days later" takes no time and
//! the timers are the real defaults.
//!
//! Three intros: Alice <> Bob (both yes, Bob only after the follow-up),
//! Dan <> Erin (Erin declines), Frank <> Grace (Grace stays silent; an
//! out-of-office from her is ignored; the intro expires). Plus a stranger's
//! email, which gets no reply at all.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use mail_parser::MessageParser;

use crate::config::{Config, ConfigError};
use crate::core::{IntroId, Wait, add_wait};
use crate::daemon::{self, DaemonError};
use crate::engine::{Engine, EngineError};
use crate::source::Maildir;
use crate::source::maildir::MaildirError;
use crate::store::OutboxEntry;
use crate::transport::{Transport, TransportError};

/// What can stop the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Its files could not be written.
    #[error("cannot write the demo's files")]
    Io(#[from] std::io::Error),
    /// Its config did not validate (a bug).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The daemon cycle failed.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The inbox failed.
    #[error(transparent)]
    Maildir(#[from] MaildirError),
    /// The outbox failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A scripted person found no email to answer (a bug in the flow).
    #[error("{0} found no email from the bot to answer")]
    NothingToAnswer(String),
}

/// How the demo's intros ended, for callers that check it.
#[derive(Debug, Default)]
pub struct DemoSummary {
    /// Intro id and final state, in order.
    pub intros: Vec<(IntroId, String)>,
    /// Emails the bot sent.
    pub emails_sent: usize,
    /// Where the files are.
    pub dir: PathBuf,
}

const BOT: &str = "intros@example.com";

struct Demo<'a> {
    out: &'a mut dyn Write,
    engine: Engine,
    inbox: Maildir,
    transport: Transport,
    now: Timestamp,
    tz: TimeZone,
    /// Emails sent so far, in order: (recipient addresses, raw bytes).
    sent: Vec<(Vec<String>, Vec<u8>)>,
    timelines: HashMap<IntroId, usize>,
    counter: usize,
}

/// Runs the demo in `dir` (a fresh temporary directory when `None`),
/// writing its story to `out`.
pub fn run(dir: Option<&Path>, out: &mut dyn Write) -> Result<DemoSummary, DemoError> {
    let tmp;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.to_owned()
        }
        None => {
            tmp = std::env::temp_dir().join(format!("introbot-demo-{}", std::process::id()));
            std::fs::create_dir_all(&tmp)?;
            tmp
        }
    };
    let config_path = dir.join("introbot.toml");
    std::fs::write(
        &config_path,
        format!(
            "# Written by `introbot demo`.\n[bot]\naddress = \"{BOT}\"\nname = \"Intro Bot\"\ndata_dir = \"state\"\ntimezone = \"America/New_York\"\n\n[connectors]\nallow = [\"carol@example.com\"]\n\n[maildir]\npath = \"inbox\"\n\n[outbox_dir]\npath = \"sent\"\n\n[timing]\nfollow_up_after = \"7 business days\"\nexpire_after = \"7 business days\"\n"
        ),
    )?;
    let config = Config::load(&config_path)?;
    let inbox = Maildir::open(&dir.join("inbox"))?;
    let transport = Transport::from_config(&config.transport)?;
    let tz = config.timezone.clone();
    let engine = Engine::open(config)?;
    // Monday 2026-11-30, 09:00 in New York.
    let now: Timestamp = "2026-11-30T14:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut demo =
        Demo { out, engine, inbox, transport, now, tz, sent: Vec::new(), timelines: HashMap::new(), counter: 0 };
    rt.block_on(demo.story())?;
    let mut summary = DemoSummary { emails_sent: demo.sent.len(), dir: dir.clone(), ..DemoSummary::default() };
    for intro in demo.engine.store().intros(None)? {
        summary.intros.push((intro.id.clone(), intro.state.as_str().to_owned()));
    }
    writeln!(demo.out, "\nEverything above is on disk in {}:", dir.display())?;
    writeln!(
        demo.out,
        "  inbox/  the bot's mailbox (handled mail filed under .introbot.processed / .introbot.ignored)"
    )?;
    writeln!(demo.out, "  sent/   every email the bot sent, one .eml each")?;
    writeln!(demo.out, "  state/  the store; try: introbot list --config {}", config_path.display())?;
    Ok(summary)
}

impl Demo<'_> {
    async fn story(&mut self) -> Result<(), DemoError> {
        writeln!(self.out, "introbot demo: consent-first introductions, end to end, on this machine.")?;
        writeln!(
            self.out,
            "The clock is simulated from Mon 2026-11-30 09:00 America/New_York; timers are the defaults\n(one follow-up after 7 business days of silence, expiry 7 business days after that)."
        )?;

        self.chapter("1. Alice would like to meet Bob")?;
        self.say(
            "Carol (the connector) forwards Alice's summary to the bot, with Bob's address and a line marked for him.",
        )?;
        self.deliver(&forward(
            "Alice Able <alice@example.net>",
            "Bob Busy <bob@example.org>\r\nFor Bob: you ran mail at Example Corp, and Alice's project is worth your 20 minutes.",
            "Alice Able <> Bob Busy",
            "Hi Carol, I'm building an open-source mail server in Rust and would love 20 minutes of Bob's time on how he scaled IMAP IDLE.",
            "req-alice-bob@example.com",
        ))
        .await?;
        self.reply("Alice Able", "alice@example.net", "Yes please, thank you!").await?;
        self.pass_business_days(8).await?;
        self.reply("Bob Busy", "bob@example.org", "Sorry for the slow reply. Yes, happy to talk to Alice.").await?;

        self.chapter("2. Dan would like to meet Erin")?;
        self.deliver(&forward(
            "Dan Dev <dan@example.net>",
            "Erin <erin@example.org> knows the payments space.",
            "Dan Dev <> Erin Example",
            "Hi Carol, could you introduce me to Erin? I'd like advice on PSD2 compliance.",
            "req-dan-erin@example.com",
        ))
        .await?;
        self.say("The bot cut a line meant for Carol out of Dan's email, so it shows her what Erin would read first.")?;
        self.reply("Carol Connor", "carol@example.com", "send").await?;
        self.reply("Erin Example", "erin@example.org", "Thanks for thinking of me, but I'll pass.").await?;

        self.chapter("3. Frank would like to meet Grace, who is away")?;
        self.deliver(&forward(
            "Frank Founder <frank@example.net>",
            "Grace Hopper-Smith <grace@example.org>",
            "Frank Founder <> Grace Hopper-Smith",
            "Hi Carol, Grace's talk on compilers was great; I'd love to ask her about hiring.",
            "req-frank-grace@example.com",
        ))
        .await?;
        self.reply("Frank Founder", "frank@example.net", "Yes!").await?;
        self.say(
            "Grace's mail server answers with an out-of-office note: away until January. It is machine mail, never \
             an answer and never answered; but the bot won't chase her before she is back.",
        )?;
        self.auto_reply("Grace Hopper-Smith", "grace@example.org").await?;
        self.say("A stranger writes to the bot. Not an allowed connector: no reply at all (no backscatter).")?;
        self.deliver(
            "From: Mallory <mallory@example.invalid>\r\nTo: intros@example.com\r\nSubject: Intro: Mallory <> Bob\r\nMessage-ID: <spam-1@example.invalid>\r\n\r\nPlease introduce me to bob@example.org\r\n",
        )
        .await?;
        self.pass_business_days(16).await?;
        self.say("Grace is back in January: one gentle follow-up, then the intro expires.")?;
        self.pass_business_days(3).await?;
        self.pass_business_days(8).await?;

        self.chapter("How it ended")?;
        let intros = self.engine.store().intros(None)?;
        let width = intros.iter().map(|i| i.title().chars().count()).max().unwrap_or(0);
        for intro in intros {
            writeln!(self.out, "  {}  {:<width$} {}", intro.id, intro.title(), intro.state)?;
        }
        writeln!(self.out, "  {} emails sent in all.", self.sent.len())?;
        Ok(())
    }

    fn chapter(&mut self, title: &str) -> std::io::Result<()> {
        writeln!(self.out, "\n━━ {title} ━━")
    }

    fn say(&mut self, text: &str) -> std::io::Result<()> {
        writeln!(self.out, "\n{text}")
    }

    fn when(&self) -> String {
        self.now.to_zoned_datetime(self.tz.clone()).strftime("%a %Y-%m-%d %H:%M").to_string()
    }

    /// Puts a message in the inbox a few minutes later and runs one daemon
    /// cycle.
    async fn deliver(&mut self, raw: &str) -> Result<(), DemoError> {
        // People take a few minutes to write.
        self.now = self.now.checked_add(jiff::SignedDuration::from_mins(7)).unwrap_or(self.now);
        self.counter += 1;
        self.inbox.deliver(raw.as_bytes(), &format!("demo{}", self.counter))?;
        self.cycle().await
    }

    /// One daemon cycle, printing state changes and the emails it sent.
    async fn cycle(&mut self) -> Result<(), DemoError> {
        let report = daemon::take_inbox(&self.engine, &self.inbox, self.now).await?;
        if report.ignored > 0 {
            writeln!(self.out, "  [{}] bot: {} message(s) ignored, nothing sent", self.when(), report.ignored)?;
        }
        self.engine.fire_due(self.now)?;
        self.engine.store().flush().map_err(EngineError::from)?;
        let queued: Vec<OutboxEntry> = self.engine.store().outbox()?.into_iter().map(|(_, e)| e).collect();
        self.print_changes()?;
        self.engine.drain_outbox(&mut self.transport, self.now).await?;
        for entry in queued {
            self.print_email(&entry)?;
            let to = entry.email.recipients.iter().map(|r| r.as_str().to_owned()).collect();
            self.sent.push((to, entry.email.bytes.clone()));
        }
        Ok(())
    }

    fn print_changes(&mut self) -> Result<(), DemoError> {
        let when = self.when();
        for intro in self.engine.store().intros(None)? {
            let seen = self.timelines.entry(intro.id.clone()).or_insert(0);
            for t in &intro.timeline[*seen..] {
                writeln!(self.out, "  [{when}] intro {} ({}): {}", intro.id, intro.title(), t.what)?;
            }
            *seen = intro.timeline.len();
        }
        Ok(())
    }

    fn print_email(&mut self, entry: &OutboxEntry) -> Result<(), DemoError> {
        let Some(msg) = MessageParser::default().parse(&entry.email.bytes) else {
            return Ok(());
        };
        let to = msg.header_raw("To").map(|t| t.trim().to_owned()).unwrap_or_default();
        writeln!(self.out, "\n  ✉ to {to}")?;
        writeln!(self.out, "    Subject: {}", msg.subject().unwrap_or_default())?;
        if let Some(r) = msg.header_raw("Reply-To") {
            writeln!(self.out, "    Reply-To: {}", r.trim())?;
        }
        writeln!(self.out)?;
        for line in msg.body_text(0).unwrap_or_default().lines() {
            writeln!(self.out, "    │ {line}")?;
        }
        Ok(())
    }

    /// The latest email the bot sent to `email`.
    fn last_email_to(&self, email: &str) -> Option<mail_parser::Message<'static>> {
        self.sent
            .iter()
            .rev()
            .find(|(to, _)| to.len() == 1 && to[0] == email)
            .and_then(|(_, raw)| MessageParser::default().parse(raw).map(|m| m.into_owned()))
    }

    /// A scripted person answers the bot's latest email to them.
    async fn reply(&mut self, name: &str, email: &str, text: &str) -> Result<(), DemoError> {
        let msg = self.last_email_to(email).ok_or_else(|| DemoError::NothingToAnswer(name.to_owned()))?;
        let reply_to = msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or(BOT).to_owned();
        let parent = msg.message_id().unwrap_or_default().to_owned();
        let subject = msg.subject().unwrap_or_default().to_owned();
        writeln!(self.out, "\n{name} replies: \"{text}\"")?;
        self.counter += 1;
        let raw = format!(
            "From: {name} <{email}>\r\nTo: Intro Bot <{reply_to}>\r\nDelivered-To: {reply_to}\r\nSubject: Re: {subject}\r\nMessage-ID: <reply-{n}@{domain}>\r\nIn-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\nOn {when}, Intro Bot <{reply_to}> wrote:\r\n> (the bot's note, quoted)\r\n",
            n = self.counter,
            domain = email.split('@').nth(1).unwrap_or("example.org"),
            when = self.when(),
        );
        self.deliver(&raw).await
    }

    async fn auto_reply(&mut self, name: &str, email: &str) -> Result<(), DemoError> {
        let msg = self.last_email_to(email).ok_or_else(|| DemoError::NothingToAnswer(name.to_owned()))?;
        let reply_to = msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or(BOT).to_owned();
        let raw = format!(
            "From: {name} <{email}>\r\nTo: {reply_to}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo-{email}>\r\n\r\nI'm away until January with no access to email. Yes, really.\r\n"
        );
        self.deliver(&raw).await
    }

    async fn pass_business_days(&mut self, n: u32) -> Result<(), DemoError> {
        self.now = add_wait(self.now, Wait::BusinessDays(n), &self.tz);
        writeln!(self.out, "\n… {n} business days pass: it is now {}.", self.when())?;
        self.cycle().await
    }
}

/// An inline forward from Carol, the way Gmail writes one.
fn forward(requester: &str, note: &str, pair: &str, summary: &str, message_id: &str) -> String {
    format!(
        "From: Carol Connor <carol@example.com>\r\nTo: Intro Bot <{BOT}>\r\nSubject: Fwd: Intro: {pair}\r\nMessage-ID: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{note}\r\n\r\n---------- Forwarded message ---------\r\nFrom: {requester}\r\nDate: Mon, 30 Nov 2026 at 08:12\r\nSubject: Intro: {pair}\r\nTo: Carol Connor <carol@example.com>\r\n\r\n{summary}\r\n"
    )
}
