use std::path::Path;
use std::time::Duration;

use super::*;
use crate::core::{EmailKind, Intro, IntroState, PartyState};
use crate::transport::Transport;

mod forgery;
mod limits;

/// A local bot with fast timers (shared with `scenarios`).
pub(super) const CONFIG: &str = r#"
[bot]
address = "intros@example.com"
data_dir = "state"
timezone = "America/New_York"
[connectors]
allow = ["carol@example.com"]
[maildir]
path = "inbox"
[outbox_dir]
path = "sent"
[timing]
follow_up_after = "100s"
expire_after = "100s"
"#;

struct Harness {
    _dir: tempfile::TempDir,
    engine: Option<Engine>,
    now: Timestamp,
}

fn t0() -> Timestamp {
    "2026-11-30T14:00:00Z".parse().expect("valid")
}

fn harness_with(config: &str) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("introbot.toml"), config).expect("write config");
    let engine = Engine::open(load(dir.path())).expect("engine");
    Harness { _dir: dir, engine: Some(engine), now: t0() }
}

fn load(dir: &Path) -> Config {
    Config::load(&dir.join("introbot.toml")).expect("valid config")
}

fn harness() -> Harness {
    harness_with(CONFIG)
}

const REQUEST: &str = "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: Intro: Alice <> Bob\r\nMessage-ID: <req-1@example.com>\r\n\r\nBob Busy <bob@example.org> is great.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Alice Able <alice@example.net>\r\nSubject: Intro: Alice <> Bob\r\nTo: carol@example.com\r\n\r\nHi Carol, I'd love to meet Bob.\r\n";

impl Harness {
    fn engine(&self) -> &Engine {
        self.engine.as_ref().expect("engine open")
    }

    fn handle(&self, raw: &str) -> Handled {
        self.engine().handle_inbound(raw.as_bytes(), self.now).expect("handled")
    }

    /// (template, recipients) of everything queued, in order.
    fn queued(&self) -> Vec<(String, Vec<String>)> {
        self.engine()
            .store()
            .outbox()
            .expect("outbox")
            .into_iter()
            .map(|(_, e)| {
                (e.email.kind.as_str().to_owned(), e.email.recipients.iter().map(|r| r.to_string()).collect())
            })
            .collect()
    }

    fn clear_outbox(&self) {
        for (seq, _) in self.engine().store().outbox().expect("outbox") {
            self.engine().store().remove_outbox(seq).expect("remove");
        }
    }

    /// The reply address of the last email queued for `email`.
    fn reply_address(&self, email: &str) -> String {
        let entries = self.engine().store().outbox().expect("outbox");
        let entry = entries
            .iter()
            .rev()
            .find(|(_, e)| e.email.recipients.len() == 1 && e.email.recipients[0].as_str() == email)
            .expect("an email to them");
        let msg = mail_parser::MessageParser::default().parse(&entry.1.email.bytes).expect("parses");
        msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).expect("reply-to").to_owned()
    }

    fn intro(&self) -> Intro {
        let mut all = self.engine().store().intros(None).expect("intros");
        assert_eq!(all.len(), 1, "exactly one intro");
        all.remove(0)
    }

    fn later(&mut self, secs: u64) {
        self.now = self.now.checked_add(Duration::from_secs(secs)).expect("in range");
    }
}

fn reply(from: &str, to: &str, id: &str, text: &str) -> String {
    format!("From: {from}\r\nTo: {to}\r\nSubject: Re: hello\r\nMessage-ID: <{id}>\r\n\r\n{text}\r\n")
}

