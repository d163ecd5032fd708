//! Intro requests: a connector forwards the requester's summary with the
//! subject `Intro: Requester <> Target`, or writes a fresh one naming both.
//!
//! - Names come from the subject, the names the connector chose: reply and
//!   forward prefixes in many languages are peeled off; the separator may be
//!   `<>`, `< >`, `<->`, `<=>` or `↔`; a parenthesized part (a company) is
//!   dropped. A header's display name may complete a subject's name
//!   ("Priya" → "Priya Shah"); words in prose never make a name.
//! - The requester's address is the forwarded message's author (an inline
//!   forward or a `message/rfc822` attachment); in a fresh email, the address
//!   the text puts next to the requester's name.
//! - The target's address comes from the connector's note (the address the
//!   words around it give to the target, or its only address), else the
//!   original's `To`/`Cc`, else the connector's contacts; the last two are
//!   guesses.
//! - The summary is the requester's blurb (see [`blurb`]); the note is the
//!   connector's, private but for the lines marked for a party (see
//!   [`note`]).
//!
//! What had to be guessed is listed in [`Request::guesses`], so the
//! connector can see what each party would read first. When anything is
//! missing or ambiguous, a [`RequestProblem`] says what and how to fix it.

mod blurb;
pub(crate) use blurb::without_sign_off;
pub(crate) mod names;
mod note;

use std::sync::LazyLock;

use mail_parser::Message;
use regex::Regex;

use self::names::Parties;
use super::Mention;
pub use crate::core::Guess;
use crate::core::{Address, Person, Role};

/// A request the bot can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Who forwarded it.
    pub connector: Person,
    /// Who wants the introduction (the name may be empty: never an address).
    pub requester: Person,
    /// Whom they want to meet (the name may be empty: never an address).
    pub target: Person,
    /// The requester's blurb: no greeting to the connector, chatter about
    /// the forwarding, sign-off, signature or quoted history.
    pub summary: String,
    /// The connector's words, whole: for the bot and the connector only.
    pub note: String,
    /// What the connector marked for the requester (`For Priya: …`).
    pub for_requester: String,
    /// What the connector marked for the target (`For Bob: …`, `Why: …`).
    pub for_target: String,
    /// What the bot had to guess, in the order it guessed.
    pub guesses: Vec<Guess>,
}

/// A summary longer than this many words is more than a forwardable blurb.
pub const LONG_SUMMARY_WORDS: usize = 200;

/// Why a message could not be read as a request, or will not be acted on.
/// The `Display` text is for logs and `inspect`; the connector's note is
/// the `request_problem` template, keyed by the `kind` of its JSON form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
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
    /// More than one address could be the requester's.
    #[error(
        "I found more than one possible address for {name} ({candidates}). Send it again with only the right one next to their name, written as \"{name} <their@address>\"."
    )]
    AmbiguousRequester {
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
    /// A party asked never to get introduction requests.
    #[error("{name} has asked not to receive introduction requests")]
    Suppressed {
        /// Who.
        name: String,
    },
    /// The connector named themselves as a party.
    #[error("You appear as {role} yourself ({email}). Forward the requester's own email, so I can tell you apart.")]
    ConnectorIsParty {
        /// `the requester` or `the target`.
        role: String,
        /// The connector's address.
        email: Address,
    },
    /// A party's address is the bot's own (or a plus form of it).
    #[error("{email} is the bot's own address")]
    BotIsParty {
        /// The address.
        email: Address,
    },
    /// A limit (`[limits]`) says no, for now; the engine decides which.
    #[error("not started: {limit}")]
    Limit {
        /// Which limit, for the template.
        limit: Limit,
        /// Whom it is about (a name, or the two names of a pair).
        name: String,
        /// How many so far (asks, emails, intros, ignored asks).
        count: usize,
        /// For how many days it holds.
        days: u64,
    },
}

