//! End to end through a real mail stack (Dovecot + Postfix on loopback,
//! `scripts/mailstack/`): the real `introbot run` daemon logs in over IMAP
//! and sends over SMTP submission; the tests act as the people, sending
//! over SMTP and reading their own inboxes over IMAP.
//!
//! Each test has its own set of accounts (`bot3`, `connector3`, `alice3`,
//! `bob3`), so tests run in parallel; the two that restart a server take a
//! write lock the others share as readers.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use introbot::MailStream;

use super::mailstack::*;
use super::*;

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

/// Nothing at info level names a party or quotes their words: a whole
/// intro, request to introduction, with the daemon logging at info.
#[test]
fn info_logs_never_show_the_parties_addresses_or_words() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 8 };
    reset(&acc);
    let bot = start_bot_logging(&acc, "info");
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &request(&acc, "req-8@example.test"));
    let alice = inbox(&acc.addr("alice"), 1, WAIT);
    let bob = inbox(&acc.addr("bob"), 1, WAIT);
    assert_eq!((alice.len(), bob.len()), (1, 1), "{}", bot.log());
    answer(&acc.addr("alice"), &alice[0], "alice-yes8@example.test", "Yes please, Alice here!");
    answer(&acc.addr("bob"), &bob[0], "bob-yes8@example.test", "Sure, happy to.");
    let connector = inbox(&acc.addr("connector"), 2, WAIT);
    assert_eq!(connector.len(), 2, "acknowledged and introduced\n{}", bot.log());
    bot.settled();
    let log = bot.log();
    for event in ["introbot started", "imap connected", "handled", "intro opened", "queued"] {
        assert!(log.contains(event), "the info log has {event:?}:\n{log}");
    }
    let lower = log.to_lowercase();
    for who in ["connector", "alice", "bob"] {
        let address = acc.addr(who);
        assert!(!lower.contains(&address.to_lowercase()), "{address} in the info log:\n{log}");
    }
    for words in ["20 minutes with Bob", "Alice here", "happy to"] {
        assert!(!log.contains(words), "a mail's words ({words:?}) in the info log:\n{log}");
    }
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
    // Nothing else will ever arrive: the intro is closed with no timer, and
    // the daemon queued no introduction and no second note.
    let intro = bot.intro();
    assert_eq!((intro["state"].as_str(), intro["next_deadline"].is_null()), (Some("declined"), true), "{intro}");
    assert_eq!(kinds_to(&intro, &acc.addr("alice")), ["consent_request", "nothing_needed"]);
    assert_eq!(kinds_to(&intro, &acc.addr("bob")), ["consent_request", "thank_you"]);
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
    assert!(connector[1].subject.ends_with("no answer from Bob"), "{}", connector[1].subject);
    // Expired with no timer left: never a second follow-up, nothing after silence.
    let intro = bot.intro();
    assert_eq!((intro["state"].as_str(), intro["next_deadline"].is_null()), (Some("expired"), true), "{intro}");
    assert_eq!(kinds_to(&intro, &acc.addr("bob")), ["consent_request", "follow_up"]);
    assert_eq!(kinds_to(&intro, &acc.addr("alice")), ["consent_request", "nothing_needed"], "a yes gets no follow-up");
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
    // The daemon saw every second copy (the request and both answers) and
    // acted on none of them.
    assert_eq!(bot.wait_log("seen before", 3, WAIT), 3, "{}", bot.log());
    let intro = bot.intro();
    assert_eq!(intro["state"], "introduced");
    let kinds = kinds_to(&intro, "");
    assert_eq!(kinds, ["acknowledgement", "consent_request", "consent_request", "introduction", "outcome"]);
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
    // While Dovecot is down, the replies queue in Postfix, and the daemon
    // notices it lost the server.
    answer(&acc.addr("alice"), &alice[0], "alice-yes4@example.test", "Yes please");
    answer(&acc.addr("bob"), &bob[0], "bob-yes4@example.test", "Yes");
    assert!(bot.wait_log("reconnecting", 1, WAIT) > 0, "the daemon noticed\n{}", bot.log());
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
    // A retry fails too while Postfix is down: each cycle tries one email
    // (first the acknowledgement, then a consent note), so a third failure
    // is a second attempt.
    assert!(bot.wait_log("send failed; will retry", 3, WAIT) >= 3, "{}", bot.log());
    let pf = format!("{dir}/postfix");
    start_daemon("postfix", &["-c", &pf, "start"]);

    let connector = inbox(&acc.addr("connector"), 1, Duration::from_secs(60));
    let alice = inbox(&acc.addr("alice"), 1, Duration::from_secs(60));
    let bob = inbox(&acc.addr("bob"), 1, Duration::from_secs(60));
    assert_eq!((connector.len(), alice.len(), bob.len()), (1, 1, 1), "sent after SMTP came back\n{}", bot.log());
    // Everything the daemon submitted has been delivered: what is in the
    // inboxes now is all there is.
    bot.settled();
    assert!(postfix_settled(WAIT), "postfix delivered everything");
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
    let port = stack().imap_port.to_string();
    assert!(err.contains("refused the login for bot7@example.test") && err.contains(&port), "{err}");
}

