//! Mail written by machines: RFC 3834 auto-replies, out-of-office and
//! vacation notices, list traffic, and reports about delivery (RFC 3464
//! DSNs) or reading (RFC 8098 MDNs). The bot never answers these and never
//! reads them as a person's decision; only a report that a delivery
//! *failed* marks that party `bounced`.
//!
//! How a message is recognised, in this order:
//! 1. a `multipart/report`: a delivery-status report is a bounce when a
//!    recipient's `Action` is `failed`, delayed when one is `delayed` (the
//!    server still tries), and an ignorable report for `delivered`,
//!    `relayed` or `expanded`; any other report (read receipts, abuse
//!    feedback) is ignorable too;
//! 2. mail from `MAILER-DAEMON`/`postmaster` that is not such a report (old
//!    style bounces): by its subject, failed, delayed or delivered;
//! 3. headers: `Auto-Submitted` other than `no`, `X-Autoreply`,
//!    `X-Autorespond` and their kin, `Precedence: auto_reply|bulk|junk|list`,
//!    `List-*`, an empty return path (`Return-Path: <>`, which RFC 3834 asks
//!    auto-responders to use);
//! 4. the words, for auto-replies that carry none of those headers: the
//!    subject ("Automatic reply:", "Auto:", "Out of Office", "Abwesenheitsnotiz",
//!    "Réponse automatique", … in the twelve languages the decisions know),
//!    or sentences near the top of what the sender wrote (quotes and
//!    forwarded mail left out) that only auto-replies write ("This is an
//!    automatic reply", "I have received your message and will reply as soon
//!    as possible"). The words live in
//!    [`automatic_phrases.txt`](../../src/mail/automatic_phrases.txt), one
//!    regex per section, each compiled the first time a message needs it
//!    (most processes never need the bounce, delay or report subjects; the
//!    bounce subjects alone take ~10 ms to compile, a reply ~40 µs to read).
//!
//! Exchange's `X-Auto-Response-Suppress` asks the *receiver* not to
//! auto-reply; Exchange sets it on its own auto-replies but also on meeting
//! answers and mail from lists, and help desks that filtered on it alone lost
//! people's mail. So it is a supporting sign only: with it (or with an empty
//! return path), a body saying "I am out of the office" is an auto-reply;
//! without, a person may have written that and the reply is read as usual.

use std::sync::LazyLock;

use mail_parser::{HeaderName, Message, MimeHeaders};
use regex::Regex;

use crate::core::{Address, MessageId};

/// Why a message counts as machine-written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Automatic {
    /// A delivery failure report, with the server's reason when given.
    Bounce {
        /// `Diagnostic-Code`/`Status` from the report, or the subject.
        reason: String,
    },
    /// A report that delivery is delayed: the server keeps trying, so there
    /// is nothing to do yet but note it.
    Delayed {
        /// `Diagnostic-Code`/`Status` from the report, or the subject.
        reason: String,
    },
    /// A report that needs nothing: delivered, relayed or expanded (RFC
    /// 3464), a read receipt (RFC 8098) or another report type.
    Report,
    /// An auto-reply (out-of-office, vacation, ticket systems…).
    AutoReply,
    /// Mailing-list or bulk mail.
    List,
}

/// How many characters of the body are read for auto-reply sentences: they
/// open the message; a person's reply quoting one further down is not one.
const BODY_PREFIX: usize = 3000;

/// The phrase table's text (see its header).
const PHRASES: &str = include_str!("automatic_phrases.txt");

/// One section of the phrase table as one regex, compiled on first use:
/// the sections a message needs only now and then (bounces, delays,
/// reports, Exchange's hint) cost a process nothing until then (the bounce
/// subjects alone take ~10 ms to compile).
///
/// Each is tried first without its word boundaries (`\b`), which only
/// ever matches more: the rows use Unicode `\b`, which sends the regex
/// engine to its slowest path (and a large first allocation) on any text
/// with a non-ASCII letter, while the same rows without it run on the fast
/// one. Only the rare text that the loose form matches is read by the
/// section itself, so the answer is the section's, bit for bit.
struct Section {
    #[cfg_attr(not(test), allow(dead_code))]
    name: &'static str,
    loose: LazyLock<Option<Regex>>,
    regex: LazyLock<Regex>,
}

