//! Forwarded messages: the forwarder's note above, the original's headers
//! and body below, in the formats mail clients write.
//!
//! General rules rather than per-client cases:
//! - a `message/rfc822` attachment is the original, whole;
//! - otherwise the body is searched for the start of an inline forward:
//!   a separator line (words between runs of dashes in any language, a rule
//!   of underscores, a client's own intro line such as `Begin forwarded
//!   message:`), any line ending in `:` right before a header block, or a
//!   header block itself;
//! - the header block is read structurally (see [`super::history::fields`]):
//!   a run of `Field: value` lines in any order, script and punctuation,
//!   with the field names of every client × locale of the vocabulary table
//!   and, for names it lacks, the shape of the values; also when a client
//!   ran the fields together on one line;
//! - `>` quoting and a common indentation around the original are removed;
//!   no byte-order mark reaches the note or the body;
//! - an attribution line (`On … wrote:`, `Op … heeft … geschreven:`)
//!   counts as a forward only when the subject says it is one (`Fwd:`,
//!   `FW:`, `TR:` …), because the same line starts every reply.
//!
//! The words (field names, separators, attributions, subject prefixes,
//! footers) are the shared vocabulary of [`super::history`]; this module
//! only assembles a [`Forward`] from what it finds.

use mail_parser::Message;

use super::history::fields::{self, Field};
use super::history::{self, address, attribution, footer, unquote};

use super::Mention;
use crate::core::Person;

/// Every `Name <address>`, `Name [mailto:address]` or bare address in a
/// text (the finder of [`super::history::address`]).
pub use super::history::address::addresses;

/// A forwarded message, as far as it could be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forward {
    /// The forwarder's own words above the forward.
    pub note: String,
    /// The original's author.
    pub from: Option<Mention>,
    /// The original's `To`.
    pub to: Vec<Mention>,
    /// The original's `Cc`.
    pub cc: Vec<Mention>,
    /// The original's subject.
    pub subject: String,
    /// The original's date, as written.
    pub date: String,
    /// The original's body.
    pub body: String,
}

/// Finds the forwarded original in a message.
pub fn parse_forward(msg: &Message<'_>) -> Option<Forward> {
    if let Some(inner) = msg.attachments().find_map(|p| p.message()) {
        let person = |a: &mail_parser::Addr<'_>| {
            a.address().and_then(|e| person(a.name().unwrap_or_default(), e)).map(Mention::from)
        };
        let list = |a: Option<&mail_parser::Address<'_>>| -> Vec<Mention> {
            a.map(|a| a.iter().filter_map(person).collect()).unwrap_or_default()
        };
        return Some(Forward {
            note: crate::mail::body_text(msg).map(|b| history::without_bom(&b).trim().to_owned()).unwrap_or_default(),
            from: inner.from().and_then(|a| a.first()).and_then(person),
            to: list(inner.to()),
            cc: list(inner.cc()),
            subject: inner.subject().unwrap_or_default().to_owned(),
            date: inner.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
            body: crate::mail::body_text(inner).map(|b| history::without_bom(&b).trim().to_owned()).unwrap_or_default(),
        });
    }
    let body = crate::mail::body_text(msg)?;
    parse_forward_text(&body, msg.subject().unwrap_or_default())
}

