//! The people's side of the real mail stack, shared by the end-to-end tests
//! and the benchmarks: find (or start) the stack, run the daemon against
//! one account set, send mail as a person over SMTP and read a person's
//! inbox over IMAP.

// Shared by the test binary and the benchmarks; each uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use introbot::MailStream;
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// Test sets; scripts/test creates the same accounts as `all_users`.
pub(crate) const SETS: u32 = 15;

/// The quick stress runs in the suite: (account prefix, intros).
pub(crate) const QUICK_KILLS: (&str, usize) = ("q", 20);
pub(crate) const QUICK_OUTAGES: (&str, usize) = ("o", 16);

/// The user names the stack needs for these tests (scripts/test lists the
/// same).
pub(crate) fn all_users() -> String {
    let mut users = vec!["bot".to_owned(), "connector".into(), "alice".into(), "bob".into(), "carol".into()];
    for n in 1..=SETS {
        for who in ["bot", "connector", "alice", "bob"] {
            users.push(format!("{who}{n}"));
        }
    }
    for (prefix, intros) in [QUICK_KILLS, QUICK_OUTAGES] {
        users.push(format!("{prefix}bot"));
        users.push(format!("{prefix}conn"));
        for i in 0..intros {
            users.push(format!("{prefix}r{i}"));
            users.push(format!("{prefix}t{i}"));
        }
    }
    users.join(" ")
}

pub(crate) struct Stack {
    pub(crate) dir: PathBuf,
    pub(crate) host: String,
    pub(crate) imap_port: u16,
    pub(crate) mx_port: u16,
    pub(crate) submission_port: u16,
    pub(crate) password: String,
}

pub(crate) fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

/// The running stack: from the environment `scripts/test` exports, or
/// started here (needs root and apt the first time).
pub(crate) fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = match std::env::var("MAILSTACK_DIR") {
            Ok(d) => PathBuf::from(d),
            Err(_) => {
                let dir = PathBuf::from("/tmp/introbot-mailstack");
                let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack/start.sh");
                let out = std::process::Command::new("bash")
                    .arg(&script)
                    .arg(&dir)
                    .env("MAILSTACK_USERS", all_users())
                    .stdin(Stdio::null())
                    .output()
                    .expect("bash runs");
                assert!(
                    out.status.success(),
                    "could not start the mail stack: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                dir
            }
        };
        let port = |k: &str, d: &str| env_or(k, d).parse().expect("a port number");
        Stack {
            host: env_or("MAILSTACK_HOST", "127.0.0.1"),
            imap_port: port("MAILSTACK_IMAP_PORT", "3143"),
            mx_port: port("MAILSTACK_SMTP_PORT", "2525"),
            submission_port: port("MAILSTACK_SUBMISSION_PORT", "2587"),
            password: env_or("MAILSTACK_PASSWORD", "secret"),
            dir,
        }
    })
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// One test's accounts.
pub(crate) struct Accounts {
    pub(crate) n: u32,
}

impl Accounts {
    pub(crate) fn addr(&self, who: &str) -> String {
        format!("{who}{}@example.test", self.n)
    }
}

/// The daemon under test, killed when dropped.
pub(crate) struct Bot {
    pub(crate) child: Child,
    pub(crate) dir: tempfile::TempDir,
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn config(acc: &Accounts, timing: &str) -> String {
    config_with(acc, timing, true, Some("5s"))
}

/// The daemon's config for one account set; `poll` `None` keeps the default.
pub(crate) fn config_with(acc: &Accounts, timing: &str, idle: bool, poll: Option<&str>) -> String {
    config_for(&acc.addr("bot"), &acc.addr("connector"), timing, idle, poll)
}

/// The daemon's config for a bot address and its one connector, against
/// the stack; `timing` goes into `[timing]`.
pub(crate) fn config_for(bot: &str, connector: &str, timing: &str, idle: bool, poll: Option<&str>) -> String {
    let s = stack();
    let poll = poll.map(|p| format!("poll_interval = \"{p}\"\n")).unwrap_or_default();
    format!(
        "[bot]\naddress = \"{bot}\"\nname = \"Intro Bot\"\ndata_dir = \"state\"\n[connectors]\nallow = [\"{connector}\"]\n\
         [imap]\nhost = \"{host}\"\nport = {imap}\nsecurity = \"plain\"\nusername = \"{bot}\"\npassword_env = \"MAILSTACK_PASSWORD\"\nidle = {idle}\n{poll}\
         [smtp]\nhost = \"{host}\"\nport = {sub}\nsecurity = \"plain\"\nusername = \"{bot}\"\npassword_env = \"MAILSTACK_PASSWORD\"\n\
         [timing]\nbackoff_max = \"2s\"\n{timing}\n",
        host = s.host,
        imap = s.imap_port,
        sub = s.submission_port,
    )
}

/// Tests that stop or start a server hold this for writing; the others for
/// reading, so no test sees a server vanish under it unless it asked.
pub(crate) fn servers() -> &'static std::sync::RwLock<()> {
    static LOCK: std::sync::RwLock<()> = std::sync::RwLock::new(());
    &LOCK
}