macro_rules! section {
    ($name:literal) => {
        Section {
            name: $name,
            loose: LazyLock::new(|| Regex::new(&without_word_boundaries(&section_pattern(PHRASES, $name))).ok()),
            regex: LazyLock::new(|| {
                Regex::new(&section_pattern(PHRASES, $name)).expect("the built-in phrase table is valid")
            }),
        }
    };
}

static SUBJECT: Section = section!("subject");
static BODY: Section = section!("body");
static BODY_HINT: Section = section!("body-hint");
static BOUNCE_SUBJECT: Section = section!("bounce-subject");
static DELAY_SUBJECT: Section = section!("delay-subject");
static REPORT_SUBJECT: Section = section!("report-subject");

impl Section {
    fn is_match(&self, text: &str) -> bool {
        if let Some(loose) = &*self.loose
            && !loose.is_match(text)
        {
            return false;
        }
        self.regex.is_match(text)
    }
}

/// A regex's source without its `\b` assertions (an escaped backslash
/// before a `b` stays as it is): it matches wherever the regex does.
fn without_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => {}
            Some(next) => {
                out.push(c);
                out.push(next);
            }
            None => out.push(c),
        }
    }
    out
}

/// The rows of section `name` of a phrase table as one regex's source (a
/// missing or empty section matches nothing).
fn section_pattern(text: &str, name: &str) -> String {
    let mut rows = Vec::new();
    let mut current = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(section);
        } else if let (Some((lang, row)), Some(section)) = (line.split_once(':'), current)
            && lang.len() == 2
            && section == name
        {
            rows.push(row.trim());
        }
    }
    // A missing section must not match everything.
    let body = if rows.is_empty() { "[^\\s\\S]".to_owned() } else { rows.join("|") };
    format!("(?:{body})")
}

/// The headers [`classify`] reads, by name: the empty return path, the
/// auto-reply headers, `Precedence`, the list headers and Exchange's hint.
const SIGN_HEADERS: [&str; 19] = [
    "Return-Path",
    "Auto-Submitted",
    "Precedence",
    "X-Auto-Response-Suppress",
    // Any of these marks an auto-reply.
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponse",
    "X-Autoresponder",
    "X-Autoreply-From",
    "X-Auto-Reply",
    "X-Vacation",
    "X-Mail-Autoreply",
    // Any of these marks list mail.
    "List-Id",
    "List-Unsubscribe",
    "List-Post",
    "List-Help",
    "List-Subscribe",
    "List-Owner",
    "List-Archive",
];
const RETURN_PATH: usize = 0;
const AUTO_SUBMITTED: usize = 1;
const PRECEDENCE: usize = 2;
const SUPPRESS: usize = 3;
const AUTO_HEADERS: std::ops::Range<usize> = 4..12;
const LIST_HEADERS: std::ops::Range<usize> = 12..19;

