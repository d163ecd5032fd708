//! The visible part of a reply: what the person wrote this time, without
//! the quoted history below it, the signature, or "Sent from my iPhone".
//!
//! Cut points, in order of appearance (the first one wins):
//! - an attribution line: a client's template in any locale of the
//!   vocabulary (`On … wrote:`, `Am … schrieb …:`, `Op … heeft …
//!   geschreven:`), a date or an address closed by a colon
//!   (`2014-10-17 11:28 Name <a@b.c>:`), a reply verb (`写道：`, `írta:`),
//!   also when a client wrapped it over lines;
//! - a separator (`-----Original Message-----` and its translations, a
//!   forwarded-message separator, a client's intro line), a header block
//!   of the quoted original read by its shape, or its `From:` line with an
//!   address, a long rule of dashes, equals signs or underscores;
//! - the signature delimiter `-- `, "Sent from my iPhone" and its kin in
//!   fifteen languages, and legal disclaimers a server appends.
//!
//! Lines starting with `>` are dropped wherever they are (and the rest of
//! a quoted line a client wrapped without its `>`); `>>> link <<<` banners
//! are not quotes. Words written below an attribution's `>`-quoted block
//! are kept: some people answer below or between the quotes. An
//! attribution without a date or an address ("Alice wrote:") counts only
//! when quoted lines follow it. Under the text, a closing `-Name` and a
//! contact card (name, address, phone, web site) are a signature.
//!
//! HTML-only replies are cut at the client's quote container first (see
//! [`super::html`]). The words of all of this (attributions, separators,
//! field names, footers) are the shared vocabulary in [`super::history`];
//! this module owns only where a reply ends.

use mail_parser::{Message, PartType};

use super::history::{self, address::has_address, attribution, fields, footer};

/// `text` without the mobile footers under it ("Sent from my iPhone"); the
/// rule lives with the vocabulary, in [`super::history`].
pub(crate) use super::history::footer::without_trailing_footers;

/// The reply text a person wrote in `msg`, quotes and signature removed.
pub fn visible_text(msg: &Message<'_>) -> String {
    match msg.text_part(0).map(|part| &part.body) {
        Some(PartType::Text(text)) => strip_quotes(text),
        // HTML-only: the client's quote container marks the history.
        Some(PartType::Html(html)) => strip_quotes(&super::html::reply_to_text(html)),
        _ => String::new(),
    }
}

/// Where the quoted history starts, and whether the person may still be
/// writing below it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cut {
    /// An attribution (`On … wrote:`) spanning this many lines: if a
    /// `>`-quoted block follows and then the person's own words, they are
    /// answering below or between the quotes.
    Attribution(usize),
    /// Everything from here on is history, signature or footer.
    Final,
}

/// Whether (and how) the quoted history starts at line `i`.
fn cut_at(lines: &[&str], i: usize) -> Option<Cut> {
    let line = lines[i];
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return None;
    }
    let closes = trimmed.ends_with(':') || trimmed.ends_with('：');
    // A client's attribution, word for word as the vocabulary has it; one
    // without a date ("Alice wrote:") only over quoted lines, since it may
    // be the person citing someone.
    if let Some(dated) = attribution::matches(line)
        && (dated || next_is_quoted(lines, i + 1))
    {
        return Some(Cut::Attribution(1));
    }
    if history::separator(line).is_some()
        || line == "-- "
        || trimmed == "--"
        || footer::is_footer(line)
        || footer::is_disclaimer(line)
    {
        return Some(Cut::Final);
    }
    // The quoted original's header: a block of fields, or its `From:` line
    // alone with an address. (Both need a colon, and most lines have none.)
    let at = line.contains('@');
    if line.contains([':', '：'])
        && (fields::block_starts(lines, i)
            || (at && fields::known_field(line).is_some_and(|(f, v)| f == fields::Field::From && has_address(v))))
    {
        return Some(Cut::Final);
    }
    // "2014-03-09 20:48 GMT+01:00 Rémi <r@x.com>:", "… Valentino (v@rudy.be) skrev:",
    // "在 2016年11月8日，下午2:23，Test <t@x.com> 写道：": an address and a closing
    // colon, or a reply verb, make an attribution.
    let addressed = (at && has_address(line)) || line.contains('<');
    if addressed && (closes || attribution::has_verb(line)) {
        return Some(Cut::Attribution(1));
    }
    if closes {
        // "… keltezéssel, „Eszter” írta:": a reply verb closing the line.
        // Without a date or an address ("Alice wrote:") it is only an
        // attribution when quoted lines follow; otherwise it is the person
        // citing someone.
        let dated = trimmed.chars().any(|c| c.is_ascii_digit());
        if attribution::has_verb(line) && (dated || next_is_quoted(lines, i + 1)) {
            return Some(Cut::Attribution(1));
        }
        // "23.11.2026 09:00, Alice:" over quoted lines (Thunderbird in
        // Ukrainian has no verb): a dated line closed by a colon introduces
        // the quote.
        if dated && next_is_quoted(lines, i + 1) {
            return Some(Cut::Attribution(1));
        }
    }
    // A rule alone (dashes, equals signs, underscores) closes the reply in some clients.
    if trimmed.chars().all(|c| matches!(c, '-' | '=' | '_' | '\u{2010}'..='\u{2015}')) && trimmed.chars().count() >= 10
    {
        return Some(Cut::Final);
    }
    // An attribution wrapped over lines: "On <date>, <name>" then the
    // address or the verb on the lines after it (blank lines and a lone
    // `<` included, as some clients wrap).
    if attribution::starts_attribution(line) || opens_address(line) {
        let mut joined = trimmed.to_owned();
        for (k, next) in lines.iter().enumerate().skip(i + 1).take(4) {
            let next = next.trim();
            if next.is_empty() {
                continue;
            }
            joined.push(' ');
            joined.push_str(next);
            let closes = next.ends_with(':') || next.ends_with('：');
            if (closes && attribution::matches(&joined).is_some())
                || attribution::has_verb(next)
                || (closes && has_address(&joined))
            {
                return Some(Cut::Attribution(k + 1 - i));
            }
        }
    }
    None
}

