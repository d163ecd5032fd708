//! The edge states, end to end through the engine, told truthfully: each
//! scenario drives real mail through `handle_inbound` and the timers, checks
//! what every person was told, and snapshots every email in the order it
//! went out (`snapshots/introbot__engine__scenarios__*.snap`).

use std::time::Duration;

use jiff::Timestamp;
use mail_parser::MessageParser;

use super::tests::CONFIG;
use super::*;
use crate::core::{EmailKind, IntroState, MessageId, PartyState};
use crate::store::Disposition;

const REQUEST: &str = "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: Intro: Alice Able <> Bob Busy\r\nMessage-ID: <req-1@example.com>\r\n\r\nBob: bob@example.org\r\nFor Bob: you scaled IMAP at Example Corp, and Alice is building the next one.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Alice Able <alice@example.net>\r\nSubject: Intro: Alice Able <> Bob Busy\r\nTo: carol@example.com\r\n\r\nHi Carol,\r\n\r\nI'm building an open-source mail server in Rust and would love 20 minutes of Bob's time on IMAP IDLE.\r\n\r\nThanks,\r\nAlice\r\n";

/// One bot, its clock, and every email it queued so far, in order.
struct Scenario {
    _dir: tempfile::TempDir,
    engine: Engine,
    now: Timestamp,
    /// (kind, recipients, readable text) of every email queued.
    sent: Vec<(String, Vec<String>, String)>,
    /// The HTML part of each, for `scripts/render-emails`.
    html: Vec<String>,
}

impl Scenario {
    fn new(config: &str) -> Scenario {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("introbot.toml"), config).expect("config");
        let config = Config::load(&dir.path().join("introbot.toml")).expect("valid config");
        let engine = Engine::open(config).expect("engine");
        let now = "2026-11-30T14:00:00Z".parse().expect("a Monday");
        Scenario { _dir: dir, engine, now, sent: Vec::new(), html: Vec::new() }
    }

    /// Delivers a message a minute later and takes what it queued.
    fn deliver(&mut self, raw: &str) -> Handled {
        self.now = self.now.checked_add(Duration::from_secs(60)).expect("in range");
        let handled = self.engine.handle_inbound(raw.as_bytes(), self.now).expect("handled");
        self.take();
        handled
    }

    /// Lets `secs` pass and fires the timers.
    fn wait(&mut self, secs: u64) {
        self.now = self.now.checked_add(Duration::from_secs(secs)).expect("in range");
        self.engine.fire_due(self.now).expect("timers");
        self.take();
    }

    /// Moves the queued emails from the outbox into the transcript.
    fn take(&mut self) {
        for (seq, entry) in self.engine.store().outbox().expect("outbox") {
            let msg = MessageParser::default().parse(&entry.email.bytes).expect("our mail parses");
            let recipients: Vec<String> = entry.email.recipients.iter().map(|r| r.to_string()).collect();
            let text = format!(
                "To: {}\nSubject: {}\n\n{}",
                recipients.join(", "),
                msg.subject().unwrap_or_default(),
                msg.body_text(0).unwrap_or_default().replace("\r\n", "\n").trim_end()
            );
            self.sent.push((entry.email.kind.as_str().to_owned(), recipients, text));
            self.html.push(msg.body_html(0).unwrap_or_default().into_owned());
            self.engine.store().remove_outbox(seq).expect("remove");
        }
    }

    /// The reply address (with its token) of `email`'s side of the intro.
    fn token_of(&self, email: &str) -> String {
        let intro = self.intro();
        let token = if intro.connector.email.as_str() == email {
            &intro.connector_token
        } else if intro.requester.person.email.as_str() == email {
            &intro.requester.token
        } else {
            &intro.target.token
        };
        format!("intros+{}@example.com", token.as_str())
    }

    /// The latest email to exactly `email`.
    fn last_to(&self, email: &str) -> &(String, Vec<String>, String) {
        self.sent.iter().rev().find(|(_, to, _)| to == &[email.to_owned()]).unwrap_or_else(|| panic!("mail to {email}"))
    }

    /// The text of the latest email of `kind`.
    fn text_of(&self, kind: &str) -> &str {
        &self.sent.iter().rev().find(|(k, _, _)| k == kind).unwrap_or_else(|| panic!("a {kind}: {:#?}", self.kinds())).2
    }

    fn kinds(&self) -> Vec<(&str, &str)> {
        self.sent.iter().map(|(k, to, _)| (k.as_str(), to.first().map_or("", String::as_str))).collect()
    }

    fn intro(&self) -> crate::core::Intro {
        let mut all = self.engine.store().intros(None).expect("intros");
        assert_eq!(all.len(), 1, "one intro");
        all.remove(0)
    }

    /// A party (or the connector) answering through their token.
    fn reply(&mut self, from: &str, text: &str) -> Handled {
        let to = self.token_of(from.rsplit('<').next().unwrap_or(from).trim_end_matches('>'));
        let n = self.sent.len();
        self.deliver(&format!(
            "From: {from}\r\nTo: {to}\r\nSubject: Re: hello\r\nMessage-ID: <reply-{n}-{}@example.net>\r\n\r\n{text}\r\n",
            self.now.as_second()
        ))
    }

    /// Every email of the scenario, in order, as its reader sees it.
    fn snapshot(&self, name: &str) {
        for (n, ((kind, _, _), html)) in self.sent.iter().zip(&self.html).enumerate() {
            crate::compose::save_for_review(&format!("scenario-{name}-{n}-{kind}"), html);
        }
        let all: Vec<&str> = self.sent.iter().map(|(_, _, text)| text.as_str()).collect();
        let transcript = all.join("\n\n════════\n\n");
        let re = regex::Regex::new(r"intros\+[a-z0-9]+@").expect("regex");
        insta::assert_snapshot!(name.to_owned(), re.replace_all(&transcript, "intros+TOKEN@"));
    }
}

