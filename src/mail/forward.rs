//! Forwarded messages: the forwarder's note above, the original's headers
//! and body below, in the formats mail clients write.
//!
//! General rules rather than per-client cases:
//! - a `message/rfc822` attachment is the original, whole;
//! - otherwise the body is searched for the start of an inline forward:
//!   a separator line with words between runs of dashes (`---------- Forwarded
//!   message ---------`, `-------- Перенаправленное сообщение --------`, in any
//!   language), a line of underscores, a line ending in `:` right before a
//!   header block (`Begin forwarded message:`), or a header block itself
//!   starting with a localized `From:`;
//! - the header block is read with a table of localized field names
//!   (From/To/Cc/Subject/Date/Sent in some thirty languages), also when a
//!   client ran the fields together on one line;
//! - `>` quoting and a common indentation around the original are removed;
//! - an attribution line (`On … wrote:`, `Am … schrieb …:`) counts as a
//!   forward only when the subject says it is one (`Fwd:`, `FW:`, `TR:` …),
//!   because the same line starts every reply.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use mail_parser::Message;
use regex::Regex;

use super::guarded::Guarded;

use super::Mention;
use crate::core::Person;

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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    From,
    To,
    Cc,
    Subject,
    Date,
}

/// Localized field names, longest first within each field so that a longer
/// name wins over its prefix.
const FIELDS: &[(Field, &[&str])] = &[
    (
        Field::From,
        &[
            "lähettäjä",
            "expéditeur",
            "remitente",
            "afzender",
            "absender",
            "mittente",
            "avsändare",
            "afsender",
            "nadawca",
            "odosielateľ",
            "feladó",
            "kimden",
            "gönderen",
            "pošiljatelj",
            "saatja",
            "siuntėjas",
            "pengirim",
            "expeditorul",
            "发件人",
            "發件人",
            "寄件者",
            "差出人",
            "보낸 사람",
            "from",
            "från",
            "fra",
            "von",
            "van",
            "від",
            "от",
            "de la",
            "de",
            "da",
            "od",
            "fr",
            "šalje",
            "lähettäjä",
        ],
    ),
    (
        Field::To,
        &[
            "vastaanottaja",
            "destinatário",
            "destinatario",
            "destinataire",
            "címzett",
            "mottagare",
            "modtager",
            "adresát",
            "destinatarul",
            "către",
            "收件人",
            "宛先",
            "받는 사람",
            "kepada",
            "alıcı",
            "kime",
            "komu",
            "кому",
            "aan",
            "para",
            "pour",
            "till",
            "til",
            "to",
            "an",
            "à",
            "a",
            "do",
            "до",
            "pre",
            "prima",
            "vastaanottajat",
            "отримувач",
            "收件者",
        ],
    ),
    (
        Field::Cc,
        &[
            "másolatot kap",
            "másolat",
            "kopija",
            "kópia",
            "kopie",
            "kopio",
            "kopia",
            "копия",
            "copie",
            "copia",
            "bilgi",
            "kopi",
            "抄送",
            "副本",
            "cc",
            "dw",
            "kopie (cc)",
            "копія",
            "참조",
        ],
    ),
    (
        Field::Subject,
        &[
            "onderwerp",
            "předmět",
            "predmet",
            "oggetto",
            "betreff",
            "assunto",
            "asunto",
            "subiect",
            "subject",
            "objet",
            "subiectul",
            "tárgy",
            "temat",
            "ämne",
            "emne",
            "aihe",
            "konu",
            "тема",
            "tema",
            "主题",
            "主旨",
            "件名",
            "제목",
        ],
    ),
    (
        Field::Date,
        &[
            "päivämäärä",
            "lähetetty",
            "verzonden",
            "odesláno",
            "odoslané",
            "отправлено",
            "gönderildi",
            "elküldve",
            "gesendet",
            "envoyé",
            "enviado",
            "inviato",
            "wysłano",
            "skickat",
            "tarih",
            "dátum",
            "datum",
            "fecha",
            "trimis",
            "poslano",
            "sendt",
            "sent",
            "date",
            "data",
            "dato",
            "dată",
            "дата",
            "日期",
            "날짜",
            "відправлено",
            "gönderilme",
            "gönderilen",
            "envoyé le",
            "enviado el",
            "enviado em",
            "enviada em",
            "inviato il",
            "发送时间",
            "發送時間",
            "寄件日期",
            "送信日時",
            "日付",
            "보낸 날짜",
            "时间",
            "時間",
        ],
    ),
];

