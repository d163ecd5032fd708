//! End to end through a real mail stack (Dovecot + Postfix on loopback,
//! `scripts/mailstack/`): the real `introbot run` daemon logs in over IMAP
//! and sends over SMTP submission; the tests act as the people, sending
//! over SMTP and reading their own inboxes over IMAP.
//!
//! Each test has its own set of accounts (`bot3`, `connector3`, `alice3`,
//! `bob3`), so tests run in parallel; the two that restart a server take a
//! write lock the others share as readers.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use introbot::source::imap::MailStream;
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::*;

/// Test sets; scripts/test creates the same accounts as `all_users`.
const SETS: u32 = 8;

/// The user names the stack needs for these tests.
fn all_users() -> String {
    let mut users = vec!["bot".to_owned(), "connector".into(), "alice".into(), "bob".into(), "carol".into()];
    for n in 1..=SETS {
        for who in ["bot", "connector", "alice", "bob"] {
            users.push(format!("{who}{n}"));
        }
    }
    users.join(" ")
}

struct Stack {
    dir: PathBuf,
    host: String,
    imap_port: u16,
    mx_port: u16,
    submission_port: u16,
    password: String,
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

/// The running stack: from the environment `scripts/test` exports, or
/// started here (needs root and apt the first time).
fn stack() -> &'static Stack {
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

/// Tests that restart a server hold this for writing; the others for reading.
fn servers() -> &'static RwLock<()> {
    static LOCK: RwLock<()> = RwLock::new(());
    &LOCK
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// One test's accounts.
struct Accounts {
    n: u32,
}

impl Accounts {
    fn addr(&self, who: &str) -> String {
        format!("{who}{}@example.test", self.n)
    }
}

/// The daemon under test, killed when dropped.
struct Bot {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(acc: &Accounts, timing: &str) -> String {
    let s = stack();
    format!(
        "[bot]\naddress = \"{bot}\"\nname = \"Intro Bot\"\ndata_dir = \"state\"\n[connectors]\nallow = [\"{connector}\"]\n\
         [imap]\nhost = \"{host}\"\nport = {imap}\nsecurity = \"plain\"\nusername = \"{bot}\"\npassword_env = \"MAILSTACK_PASSWORD\"\nidle = true\npoll_interval = \"5s\"\n\
         [smtp]\nhost = \"{host}\"\nport = {sub}\nsecurity = \"plain\"\nusername = \"{bot}\"\npassword_env = \"MAILSTACK_PASSWORD\"\n\
         [timing]\nbackoff_max = \"2s\"\n{timing}\n",
        bot = acc.addr("bot"),
        connector = acc.addr("connector"),
        host = s.host,
        imap = s.imap_port,
        sub = s.submission_port,
    )
}

fn start_bot(acc: &Accounts, timing: &str) -> Bot {
    // A daemon left over from an aborted earlier run would steal this set's
    // mail: end it first.
    let pidfile = stack().dir.join(format!("test-bot{}.pid", acc.n));
    if let Ok(pid) = std::fs::read_to_string(&pidfile) {
        let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("introbot.toml"), config(acc, timing)).expect("config");
    let log = std::fs::File::create(dir.path().join("introbot.log")).expect("log file");
    let child = introbot()
        .args(["run", "--config", "introbot.toml"])
        .current_dir(dir.path())
        .env("MAILSTACK_PASSWORD", &stack().password)
        .env("RUST_LOG", "introbot=debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("introbot starts");
    std::fs::write(&pidfile, child.id().to_string()).expect("pidfile");
    Bot { child, dir }
}

impl Bot {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("introbot.log")).unwrap_or_default()
    }
}

/// Empties the test's mailboxes, so a rerun starts clean.
fn reset(acc: &Accounts) {
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
fn send_raw(from: &str, to: &str, raw: &str) {
    let s = stack();
    let envelope = Envelope::new(Some(from.parse().expect("from")), vec![to.parse().expect("to")]).expect("envelope");
    runtime()
        .block_on(async {
            // Built inside the runtime: lettre's connection pool spawns a task.
            let transport =
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone()).port(s.mx_port).build();
            transport.send_raw(&envelope, raw.as_bytes()).await
        })
        .expect("the MX accepts");
}

/// A message in a person's inbox.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    cc: Vec<String>,
    reply_to: Vec<String>,
    subject: String,
    message_id: String,
    text: String,
    raw: String,
}

