//! Text from strangers' mail made safe to keep and to write again. Names,
//! subjects and texts come from a `From` display name, a forwarded
//! original, a subject line; before the bot stores or composes with them:
//!
//! - a display name loses control characters (CR, LF, NUL and the rest of
//!   C0/C1), bidirectional overrides and invisible separators, any address
//!   inside it, and is cut to [`NAME_MAX`] characters: no header injection,
//!   no address of one party reaching the other through a name, no name
//!   that reads backwards;
//! - what reads as an address is found in any script: an at sign that NFKC
//!   folds to `@` ([`AT_SIGNS`]: the full-width `＠`, the small `﹫`),
//!   internationalised local parts and domains, full-width letters and
//!   dots ([`ADDRESS_IN_ANY_SCRIPT`], for names and for texts shown to a
//!   party before the introduction);
//! - a subject is one line of at most [`SUBJECT_MAX`] characters, cleaned
//!   the same way;
//! - a text passed on (a summary, a reply) is cut to [`TEXT_MAX`] bytes
//!   with "[…]" and gets CRLF line endings in one linear pass (lettre
//!   inserts each missing CR one by one, which is quadratic);
//! - a Message-ID from inbound mail is used for threading only when it is
//!   a plain `left@right` of printable ASCII within [`MESSAGE_ID_MAX`].
//!
//! With names and subjects bounded, lettre's encoder keeps every header
//! line within RFC 5322's 998 octets (checked by the property tests).

/// Longest display name kept, in characters.
pub const NAME_MAX: usize = 64;
/// Longest subject kept, in characters.
pub const SUBJECT_MAX: usize = 200;
/// Longest text passed on to someone (a summary, a reply), in bytes.
pub const TEXT_MAX: usize = 20 * 1024;
/// Longest Message-ID we thread under.
pub const MESSAGE_ID_MAX: usize = 250;
/// Marks a cut.
pub const CUT: &str = "[…]";

/// The characters NFKC folds to `@`: the at sign, the full-width `＠`
/// (U+FF20) and the small `﹫` (U+FE6B). Mail clients show all three as an
/// at sign, and people copy them back into a To field.
pub const AT_SIGNS: [char; 3] = ['@', '＠', '﹫'];

/// What reads as an address to a person, in any script, as a regex pattern
/// (no anchors, no groups that capture): letters, marks and digits of any
/// script in the local part and the domain (`jörg@bücher.example`,
/// `иван@пример.рф`), any of [`AT_SIGNS`] (a space on either side of it
/// too), the full-width and ideographic dots and hyphens, a punycode
/// top-level domain, a `mailto:` before it. Wider than
/// [`crate::core::address::IN_PROSE`] (which finds addresses to use): this
/// one finds addresses to remove.
pub const ADDRESS_IN_ANY_SCRIPT: &str = concat!(
    r"(?i:mailto:)?[\p{L}\p{M}\p{N}._%+\-＿．＋－]+",
    // An at sign spaced out on one line is still one.
    r"[ \t\u{A0}\u{3000}]?[@＠﹫][ \t\u{A0}\u{3000}]?",
    r"[\p{L}\p{M}\p{N}\-－]+(?:[.．。｡][\p{L}\p{M}\p{N}\-－]+)*",
    r"[.．。｡](?:[xX][nN]--[\p{L}\p{N}\-]+|[\p{L}\p{M}]{2,})"
);

/// Characters that must never reach a header or a name: controls, the
/// bidirectional formatting characters (which can make a name read as
/// another) and invisible separators.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// One line of safe text: unsafe characters become spaces, runs of spaces
/// one, cut to `max` characters with "…".
fn one_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut count = 0;
    let mut space = false;
    for c in s.chars() {
        let c = if is_unsafe(c) || c.is_whitespace() { ' ' } else { c };
        if c == ' ' {
            space = !out.is_empty();
            continue;
        }
        if count + usize::from(space) + 1 > max {
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
            count += 1;
            space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// A display name safe for a header and for the other party: no controls,
/// no address, one line, at most [`NAME_MAX`] characters. May be empty.
pub fn clean_name(name: &str) -> String {
    let without_addresses = strip_addresses(name);
    let line = one_line(&without_addresses, NAME_MAX * 4);
    // Quotes and brackets left around a removed address are noise.
    let trimmed =
        line.trim_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | '<' | '>' | ','));
    one_line(trimmed, NAME_MAX)
}