#[test]
fn polling_without_idle_finds_new_mail() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 7 };
    reset(&acc);
    let bot = start_bot_with(&acc, "", false, Some("1s"));
    // Let the first (empty) poll pass, so the request is found by a later one.
    assert!(bot.wait_log("imap connected", 1, WAIT) > 0, "{}", bot.log());
    bot.settled();
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &request(&acc, "req-7@example.test"));
    let alice = inbox(&acc.addr("alice"), 1, Duration::from_secs(10));
    assert_eq!(alice.len(), 1, "found within a few polls\n{}", bot.log());
}

#[test]
fn connector_commands_by_email_and_nobody_else_may_give_them() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 9 };
    reset(&acc);
    let bot = start_bot(&acc, "");
    let (connector, alice, bob) = (acc.addr("connector"), acc.addr("alice"), acc.addr("bob"));
    send_raw(&connector, &acc.addr("bot"), &request(&acc, "req-9@example.test"));
    let ack = inbox(&connector, 1, WAIT);
    assert_eq!(ack.len(), 1, "{}", bot.log());
    let to_bot = |from: &str, subject: &str, body: &str, id: &str| {
        format!("From: {from}\r\nTo: {}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n", acc.addr("bot"))
    };

    // status, written fresh to the bot.
    send_raw(&connector, &acc.addr("bot"), &to_bot(&connector, "status", "", "status-9@example.test"));
    let mail = inbox(&connector, 2, WAIT);
    assert_eq!(mail.len(), 2, "{}", bot.log());
    assert!(
        mail[1].subject == "Your open intros" && mail[1].text.contains("Alice Able <> Bob Busy"),
        "{}",
        mail[1].text
    );

    // Bob tries to cancel through the connector's reply address: no effect, no answer.
    answer(&bob, &ack[0], "bob-cancel-9@example.test", "cancel");
    // Alice's answer is unclear; the connector hears of it and says yes for her.
    let alice_mail = inbox(&alice, 1, WAIT);
    answer(&alice, &alice_mail[0], "alice-9@example.test", "Who is Bob, and why?");
    let mail = inbox(&connector, 3, WAIT);
    assert_eq!(mail.len(), 3, "{}", bot.log());
    assert!(mail[2].subject.ends_with("is Alice's reply a yes?"), "{}", mail[2].subject);
    answer(&connector, &mail[2], "connector-yes-9@example.test", "Yes");
    let mail = inbox(&connector, 4, WAIT);
    assert_eq!(mail.len(), 4, "{}", bot.log());
    assert!(mail[3].text.contains("Noted: I'll take Alice Able's reply as a yes"), "{}", mail[3].text);

    // cancel, as a reply to the acknowledgement.
    answer(&connector, &ack[0], "connector-cancel-9@example.test", "cancel");
    let mail = inbox(&connector, 5, WAIT);
    assert_eq!(mail.len(), 5, "{}", bot.log());
    assert!(mail[4].subject.ends_with("cancelled"), "{}", mail[4].subject);
    let bob_mail = inbox(&bob, 2, WAIT);
    assert!(bob_mail.len() == 2 && bob_mail[1].text.contains("nothing more you need to do"), "{bob_mail:?}");
    assert!(bot.log().contains("connector token from someone else"), "Bob's cancel was refused\n{}", bot.log());
    // Bob got nothing about his attempt, and no introduction happened: the
    // intro is closed, and all the daemon ever queued for him is this.
    let intro = bot.intro();
    assert_eq!((intro["state"].as_str(), intro["next_deadline"].is_null()), (Some("cancelled"), true), "{intro}");
    assert_eq!(kinds_to(&intro, &bob), ["consent_request", "nothing_needed"]);

    // help.
    send_raw(&connector, &acc.addr("bot"), &to_bot(&connector, "help", "help", "help-9@example.test"));
    let mail = inbox(&connector, 6, WAIT);
    assert_eq!(mail.len(), 6, "{}", bot.log());
    assert_eq!(mail[5].subject, "How I work");
}

