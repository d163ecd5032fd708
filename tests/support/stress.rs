//! The stress harness: N intros end to end through the real mail stack,
//! with scripted people, while the daemon is SIGKILLed (at random and at
//! chosen moments, through `INTROBOT_FAILPOINT`) and restarted, and the
//! servers are stopped and started under it. Shared by the quick variants
//! in the test suite (`tests/stress.rs`) and the full runs of
//! `scripts/stress` (`benches/stress.rs`).
//!
//! The people: a connector sends one request per intro; each intro follows
//! a script ([`Kind`]) of yes, no, unclear, silence, a connector's decision
//! and a late answer, each step taken only once the mail it answers has
//! arrived, so the outcome is fixed whatever the timing. They read their
//! mail straight from the stack's Maildirs while the run goes on (cheap
//! enough to look every 100 ms for hundreds of people); the checks at the
//! end read every inbox over IMAP and the store through `introbot list`
//! and `show`.
//!
//! The checks ([`Report::problems`]): every intro exists once, in the state
//! its script dictates; every person received exactly the emails the store
//! says it queued for them, of the kinds the script dictates; an email
//! arrived twice only with the same Message-ID, and there are no more such
//! duplicates than kills; nobody else got anything (nothing stuck in
//! Postfix's queue); the bot's inbox is empty and nothing was filed as
//! failed; the store opens cleanly after the run.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use introbot::MailStream;

use crate::mailstack::{self, stack};

/// One intro's script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Both say yes: introduced.
    YesYes,
    /// The target says no, the requester never answers: declined.
    NoSilent,
    /// The requester says no; the target says yes once told nothing is
    /// needed (too late: the connector hears of it): declined.
    NoThenLateYes,
    /// The requester's answer is unclear; the connector says yes for them,
    /// and the target says yes once the connector's decision is confirmed:
    /// introduced.
    UnclearThenYes,
    /// The requester's answer is unclear; the connector says no: declined.
    UnclearThenNo,
    /// The requester says yes, the target is silent: one follow-up, then
    /// expired.
    YesSilent,
    /// Nobody answers: a follow-up each, then expired.
    SilentSilent,
}

impl Kind {
    /// Every script, in the order a run cycles through them.
    pub(crate) const ALL: [Kind; 7] = [
        Kind::YesYes,
        Kind::NoSilent,
        Kind::NoThenLateYes,
        Kind::UnclearThenYes,
        Kind::UnclearThenNo,
        Kind::YesSilent,
        Kind::SilentSilent,
    ];

    /// The scripts whose outcome needs no timer (for runs whose outages are
    /// longer than a follow-up delay could reasonably be).
    pub(crate) const ANSWERED: [Kind; 5] =
        [Kind::YesYes, Kind::NoSilent, Kind::NoThenLateYes, Kind::UnclearThenYes, Kind::UnclearThenNo];

    /// The intro's final state.
    fn state(self) -> &'static str {
        match self {
            Kind::YesYes | Kind::UnclearThenYes => "introduced",
            Kind::NoSilent | Kind::NoThenLateYes | Kind::UnclearThenNo => "declined",
            Kind::YesSilent | Kind::SilentSilent => "expired",
        }
    }

    /// The kinds of email each of requester, target and connector gets,
    /// as the store records them for the intro.
    fn emails(self) -> [&'static [&'static str]; 3] {
        const ACK_OUTCOME: &[&str] = &["acknowledgement", "outcome"];
        match self {
            Kind::YesYes => [&["consent_request", "introduction"], &["consent_request", "introduction"], ACK_OUTCOME],
            Kind::NoSilent => [&["consent_request", "nothing_needed"], &["consent_request", "thank_you"], ACK_OUTCOME],
            Kind::NoThenLateYes => {
                [&["consent_request", "thank_you"], &["consent_request", "nothing_needed"], ACK_OUTCOME]
            }
            Kind::UnclearThenYes => [
                &["consent_request", "introduction"],
                &["consent_request", "introduction"],
                &["acknowledgement", "unclear_reply", "command_reply", "outcome"],
            ],
            Kind::UnclearThenNo => [
                &["consent_request", "thank_you"],
                &["consent_request", "nothing_needed"],
                &["acknowledgement", "unclear_reply", "outcome"],
            ],
            Kind::YesSilent => [&["consent_request", "nothing_needed"], &["consent_request", "follow_up"], ACK_OUTCOME],
            Kind::SilentSilent => [&["consent_request", "follow_up"], &["consent_request", "follow_up"], ACK_OUTCOME],
        }
    }

    /// Whether the target answers after the intro ended: the connector
    /// hears of it in a note outside the intro's own record, though at
    /// most once an hour (notes outside an intro are rate-limited per
    /// address), so in a run only the first late answer gets one.
    fn answers_late(self) -> bool {
        self == Kind::NoThenLateYes
    }

    /// What each person does, and when: (requester, target, connector).
    fn acts(self) -> [Option<Act>; 3] {
        let own = |n, text| Some(Act { gate: Gate::Own(n), text, parent: Parent::OwnFirst });
        match self {
            Kind::YesYes => [own(1, "Yes please!"), own(1, "Sure, happy to."), None],
            Kind::NoSilent => [None, own(1, "Thanks, but I'll pass."), None],
            Kind::NoThenLateYes => [own(1, "Thanks, but I'll pass."), own(2, "Yes please!"), None],
            Kind::UnclearThenYes => [
                own(1, "Who is this, and why?"),
                Some(Act { gate: Gate::Connector(3), text: "Yes please!", parent: Parent::OwnFirst }),
                Some(Act { gate: Gate::Connector(2), text: "Yes", parent: Parent::ConnectorNth(2) }),
            ],
            Kind::UnclearThenNo => [
                own(1, "Who is this, and why?"),
                None,
                Some(Act { gate: Gate::Connector(2), text: "No", parent: Parent::ConnectorNth(2) }),
            ],
            Kind::YesSilent => [own(1, "Yes please!"), None, None],
            Kind::SilentSilent => [None, None, None],
        }
    }
}