fn kinds(q: &[(String, Vec<String>)]) -> Vec<&str> {
    q.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn a_request_then_two_yeses_introduces_them() {
    let h = harness();
    let handled = h.handle(REQUEST);
    assert_eq!(handled.disposition, Disposition::Processed);
    assert_eq!(
        h.queued(),
        [
            ("acknowledgement".to_owned(), vec!["carol@example.com".to_owned()]),
            ("consent_request".to_owned(), vec!["alice@example.net".to_owned()]),
            ("consent_request".to_owned(), vec!["bob@example.org".to_owned()]),
        ]
    );
    let alice = h.reply_address("alice@example.net");
    let bob = h.reply_address("bob@example.org");
    assert_ne!(alice, bob);
    h.clear_outbox();
    h.handle(&reply("Alice <alice@example.net>", &alice, "a1@x", "Yes please"));
    assert!(h.queued().is_empty(), "one yes sends nothing");
    h.handle(&reply("Bob <BOB@example.org>", &bob, "b1@x", "Sure, happy to."));
    assert_eq!(kinds(&h.queued()), ["introduction", "outcome"]);
    assert_eq!(h.queued()[0].1, ["alice@example.net", "bob@example.org"]);
    assert_eq!(h.intro().state, IntroState::Introduced);
}

#[test]
fn the_same_message_twice_has_no_second_effect() {
    let h = harness();
    h.handle(REQUEST);
    let again = h.handle(REQUEST);
    assert!(again.note.contains("duplicate"), "{again:?}");
    assert_eq!(h.queued().len(), 3);
    let bob = h.reply_address("bob@example.org");
    let yes = reply("bob@example.org", &bob, "b1@x", "yes");
    h.handle(&yes);
    let before = h.intro();
    h.handle(&yes);
    assert_eq!(h.intro(), before);
    assert_eq!(h.engine().store().intros(None).expect("intros").len(), 1);
}

#[test]
fn strangers_get_no_reply_at_all() {
    let h = harness();
    let handled = h.handle(&REQUEST.replace("carol@example.com>\r\nTo: intros", "mallory@example.net>\r\nTo: intros"));
    assert_eq!(handled.disposition, Disposition::Ignored);
    assert!(h.queued().is_empty());
    assert!(h.engine().store().intros(None).expect("intros").is_empty());
}

#[test]
fn a_request_with_something_missing_goes_back_to_the_connector_only() {
    let h = harness();
    let raw = REQUEST.replace("Bob Busy <bob@example.org> is great.", "Bob is great.");
    let handled = h.handle(&raw);
    assert_eq!(handled.disposition, Disposition::Processed);
    assert_eq!(h.queued(), [("request_problem".to_owned(), vec!["carol@example.com".to_owned()])]);
    let entry = &h.engine().store().outbox().expect("outbox")[0].1;
    let text = String::from_utf8_lossy(&entry.email.bytes);
    assert!(text.contains("I couldn't find an address for Bob"), "{text}");
    assert!(text.contains("In-Reply-To: <req-1@example.com>"), "{text}");
}

#[test]
fn a_reply_from_another_address_is_held_and_decides_nothing() {
    let h = harness();
    h.handle(REQUEST);
    let bob = h.reply_address("bob@example.org");
    h.clear_outbox();
    h.handle(&reply("Mallory <mallory@example.net>", &bob, "m1@x", "yes"));
    assert_eq!(h.queued(), [("held_reply".to_owned(), vec!["carol@example.com".to_owned()])]);
    assert_eq!(h.intro().target.state, PartyState::Asked);
}

#[test]
fn out_of_office_and_list_mail_are_ignored() {
    let h = harness();
    h.handle(REQUEST);
    let bob = h.reply_address("bob@example.org");
    h.clear_outbox();
    let ooo = format!(
        "From: bob@example.org\r\nTo: {bob}\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\nMessage-ID: <o1@x>\r\n\r\nYes, I am away.\r\n"
    );
    assert_eq!(h.handle(&ooo).disposition, Disposition::Ignored);
    let list = format!(
        "From: bob@example.org\r\nTo: {bob}\r\nList-Id: <l.example>\r\nSubject: news\r\nMessage-ID: <l1@x>\r\n\r\nyes\r\n"
    );
    assert_eq!(h.handle(&list).disposition, Disposition::Ignored);
    assert!(h.queued().is_empty());
    assert_eq!(h.intro().target.state, PartyState::Asked);
}

#[test]
fn a_bounce_through_a_partys_token_fails_the_intro() {
    let h = harness();
    h.handle(REQUEST);
    let bob = h.reply_address("bob@example.org");
    h.clear_outbox();
    let dsn = format!(
        "From: MAILER-DAEMON@example.org\r\nTo: {bob}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@x>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nsorry\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; bob@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n--b--\r\n"
    );
    h.handle(&dsn);
    let intro = h.intro();
    assert_eq!(intro.state, IntroState::Failed);
    assert_eq!(intro.target.state, PartyState::Bounced);
    assert_eq!(kinds(&h.queued()), ["nothing_needed", "outcome"]);
}

#[test]
fn the_connector_can_cancel_by_replying() {
    let h = harness();
    h.handle(REQUEST);
    let carol = h.reply_address("carol@example.com");
    h.clear_outbox();
    // Someone else using the connector's address does nothing.
    h.handle(&reply("dan@example.net", &carol, "d1@x", "cancel"));
    assert!(h.queued().is_empty());
    h.handle(&reply(
        "Carol <carol@example.com>",
        &carol,
        "c1@x",
        "Cancel please.\r\n\r\nOn Mon, Intro Bot wrote:\r\n> ...",
    ));
    assert_eq!(h.intro().state, IntroState::Cancelled);
    assert_eq!(kinds(&h.queued()), ["nothing_needed", "nothing_needed", "outcome"]);
}

#[test]
fn an_unclear_reply_goes_to_the_connector_who_decides() {
    let h = harness();
    h.handle(REQUEST);
    let alice = h.reply_address("alice@example.net");
    let bob = h.reply_address("bob@example.org");
    let carol = h.reply_address("carol@example.com");
    h.clear_outbox();
    h.handle(&reply("alice@example.net", &alice, "a1@x", "yes"));
    h.handle(&reply("bob@example.org", &bob, "b1@x", "Who is Alice?"));
    assert_eq!(kinds(&h.queued()), ["unclear_reply"]);
    assert_eq!(h.intro().state, IntroState::AwaitingConsent);
    h.clear_outbox();
    h.handle(&reply("carol@example.com", &carol, "c1@x", "Yes"));
    assert_eq!(h.intro().state, IntroState::Introduced);
}

/// The Message-ID of the email of `kind` queued to `to`.
fn queued_id(h: &Harness, kind: &str, to: &str) -> String {
    let entries = h.engine().store().outbox().expect("outbox");
    let (_, entry) = entries
        .iter()
        .find(|(_, e)| e.email.kind.as_str() == kind && e.email.recipients.iter().any(|r| r.as_str() == to))
        .unwrap_or_else(|| panic!("a {kind} email to {to}"));
    entry.email.message_id.as_str().to_owned()
}

/// A token and a Message-ID start with the intro's id (schema 4); a reply
/// that names the intro but guesses the rest of either is nobody's.
#[test]
fn a_reply_to_a_guessed_token_or_message_id_of_the_intro_is_nobodys() {
    let h = harness();
    h.handle(REQUEST);
    let id = h.intro().id;
    h.clear_outbox();
    let guess = "a".repeat(26);
    let raw = format!(
        "From: bob@example.org\r\nTo: intros+{id}{guess}@example.com\r\nIn-Reply-To: <{id}.{guess}@example.com>\r\nSubject: Re: hi\r\nMessage-ID: <g1@x>\r\n\r\nYes please.\r\n"
    );
    h.handle(&raw);
    assert_eq!(h.intro().target.state, PartyState::Asked, "not acted on");
    assert!(!kinds(&h.queued()).contains(&"held_reply"), "not found, so not held either: {:?}", h.queued());
}

/// Consent counts only through the party's token (issue 10): a reply that
/// found its intro by its thread alone is held for the connector, even
/// from the party's own address, and a stranger in the thread gets nothing.
#[test]
fn a_reply_that_lost_its_token_is_held_for_the_connector_never_acted_on() {
    let h = harness();
    h.handle(REQUEST);
    let consent_id = queued_id(&h, "consent_request", "bob@example.org");
    // The intro's id, then what cannot be guessed.
    let random = consent_id.strip_prefix(&format!("{}.", h.intro().id)).and_then(|r| r.strip_suffix("@example.com"));
    assert_eq!(random.map(str::len), Some(26), "{consent_id}");
    h.clear_outbox();
    let raw = format!(
        "From: bob@example.org\r\nTo: intros@example.com\r\nIn-Reply-To: <{consent_id}>\r\nSubject: Re: hi\r\nMessage-ID: <b1@x>\r\n\r\nYes please.\r\n"
    );
    h.handle(&raw);
    assert_eq!(h.intro().target.state, PartyState::Asked, "not acted on");
    assert_eq!(h.queued(), [(EmailKind::HeldReply.as_str().to_owned(), vec!["carol@example.com".to_owned()])]);
    assert!(
        queued_text(&h, "held_reply").contains("not through the reply address"),
        "{}",
        queued_text(&h, "held_reply")
    );
    // The same thread from a stranger does nothing and gets no reply.
    h.clear_outbox();
    let raw = format!(
        "From: eve@example.net\r\nTo: intros@example.com\r\nIn-Reply-To: <{consent_id}>\r\nSubject: Re: hi\r\nMessage-ID: <e1@x>\r\n\r\nyes\r\n"
    );
    assert_eq!(h.handle(&raw).disposition, Disposition::Ignored);
    assert!(h.queued().is_empty());
    assert_eq!(h.intro().target.state, PartyState::Asked);
}

#[test]
fn stop_suppresses_the_address_for_every_future_request() {
    let h = harness();
    h.handle(REQUEST);
    let bob = h.reply_address("bob@example.org");
    h.handle(&reply("bob@example.org", &bob, "b1@x", "Please never contact me again."));
    assert_eq!(h.intro().target.state, PartyState::Stop);
    h.clear_outbox();
    h.handle(&REQUEST.replace("req-1@", "req-2@"));
    assert_eq!(kinds(&h.queued()), ["request_problem"]);
    assert_eq!(h.engine().store().intros(None).expect("intros").len(), 1);
}

#[test]
fn silence_follows_up_once_then_expires() {
    let mut h = harness();
    h.handle(REQUEST);
    h.clear_outbox();
    h.later(99);
    assert!(h.engine().fire_due(h.now).expect("fire").is_empty());
    h.later(1);
    assert_eq!(h.engine().fire_due(h.now).expect("fire").len(), 1);
    assert_eq!(kinds(&h.queued()), ["follow_up", "follow_up"]);
    h.clear_outbox();
    assert!(h.engine().fire_due(h.now).expect("fire").is_empty(), "not twice");
    h.later(100);
    h.engine().fire_due(h.now).expect("fire");
    assert_eq!(kinds(&h.queued()), ["outcome"]);
    assert_eq!(h.intro().state, IntroState::Expired);
}

#[test]
fn not_an_email_is_filed_as_failed() {
    let h = harness();
    let handled = h.engine().handle_inbound(b"\x00\x01garbage", h.now).expect("handled");
    assert_eq!(handled.disposition, Disposition::Failed);
    assert!(h.queued().is_empty());
}

/// A sendmail stand-in that records every email it is given, one file each,
/// and refuses (exit 67, EX_NOUSER) mail for `refused@example.org`.
fn recording_sendmail(dir: &Path) -> std::path::PathBuf {
    let refuse = "for a in \"$@\"; do [ \"$a\" = refused@example.org ] && { echo 'no such user' >&2; exit 67; }; done";
    sendmail_script(dir, refuse)
}

/// A sendmail stand-in that records what it is given, after the shell
/// lines `refuse` (which may exit to refuse it).
fn sendmail_script(dir: &Path, refuse: &str) -> std::path::PathBuf {
    let script = dir.join("sendmail");
    let log = dir.join("delivered");
    std::fs::create_dir_all(&log).expect("mkdir");
    let body = format!("#!/bin/sh\n{refuse}\ncat > \"{}/$(date +%s%N)-$$.eml\"\n", log.display());
    // Written by a child process: if this (multi-threaded) test process held
    // the file open for writing, a fork elsewhere could make exec fail with
    // ETXTBSY.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("cat > \"$1\" && chmod 755 \"$1\"")
        .arg("sh")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().expect("stdin").write_all(body.as_bytes())?;
            child.wait()
        })
        .expect("write script");
    assert!(status.success());
    script
}