pub(crate) fn start_bot(acc: &Accounts, timing: &str) -> Bot {
    start_bot_with(acc, timing, true, Some("5s"))
}

/// Starts the daemon with IDLE on or off and a poll interval.
pub(crate) fn start_bot_with(acc: &Accounts, timing: &str, idle: bool, poll: Option<&str>) -> Bot {
    let filter = std::env::var("INTROBOT_TEST_LOG").unwrap_or_else(|_| "introbot=debug".into());
    spawn_bot(acc, &config_with(acc, timing, idle, poll), &filter)
}

/// Starts the daemon with its log filtered by `filter` (`RUST_LOG`).
pub(crate) fn start_bot_logging(acc: &Accounts, filter: &str) -> Bot {
    spawn_bot(acc, &config(acc, ""), filter)
}

fn spawn_bot(acc: &Accounts, config: &str, filter: &str) -> Bot {
    // A daemon left over from an aborted earlier run would steal this set's
    // mail: end it first.
    let pidfile = stack().dir.join(format!("test-bot{}.pid", acc.n));
    if let Ok(pid) = std::fs::read_to_string(&pidfile) {
        let _ = std::process::Command::new("kill").arg(pid.trim()).stderr(std::process::Stdio::null()).status();
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("introbot.toml"), config).expect("config");
    let log = std::fs::File::create(dir.path().join("introbot.log")).expect("log file");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_introbot"))
        .args(["run", "--config", "introbot.toml"])
        .current_dir(dir.path())
        .env("MAILSTACK_PASSWORD", &stack().password)
        .env("RUST_LOG", filter)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("introbot starts");
    std::fs::write(&pidfile, child.id().to_string()).expect("pidfile");
    Bot { child, dir }
}