/// When a person acts.
#[derive(Clone, Copy, Debug)]
enum Gate {
    /// Once they hold this many emails.
    Own(usize),
    /// Once the connector holds this many emails about the intro.
    Connector(usize),
}

/// Which email a person answers.
#[derive(Clone, Copy, Debug)]
enum Parent {
    /// Their first (the consent note, through its reply address).
    OwnFirst,
    /// The connector's nth email about the intro.
    ConnectorNth(usize),
}

#[derive(Clone, Copy, Debug)]
struct Act {
    gate: Gate,
    text: &'static str,
    parent: Parent,
}

/// Something done to the servers mid-run.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outage {
    /// Dovecot stopped for this long.
    Imap(Duration),
    /// Postfix stopped for this long.
    Smtp(Duration),
    /// Both stopped for this long.
    Both(Duration),
    /// The bot's INBOX gets a new UIDVALIDITY (as if recreated).
    UidValidity,
}

/// What a run does.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Account prefix: `{p}bot`, `{p}conn`, `{p}r{i}`, `{p}t{i}`.
    pub(crate) prefix: String,
    /// Number of intros.
    pub(crate) intros: usize,
    /// Scripts, cycled over the intros.
    pub(crate) kinds: Vec<Kind>,
    /// The daemon's `follow_up_after` and `expire_after`.
    pub(crate) follow_up: Duration,
    pub(crate) expire: Duration,
    /// Kills wanted.
    pub(crate) kills: usize,
    /// Failpoints (`name:N`) used in turn for chosen kills.
    pub(crate) chosen: Vec<&'static str>,
    /// Every `random_every`-th kill is a plain SIGKILL at a random moment.
    pub(crate) random_every: usize,
    /// Arm `timer_committed` even before timers come due (the daemon then
    /// runs until they do); otherwise it waits its turn until they are.
    pub(crate) early_timer_kills: bool,
    /// The connector sends one request every this often.
    pub(crate) spacing: Duration,
    /// Outages, one after the other, starting once all requests are out.
    pub(crate) outages: Vec<Outage>,
    /// Give up waiting for the outcome after this long.
    pub(crate) timeout: Duration,
}

/// The stack's accounts a plan uses.
pub(crate) fn users(prefix: &str, intros: usize) -> Vec<String> {
    let mut users = vec![format!("{prefix}bot"), format!("{prefix}conn")];
    for i in 0..intros {
        users.push(format!("{prefix}r{i}"));
        users.push(format!("{prefix}t{i}"));
    }
    users
}

/// What a run found.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) intros: usize,
    /// Each kill: "random" or the failpoint that fired.
    pub(crate) kills: Vec<String>,
    /// Emails that arrived more than once (same Message-ID), counted once
    /// per email however many recipients saw it twice.
    pub(crate) duplicates: usize,
    /// Of those, emails the bot submitted to Postfix more than once (the
    /// kill-between-250-and-outbox window): at most one per kill.
    pub(crate) resent: usize,
    /// Extra copies the mail servers made themselves (a server stopped
    /// mid-delivery saves a message and then retries it): only with outages.
    pub(crate) server_copies: usize,
    /// Emails delivered to people.
    pub(crate) delivered: usize,
    pub(crate) elapsed: Duration,
    /// Outages done, with how long each lasted.
    pub(crate) outages: Vec<String>,
    /// Everything that was not as it should be.
    pub(crate) problems: Vec<String>,
    /// The daemon's log, across restarts.
    pub(crate) log: PathBuf,
    /// The run's directory (config, store, log), kept for a look.
    pub(crate) dir: PathBuf,
}

impl Report {
    /// The run's failpoint kills by name, and the random ones.
    pub(crate) fn kill_summary(&self) -> String {
        let mut by: BTreeMap<&str, usize> = BTreeMap::new();
        for k in &self.kills {
            *by.entry(k.as_str()).or_default() += 1;
        }
        by.iter().map(|(k, n)| format!("{k} ×{n}")).collect::<Vec<_>>().join(", ")
    }
}

fn addr(user: &str) -> String {
    format!("{user}@example.test")
}

/// One email as a person's Maildir holds it.
#[derive(Clone, Debug)]
struct Peeked {
    message_id: String,
    reply_to: String,
    subject: String,
    refs: Vec<String>,
}

/// A person's Maildir, read directly while the run goes on.
#[derive(Default)]
struct Peek {
    files: BTreeSet<String>,
    /// Distinct emails by Message-ID, in the order first seen.
    mail: Vec<Peeked>,
}

