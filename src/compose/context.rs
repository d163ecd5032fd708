//! What a template may say about an intro, for the one who reads it: the
//! people (names to greet and to mention, never an address where a name
//! belongs), what happened to each of them, and the texts to quote.
//!
//! Privacy is decided here, not in the templates: a party's context has no
//! other party's address, no connector's note beyond the line marked for
//! that party, and no address left in the summary or a marked line (they
//! are redacted) until the introduction, which is where addresses meet.

use std::borrow::Cow;

use jiff::civil::Date;
use minijinja::Value;
use serde::Serialize;

use crate::core::{Address, ConsentBy, Guess, Intro, Party, PartyState, Person, Role, is_bare_answer};
use crate::mail::clean;
use crate::mail::request::LONG_SUMMARY_WORDS;

/// Who reads an email, for what it may show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reader {
    /// The connector: sees everything.
    Connector,
    /// One party, before any introduction.
    Party(Role),
    /// Both parties, in the introduction.
    Both,
}

impl Reader {
    fn is_party(self) -> bool {
        matches!(self, Reader::Party(_))
    }
}

/// A person as templates see them. `name` is empty when nobody gave one;
/// `first` is the name to greet them by (titles skipped), empty then too.
pub(super) fn person_value(p: &Person) -> Value {
    let greeting = p.greeting_name();
    super::serde_value(&PersonView {
        name: p.name.trim(),
        first: greeting.unwrap_or_default(),
        email: p.email.as_str(),
        label: p.display_name(),
        call: greeting.unwrap_or_else(|| p.display_name()),
        first_name: p.first_name(),
    })
}

// The template values are structs serialized into minijinja values: the
// same map (`minijinja::context!` makes the same kind, keys in the same
// order), made without checking each key against every key before it and
// without growing the map key by key (a third of making one).

/// [`person_value`]'s fields.
#[derive(Serialize)]
struct PersonView<'a> {
    name: &'a str,
    first: &'a str,
    email: &'a str,
    /// For the connector, who may see addresses: the name, or the address.
    label: &'a str,
    call: &'a str,
    /// The name older template overrides use.
    first_name: &'a str,
}

/// [`party_value`]'s fields.
#[derive(Serialize)]
struct PartyView<'a> {
    role: &'a str,
    name: &'a str,
    first: &'a str,
    /// The full name to mention them by, and the short one; for a party
    /// reading about someone without a name, empty (never an address).
    label: &'a str,
    call: &'a str,
    /// The name older template overrides use (never an address to a party).
    first_name: &'a str,
    email: &'a str,
    state: &'a str,
    asked: bool,
    followed_up: bool,
    /// Whether they had a closing note (a thank-you, or "nothing more is
    /// needed"), so the connector's outcome says whom it told.
    told: bool,
    replied: bool,
    yes_by: &'a str,
    reply_text: &'a str,
    own_words: String,
    /// The connector said a yes put in doubt still stands: the introduction
    /// quotes the yes's words, not the later reply.
    yes_restored: bool,
    /// For the connector asked whether a yes put in doubt still stands:
    /// what the introduction would then quote from that yes (empty for a
    /// bare yes), never the doubtful reply.
    kept_yes_words: String,
    marked: Cow<'a, str>,
    away_until: String,
    /// Their copy of the introduction bounced: they never read it.
    introduction_bounced: bool,
    held: bool,
    held_from: &'a str,
    held_text: &'a str,
    /// What the held reply's words amount to (`yes`, `no`, `unclear`, …).
    held_decision: &'a str,
}

