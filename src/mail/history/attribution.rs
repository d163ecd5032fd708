//! Attribution lines: what a client writes above a quoted original
//! (`On Mon, 23 Nov 2026 at 09:00, Alice <a@b.c> wrote:`, `Am … schrieb
//! …:`, `Op … heeft … geschreven:`, `… użytkownik „Alice” … napisał:`).
//!
//! Every client × locale template of the vocabulary table (`{author}`,
//! `{date}` and `{time}` are slots) is matched as a sequence of its
//! literal words: the line starts with the words before the first slot,
//! ends with those after the last one, and has the words between them in
//! order. Case, runs of white space, a space before the final colon and a
//! full-width colon do not matter. The author is the text in the
//! `{author}` slot, read with [`super::address`].
//!
//! Beside the templates, the verbs they carry ("wrote", "schrieb",
//! "geschreven", "写道") are known on their own, for the attributions a
//! client words differently from the table (the caller decides what else
//! it needs then: an address, a date, a quote below).

use std::collections::HashSet;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::super::guarded::Guarded;
use super::{address, locales, lower_same_len};
use crate::mail::Mention;

/// One template, split at its slots.
#[derive(Debug)]
struct Template {
    /// The literal text between the slots, normalized (see [`normalize`]);
    /// `literals[k]` comes before slot `k`.
    literals: Vec<String>,
    /// Which slot is the author.
    author: usize,
    /// Which slots are the date and time.
    dates: Vec<usize>,
}

/// An attribution line, matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attribution {
    /// The author, when the line names one with an address or a name.
    pub(crate) author: Option<Mention>,
    /// The date and time as written, when the template has them.
    pub(crate) date: String,
    /// Whether the template has a date: `Alice wrote:` alone may be a
    /// person citing someone, `On Monday, Alice wrote:` is not.
    pub(crate) dated: bool,
}

/// Lowercase, white space collapsed to single spaces, full-width colons
/// made ASCII, no space before the final colon, trimmed; same byte offsets
/// as the text [`normalize_case_kept`] returns.
fn normalize(text: &str) -> String {
    lower_same_len(&normalize_case_kept(text))
}

fn normalize_case_kept(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        let c = match c {
            '：' => ':',
            '\u{200f}' | '\u{200e}' | '\u{202b}' | '\u{202c}' | '\u{feff}' => continue,
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    // No space before a closing colon or full stop (" :" in French, " ៖").
    if let Some(last) = out.chars().next_back()
        && !last.is_alphanumeric()
        && !matches!(last, '>' | ')' | ']')
    {
        out.pop();
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push(last);
    }
    out
}

static TEMPLATES: LazyLock<Vec<Template>> = LazyLock::new(|| {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for row in locales() {
        for template in &row.attribution {
            let normalized = normalize(template);
            if seen.insert(normalized.clone())
                && let Some(t) = parse_template(&normalized)
            {
                out.push(t);
            }
        }
    }
    out
});

fn parse_template(template: &str) -> Option<Template> {
    let mut literals = Vec::new();
    let mut author = None;
    let mut dates = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}')? + open;
        literals.push(rest[..open].to_owned());
        match &rest[open + 1..close] {
            "author" => author = Some(literals.len() - 1),
            _ => dates.push(literals.len() - 1),
        }
        rest = &rest[close + 1..];
    }
    literals.push(rest.to_owned());
    // A template of slots and punctuation only ("{date}, {author}:")
    // would match any line with a comma; it needs a word.
    if !literals.iter().any(|l| l.chars().filter(|c| c.is_alphabetic()).count() >= 2) {
        return None;
    }
    Some(Template { literals, author: author?, dates })
}