/// Finds an inline forward in a plain-text body; `subject` is the outer
/// message's subject (it decides whether an attribution line is a forward).
pub fn parse_forward_text(body: &str, subject: &str) -> Option<Forward> {
    let body = history::without_bom(body);
    let lines: Vec<&str> = body.lines().map(|l| l.trim_end_matches('\r')).collect();
    let forward_subject = history::is_forward_subject(subject);
    // The note above line `i` is empty when no text comes before `i`, or
    // when the first text is a footer (which the note never includes).
    let first_text = lines.iter().position(|l| !l.trim().is_empty());
    let note_is_empty = |i: usize| first_text.is_none_or(|t| t >= i || footer::is_footer(lines[t]));
    for i in 0..lines.len() {
        let (depth, line) = unquote(lines[i]);
        if line.trim().is_empty() {
            continue;
        }
        // A separator with the header fields run on after it on the same
        // line (`----- Forwarded Message ----- From: …To: …`).
        if let Some((_, rest)) = history::dashed_words(line) {
            let run = fields::split_run_together(rest);
            if run.first().is_some_and(|(f, _)| *f == Field::From) {
                let mut fwd = Forward { note: note_before(&lines, i), ..Forward::default() };
                for (field, value) in run {
                    set(&mut fwd, field, &value);
                }
                fwd.body = body_after(&lines[i + 1..], depth);
                return Some(fwd);
            }
        }
        // A separator line, or a "…:" line right before a header block.
        let trimmed = line.trim_end();
        let separator = history::separator(line).is_some()
            || ((trimmed.ends_with(':') || trimmed.ends_with('：'))
                && fields::field_line(line)
                    .is_none_or(|(name, v)| v.trim().is_empty() && fields::field_of(name).is_none())
                && starts_header_block(&lines[i + 1..], depth));
        let start = if separator {
            Some(i + 1)
        } else if (forward_subject || note_is_empty(i)) && starts_header_block(&lines[i..], depth) {
            // A bare header block in a reply ("RE:") is the quoted thread,
            // not a forward.
            Some(i)
        } else {
            None
        };
        if let Some(start) = start
            && let Some(mut fwd) = read_headers_and_body(&lines[start..], depth)
        {
            fwd.note = note_before(&lines, i);
            return Some(fwd);
        }
        if forward_subject && let Some(fwd) = attributed(&lines, i, depth, subject) {
            return Some(fwd);
        }
    }
    None
}

/// A forward introduced by an attribution line at `i` (the address on it
/// or wrapped onto the next line).
fn attributed(lines: &[&str], i: usize, depth: usize, subject: &str) -> Option<Forward> {
    let line = unquote(lines[i]).1;
    let trimmed = line.trim_end();
    let ends_here = trimmed.ends_with(':') || trimmed.ends_with('：');
    let next = lines.get(i + 1).map(|l| unquote(l).1.trim()).unwrap_or_default();
    let prev = if i > 0 { unquote(lines[i - 1]).1.trim() } else { "" };
    let (start, joined, skip) = if ends_here {
        if line.contains('@') || !prev.contains('@') {
            (i, line.trim().to_owned(), 1)
        } else {
            (i - 1, format!("{prev} {}", line.trim()), 1)
        }
    } else if next.ends_with(':') || next.ends_with('：') {
        (i, format!("{} {next}", line.trim()), 2)
    } else {
        return None;
    };
    let matched = attribution::attribution(&joined);
    // The template's author; else, for a line worded differently from the
    // table (or a slot without an address), a reply verb and an address.
    let from = matched.as_ref().and_then(|a| a.author.clone()).filter(|p| p.email.is_some()).or_else(|| {
        (matched.is_some() || attribution::has_verb(&joined)).then(|| attribution_author(&joined)).flatten()
    })?;
    let date =
        matched.map(|a| a.date).filter(|d| !d.is_empty()).or_else(|| attribution_date(&joined)).unwrap_or_default();
    // No header block: the subject is the outer one without its prefix.
    Some(Forward {
        note: note_before(lines, start),
        from: Some(from),
        subject: history::without_forward_prefix(subject).to_owned(),
        date,
        body: body_after(&lines[(i + skip).min(lines.len())..], depth),
        ..Forward::default()
    })
}

/// The author of an attribution the templates do not know: the first
/// address, named by what stands before it after any date.
fn attribution_author(line: &str) -> Option<Mention> {
    let mut from = addresses(line).into_iter().next()?;
    // Connector words before the name ("użytkownik", "heeft") are not part
    // of it: a name is at most a few capitalised words, or quoted.
    let words: Vec<&str> = from.name.split_whitespace().collect();
    if let Some(k) = words.iter().position(|w| w.chars().next().is_some_and(|c| c.is_uppercase() || !c.is_alphabetic()))
    {
        from.name = words[k..].join(" ");
    }
    Some(from.into())
}

/// A date in an attribution line: digits with `/`, `.` or `-` between them.
fn attribution_date(line: &str) -> Option<String> {
    line.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_digit()))
        .find(|w| {
            w.chars().filter(|c| matches!(c, '.' | '/' | '-')).count() >= 1
                && w.chars().filter(char::is_ascii_digit).count() >= 3
        })
        .map(str::to_owned)
}