/// Which field a name is, if any.
fn field_of(name: &str) -> Option<Field> {
    let name = name.trim().trim_matches('*').trim().to_lowercase();
    FIELDS.iter().find(|(_, names)| names.contains(&name.as_str())).map(|(f, _)| *f)
}

/// The known field a `Name: value` line holds, and its value: leading
/// space, a bold marker around the name (`*From:*`) and space after the
/// colon (ASCII or full-width) are allowed. Read by hand rather than by a
/// pattern: it runs on every line of every mail.
fn header_field(line: &str) -> Option<(Field, &str)> {
    let (name, value) = header_line(line)?;
    Some((field_of(name)?, value))
}

/// A `Name: value` line's name and value, known field or not.
fn header_line(line: &str) -> Option<(&str, &str)> {
    let text = line.trim_start();
    let text = text.strip_prefix('*').unwrap_or(text);
    let colon = text.find([':', '：'])?;
    let name = text[..colon].trim_end();
    let name = name.strip_suffix('*').unwrap_or(name);
    // A field name is at most 25 characters; it has no bold marker inside.
    if name.is_empty() || name.starts_with(char::is_whitespace) || name.contains('*') || name.chars().count() > 25 {
        return None;
    }
    let colon_len = text[colon..].chars().next().map_or(1, char::len_utf8);
    let value = &text[colon + colon_len..];
    let value = value.strip_prefix('*').unwrap_or(value);
    Some((name, value.trim_start_matches([' ', '\t'])))
}

/// Words between runs of dashes (ASCII or Unicode, as Proton writes them)
/// or equals signs: a separator in any language.
static DASH_SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*[-=‐-―]{3,}\s*[^-=‐-―\s][^-=‐-―]+?\s*[-=‐-―]{3,}\s*$").expect("static regex"));

/// Whether `line` is a separator: words between runs of dashes, short
/// enough to be one (the length is checked here, not in the pattern, where
/// a bounded repetition is costly to compile).
pub(crate) fn is_dash_separator(line: &str) -> bool {
    line.len() <= SEPARATOR_MAX && DASH_SEPARATOR.is_match(line)
}

/// The longest separator, in bytes, dashes and words included.
const SEPARATOR_MAX: usize = 160;

/// A separator with the header fields run on after it on the same line.
static DASH_THEN_FIELDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*-{3,}\s*[^-\s][^-]+?\s*-{3,}\s*(\S.*)$").expect("static regex"));

pub(crate) static UNDERSCORES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*_{8,}\s*$").expect("static regex"));

/// `On … wrote:` and its translations, with an address in it.
pub(crate) static ATTRIBUTION: Guarded = Guarded::new(
    &[
        "wrote",
        "schrieb",
        "écrit",
        "escribi",
        "escreveu",
        "scritto",
        "schreef",
        "skrev",
        "napisa",
        "napsal",
        "napísal",
        "аписал",
        "ишет",
        "yazd",
        "írta",
        "kirjoitti",
        "scris",
        "napisa",
        "rašė",
        "kirjutas",
        "写道",
        "寫道",
        "님이 작성",
    ],
    r"(?i)\b(wrote|schrieb|a écrit|escribió|escreveu|ha scritto|schreef|skrev|skriver|napisał|napsal|napísal|написал|написала|пишет|yazdı|írta|kirjoitti|a scris|je napisao|rašė|kirjutas)\b|写道|寫道|님이 작성",
);