#[test]
fn an_unclear_answer_and_silence_are_told_apart() {
    let mut s = Scenario::new(CONFIG);
    s.deliver(REQUEST);
    s.reply("Bob Busy <bob@example.org>", "Who is Alice, and what does she need exactly?");
    assert_eq!(s.intro().target.state, PartyState::Unclear);
    s.wait(101);
    // Only the silent one is followed up; Bob answered (unclearly).
    let follow_ups: Vec<_> = s.kinds().into_iter().filter(|(k, _)| *k == "follow_up").collect();
    assert_eq!(follow_ups, [("follow_up", "alice@example.net")]);
    s.wait(101);
    assert_eq!(s.intro().state, IntroState::Expired);
    let outcome = s.text_of("outcome");
    assert!(outcome.contains("Alice Able didn't answer, even after one gentle follow-up."), "{outcome}");
    assert!(outcome.contains("Bob Busy replied, but I couldn't tell whether it was a yes"), "{outcome}");
    assert!(!outcome.contains("Nobody"), "{outcome}");
    s.snapshot("unclear_and_silence");
}

#[test]
fn a_reply_from_another_address_is_accepted_by_the_connectors_yes() {
    let mut s = Scenario::new(CONFIG);
    s.deliver(REQUEST);
    s.reply("Alice Able <alice@example.net>", "Yes please!");
    let bob = s.token_of("bob@example.org");
    s.deliver(&format!(
        "From: Bob Busy <bob@home.example>\r\nTo: {bob}\r\nSubject: Re: Would you like to meet Alice Able?\r\nMessage-ID: <home-1@home.example>\r\n\r\nYes, glad to. This is my personal address.\r\n"
    ));
    assert!(
        s.text_of("held_reply")
            .contains("Is that Bob's other address? Reply \"yes\" and I'll take it as Bob's answer (a yes), or \"no\"")
    );
    // The follow-up timer passes: Bob, whose answer waits on Carol, is not chased.
    s.wait(101);
    assert!(!s.kinds().iter().any(|(k, _)| *k == "follow_up"), "{:?}", s.kinds());
    s.reply("Carol Connor <carol@example.com>", "Yes, that's him.");
    let intro = s.intro();
    assert_eq!(intro.state, IntroState::Introduced);
    assert_eq!(intro.target.yes_by, Some(crate::core::ConsentBy::Own));
    let introduction = s.text_of("introduction");
    assert!(introduction.contains("You both said yes"), "{introduction}");
    assert!(introduction.contains("> Yes, glad to. This is my personal address."), "{introduction}");
    s.snapshot("held_reply_accepted");
}