/// The limits a request can run into (`[limits]`), by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// The connector started `intros_per_connector_per_day` today.
    IntrosToday,
    /// The same two people are being asked already.
    PairOpen,
    /// The same two people were asked within the cooldown and it did not go ahead.
    PairDeclined,
    /// A party left three asks in a row unanswered: resting for the cooldown.
    Resting,
    /// The target was asked `asks_per_target_per_30_days` times.
    AskedEnough,
    /// A party got `emails_per_address_per_day` emails today.
    WrittenEnough,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::IntrosToday => "intros_per_connector_per_day",
            Limit::PairOpen => "pair already asked",
            Limit::PairDeclined => "pair declined within cooldown",
            Limit::Resting => "ignored asks, resting for cooldown",
            Limit::AskedEnough => "asks_per_target_per_30_days",
            Limit::WrittenEnough => "emails_per_address_per_day",
        })
    }
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
/// A side may be an address when the connector had no name for them.
pub fn parse_subject(subject: &str) -> Option<(String, String)> {
    let mut s = subject.trim();
    while let Some(m) = SUBJECT_PREFIX.find(s) {
        s = &s[m.end()..];
    }
    let caps = SUBJECT.captures(s)?;
    let clean = |n: &str| {
        let n = PARENTHESIZED.replace_all(n, "");
        n.split_whitespace().collect::<Vec<_>>().join(" ").trim_matches(['"', '\'', '<', '>']).trim().to_owned()
    };
    let (a, b) = (clean(&caps[1]), clean(&caps[2]));
    (!a.is_empty() && !b.is_empty()).then_some((a, b))
}

