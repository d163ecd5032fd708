//! The visible part of a reply: what the person wrote this time, without
//! the quoted history below it, the signature, or "Sent from my iPhone".
//!
//! Cut points, in order of appearance (the first one wins):
//! - an attribution line: `On … wrote:` and its common translations, also
//!   when a client wrapped it over two lines;
//! - Outlook's `-----Original Message-----` or a `From:` header block, and a
//!   long underscore rule;
//! - a forwarded-message separator;
//! - the signature delimiter `-- ` and mobile sign-offs.
//!
//! Lines starting with `>` are dropped wherever they are.

use std::sync::LazyLock;

use mail_parser::Message;
use regex::Regex;

static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(
            on\s.+\bwrote: |
            am\s.+\bschrieb.*: |
            le\s.+\bécrit\s?: |
            el\s.+\bescribió: |
            em\s.+\bescreveu: |
            il\s.+\bscritto: |
            op\s.+\bschreef.*: |
            den\s.+\bskrev.*: |
            w\s.+\bnapisał.*:
        )\s*$",
    )
    .expect("static regex")
});

static CUT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(
            -{2,}\s*original\s+message\s*-{2,} |
            -{2,}\s*(forwarded|weitergeleitete)\s+(message|nachricht)\s*-{2,} |
            begin\s+forwarded\s+message: |
            _{10,} |
            (from|von|de|da|van):\s.+ |
            sent\s+from\s+(my\s.+|samsung.*|mail\s+for\s+windows.*) |
            -{2,}\s*(original|antwort|ursprüngliche)\s.*-{2,} |
            get\s+outlook\s+for\s.+ |
            von\s+meinem\s.+\s+gesendet |
            envoyé\s+de\s+mon\s.+ |
            enviado\s+desde\s+mi\s.+
        )\s*$",
    )
    .expect("static regex")
});

/// The reply text a person wrote in `msg`, quotes and signature removed.
pub fn visible_text(msg: &Message<'_>) -> String {
    let body = msg.body_text(0).map(|b| b.into_owned()).unwrap_or_default();
    strip_quotes(&body)
}

/// `… On <date>, <someone> wrote:` sharing a line with the reply above it.
static INLINE_ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(-{2,}\s*)?\b(on|am|le|el|em|il|op|på|den|w dniu|dne)\s.{4,160}?\b(wrote|schrieb|a écrit|escribió|escreveu|ha scritto|schreef|skrev|napisał|napsal|pisze|sent|írta)\s*:?\s*-*\s*$")
        .expect("static regex")
});

/// An address in a line (bare, in angle brackets, or in parentheses).
static HAS_ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}").expect("static regex"));

/// Whether the quoted history starts at line `i`.
fn starts_history(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    let trimmed = line.trim();
    if ATTRIBUTION.is_match(line) || CUT_LINE.is_match(line) || line == "-- " || trimmed == "--" {
        return true;
    }
    if super::forward::DASH_SEPARATOR.is_match(line) || super::forward::UNDERSCORES.is_match(line) {
        return true;
    }
    if super::forward::header_fields_start(lines, i) {
        return true;
    }
    // "2014-03-09 20:48 GMT+01:00 Rémi <r@x.com>:", "… Valentino (v@rudy.be) skrev:":
    // an address and a closing colon, or a reply verb, make an attribution.
    let has_address = HAS_ADDRESS.is_match(line) || line.contains('<');
    if has_address && (trimmed.ends_with(':') || super::forward::ATTRIBUTION.is_match(line)) {
        return true;
    }
    // "… keltezéssel, „Eszter” írta:", "… 写道：": a reply verb closing the line.
    if (trimmed.ends_with(':') || trimmed.ends_with('：')) && super::forward::ATTRIBUTION.is_match(line) {
        return true;
    }
    // A rule of dashes alone closes the reply in some clients.
    if trimmed.len() >= 10 && trimmed.chars().all(|c| c == '-') {
        return true;
    }
    // An attribution wrapped over two lines: the verb on the second.
    if let Some(next) = lines.get(i + 1) {
        let next = next.trim();
        if !trimmed.is_empty()
            && starts_attribution(line)
            && (super::forward::ATTRIBUTION.is_match(next) || (next.ends_with(':') && HAS_ADDRESS.is_match(next)))
        {
            return true;
        }
        if ATTRIBUTION.is_match(&format!("{} {}", line.trim_end(), next)) && starts_attribution(line) {
            return true;
        }
    }
    false
}

/// Removes quoted history and signatures from a plain-text reply body.
pub fn strip_quotes(body: &str) -> String {
    let lines: Vec<&str> = body.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut kept: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        // The reply and the attribution on one line: keep what is before it.
        if let Some(m) = INLINE_ATTRIBUTION.find(line)
            && m.start() > 0
            && !line[..m.start()].trim().is_empty()
        {
            kept.push(line[..m.start()].trim_end().trim_end_matches('-').trim_end().to_owned());
            break;
        }
        if starts_history(&lines, i) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        kept.push(line.trim_end().to_owned());
    }
    kept.join("\n").trim().to_owned()
}

/// Whether a line can begin a wrapped attribution (`On Mon, 2 Dec 2026 …`).
fn starts_attribution(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or_default().to_lowercase();
    matches!(first.as_str(), "on" | "am" | "le" | "el" | "em" | "il" | "op" | "den" | "w" | "på" | "dne" | "el día")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_is_above_the_attribution() {
        let body = "Yes, happy to!\n\nOn Mon, 23 Nov 2026 at 09:00, Intro Bot <intros@example.com> wrote:\n> Would you like to meet Alice?\n";
        assert_eq!(strip_quotes(body), "Yes, happy to!");
    }

    #[test]
    fn wrapped_attribution_and_translations() {
        let body = "Sure.\nOn Mon, 23 Nov 2026 at 09:00, Intro Bot\n<intros@example.com> wrote:\n> hi";
        assert_eq!(strip_quotes(body), "Sure.");
        let body = "Gerne!\n\nAm 23.11.2026 um 09:00 schrieb Intro Bot <intros@example.com>:\n> hi";
        assert_eq!(strip_quotes(body), "Gerne!");
        let body = "Avec plaisir\n\nLe lun. 23 nov. 2026 à 09:00, Intro Bot a écrit :\n> hi";
        assert_eq!(strip_quotes(body), "Avec plaisir");
    }

    #[test]
    fn outlook_blocks_signatures_and_mobile_footers() {
        let body = "No thanks.\n\n-----Original Message-----\nFrom: Intro Bot\nSent: Monday\n";
        assert_eq!(strip_quotes(body), "No thanks.");
        let body = "Yes please\n\nSent from my iPhone";
        assert_eq!(strip_quotes(body), "Yes please");
        let body = "yes\n-- \nBob Busy\nCTO, Example";
        assert_eq!(strip_quotes(body), "yes");
        let body = "Not now.\n________________________________\nFrom: Intro Bot <intros@example.com>";
        assert_eq!(strip_quotes(body), "Not now.");
    }

    #[test]
    fn interleaved_quotes_are_dropped() {
        assert_eq!(strip_quotes("> Would you?\nYes.\n> Really?"), "Yes.");
    }
}
