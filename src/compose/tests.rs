//! Snapshots of every email the bot writes, as the recipient sees them:
//! the headers that matter and the plain-text body. Review wording changes
//! with `cargo insta review`.

use mail_parser::MessageParser;

use super::*;
use crate::config::Config;

fn composer() -> Composer {
    let config = Config::parse(
        r#"
        [bot]
        address = "intros@example.com"
        name = "Intro Bot"
        data_dir = "/tmp/unused"
        [connectors]
        allow = ["carol@example.com"]
        [maildir]
        path = "/tmp/unused"
        [outbox_dir]
        path = "/tmp/unused"
        "#,
        std::path::Path::new("/etc/introbot/introbot.toml"),
        &crate::config::Outside::default(),
    )
    .expect("valid config");
    // The same ids and tokens on every run, or every snapshot would differ.
    Composer::new(&config).expect("templates load").predictable()
}

/// The email as a reader would see it in a plain-text client.
fn readable(c: &Composed) -> String {
    let msg = MessageParser::default().parse(&c.bytes).expect("our own mail parses");
    let mut out = String::new();
    out.push_str(&format!("Subject: {}\n", msg.subject().unwrap_or_default()));
    for name in [
        "From",
        "To",
        "Reply-To",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Auto-Submitted",
        "X-Auto-Response-Suppress",
    ] {
        if let Some(v) = msg.header_raw(name) {
            out.push_str(&format!("{name}: {}\n", v.split_whitespace().collect::<Vec<_>>().join(" ")));
        }
    }
    let recipients: Vec<&str> = c.recipients.iter().map(Address::as_str).collect();
    out.push_str(&format!("Envelope: {} -> {}\n\n", c.envelope_from, recipients.join(", ")));
    out.push_str(&msg.body_text(0).expect("a text part"));
    out
}

/// Snapshots an email as its reader sees it, and hands its HTML part to
/// `scripts/render-emails`.
fn snapshot(name: &str, c: &Composed) {
    let msg = MessageParser::default().parse(&c.bytes).expect("our own mail parses");
    templates::save_for_review(&format!("compose-{name}"), &msg.body_html(0).expect("an html part"));
    insta::assert_snapshot!(name.to_owned(), readable(c));
}

/// The sample consent note to the target.
fn consent_to_bob() -> (Intro, Outgoing) {
    samples::all()
        .into_iter()
        .find(|s| s.out.email == Email::ConsentRequest && s.out.to == Audience::Party(Role::Target))
        .map(|s| (s.intro, s.out))
        .expect("sample")
}

/// Every kind of email in every sample scenario, as its reader sees it.
#[test]
fn every_kind_of_email_in_every_scenario() {
    let composer = composer();
    let samples = samples::all();
    for kind in EmailKind::TEMPLATED {
        let outside_intros = [EmailKind::RequestProblem, EmailKind::Status, EmailKind::Help, EmailKind::CommandReply];
        assert!(
            outside_intros.contains(&kind) || samples.iter().any(|s| s.out.email.kind() == kind),
            "no sample makes a {kind}"
        );
    }
    for s in samples {
        let c = composer.compose(&s.intro, &s.out, Timestamp::UNIX_EPOCH).expect("composes");
        snapshot(&s.name, &c);
    }
}

#[test]
fn every_request_problem_and_command_note() {
    let composer = composer();
    let carol = samples::intro().connector;
    let inbound = MessageId::new("req-9@example.com");
    for problem in samples::problems() {
        let c = composer
            .compose_problem(&carol, "Fwd: Intro: Alice <> Bob", Some(&inbound), &problem, Timestamp::UNIX_EPOCH)
            .expect("composes");
        let json = serde_json::to_value(&problem).expect("json");
        let kind = json["kind"].as_str().unwrap_or("x").to_owned();
        // The limits share a kind; each has its own words.
        let kind = json["limit"].as_str().map_or(kind.clone(), |limit| format!("{kind}_{limit}"));
        snapshot(&format!("request_problem_{kind}"), &c);
    }
    let mut seen = std::collections::HashSet::new();
    for note in samples::notes() {
        let c = composer
            .compose_note(&carol, "Re: Re: Alice Able <> Bob Busy: on it", Some(&inbound), &note, Timestamp::UNIX_EPOCH)
            .expect("composes");
        let json = serde_json::to_value(&note).expect("json");
        let kind = json["note"].as_str().unwrap_or("x").to_owned();
        // A second sample of a kind is named by how its intro ended.
        let name = if seen.insert(kind.clone()) {
            format!("command_reply_{kind}")
        } else {
            format!("command_reply_{kind}_{}", json["ended"].as_str().unwrap_or("x").replace(' ', "_"))
        };
        snapshot(&name, &c);
    }
}