#[test]
fn a_held_reply_the_connector_says_is_not_theirs_is_set_aside() {
    let mut s = Scenario::new(CONFIG);
    s.deliver(REQUEST);
    let bob = s.token_of("bob@example.org");
    s.deliver(&format!(
        "From: mallory@evil.example\r\nTo: {bob}\r\nSubject: Re: x\r\nMessage-ID: <m1@evil.example>\r\n\r\nyes\r\n"
    ));
    s.reply("Carol Connor <carol@example.com>", "No, I don't know that address.");
    assert!(s.text_of("command_reply").contains("I've set that reply aside"));
    assert_eq!(s.intro().target.state, PartyState::Asked);
    assert!(s.intro().target.held.is_none());
    s.wait(101);
    assert!(s.kinds().contains(&("follow_up", "bob@example.org")), "now Bob is followed up");
}

#[test]
fn a_bounce_tells_one_story() {
    let mut s = Scenario::new(CONFIG);
    s.deliver(REQUEST);
    s.reply("Alice Able <alice@example.net>", "Yes!");
    let bob = s.token_of("bob@example.org");
    s.deliver(&format!(
        "From: MAILER-DAEMON@example.org\r\nTo: {bob}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@x>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nsorry\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; bob@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n--b--\r\n"
    ));
    assert_eq!(s.intro().state, IntroState::Failed);
    let to_alice = &s.last_to("alice@example.net").2;
    let to_carol = s.text_of("outcome");
    assert!(
        to_alice.contains("my note to Bob couldn't be delivered") && to_alice.contains("Carol knows"),
        "{to_alice}"
    );
    assert!(to_carol.contains("I told Alice that I couldn't reach Bob"), "{to_carol}");
    s.snapshot("bounce");
}

/// A delivery failure report about the message `returned` (its headers
/// returned, as Gmail and Exchange do), failed for `failed`, to the bot's
/// plain address: where a bounce of the introduction comes back.
fn failure_report(id: &str, returned: &str, failed: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: intros@example.com\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{id}>\r\nAuto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; {failed}\r\nOriginal-Recipient: rfc822;{failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User unknown\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: Carol Connor via Introbot <intros@example.com>\r\n\
         Message-ID: <{returned}>\r\nSubject: Alice Able <> Bob Busy\r\n\r\n--b--\r\n"
    )
}

/// Alice and Bob both said yes; the introduction's Message-ID.
fn introduced() -> (Scenario, MessageId) {
    let mut s = Scenario::new(CONFIG);
    s.deliver(REQUEST);
    s.reply("Alice Able <alice@example.net>", "Yes!");
    s.reply("Bob Busy <bob@example.org>", "Yes, happy to.");
    assert_eq!(s.intro().state, IntroState::Introduced);
    let emails = s.engine.store().emails_of(&s.intro().id).expect("emails");
    let introduction = emails.iter().find(|e| e.kind == EmailKind::Introduction).expect("introduction");
    let id = introduction.message_id.clone();
    (s, id)
}