/// An address broken over lines: `Postmaster <` with the rest below.
fn opens_address(line: &str) -> bool {
    line.matches('<').count() > line.matches('>').count()
}

/// Whether the first non-blank line from `i` on is `>`-quoted.
fn next_is_quoted(lines: &[&str], i: usize) -> bool {
    lines[i.min(lines.len())..].iter().find(|l| !l.trim().is_empty()).is_some_and(|l| is_quoted(l))
}

fn is_quoted(line: &str) -> bool {
    let line = line.trim();
    // ">>> http://example.com <<<" points at a link; it quotes nothing.
    line.starts_with('>') && !(line.starts_with(">>") && line.ends_with("<<"))
}

/// Whether line `i` is quoted, or is the rest of a quoted line that a
/// client wrapped without its `>`: directly between two quoted lines, and
/// either under a long one, indented, or a piece of a broken link. A
/// short answer between quotes ("> Would you?\nYes.\n> …") is not one.
fn quoted_at(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    if is_quoted(line) {
        return true;
    }
    let (Some(prev), Some(next)) = (i.checked_sub(1).map(|p| lines[p]), lines.get(i + 1)) else { return false };
    if line.trim().is_empty() || !is_quoted(prev) || !is_quoted(next) {
        return false;
    }
    let broken_link = !line.trim().contains(' ') && line.contains(['/', '=', '_', '%', '&', '#', ')']);
    prev.chars().count() >= 60 || line.starts_with(char::is_whitespace) || broken_link
}

/// After an attribution at `i` spanning `span` lines: where the person's
/// own words resume below the `>`-quoted block it introduces, if they do.
fn resumes_after_quote(lines: &[&str], i: usize, span: usize) -> Option<usize> {
    let mut j = i + span;
    let mut quoted = 0;
    while let Some(line) = lines.get(j) {
        if quoted_at(lines, j) {
            quoted += 1;
        } else if !line.trim().is_empty() {
            break;
        }
        j += 1;
    }
    (quoted > 0 && j < lines.len()).then_some(j)
}

/// Removes quoted history and signatures from a plain-text reply body.
///
/// The reply ends at the first cut (see the module docs), with one
/// exception: an attribution over a `>`-quoted block with the person's
/// words below it is an answer written below or between the quotes, and
/// those words are kept.
pub fn strip_quotes(body: &str) -> String {
    let body = history::without_bom(body);
    let lines: Vec<&str> = body.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if quoted_at(&lines, i) {
            i += 1;
            continue;
        }
        // The reply and the attribution on one line: keep what is before it.
        if let Some(start) = attribution::inline_attribution(line)
            && !line[..start].trim().is_empty()
        {
            kept.push(line[..start].trim_end().trim_end_matches('-').trim_end());
            break;
        }
        match cut_at(&lines, i) {
            None => {
                kept.push(line.trim_end());
                i += 1;
            }
            Some(Cut::Attribution(span)) => match resumes_after_quote(&lines, i, span) {
                Some(resume) => {
                    kept.push("");
                    i = resume;
                }
                None => break,
            },
            Some(Cut::Final) => break,
        }
    }
    drop_dash_signoff(&mut kept);
    drop_contact_card(&mut kept);
    kept.join("\n").trim().to_owned()
}