static FORWARD_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(fwd?|fw|tr|wg|rv|enc|i|doorst|vs|vl|továbbítás|ilt|pd|prosl|přep)\s*:").expect("static regex")
});

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:"([^"]*)"\s*|([^"<>\[\]();:\n]*?)\s*)?[<\[(]?(?:mailto:)?([A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,})[>\])]?"#,
    )
    .expect("static regex")
});

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
            note: crate::mail::body_text(msg).map(|b| b.trim().to_owned()).unwrap_or_default(),
            from: inner.from().and_then(|a| a.first()).and_then(person),
            to: list(inner.to()),
            cc: list(inner.cc()),
            subject: inner.subject().unwrap_or_default().to_owned(),
            date: inner.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
            body: crate::mail::body_text(inner).map(|b| b.trim().to_owned()).unwrap_or_default(),
        });
    }
    let body = crate::mail::body_text(msg)?;
    parse_forward_text(&body, msg.subject().unwrap_or_default())
}

/// Finds an inline forward in a plain-text body; `subject` is the outer
/// message's subject (it decides whether an attribution line is a forward).
pub fn parse_forward_text(body: &str, subject: &str) -> Option<Forward> {
    let lines: Vec<&str> = body.lines().map(|l| l.trim_end_matches('\r').trim_start_matches('\u{feff}')).collect();
    let forward_subject = FORWARD_SUBJECT.is_match(subject);
    for i in 0..lines.len() {
        let (depth, line) = unquote(lines[i]);
        let starts_headers = |from: usize| header_block_starts(&lines, from, depth);
        // The separator is what comes before the fields (`caps[1]`).
        if let Some(caps) = DASH_THEN_FIELDS.captures(line).filter(|c| line.len() - c[1].len() <= SEPARATOR_MAX) {
            let run = split_run_together(&caps[1]);
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
        let separator = is_dash_separator(line)
            || UNDERSCORES.is_match(line)
            || (line.trim_end().ends_with(':')
                && field_of(line.trim_end().trim_end_matches(':')).is_none()
                && starts_headers(i + 1));
        let start = if separator {
            Some(i + 1)
        } else if (forward_subject || note_before(&lines, i).is_empty()) && starts_headers(i) {
            // A bare header block in a reply ("RE:") is the quoted thread,
            // not a forward.
            Some(i)
        } else {
            None
        };
        if let Some(start) = start {
            let note = note_before(&lines, i);
            if let Some(mut fwd) = read_headers_and_body(&lines[start..], depth) {
                fwd.note = note;
                return Some(fwd);
            }
        }
        if forward_subject && ATTRIBUTION.is_match(line) {
            // The address may be on this line or wrapped onto the next.
            let next = lines.get(i + 1).map(|l| unquote(l).1).unwrap_or_default();
            let prev = if i > 0 { unquote(lines[i - 1]).1 } else { "" };
            let ends_here = line.trim_end().ends_with(':');
            let (start, joined) = if !line.contains('@') && prev.contains('@') {
                (i - 1, format!("{prev} {line}"))
            } else if ends_here {
                (i, line.to_owned())
            } else {
                (i, format!("{line} {next}"))
            };
            let Some(mut from) = addresses(&joined).into_iter().next() else { continue };
            // "Dne 28.10.2021 12:46, John Doe <…> napsal:": the name is what
            // follows the date.
            if let Some((head, tail)) = from.name.rsplit_once(',')
                && head.chars().any(|c| c.is_ascii_digit())
            {
                from.name = tail.trim().to_owned();
            }
            let skip = if ends_here { 1 } else { 2 };
            let body = body_after(&lines[(i + skip).min(lines.len())..], depth);
            // No header block: the subject is the outer one without its
            // prefix, the date whatever the attribution line says.
            let subject = FORWARD_SUBJECT.replace(subject, "").trim().to_owned();
            let date = ATTRIBUTION_DATE.find(&joined).map(|m| m.as_str().to_owned()).unwrap_or_default();
            return Some(Forward {
                note: note_before(&lines, start),
                from: Some(from.into()),
                subject,
                date,
                body,
                ..Forward::default()
            });
        }
    }
    None
}

/// A date in an attribution line: digits with `/`, `.` or `-` between them.
static ATTRIBUTION_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}").expect("static regex"));