fn delivered_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir.join("delivered"))
        .expect("read")
        .map(|e| {
            let raw = std::fs::read(e.expect("entry").path()).expect("read");
            let msg = mail_parser::MessageParser::default().parse(&raw).expect("parses");
            msg.message_id().expect("id").to_owned()
        })
        .collect();
    ids.sort();
    ids
}

fn sendmail_config(dir: &Path) -> String {
    let script = recording_sendmail(dir);
    CONFIG.replace("[outbox_dir]\npath = \"sent\"", &format!("[sendmail]\ncommand = \"{}\"", script.display()))
}

#[test]
fn a_crash_between_commit_and_send_loses_nothing_and_sends_nothing_twice() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // Crash after each step of the scenario in turn.
    for crash_after in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("introbot.toml"), sendmail_config(dir.path())).expect("config");
        let mut engine = Engine::open(load(dir.path())).expect("engine");
        let mut transport = Transport::from_config(&engine.config().transport).expect("transport");
        let now = t0();
        let mut tokens: Vec<String> = Vec::new();
        for step in 0..3 {
            let raw = match step {
                0 => REQUEST.to_owned(),
                1 => reply("alice@example.net", &tokens[0], "a1@x", "yes"),
                _ => reply("bob@example.org", &tokens[1], "b1@x", "yes"),
            };
            engine.handle_inbound(raw.as_bytes(), now).expect("handled");
            engine.store().flush().expect("flush");
            if step == 0 {
                let intro = engine.store().intros(None).expect("intros").remove(0);
                tokens.push(format!("intros+{}@example.com", intro.requester.token.as_str()));
                tokens.push(format!("intros+{}@example.com", intro.target.token.as_str()));
            }
            if step == crash_after {
                // The process dies: no send, the store is dropped, then reopened.
                drop(engine);
                engine = crate::store::when_unlocked(
                    || Engine::open(load(dir.path())),
                    |e| matches!(e, EngineError::Store(StoreError::Locked { .. })),
                )
                .expect("reopen after crash");
            }
            rt.block_on(engine.drain_outbox(&mut transport, now)).expect("drain");
        }
        let ids = delivered_ids(dir.path());
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique, "crash after step {crash_after}: something was sent twice");
        // ack + 2 consent notes + introduction + outcome
        assert_eq!(ids.len(), 5, "crash after step {crash_after}: {ids:?}");
        assert_eq!(engine.store().outbox_len(), 0);
    }
}

