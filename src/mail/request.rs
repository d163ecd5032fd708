//! Intro requests: a connector forwards the requester's summary with the
//! subject `Intro: Requester <> Target`, or writes a fresh one naming both.
//!
//! - Subject: reply/forward prefixes in many languages are peeled off; the
//!   separator may be `<>`, `< >`, `<->`, `<=>` or `↔`; a parenthesized part of
//!   a name (a company, a title) is dropped.
//! - The requester is the forwarded message's author (an inline forward or a
//!   `message/rfc822` attachment); in a fresh email, the address written next
//!   to the requester's name.
//! - The target's address comes from the original's `To`/`Cc`, or the
//!   connector's note, matched by name; a single unnamed address in the note
//!   is taken as the target's.
//! - The summary is the requester's own text; the note is the connector's.
//!
//! When anything is missing or ambiguous, a [`RequestProblem`] says what and
//! how to fix it, in words for the connector.

use std::sync::LazyLock;

use mail_parser::Message;
use regex::Regex;

use super::Mention;
use crate::core::{Address, CanonicalAddress, Person};

/// A request the bot can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Who forwarded it.
    pub connector: Person,
    /// Who wants the introduction.
    pub requester: Person,
    /// Whom they want to meet.
    pub target: Person,
    /// The requester's own words.
    pub summary: String,
    /// The connector's words above the forward.
    pub note: String,
}

/// Why a message could not be read as a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestProblem {
    /// The subject is not `Intro: A <> B`.
    #[error(
        "I couldn't find an intro request in this email. Forward the requester's summary with the subject \"Intro: Their Name <> Target Name\", and put the target's address in your note."
    )]
    NotARequest,
    /// The requester's address is nowhere to be found.
    #[error(
        "I couldn't find an address for {name}. Forward their own email (so their address is in it), or write \"{name} <their@address>\" in your note."
    )]
    NoRequesterAddress {
        /// The name from the subject.
        name: String,
    },
    /// The target's address is nowhere to be found.
    #[error(
        "I couldn't find an address for {name}. Add a line like \"{name} <their@address>\" to your note and send it again."
    )]
    NoTargetAddress {
        /// The name from the subject.
        name: String,
    },
    /// More than one address could be the target's.
    #[error(
        "I found more than one possible address for {name} ({candidates}). Send it again with only the right one in your note, written as \"{name} <their@address>\"."
    )]
    AmbiguousTarget {
        /// The name from the subject.
        name: String,
        /// The addresses, comma-separated.
        candidates: String,
    },
    /// Requester and target are the same address.
    #[error("{name} appears to be both the requester and the target ({email}). Check the subject and addresses.")]
    SamePerson {
        /// Who.
        name: String,
        /// The address.
        email: Address,
    },
    /// The connector named themselves as a party.
    #[error("You appear as {role} yourself ({email}). Forward the requester's own email, so I can tell you apart.")]
    ConnectorIsParty {
        /// `the requester` or `the target`.
        role: String,
        /// The connector's address.
        email: Address,
    },
}

static SUBJECT_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(\[[^\]]*\]\s*)?(re|aw|sv|vs|fwd?|fw|wg|tr|rv|enc|doorst|i|r|rif|pd|odp|přep|tr|továbbítás|ynt|İlt)\s*(\[\d+\])?\s*:\s*")
        .expect("static regex")
});

static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*intro(?:duction)?\s*[:\-–]\s*(.+?)\s*(?:<\s*>|<->|<=>|↔|⟷|<>)\s*(.+?)\s*$")
        .expect("static regex")
});

static PARENTHESIZED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\([^)]*\)").expect("static regex"));

/// Parses the names out of an intro subject: `("Alice Able", "Bob Busy")`.
pub fn parse_subject(subject: &str) -> Option<(String, String)> {
    let mut s = subject.trim();
    while let Some(m) = SUBJECT_PREFIX.find(s) {
        s = &s[m.end()..];
    }
    let caps = SUBJECT.captures(s)?;
    let clean = |n: &str| PARENTHESIZED.replace_all(n, "").split_whitespace().collect::<Vec<_>>().join(" ");
    let (a, b) = (clean(&caps[1]), clean(&caps[2]));
    (!a.is_empty() && !b.is_empty()).then_some((a, b))
}