/// Where each slot of `t` is in `line` (normalized), if `line` matches.
fn slots(t: &Template, line: &str) -> Option<Vec<(usize, usize)>> {
    let n = t.literals.len();
    let first = &t.literals[0];
    let last = &t.literals[n - 1];
    if !line.starts_with(first.as_str()) || !line.ends_with(last.as_str()) {
        return None;
    }
    // Literal k is found at or after `at`; a slot is never empty.
    let mut at = first.len();
    let end = line.len() - last.len();
    if end < at {
        return None;
    }
    let mut bounds = Vec::with_capacity(n);
    bounds.push((0, at));
    for literal in &t.literals[1..n - 1] {
        let lit = literal.as_str();
        if lit.trim().is_empty() {
            // Slots separated by white space only: their boundary is unknown.
            bounds.push((at, at));
            continue;
        }
        let found = line[at..end].find(lit)? + at;
        if line[at..found].trim().is_empty() {
            return None;
        }
        bounds.push((found, found + lit.len()));
        at = found + lit.len();
    }
    if line[at..end].trim().is_empty() {
        return None;
    }
    bounds.push((end, line.len()));
    // Slot k lies between literal k and literal k + 1.
    let mut out: Vec<(usize, usize)> = (0..n - 1).map(|k| (bounds[k].1, bounds[k + 1].0)).collect();
    // The literal just before the author is its last occurrence before the
    // literal after it ("On Mon, 1 Jan, Alice wrote:": the last comma).
    let k = t.author;
    if k > 0 {
        let lit = t.literals[k].as_str();
        let (slot_start, slot_end) = out[k];
        if !lit.trim().is_empty()
            && let Some(later) = line[slot_start..slot_end].rfind(lit)
        {
            let cut = slot_start + later + lit.len();
            if !line[cut..slot_end].trim().is_empty() {
                out[k - 1].1 = slot_start + later;
                out[k].0 = cut;
            }
        }
    }
    // Slots separated by white space only share their text: where one ends
    // is unknown ("On {date} {author} wrote:").
    for k in 1..out.len() {
        if t.literals[k].trim().is_empty() {
            let union = (out[k - 1].0, out[k].1);
            out[k - 1] = union;
            out[k] = union;
        }
    }
    Some(out)
}

/// Each template's longest literal (its verb, mostly: "wrote", "a écrit",
/// "heeft … geschreven" gives "geschreven"), in one automaton: a line is
/// tried only against the templates whose key it contains.
static KEYS: LazyLock<(AhoCorasick, Vec<Vec<usize>>)> = LazyLock::new(|| {
    let mut keys: Vec<String> = Vec::new();
    let mut by_key: Vec<Vec<usize>> = Vec::new();
    for (k, t) in TEMPLATES.iter().enumerate() {
        let key = t.literals.iter().map(|l| l.trim()).max_by_key(|l| l.len()).unwrap_or_default().to_owned();
        match keys.iter().position(|existing| *existing == key) {
            Some(i) => by_key[i].push(k),
            None => {
                keys.push(key);
                by_key.push(vec![k]);
            }
        }
    }
    (AhoCorasick::new(&keys).expect("static patterns"), by_key)
});

/// How the templates end (" wrote:", "ը գրել է.", "៖"), by their last
/// character: a line that ends in none of them is no attribution.
static ENDINGS: LazyLock<Vec<(char, Vec<String>)>> = LazyLock::new(|| {
    let mut by_char: Vec<(char, Vec<String>)> = Vec::new();
    for t in TEMPLATES.iter() {
        let ending = t.literals.last().map(|l| l.trim_start().to_owned()).unwrap_or_default();
        let Some(last) = ending.chars().next_back() else { continue };
        match by_char.iter_mut().find(|(c, _)| *c == last) {
            Some((_, endings)) if endings.contains(&ending) => {}
            Some((_, endings)) => endings.push(ending),
            None => by_char.push((last, vec![ending])),
        }
    }
    by_char
});

/// Whether `line` ends the way some template does; cheap, and false for
/// most lines: the last character must end a template, and the last word
/// before it (when the template has one there) must be the template's.
fn ends_like_a_template(line: &str) -> bool {
    let line = line.trim_end();
    let Some(last) = line.chars().next_back() else { return false };
    let key = if last == '：' { ':' } else { last };
    let Some((_, endings)) = ENDINGS.iter().find(|(c, _)| *c == key) else { return false };
    let before = line[..line.len() - last.len_utf8()].trim_end();
    endings.iter().any(|ending| {
        let word = ending[..ending.len() - key.len_utf8()].trim_end().rsplit(' ').next().unwrap_or_default();
        ends_with_ignoring_case(before, word)
    })
}