#[test]
fn html_alternative_is_escaped_and_carries_the_same_words() {
    let (intro, out) = consent_to_bob();
    let c = composer().compose(&intro, &out, Timestamp::UNIX_EPOCH).expect("composes");
    let msg = MessageParser::default().parse(&c.bytes).expect("parses");
    let html = msg.body_html(0).expect("html part").into_owned();
    assert!(html.contains("<blockquote"), "{html}");
    assert!(html.contains("Would you like to meet Alice Able?"));
    assert!(html.contains("If you&#39;re busy or it&#39;s not for you, no worries"), "{html}");
    insta::assert_snapshot!(html);
}

#[test]
fn consent_notes_never_show_the_other_partys_address() {
    let composer = composer();
    for sample in samples::all() {
        let (intro, out) = (sample.intro, sample.out);
        let Audience::Party(role) = out.to else {
            continue;
        };
        let c = composer.compose(&intro, &out, Timestamp::UNIX_EPOCH).expect("composes");
        let other = &intro.party(role.other()).person.email;
        let text = String::from_utf8_lossy(&c.bytes);
        assert!(!text.contains(other.as_str()), "{} to the {role} shows {other}", c.kind);
        assert_eq!(c.recipients, [intro.party(role).person.email.clone()]);
    }
}

#[test]
fn introduction_goes_to_both_with_replies_to_them_and_no_auto_headers() {
    let (intro, out) = samples::all()
        .into_iter()
        .find(|s| s.out.email == Email::Introduction)
        .map(|s| (s.intro, s.out))
        .expect("sample");
    let c = composer().compose(&intro, &out, Timestamp::UNIX_EPOCH).expect("composes");
    let msg = MessageParser::default().parse(&c.bytes).expect("parses");
    let reply_to: Vec<_> = msg.reply_to().expect("reply-to").iter().filter_map(|a| a.address()).collect();
    assert_eq!(reply_to, ["alice@example.net", "bob@example.org"]);
    assert!(msg.header_raw("Auto-Submitted").is_none());
    let recipients: Vec<&str> = c.recipients.iter().map(Address::as_str).collect();
    assert_eq!(recipients, ["alice@example.net", "bob@example.org"]);
}

#[test]
fn addresses_in_the_note_and_summary_are_not_shown_to_parties() {
    let (mut intro, out) = consent_to_bob();
    intro.note = "Bob owes me a favour. bob.private@example.org".into();
    intro.target.marked = "Alice (alice@example.net) is great; reach me at <carol.private@example.com>.".into();
    intro.summary = "I build mail servers.\n\n+1 415 555 0199 | alice@example.net".into();
    let c = composer().compose(&intro, &out, Timestamp::UNIX_EPOCH).expect("composes");
    let text = String::from_utf8_lossy(&c.bytes);
    for hidden in ["alice@example.net", "bob.private@example.org", "carol.private@example.com", "favour"] {
        assert!(!text.contains(hidden), "{hidden} in:\n{text}");
    }
    assert!(text.contains("Alice is great; reach me."), "{text}");
    assert!(text.contains("+1 415 555 0199\r\n"), "nothing dangling: {text}");
}

#[test]
fn notes_to_connectors_outside_intros() {
    let composer = composer();
    let carol = samples::intro().connector;
    let inbound = MessageId::new("cmd@example.com");
    for (n, (kind, extra)) in samples::connector_notes().into_iter().enumerate() {
        let c = composer
            .compose_to_connector(kind, &carol, "status", Some(&inbound), extra, Timestamp::UNIX_EPOCH)
            .expect("composes");
        snapshot(&format!("connector_note_{n}_{kind}"), &c);
    }
}