async fn fetch_inbox(user: &str) -> Result<Vec<Received>, String> {
    let s = stack();
    let tcp = tokio::net::TcpStream::connect((s.host.as_str(), s.imap_port)).await.map_err(|e| e.to_string())?;
    let mut client = async_imap::Client::new(MailStream::Plain(tcp));
    client.read_response().await.map_err(|e| e.to_string())?;
    let mut session = client.login(user, &s.password).await.map_err(|(e, _)| e.to_string())?;
    session.select("INBOX").await.map_err(|e| e.to_string())?;
    let fetches: Vec<async_imap::types::Fetch> = session
        .fetch("1:*", "(BODY.PEEK[])")
        .await
        .map_err(|e| e.to_string())?
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    let _ = session.logout().await;
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
fn inbox(user: &str, n: usize, timeout: Duration) -> Vec<Received> {
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

fn request(acc: &Accounts, id: &str) -> String {
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
fn answer(from: &str, to_msg: &Received, id: &str, text: &str) {
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

const WAIT: Duration = Duration::from_secs(30);

fn only_to(m: &Received, addr: &str) {
    assert_eq!(m.to, [addr], "{} must go to {addr} alone", m.subject);
    assert!(m.cc.is_empty(), "{} has a Cc", m.subject);
}

#[test]
fn happy_path_through_real_imap_and_smtp() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 1 };
    reset(&acc);
    let bot = start_bot(&acc, "");
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &request(&acc, "req-1@example.test"));

    let connector = inbox(&acc.addr("connector"), 1, WAIT);
    assert_eq!(connector.len(), 1, "the connector's acknowledgement\n{}", bot.log());
    assert!(connector[0].subject.ends_with("on it"), "{}", connector[0].subject);

    let alice = inbox(&acc.addr("alice"), 1, WAIT);
    let bob = inbox(&acc.addr("bob"), 1, WAIT);
    assert_eq!((alice.len(), bob.len()), (1, 1), "one consent note each\n{}", bot.log());
    only_to(&alice[0], &acc.addr("alice"));
    only_to(&bob[0], &acc.addr("bob"));
    for (m, other) in [(&alice[0], acc.addr("bob")), (&bob[0], acc.addr("alice"))] {
        assert!(!m.raw.contains(other.as_str()), "a consent note shows the other party's address:\n{}", m.raw);
        let reply_to = m.reply_to.first().expect("a reply address");
        assert!(reply_to.starts_with(&format!("bot{}+", acc.n)), "tokenized Reply-To: {reply_to}");
        assert!(m.raw.contains("Auto-Submitted: auto-generated"));
    }

    answer(&acc.addr("alice"), &alice[0], "alice-yes@example.test", "Yes please!");
    answer(&acc.addr("bob"), &bob[0], "bob-yes@example.test", "Sure, happy to.");

    let alice = inbox(&acc.addr("alice"), 2, WAIT);
    let bob = inbox(&acc.addr("bob"), 2, WAIT);
    assert_eq!((alice.len(), bob.len()), (2, 2), "one introduction each\n{}", bot.log());
    let intro = &alice[1];
    assert_eq!(intro.subject, "Alice Able <> Bob Busy");
    assert_eq!(intro.to, [acc.addr("alice"), acc.addr("bob")]);
    assert_eq!(intro.reply_to, [acc.addr("alice"), acc.addr("bob")], "replies go to the two of them");
    assert!(!intro.raw.contains("Auto-Submitted"));
    assert_eq!(bob[1].message_id, intro.message_id, "one introduction, to both");

    let connector = inbox(&acc.addr("connector"), 2, WAIT);
    assert_eq!(connector.len(), 2, "the connector is told\n{}", bot.log());
    assert!(connector[1].subject.ends_with("introduced"), "{}", connector[1].subject);

    // Handled mail is filed out of the bot's inbox.
    let left = inbox(&acc.addr("bot"), 0, Duration::ZERO);
    assert!(left.is_empty(), "the bot's INBOX still holds {} messages", left.len());
}

#[test]
fn a_no_is_thanked_the_other_released_and_nobody_introduced() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 2 };
    reset(&acc);
    let bot = start_bot(&acc, "");
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &request(&acc, "req-2@example.test"));
    let alice = inbox(&acc.addr("alice"), 1, WAIT);
    let bob = inbox(&acc.addr("bob"), 1, WAIT);
    assert_eq!((alice.len(), bob.len()), (1, 1), "{}", bot.log());
    answer(&acc.addr("bob"), &bob[0], "bob-no@example.test", "Thanks, but I'll pass.");

    let bob = inbox(&acc.addr("bob"), 2, WAIT);
    assert_eq!(bob.len(), 2, "{}", bot.log());
    assert!(bob[1].text.contains("Thanks for letting me know"), "{}", bob[1].text);
    let alice = inbox(&acc.addr("alice"), 2, WAIT);
    assert_eq!(alice.len(), 2, "{}", bot.log());
    assert!(alice[1].text.contains("nothing more you need to do"), "{}", alice[1].text);
    let connector = inbox(&acc.addr("connector"), 2, WAIT);
    assert!(connector[1].subject.ends_with("declined"), "{}", connector[1].subject);
    // Nothing else arrives: no introduction, no second note.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(inbox(&acc.addr("alice"), 0, Duration::ZERO).len(), 2);
    assert_eq!(inbox(&acc.addr("bob"), 0, Duration::ZERO).len(), 2);
}