/// One side of the subject: a name, or an address standing in for one.
fn side(subject_part: &str) -> (String, Option<Address>) {
    if subject_part.contains('@') {
        let email = subject_part.split_whitespace().find(|w| w.contains('@')).unwrap_or(subject_part);
        (String::new(), Address::parse(email.trim_matches(['<', '>', '"', '(', ')', ','])).ok())
    } else {
        (subject_part.to_owned(), None)
    }
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
    let (requester_part, target_part) =
        parse_subject(msg.subject().unwrap_or_default()).ok_or(RequestProblem::NotARequest)?;
    let (requester_name, requester_in_subject) = side(&requester_part);
    let (target_name, target_in_subject) = side(&target_part);
    let parties = Parties::new(&requester_name, &target_name);
    let mut guesses = Vec::new();
    let body = crate::mail::body_text(msg).map(|b| b.into_owned()).unwrap_or_default();
    let forwarded = super::forward::parse_forward(msg).map(innermost);
    // The name for a problem note: the subject's, or what stood in for it.
    let label = |name: &str, part: &str| if name.is_empty() { part.to_owned() } else { name.to_owned() };

    let usable = |email: &Address| !connector.has_address(email) && !bot.is_some_and(|b| b.same_mailbox(email));

    let (author, recipients, note, original) = match forwarded {
        Some(f) => (
            f.from.and_then(Mention::into_person),
            f.to.into_iter().chain(f.cc).filter_map(Mention::into_person).collect::<Vec<_>>(),
            f.note,
            f.body,
        ),
        None => (None, Vec::new(), body.trim().to_owned(), String::new()),
    };
    let blurb = blurb::cut(&original, &connector.name, &requester_name, &target_name);
    let in_note = note::addresses(&note, &parties);

    // The requester.
    let requester_email = match (&author, &requester_in_subject) {
        (Some(a), _) if usable(&a.email) => a.email.clone(),
        (_, Some(email)) if usable(email) => email.clone(),
        (_, _) => {
            let owned: Vec<&note::Found> =
                in_note.iter().filter(|f| f.owner == Some(Role::Requester) && usable(&f.email)).collect();
            match owned.as_slice() {
                [one] => one.email.clone(),
                [] => {
                    if connector_is(&parties, Role::Requester, connector) {
                        return Err(RequestProblem::ConnectorIsParty {
                            role: "the requester".into(),
                            email: connector.email.clone(),
                        });
                    }
                    return Err(RequestProblem::NoRequesterAddress { name: label(&requester_name, &requester_part) });
                }
                many => {
                    return Err(RequestProblem::AmbiguousRequester {
                        name: label(&requester_name, &requester_part),
                        candidates: join_emails(many.iter().map(|f| &f.email)),
                    });
                }
            }
        }
    };
    let not_requester = |email: &Address| usable(email) && !email.same_mailbox(&requester_email);

    // The target: the connector's word first, then the mail, then contacts.
    let from_note: Vec<&Address> =
        in_note.iter().filter(|f| f.owner == Some(Role::Target) && not_requester(&f.email)).map(|f| &f.email).collect();
    let unowned: Vec<&Address> =
        in_note.iter().filter(|f| f.owner.is_none() && not_requester(&f.email)).map(|f| &f.email).collect();
    let target_email = match (from_note.as_slice(), &target_in_subject) {
        ([one], _) => (*one).clone(),
        ([], Some(email)) if not_requester(email) => email.clone(),
        ([], _) if unowned.len() == 1 => unowned[0].clone(),
        ([], _) if !unowned.is_empty() => {
            return Err(RequestProblem::AmbiguousTarget {
                name: label(&target_name, &target_part),
                candidates: join_emails(unowned.iter().copied()),
            });
        }
        ([], _) => match from_the_mail(&recipients, &blurb.tail, &original, &parties, &not_requester) {
            Ok(Some(email)) => {
                guesses.push(Guess::AddressFromMail { role: Role::Target });
                email
            }
            Ok(None) => match from_contacts(contacts, &target_name) {
                Some(p) if not_requester(&p.email) => {
                    guesses.push(Guess::AddressFromContacts { role: Role::Target });
                    p.email.clone()
                }
                _ if connector_is(&parties, Role::Target, connector) => {
                    return Err(RequestProblem::ConnectorIsParty {
                        role: "the target".into(),
                        email: connector.email.clone(),
                    });
                }
                _ => return Err(RequestProblem::NoTargetAddress { name: label(&target_name, &target_part) }),
            },
            Err(many) => {
                return Err(RequestProblem::AmbiguousTarget {
                    name: label(&target_name, &target_part),
                    candidates: many,
                });
            }
        },
        (many, _) => {
            return Err(RequestProblem::AmbiguousTarget {
                name: label(&target_name, &target_part),
                candidates: join_emails(many.iter().copied()),
            });
        }
    };
    if target_email.same_mailbox(&requester_email) {
        return Err(RequestProblem::SamePerson { name: label(&target_name, &target_part), email: target_email });
    }

    // Names: the subject's, completed by a display name from a header or
    // the contacts file (never from prose).
    let display_names = |email: &Address| -> Vec<String> {
        author
            .iter()
            .chain(recipients.iter())
            .chain(contacts.iter())
            .filter(|p| p.has_address(email))
            .map(|p| p.name.clone())
            .collect()
    };
    let requester_full = complete(&requester_name, &display_names(&requester_email));
    let target_full = complete(&target_name, &display_names(&target_email));
    // What each party may read of the connector's words.
    let mut marked = note::marked(&note, &parties);
    marked.extend(note::marked(&blurb.tail, &parties));

    let mut guessed = Vec::new();
    for (role, name) in [(Role::Requester, &requester_name), (Role::Target, &target_name)] {
        if name.is_empty() {
            guessed.push(Guess::Name { role });
        }
    }
    guessed.extend(guesses);
    if blurb.chatter {
        guessed.push(Guess::SummaryCut);
    }
    let summary = super::reply::without_trailing_footers(&blurb.text).trim().to_owned();
    let words = summary.split_whitespace().count();
    if words == 0 {
        guessed.push(Guess::NoSummary);
    } else if words > LONG_SUMMARY_WORDS {
        guessed.push(Guess::LongSummary { words });
    }
    Ok(Request {
        connector: connector.clone(),
        requester: Person::new(requester_full, requester_email),
        target: Person::new(target_full, target_email),
        summary,
        note: note.trim().to_owned(),
        for_requester: marked.for_requester,
        for_target: marked.for_target,
        guesses: guessed,
    })
}

/// The subject's `name`, or a display name that completes it ("Priya" →
/// "Priya Shah"); a display name alone when the subject had none.
fn complete(name: &str, display_names: &[String]) -> String {
    let usable = display_names.iter().map(|n| n.trim()).filter(|n| !n.is_empty() && !n.contains('@'));
    if name.is_empty() {
        return usable.into_iter().next().unwrap_or_default().to_owned();
    }
    let have = names::tokens(name);
    for full in usable {
        let words = names::tokens(full);
        if words.len() > have.len() && words.starts_with(&have) {
            return full.to_owned();
        }
    }
    name.to_owned()
}

/// Whether the connector is the one the subject names for `role`.
fn connector_is(parties: &Parties, role: Role, connector: &Person) -> bool {
    !connector.name.trim().is_empty() && parties.fits(role, &connector.name)
}