/// A party as templates see them, for `reader`.
pub(super) fn party_value(intro: &Intro, role: Role, reader: Reader) -> Value {
    let p = intro.party(role);
    // A party never sees the other party's address before the introduction.
    let email = match reader {
        Reader::Party(r) if r != role => "",
        _ => p.person.email.as_str(),
    };
    let held = p.held.as_ref().filter(|_| reader == Reader::Connector);
    let label = if reader.is_party() { p.person.name.trim() } else { p.person.display_name() };
    let greeting = p.person.greeting_name();
    super::serde_value(&PartyView {
        role: role.as_str(),
        name: p.person.name.trim(),
        first: greeting.unwrap_or_default(),
        label,
        call: greeting.unwrap_or(label),
        first_name: greeting.unwrap_or(if reader.is_party() { "" } else { p.person.first_name() }),
        email,
        state: p.state.as_str(),
        asked: p.sent.consent,
        followed_up: p.sent.follow_up,
        told: p.sent.closing,
        replied: p.reply_text.is_some(),
        yes_by: p.yes_by.map_or("", ConsentBy::as_str),
        reply_text: if reader == Reader::Connector { p.reply_text.as_deref().unwrap_or_default() } else { "" },
        own_words: own_words(p, reader).unwrap_or_default(),
        yes_restored: p.yes_by == Some(ConsentBy::Connector) && p.yes_words.is_some() && p.yes_words != p.reply_text,
        kept_yes_words: p
            .yes_words
            .as_deref()
            .filter(|_| reader == Reader::Connector)
            .and_then(|w| quotable(w, p))
            .unwrap_or_default(),
        marked: if reader.is_party() { Cow::Owned(redact_addresses(&p.marked)) } else { Cow::Borrowed(&p.marked) },
        away_until: p.away_until.map(format_date).unwrap_or_default(),
        introduction_bounced: p.introduction_bounced,
        held: held.is_some(),
        held_from: held.and_then(|h| h.from.as_ref()).map_or("", Address::as_str),
        held_text: held.map_or("", |h| h.text.as_str()),
        held_decision: held.map_or("", |h| h.decision.as_str()),
    })
}

/// What a party said beyond a bare yes, for the introduction and the
/// connector's outcome (their own words, or the condition the connector
/// read in an unclear reply), without the sign-off and signature under it.
fn own_words(p: &Party, reader: Reader) -> Option<String> {
    if reader.is_party() || p.state != PartyState::Yes {
        return None;
    }
    match p.yes_by {
        Some(ConsentBy::Own | ConsentBy::Connector) => quotable(p.own_words()?, p),
        _ => None,
    }
}

/// `text` as the introduction would quote it for `p`: without the sign-off
/// and signature, and nothing at all for a bare yes.
fn quotable(text: &str, p: &Party) -> Option<String> {
    let words = crate::mail::request::without_sign_off(text, &p.person.name);
    (!is_bare_answer(&words)).then_some(words)
}

/// The summary as `reader` may see it: whole for the connector and for a
/// consent note (addresses redacted there); in the introduction, its first
/// paragraph when it is longer than a blurb (the target has read it all).
pub(super) fn summary_for(intro: &Intro, reader: Reader) -> String {
    match reader {
        Reader::Connector => intro.summary.clone(),
        Reader::Party(_) => redact_addresses(&intro.summary),
        Reader::Both => {
            if intro.summary.split_whitespace().count() <= LONG_SUMMARY_WORDS {
                return intro.summary.clone();
            }
            let first = intro.summary.split("\n\n").next().unwrap_or_default();
            let words: Vec<&str> = first.split_whitespace().collect();
            if words.len() <= 80 { first.trim().to_owned() } else { format!("{} …", words[..80].join(" ")) }
        }
    }
}

/// What the bot guessed, one entry per guess, with whose name and address.
pub(super) fn guesses_value(intro: &Intro) -> Vec<Value> {
    intro
        .guesses
        .iter()
        .map(|g| {
            let (kind, role, words) = match g {
                Guess::Name { role } => ("name", Some(*role), 0),
                Guess::AddressFromMail { role } => ("address_from_mail", Some(*role), 0),
                Guess::AddressFromContacts { role } => ("address_from_contacts", Some(*role), 0),
                Guess::SummaryCut => ("summary_cut", None, 0),
                Guess::LongSummary { words } => ("long_summary", None, *words),
                Guess::NoSummary => ("no_summary", None, 0),
            };
            let party = role.map(|r| party_value(intro, r, Reader::Connector)).unwrap_or(Value::UNDEFINED);
            minijinja::context! { guess => kind, party => party, words => words }
        })
        .collect()
}

/// A date the way people write it in a letter: "Friday 8 January".
pub(super) fn format_date(date: Date) -> String {
    date.strftime("%A %-d %B").to_string()
}

/// Removes email addresses (bare, in angle brackets or parentheses) from a
/// text, and what they leave dangling ("reach her at ." or "| ").
pub(super) fn redact_addresses(text: &str) -> String {
    static ADDRESS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // In any script and with any at sign that reads as one (`mail::clean`).
        let pattern = format!(r"[ \t]*(?:<\s*|\()?{}(?:\s*>|\))?", clean::ADDRESS_IN_ANY_SCRIPT);
        regex::Regex::new(&pattern).expect("static regex")
    });
    static DANGLING: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?mi)(?:[ \t]+(?:at|is|on|via|to):?|[ \t]*[|·•,;:/–-])+[ \t]*([.!?]?)[ \t]*$")
            .expect("static regex")
    });
    let without = ADDRESS.replace_all(text, "");
    if without.len() == text.len() {
        return text.to_owned();
    }
    DANGLING.replace_all(&without, "$1").into_owned()
}