/// Reads an intro request sent by `connector`. The bot's own mailbox
/// (`bot`, with any `+tag`) is excluded from the candidates.
pub fn parse_request(msg: &Message<'_>, connector: &Person, bot: Option<&Address>) -> Result<Request, RequestProblem> {
    parse_request_with_contacts(msg, connector, bot, &[])
}

/// [`parse_request`], falling back to the connector's contacts (from the
/// configured contacts file) for a target whose address the mail lacks.
pub fn parse_request_with_contacts(
    msg: &Message<'_>,
    connector: &Person,
    bot: Option<&Address>,
    contacts: &[Person],
) -> Result<Request, RequestProblem> {
    let (requester_name, target_name) =
        parse_subject(msg.subject().unwrap_or_default()).ok_or(RequestProblem::NotARequest)?;
    let body = crate::mail::body_text(msg).map(|b| b.into_owned()).unwrap_or_default();
    let forwarded = super::forward::parse_forward(msg).map(innermost);

    let (requester, summary, note, mut candidates) = match forwarded {
        Some(f) => {
            let mut candidates: Vec<Person> = f.to.into_iter().chain(f.cc).filter_map(Mention::into_person).collect();
            candidates.extend(addresses_in(&f.note));
            let requester = f.from.and_then(Mention::into_person).filter(|p| !p.has_address(&connector.email));
            (requester, f.body, f.note, candidates)
        }
        None => {
            let candidates = addresses_in(&body);
            let requester = pick_by_name(&candidates, &requester_name).ok().flatten();
            (requester, body.trim().to_owned(), String::new(), candidates)
        }
    };
    let requester = match requester {
        Some(r) => r,
        None => {
            if name_matches(connector, &requester_name) {
                return Err(RequestProblem::ConnectorIsParty {
                    role: "the requester".into(),
                    email: connector.email.clone(),
                });
            }
            return Err(RequestProblem::NoRequesterAddress { name: requester_name });
        }
    };
    candidates.retain(|p| {
        !p.has_address(&requester.email)
            && !p.has_address(&connector.email)
            && !bot.is_some_and(|bot| p.has_address(bot))
    });
    dedupe(&mut candidates);
    let from_contacts = || -> Option<Person> {
        // A full-name match first, then a unique first-name match.
        let full: Vec<&Person> = contacts.iter().filter(|p| p.name.eq_ignore_ascii_case(target_name.trim())).collect();
        if let [one] = full.as_slice() {
            return Some((*one).clone());
        }
        match pick_by_name(contacts, &target_name) {
            Ok(Some(p)) => Some(p),
            _ => None,
        }
    };
    let target = match pick_by_name(&candidates, &target_name) {
        Ok(Some(t)) => t,
        Ok(None) if candidates.len() == 1 => candidates.remove(0),
        Ok(None) => match from_contacts() {
            Some(t) => t,
            None if candidates.is_empty() => return Err(RequestProblem::NoTargetAddress { name: target_name }),
            None => {
                return Err(RequestProblem::AmbiguousTarget {
                    name: target_name,
                    candidates: candidates.iter().map(|c| c.email.as_str()).collect::<Vec<_>>().join(", "),
                });
            }
        },
        Err(many) => {
            return Err(RequestProblem::AmbiguousTarget { name: target_name, candidates: many });
        }
    };
    if target.has_address(&requester.email) {
        return Err(RequestProblem::SamePerson { name: target_name, email: target.email });
    }
    let named = |p: Person, name: &str| {
        if p.name.trim().is_empty() { Person::new(name, p.email) } else { p }
    };
    Ok(Request {
        connector: connector.clone(),
        requester: named(requester, &requester_name),
        target: named(target, &target_name),
        summary: super::reply::without_trailing_footers(&summary).trim().to_owned(),
        note: note.trim().to_owned(),
    })
}

/// A forward of a forward: the request is the innermost message, the one the
/// requester wrote; the notes of everyone who passed it on are kept (the
/// outermost first), since a target's address may be in any of them.
fn innermost(mut fwd: super::forward::Forward) -> super::forward::Forward {
    for _ in 0..8 {
        let Some(inner) = super::forward::parse_forward_text(&fwd.body, "Fwd:") else { break };
        if inner.from.is_none() {
            break;
        }
        let mut notes = fwd.note.clone();
        if !inner.note.is_empty() {
            notes = format!("{notes}\n\n{}", inner.note).trim().to_owned();
        }
        let (to, cc) = (fwd.to.clone(), fwd.cc.clone());
        fwd = inner;
        fwd.note = notes;
        // Recipients of every layer stay candidates for the target.
        fwd.to.extend(to);
        fwd.cc.extend(cc);
    }
    fwd
}