fn maildir(user: &str) -> PathBuf {
    stack().dir.join("mail/example.test").join(user).join("Maildir")
}

impl Peek {
    /// Looks for new files; returns whether anything new arrived.
    fn look(&mut self, user: &str) -> bool {
        let root = maildir(user);
        let mut grew = false;
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(root.join(sub)) else { continue };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let base = name.split(':').next().unwrap_or(&name).to_owned();
                if self.files.contains(&base) {
                    continue;
                }
                // Moved from new/ to cur/ meanwhile: seen next time.
                let Ok(raw) = std::fs::read(e.path()) else { continue };
                self.files.insert(base);
                let Some(msg) = mail_parser::MessageParser::default().parse(&raw) else { continue };
                let message_id = msg.message_id().unwrap_or_default().to_owned();
                if self.mail.iter().any(|m| m.message_id == message_id) {
                    continue;
                }
                let refs = thread_ids(&msg);
                let reply_to =
                    msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
                let subject = msg.subject().unwrap_or_default().to_owned();
                self.mail.push(Peeked { message_id, reply_to, subject, refs });
                grew = true;
            }
        }
        grew
    }
}

/// The daemon under test: restarted after every kill, its log appended.
struct Daemon {
    dir: PathBuf,
    child: Option<Child>,
    started: Instant,
    /// The failpoint armed in this process, if any.
    armed: Option<&'static str>,
    /// When to kill it at random (no failpoint), or give up on the armed one.
    kill_at: Instant,
    restarts: usize,
    /// When the run began, for the notes.
    t0: Instant,
}

impl Daemon {
    fn log_path(&self) -> PathBuf {
        self.dir.join("introbot.log")
    }

    fn note(&self, line: &str) {
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()) {
            let _ = writeln!(f, "=== stress +{:.1}s: {line}", self.t0.elapsed().as_secs_f64());
        }
    }

    fn start(&mut self, armed: Option<&'static str>, kill_after: Duration) {
        self.note(&format!("start #{} (failpoint {})", self.restarts, armed.unwrap_or("none")));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_introbot"));
        cmd.args(["run", "--config", "introbot.toml"])
            .current_dir(&self.dir)
            .env("MAILSTACK_PASSWORD", &stack().password)
            .env("RUST_LOG", std::env::var("INTROBOT_TEST_LOG").unwrap_or_else(|_| "introbot=info".into()))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        match armed {
            Some(f) => cmd.env("INTROBOT_FAILPOINT", f),
            None => cmd.env_remove("INTROBOT_FAILPOINT"),
        };
        self.child = Some(cmd.spawn().expect("introbot starts"));
        self.started = Instant::now();
        self.armed = armed;
        self.kill_at = Instant::now() + kill_after;
        self.restarts += 1;
    }

    /// Whether it died by itself; `Some(how)` once it is gone.
    fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(match (status.signal(), self.armed) {
                    (Some(9), Some(f)) => f.to_owned(),
                    _ => format!("exited by itself ({status})"),
                })
            }
            _ => None,
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, and wait for it to finish the message in hand.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // It may have ended by itself already: "no such process" is expected.
            let _ = Command::new("kill").arg(c.id().to_string()).stderr(Stdio::null()).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A tiny deterministic generator for kill times (no dependency needed).
struct Rng(u64);

impl Rng {
    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let span = hi.saturating_sub(lo).as_millis() as u64;
        lo + Duration::from_millis(if span == 0 { 0 } else { self.0 % span })
    }
}

/// Brings back the servers an outage stopped.
fn end_outage(outage: Outage) {
    match outage {
        Outage::Imap(_) => server("dovecot", true),
        Outage::Smtp(_) => server("postfix", true),
        Outage::Both(_) => {
            server("dovecot", true);
            server("postfix", true);
        }
        Outage::UidValidity => {}
    }
}

fn daemon_config(plan: &Plan) -> String {
    let secs = |d: Duration| format!("{}s", d.as_secs().max(1));
    let timing = format!("follow_up_after = \"{}\"\nexpire_after = \"{}\"", secs(plan.follow_up), secs(plan.expire));
    let (bot, conn) = (addr(&format!("{}bot", plan.prefix)), addr(&format!("{}conn", plan.prefix)));
    // The limits off: this is about crashes and outages, and one connector
    // opens every intro of the run (a limit refusing some would be a
    // different run each time, depending on where the kills land).
    let limits = "[limits]\nintros_per_connector_per_day = 100000000\nasks_per_target_per_30_days = 100000000\n\
                  emails_per_address_per_day = 100000000\nnotes_per_connector_per_day = 100000000\n";
    format!("{}{limits}", mailstack::config_for(&bot, &conn, &timing, true, Some("5s")))
}