#[test]
fn a_permanent_refusal_bounces_the_party_and_tells_the_connector() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("introbot.toml"), sendmail_config(dir.path())).expect("config");
    let engine = Engine::open(load(dir.path())).expect("engine");
    let mut transport = Transport::from_config(&engine.config().transport).expect("transport");
    engine.handle_inbound(REQUEST.replace("bob@example.org", "refused@example.org").as_bytes(), t0()).expect("handled");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let first = rt.block_on(engine.drain_outbox(&mut transport, t0())).expect("drain");
    assert_eq!(first.refused, 1, "{first:?} {:?}", engine.store().intros(None));
    let intro = engine.store().intros(None).expect("intros").remove(0);
    assert_eq!(intro.state, IntroState::Failed);
    assert_eq!(intro.target.state, PartyState::Bounced);
    // The bounce's own notices went out in the same drain or wait for the next.
    rt.block_on(engine.drain_outbox(&mut transport, t0())).expect("drain");
    assert_eq!(engine.store().outbox_len(), 0);
    let delivered = delivered_ids(dir.path());
    let outcome = engine.store().emails_of(&intro.id).expect("log").into_iter().find(|e| e.kind == EmailKind::Outcome);
    let outcome = outcome.expect("an outcome was queued").message_id;
    assert!(delivered.iter().any(|id| id == outcome.as_str()), "the outcome went out: {delivered:?}");
}