/// The raw value of each of [`SIGN_HEADERS`] as `Message::header_raw` gives
/// it (the last header of that name; `None` when missing or not UTF-8),
/// read in one walk over the headers instead of one walk per name.
fn sign_headers<'a>(msg: &'a Message<'_>) -> [Option<&'a str>; SIGN_HEADERS.len()] {
    // Compared as `HeaderName`'s own `==` does: names mail-parser knows by
    // their id, other names by their text, ASCII case ignored.
    /// Indexes into [`SIGN_HEADERS`], with each name's id or text.
    struct Names {
        known: Vec<(usize, u8)>,
        other: Vec<(usize, String)>,
    }
    static NAMES: LazyLock<Names> = LazyLock::new(|| {
        let (mut known, mut other) = (Vec::new(), Vec::new());
        for (k, name) in SIGN_HEADERS.iter().enumerate() {
            let name = HeaderName::from(*name);
            if name.is_other() { other.push((k, name.as_str().to_owned())) } else { known.push((k, name.id())) }
        }
        Names { known, other }
    });
    let Names { known, other } = &*NAMES;
    let raw = msg.raw_message();
    let mut found = [None; SIGN_HEADERS.len()];
    for header in msg.headers() {
        let k = if header.name.is_other() {
            let name = header.name.as_str();
            other.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(k, _)| *k)
        } else {
            let id = header.name.id();
            known.iter().find(|(_, n)| *n == id).map(|(k, _)| *k)
        };
        if let Some(k) = k {
            found[k] = Some(
                raw.get(header.offset_start as usize..header.offset_end as usize)
                    .and_then(|v| std::str::from_utf8(v).ok()),
            );
        }
    }
    found.map(Option::flatten)
}

/// Classifies a message as automatic, or `None` for a person's mail.
pub fn classify(msg: &Message<'_>) -> Option<Automatic> {
    classify_with_visible(msg, &super::reply::visible_text(msg))
}

/// [`classify`], given the message's visible reply text
/// ([`super::reply::visible_text`]), which a reader of the message needs
/// anyway.
pub fn classify_with_visible(msg: &Message<'_>, visible: &str) -> Option<Automatic> {
    let subject = fold(msg.subject().unwrap_or_default());
    if let Some(report) = report(msg, &subject) {
        return Some(report);
    }
    let headers = sign_headers(msg);
    let from = msg.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_ascii_lowercase();
    let local = from.split('@').next().unwrap_or_default();
    let null_sender = headers[RETURN_PATH].is_some_and(|v| v.trim().trim_matches(['<', '>']).trim().is_empty());
    if matches!(local, "mailer-daemon" | "postmaster" | "mail-daemon")
        || (null_sender && BOUNCE_SUBJECT.is_match(&subject))
    {
        return Some(by_subject(&subject).unwrap_or(Automatic::Bounce { reason: reason_from_subject(msg) }));
    }
    let text = |k: usize| headers[k].map(|v| v.trim().to_ascii_lowercase());
    if text(AUTO_SUBMITTED).is_some_and(|v| !v.is_empty() && !v.starts_with("no")) {
        return Some(Automatic::AutoReply);
    }
    if headers[AUTO_HEADERS].iter().any(Option::is_some) {
        return Some(Automatic::AutoReply);
    }
    match text(PRECEDENCE).as_deref() {
        Some("auto_reply") => return Some(Automatic::AutoReply),
        Some("bulk" | "junk" | "list") => return Some(Automatic::List),
        _ => {}
    }
    if headers[LIST_HEADERS].iter().any(Option::is_some) {
        return Some(Automatic::List);
    }
    if null_sender {
        return Some(Automatic::AutoReply);
    }
    if SUBJECT.is_match(&subject) {
        return Some(Automatic::AutoReply);
    }
    let suppress = text(SUPPRESS).is_some_and(|v| !v.is_empty() && v != "none");
    let says_so = |body: &str| BODY.is_match(body) || (suppress && BODY_HINT.is_match(body));
    // Said near the top of the body, and confirmed on what the sender wrote
    // themselves: a reply quoting an auto-reply, or a request forwarding a
    // thread with one, is not one. (What they wrote first: it is at hand,
    // and mostly much shorter than the body.)
    if says_so(&fold(prefix(visible, BODY_PREFIX)))
        && says_so(&super::body_text(msg).map(|b| fold(prefix(&b, BODY_PREFIX))).unwrap_or_default())
    {
        return Some(Automatic::AutoReply);
    }
    None
}