#[test]
fn check_logs_in_over_tls_with_a_private_ca_and_finds_plus_addressed_mail() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 10 };
    reset(&acc);
    let s = stack();
    let ca = s.dir.join("tls/ca.pem");
    let imaps = env_or("MAILSTACK_IMAPS_PORT", "3993");
    let smtps = env_or("MAILSTACK_SMTPS_PORT", "2465");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[bot]\naddress = \"{bot}\"\ndata_dir = \"state\"\n[connectors]\nallow = [\"{c}\"]\n\
         [imap]\nhost = \"localhost\"\nport = {imaps}\nsecurity = \"tls\"\nusername = \"{bot}\"\npassword_env = \"MAILSTACK_PASSWORD\"\nca_file = \"{ca}\"\n\
         [smtp]\nhost = \"localhost\"\nport = {smtps}\nsecurity = \"tls\"\nusername = \"{bot}\"\npassword_env = \"MAILSTACK_PASSWORD\"\nca_file = \"{ca}\"\n",
        bot = acc.addr("bot"),
        c = acc.addr("connector"),
        ca = ca.display(),
    );
    std::fs::write(dir.path().join("introbot.toml"), &config).expect("config");
    let check = |password: &str| {
        introbot()
            .args(["check", "--config", "introbot.toml"])
            .current_dir(dir.path())
            .env("MAILSTACK_PASSWORD", password)
            .output()
            .expect("runs")
    };
    let out = check(&s.password);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("IDLE, MOVE, UIDPLUS"), "{text}");
    assert!(text.contains(&format!("plus-addressing: mail to bot{}+check-", acc.n)), "{text}");
    assert!(inbox(&acc.addr("bot"), 0, Duration::ZERO).is_empty(), "the probe is cleaned up");
    // Without the private CA, TLS fails, and check says so.
    std::fs::write(dir.path().join("introbot.toml"), config.replace(&format!("ca_file = \"{}\"\n", ca.display()), ""))
        .expect("config");
    let out = check(&s.password);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("FAIL cannot connect to imap localhost"), "{}", stdout(&out));
}

/// Issue 10, through the real stack: the MX writes Authentication-Results
/// as mail.example.test (scripts/mailstack: an envelope sender starting
/// with "forger" fails DMARC). A request with the connector's From from a
/// forger, carrying its own "dmarc=pass" below, starts nothing and is
/// answered nothing; the connector's real request starts the intro.
#[test]
fn a_forged_connector_is_refused_through_the_real_mail_stack() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 11 };
    reset(&acc);
    let bot = start_bot(&acc, "\n[security]\nauthserv_id = \"mail.example.test\"\n");
    let forged = format!(
        "Authentication-Results: mail.example.test; dmarc=pass header.from=example.test\r\nReceived: from laptop by evil\r\n{}",
        request(&acc, "forged-11@elsewhere.invalid")
    );
    send_raw("forger@elsewhere.invalid", &acc.addr("bot"), &forged);
    let deadline = Instant::now() + WAIT;
    while !bot.log().contains("failed sender authentication") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(bot.log().contains("dmarc=fail"), "the forgery was refused on the MX's word\n{}", bot.log());
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &request(&acc, "req-11@example.test"));
    let alice = inbox(&acc.addr("alice"), 1, WAIT);
    let bob = inbox(&acc.addr("bob"), 1, WAIT);
    assert_eq!((alice.len(), bob.len()), (1, 1), "the real request went through\n{}", bot.log());
    std::thread::sleep(Duration::from_secs(1));
    let connector = inbox(&acc.addr("connector"), 1, WAIT);
    assert_eq!(connector.len(), 1, "the acknowledgement only: nothing about the forgery");
    assert_eq!(inbox(&acc.addr("alice"), 0, Duration::ZERO).len(), 1, "one intro, not two");
}