/// Before: a refused introduction (one email to both, so no single party
/// to bounce) was dropped: nobody heard, and the intro read as introduced.
#[test]
fn a_refused_introduction_is_told_to_the_connector_once_and_not_retried() {
    let scripts = tempfile::tempdir().expect("tempdir");
    // Like a server refusing Bob at RCPT: the whole send fails.
    let refuse = "case \" $* \" in *\" alice@example.net bob@example.org \"*) \
                  echo '550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown' >&2; exit 67;; esac";
    let script = sendmail_script(scripts.path(), refuse);
    let config =
        CONFIG.replace("[outbox_dir]\npath = \"sent\"", &format!("[sendmail]\ncommand = \"{}\"", script.display()));
    let h = harness_with(&config);
    let mut transport = Transport::from_config(&h.engine().config().transport).expect("transport");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    h.handle(REQUEST);
    let (alice, bob) = (h.reply_address("alice@example.net"), h.reply_address("bob@example.org"));
    h.handle(&reply("Alice <alice@example.net>", &alice, "a1@x", "Yes please"));
    h.handle(&reply("Bob <bob@example.org>", &bob, "b1@x", "Sure, happy to."));

    let first = rt.block_on(h.engine().drain_outbox(&mut transport, h.now)).expect("drain");
    assert_eq!(first.refused, 1, "{first:?}");
    let intro = h.intro();
    assert_eq!(intro.state, IntroState::Introduced, "both said yes");
    assert!(intro.requester.introduction_bounced && intro.target.introduction_bounced, "neither got it");
    assert!(intro.timeline.iter().any(|t| t.what.contains("refused the introduction") && t.what.contains("target")));
    rt.block_on(h.engine().drain_outbox(&mut transport, h.now)).expect("drain");
    assert_eq!(h.engine().store().outbox_len(), 0, "nothing waits for a retry");

    let delivered: Vec<Vec<u8>> = std::fs::read_dir(scripts.path().join("delivered"))
        .expect("read")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    let parsed: Vec<_> =
        delivered.iter().map(|raw| mail_parser::MessageParser::default().parse(raw).expect("parses")).collect();
    let to = |m: &mail_parser::Message<'_>| {
        m.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned()
    };
    // Each party had their consent request and nothing after: the refusal reached neither.
    for party in ["alice@example.net", "bob@example.org"] {
        assert_eq!(parsed.iter().filter(|m| to(m) == party).count(), 1, "{party}");
    }
    let refused: Vec<_> = parsed
        .iter()
        .filter(|m| to(m) == "carol@example.com" && m.subject().is_some_and(|s| s.contains("couldn't be sent")))
        .collect();
    assert_eq!(refused.len(), 1, "the connector is told once");
    let body = refused[0].body_text(0).expect("text").into_owned();
    assert!(body.contains("550 5.1.1 <bob@example.org>: Recipient address rejected"), "{body}");
    assert!(body.contains("because of Bob's address, bob@example.org"), "{body}");
    assert!(body.contains("I haven't told either of them, and I won't send it again."), "{body}");
}

fn queued_text(h: &Harness, kind: &str) -> String {
    let entries = h.engine().store().outbox().expect("outbox");
    let entry = entries.iter().find(|(_, e)| e.email.kind.as_str() == kind).unwrap_or_else(|| panic!("a {kind} email"));
    let msg = mail_parser::MessageParser::default().parse(&entry.1.email.bytes).expect("parses");
    msg.body_text(0).expect("text").into_owned()
}

#[test]
fn status_and_help_by_email() {
    let h = harness();
    h.handle(REQUEST);
    h.clear_outbox();
    h.handle("From: carol@example.com\r\nTo: intros@example.com\r\nSubject: status\r\nMessage-ID: <s1@x>\r\n\r\n\r\n");
    let text = queued_text(&h, "status");
    // The names are the subject's ("Intro: Alice <> Bob"), completed by the
    // forwarded From header, never by words in the connector's note.
    assert!(text.contains("Alice Able <> Bob") && text.contains("waiting for Alice Able and Bob,"), "{text}");
    h.clear_outbox();
    h.handle("From: carol@example.com\r\nTo: intros@example.com\r\nSubject: hi\r\nMessage-ID: <h1@x>\r\n\r\nhelp\r\n");
    assert!(queued_text(&h, "help").contains("\"status\""));
    // Someone who is not a connector gets nothing.
    h.clear_outbox();
    h.handle("From: eve@example.net\r\nTo: intros@example.com\r\nSubject: status\r\nMessage-ID: <e1@x>\r\n\r\n\r\n");
    assert!(h.queued().is_empty());
}