/// The target's address from the forwarded mail itself: its recipients,
/// matched by display name or local part (or the only one), then what the
/// words around an address in the text say. `Err` lists several.
fn from_the_mail(
    recipients: &[Person],
    tail: &str,
    original: &str,
    parties: &Parties,
    usable: &dyn Fn(&Address) -> bool,
) -> Result<Option<Address>, String> {
    let mut candidates: Vec<&Person> = recipients.iter().filter(|p| usable(&p.email)).collect();
    let mut seen = Vec::new();
    candidates.retain(|p| {
        let key = p.email.canonical().clone();
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    let named: Vec<&&Person> = candidates
        .iter()
        .filter(|p| {
            parties.fits(Role::Target, &p.name) || parties.in_local_part(p.email.local_part()) == Some(Role::Target)
        })
        .collect();
    match (named.as_slice(), candidates.as_slice()) {
        ([one], _) => return Ok(Some(one.email.clone())),
        ([], [one]) => return Ok(Some(one.email.clone())),
        ([], []) => {}
        (_, many) => return Err(join_emails(many.iter().map(|p| &p.email))),
    }
    // "Bob's address is …" under the signature or in the text.
    for text in [tail, original] {
        let owned: Vec<Address> = note::addresses(text, parties)
            .into_iter()
            .filter(|f| f.owner == Some(Role::Target) && usable(&f.email))
            .map(|f| f.email)
            .collect();
        if let [one] = owned.as_slice() {
            return Ok(Some(one.clone()));
        }
    }
    Ok(None)
}

/// A contact by full name, or by a first name only one contact has.
fn from_contacts<'a>(contacts: &'a [Person], name: &str) -> Option<&'a Person> {
    if name.trim().is_empty() {
        return None;
    }
    let full: Vec<&Person> = contacts.iter().filter(|p| p.name.trim().eq_ignore_ascii_case(name.trim())).collect();
    if let [one] = full.as_slice() {
        return Some(one);
    }
    let parties = Parties::new("", name);
    let by_word: Vec<&Person> = contacts.iter().filter(|p| parties.fits(Role::Target, &p.name)).collect();
    match by_word.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

fn join_emails<'a>(emails: impl Iterator<Item = &'a Address>) -> String {
    emails.map(Address::as_str).collect::<Vec<_>>().join(", ")
}