/// Before: a bounce of the introduction was ignored ("a bounce not about a
/// party"): Alice waited for someone who never got it, and Carol thought it
/// had worked.
#[test]
fn a_bounced_introduction_tells_one_story_once() {
    let (mut s, introduction) = introduced();

    // A month later (the intro ended long ago), the report comes back.
    s.now = s.now.checked_add(Duration::from_secs(30 * 86_400)).expect("in range");
    let handled = s.deliver(&failure_report("dsn-1@mx.example.org", introduction.as_str(), "bob@example.org"));
    assert_eq!(handled.disposition, Disposition::Processed, "{}", handled.note);
    let intro = s.intro();
    assert_eq!(intro.state, IntroState::Introduced, "both said yes, and it went out");
    assert!(intro.target.introduction_bounced && !intro.requester.introduction_bounced);
    assert!(intro.timeline.iter().any(|t| t.what == "the introduction bounced for the target"));

    let to_alice = &s.last_to("alice@example.net").2;
    assert!(to_alice.contains("Subject: Re: Alice Able <> Bob Busy"), "under the introduction: {to_alice}");
    assert!(to_alice.contains("my introduction didn't reach Bob") && to_alice.contains("Carol knows"), "{to_alice}");
    assert!(!to_alice.contains("550"), "the server's words are for the connector: {to_alice}");
    let to_carol = &s.last_to("carol@example.com").2;
    assert!(to_carol.contains("Subject: Alice Able <> Bob Busy: the introduction didn't reach Bob"), "{to_carol}");
    assert!(to_carol.contains("didn't reach Bob at bob@example.org"), "{to_carol}");
    assert!(to_carol.contains("I've told Alice that it didn't reach Bob, and that you know"), "one story: {to_carol}");
    assert!(to_carol.contains("550 5.1.1"), "{to_carol}");
    assert!(!s.kinds().iter().any(|(k, to)| *to == "bob@example.org" && *k != "consent_request"), "{:?}", s.kinds());

    // Once: the same report again, another report about Bob, and time
    // passing send nothing more; nothing is sent again.
    let told = s.sent.len();
    s.deliver(&failure_report("dsn-1@mx.example.org", introduction.as_str(), "bob@example.org"));
    s.deliver(&failure_report("dsn-2@mx.example.org", introduction.as_str(), "bob@example.org"));
    s.wait(30 * 86_400);
    assert_eq!(s.sent.len(), told, "told once: {:?}", s.kinds());
    assert_eq!(s.kinds().iter().filter(|(k, _)| *k == "introduction").count(), 1, "no second introduction");
    s.snapshot("introduction-bounced");
}

/// A report about the introduction that names neither party (the
/// connector's blind copy bounced), and one about a consent note without
/// its token: filed, nobody told.
#[test]
fn a_bounce_naming_neither_party_or_no_introduction_tells_nobody() {
    let (mut s, introduction) = introduced();
    let emails = s.engine.store().emails_of(&s.intro().id).expect("emails");
    let consent = emails.iter().find(|e| e.kind == EmailKind::ConsentRequest).expect("consent").message_id.clone();
    let told = s.sent.len();
    let handled = s.deliver(&failure_report("dsn-c@mx", introduction.as_str(), "carol@example.com"));
    assert_eq!(handled.disposition, Disposition::Ignored, "{}", handled.note);
    let handled = s.deliver(&failure_report("dsn-k@mx", consent.as_str(), "bob@example.org"));
    assert_eq!(handled.disposition, Disposition::Ignored, "{}", handled.note);
    assert_eq!(s.sent.len(), told);
    assert!(!s.intro().target.introduction_bounced);
}

#[test]
fn implied_consent_is_told_as_it_was_given() {
    let mut s = Scenario::new(&CONFIG.replace("[timing]", "[consent]\nrequester = \"implied\"\n[timing]"));
    s.deliver(REQUEST);
    assert!(!s.kinds().contains(&("consent_request", "alice@example.net")), "Alice is not asked");
    s.reply("Bob Busy <bob@example.org>", "Yes, happy to.");
    let introduction = s.text_of("introduction");
    assert!(introduction.contains("Alice asked to meet Bob, and Bob said yes"), "{introduction}");
    assert!(!introduction.contains("You both said yes"), "{introduction}");
    s.snapshot("implied_consent");
}

#[test]
fn a_condition_is_carried_into_the_introduction() {
    let mut s = Scenario::new(CONFIG);
    s.deliver(REQUEST);
    s.reply("Alice Able <alice@example.net>", "Yes please");
    s.reply("Bob Busy <bob@example.org>", "Maybe. Could Alice send me a few questions by email first?");
    assert!(s.text_of("unclear_reply").contains("Could Alice send me a few questions by email first?"));
    s.reply("Carol Connor <carol@example.com>", "yes");
    let introduction = s.text_of("introduction");
    assert!(introduction.contains("Carol read Bob's reply as a yes"), "{introduction}");
    assert!(introduction.contains("Bob wrote back:\n\n> Maybe. Could Alice send me a few questions by email first?"));
    assert!(introduction.contains("Alice, over to you: read what Bob wrote above"), "{introduction}");
    assert!(!introduction.contains("suggest a time"), "{introduction}");
    s.snapshot("condition_carried");
}