/// Strips `>` quoting: (depth, rest of the line).
fn unquote(line: &str) -> (usize, &str) {
    let mut depth = 0;
    let mut rest = line;
    loop {
        let t = rest.trim_start();
        match t.strip_prefix('>') {
            Some(r) => {
                depth += 1;
                rest = r.strip_prefix(' ').unwrap_or(r);
            }
            None => return (depth, rest),
        }
    }
}

/// Whether a header block with a From-like field starts at `i`: the first
/// non-blank line is `From:` (localized) and another known field follows
/// within a few lines, or the fields run together on one line.
fn header_block_starts(lines: &[&str], i: usize, depth: usize) -> bool {
    let mut j = i;
    while j < lines.len() && j < i + 3 && unquote(lines[j]).1.trim().is_empty() {
        j += 1;
    }
    let Some(first) = lines.get(j).map(|l| unquote(l)) else { return false };
    if first.0 < depth {
        return false;
    }
    let field = |l: &str| header_field(l).map(|(f, _)| f);
    if field(first.1).is_none() {
        return false;
    }
    let run = split_run_together(first.1);
    if run.len() >= 3 {
        return run[0].0 == Field::From;
    }
    // A block of known fields, a From among them (Thunderbird puts the
    // subject first).
    let block: Vec<Field> = lines[j..].iter().take(6).map_while(|l| field(unquote(l).1)).collect();
    block.len() >= 2 && block.contains(&Field::From)
}

/// Whether a block of at least two known header fields (any of From, To,
/// Cc, Subject, Date, in any language) starts at line `i`: the quoted
/// header of an earlier message.
pub(crate) fn header_fields_start(lines: &[&str], i: usize) -> bool {
    let field = |l: &str| header_field(unquote(l).1).map(|(f, _)| f);
    field(lines[i]).is_some() && lines[i..].iter().take(6).map_while(|l| field(l)).count() >= 2
        || split_run_together(unquote(lines[i]).1).len() >= 3
}

/// Fields a client ran together on one line (`Od: …>Komu: …Předmět: …`):
/// split at every known field name followed by a colon.
fn split_run_together(line: &str) -> Vec<(Field, String)> {
    // Every field name followed by a colon, lowercased, in one automaton.
    static NAMES: LazyLock<(AhoCorasick, Vec<(Field, usize)>)> = LazyLock::new(|| {
        let all: Vec<(Field, String)> =
            FIELDS.iter().flat_map(|(f, names)| names.iter().map(move |n| (*f, format!("{n}:")))).collect();
        let automaton = AhoCorasick::new(all.iter().map(|(_, p)| p)).expect("static patterns");
        let fields = all.iter().map(|(f, p)| (*f, p.chars().count() - 1)).collect();
        (automaton, fields)
    });
    // Running together takes at least two fields, so at least two colons.
    if line.bytes().filter(|b| *b == b':').count() < 2 {
        return Vec::new();
    }
    let lower = line.to_lowercase();
    if lower.len() != line.len() {
        // Lowercasing changed byte offsets (rare scripts): treat as one field.
        return Vec::new();
    }
    let (automaton, fields) = &*NAMES;
    // All matches, overlapping ones included; the longest name wins where
    // two overlap ("bcc:" over "cc:").
    let mut found: Vec<(usize, usize, Field, usize)> = automaton
        .find_overlapping_iter(&lower)
        .map(|m| {
            let (field, name_chars) = fields[m.pattern().as_usize()];
            (m.start(), m.end(), field, name_chars)
        })
        .collect();
    found.sort_by_key(|&(start, end, _, _)| (std::cmp::Reverse(end - start), start));
    let mut marks: Vec<(usize, usize, Field)> = Vec::new();
    for (at, end, field, name_chars) in found {
        let before = lower[..at].chars().next_back();
        // Long names may be glued to the value before them ("GMT+1Subject:");
        // short ones must not be ("mailto:" is not "to:").
        let glued_to_word = name_chars <= 3 && before.is_some_and(|c| c.is_ascii_alphanumeric());
        // A one-letter name ("A:") only right after an address or a space.
        let loose = name_chars == 1 && !before.is_none_or(|c| c == '>' || c.is_whitespace());
        let overlaps = marks.iter().any(|(s, e, _)| at < *e && end > *s);
        if !glued_to_word && !loose && !overlaps {
            marks.push((at, end, field));
        }
    }
    marks.sort_by_key(|m| m.0);
    let mut out = Vec::new();
    for (k, (_, end, field)) in marks.iter().enumerate() {
        let next = marks.get(k + 1).map_or(line.len(), |m| m.0);
        out.push((*field, line[*end..next].trim().to_owned()));
    }
    out
}