/// A subject safe for a header: one line, at most [`SUBJECT_MAX`] characters.
pub fn clean_subject(subject: &str) -> String {
    one_line(subject, SUBJECT_MAX)
}

/// Removes everything shaped like an address (`x@y`, with `<>`, `()` or
/// `mailto:` around it, with any of [`AT_SIGNS`]) from a name.
fn strip_addresses(s: &str) -> String {
    if !s.contains(AT_SIGNS) {
        return s.to_owned();
    }
    // Every word with an at sign goes, and with it an address spaced out
    // around a lone one (`bob ＠ b.example`).
    let address = address_pattern();
    let s = address.replace_all(s, " ");
    s.split_whitespace()
        .filter(|w| !w.contains(AT_SIGNS))
        .collect::<Vec<_>>()
        .join(" ")
        .replace("()", "")
        .replace("<>", "")
        .replace("[]", "")
}

/// [`ADDRESS_IN_ANY_SCRIPT`], compiled once.
pub fn address_pattern() -> &'static regex::Regex {
    static ADDRESS: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(ADDRESS_IN_ANY_SCRIPT).expect("static regex"));
    &ADDRESS
}

/// A text to pass on: at most [`TEXT_MAX`] bytes (cut at a line or char
/// boundary, then "[…]"), NULs removed.
pub fn cap_text(text: &str) -> String {
    cap_text_at(text, TEXT_MAX)
}

/// [`cap_text`] with another limit.
pub fn cap_text_at(text: &str, max: usize) -> String {
    let clean = |s: &str| s.replace('\0', "");
    if text.len() <= max {
        return clean(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    // Prefer to end at a line break in the last tenth.
    if let Some(nl) = text[..end].rfind('\n').filter(|&nl| nl > end - end / 10) {
        end = nl;
    }
    format!("{}\n{CUT}", clean(text[..end].trim_end()))
}

/// `text` with CRLF line endings (bare CR and bare LF both become CRLF),
/// in one pass.
pub fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16 + 2);
    let mut rest = text;
    // Copy the runs between line breaks whole (a char at a time was 7 % of
    // the inbox's instructions); a CR, an LF or a CRLF each become one CRLF.
    while let Some(at) = memchr::memchr2(b'\r', b'\n', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        out.push_str("\r\n");
        let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[at + skip..];
    }
    out.push_str(rest);
    out
}