#[test]
fn a_connector_decision_that_does_not_finish_the_intro_is_confirmed() {
    let h = harness();
    h.handle(REQUEST);
    let alice = h.reply_address("alice@example.net");
    let carol = h.reply_address("carol@example.com");
    h.clear_outbox();
    h.handle(&reply("alice@example.net", &alice, "a1@x", "Hmm, who is Bob?"));
    h.clear_outbox();
    h.handle(&reply("carol@example.com", &carol, "c1@x", "Yes\r\n\r\nOn Mon, Intro Bot wrote:\r\n> ..."));
    assert_eq!(h.intro().requester.state, PartyState::Yes);
    let text = queued_text(&h, "command_reply");
    assert!(
        text.contains("Noted: I'll take Alice Able's reply as a yes") && text.contains("waiting for Bob,"),
        "{text}"
    );
    // Nothing left to decide: said so, nothing changes.
    h.clear_outbox();
    h.handle(&reply("carol@example.com", &carol, "c2@x", "no"));
    assert!(queued_text(&h, "command_reply").contains("nothing for me to decide"));
    assert_eq!(h.intro().requester.state, PartyState::Yes);
}

#[test]
fn a_command_on_a_finished_intro_is_answered_and_changes_nothing() {
    let h = harness();
    h.handle(REQUEST);
    let bob = h.reply_address("bob@example.org");
    let carol = h.reply_address("carol@example.com");
    h.handle(&reply("bob@example.org", &bob, "b1@x", "No thanks."));
    h.clear_outbox();
    h.handle(&reply("carol@example.com", &carol, "c1@x", "cancel"));
    assert_eq!(h.intro().state, IntroState::Declined);
    assert!(queued_text(&h, "command_reply").contains("has already ended (one of them said no)"));
}

#[test]
fn the_bots_own_mail_is_never_a_request_even_from_an_allowed_domain() {
    let h = harness_with(&CONFIG.replace("allow = [\"carol@example.com\"]", "allow = [\"@example.com\"]"));
    let own = REQUEST.replace(
        "Carol Connor <carol@example.com>\r\nTo: intros",
        "Intro Bot <intros+probe@example.com>\r\nTo: intros",
    );
    let handled = h.handle(&own);
    assert_eq!(handled.disposition, Disposition::Ignored);
    assert!(h.queued().is_empty());
}

#[test]
fn a_reply_after_the_intro_ended_goes_to_the_connector_only() {
    let mut h = harness();
    h.handle(REQUEST);
    let bob = h.reply_address("bob@example.org");
    h.later(100);
    h.engine().fire_due(h.now).expect("follow-up");
    h.later(100);
    h.engine().fire_due(h.now).expect("expiry");
    assert_eq!(h.intro().state, IntroState::Expired);
    h.clear_outbox();
    h.handle(&reply("bob@example.org", &bob, "late@x", "Sorry, just saw this. Yes!"));
    assert_eq!(h.queued(), [("command_reply".to_owned(), vec!["carol@example.com".to_owned()])]);
    let text = queued_text(&h, "command_reply");
    assert!(
        text.contains("answered, but this intro had already ended") && text.contains("> Sorry, just saw this. Yes!"),
        "{text}"
    );
    assert_eq!(h.intro().state, IntroState::Expired, "nothing moves");
}

/// Before: an intro stored waiting on a preview before previews expired
/// had no timer, and waited forever. At start it gets the one it would
/// have had, once.
#[test]
fn an_old_preview_without_a_timer_is_given_one_at_start_once() {
    let mut h = harness_with(&CONFIG.replace("[timing]", "[consent]\npreview = \"always\"\n[timing]"));
    h.handle(REQUEST);
    let fresh = h.intro();
    assert!(fresh.awaiting_send);
    let timer = fresh.deadline.expect("a new preview has its timer");
    // As an older version stored it: no timer.
    let old = Intro { deadline: None, ..fresh };
    let change = Change { intro: Some(old), ..Change::default() };
    h.engine().store().commit(&change, h.now).expect("commit");
    assert_eq!(h.engine().store().next_deadline().expect("deadlines"), None, "waits forever");
    h.clear_outbox();

    h.later(60);
    assert_eq!(h.engine().arm_waiting_previews(h.now).expect("armed"), 1);
    assert_eq!(h.intro().deadline, Some(timer), "from when the preview was sent");
    assert_eq!(h.engine().store().next_deadline().expect("deadlines"), Some(timer.at));
    assert_eq!(h.engine().arm_waiting_previews(h.now).expect("armed"), 0, "idempotent");
    assert!(h.queued().is_empty(), "arming sends nothing");

    h.now = timer.at;
    h.engine().fire_due(h.now).expect("timers");
    assert_eq!(h.intro().state, IntroState::Expired);
    assert_eq!(kinds(&h.queued()), ["outcome"], "the connector hears once");
}