/// `text.ends_with(suffix)`, `suffix` lowercase, case ignored, no allocation.
fn ends_with_ignoring_case(text: &str, suffix: &str) -> bool {
    let mut text = text.chars().rev();
    suffix.chars().rev().all(|s| text.next().is_some_and(|t| t == s || t.to_lowercase().eq(std::iter::once(s))))
}

/// Whether `line` is an attribution by some template, and whether that
/// template has a date (see [`Attribution::dated`]); cheaper than
/// [`attribution`], which also reads the author.
pub(crate) fn matches(line: &str) -> Option<bool> {
    if !ends_like_a_template(line) {
        return None;
    }
    let lower = lower_same_len(&normalize_case_kept(line));
    let (keys, by_key) = &*KEYS;
    let mut found = None;
    for m in keys.find_overlapping_iter(&lower) {
        for &k in &by_key[m.pattern().as_usize()] {
            let t = &TEMPLATES[k];
            if let Some(slots) = slots(t, &lower)
                && !lower[slots[t.author].0..slots[t.author].1].trim().is_empty()
            {
                if !t.dates.is_empty() {
                    return Some(true);
                }
                found = Some(false);
            }
        }
    }
    found
}

/// Matches `line` (one line, or a wrapped attribution joined into one)
/// against the table's templates.
pub(crate) fn attribution(line: &str) -> Option<Attribution> {
    if !ends_like_a_template(line) {
        return None;
    }
    let kept = normalize_case_kept(line);
    let lower = lower_same_len(&kept);
    // Several templates may match ("{date} tarihinde {author} yazdı:" and
    // "{author}, {date} tarihinde şunu yazdı:"): the one whose author slot
    // holds an address wins, then the one with the most words of its own.
    let mut best: Option<(bool, usize, Attribution)> = None;
    let (keys, by_key) = &*KEYS;
    let mut tried = vec![false; TEMPLATES.len()];
    for m in keys.find_overlapping_iter(&lower) {
        for &k in &by_key[m.pattern().as_usize()] {
            if std::mem::replace(&mut tried[k], true) {
                continue;
            }
            let t = &TEMPLATES[k];
            let Some(slots) = slots(t, &lower) else { continue };
            let (start, end) = slots[t.author];
            let region = &kept[start..end];
            let author = author_in(region, t);
            let addressed = author.as_ref().is_some_and(|p| p.email.is_some());
            let words = t.literals.iter().map(|l| l.trim().len()).sum();
            if best.as_ref().is_some_and(|(a, w, _)| (*a, *w) >= (addressed, words)) {
                continue;
            }
            let date = t.dates.iter().map(|k| kept[slots[*k].0..slots[*k].1].trim()).collect::<Vec<_>>().join(" ");
            best = Some((addressed, words, Attribution { author, date, dated: !t.dates.is_empty() }));
        }
    }
    best.map(|(_, _, a)| a)
}

/// The person an author slot names: the address in it with its name, or
/// a name alone; connector words of the template that a slot without
/// clear boundaries took in ("heeft John Doe") are dropped.
fn author_in(region: &str, t: &Template) -> Option<Mention> {
    let strip = |name: &str| -> String {
        let mut words: Vec<&str> = name.split_whitespace().collect();
        while words.len() > 1 && t.literals.iter().any(|l| l.split_whitespace().any(|w| w == lower_same_len(words[0])))
        {
            words.remove(0);
        }
        words.join(" ")
    };
    match address::addresses(region).into_iter().next() {
        Some(mut p) => {
            p.name = strip(&p.name);
            Some(p.into())
        }
        None => {
            let name = strip(&address::clean_name(region));
            (!name.is_empty()).then(|| Mention::name_only(name))
        }
    }
}