/// An inbound Message-ID (without brackets) fit to put in `In-Reply-To` /
/// `References`, or `None`.
pub fn safe_message_id(id: &str) -> Option<&str> {
    let id = id.trim();
    let ok = !id.is_empty()
        && id.len() <= MESSAGE_ID_MAX
        && id.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\\' | b'(' | b')' | b','))
        && id.split_once('@').is_some_and(|(l, r)| !l.is_empty() && !r.is_empty() && !r.contains('@'));
    ok.then_some(id)
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_issue_s_poison_name_is_one_clean_line() {
        // =?utf-8?b?Q29ubmllDQpCY2M6IGV2aWxAeC5leGFtcGxl?= decodes to this.
        assert_eq!(clean_name("Connie\r\nBcc: evil@x.example"), "Connie Bcc:");
        assert_eq!(clean_name("A\0B\u{7}C"), "A B C");
    }

    #[test]
    fn names_lose_addresses_and_bidi_tricks() {
        assert_eq!(clean_name("Bob Baker (bob@b.example)"), "Bob Baker");
        assert_eq!(clean_name("\"bob@b.example\""), "");
        assert_eq!(clean_name("Bob <bob@b.example>"), "Bob");
        assert_eq!(clean_name("mailto:bob@b.example Bob"), "Bob");
        // "Alice" followed by a right-to-left override showing "gpj.exe".
        assert_eq!(clean_name("Alice\u{202E}exe.jpg"), "Alice exe.jpg");
        assert_eq!(clean_name("Zoë\u{2066}x\u{2069} Ångström"), "Zoë x Ångström");
        assert_eq!(clean_name("  spaced \t out  "), "spaced out");
    }

    /// Red team: look-alike at signs and addresses outside ASCII in names.
    #[test]
    fn names_lose_addresses_in_any_script() {
        assert_eq!(clean_name("Bob Baker (bob＠b.example)"), "Bob Baker");
        assert_eq!(clean_name("Bob Baker ﹫bob"), "Bob Baker");
        assert_eq!(clean_name("Jörg <jörg@bücher.example>"), "Jörg");
        assert_eq!(clean_name("Иван иван@пример.рф Петров"), "Иван Петров");
        assert_eq!(clean_name("Bob bob ＠ b.example Baker"), "Bob Baker");
        assert_eq!(clean_name("ｂｏｂ＠ｂ．ｅｘａｍｐｌｅ"), "");
    }

    /// Words of any script, an address in any script with any at sign
    /// (bare, in brackets, after `mailto:`), more words: for the property
    /// tests here and in `compose::context`.
    pub(crate) fn text_with_an_address() -> impl Strategy<Value = (String, String, String)> {
        let words = "[\\p{L} ,.()'-]{0,30}";
        let local = "[a-zA-Z0-9äöüßéçøжшд李ｂｏ._+-]{1,12}";
        let label = "[a-z0-9äöüéжшдпример例子ｂｅ-]{1,10}";
        let tld = prop::sample::select(vec!["com", "example", "рф", "中国", "xn--p1ai", "ｃｏｍ", "de"]);
        let at = prop::sample::select(AT_SIGNS.to_vec());
        let dot = prop::sample::select(vec!['.', '．', '。']);
        let wrap = prop::sample::select(vec![("", ""), ("<", ">"), ("(", ")"), ("mailto:", ""), ("<mailto:", ">")]);
        (words, local, at, label, dot, tld, wrap, words).prop_map(
            |(before, local, at, label, dot, tld, (open, close), after)| {
                (format!("{before} "), format!("{open}{local}{at}{label}{dot}{tld}{close}"), format!(" {after}"))
            },
        )
    }

    #[test]
    fn names_and_subjects_are_bounded() {
        let long = "x".repeat(5000);
        assert_eq!(clean_name(&long).chars().count(), NAME_MAX + 1, "64 and an ellipsis");
        assert!(clean_name(&long).ends_with('…'));
        let subject = format!("Intro: {long}\r\nBcc: evil@x <> Bob");
        let s = clean_subject(&subject);
        assert!(s.chars().count() <= SUBJECT_MAX + 1 && !s.contains(['\r', '\n']), "{s}");
    }

    #[test]
    fn texts_are_capped_with_a_mark() {
        let text = "line of text\n".repeat(4000);
        let capped = cap_text(&text);
        assert!(capped.len() <= TEXT_MAX + CUT.len() + 1, "{}", capped.len());
        assert!(capped.ends_with("\n[…]"));
        assert_eq!(cap_text("short\0text"), "shorttext");
        // A multi-byte character at the limit is not split.
        let wide = "é".repeat(TEXT_MAX);
        assert!(cap_text(&wide).ends_with("é\n[…]"));
    }

    #[test]
    fn crlf_in_one_pass() {
        assert_eq!(crlf("a\nb\r\nc\rd\n"), "a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(crlf(""), "");
        assert_eq!(crlf("\n\n"), "\r\n\r\n");
    }

    #[test]
    fn only_plain_message_ids_are_threaded_under() {
        assert_eq!(safe_message_id(" a.b@c.example "), Some("a.b@c.example"));
        for bad in ["", "no-at", "a@b@c", "a b@c", "a@b\r\nBcc: x", "<a@b>", "a@", "@b"] {
            assert_eq!(safe_message_id(bad), None, "{bad:?}");
        }
        assert_eq!(safe_message_id(&format!("{}@x", "a".repeat(300))), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn cleaned_names_are_always_safe(name in "\\PC{0,300}|[\\x00-\\x7f]{0,300}") {
            let clean = clean_name(&name);
            prop_assert!(!clean.chars().any(is_unsafe));
            prop_assert!(!clean.contains('@'));
            prop_assert!(clean.chars().count() <= NAME_MAX + 1);
            prop_assert_eq!(clean.trim(), clean.as_str());
        }

        #[test]
        fn no_address_in_any_script_survives_in_a_name((before, address, after) in text_with_an_address()) {
            let name = format!("{before}{address}{after}");
            let clean = clean_name(&name);
            prop_assert!(!clean.contains(AT_SIGNS), "{name:?} -> {clean:?}");
        }

        #[test]
        fn crlf_output_has_no_bare_line_ends(text in "[a\\r\\n]{0,100}") {
            let out = crlf(&text);
            let bytes = out.as_bytes();
            for (i, b) in bytes.iter().enumerate() {
                if *b == b'\n' { prop_assert!(i > 0 && bytes[i - 1] == b'\r'); }
                if *b == b'\r' { prop_assert!(bytes.get(i + 1) == Some(&b'\n')); }
            }
        }
    }
}