/// Whether a header block with an author starts at the first non-blank
/// line of `lines`, quoted at least `depth` deep.
fn starts_header_block(lines: &[&str], depth: usize) -> bool {
    // Most lines have no colon: turn them away before reading a block.
    let first = lines.iter().take(3).find(|l| !unquote(l).1.trim().is_empty());
    if !first.is_some_and(|l| l.contains([':', '：'])) {
        return false;
    }
    fields::read_block(lines, depth).is_some_and(|b| b.get(Field::From).is_some())
}

fn read_headers_and_body(lines: &[&str], depth: usize) -> Option<Forward> {
    let block = fields::read_block(lines, depth)?;
    // No From, no forward: the block was something else.
    block.get(Field::From)?;
    let mut fwd = Forward::default();
    for (field, value) in &block.fields {
        set(&mut fwd, *field, value);
    }
    fwd.body = body_after(&lines[block.lines..], depth);
    Some(fwd)
}

fn set(fwd: &mut Forward, field: Field, value: &str) {
    // Some clients write only a name: keep it, with no address.
    let people = |value: &str| {
        let found = addresses(value);
        if found.is_empty() && !value.trim().is_empty() {
            vec![Mention::name_only(address::clean_name(value))]
        } else {
            found.into_iter().map(Mention::from).collect()
        }
    };
    match field {
        Field::From => {
            if fwd.from.is_none() {
                fwd.from = people(value).into_iter().next();
            }
        }
        Field::To => fwd.to.extend(people(value)),
        Field::Cc => fwd.cc.extend(people(value)),
        Field::Subject => {
            if fwd.subject.is_empty() {
                fwd.subject = value.trim().to_owned();
            }
        }
        Field::Date => {
            if fwd.date.is_empty() {
                fwd.date = value.trim().to_owned();
            }
        }
        Field::ReplyTo => {}
    }
}

/// The original's body: quoting and common indentation removed, trimmed.
fn body_after(lines: &[&str], depth: usize) -> String {
    let unquoted: Vec<&str> = lines
        .iter()
        .map(|l| {
            let mut rest = *l;
            for _ in 0..depth {
                let t = rest.trim_start();
                rest = t.strip_prefix('>').map(|r| r.strip_prefix(' ').unwrap_or(r)).unwrap_or(t);
            }
            rest
        })
        .collect();
    // Outlook indents a quoted original by four spaces; mixed quoting (some
    // lines `> `, some not) is stripped line by line.
    let indent = unquoted
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let body: Vec<&str> = unquoted
        .iter()
        // Only ASCII spaces are removed, so the cut is always on a char
        // boundary (a line of other whitespace, like U+00A0, keeps it).
        .map(|l| &l[l.bytes().take(indent).take_while(|b| *b == b' ').count()..])
        .map(|l| if depth == 0 { unquote(l).1 } else { l })
        .collect();
    body.join("\n").trim().to_owned()
}

/// The forwarder's words above line `i`, without a mobile footer or
/// signature under them ("Sent with Proton Mail secure email.").
fn note_before(lines: &[&str], i: usize) -> String {
    let mut note = &lines[..i];
    if let Some(cut) = note.iter().position(|l| footer::is_footer(l)) {
        note = &note[..cut];
    }
    note.join("\n").trim().to_owned()
}

/// A candidate found here becomes a person only through the one address
/// parser ([`Person::parse`]); one it rejects is no candidate.
fn person(name: &str, email: &str) -> Option<Person> {
    let name = address::clean_name(name);
    let name = if name.eq_ignore_ascii_case(email.trim()) { String::new() } else { name };
    Person::parse(&name, email).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_fuzz_crash_dedent_inside_a_non_breaking_space() {
        // Found by `scripts/fuzz` (forward): a blank-looking line of U+00A0
        // under an indented original was cut inside the character.
        let body =
            "---------- Forwarded message ---------\nFrom: A <a@b.co>\nTo: c@d.co\n\n    text\n \u{a0}\u{a0}\n    more";
        let fwd = parse_forward_text(body, "Fwd: x").expect("a forward");
        assert!(fwd.body.starts_with("text"), "{:?}", fwd.body);
    }

    #[test]
    fn a_reply_is_not_a_forward() {
        let body =
            "That's true!\n\nOn Wed, Oct 27, 2021 at 9:31 AM John Doe <john.doe@acme.com>\nwrote:\n\n> Unicum iter.";
        assert_eq!(parse_forward_text(body, "Re: Integer"), None);
        assert!(parse_forward_text(body, "Fwd: Integer").is_some());
    }
}