/// A closing paragraph of a few short lines, two or more of them contact
/// details (an address, a phone number, a web site): a signature written
/// without the `-- ` delimiter.
fn drop_contact_card(kept: &mut Vec<&str>) {
    drop_trailing_blanks(kept);
    let Some(blank) = kept.iter().rposition(|l| l.trim().is_empty()) else { return };
    let card = &kept[blank + 1..];
    let above = kept[..blank].iter().any(|l| !l.trim().is_empty());
    let is_contact = |l: &str| {
        let l = l.trim();
        let digits = l.chars().filter(char::is_ascii_digit).count();
        let phone = digits >= 7 && l.chars().all(|c| c.is_ascii_digit() || " +-().:/".contains(c) || c.is_alphabetic());
        has_address(l) || phone || l.starts_with("www.") || l.starts_with("http") || l.contains("linkedin.com")
    };
    if above
        && (2..=7).contains(&card.len())
        && card.iter().all(|l| l.trim().chars().count() <= 50)
        && card.iter().filter(|l| is_contact(l)).count() >= 2
    {
        kept.truncate(blank);
    }
}

fn drop_trailing_blanks(kept: &mut Vec<&str>) {
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
}

/// A closing `-Name` under the text ("-Abhishek Kona"): a signature.
fn drop_dash_signoff(kept: &mut Vec<&str>) {
    drop_trailing_blanks(kept);
    let Some(last) = kept.last() else { return };
    let Some(name) = last.trim().strip_prefix('-').map(|n| n.trim_start_matches('-').trim()) else { return };
    let words: Vec<&str> = name.split_whitespace().collect();
    let is_name = (1..=3).contains(&words.len())
        && words.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars().all(|c| c.is_alphabetic() || c == '.' || c == '\'')
        });
    if is_name && kept.iter().rev().skip(1).any(|l| !l.trim().is_empty()) {
        kept.pop();
    }
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
        assert_eq!(strip_quotes("See:\n>>> http://example.com <<<\nthere"), "See:\n>>> http://example.com <<<\nthere");
    }

    #[test]
    fn answers_below_an_attribution_and_its_quotes_are_kept() {
        let body = "On Mon, 23 Nov 2026 at 09:00, Intro Bot <intros@example.com> wrote:\n> Would you like to meet Alice?\n\nYes, happy to.\n";
        assert_eq!(strip_quotes(body), "Yes, happy to.");
        // Pieces of a quoted line the client wrapped are still the quote.
        let body = "Sure\n\nOn Mon, 23 Nov 2026, Bot wrote:\n> See (http://example.com/a\n_nonce=3dd518)\n>\n> Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eius\nmod tempor.\n>\n";
        assert_eq!(strip_quotes(body), "Sure");
        // A server's disclaimer below the quote is not an answer.
        let body = "Yes\n\nOn Mon, 23 Nov 2026, Bot wrote:\n> Would you?\n\nThis e-mail is confidential and intended only for the addressee.";
        assert_eq!(strip_quotes(body), "Yes");
    }

    #[test]
    fn citing_someone_is_not_an_attribution() {
        assert_eq!(
            strip_quotes("Happy to.\nAlice wrote:\nthat you are the expert.\n"),
            "Happy to.\nAlice wrote:\nthat you are the expert."
        );
        assert_eq!(strip_quotes("Happy to.\nAlice wrote:\n> hi\n"), "Happy to.");
    }

    #[test]
    fn attributions_wrapped_around_an_address() {
        let body = "Test reply\n\n2014-10-17 11:28 GMT+03:00 Postmaster <\npostmaster@example.org>:\n\n> First";
        assert_eq!(strip_quotes(body), "Test reply");
        let body = "Test reply\n\nOn Tue, Apr 11, 2017 at 10:07 PM John Smith\n\n<\nmailto:John Smith <js@example.com>\n> wrote:\nquoted";
        assert_eq!(strip_quotes(body), "Test reply");
        assert_eq!(strip_quotes("谢谢。\n在 2016年11月8日，下午2:23，Test <t@example.com> 写道：\n> hi"), "谢谢。");
    }

    #[test]
    fn a_contact_card_under_the_text_is_a_signature() {
        let body = "Yes, happy to.\n\nGina Example\ngina@example.com\n(555) 346-9947\nwww.example.com\n";
        assert_eq!(strip_quotes(body), "Yes, happy to.");
        // Contact details the person gives in their answer stay.
        let body = "Yes! Reach me here:\nbob@example.com\n+1 555 346 9947";
        assert_eq!(strip_quotes(body), body);
    }

    #[test]
    fn a_closing_dash_name_is_a_signature() {
        assert_eq!(strip_quotes("Yes, go ahead.\n\n-Abhishek Kona"), "Yes, go ahead.");
        assert_eq!(strip_quotes("-Abhishek Kona"), "-Abhishek Kona");
    }
}