/// Issue 10, through the real stack: the connector's auto-responder (no
/// auto-reply headers, no telltale subject) answers the bot's note each
/// time through the note's own reply address. The bot answers once an
/// hour at most: no loop.
#[test]
fn an_unmarked_auto_responder_cannot_loop_with_the_bot_through_the_real_mail_stack() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 13 };
    reset(&acc);
    let bot = start_bot(&acc, "");
    let (connector, bot_addr) = (acc.addr("connector"), acc.addr("bot"));
    // No address for Bob anywhere: the bot writes back what is missing.
    let bad = request(&acc, "req-13@example.test").replace(&format!("Bob Busy <{}>", acc.addr("bob")), "Bob");
    send_raw(&connector, &bot_addr, &bad);
    let notes = inbox(&connector, 1, WAIT);
    assert_eq!(notes.len(), 1, "{}", bot.log());
    let reply_to = notes[0].reply_to.first().cloned().unwrap_or_default();
    assert!(reply_to.starts_with(&format!("bot{}+", acc.n)), "the note has a reply address of its own: {reply_to}");
    for round in 0..3 {
        let latest = inbox(&connector, 1, Duration::ZERO).pop().expect("a note");
        answer(
            &connector,
            &latest,
            &format!("auto-{round}-13@example.test"),
            "Thanks for your email. I will get back to you on Monday.",
        );
        std::thread::sleep(Duration::from_millis(1500));
    }
    let handled = |log: &str| (0..3).filter(|r| log.contains(&format!("auto-{r}-13@example.test"))).count();
    let deadline = Instant::now() + WAIT;
    while handled(&bot.log()) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(handled(&bot.log()), 3, "the bot read all three\n{}", bot.log());
    assert_eq!(inbox(&connector, 0, Duration::ZERO).len(), 1, "no second note");
    assert!(
        inbox(&acc.addr("bob"), 0, Duration::ZERO).is_empty()
            && inbox(&acc.addr("alice"), 0, Duration::ZERO).is_empty()
    );
}

/// `[limits] max_message_size` over IMAP: the server's RFC822.SIZE says it
/// is too big, so it is filed to introbot/failed without being downloaded,
/// and the next message is handled.
#[test]
fn mail_over_max_message_size_is_filed_unread_over_imap() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 12 };
    reset(&acc);
    let bot = start_bot(&acc, "\n[limits]\nmax_message_size = \"64 KB\"\n");
    let big =
        format!("{}{}", request(&acc, "big-12@example.test"), "A line to make the summary long.\r\n".repeat(4000));
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &big);
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &request(&acc, "req-12@example.test"));
    let alice = inbox(&acc.addr("alice"), 1, WAIT);
    assert_eq!(alice.len(), 1, "the small request went through\n{}", bot.log());
    assert!(bot.log().contains("bigger than max_message_size"), "{}", bot.log());
    let conf = stack().dir.join("dovecot/dovecot.conf");
    let status = std::process::Command::new("doveadm")
        .args([
            "-c",
            conf.to_str().expect("utf-8"),
            "mailbox",
            "status",
            "-u",
            &acc.addr("bot"),
            "messages",
            "introbot/failed",
        ])
        .output()
        .expect("doveadm runs");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("messages=1"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(inbox(&acc.addr("alice"), 0, Duration::ZERO).len(), 1, "one intro");
}

/// The introduction bounces for one party through the real stack: Postfix
/// accepts it for `bounce@`, Dovecot refuses that mailbox, and Postfix mails
/// a real delivery report back to the bot's own address (no token: one
/// email went to both). The connector hears it, and Bob, whose copy
/// arrived, hears once that it didn't reach Alice; nothing is sent again.
/// (The requester's consent is implied, so the first mail to that address
/// is the introduction.)
#[test]
fn a_bounced_introduction_is_told_once_through_the_real_mail_stack() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 14 };
    let unreachable = "bounce@example.test";
    let bot = bob_says_yes_to_a_requester_at(&acc, unreachable);

    let bob = inbox(&acc.addr("bob"), 3, WAIT);
    assert_eq!(bob.len(), 3, "the introduction, then the note that it didn't reach Alice\n{}", bot.log());
    assert_eq!(bob[1].subject, "Alice Able <> Bob Busy");
    assert_eq!(bob[2].subject, "Re: Alice Able <> Bob Busy");
    assert!(bob[2].text.contains("my introduction didn't reach Alice"), "{}", bob[2].text);
    assert!(bob[2].text.contains("Connie knows"), "{}", bob[2].text);
    assert_eq!(bob[2].reply_to, [acc.addr("connector")], "an answer goes to the connector, who knows");
    let connector = inbox(&acc.addr("connector"), 3, WAIT);
    assert_eq!(connector.len(), 3, "acknowledgement, introduced, and the bounce\n{}", bot.log());
    let bounce = the_one_ending(&connector, "the introduction didn't reach Alice");
    assert!(bounce.text.contains(&format!("didn't reach Alice at {unreachable}")), "{}", bounce.text);
    assert!(bounce.text.contains("I've told Bob"), "one story: {}", bounce.text);

    // Recorded against the intro, which stays introduced, and told once.
    bot.settled();
    let intro = bot.intro();
    assert_eq!(intro["state"], "introduced", "{intro}");
    assert!(intro["timeline"].to_string().contains("the introduction bounced for the requester"), "{intro}");
    assert_eq!(kinds_to(&intro, &acc.addr("bob")), ["consent_request", "introduction", "nothing_needed"]);
    assert_eq!(kinds_to(&intro, unreachable), ["introduction"], "no retry");
    assert!(inbox(&acc.addr("bot"), 0, Duration::ZERO).is_empty(), "the report was filed away");
}