/// A `multipart/report`, classified; `None` for any other message.
fn report(msg: &Message<'_>, subject: &str) -> Option<Automatic> {
    let ct = msg.content_type()?;
    if !(ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report")))
    {
        return None;
    }
    let kind = ct.attribute("report-type").unwrap_or_default().to_ascii_lowercase();
    if kind != "delivery-status" && kind != "global-delivery-status" {
        // Read receipts (disposition-notification), abuse feedback, …
        return Some(Automatic::Report);
    }
    let recipients: Vec<Vec<(String, String)>> = msg
        .parts
        .iter()
        .filter(|p| {
            p.content_type().is_some_and(|ct| {
                ct.subtype().is_some_and(|s| {
                    s.eq_ignore_ascii_case("delivery-status") || s.eq_ignore_ascii_case("global-delivery-status")
                })
            })
        })
        .flat_map(|p| recipient_blocks(&String::from_utf8_lossy(p.contents())))
        .collect();
    let with_action = |action: &str| {
        recipients.iter().find(|fields| field(fields, "action").is_some_and(|a| a.eq_ignore_ascii_case(action)))
    };
    let reason = |fields: &[(String, String)]| {
        field(fields, "diagnostic-code")
            .or_else(|| field(fields, "status"))
            .map(str::to_owned)
            .unwrap_or_else(|| reason_from_subject(msg))
    };
    if let Some(failed) = with_action("failed") {
        return Some(Automatic::Bounce { reason: reason(failed) });
    }
    if let Some(delayed) = with_action("delayed") {
        return Some(Automatic::Delayed { reason: reason(delayed) });
    }
    if recipients.iter().any(|f| field(f, "action").is_some()) {
        // delivered, relayed, expanded.
        return Some(Automatic::Report);
    }
    // A report without a recipient's Action (malformed): go by its subject,
    // and never call it a bounce without a word of failure.
    Some(by_subject(subject).unwrap_or(Automatic::Report))
}

/// What a delivery failure report (RFC 3464) says about the mail it
/// returns: whom delivery failed for, and which message it was. Read only
/// from the report's structured parts; an old-style bounce (prose only)
/// says nothing here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Returned {
    /// `Original-Recipient` and `Final-Recipient` of every recipient whose
    /// `Action` is `failed` (a forwarding alias may have changed the
    /// final one).
    pub failed: Vec<Address>,
    /// The returned message's `Message-ID`, from its `message/rfc822` or
    /// `text/rfc822-headers` part (or their RFC 6533 `global` forms).
    pub message_id: Option<MessageId>,
}

/// Reads [`Returned`] from a `multipart/report`; empty for any other
/// message. Never fails: a field that does not parse is left out.
pub fn returned(msg: &Message<'_>) -> Returned {
    let mut out = Returned::default();
    let is_report = msg.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    if !is_report {
        return out;
    }
    let subtype = |p: &mail_parser::MessagePart<'_>| {
        p.content_type().and_then(|ct| ct.subtype().map(str::to_ascii_lowercase)).unwrap_or_default()
    };
    for part in &msg.parts {
        match subtype(part).as_str() {
            "delivery-status" | "global-delivery-status" => {
                let text = String::from_utf8_lossy(part.contents());
                for fields in recipient_blocks(&text) {
                    if !field(&fields, "action").is_some_and(|a| a.eq_ignore_ascii_case("failed")) {
                        continue;
                    }
                    for name in ["original-recipient", "final-recipient"] {
                        // "rfc822; bob@example.org" (the type, then the address).
                        let value = field(&fields, name).map(|v| v.split_once(';').map_or(v, |(_, a)| a));
                        let address = value.map(|v| v.trim().trim_matches(['<', '>']));
                        if let Some(a) = address.and_then(|a| Address::parse(a).ok())
                            && !out.failed.contains(&a)
                        {
                            out.failed.push(a);
                        }
                    }
                }
            }
            "rfc822" | "rfc822-headers" | "global" | "global-headers" if out.message_id.is_none() => {
                let returned = mail_parser::MessageParser::default().parse(part.contents());
                out.message_id = returned
                    .as_ref()
                    .and_then(|m| m.message_id())
                    .map(str::trim)
                    .filter(|id| !id.is_empty() && id.len() <= super::inbound::MESSAGE_ID_MAX)
                    .map(MessageId::from);
            }
            _ => {}
        }
    }
    out
}