impl Bot {
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("introbot.log")).unwrap_or_default()
    }

    /// Waits until the log holds `needle` at least `n` times (or the
    /// timeout); returns how many times it does.
    pub(crate) fn wait_log(&self, needle: &str, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.log().matches(needle).count();
            if found >= n || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs an `introbot` command against the running daemon (through its
    /// control socket) and returns its stdout; panics when it fails.
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_introbot"))
            .args(args)
            .args(["--config", "introbot.toml"])
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .output()
            .expect("introbot runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Returns once the daemon is between cycles: it serves control
    /// requests only then, so a cycle under way when this is called has
    /// finished, its emails sent, when this returns.
    pub(crate) fn settled(&self) {
        self.cli(&["list", "--json"]);
    }

    /// The one intro, as `introbot show --json` prints it (with every email
    /// the daemon queued for it).
    pub(crate) fn intro(&self) -> serde_json::Value {
        let list = self.cli(&["list", "--json"]);
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 1, "one intro: {list}");
        let intro: serde_json::Value = serde_json::from_str(lines[0]).expect("json");
        let id = intro["id"].as_str().expect("an id").to_owned();
        serde_json::from_str(self.cli(&["show", &id, "--json"]).trim()).expect("json")
    }
}

/// The kinds of the emails queued for an intro (from [`Bot::intro`]), to
/// recipients containing `to` (all when empty), in order.
pub(crate) fn kinds_to(intro: &serde_json::Value, to: &str) -> Vec<String> {
    intro["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .filter(|e| e["to"].as_array().is_some_and(|r| r.iter().any(|a| a.as_str().is_some_and(|a| a.contains(to)))))
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits until Postfix has delivered everything it accepted (its queue is
/// empty), or the timeout.
pub(crate) fn postfix_settled(timeout: Duration) -> bool {
    let conf = stack().dir.join("postfix");
    let deadline = Instant::now() + timeout;
    loop {
        let out = std::process::Command::new("postqueue")
            .args(["-c", conf.to_str().expect("utf-8"), "-j"])
            .output()
            .expect("postqueue runs");
        if out.status.success() && out.stdout.iter().all(u8::is_ascii_whitespace) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Empties the test's mailboxes, so a rerun starts clean.
pub(crate) fn reset(acc: &Accounts) {
    let s = stack();
    let conf = s.dir.join("dovecot/dovecot.conf");
    for who in ["bot", "connector", "alice", "bob"] {
        let user = acc.addr(who);
        let out = std::process::Command::new("doveadm")
            .args(["-c", conf.to_str().expect("utf-8"), "expunge", "-u", &user, "mailbox", "*", "all"])
            .output()
            .expect("doveadm runs");
        assert!(out.status.success(), "doveadm expunge for {user}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Sends a raw message as a person, through the stack's MX port.
pub(crate) fn send_raw(from: &str, to: &str, raw: &str) {
    runtime().block_on(send(from, to, raw));
}

/// Sends a raw message as a person, from async code.
pub(crate) async fn send(from: &str, to: &str, raw: &str) {
    let s = stack();
    let envelope = Envelope::new(Some(from.parse().expect("from")), vec![to.parse().expect("to")]).expect("envelope");
    // Built inside the runtime: lettre's connection pool spawns a task.
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone()).port(s.mx_port).build();
    transport.send_raw(&envelope, raw.as_bytes()).await.expect("the MX accepts");
}

/// A message in a person's inbox.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) from: String,
    pub(crate) to: Vec<String>,
    pub(crate) cc: Vec<String>,
    pub(crate) reply_to: Vec<String>,
    pub(crate) subject: String,
    pub(crate) message_id: String,
    pub(crate) text: String,
    pub(crate) raw: String,
}

/// Every message in a user's `folder`, fetched with the IMAP `items` (an
/// empty folder is an empty list, not a FETCH error).
pub(crate) async fn fetch_folder(
    user: &str,
    folder: &str,
    items: &str,
) -> Result<Vec<async_imap::types::Fetch>, String> {
    let s = stack();
    let tcp = tokio::net::TcpStream::connect((s.host.as_str(), s.imap_port)).await.map_err(|e| e.to_string())?;
    let mut client = async_imap::Client::new(MailStream::Plain(tcp));
    client.read_response().await.map_err(|e| e.to_string())?;
    let mut session = client.login(user, &s.password).await.map_err(|(e, _)| e.to_string())?;
    let mailbox = session.select(folder).await.map_err(|e| e.to_string())?;
    if mailbox.exists == 0 {
        let _ = session.logout().await;
        return Ok(Vec::new());
    }
    let fetches =
        session.fetch("1:*", items).await.map_err(|e| e.to_string())?.try_collect().await.map_err(|e| e.to_string())?;
    let _ = session.logout().await;
    Ok(fetches)
}

pub(crate) async fn fetch_inbox(user: &str) -> Result<Vec<Received>, String> {
    let fetches = fetch_folder(user, "INBOX", "(BODY.PEEK[])").await?;
    let addrs = |a: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        a.map(|a| a.iter().filter_map(|x| x.address().map(str::to_owned)).collect()).unwrap_or_default()
    };
    Ok(fetches
        .iter()
        .filter_map(|f| f.body())
        .filter_map(|raw| {
            let msg = mail_parser::MessageParser::default().parse(raw)?;
            Some(Received {
                from: addrs(msg.from()).join(","),
                to: addrs(msg.to()),
                cc: addrs(msg.cc()),
                reply_to: addrs(msg.reply_to()),
                subject: msg.subject().unwrap_or_default().to_owned(),
                message_id: msg.message_id().unwrap_or_default().to_owned(),
                text: msg.body_text(0).unwrap_or_default().into_owned(),
                raw: String::from_utf8_lossy(raw).into_owned(),
            })
        })
        .collect())
}

/// A person's inbox once it holds at least `n` messages (or the timeout).
pub(crate) fn inbox(user: &str, n: usize, timeout: Duration) -> Vec<Received> {
    let rt = runtime();
    let deadline = Instant::now() + timeout;
    loop {
        // The server may be restarting: keep trying until the deadline.
        let got = rt.block_on(fetch_inbox(user)).unwrap_or_default();
        if got.len() >= n || Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub(crate) fn request(acc: &Accounts, id: &str) -> String {
    format!(
        "From: Connie Connector <{c}>\r\nTo: Intro Bot <{bot}>\r\nSubject: Fwd: Intro: Alice Able <> Bob Busy\r\nMessage-ID: <{id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nBob is great: Bob Busy <{bob}>\r\n\r\n---------- Forwarded message ---------\r\n\
         From: Alice Able <{alice}>\r\nSubject: Intro: Alice Able <> Bob Busy\r\nTo: {c}\r\n\r\nHi! I'd love 20 minutes with Bob about IMAP.\r\n",
        c = acc.addr("connector"),
        bot = acc.addr("bot"),
        bob = acc.addr("bob"),
        alice = acc.addr("alice"),
    )
}

/// A person answers a message they received, the way a mail client does.
pub(crate) fn answer(from: &str, to_msg: &Received, id: &str, text: &str) {
    let to = to_msg.reply_to.first().cloned().unwrap_or_else(|| to_msg.from.clone());
    let raw = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: {subject}\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\nOn Mon, 30 Nov 2026 at 09:00, Intro Bot <{to}> wrote:\r\n> {quoted}\r\n",
        subject = to_msg.subject,
        parent = to_msg.message_id,
        quoted = to_msg.text.lines().next().unwrap_or_default(),
    );
    send_raw(from, &to, &raw);
}