#[test]
fn holidays_are_skipped_by_the_follow_up() {
    let config = CONFIG
        .replace("follow_up_after = \"100s\"", "follow_up_after = \"2 business days\"")
        .replace("[timing]", "[timing]\nholidays = [\"2026-12-01\"]");
    let mut s = Scenario::new(&config);
    s.deliver(REQUEST);
    // Monday 30 November, 09:01 in New York; Tuesday is a holiday, so two
    // business days are Wednesday and Thursday.
    let due = s.intro().deadline.expect("a timer").at;
    assert_eq!(
        due.to_zoned_datetime(jiff::tz::TimeZone::get("America/New_York").expect("tz")).date().to_string(),
        "2026-12-03"
    );
    s.wait(2 * 86_400);
    assert!(!s.kinds().iter().any(|(k, _)| *k == "follow_up"), "not on Wednesday");
    s.wait(86_400);
    assert!(s.kinds().iter().any(|(k, _)| *k == "follow_up"), "on Thursday");
}

#[test]
fn a_preview_waits_for_send() {
    let mut s = Scenario::new(CONFIG);
    // Bob's address only in the forwarded Cc: a guess.
    s.deliver(
        &REQUEST.replace("Bob: bob@example.org\r\n", "").replace(
            "To: carol@example.com\r\n\r\n",
            "To: carol@example.com\r\nCc: Bob Busy <bob@example.org>\r\n\r\n",
        ),
    );
    assert_eq!(s.kinds(), [("preview", "carol@example.com")]);
    let preview = s.text_of("preview").to_owned();
    assert!(preview.contains("I took Bob's address, bob@example.org, from the forwarded email"), "{preview}");
    assert!(preview.contains("To Bob Busy, \"Would you like to meet Alice Able?\""), "{preview}");
    s.wait(150);
    assert_eq!(s.kinds().len(), 1, "nobody is written to while the preview waits");
    s.reply("Carol Connor <carol@example.com>", "send");
    let kinds = s.kinds();
    assert_eq!(
        &kinds[1..],
        [
            ("acknowledgement", "carol@example.com"),
            ("consent_request", "alice@example.net"),
            ("consent_request", "bob@example.org"),
        ]
    );
    // The consent note is the one the preview showed.
    let shown = preview.split("To Bob Busy, \"Would you like to meet Alice Able?\":\n\n").nth(1).expect("shown");
    let sent = s.last_to("bob@example.org").2.split("\n\n").skip(1).collect::<Vec<_>>().join("\n\n");
    let quoted: String = sent
        .lines()
        .map(|l| if l.is_empty() { ">".to_owned() } else { format!("> {l}") })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(shown.starts_with(&quoted), "what was sent is what was shown:\n{shown}\n---\n{quoted}");
    s.reply("Carol Connor <carol@example.com>", "send");
    assert!(s.text_of("command_reply").contains("There's nothing waiting for your \"send\""));
    s.snapshot("preview_then_send");
}

#[test]
fn a_preview_can_be_cancelled_and_nobody_hears_a_thing() {
    let mut s = Scenario::new(&CONFIG.replace("[timing]", "[consent]\npreview = \"always\"\n[timing]"));
    s.deliver(REQUEST);
    s.reply("Carol Connor <carol@example.com>", "cancel");
    assert_eq!(s.intro().state, IntroState::Cancelled);
    assert_eq!(s.kinds(), [("preview", "carol@example.com"), ("outcome", "carol@example.com")]);
    assert!(s.text_of("outcome").contains("I hadn't written to anyone about it."));
}

