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
            sent\s+from\s+my\s.+ |
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

/// Removes quoted history and signatures from a plain-text reply body.
pub fn strip_quotes(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let joined_with_next = lines.get(i + 1).map(|next| format!("{} {}", line.trim_end(), next.trim()));
        if ATTRIBUTION.is_match(line)
            || joined_with_next.is_some_and(|j| {
                ATTRIBUTION.is_match(&j)
                    && !line.trim().is_empty()
                    && line.trim_start().len() > 2
                    && starts_attribution(line)
            })
            || CUT_LINE.is_match(line)
            || *line == "-- "
            || line.trim_end() == "--"
        {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        kept.push(line.trim_end());
    }
    let text = kept.join("\n");
    text.trim().to_owned()
}

/// Whether a line can begin a wrapped attribution (`On Mon, 2 Dec 2026 …`).
fn starts_attribution(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or_default().to_lowercase();
    matches!(first.as_str(), "on" | "am" | "le" | "el" | "em" | "il" | "op" | "den" | "w")
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
