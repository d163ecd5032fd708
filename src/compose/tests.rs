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
    Composer::new(&config).expect("templates load")
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

#[test]
fn every_kind_of_email() {
    let composer = composer();
    for (intro, out) in samples::all() {
        let c = composer.compose(&intro, &out, Timestamp::UNIX_EPOCH).expect("composes");
        let name = match &out.email {
            Email::Outcome(o) => {
                format!("outcome_{}", serde_json::to_value(o).expect("json")["outcome"].as_str().unwrap_or("x"))
            }
            Email::ThankYou { decision } => format!("thank_you_{}", decision.as_str()),
            e => e.kind().as_str().to_owned(),
        };
        let name = match (&out.email, &out.email) {
            (Email::Outcome(Outcome::Declined { decision, .. }), _) => {
                format!("{name}_{}", decision.as_str())
            }
            _ => name,
        };
        let name = match out.to {
            Audience::Party(r) => format!("{name}_to_{}", r.as_str()),
            _ => name,
        };
        snapshot(&name, &c);
    }
}

#[test]
fn request_problem_email() {
    let c = composer()
        .compose_problem(
            &samples::intro().connector,
            "Fwd: Intro: Alice <> Bob",
            Some(&MessageId::new("req-9@example.com")),
            "I couldn't find an address for Bob. Add a line like \"Bob <their@address>\" to your note and send it again.",
            Timestamp::UNIX_EPOCH,
        )
        .expect("composes");
    snapshot("request_problem_email", &c);
}

#[test]
fn html_alternative_is_escaped_and_carries_the_same_words() {
    let (intro, out) = samples::all().remove(1);
    let c = composer().compose(&intro, &out, Timestamp::UNIX_EPOCH).expect("composes");
    let msg = MessageParser::default().parse(&c.bytes).expect("parses");
    let html = msg.body_html(0).expect("html part").into_owned();
    assert!(html.contains("<blockquote"), "{html}");
    assert!(html.contains("Would you like to meet Alice Able?"));
    assert!(html.contains("If you&#39;re swamped, no worries"), "{html}");
    insta::assert_snapshot!(html);
}

#[test]
fn consent_notes_never_show_the_other_partys_address() {
    let composer = composer();
    for (intro, out) in samples::all() {
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
    let (intro, out) = samples::all().into_iter().find(|(_, o)| o.email == Email::Introduction).expect("sample");
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
    let (mut intro, out) = samples::all().remove(1);
    intro.note = "Alice (alice@example.net) is great; reach Bob at <bob.private@example.org>.".into();
    intro.summary = "Hi! Alice Able <alice@example.net>".into();
    let c = composer().compose(&intro, &out, Timestamp::UNIX_EPOCH).expect("composes");
    let text = String::from_utf8_lossy(&c.bytes);
    assert!(!text.contains("alice@example.net"), "{text}");
    assert!(!text.contains("bob.private@example.org"), "{text}");
    assert!(text.contains("Alice is great; reach Bob at."), "{text}");
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