/// An open intro as `status` lists it.
#[derive(Debug, Serialize)]
pub(crate) struct StatusLine {
    /// "Priya Shah <> Bob Martin".
    pub(crate) title: String,
    /// Whose answer it waits for.
    pub(crate) waiting_for: Vec<Waiting>,
    /// Whose answer waits on the connector (an unclear or held reply).
    pub(crate) yours_to_decide: Vec<String>,
    /// Waiting for the connector's `send` after a preview.
    pub(crate) awaiting_send: bool,
    /// Whole days since it started.
    pub(crate) days: i64,
}

/// Someone an open intro waits for.
#[derive(Debug, Serialize)]
pub(crate) struct Waiting {
    /// Their name, or their address.
    pub(crate) name: String,
    /// "Monday 7 December", when their out-of-office said so.
    pub(crate) away_until: String,
}

impl StatusLine {
    /// How `intro` stands at `days` old.
    pub(crate) fn of(intro: &Intro, days: i64) -> StatusLine {
        let decide = intro.for_connector_to_decide();
        let waiting_for = intro
            .waiting_for()
            .into_iter()
            .filter(|r| !decide.contains(r))
            .map(|r| {
                let p = intro.party(r);
                Waiting {
                    name: p.person.display_name().to_owned(),
                    away_until: p.away_until.map(format_date).unwrap_or_default(),
                }
            })
            .collect();
        StatusLine {
            title: intro.title(),
            waiting_for,
            yours_to_decide: decide.iter().map(|r| intro.party(*r).person.display_name().to_owned()).collect(),
            awaiting_send: intro.awaiting_send,
            days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_leaves_nothing_dangling() {
        assert_eq!(redact_addresses("+1 415 555 0199 | priya@startup.io"), "+1 415 555 0199");
        assert_eq!(redact_addresses("You can reach her at priya@startup.io."), "You can reach her.");
        assert_eq!(redact_addresses("Bob's email is bob@x.com\nHe's great."), "Bob's email\nHe's great.");
        assert_eq!(redact_addresses("Priya (priya@startup.io) is great."), "Priya is great.");
        assert_eq!(redact_addresses("No address here: fine."), "No address here: fine.");
    }

    /// Red team: addresses a person reads as addresses, outside ASCII.
    #[test]
    fn addresses_in_any_script_are_redacted() {
        for (text, left) in [
            ("Reach Bob at bob＠b.example.", "Reach Bob."),
            ("Reach Bob at bob﹫b.example.", "Reach Bob."),
            ("Reach Bob at ｂｏｂ＠ｂ．ｅｘａｍｐｌｅ.", "Reach Bob."),
            ("Jörg (jörg@bücher.example) is great.", "Jörg is great."),
            ("Иван: иван@пример.рф", "Иван"),
            ("Write to 李@例子.中国 today.", "Write to today."),
            ("Punycode: bob@xn--bcher-kva.xn--p1ai", "Punycode"),
            ("Spaced: bob @ b.example", "Spaced"),
            ("<mailto:bob@b.example> wrote", "wrote"),
        ] {
            assert_eq!(redact_addresses(text).trim(), left, "{text}");
        }
        // Not addresses: a handle, a time, a price.
        for text in ["Ping @alice on the forum", "See you @ 5pm.", "Two @ 3.50 each"] {
            assert_eq!(redact_addresses(text), text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Random words around an address in any script, with any at
        /// sign: nothing of the address reaches a party.
        #[test]
        fn no_address_in_any_script_survives_redaction(
            (before, address, after) in crate::mail::clean::tests::text_with_an_address(),
        ) {
            let text = format!("{before}{address}{after}");
            let shown = redact_addresses(&text);
            proptest::prop_assert!(!shown.contains(crate::mail::clean::AT_SIGNS), "{text:?} -> {shown:?}");
        }
    }

    /// Regression: "Yes, with pleasure.\n\nBest,\nJosé" went into the
    /// introduction whole, and "Ja, gerne! Danke." as words of their own.
    #[test]
    fn own_words_are_more_than_a_yes_and_its_sign_off() {
        let words = |reply: &str, by: ConsentBy, reader: Reader| {
            let mut intro = super::super::samples::intro();
            let bob = &mut intro.target;
            bob.state = PartyState::Yes;
            bob.yes_by = Some(by);
            bob.reply_text = Some(reply.to_owned());
            own_words(&intro.target, reader)
        };
        assert_eq!(words("Yes, with pleasure.\n\nBest,\nBob", ConsentBy::Own, Reader::Both), None);
        assert_eq!(words("Ja, gerne! Danke.", ConsentBy::Own, Reader::Both), None);
        assert_eq!(
            words(
                "Yes. Tuesdays are easiest.\n\nBob Busy\nAdvisor | Example Corp\n+1 555 0100",
                ConsentBy::Own,
                Reader::Both
            )
            .as_deref(),
            Some("Yes. Tuesdays are easiest.")
        );
        // The connector's outcome says what went into the introduction; a
        // party's own notes never carry the other's words.
        let condition = "Maybe - questions by email first?";
        assert_eq!(words(condition, ConsentBy::Connector, Reader::Connector).as_deref(), Some(condition));
        assert_eq!(words(condition, ConsentBy::Connector, Reader::Party(Role::Requester)), None);
        assert_eq!(words(condition, ConsentBy::Implied, Reader::Both), None);
    }

    /// `party_value` as `minijinja::context!` made it before the typed
    /// view: the reference the view is held to.
    fn party_value_reference(intro: &Intro, role: Role, reader: Reader) -> Value {
        let p = intro.party(role);
        let shown = |text: &str| if reader.is_party() { redact_addresses(text) } else { text.to_owned() };
        let email = match reader {
            Reader::Party(r) if r != role => "",
            _ => p.person.email.as_str(),
        };
        let held = p.held.as_ref().filter(|_| reader == Reader::Connector);
        let label = if reader.is_party() { p.person.name.trim() } else { p.person.display_name() };
        minijinja::context! {
            role => role.as_str(),
            name => p.person.name.trim(),
            first => p.person.greeting_name().unwrap_or_default(),
            label => label,
            call => p.person.greeting_name().unwrap_or(label),
            first_name => p.person.greeting_name().unwrap_or(if reader.is_party() { "" } else { p.person.first_name() }),
            email => email,
            state => p.state.as_str(),
            asked => p.sent.consent,
            followed_up => p.sent.follow_up,
            told => p.sent.closing,
            replied => p.reply_text.is_some(),
            yes_by => p.yes_by.map_or("", ConsentBy::as_str),
            reply_text => if reader == Reader::Connector { p.reply_text.as_deref().unwrap_or_default() } else { "" },
            own_words => own_words(p, reader).unwrap_or_default(),
            yes_restored => p.yes_by == Some(ConsentBy::Connector) && p.yes_words.is_some() && p.yes_words != p.reply_text,
            kept_yes_words => p.yes_words.as_deref().filter(|_| reader == Reader::Connector).and_then(|w| quotable(w, p)).unwrap_or_default(),
            marked => shown(&p.marked),
            away_until => p.away_until.map(format_date).unwrap_or_default(),
            introduction_bounced => p.introduction_bounced,
            held => held.is_some(),
            held_from => held.and_then(|h| h.from.as_ref()).map_or("", Address::as_str),
            held_text => held.map_or("", |h| h.text.as_str()),
            held_decision => held.map_or("", |h| h.decision.as_str()),
        }
    }

    /// The typed views make the maps `context!` made: the same keys in the
    /// same order with the same values (their debug form shows all three),
    /// for every party of every sample intro, read by everyone.
    #[test]
    fn typed_views_are_the_context_maps() {
        let readers = [Reader::Connector, Reader::Both, Reader::Party(Role::Requester), Reader::Party(Role::Target)];
        let mut compared = 0;
        for sample in super::super::samples::all() {
            for reader in readers {
                for role in Role::BOTH {
                    let view = party_value(&sample.intro, role, reader);
                    let reference = party_value_reference(&sample.intro, role, reader);
                    let shown = format!("{view:?}");
                    assert!(shown.contains("'held_decision': "), "the debug form shows the entries: {shown}");
                    assert_eq!(shown, format!("{reference:?}"), "{} {role:?} {reader:?}", sample.name);
                    compared += 1;
                }
            }
            let p = &sample.intro.connector;
            let reference = minijinja::context! {
                name => p.name.trim(),
                first => p.greeting_name().unwrap_or_default(),
                email => p.email.as_str(),
                label => p.display_name(),
                call => p.greeting_name().unwrap_or_else(|| p.display_name()),
                first_name => p.first_name(),
            };
            assert_eq!(format!("{:?}", person_value(p)), format!("{reference:?}"));
        }
        assert!(compared > 100, "{compared}");
    }

    #[test]
    fn dates_read_like_a_letter() {
        assert_eq!(format_date("2027-01-08".parse().expect("date")), "Friday 8 January");
    }
}