fn read_headers_and_body(lines: &[&str], depth: usize) -> Option<Forward> {
    let mut fwd = Forward::default();
    let mut i = 0;
    while i < lines.len() && unquote(lines[i]).1.trim().is_empty() {
        i += 1;
    }
    let mut last: Option<Field> = None;
    let mut seen = 0;
    while i < lines.len() {
        let line = unquote(lines[i]).1;
        if line.trim().is_empty() {
            break;
        }
        let run = split_run_together(line);
        if run.len() >= 3 {
            for (field, value) in run {
                set(&mut fwd, field, &value);
            }
            i += 1;
            break;
        }
        match header_field(line) {
            Some((field, value)) => {
                set(&mut fwd, field, value);
                last = Some(field);
                seen += 1;
            }
            None if matches!(last, Some(Field::To | Field::Cc)) && line.contains('@') => {
                let more = addresses(line).into_iter().map(Mention::from);
                match last {
                    Some(Field::To) => fwd.to.extend(more),
                    _ => fwd.cc.extend(more),
                }
            }
            None if seen >= 2 => break,
            None => return None,
        }
        i += 1;
    }
    // No From, no forward: the block was something else.
    fwd.from.as_ref()?;
    fwd.body = body_after(&lines[i..], depth);
    Some(fwd)
}

fn set(fwd: &mut Forward, field: Field, value: &str) {
    // Some clients write only a name: keep it, with no address.
    let people = |value: &str| {
        let found = addresses(value);
        if found.is_empty() && !value.trim().is_empty() {
            vec![Mention::name_only(value.trim())]
        } else {
            found.into_iter().map(Mention::from).collect()
        }
    };
    match field {
        Field::From => fwd.from = people(value).into_iter().next(),
        Field::To => fwd.to = people(value),
        Field::Cc => fwd.cc = people(value),
        Field::Subject => fwd.subject = value.trim().to_owned(),
        Field::Date => {
            if fwd.date.is_empty() {
                fwd.date = value.trim().to_owned();
            }
        }
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
    if let Some(cut) = note.iter().position(|l| super::reply::is_footer(l)) {
        note = &note[..cut];
    }
    note.join("\n").trim().to_owned()
}

/// A candidate found here becomes a person only through the one address
/// parser ([`Person::parse`]); one it rejects is no candidate.
fn person(name: &str, email: &str) -> Option<Person> {
    let name = name.trim().trim_matches(['"', '\'', ',', ';', ' ']).trim();
    let name = if name.eq_ignore_ascii_case(email) { "" } else { name };
    Person::parse(name, email).ok()
}

/// Every `Name <address>`, `Name [mailto:address]` or bare address in a text.
pub fn addresses(text: &str) -> Vec<Person> {
    let mut out: Vec<Person> = Vec::new();
    for c in ADDRESS.captures_iter(text) {
        let email = c[3].trim_end_matches('.').to_owned();
        let name = c.get(1).or_else(|| c.get(2)).map(|m| m.as_str()).unwrap_or_default();
        let name = if name.split_whitespace().count() <= 5 { name } else { "" };
        if !out.iter().any(|p| p.email.as_str().eq_ignore_ascii_case(&email))
            && let Some(p) = person(name, &email)
        {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_together_fields_are_split() {
        let line = "Od: John Doe <john.doe@acme.com>Komu: \"b@acme.com\" <b@acme.com>Datum: 2. listopadu 2021 09:26:50 SEČPředmět: Integer";
        let fields: Vec<Field> = split_run_together(line).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, [Field::From, Field::To, Field::Date, Field::Subject]);
    }

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