/// Regression: a preview nobody answered waited forever.
#[test]
fn a_preview_nobody_answers_is_dropped_and_the_connector_told_once() {
    let mut s = Scenario::new(&CONFIG.replace("[timing]", "[consent]\npreview = \"always\"\n[timing]"));
    s.deliver(REQUEST);
    // As long as an unanswered intro would take: follow-up, then expiry.
    s.wait(150);
    assert_eq!(s.kinds(), [("preview", "carol@example.com")]);
    s.wait(60);
    assert_eq!(s.intro().state, IntroState::Expired);
    assert_eq!(s.kinds(), [("preview", "carol@example.com"), ("outcome", "carol@example.com")]);
    let outcome = s.text_of("outcome");
    assert!(outcome.contains("I didn't hear \"send\" from you after my preview"), "{outcome}");
    assert!(outcome.contains("I hadn't written to Alice or Bob"), "{outcome}");
    s.wait(1_000);
    assert_eq!(s.kinds().len(), 2, "told once");
    // A late `send` writes to nobody and says why.
    s.reply("Carol Connor <carol@example.com>", "send");
    assert_eq!(s.kinds().len(), 3);
    let note = s.text_of("command_reply");
    assert!(note.contains("I dropped Alice Able <> Bob Busy when my preview went unanswered"), "{note}");
    assert!(!s.sent.iter().any(|(_, to, _)| to.iter().any(|t| t != "carol@example.com")), "nobody else heard");
    s.snapshot("preview_unanswered");
}

#[test]
fn an_out_of_office_with_a_date_moves_the_follow_up_and_is_told() {
    let mut s = Scenario::new(CONFIG);
    s.deliver(REQUEST);
    s.reply("Alice Able <alice@example.net>", "Yes please!");
    let bob = s.token_of("bob@example.org");
    let handled = s.deliver(&format!(
        "From: Bob Busy <bob@example.org>\r\nTo: {bob}\r\nSubject: Out of office: Would you like to meet Alice Able?\r\n\
         Auto-Submitted: auto-replied\r\nMessage-ID: <ooo-1@example.org>\r\n\r\n\
         I'm out of the office until Monday 7 December with no access to email.\r\n"
    ));
    assert_eq!(handled.disposition, Disposition::Processed, "{handled:?}");
    assert_eq!(s.intro().target.away_until, Some(jiff::civil::date(2026, 12, 7)));
    // The usual follow-up time passes: Bob is away, so nothing goes out.
    s.wait(101);
    assert!(!s.kinds().iter().any(|(k, _)| *k == "follow_up"), "{:?}", s.kinds());
    // The morning after he is back, one gentle follow-up.
    s.now = "2026-12-08T14:01:00Z".parse().expect("valid");
    s.wait(0);
    assert_eq!(s.kinds().iter().filter(|(k, _)| *k == "follow_up").count(), 1, "{:?}", s.kinds());
    s.wait(101);
    assert_eq!(s.intro().state, IntroState::Expired);
    let outcome = s.text_of("outcome");
    assert!(outcome.contains("Bob Busy was away until Monday 7 December, and didn't answer after that"), "{outcome}");
    assert!(!outcome.contains("Bob Busy didn't answer"), "{outcome}");
    s.snapshot("out_of_office");
}

#[test]
fn the_unsubscribe_button_is_a_stop() {
    let mut s = Scenario::new(CONFIG);
    s.deliver(REQUEST);
    // What a mail client sends for the consent note's List-Unsubscribe.
    let reply = s.token_of("bob@example.org");
    let consent = s.last_to("bob@example.org").2.clone();
    assert!(consent.contains("reply \"stop\""), "{consent}");
    s.deliver(&format!(
        "From: bob@example.org\r\nTo: {reply}\r\nSubject: unsubscribe\r\nMessage-ID: <unsub-1@example.org>\r\n\r\nunsubscribe\r\n"
    ));
    let intro = s.intro();
    assert_eq!((intro.state, intro.target.state), (IntroState::Declined, PartyState::Stop));
    let bob = crate::core::Address::parse("bob@example.org").expect("valid");
    assert!(s.engine.store().is_suppressed(&bob).expect("store"));
    assert!(s.last_to("bob@example.org").2.contains("I won't send you introduction requests again."));
}
