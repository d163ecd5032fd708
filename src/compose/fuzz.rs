//! Composing anything: every kind of email, with names, subjects,
//! summaries, replies and inbound Message-IDs made of whatever the caller
//! gives, each checked for what must hold of mail the bot writes. The
//! `compose` fuzz target feeds it raw bytes; the robustness property test
//! feeds it strings made of the troublesome pieces.

use std::sync::LazyLock;

use jiff::Timestamp;

use super::{Composed, Composer, Ids, Templates, samples};
use crate::core::{Address, Audience, Email, EmailKind, Held, MessageId, Outgoing, Person, Role};

static COMPOSER: LazyLock<Result<Composer, String>> = LazyLock::new(|| {
    let templates = Templates::load(None).map_err(|e| e.to_string())?;
    let bot_address = Address::parse("intros@example.com").map_err(|e| e.to_string())?;
    Ok(Composer {
        templates,
        bot_value: super::bot_value("Intro Bot", &bot_address),
        bot_display: super::display_name("Intro Bot"),
        bot_address,
        bot_name: "Intro Bot".into(),
        requester_implied: false,
        follow_up_after: "7 business days".into(),
        expire_after: "7 business days".into(),
        timezone: jiff::tz::TimeZone::UTC,
        bcc_connector: false,
        ids: Ids::Random,
    })
});

/// Composes every kind of email with `name` as the people's display names
/// (the target's with an address in it), `subject` as the connector's
/// subject and an inbound Message-ID, and `text` as the summary, the note
/// and the replies passed on. Returns how many emails were composed, or
/// what is wrong with one: a compose error, a line over 998 octets, a bare
/// CR or LF, an injected header, mail that does not parse, or the target's
/// address in mail to the requester.
pub fn compose_anything(name: &str, subject: &str, text: &str) -> Result<usize, String> {
    let composer = COMPOSER.as_ref().map_err(Clone::clone)?;
    let mut all: Vec<(Composed, bool)> = Vec::new();
    for sample in samples::all() {
        let (mut intro, out) = (sample.intro, sample.out);
        intro.requester.person.name = name.to_owned();
        intro.target.person.name = format!("{name} (bob@example.org)");
        intro.connector.name = name.to_owned();
        intro.summary = text.to_owned();
        intro.note = text.to_owned();
        intro.target.reply_text = Some(text.to_owned());
        intro.target.last_reply_id = Some(MessageId::new(subject));
        intro.request_message_id = Some(MessageId::new(subject));
        let outs = match out.email {
            Email::UnclearReply { role, after_yes, .. } => {
                vec![Outgoing { to: out.to, email: Email::UnclearReply { role, text: text.to_owned(), after_yes } }]
            }
            // Every reason a reply can be held, each its own wording.
            Email::HeldReply { role, from, .. } => [Held::OtherSender, Held::NoToken, Held::Unauthenticated]
                .into_iter()
                .map(|why| Outgoing {
                    to: out.to,
                    email: Email::HeldReply { role, why, from: from.clone(), text: text.to_owned() },
                })
                .collect(),
            _ => vec![out],
        };
        for out in outs {
            let thread = MessageId::new(subject);
            let composed = composer
                .compose_threaded(&intro, &out, Some(&thread), Timestamp::UNIX_EPOCH)
                .map_err(|e| format!("{:?}: {e}", out.email))?;
            all.push((composed, out.to == Audience::Party(Role::Requester)));
        }
    }
    let connector = Person { name: name.to_owned(), email: samples::intro().connector.email };
    let extra = minijinja::context! { message => text, problem => text };
    let inbound = MessageId::new(subject);
    for kind in [EmailKind::RequestProblem, EmailKind::CommandReply, EmailKind::Help] {
        let composed = composer
            .compose_to_connector(kind, &connector, subject, Some(&inbound), extra.clone(), Timestamp::UNIX_EPOCH)
            .map_err(|e| format!("{kind}: {e}"))?;
        all.push((composed, false));
    }
    for (c, to_requester) in &all {
        well_formed(c)?;
        if *to_requester && String::from_utf8_lossy(&c.bytes).contains("bob@example.org") {
            return Err(format!("{}: the target's address reached the requester", c.kind));
        }
    }
    Ok(all.len())
}

/// What must hold of every email the bot writes.
fn well_formed(c: &Composed) -> Result<(), String> {
    let bytes = &c.bytes;
    if let Some(long) = bytes.split(|b| *b == b'\n').find(|line| line.len() > 999) {
        return Err(format!("{}: a line of {} octets", c.kind, long.len()));
    }
    for (i, b) in bytes.iter().enumerate() {
        let bare = match b {
            b'\n' => i == 0 || bytes[i - 1] != b'\r',
            b'\r' => bytes.get(i + 1) != Some(&b'\n'),
            _ => false,
        };
        if bare {
            return Err(format!("{}: a bare CR or LF at byte {i}", c.kind));
        }
    }
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(bytes.len());
    let head = String::from_utf8_lossy(&bytes[..head_end]);
    if head.split("\r\n").any(|line| line.to_ascii_lowercase().starts_with("bcc:")) {
        return Err(format!("{}: an injected header:\n{head}", c.kind));
    }
    if mail_parser::MessageParser::default().parse(bytes.as_slice()).is_none() {
        return Err(format!("{}: does not parse", c.kind));
    }
    Ok(())
}