/// The verbs of the templates (the longest word run of each, "wrote",
/// "a écrit", "写道") and a few more clients write.
static VERBS: LazyLock<(AhoCorasick, Vec<String>)> = LazyLock::new(|| {
    let mut verbs: HashSet<String> = TEMPLATES
        .iter()
        .filter_map(|t| {
            t.literals
                .iter()
                .map(|l| l.trim_matches(|c: char| !c.is_alphabetic() && c != ')').trim().to_owned())
                .max_by_key(|l| l.chars().filter(|c| c.is_alphabetic()).count())
        })
        .filter(|v| v.chars().count() >= 2)
        .collect();
    verbs.extend(EXTRA_VERBS.iter().map(|v| (*v).to_owned()));
    let verbs: Vec<String> = verbs.into_iter().collect();
    let automaton = AhoCorasick::new(&verbs).expect("static patterns");
    (automaton, verbs)
});

/// Reply verbs of clients whose whole attribution the table does not
/// spell out (Gmail and Outlook in more languages, mobile clients).
const EXTRA_VERBS: &[&str] = &[
    "wrote",
    "schrieb",
    "a écrit",
    "escribió",
    "escreveu",
    "ha scritto",
    "schreef",
    "skrev",
    "skriver",
    "napisał",
    "napsal",
    "napísal",
    "написал",
    "написала",
    "пишет",
    "yazdı",
    "írta",
    "kirjoitti",
    "a scris",
    "je napisao",
    "rašė",
    "kirjutas",
    "写道",
    "寫道",
    "님이 작성",
];

/// Whether `text` has a reply verb as a word of its own.
pub(crate) fn has_verb(text: &str) -> bool {
    let lower = lower_same_len(text);
    let (automaton, _) = &*VERBS;
    automaton.find_overlapping_iter(&lower).any(|m| {
        let before = lower[..m.start()].chars().next_back();
        let after = lower[m.end()..].chars().next();
        let spaced = |c: char| c.is_alphabetic() && (c as u32) < 0x2E80;
        let first = lower[m.start()..].chars().next();
        let last = lower[..m.end()].chars().next_back();
        let glued_before = first.is_some_and(spaced) && before.is_some_and(spaced);
        let glued_after = last.is_some_and(spaced) && after.is_some_and(spaced);
        !glued_before && !glued_after
    })
}

/// Whether `line` can begin an attribution a client wrapped over lines:
/// its first word is the first word of a template ("On", "Am", "Le", "W").
pub(crate) fn starts_attribution(line: &str) -> bool {
    // Each word as written in the templates, lowercase, Capitalised and in
    // capitals, so that a line's first word is looked up as it is.
    static FIRST: LazyLock<HashSet<String>> = LazyLock::new(|| {
        let words: HashSet<String> = TEMPLATES
            .iter()
            .filter_map(|t| t.literals[0].split_whitespace().next().map(str::to_owned))
            .filter(|w| w.chars().any(char::is_alphabetic))
            .chain(["på".to_owned()])
            .collect();
        let capitalised = |w: &String| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        };
        words.iter().flat_map(|w| [w.clone(), capitalised(w), w.to_uppercase()]).collect()
    });
    line.split_whitespace().next().is_some_and(|first| FIRST.contains(first))
}

/// `… On <date>, <someone> wrote:` sharing a line with the text above it.
static INLINE: Guarded = Guarded::new(
    &[
        "wrote", "schrieb", "écrit", "escribi", "escreveu", "scritto", "schreef", "skrev", "napisa", "napsal", "pisze",
        "sent", "írta",
    ],
    r"(?i)(-{2,}\s*)?\b(on|am|le|el|em|il|op|på|den|w dniu|dne)\s.+?\b(wrote|schrieb|a écrit|escribió|escreveu|ha scritto|schreef|skrev|napisał|napsal|pisze|sent|írta)\s*:?\s*-*\s*$",
);