/// Postfix refuses the introduction at RCPT (`reject-permanent@`, 550 for
/// that recipient), so the whole send fails and it reaches neither party.
/// Before: dropped in silence, and the intro read as introduced. Now the
/// connector hears once, with Postfix's words and both addresses; neither
/// party is written to, and nothing is sent again. (The requester's
/// consent is implied, so the first mail to that address is the
/// introduction.)
#[test]
fn a_refused_introduction_is_told_once_through_the_real_mail_stack() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let acc = Accounts { n: 15 };
    let refused = "reject-permanent@example.test";
    let bot = bob_says_yes_to_a_requester_at(&acc, refused);

    let connector = inbox(&acc.addr("connector"), 3, WAIT);
    assert_eq!(connector.len(), 3, "acknowledgement, introduced, and the refusal\n{}", bot.log());
    let told = the_one_ending(&connector, "the introduction couldn't be sent");
    assert!(told.text.contains(&format!("because of Alice's address, {refused}")), "{}", told.text);
    assert!(
        told.text.contains(
            "5.1.1 <reject-permanent@example.test>: Recipient address rejected: mailstack test: permanent failure"
        ),
        "Postfix's words: {}",
        told.text
    );
    assert!(told.text.contains(&acc.addr("bob")), "both addresses, to introduce by hand: {}", told.text);

    bot.settled();
    let intro = bot.intro();
    assert_eq!(intro["state"], "introduced", "both said yes: {intro}");
    assert!(intro["timeline"].to_string().contains("refused the requester's address"), "{intro}");
    assert_eq!(kinds_to(&intro, &acc.addr("bob")), ["consent_request", "introduction"], "nothing after: {intro}");
    assert_eq!(kinds_to(&intro, &acc.addr("connector")), ["acknowledgement", "outcome", "outcome"], "told once");
    // Bob never got it: the send failed as a whole.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(inbox(&acc.addr("bob"), 0, Duration::ZERO).len(), 1, "only his consent note");
}

/// The one email of `mail` whose subject ends with `suffix`: Postfix
/// delivers the "introduced" note and a later note about the introduction
/// in either order, so they are found by subject, not by position.
fn the_one_ending<'a>(mail: &'a [Received], suffix: &str) -> &'a Received {
    let found: Vec<&Received> = mail.iter().filter(|m| m.subject.ends_with(suffix)).collect();
    assert_eq!(found.len(), 1, "one ending {suffix:?}: {:?}", mail.iter().map(|m| &m.subject).collect::<Vec<_>>());
    found[0]
}

/// A request for set `acc` with the requester at `requester` and their
/// consent implied (so the first mail to that address is the
/// introduction), and Bob's yes to it: the introduction is on its way.
fn bob_says_yes_to_a_requester_at(acc: &Accounts, requester: &str) -> Bot {
    reset(acc);
    let bot = start_bot(acc, "[consent]\nrequester = \"implied\"");
    let raw = request(acc, &format!("req-{}@example.test", acc.n)).replace(&acc.addr("alice"), requester);
    send_raw(&acc.addr("connector"), &acc.addr("bot"), &raw);
    let bob = inbox(&acc.addr("bob"), 1, WAIT);
    assert_eq!(bob.len(), 1, "Bob's consent note\n{}", bot.log());
    answer(&acc.addr("bob"), &bob[0], &format!("bob-yes-{}@example.test", acc.n), "Yes, happy to.");
    bot
}