#[test]
fn party_mail_carries_list_unsubscribe_to_their_own_reply_address() {
    let (intro, out) = consent_to_bob();
    let c = composer().compose(&intro, &out, Timestamp::UNIX_EPOCH).expect("composes");
    let msg = MessageParser::default().parse(&c.bytes).expect("parses");
    let header = |name: &str| msg.header_raw(name).map(|v| v.trim().to_owned()).unwrap_or_default();
    assert_eq!(
        header("List-Unsubscribe"),
        "<mailto:intros+bbbbbbbbbbbbbbbbbbbbbbbbbb@example.com?subject=unsubscribe&body=unsubscribe>"
    );
    // RFC 8058 one-click needs an HTTPS URI in List-Unsubscribe; with a
    // mailto: alone the header would be a false promise.
    assert_eq!(header("List-Unsubscribe-Post"), "");
    assert_eq!(crate::mail::decide("unsubscribe"), crate::core::Decision::Stop, "the button's mail is a stop");
    // Connector mail has none: nothing to unsubscribe from.
    let ack = samples::all().into_iter().find(|s| s.out.email == Email::Acknowledgement).expect("sample");
    let c = composer().compose(&ack.intro, &ack.out, Timestamp::UNIX_EPOCH).expect("composes");
    assert!(!String::from_utf8_lossy(&c.bytes).contains("List-Unsubscribe"));
}

/// After the introduction bounced for Bob, Alice's note threads under the
/// introduction, and her answer goes to Carol, who knows, not to the bot.
#[test]
fn a_note_after_a_bounced_introduction_threads_under_it_and_answers_go_to_the_connector() {
    let (intro, out) = samples::all()
        .into_iter()
        .find(|s| s.name == "introduction_bounced_nothing_needed_to_requester")
        .map(|s| (s.intro, s.out))
        .expect("sample");
    let c = composer().compose(&intro, &out, Timestamp::UNIX_EPOCH).expect("composes");
    let msg = MessageParser::default().parse(&c.bytes).expect("parses");
    let reply_to: Vec<_> = msg.reply_to().expect("reply-to").iter().filter_map(|a| a.address()).collect();
    assert_eq!(reply_to, ["carol@example.com"]);
    assert_eq!(msg.in_reply_to().as_text(), Some("k7m2p9qx.introduction@example.com"));
    assert_eq!(msg.subject(), Some("Re: Alice Able <> Bob Busy"));
    let recipients: Vec<&str> = c.recipients.iter().map(Address::as_str).collect();
    assert_eq!(recipients, ["alice@example.net"]);
}

/// The connector said Bob's doubted yes stands: the introduction quotes his
/// yes, never the doubtful reply, and the note asking said so.
#[test]
fn a_yes_that_still_stands_is_quoted_never_the_doubtful_reply() {
    let text = |name: &str| {
        let s = samples::all().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("sample {name}"));
        let c = composer().compose(&s.intro, &s.out, Timestamp::UNIX_EPOCH).expect("composes");
        let msg = MessageParser::default().parse(&c.bytes).expect("parses");
        msg.body_text(0).expect("text").replace("\r\n", "\n")
    };
    let introduction = text("yes_then_unclear_stands_introduction_to_both");
    assert!(introduction.contains("> Yes, happy to. Mornings work best for me."), "{introduction}");
    assert!(!introduction.contains("second thought"), "{introduction}");
    let asked = text("yes_then_unclear_stands_unclear_reply_to_connector");
    assert!(asked.contains("The introduction won't quote this later reply: it quotes what Bob wrote with the yes:\n\n> Yes, happy to. Mornings work best for me."), "{asked}");
    let plain = text("yes_then_unclear_unclear_reply_to_connector");
    assert!(plain.contains("Bob's yes was a plain yes, so it quotes nothing of Bob's"), "{plain}");
}

/// The CRLF pass as it was (a char at a time), to hold the fast one to.
fn crlf_reference(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

proptest::proptest! {
    /// A part's body is encoded byte for byte as lettre's `Body::new` did
    /// it from the char-at-a-time CRLF text: the speed work changed no byte.
    #[test]
    fn a_body_is_encoded_as_lettre_encodes_it(
        text in "([a-z ]{0,90}|[\r\n]|=|é|€|\t| {2,5}|[a-z]{70,120}|\u{1F600}){0,40}"
    ) {
        proptest::prop_assert_eq!(clean::crlf(&text), crlf_reference(&text));
        let ours = encoded(&text);
        let lettres = Body::new(crlf_reference(&text));
        proptest::prop_assert_eq!(ours.encoding(), lettres.encoding());
        proptest::prop_assert_eq!(ours.as_ref(), lettres.as_ref());
    }
}