fn request(plan: &Plan, run: &str, i: usize) -> String {
    let p = &plan.prefix;
    format!(
        "From: Connie Connector <{c}>\r\nTo: Intro Bot <{bot}>\r\nSubject: Fwd: Intro: Rhea{i} Asker <> Theo{i} Busy\r\n\
         Message-ID: <{run}-req{i}-0@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Theo{i} is the one to ask: Theo{i} Busy <{t}>\r\n\r\n---------- Forwarded message ---------\r\n\
         From: Rhea{i} Asker <{r}>\r\nSubject: Intro: Rhea{i} Asker <> Theo{i} Busy\r\nTo: {c}\r\n\r\n\
         Hi Connie, I'd love twenty minutes with Theo{i} about mail queues.\r\n",
        c = addr(&format!("{p}conn")),
        bot = addr(&format!("{p}bot")),
        t = addr(&format!("{p}t{i}")),
        r = addr(&format!("{p}r{i}")),
    )
}

fn reply(from: &str, to: &str, subject: &str, parent: &str, id: &str, text: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: {subject}\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\nOn Mon, 30 Nov 2026 at 09:00, Intro Bot <{to}> wrote:\r\n> Would you like to meet?\r\n"
    )
}

/// The intro index in one of this run's own Message-IDs (`{run}-x{i}-n@…`).
fn index_in(run: &str, id: &str) -> Option<usize> {
    let rest = id.strip_prefix(run)?.strip_prefix('-')?;
    let digits: String =
        rest.chars().skip_while(|c| c.is_ascii_alphabetic()).take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// An email waiting to be sent by a person (retried while SMTP is down).
struct Outgoing {
    from: String,
    to: String,
    raw: String,
}

/// Sends through the MX; false when the server is not there.
fn try_send(rt: &tokio::runtime::Runtime, o: &Outgoing) -> bool {
    use lettre::AsyncTransport;
    let s = stack();
    let (Ok(from), Ok(to)) = (o.from.parse(), o.to.parse()) else { return false };
    let Ok(envelope) = lettre::address::Envelope::new(Some(from), vec![to]) else { return false };
    rt.block_on(async {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(s.host.clone())
            .port(s.mx_port)
            .timeout(Some(Duration::from_secs(10)))
            .build();
        transport.send_raw(&envelope, o.raw.as_bytes()).await.is_ok()
    })
}

fn report_send_failure(o: &Outgoing) {
    eprintln!("stress: the MX did not take {} -> {}; retrying", o.from, o.to);
}

/// Messages in a user's INBOX right now, straight from its Maildir.
fn inbox_len(user: &str) -> usize {
    let root = maildir(user);
    ["new", "cur"].iter().map(|sub| std::fs::read_dir(root.join(sub)).map(|d| d.count()).unwrap_or(0)).sum()
}

/// Puts messages straight into a user's INBOX over IMAP (as if another MX
/// had delivered them).
async fn append(user: &str, raws: &[String]) {
    let s = stack();
    let tcp = tokio::net::TcpStream::connect((s.host.as_str(), s.imap_port)).await.expect("imap reachable");
    let mut client = async_imap::Client::new(MailStream::Plain(tcp));
    client.read_response().await.expect("greeting");
    let mut session = client.login(user, &s.password).await.map_err(|(e, _)| e).expect("login");
    for raw in raws {
        session.append("INBOX", None, None, raw.as_bytes()).await.expect("APPEND");
    }
    let _ = session.logout().await;
}

/// Stops or starts one of the stack's servers.
pub(crate) fn server(which: &str, up: bool) {
    let dir = stack().dir.to_str().expect("utf-8").to_owned();
    let status = if up {
        let (cmd, args): (&str, Vec<String>) = match which {
            "dovecot" => ("dovecot", vec!["-c".into(), format!("{dir}/dovecot/dovecot.conf")]),
            _ => ("postfix", vec!["-c".into(), format!("{dir}/postfix"), "start".into()]),
        };
        Command::new(cmd).args(&args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status()
    } else {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack/stop.sh");
        Command::new("bash").arg(script).arg(&dir).arg(which).stdout(Stdio::null()).stderr(Stdio::null()).status()
    };
    assert!(status.is_ok_and(|s| s.success()), "{} {which} failed", if up { "starting" } else { "stopping" });
    if up {
        // stop.sh kills Postfix's delivery agents mid-delivery; the new qmgr
        // then leaves such a message in the incoming queue until told to look
        // (`postfix stop` on a real host lets them finish). Ask it to.
        let _ = Command::new("postqueue")
            .arg("-c")
            .arg(stack().dir.join("postfix"))
            .arg("-f")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn doveadm(args: &[&str]) -> std::process::Output {
    let conf = stack().dir.join("dovecot/dovecot.conf");
    Command::new("doveadm").arg("-c").arg(conf).args(args).output().expect("doveadm runs")
}

/// Runs the plan; the report says what was wrong, if anything.
pub(crate) fn run(plan: &Plan) -> Report {
    let t0 = Instant::now();
    let rt = mailstack::runtime();
    let run_id = format!("{}{}", plan.prefix, jiff::Timestamp::now().as_millisecond());
    let p = plan.prefix.clone();
    let (bot, conn) = (format!("{p}bot"), format!("{p}conn"));
    // A clean slate: a rerun must not see an earlier run's mail.
    for user in users(&p, plan.intros) {
        let out = doveadm(&["expunge", "-u", &user, "mailbox", "*", "all"]);
        assert!(out.status.success(), "doveadm expunge {user}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let dir = std::env::temp_dir().join(format!("introbot-stress-{run_id}"));
    std::fs::create_dir_all(&dir).expect("run dir");
    std::fs::write(dir.join("introbot.toml"), daemon_config(plan)).expect("config");
    let mut report =
        Report { intros: plan.intros, log: dir.join("introbot.log"), dir: dir.clone(), ..Report::default() };
    let kind_of = |i: usize| plan.kinds[i % plan.kinds.len()];

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ t0.elapsed().as_nanos() as u64 ^ u64::from(std::process::id()));
    let mut daemon = Daemon {
        dir: dir.clone(),
        child: None,
        started: Instant::now(),
        armed: None,
        kill_at: Instant::now(),
        restarts: 0,
        t0,
    };
    let random_wait = |rng: &mut Rng| rng.between(Duration::from_millis(1000), Duration::from_millis(3500));
    // Arms the next chosen failpoint, or plans a random kill.
    let mut chosen_next = 0usize;
    let mut next_start = |daemon: &mut Daemon, kills: usize, rng: &mut Rng, since: Duration| {
        if kills >= plan.kills {
            daemon.start(None, Duration::from_secs(86_400));
            return;
        }
        let random = plan.chosen.is_empty() || (plan.random_every > 0 && (kills + 1).is_multiple_of(plan.random_every));
        if random {
            let wait = random_wait(rng);
            daemon.start(None, wait);
            return;
        }
        let mut chosen = plan.chosen[chosen_next % plan.chosen.len()];
        // Before timers come due, a timer point would only wait: unless
        // the plan wants it armed early, take the next point instead.
        if !plan.early_timer_kills && chosen.starts_with("timer_committed") && since < plan.follow_up {
            chosen_next += 1;
            chosen = plan.chosen[chosen_next % plan.chosen.len()];
        }
        chosen_next += 1;
        // A bare name crashes at a random early hit, so the kills spread.
        let f: &'static str = if chosen.contains(':') {
            chosen
        } else {
            let n = rng.between(Duration::from_millis(1), Duration::from_millis(5)).as_millis();
            Box::leak(format!("{chosen}:{n}").into_boxed_str())
        };
        // Timers come due only after follow_up_after: wait for them.
        let patience = if f.starts_with("timer_committed") {
            plan.follow_up.saturating_sub(since) + plan.expire + Duration::from_secs(20)
        } else {
            Duration::from_secs(6)
        };
        daemon.start(Some(f), patience);
    };
    next_start(&mut daemon, 0, &mut rng, Duration::ZERO);

    let mut peeks: HashMap<String, Peek> = HashMap::new();
    let mut done_acts: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut outbox: Vec<Outgoing> = Vec::new();
    // Requests go out spaced, except the last two per outage, kept for it:
    // intros [0, spaced_sent) and [spaced, burst_next) are asked for.
    let spaced = plan.intros.saturating_sub(2 * plan.outages.len());
    let mut spaced_sent = 0usize;
    let mut burst_next = spaced;
    let requested =
        |i: usize, spaced_sent: usize, burst_next: usize| i < spaced_sent || (spaced..burst_next).contains(&i);
    let mut outage_idx = 0usize;
    let mut outage_until: Option<(Instant, Outage, Instant)> = None;
    let requests_done_at = |sent: usize| sent >= plan.intros;
    let mut late_ids: BTreeMap<usize, String> = BTreeMap::new();
    let deadline = t0 + plan.timeout;
    let mut finished = false;
    // Everything the people wait for has arrived (the last tick's look).
    let mut idle = false;
    let mut last_outage_end = Instant::now();

    while Instant::now() < deadline {
        let elapsed = t0.elapsed();
        // The daemon: dead by a failpoint, due for a random kill, or fine.
        if let Some(how) = daemon.exited() {
            daemon.note(&format!("died: {how}"));
            if how.starts_with("exited by itself") {
                report.problems.push(format!("the daemon {how} after {:.1} s", elapsed.as_secs_f64()));
            }
            report.kills.push(how);
            next_start(&mut daemon, report.kills.len(), &mut rng, elapsed);
        } else if daemon.child.is_some()
            && (Instant::now() >= daemon.kill_at
                || (idle && report.kills.len() < plan.kills && daemon.started.elapsed() > Duration::from_millis(1500)))
        {
            let how = match (daemon.armed, idle) {
                (_, true) => "random (all work done)".to_owned(),
                (Some(f), false) => format!("random ({f} not reached)"),
                (None, false) => "random".to_owned(),
            };
            daemon.note(&format!("SIGKILL: {how}"));
            daemon.kill();
            report.kills.push(how);
            next_start(&mut daemon, report.kills.len(), &mut rng, elapsed);
        }

        // The connector's requests, spaced out.
        while spaced_sent < spaced && elapsed >= plan.spacing * spaced_sent as u32 {
            let i = spaced_sent;
            spaced_sent += 1;
            outbox.push(Outgoing { from: addr(&conn), to: addr(&bot), raw: request(plan, &run_id, i) });
        }
        let sent_requests = spaced_sent + (burst_next - spaced);

        // Outages, one after the other, a few seconds apart, while requests
        // keep coming.
        if let Some((until, outage, began)) = outage_until {
            if Instant::now() >= until {
                end_outage(outage);
                daemon.note(&format!("{outage:?} over"));
                report.outages.push(format!("{outage:?} for {:.0} s", began.elapsed().as_secs_f64()));
                outage_until = None;
                last_outage_end = Instant::now();
            }
        } else if outage_idx < plan.outages.len()
            && elapsed >= Duration::from_secs(4)
            && last_outage_end.elapsed() >= Duration::from_secs(6)
        {
            let outage = plan.outages[outage_idx];
            outage_idx += 1;
            // Work in flight through every outage: two requests arrive at the
            // moment that makes the bot meet the dead server.
            let mut burst = Vec::new();
            for _ in 0..2 {
                if burst_next < plan.intros {
                    burst.push(request(plan, &run_id, burst_next));
                    burst_next += 1;
                }
            }
            // Sent through the MX; what it did not take is retried with
            // the people's other mail.
            let by_smtp = |burst: &[String], outbox: &mut Vec<Outgoing>| {
                for raw in burst {
                    let o = Outgoing { from: addr(&conn), to: addr(&bot), raw: raw.clone() };
                    if !try_send(&rt, &o) {
                        report_send_failure(&o);
                        outbox.push(o);
                    }
                }
            };
            daemon.note(&format!("{outage:?} begins"));
            let length = match outage {
                Outage::Imap(d) => {
                    // Postfix holds them until Dovecot is back.
                    server("dovecot", false);
                    by_smtp(&burst, &mut outbox);
                    d
                }
                Outage::Smtp(d) => {
                    // Already in the mailbox (another MX took them), so the
                    // bot reads them and cannot send its answers.
                    server("postfix", false);
                    rt.block_on(append(&addr(&bot), &burst));
                    d
                }
                Outage::Both(d) => {
                    // The bot holds answers it cannot send, and then cannot
                    // read either.
                    server("postfix", false);
                    rt.block_on(append(&addr(&bot), &burst));
                    let until = Instant::now() + Duration::from_secs(10);
                    while inbox_len(&bot) > 0 && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    server("dovecot", false);
                    d
                }
                Outage::UidValidity => {
                    // New mail after the change makes Dovecot resync the
                    // mailbox and drop the bot's session (it would not
                    // interrupt IDLE otherwise).
                    let validity = (jiff::Timestamp::now().as_second() % 1_000_000_000).to_string();
                    let out = doveadm(&["mailbox", "update", "-u", &bot, "--uid-validity", &validity, "INBOX"]);
                    if !out.status.success() {
                        report
                            .problems
                            .push(format!("doveadm mailbox update: {}", String::from_utf8_lossy(&out.stderr)));
                    }
                    by_smtp(&burst, &mut outbox);
                    Duration::from_secs(3)
                }
            };
            outage_until = Some((Instant::now() + length, outage, Instant::now()));
        }

        // People read their mail and act.
        let smtp_down = matches!(outage_until, Some((_, Outage::Smtp(_) | Outage::Both(_), _)));
        for user in
            std::iter::once(conn.clone()).chain((0..plan.intros).flat_map(|i| [format!("{p}r{i}"), format!("{p}t{i}")]))
        {
            peeks.entry(user.clone()).or_default().look(&user);
        }
        // The connector's mail, by intro.
        let mut conn_mail: BTreeMap<usize, Vec<Peeked>> = BTreeMap::new();
        for m in &peeks[&conn].mail {
            if let Some(i) = m.refs.iter().find_map(|r| index_in(&run_id, r)) {
                conn_mail.entry(i).or_default().push(m.clone());
            }
        }
        for i in (0..plan.intros).filter(|i| requested(*i, spaced_sent, burst_next)) {
            let kind = kind_of(i);
            let people = [format!("{p}r{i}"), format!("{p}t{i}"), conn.clone()];
            for (who, act) in kind.acts().into_iter().enumerate() {
                let Some(act) = act else { continue };
                if done_acts.contains(&(i, who)) {
                    continue;
                }
                let own = &peeks[&people[who]].mail;
                let cm = conn_mail.get(&i).map(Vec::as_slice).unwrap_or_default();
                let ready = match act.gate {
                    Gate::Own(n) => own.len() >= n,
                    Gate::Connector(n) => cm.len() >= n,
                };
                let parent = match act.parent {
                    Parent::OwnFirst => own.first(),
                    Parent::ConnectorNth(n) => cm.get(n - 1),
                };
                let (true, Some(parent)) = (ready, parent) else { continue };
                let id = format!("{run_id}-{}{i}-{}@example.test", ["r", "t", "c"][who], done_acts.len());
                if kind == Kind::NoThenLateYes && who == 1 {
                    late_ids.insert(i, id.clone());
                }
                let from = addr(&people[who]);
                let to = parent.reply_to.clone();
                let raw = reply(&from, &to, &parent.subject, &parent.message_id, &id, act.text);
                outbox.push(Outgoing { from, to, raw });
                done_acts.insert((i, who));
            }
        }
        if !smtp_down {
            outbox.retain(|o| !try_send(&rt, o));
        }

        // Done when every person holds what their script says, every
        // request and outage is through, and the kills are done.
        let late_noted = (0..plan.intros)
            .filter(|i| kind_of(*i).answers_late())
            .any(|i| conn_mail.get(&i).map_or(0, Vec::len) > kind_of(i).emails()[2].len());
        let late_expected = (0..plan.intros).any(|i| kind_of(i).answers_late());
        let complete = requests_done_at(sent_requests)
            && (late_noted || !late_expected)
            && outbox.is_empty()
            && outage_until.is_none()
            && outage_idx >= plan.outages.len()
            && (0..plan.intros).all(|i| {
                let k = kind_of(i);
                let [r, t, c] = k.emails();
                peeks[&format!("{p}r{i}")].mail.len() >= r.len()
                    && peeks[&format!("{p}t{i}")].mail.len() >= t.len()
                    && conn_mail.get(&i).map_or(0, Vec::len) >= c.len()
                    && (!k.answers_late() || late_ids.contains_key(&i))
            });
        idle = complete;
        if complete && report.kills.len() >= plan.kills {
            finished = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Servers back whatever happened.
    if let Some((_, outage, _)) = outage_until {
        end_outage(outage);
    }
    if !finished {
        report.problems.push(format!(
            "not finished within {:?}: {} of {} requests sent, {} kills, outages done {}/{}",
            plan.timeout,
            spaced_sent + (burst_next - spaced),
            plan.intros,
            report.kills.len(),
            outage_idx,
            plan.outages.len()
        ));
    }
    // Anything late or extra arrives within a few seconds.
    std::thread::sleep(Duration::from_secs(3));
    daemon.stop();
    daemon.note("stopped for the checks");
    report.elapsed = t0.elapsed();
    check(plan, &late_ids, &mut report);
    report
}

/// The checks after a run, from the store and over IMAP.
fn check(plan: &Plan, late_ids: &BTreeMap<usize, String>, report: &mut Report) {
    let p = &plan.prefix;
    let dir = report.dir.clone();
    let introbot = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_introbot"))
            .args(args)
            .args(["--config", "introbot.toml"])
            .current_dir(&dir)
            .env_remove("RUST_LOG")
            .output()
            .expect("introbot runs")
    };
    // The store: opens cleanly, one intro per request, each as scripted.
    let list = introbot(&["list", "--json"]);
    if !list.status.success() {
        report.problems.push(format!("list failed: {}", String::from_utf8_lossy(&list.stderr)));
        return;
    }
    // Per person: the Message-IDs the store queued for them.
    let mut queued: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut seen_intros: BTreeMap<usize, String> = BTreeMap::new();
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let Ok(intro) = serde_json::from_str::<serde_json::Value>(line) else {
            report.problems.push(format!("list printed a line that is not JSON: {line}"));
            continue;
        };
        let requester = intro["requester"]["email"].as_str().unwrap_or_default().to_owned();
        let Some(i) = requester
            .strip_prefix(&format!("{p}r"))
            .and_then(|r| r.split('@').next())
            .and_then(|n| n.parse::<usize>().ok())
        else {
            report.problems.push(format!("an intro nobody asked for: {line}"));
            continue;
        };
        let id = intro["id"].as_str().unwrap_or_default().to_owned();
        if let Some(other) = seen_intros.insert(i, id.clone()) {
            report.problems.push(format!("request {i} opened two intros: {other} and {id}"));
        }
        let kind = plan.kinds[i % plan.kinds.len()];
        let state = intro["state"].as_str().unwrap_or_default();
        if state != kind.state() {
            report.problems.push(format!("intro {i} ({kind:?}, {id}) is {state}, not {}", kind.state()));
        }
        let show = introbot(&["show", &id, "--json"]);
        let Ok(shown) = serde_json::from_slice::<serde_json::Value>(&show.stdout) else {
            report.problems.push(format!("show {id} failed: {}", String::from_utf8_lossy(&show.stderr)));
            continue;
        };
        let people = [addr(&format!("{p}r{i}")), addr(&format!("{p}t{i}")), addr(&format!("{p}conn"))];
        let mut kinds: [Vec<String>; 3] = Default::default();
        for e in shown["emails"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let kind_name = e["kind"].as_str().unwrap_or_default().to_owned();
            let message_id = e["message_id"].as_str().unwrap_or_default().to_owned();
            for to in e["to"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let to = to.as_str().unwrap_or_default().to_owned();
                match people.iter().position(|x| *x == to) {
                    Some(w) => kinds[w].push(kind_name.clone()),
                    None => report.problems.push(format!("intro {i} queued {kind_name} to {to}, who is not in it")),
                }
                queued.entry(to).or_default().insert(message_id.clone());
            }
        }
        for (w, expected) in kind.emails().into_iter().enumerate() {
            let mut got = kinds[w].clone();
            got.sort();
            let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
            want.sort();
            if got != want {
                report.problems.push(format!(
                    "intro {i} ({kind:?}): the {} got {got:?}, should get {want:?}",
                    ["requester", "target", "connector"][w]
                ));
            }
        }
    }
    for i in 0..plan.intros {
        if !seen_intros.contains_key(&i) {
            report.problems.push(format!("request {i} opened no intro"));
        }
    }

    // The inboxes, over IMAP.
    let rt = mailstack::runtime();
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    let people: Vec<String> = users(p, plan.intros).into_iter().skip(1).collect();
    for user in &people {
        let a = addr(user);
        let got = match rt.block_on(fetch_ids(&a, "INBOX")) {
            Ok(got) => got,
            Err(e) => {
                report.problems.push(format!("cannot read {a}'s inbox: {e}"));
                continue;
            }
        };
        let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
        for (id, _) in &got {
            *per_id.entry(id.clone()).or_default() += 1;
        }
        report.delivered += got.len();
        let expected = queued.get(&a).cloned().unwrap_or_default();
        for (id, in_reply_to) in &got {
            if expected.contains(id) {
                continue;
            }
            // The connector's note about a late answer is outside any intro.
            let late = user.ends_with("conn") && late_ids.values().any(|l| in_reply_to.contains(l.as_str()));
            if !late {
                report.problems.push(format!("{a} got {id}, which the store never queued for them"));
            }
        }
        for id in &expected {
            if !per_id.contains_key(id) {
                report.problems.push(format!("{a} never got {id}"));
            }
        }
        if user.ends_with("conn") && !late_ids.is_empty() {
            // One note for the first late answer; the rest, within the
            // hour, are filed without one.
            let notes = got
                .iter()
                .filter(|(_, irt)| late_ids.values().any(|late| irt.contains(late.as_str())))
                .map(|(id, _)| id)
                .collect::<BTreeSet<_>>()
                .len();
            if notes != 1 {
                report.problems.push(format!(
                    "the connector got {notes} notes about {} late answers, not 1 (one an hour)",
                    late_ids.len()
                ));
            }
        }
        for (id, n) in per_id {
            let e = copies.entry(id).or_default();
            *e = (*e).max(n);
        }
    }
    report.duplicates = copies.values().filter(|n| **n > 1).count();
    // Who made the copies: the bot submitting twice, or the servers
    // delivering once submitted mail twice. Postfix logs one cleanup line
    // per submission.
    let submissions = submissions(&copies.keys().cloned().collect());
    for (id, n) in &copies {
        let submitted = submissions.get(id).copied().unwrap_or(0).max(1);
        report.resent += submitted - 1;
        report.server_copies += n.saturating_sub(submitted);
    }
    if report.resent > report.kills.len() {
        report.problems.push(format!("the bot sent {} emails twice for {} kills", report.resent, report.kills.len()));
    }
    if report.server_copies > 0 && plan.outages.is_empty() {
        report.problems.push(format!("{} extra copies without any server outage", report.server_copies));
    }
    // Nothing left for the bot, nothing it could not read.
    let bot = addr(&format!("{p}bot"));
    for (folder, what) in [("INBOX", "left in the bot's inbox"), ("introbot/failed", "filed as failed")] {
        match rt.block_on(fetch_ids(&bot, folder)) {
            Ok(left) if !left.is_empty() => report.problems.push(format!("{} messages {what}", left.len())),
            Ok(_) => {}
            Err(e) if folder == "INBOX" => report.problems.push(format!("cannot read the bot's inbox: {e}")),
            Err(_) => {}
        }
    }
    // Nobody else: nothing from the bot stuck in Postfix's queue (other
    // tests may queue their own mail there).
    let queue = Command::new("postqueue").arg("-c").arg(stack().dir.join("postfix")).arg("-j").output();
    if let Ok(q) = queue {
        let sender = format!("\"sender\": \"{p}bot");
        let text = String::from_utf8_lossy(&q.stdout).replace("\":\"", "\": \"");
        let stuck: Vec<&str> = text.lines().filter(|l| l.contains(&sender)).collect();
        if !stuck.is_empty() {
            report.problems.push(format!("{} emails from the bot stuck in Postfix's queue: {stuck:?}", stuck.len()));
        }
    }
}

/// How many times Postfix took each of these Message-IDs in (its cleanup
/// service logs one line per message received).
fn submissions(ids: &BTreeSet<String>) -> BTreeMap<String, usize> {
    let log = std::fs::read_to_string(stack().dir.join("log/postfix.log")).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains("/cleanup[")) {
        let Some(id) = line.split("message-id=<").nth(1).and_then(|r| r.split('>').next()) else { continue };
        if ids.contains(id) {
            *out.entry(id.to_owned()).or_default() += 1;
        }
    }
    out
}

/// The ids in a message's In-Reply-To and References.
fn thread_ids(msg: &mail_parser::Message<'_>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for header in [msg.in_reply_to(), msg.references()] {
        ids.extend(header.as_text_list().unwrap_or_default().iter().map(|s| s.to_string()));
    }
    ids
}

/// (Message-ID, In-Reply-To and References) of every message in a folder.
async fn fetch_ids(user: &str, folder: &str) -> Result<Vec<(String, String)>, String> {
    let fetches =
        mailstack::fetch_folder(user, folder, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES)])").await?;
    Ok(fetches
        .iter()
        .filter_map(|f| {
            let msg = mail_parser::MessageParser::default().parse(f.header()?)?;
            let refs = thread_ids(&msg);
            Some((msg.message_id().unwrap_or_default().to_owned(), refs.join(" ")))
        })
        .collect())
}

/// Where the stack's mail for a user lives (for a look after a failed run).
pub(crate) fn maildir_of(user: &str) -> PathBuf {
    maildir(user)
}

/// The run's daemon log, for a failure message (the last `lines` lines).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