/// Every `Name <address>` or bare address in a text.
fn addresses_in(text: &str) -> Vec<Person> {
    super::forward::addresses(text)
}

fn dedupe(people: &mut Vec<Person>) {
    let mut seen: Vec<CanonicalAddress> = Vec::new();
    people.retain(|p| {
        let key = p.email.canonical().clone();
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
}

fn name_tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|t| t.chars().count() >= 2).map(str::to_lowercase).collect()
}

/// Whether a person's display name or address fits a name from the subject.
fn name_matches(p: &Person, name: &str) -> bool {
    let wanted = name_tokens(name);
    let have = name_tokens(&p.name);
    let local = p.email.local_part().to_lowercase();
    wanted.iter().any(|w| have.contains(w)) || wanted.first().is_some_and(|first| local.contains(first.as_str()))
}

/// The one candidate matching `name`; `Err` with the list when several do.
fn pick_by_name(candidates: &[Person], name: &str) -> Result<Option<Person>, String> {
    let matching: Vec<&Person> = candidates.iter().filter(|p| name_matches(p, name)).collect();
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(many.iter().map(|p| p.email.as_str()).collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn carol() -> Person {
        Person::parse("Carol Connector", "carol@example.com").expect("valid")
    }

    fn bot() -> Address {
        Address::parse("intros@example.com").expect("valid")
    }

    fn request(raw: &str) -> Result<Request, RequestProblem> {
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
        parse_request(&msg, &carol(), Some(&bot()))
    }

    #[test]
    fn subjects() {
        let pair = |a: &str, b: &str| Some((a.to_owned(), b.to_owned()));
        assert_eq!(parse_subject("Intro: Alice <> Bob"), pair("Alice", "Bob"));
        assert_eq!(parse_subject("Fwd: Intro: Alice Able <> Bob Busy"), pair("Alice Able", "Bob Busy"));
        assert_eq!(parse_subject("WG: AW: intro - Alice (Acme) <-> Bob"), pair("Alice", "Bob"));
        assert_eq!(parse_subject("TR: Introduction: Alice ↔ Bob"), pair("Alice", "Bob"));
        assert_eq!(parse_subject("Fw: Intro: Alice < > Bob"), pair("Alice", "Bob"));
        assert_eq!(parse_subject("Lunch?"), None);
        assert_eq!(parse_subject("Intro: Alice <> "), None);
    }

    #[test]
    fn gmail_style_inline_forward_with_target_in_the_note() {
        let raw = "From: Carol <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: Intro: Alice <> Bob\r\n\r\n\
            Bob is the IMAP person I told you about: Bob Busy <bob@example.org>\r\n\r\n\
            ---------- Forwarded message ---------\r\nFrom: Alice Able <alice@example.net>\r\n\
            Date: Mon, 23 Nov 2026 at 09:00\r\nSubject: Intro: Alice <> Bob\r\nTo: Carol <carol@example.com>\r\n\r\n\
            Hi Carol, I build mail tools and would love Bob's view on IDLE.\r\n";
        let r = request(raw).expect("a request");
        assert_eq!(r.requester, Person::parse("Alice Able", "alice@example.net").expect("valid"));
        assert_eq!(r.target, Person::parse("Bob Busy", "bob@example.org").expect("valid"));
        assert_eq!(r.summary, "Hi Carol, I build mail tools and would love Bob's view on IDLE.");
        assert!(r.note.starts_with("Bob is the IMAP person"));
    }

    #[test]
    fn apple_mail_forward_with_target_in_cc() {
        let raw = "From: carol@example.com\r\nSubject: Fwd: Intro: Alice <> Bob\r\n\r\n\
            Begin forwarded message:\r\n\r\nFrom: Alice <alice@example.net>\r\nSubject: Intro: Alice <> Bob\r\n\
            Date: 23 November 2026\r\nTo: Carol <carol@example.com>\r\nCc: Bob Busy <bob@example.org>\r\n\r\nSummary here.\r\n";
        let r = request(raw).expect("a request");
        assert_eq!(r.target.email.as_str(), "bob@example.org");
        assert_eq!(r.summary, "Summary here.");
    }

    #[test]
    fn mobile_footers_are_not_part_of_the_summary_or_the_note() {
        let raw = "From: carol@example.com\r\nSubject: Fwd: Intro: Alice <> Bob\r\n\r\n\
            Worth it. Bob Busy <bob@example.org>\r\n\r\nSent from my iPhone\r\n\r\n\
            Begin forwarded message:\r\n\r\nFrom: Alice <alice@example.net>\r\nSubject: Intro: Alice <> Bob\r\n\
            Date: 23 November 2026\r\nTo: Carol <carol@example.com>\r\n\r\nSummary here.\r\n\r\nEnviado desde mi iPhone\r\n";
        let r = request(raw).expect("a request");
        assert_eq!(r.summary, "Summary here.");
        assert_eq!(r.note, "Worth it. Bob Busy <bob@example.org>");
    }

    #[test]
    fn fresh_email_naming_both() {
        let raw = "From: carol@example.com\r\nSubject: Intro: Alice <> Bob\r\n\r\n\
            Alice Able <alice@example.net> wants to meet Bob Busy <bob@example.org> about IMAP.\r\n";
        let r = request(raw).expect("a request");
        assert_eq!(r.requester.email.as_str(), "alice@example.net");
        assert_eq!(r.target.email.as_str(), "bob@example.org");
    }

    #[test]
    fn the_contacts_file_supplies_a_missing_target_address() {
        let raw = "From: carol@example.com\r\nSubject: Fwd: Intro: Alice <> Bob Busy\r\n\r\n\
            ---------- Forwarded message ---------\r\nFrom: Alice <alice@example.net>\r\nTo: carol@example.com\r\n\r\nHi\r\n";
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
        let contacts = [
            Person::parse("Bob Busy", "bob@example.org").expect("valid"),
            Person::parse("Bobby Tables", "bobby@example.org").expect("valid"),
        ];
        let r = parse_request_with_contacts(&msg, &carol(), Some(&bot()), &contacts).expect("found");
        assert_eq!(r.target.email.as_str(), "bob@example.org");
    }

    #[test]
    fn a_forward_of_a_forward_uses_the_innermost_author() {
        let raw = "From: carol@example.com\r\nSubject: Fwd: Fwd: Intro: Alice <> Bob\r\n\r\n\
            Carol here: Bob Busy <bob@example.org>\r\n\r\n---------- Forwarded message ---------\r\n\
            From: Dan Middle <dan@example.com>\r\nTo: carol@example.com\r\nSubject: Fwd: Intro: Alice <> Bob\r\n\r\n\
            Passing this on.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Alice Able <alice@example.net>\r\n\
            To: dan@example.com\r\nSubject: Intro: Alice <> Bob\r\n\r\nHi, I'd love to meet Bob.\r\n";
        let r = request(raw).expect("a request");
        assert_eq!(r.requester.email.as_str(), "alice@example.net");
        assert_eq!(r.target.email.as_str(), "bob@example.org");
        assert_eq!(r.summary, "Hi, I'd love to meet Bob.");
        assert!(r.note.contains("Carol here") && r.note.contains("Passing this on."), "{}", r.note);
    }

    #[test]
    fn problems_say_what_is_missing() {
        let raw = "From: carol@example.com\r\nSubject: Fwd: Intro: Alice <> Bob\r\n\r\n\
            ---------- Forwarded message ---------\r\nFrom: Alice <alice@example.net>\r\nTo: carol@example.com\r\n\r\nHi\r\n";
        assert_eq!(request(raw), Err(RequestProblem::NoTargetAddress { name: "Bob".into() }));
        let raw = "From: carol@example.com\r\nSubject: hello\r\n\r\nhi\r\n";
        assert_eq!(request(raw), Err(RequestProblem::NotARequest));
        let raw = "From: carol@example.com\r\nSubject: Intro: Alice <> Bob\r\n\r\n\
            alice@example.net, bob@example.org, bob.busy@example.org\r\n";
        assert!(matches!(request(raw), Err(RequestProblem::AmbiguousTarget { .. })));
    }
}