/// What a delivery report's subject says, when it says something.
fn by_subject(subject: &str) -> Option<Automatic> {
    if DELAY_SUBJECT.is_match(subject) {
        Some(Automatic::Delayed { reason: subject.to_owned() })
    } else if REPORT_SUBJECT.is_match(subject) {
        Some(Automatic::Report)
    } else if BOUNCE_SUBJECT.is_match(subject) {
        Some(Automatic::Bounce { reason: subject.to_owned() })
    } else {
        None
    }
}

fn reason_from_subject(msg: &Message<'_>) -> String {
    msg.subject().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).unwrap_or_else(|| "undeliverable".into())
}

/// The per-recipient field blocks of a `message/delivery-status` body (the
/// first block is about the message; the others each about one recipient),
/// field names lowercased, folded lines joined.
fn recipient_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if blocks.last().is_some_and(|b| !b.is_empty()) {
                blocks.push(Vec::new());
            }
            continue;
        }
        let Some(block) = blocks.last_mut() else { continue };
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    blocks.retain(|b| !b.is_empty());
    // The per-message block has no Action; keep it out only when there are
    // recipient blocks after it.
    if blocks.len() > 1 {
        blocks.remove(0);
    }
    blocks
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// Lowercase, with runs of white space as one space.
fn fold(text: &str) -> String {
    if text.is_ascii() {
        // The same, a byte at a time: `char::is_whitespace` on ASCII is
        // these six (vertical tab included), lowercase is ASCII lowercase.
        let mut out = String::with_capacity(text.len());
        let mut space = false;
        for &b in text.as_bytes() {
            if matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
                space = !out.is_empty();
            } else {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(char::from(b.to_ascii_lowercase()));
            }
        }
        return out;
    }
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.to_lowercase()
}