/// A forward of a forward: the request is the innermost message, the one the
/// requester wrote; the notes of everyone who passed it on are kept (the
/// outermost first), since a target's address may be in any of them.
fn innermost(mut fwd: super::forward::Forward) -> super::forward::Forward {
    for _ in 0..8 {
        // The forwarded message's own subject says whether it was a forward
        // too: an `On … wrote:` under a plain request is its quoted history.
        let Some(inner) = super::forward::parse_forward_text(&fwd.body, &fwd.subject) else { break };
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

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn carol() -> Person {
        person("Carol Connector", "carol@example.com")
    }

    fn person(name: &str, email: &str) -> Person {
        Person::parse(name, email).expect("valid")
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
        assert_eq!(r.requester, person("Alice Able", "alice@example.net"));
        assert_eq!(r.target, person("Bob", "bob@example.org"));
        assert_eq!(r.summary, "I build mail tools and would love Bob's view on IDLE.");
        assert!(r.note.starts_with("Bob is the IMAP person"));
        assert_eq!((r.for_target.as_str(), r.guesses.as_slice()), ("", &[][..]));
    }

    #[test]
    fn apple_mail_forward_with_target_in_cc() {
        let raw = "From: carol@example.com\r\nSubject: Fwd: Intro: Alice <> Bob\r\n\r\n\
            Begin forwarded message:\r\n\r\nFrom: Alice <alice@example.net>\r\nSubject: Intro: Alice <> Bob\r\n\
            Date: 23 November 2026\r\nTo: Carol <carol@example.com>\r\nCc: Bob Busy <bob@example.org>\r\n\r\nSummary here.\r\n";
        let r = request(raw).expect("a request");
        assert_eq!(r.target.email.as_str(), "bob@example.org");
        assert_eq!(r.target.name, "Bob Busy", "the header's name completes the subject's");
        assert_eq!(r.summary, "Summary here.");
        assert_eq!(r.guesses, [Guess::AddressFromMail { role: Role::Target }]);
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
        assert_eq!(r.requester, person("Alice", "alice@example.net"));
        assert_eq!(r.target, person("Bob", "bob@example.org"));
        // The connector's words are theirs: nothing of them is a summary.
        assert_eq!(r.summary, "");
        assert!(r.note.contains("about IMAP"));
        // So the target would read nothing in Alice's words: a guess, shown first.
        assert_eq!(r.guesses, [Guess::NoSummary]);
    }

    #[test]
    fn the_contacts_file_supplies_a_missing_target_address() {
        let raw = "From: carol@example.com\r\nSubject: Fwd: Intro: Alice <> Bob Busy\r\n\r\n\
            ---------- Forwarded message ---------\r\nFrom: Alice <alice@example.net>\r\nTo: carol@example.com\r\n\r\nHi\r\n";
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
        let contacts = [person("Bob Busy", "bob@example.org"), person("Bobby Tables", "bobby@example.org")];
        let r = parse_request_with_contacts(&msg, &carol(), Some(&bot()), &contacts).expect("found");
        assert_eq!(r.target, person("Bob Busy", "bob@example.org"));
        assert_eq!(r.guesses, [Guess::AddressFromContacts { role: Role::Target }, Guess::NoSummary]);
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
        assert_eq!(r.summary, "I'd love to meet Bob.");
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

    /// The issue's first example: words next to an address are not a name.
    #[test]
    fn regression_bobs_email_is_is_not_a_name() {
        let raw = "From: Carol Connor <carol@example.com>\r\nSubject: Fwd: Intro: Priya Shah <> Bob Martin\r\n\r\n\
            Hey, Bob's email is bob@x.com - he ran partnerships at a bank\r\n\r\n\
            ---------- Forwarded message ---------\r\nFrom: Priya Shah <priya@startup.io>\r\nTo: Carol Connor <carol@example.com>\r\n\
            Subject: Intro: Priya Shah <> Bob Martin\r\n\r\n\
            Hi Carol,\r\n\r\nThanks so much for offering! Here's a short blurb you can forward:\r\n\r\n\
            I'm the founder of Startup, a payments API for small banks.\r\n\r\nThanks,\r\nPriya\r\n\r\n\
            Priya Shah\r\nCEO, Startup\r\n+1 415 555 0199 | priya@startup.io\r\n";
        let r = request(raw).expect("a request");
        assert_eq!(r.requester, person("Priya Shah", "priya@startup.io"));
        assert_eq!(r.target, person("Bob Martin", "bob@x.com"));
        assert_eq!(r.summary, "I'm the founder of Startup, a payments API for small banks.");
        assert_eq!(r.guesses, [Guess::SummaryCut]);
        assert_eq!((r.for_target.as_str(), r.for_requester.as_str()), ("", ""));
    }

    #[test]
    fn a_party_known_only_by_address_has_no_name() {
        let raw = "From: carol@example.com\r\nSubject: Fwd: Intro: ps1987@startup.io <> Bob\r\n\r\nFor Bob: she's great.\r\nbob@x.com\r\n\r\n\
            ---------- Forwarded message ---------\r\nFrom: ps1987@startup.io\r\nTo: carol@example.com\r\n\r\nI build payments.\r\n";
        let r = request(raw).expect("a request");
        assert_eq!(r.requester, person("", "ps1987@startup.io"));
        assert_eq!(r.guesses, [Guess::Name { role: Role::Requester }]);
        assert_eq!(r.for_target, "she's great.");
    }

    #[test]
    fn a_long_summary_is_kept_and_flagged() {
        let long = "word ".repeat(1000);
        let raw = format!(
            "From: carol@example.com\r\nSubject: Fwd: Intro: Alice <> Bob\r\n\r\nbob@example.org\r\n\r\n\
            ---------- Forwarded message ---------\r\nFrom: Alice <alice@example.net>\r\nTo: carol@example.com\r\n\r\n{long}\r\n"
        );
        let r = request(&raw).expect("a request");
        assert_eq!(r.summary.split_whitespace().count(), 1000);
        assert_eq!(r.guesses, [Guess::LongSummary { words: 1000 }]);
    }
}