#[test]
fn silence_gets_one_follow_up_then_expires() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 3 };
    reset(&acc);
    let bot = start_bot(&acc, "follow_up_after = \"3s\"\nexpire_after = \"3s\"");
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &request(&acc, "req-3@example.test"));
    let alice = inbox(&acc.addr("alice"), 1, WAIT);
    assert_eq!(alice.len(), 1, "{}", bot.log());
    answer(&acc.addr("alice"), &alice[0], "alice-yes3@example.test", "Yes!");

    let bob = inbox(&acc.addr("bob"), 2, WAIT);
    assert_eq!(bob.len(), 2, "consent note and one follow-up\n{}", bot.log());
    assert!(bob[1].subject.starts_with("Re: "), "{}", bob[1].subject);
    assert!(bob[1].raw.contains(&format!("In-Reply-To: <{}>", bob[0].message_id)), "threaded");

    let connector = inbox(&acc.addr("connector"), 2, WAIT);
    assert_eq!(connector.len(), 2, "{}", bot.log());
    assert!(connector[1].subject.ends_with("no answer"), "{}", connector[1].subject);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(inbox(&acc.addr("bob"), 0, Duration::ZERO).len(), 2, "never a second follow-up, nothing after silence");
}

#[test]
fn the_same_request_and_reply_twice_change_nothing_the_second_time() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 6 };
    reset(&acc);
    let bot = start_bot(&acc, "");
    let req = request(&acc, "req-6@example.test");
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &req);
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &req);
    let alice = inbox(&acc.addr("alice"), 1, WAIT);
    let bob = inbox(&acc.addr("bob"), 1, WAIT);
    answer(&acc.addr("alice"), &alice[0], "alice-yes6@example.test", "yes");
    answer(&acc.addr("alice"), &alice[0], "alice-yes6@example.test", "yes");
    answer(&acc.addr("bob"), &bob[0], "bob-yes6@example.test", "yes");
    answer(&acc.addr("bob"), &bob[0], "bob-yes6@example.test", "yes");
    let alice = inbox(&acc.addr("alice"), 2, WAIT);
    assert_eq!(alice.len(), 2, "{}", bot.log());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(inbox(&acc.addr("alice"), 0, Duration::ZERO).len(), 2, "one consent note, one introduction");
    assert_eq!(inbox(&acc.addr("bob"), 0, Duration::ZERO).len(), 2);
    assert_eq!(inbox(&acc.addr("connector"), 0, Duration::ZERO).len(), 2, "one acknowledgement, one outcome");
}