/// What a message is routed on, read as the bot at `intros@example.com`.
fn routing_facts(raw: &str) -> crate::mail::Inbound {
    let msg = crate::mail::inbound::parse(raw.as_bytes()).expect("mail");
    let bot = crate::core::Address::parse("intros@example.com").expect("valid");
    crate::mail::Inbound::read(&msg, Some(&bot))
}

/// Attack review of schema 4: each reference that names a real intro's id
/// costs an `emails_of` read and a decode of that intro's emails, and a
/// 10 MB message can carry some 200,000 references, read up to twice each
/// (measured before the bound: 50,000 of them 0.6 s a pass). What a message
/// is routed on is a bounded set of distinct ids, and a party's real reply
/// in the thread is still found.
#[test]
fn a_flood_of_references_naming_a_real_intro_is_routed_on_a_bounded_set_of_distinct_ids() {
    let h = harness();
    h.handle(REQUEST);
    let id = h.intro().id;
    let consent_id = queued_id(&h, "consent_request", "bob@example.org");
    h.clear_outbox();
    let same = format!("<{id}.{}@example.com>", "a".repeat(26));
    let distinct = (0..2_000).map(|i| format!("<{id}.{}{i:06}@example.com>", "b".repeat(20)));
    let refs: Vec<String> = std::iter::repeat_n(same, 2_000).chain(distinct).collect();
    let raw = format!(
        "From: bob@example.org\r\nTo: intros@example.com\r\nIn-Reply-To: <{consent_id}>\r\nReferences: <{consent_id}>\r\n {}\r\nSubject: Re: hi\r\nMessage-ID: <flood1@x>\r\n\r\nYes please.\r\n",
        refs.join("\r\n ")
    );
    let inbound = routing_facts(&raw);
    let unique: std::collections::HashSet<_> = inbound.references.iter().collect();
    assert_eq!(unique.len(), inbound.references.len(), "an id read once, however often it is repeated");
    assert!(inbound.references.len() <= 64, "a bounded number of ids: {}", inbound.references.len());
    assert!(inbound.references.iter().any(|r| r.as_str() == consent_id), "In-Reply-To is kept");
    // Still found by its thread: held for the connector, as before.
    h.handle(&raw);
    assert_eq!(kinds(&h.queued()), ["held_reply"]);
}