/// Where an attribution written on the same line as the text before it
/// starts (`Sure. On Mon, Bob wrote:`), if one ends the line.
pub(crate) fn inline_attribution(line: &str) -> Option<usize> {
    INLINE.find(line).filter(|m| m.start() > 0 && m.len() <= 200).map(|m| m.start())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn author(line: &str) -> Option<(String, String)> {
        attribution(line).and_then(|a| a.author).map(|p| (p.name, p.email.map(|e| e.to_string()).unwrap_or_default()))
    }

    fn john() -> Option<(String, String)> {
        Some(("John Doe".into(), "john.doe@acme.com".into()))
    }

    #[test]
    fn attributions_of_many_clients_and_languages() {
        for line in [
            "On Wed, Oct 27, 2021 at 9:31 AM John Doe <john.doe@acme.com> wrote:",
            "On 27 Oct 2021, at 09:31, John Doe <john.doe@acme.com> wrote:",
            "Am 27.10.2021 um 09:31 schrieb John Doe <john.doe@acme.com>:",
            "John Doe <john.doe@acme.com> schrieb am Mi., 27. Okt. 2021 um 09:31 Uhr:",
            "Le 28 oct. 2021 à 12:46, « John Doe » <john.doe@acme.com> a écrit :",
            "Op 28-10-2021 12:46 heeft John Doe <john.doe@acme.com> geschreven:",
            "Op 28 okt. 2021 om 12:46 heeft John Doe <john.doe@acme.com> het volgende geschreven:",
            "Dnia 28.10.2021 o 12:46 użytkownik „John Doe” <john.doe@acme.com> napisał:",
            "28.10.2021, 12:46 пользователь \"John Doe\" <john.doe@acme.com> написал:",
            "\"John Doe\" <john.doe@acme.com>, 28.10.2021 12:46 tarihinde şunu yazdı:",
            "John Doe <john.doe@acme.com> kirjoitti 28.10.2021 kello 12.46:",
            "2021. okt. 28. 12:46 időpontban John Doe (<john.doe@acme.com>) ezt írta:",
            "在 2021/10/28 12:46, John Doe <john.doe@acme.com> 写道:",
            "Den 28 okt. 2021 kl. 12:46 skrev John Doe <john.doe@acme.com>:",
            "John Doe <john.doe@acme.com>-ը գրել է 28.10.2021 12:46-ին.",
        ] {
            assert_eq!(author(line), john(), "{line}");
        }
    }

    #[test]
    fn matching_alone_agrees_with_reading() {
        for line in [
            "On Wed, Oct 27, 2021 at 9:31 AM John Doe <john.doe@acme.com> wrote:",
            "Alice wrote:",
            "Le lun. 23 nov. 2026 à 09:00, Intro Bot a écrit :",
            "Thanks:",
            "Here is what I wrote",
        ] {
            assert_eq!(matches(line), attribution(line).filter(|a| a.author.is_some()).map(|a| a.dated), "{line}");
        }
    }

    #[test]
    fn a_name_without_an_address() {
        assert_eq!(
            author("Le lun. 23 nov. 2026 à 09:00, Intro Bot a écrit :"),
            Some(("Intro Bot".into(), String::new()))
        );
        assert_eq!(author("Alice wrote:"), Some(("Alice".into(), String::new())));
    }

    #[test]
    fn the_inline_guard_lets_through_every_line_its_pattern_matches() {
        crate::mail::guarded::assert_guard_holds_on_fixtures("INLINE", &INLINE);
    }

    #[test]
    fn lines_that_are_not_attributions() {
        for line in ["On the other hand, we wrote a lot", "Here is what I wrote", "Thanks:", "It was described as:"] {
            assert_eq!(attribution(line), None, "{line}");
        }
        assert!(!has_verb("Jeg beskrev det"));
        assert!(has_verb("Alice skrev:"));
        assert!(has_verb("在 2016年11月8日，Test 写道："));
        assert!(starts_attribution("On Mon, 23 Nov"));
        assert!(starts_attribution("Dnia 23"));
        assert!(!starts_attribution("Once upon"));
    }
}