fn mailstack_script(args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack/stop.sh");
    let out = std::process::Command::new("bash").arg(script).args(args).output().expect("bash runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn start_daemon(cmd: &str, args: &[&str]) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(out.is_ok_and(|s| s.success()), "{cmd} {args:?} failed to start");
}

#[test]
fn the_daemon_reconnects_after_the_imap_server_restarts() {
    let _exclusive = servers().write().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 4 };
    reset(&acc);
    let bot = start_bot(&acc, "");
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &request(&acc, "req-4@example.test"));
    let alice = inbox(&acc.addr("alice"), 1, WAIT);
    let bob = inbox(&acc.addr("bob"), 1, WAIT);
    assert_eq!((alice.len(), bob.len()), (1, 1), "{}", bot.log());

    let dir = stack().dir.to_str().expect("utf-8").to_owned();
    mailstack_script(&[&dir, "dovecot"]);
    // While Dovecot is down, the replies queue in Postfix.
    answer(&acc.addr("alice"), &alice[0], "alice-yes4@example.test", "Yes please");
    answer(&acc.addr("bob"), &bob[0], "bob-yes4@example.test", "Yes");
    std::thread::sleep(Duration::from_secs(2));
    start_daemon("dovecot", &["-c", &format!("{dir}/dovecot/dovecot.conf")]);

    let alice = inbox(&acc.addr("alice"), 2, Duration::from_secs(60));
    let bob = inbox(&acc.addr("bob"), 2, Duration::from_secs(60));
    assert_eq!((alice.len(), bob.len()), (2, 2), "introduced after the restart\n{}", bot.log());
    assert_eq!(alice[1].subject, "Alice Able <> Bob Busy");
    assert!(bot.log().contains("reconnecting"), "the daemon noticed and reconnected\n{}", bot.log());
}

#[test]
fn emails_wait_in_the_outbox_while_smtp_is_down_and_go_out_once() {
    let _exclusive = servers().write().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 5 };
    reset(&acc);
    let dir = stack().dir.to_str().expect("utf-8").to_owned();
    mailstack_script(&[&dir, "postfix"]);
    let bot = start_bot(&acc, "");
    // Postfix is down, so the request arrives the other way: straight into
    // the bot's mailbox over IMAP APPEND, as if delivered earlier.
    let raw = request(&acc, "req-5@example.test");
    runtime()
        .block_on(async {
            let s = stack();
            let tcp =
                tokio::net::TcpStream::connect((s.host.as_str(), s.imap_port)).await.map_err(|e| e.to_string())?;
            let mut client = async_imap::Client::new(MailStream::Plain(tcp));
            client.read_response().await.map_err(|e| e.to_string())?;
            let mut session = client.login(acc.addr("bot"), &s.password).await.map_err(|(e, _)| e.to_string())?;
            session.append("INBOX", None, None, raw.as_bytes()).await.map_err(|e| e.to_string())?;
            session.logout().await.map_err(|e| e.to_string())
        })
        .expect("append the request");
    // The bot handles it and fails to send for a while.
    let deadline = Instant::now() + WAIT;
    while !bot.log().contains("send failed; will retry") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(bot.log().contains("send failed; will retry"), "{}", bot.log());
    std::thread::sleep(Duration::from_secs(3));
    let pf = format!("{dir}/postfix");
    start_daemon("postfix", &["-c", &pf, "start"]);

    let connector = inbox(&acc.addr("connector"), 1, Duration::from_secs(60));
    let alice = inbox(&acc.addr("alice"), 1, Duration::from_secs(60));
    let bob = inbox(&acc.addr("bob"), 1, Duration::from_secs(60));
    assert_eq!((connector.len(), alice.len(), bob.len()), (1, 1, 1), "sent after SMTP came back\n{}", bot.log());
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(inbox(&acc.addr("alice"), 0, Duration::ZERO).len(), 1, "sent once");
    assert_eq!(inbox(&acc.addr("bob"), 0, Duration::ZERO).len(), 1, "sent once");
    assert_eq!(inbox(&acc.addr("connector"), 0, Duration::ZERO).len(), 1, "sent once");
}

#[test]
fn wrong_credentials_stop_the_daemon_with_a_clear_message() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 7 };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("introbot.toml"), config(&acc, "")).expect("config");
    let out = introbot()
        .args(["run", "--config", "introbot.toml"])
        .current_dir(dir.path())
        .env("MAILSTACK_PASSWORD", "not-the-password")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("refused the login for bot7@example.test") && err.contains("3143"), "{err}");
}