/// Attack review of schema 4: what held. A token or Message-ID that names a
/// real intro but is not exactly one of its own finds nothing, whatever
/// header carries it and however its id or rest is bent; a party's real
/// token from a stranger is held, never acted on; one intro's id in front
/// of another intro's random part finds neither.
#[test]
fn schema_4_tokens_and_message_ids_bent_every_way_find_nothing() {
    let h = harness();
    h.handle(REQUEST);
    let a = h.intro().id;
    let bob = h.reply_address("bob@example.org");
    let token = bob.strip_prefix("intros+").and_then(|t| t.strip_suffix("@example.com")).expect("a token").to_owned();
    assert_eq!(token.len(), 34, "{token}");
    let rest = token.strip_prefix(a.as_str()).expect("the intro's id first").to_owned();
    let bob_consent = queued_id(&h, "consent_request", "bob@example.org");
    let alice_consent = queued_id(&h, "consent_request", "alice@example.net");
    // A second intro, another connector's pair.
    let second = REQUEST
        .replace("req-1@", "req-2@")
        .replace("Bob Busy <bob@example.org>", "Dan Day <dan@example.org>")
        .replace("Alice Able <alice@example.net>", "Erin Eve <erin@example.net>")
        .replace("Alice <> Bob", "Erin <> Dan");
    h.handle(&second);
    let intros = h.engine().store().intros(None).expect("intros");
    assert_eq!(intros.len(), 2);
    let b = intros.iter().find(|i| i.id != a).expect("the second").id.clone();
    let dan_consent = queued_id(&h, "consent_request", "dan@example.org");
    let dan_rand = dan_consent.strip_prefix(&format!("{b}.")).expect("b's id first").to_owned();
    let bob_rand = bob_consent.strip_prefix(&format!("{a}.")).expect("a's id first").to_owned();
    h.clear_outbox();

    let flip = |s: &str, at: usize| {
        let mut v = s.as_bytes().to_vec();
        v[at] = if v[at] == b'a' { b'b' } else { b'a' };
        String::from_utf8(v).expect("ascii")
    };
    let bad_tokens = [
        format!("{a}{}", "a".repeat(26)),
        token[..33].to_owned(),
        format!("{token}a"),
        format!("{token}{rest}"),
        flip(&token, 33),
        flip(&token, 8),
        flip(&token, 0),
        format!("{b}{rest}"),
        format!("{a}.{rest}"),
        rest.clone(),
        a.to_string(),
        format!("{}{rest}", a.as_str().to_ascii_uppercase()).replace(&rest, &rest[..25]),
    ];
    let bad_ids = [
        format!("{a}.{dan_rand}"),
        format!("{b}.{bob_rand}"),
        format!("{}.{bob_rand}", a.as_str().to_ascii_uppercase()),
        bob_consent.replacen('.', "..", 1),
        bob_consent.replacen('@', ".x@", 1),
        bob_consent.replace("@example.com", "@example.org"),
        format!("{a}{}", &bob_consent[a.as_str().len() + 1..]),
        format!("{a}.{}", "a".repeat(26)) + "@example.com",
        bob_rand.clone(),
        bob_consent.to_ascii_uppercase(),
    ];
    let mut n = 0;
    let mut send = |headers: String| {
        n += 1;
        let raw = format!("{headers}Subject: Re: hi\r\nMessage-ID: <bent{n}@x>\r\n\r\nYes please.\r\n");
        h.handle(&raw)
    };
    for t in &bad_tokens {
        for header in ["To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"] {
            let handled = send(format!("From: bob@example.org\r\n{header}: intros+{t}@example.com\r\n"));
            assert_eq!(handled.disposition, Disposition::Ignored, "{header}: {t}: {handled:?}");
        }
    }
    for m in &bad_ids {
        for from in ["bob@example.org", "dan@example.org", "alice@example.net"] {
            let handled = send(format!("From: {from}\r\nTo: intros@example.com\r\nIn-Reply-To: <{m}>\r\n"));
            assert_eq!(handled.disposition, Disposition::Ignored, "{from}: {m}: {handled:?}");
        }
    }
    // The requester's own consent note, written as the target: nobody's.
    let handled =
        send(format!("From: bob@example.org\r\nTo: intros@example.com\r\nIn-Reply-To: <{alice_consent}>\r\n"));
    assert_eq!(handled.disposition, Disposition::Ignored, "{handled:?}");
    assert!(h.queued().is_empty(), "nothing sent: {:?}", h.queued());
    // A bounce returning a consent note (not the introduction) tells nobody.
    let dsn = format!(
        "From: MAILER-DAEMON@example.org\r\nTo: intros@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@x>\r\nReferences: <{bob_consent}>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; example.org\r\n\r\nFinal-Recipient: rfc822; bob@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    );
    h.handle(&dsn);
    assert!(h.queued().is_empty(), "nothing sent: {:?}", h.queued());
    // The real token from a stranger, in any recipient header: held, not acted on.
    let handled = send(format!(
        "From: mallory@example.net\r\nTo: intros@example.com\r\nDelivered-To: intros+{token}@example.com\r\n"
    ));
    assert_eq!(handled.disposition, Disposition::Processed, "{handled:?}");
    assert_eq!(kinds(&h.queued()), ["held_reply"]);
    for id in [&a, &b] {
        let intro = h.engine().store().intro(id).expect("read").expect("there");
        assert_eq!((intro.requester.state, intro.target.state), (PartyState::Asked, PartyState::Asked), "{id}");
    }
    // The real token, in capitals (servers may change case): Bob's own.
    h.clear_outbox();
    send(format!("From: bob@example.org\r\nTo: intros+{}@example.com\r\n", token.to_ascii_uppercase()));
    let intro = h.engine().store().intro(&a).expect("read").expect("there");
    assert_eq!(intro.target.state, PartyState::Yes);
}

/// Attack review of schema 4: recipient tokens were unbounded and
/// deduplicated in quadratic time (190,000 `intros+…` recipients in one
/// 10 MB message: 61 s to read, release build), and each token naming a
/// real intro costs an `intros` read. A reply carries one token, a forward
/// a few: a message is routed on a bounded set of distinct tokens, the real
/// one still found when it comes first.
#[test]
fn a_flood_of_recipient_tokens_is_read_as_a_bounded_set() {
    let h = harness();
    h.handle(REQUEST);
    let id = h.intro().id;
    let bob = h.reply_address("bob@example.org");
    h.clear_outbox();
    let junk = (0..3_000).map(|i| format!("intros+{id}{}{i:06}@example.com", "a".repeat(20)));
    let to: Vec<String> = std::iter::once(bob.clone()).chain(junk).collect();
    let raw = format!(
        "From: bob@example.org\r\nTo: {}\r\nSubject: Re: hi\r\nMessage-ID: <tflood1@x>\r\n\r\nYes please.\r\n",
        to.join(",\r\n ")
    );
    let inbound = routing_facts(&raw);
    assert!(inbound.tokens.len() <= 16, "a bounded number of tokens: {}", inbound.tokens.len());
    // Bob's own token, first, still counts.
    h.handle(&raw);
    assert_eq!(h.intro().target.state, PartyState::Yes);
}