/// The first `max` characters of `text`, cut at a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    // Short or ASCII texts need no walk through their characters.
    if text.len() <= max {
        return text;
    }
    if text.as_bytes()[..max].is_ascii() {
        return &text[..max];
    }
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn classify_raw(raw: &str) -> Option<Automatic> {
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
        classify(&msg)
    }

    fn mail(headers: &str, subject: &str, body: &str) -> String {
        format!("From: Bob <bob@example.test>\r\n{headers}Subject: {subject}\r\n\r\n{body}\r\n")
    }

    #[test]
    fn people_are_not_automatic() {
        let raw = "From: a@x\r\nAuto-Submitted: no\r\nX-Auto-Response-Suppress: All\r\nSubject: hi\r\n\r\nyes\r\n";
        assert_eq!(classify_raw(raw), None);
        for (subject, body) in [
            ("Re: Would you like to meet Priya?", "Yes, happy to."),
            ("Re: Would you like to meet Priya?", "I'm on vacation until Monday, but yes, happy to."),
            ("AW: Möchten Sie Priya kennenlernen?", "Ja, gerne."),
            ("Re: Intro", "Sure. I will reply to her as soon as I can."),
            ("Re: Out of the blue", "No thanks."),
        ] {
            assert_eq!(classify_raw(&mail("", subject, body)), None, "{subject} / {body}");
        }
    }

    #[test]
    fn auto_replies_and_lists_are() {
        for h in [
            "Auto-Submitted: auto-replied",
            "X-Autoreply: yes",
            "X-Autorespond: 1",
            "Precedence: auto_reply",
            "Return-Path: <>",
        ] {
            let raw = format!("From: a@x\r\n{h}\r\nSubject: Out of office\r\n\r\naway\r\n");
            assert_eq!(classify_raw(&raw), Some(Automatic::AutoReply), "{h}");
        }
        for h in ["Precedence: bulk", "Precedence: list", "List-Id: <x.lists.example>", "List-Post: <mailto:l@x>"] {
            let raw = format!("From: a@x\r\n{h}\r\n\r\nnews\r\n");
            assert_eq!(classify_raw(&raw), Some(Automatic::List), "{h}");
        }
    }

    /// The auto-reply that fooled the engine: no header, a "yes" in the body.
    #[test]
    fn an_automatic_reply_by_its_subject_or_body_alone() {
        let raw = mail(
            "",
            "Automatic reply: Would you like to meet Priya?",
            "Yes, I have received your message and will reply as soon as possible.",
        );
        assert_eq!(classify_raw(&raw), Some(Automatic::AutoReply));
        let raw = mail(
            "",
            "Re: Would you like to meet Priya?",
            "Yes, I have received your message and will reply as soon as possible.",
        );
        assert_eq!(classify_raw(&raw), Some(Automatic::AutoReply));
        for subject in [
            "Auto: Would you like to meet Priya?",
            "AUTO: Bob Baker is out of the office (returning 12/01/2026)",
            "Out of Office: Would you like to meet Priya?",
            "Abwesenheitsnotiz: Möchten Sie Priya kennenlernen?",
            "Automatische Antwort: Möchten Sie Priya kennenlernen?",
            "Réponse automatique : Souhaitez-vous rencontrer Priya ?",
            "Risposta automatica: Vuoi conoscere Priya?",
            "Respuesta automática: ¿Te gustaría conocer a Priya?",
            "Resposta automática: Gostaria de conhecer a Priya?",
            "Automatisch antwoord: Wil je Priya ontmoeten?",
            "Automatiskt svar: Vill du träffa Priya?",
            "Automatisk svar: Vil du møde Priya?",
            "Odpowiedź automatyczna: Czy chcesz poznać Priyę?",
            "Автоматический ответ: Хотите познакомиться с Прией?",
        ] {
            assert_eq!(classify_raw(&mail("", subject, "Sure.")), Some(Automatic::AutoReply), "{subject}");
        }
    }

    #[test]
    fn out_of_office_wording_needs_a_supporting_header() {
        let body = "I am currently out of the office until 5 January.";
        assert_eq!(classify_raw(&mail("", "Re: Would you like to meet Priya?", body)), None);
        let with = mail("X-Auto-Response-Suppress: All\r\n", "Re: Would you like to meet Priya?", body);
        assert_eq!(classify_raw(&with), Some(Automatic::AutoReply));
    }

    fn dsn(action: &str, subject: &str) -> String {
        format!(
            "From: MAILER-DAEMON@example.test\r\nSubject: {subject}\r\n\
            MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nsorry\r\n\
            --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
            Final-Recipient: rfc822; bob@example.test\r\nAction: {action}\r\nStatus: 5.1.1\r\n\
            Diagnostic-Code: smtp; 550 5.1.1\r\n User unknown\r\n\r\n--b--\r\n"
        )
    }

    #[test]
    fn only_a_failed_action_is_a_bounce() {
        assert_eq!(
            classify_raw(&dsn("failed", "Undelivered Mail Returned to Sender")),
            Some(Automatic::Bounce { reason: "smtp; 550 5.1.1 User unknown".into() })
        );
        assert_eq!(
            classify_raw(&dsn("delayed", "Delayed Mail (still being retried)")),
            Some(Automatic::Delayed { reason: "smtp; 550 5.1.1 User unknown".into() })
        );
        for action in ["delivered", "relayed", "expanded", "Delivered"] {
            assert_eq!(classify_raw(&dsn(action, "Delivery Status Notification")), Some(Automatic::Report), "{action}");
        }
    }

    /// A report returning the whole message (Postfix) or its headers
    /// (Gmail, Exchange): whom it failed for, and which message it was.
    #[test]
    fn a_failure_report_names_the_failed_recipients_and_the_returned_message() {
        let report = |returned_type: &str| {
            format!(
                "From: MAILER-DAEMON@mx.example\r\nTo: intros@bot.example\r\nSubject: Undelivered Mail Returned to Sender\r\n\
                 MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
                 --b\r\nContent-Type: text/plain\r\n\r\nsorry\r\n\
                 --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
                 Final-Recipient: rfc822; alice@a.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n\
                 Final-Recipient: rfc822; bob.new@b.example\r\nOriginal-Recipient: rfc822;<bob@b.example>\r\n\
                 Action: failed\r\nStatus: 5.1.1\r\n\r\n\
                 --b\r\nContent-Type: {returned_type}\r\n\r\nFrom: Bot <intros@bot.example>\r\n\
                 To: alice@a.example, bob@b.example\r\nMessage-ID: <intro-1@bot.example>\r\nSubject: Alice <> Bob\r\n\r\n\
                 Hi both\r\n--b--\r\n"
            )
        };
        for returned_type in ["message/rfc822", "text/rfc822-headers"] {
            let raw = report(returned_type);
            let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
            let got = returned(&msg);
            let addresses: Vec<&str> = got.failed.iter().map(Address::as_str).collect();
            assert_eq!(
                addresses,
                ["bob@b.example", "bob.new@b.example"],
                "{returned_type}: delivered ones are not failed"
            );
            assert_eq!(got.message_id, Some(MessageId::new("intro-1@bot.example")), "{returned_type}");
        }
        // Not a report: nothing, whatever the words say.
        let plain = "From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\n\r\nbob@b.example failed\r\n";
        let msg = MessageParser::default().parse(plain.as_bytes()).expect("parses");
        assert_eq!(returned(&msg), Returned::default());
    }

    #[test]
    fn other_reports_and_old_style_bounces() {
        let mdn = "From: bob@example.test\r\nSubject: Read: Would you like to meet Priya?\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=disposition-notification; boundary=\"b\"\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nYes, it was read.\r\n--b--\r\n";
        assert_eq!(classify_raw(mdn), Some(Automatic::Report));
        let old = "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nSubject: Mail delivery failed: returning message to sender\r\n\r\nThis message was created automatically.\r\n";
        assert!(matches!(classify_raw(old), Some(Automatic::Bounce { .. })));
        let delayed =
            "From: postmaster@mx.example\r\nSubject: Warning: could not send message for past 4 hours\r\n\r\n...\r\n";
        assert!(matches!(classify_raw(delayed), Some(Automatic::Delayed { .. })));
    }

    /// The mails in `tests/fixtures/automatic`, each with what it must be
    /// called; every mismatch is listed, a person's mail called automatic or
    /// a machine's called a person's alike.
    #[test]
    fn fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/automatic");
        let expected = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
        let mut wrong = Vec::new();
        let mut n = 0;
        for line in expected.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (file, want) = line.split_once('\t').expect("file<TAB>kind");
            let raw = std::fs::read(dir.join(file)).expect("fixture file");
            let msg = MessageParser::default().parse(&raw).expect("fixture parses");
            let got = match classify(&msg) {
                None => "person",
                Some(Automatic::AutoReply) => "auto-reply",
                Some(Automatic::List) => "list",
                Some(Automatic::Bounce { .. }) => "bounce",
                Some(Automatic::Delayed { .. }) => "delayed",
                Some(Automatic::Report) => "report",
            };
            if got != want {
                wrong.push(format!("{file}: {got}, want {want}"));
            }
            n += 1;
        }
        assert!(n >= 40, "only {n} fixtures ran");
        assert!(wrong.is_empty(), "{} of {n} wrong:\n{}", wrong.len(), wrong.join("\n"));
    }

    /// The one walk over the headers reads what `header_raw` reads for
    /// each name (the last of that name, any case), on a message written
    /// for it and on every fixture mail.
    #[test]
    fn sign_headers_read_what_header_raw_reads() {
        let raw = "From: a@x\r\nreturn-path: <>\r\nLIST-ID: <l>\r\nx-autoreply: yes\r\nPrecedence: bulk\r\n\
            precedence: list\r\nList-Id: <m>\r\nX-Auto-Response-Suppress: All\r\nSubject: s\r\n\r\nbody\r\n";
        let mut mails = vec![raw.as_bytes().to_vec()];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for dir in ["automatic", "corpus/replies", "clients/replies"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("fixtures") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "eml") {
                    mails.push(std::fs::read(path).expect("fixture"));
                }
            }
        }
        let mut seen = 0;
        for raw in &mails {
            let msg = MessageParser::default().parse(raw).expect("parses");
            let got = sign_headers(&msg);
            for (k, name) in SIGN_HEADERS.iter().enumerate() {
                assert_eq!(got[k], msg.header_raw(*name), "{name}");
                seen += usize::from(got[k].is_some());
            }
        }
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
        let first = sign_headers(&msg);
        assert_eq!(first[PRECEDENCE], Some(" list\r\n"), "the last of that name");
        assert_eq!(first[RETURN_PATH], Some(" <>\r\n"));
        assert!(seen > 20, "only {seen} headers found");
    }

    /// `fold` is white space folded by `split_whitespace`, then lowercased,
    /// on ASCII (its fast path) as on any other text.
    #[test]
    fn fold_is_split_join_lowercase() {
        use proptest::prelude::*;
        let reference = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let text = proptest::string::string_regex("[ \t\n\r\x0b\x0c\u{85}\u{a0}\u{3000}aZ:İß-]{0,24}").expect("valid");
        runner
            .run(&text, |t| {
                prop_assert_eq!(fold(&t), reference(&t));
                Ok(())
            })
            .expect("fold agrees");
        for t in ["", "  ", "Out  Of\tOFFICE\r\n", "\x0bA\x0cB", "Réponse  AUTOMATIQUE"] {
            assert_eq!(fold(t), reference(t), "{t:?}");
        }
    }

    #[test]
    fn the_phrase_table_compiles_with_every_language() {
        let text = PHRASES;
        // Every section compiles, and the statics read the sections they are named after.
        for section in [&SUBJECT, &BODY, &BODY_HINT, &BOUNCE_SUBJECT, &DELAY_SUBJECT, &REPORT_SUBJECT] {
            let rows = Regex::new(&section_pattern(text, section.name)).expect("compiles");
            assert!(!rows.is_match(""), "[{}] is missing or matches everything", section.name);
            assert_eq!(section.regex.as_str(), rows.as_str());
            let loose = section.loose.as_ref().expect("the loose form compiles");
            assert!(!loose.as_str().contains("\\b"), "[{}]", section.name);
        }
        assert_eq!(without_word_boundaries(r"\bauto-?reply\b|a\\b\.c\"), r"auto-?reply|a\\b\.c\");
        // The loose form matches wherever the section does (and, here, more).
        assert!(BODY.is_match("this is an automatic reply") && !BODY.is_match("xautomatic reply"));
        let loose = BODY.loose.as_ref().expect("compiles");
        assert!(loose.is_match("this is an automatic reply") && loose.is_match("xautomatic reply"));
        assert!(!BODY.is_match("éautomatic reply") && !SUBJECT.is_match("odpowiedź automatycznaé"));
        assert!(SUBJECT.is_match("odpowiedź automatyczna: urlop"));
        for lang in ["en", "de", "fr", "es", "pt", "it", "nl", "sv", "da", "no", "pl", "ru"] {
            for section in ["subject", "body", "body-hint", "bounce-subject", "delay-subject"] {
                let mut current = "";
                let mut found = false;
                for line in text.lines() {
                    if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                        current = name;
                    } else if current == section && line.starts_with(&format!("{lang}:")) {
                        found = true;
                    }
                }
                assert!(found, "[{section}] has no {lang} row");
            }
        }
    }
}
