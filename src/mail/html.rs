//! Plain text from the HTML part of a mail, for mail that has no plain-text
//! part. Pure and tolerant: it reads tags well enough to know where lines
//! break, what is never shown (`<style>`, `<script>`, `<head>`, comments)
//! and, for replies, where the quoted history begins; it is not an HTML
//! parser and never fails.
//!
//! Block elements (`div`, `p`, `br`, `li`, `tr`, headings, …) end a line,
//! which is what a reader sees: `<div>Thanks,</div><div>Alex</div>` is two
//! lines, not `Thanks,Alex`. The cells of a table row stay on one line, a
//! tab apart (Thunderbird's forward header is a table). List items keep a
//! bullet (`- item`) or their number (`1. item`); a link whose text is not
//! its target keeps the target in brackets (`our deck (https://…)`), except
//! in a reply's text, which is read for a decision.
//! Entities are decoded.
//!
//! Quote containers of common clients, where a reply's history starts:
//! Gmail `gmail_quote`, Apple Mail and Thunderbird `blockquote type="cite"`
//! (and Thunderbird's `moz-cite-prefix` attribution), Outlook
//! `divRplyFwdMsg` / `appendonsend` / `mail-editor-reference-message-container`
//! and Hotmail's `stopSpelling` rule, Yahoo `yahoo_quoted`, Proton
//! `protonmail_quote`, Zimbra `zwchr`, Zoho `zmail_extra`, Fastmail `qt`,
//! Spark `messageReplySection`; and the signature blocks above them (Gmail
//! `gmail_signature`, Proton, Thunderbird `moz-signature`, Outlook
//! `id="Signature"`).

/// The text a reader sees in `html`.
pub fn to_text(html: &str) -> String {
    render(html, false)
}

/// The text of a reply in `html`, up to the first quote container.
pub fn reply_to_text(html: &str) -> String {
    render(html, true)
}

/// Tags whose start or end begins a new line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
];

/// Elements whose content is never shown.
const HIDDEN: &[&str] = &["head", "script", "style", "title", "template"];

/// Attribute values that mark where a client put the quoted history, or
/// the signature above it: where a reply's own words end.
const QUOTE_MARKERS: &[&str] = &[
    "gmail_quote",
    "moz-cite-prefix",
    "divrplyfwdmsg",
    "appendonsend",
    "mail-editor-reference-message-container",
    "stopspelling",
    "yahoo_quoted",
    "protonmail_quote",
    "zwchr",
    "zmail_extra",
    "messagereplysection",
    // Signatures, which sit under the reply and above the quote.
    "gmail_signature",
    "protonmail_signature_block",
    "moz-signature",
    "id=\"signature\"",
];

fn render(html: &str, stop_at_quote: bool) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut hidden: Option<String> = None;
    let mut in_pre = false;
    // Open lists, innermost last: the next number of an `<ol>`, `None` for `<ul>`.
    let mut lists: Vec<Option<u32>> = Vec::new();
    // An open link: its target and where its text starts in `out`.
    let mut link: Option<(String, usize)> = None;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if hidden.is_none() {
                push_text(&mut out, rest, in_pre);
            }
            break;
        };
        if hidden.is_none() {
            push_text(&mut out, &rest[..lt], in_pre);
        }
        rest = &rest[lt..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(gt) = tag_end(rest) else {
            // A lone `<` in text: show it.
            if hidden.is_none() {
                out.push('<');
            }
            rest = &rest[1..];
            continue;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if name.is_empty() {
            // `<!DOCTYPE …>`, `<?xml …>`, or a `<` that only looked like a tag.
            continue;
        }
        if let Some(h) = &hidden {
            if closing && *h == name {
                hidden = None;
            }
            continue;
        }
        if HIDDEN.contains(&name.as_str()) && !closing && !tag.ends_with('/') {
            hidden = Some(name);
            continue;
        }
        if stop_at_quote && !closing && is_quote_container(&name, tag) {
            break;
        }
        if name == "pre" {
            in_pre = !closing;
        }
        match (name.as_str(), closing) {
            ("ul", false) => lists.push(None),
            ("ol", false) => lists.push(Some(attribute(tag, "start").and_then(|s| s.trim().parse().ok()).unwrap_or(1))),
            ("ul" | "ol", true) => {
                lists.pop();
            }
            // Cells of a row stay on its line, a tab apart (`Subject:` and its value).
            ("td" | "th", false) if !out.is_empty() && !out.ends_with(['\n', '\t']) => out.push('\t'),
            // A reply's text is read for its decision: link targets would
            // only be noise there.
            ("a", false) if !stop_at_quote => {
                link = attribute(tag, "href").map(|href| (decode_entities(&href).into_owned(), out.len()));
            }
            ("a", true) => {
                if let Some((href, start)) = link.take() {
                    push_link_target(&mut out, start, &href);
                }
            }
            _ => {}
        }
        if BLOCKS.contains(&name.as_str()) {
            if name == "br" || !out.ends_with('\n') {
                out.push('\n');
            }
        } else if name == "img" {
            push_text(&mut out, " ", false);
        }
        // A list item starts with its bullet or number.
        if name == "li" && !closing {
            match lists.last_mut() {
                Some(Some(n)) => {
                    out.push_str(&format!("{n}. "));
                    *n += 1;
                }
                _ => out.push_str("- "),
            }
        }
    }
    tidy(&out)
}

/// The value of attribute `name` in a tag's text (`a href="…"`), quoted
/// or not.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(name).map(|i| i + from) {
        from = at + name.len();
        // A whole attribute name: after white space, followed by `=`.
        if !lower[..at].ends_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let rest = tag[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else { continue };
        let rest = rest.trim_start();
        return Some(match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or_default().to_owned(),
            _ => rest.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or_default().to_owned(),
        });
    }
    None
}

/// After a link's text (from `start` in `out`): its target in brackets,
/// when the text does not already say it ("our deck (https://…)", not
/// "https://x.org (https://x.org)"). Anchors and scripts are not targets.
fn push_link_target(out: &mut String, start: usize, href: &str) {
    let href = href.trim();
    let target = href.strip_prefix("mailto:").unwrap_or(href);
    let target = target.split('?').next().filter(|_| href.starts_with("mailto:")).unwrap_or(target);
    if target.is_empty() || href.starts_with('#') || href.to_ascii_lowercase().starts_with("javascript:") {
        return;
    }
    let text = out.get(start..).unwrap_or_default().trim();
    let bare = |s: &str| -> String {
        let s = s.trim().trim_end_matches('/').to_lowercase();
        let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).map(str::to_owned).unwrap_or(s);
        s.strip_prefix("www.").map(str::to_owned).unwrap_or(s)
    };
    if text.is_empty() || bare(text) == bare(target) {
        return;
    }
    out.truncate(out.trim_end().len());
    out.push_str(&format!(" ({target})"));
}

/// The `>` that ends the tag starting at `s[0] == '<'`, skipping quoted
/// attribute values; `None` when this `<` does not open a tag.
fn tag_end(s: &str) -> Option<usize> {
    let next = s[1..].chars().next()?;
    if !(next.is_ascii_alphabetic() || next == '/' || next == '!' || next == '?') {
        return None;
    }
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i),
            (None, b'<') => return None,
            _ => {}
        }
    }
    None
}

fn is_quote_container(name: &str, tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    if name == "blockquote" && (lower.contains("type=\"cite\"") || lower.contains("type=cite")) {
        return true;
    }
    if lower.contains("id=\"qt\"") {
        return true;
    }
    QUOTE_MARKERS.iter().any(|m| lower.contains(m))
}

/// Text between tags: whitespace collapsed as a browser does (kept inside
/// `<pre>`), entities decoded.
fn push_text(out: &mut String, text: &str, in_pre: bool) {
    let decoded = decode_entities(text);
    if in_pre {
        out.push_str(&decoded);
        return;
    }
    for c in decoded.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            if !out.is_empty() && !out.ends_with([' ', '\n']) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

fn decode_entities(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '#')).map(|i| i + 1);
        let decoded = end.filter(|&e| rest[e..].starts_with(';')).and_then(|e| entity(&rest[1..e]).map(|c| (c, e + 1)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "rsquo" => '\u{2019}',
        "lsquo" => '\u{2018}',
        "rdquo" => '\u{201d}',
        "ldquo" => '\u{201c}',
        "ndash" => '\u{2013}',
        "mdash" => '\u{2014}',
        "hellip" => '\u{2026}',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "szlig" => 'ß',
        "ccedil" => 'ç',
        "copy" => '©',
        _ => return None,
    })
}

/// Lines trimmed, non-breaking spaces made plain, at most one blank line in
/// a row.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.replace('\u{a0}', " ");
        let line = line.trim();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_break_lines_and_entities_are_decoded() {
        let html = "<div>Hi. I&#39;m fine.</div><div><br></div><div>Thanks,</div><div>Alex &amp; co</div>";
        assert_eq!(to_text(html), "Hi. I'm fine.\n\nThanks,\nAlex & co");
    }

    #[test]
    fn hidden_parts_and_comments_are_not_text() {
        let html = "<html><head><title>x</title><style>p {color: red}</style></head>\
                    <body><!-- a > b --><p>Yes, <b>happy</b> to.</p><script>if (a < b) {}</script></body></html>";
        assert_eq!(to_text(html), "Yes, happy to.");
    }

    #[test]
    fn replies_stop_at_the_quote_container() {
        let gmail = "<div dir=\"ltr\">Sure!</div><br><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, \
                     Bot wrote:</div><blockquote class=\"gmail_quote\">Would you like to meet Alice?</blockquote></div>";
        assert_eq!(reply_to_text(gmail), "Sure!");
        let apple =
            "<html><body>No thanks<br><div><br><blockquote type=\"cite\">Would you…</blockquote></div></body></html>";
        assert_eq!(reply_to_text(apple), "No thanks");
        let outlook =
            "<div>Yes</div><hr style=\"display:inline-block\"><div id=\"divRplyFwdMsg\"><b>From:</b> Bot</div>";
        assert_eq!(reply_to_text(outlook), "Yes");
        let signed =
            "<div>Sure.</div><div><br></div>-- <br><div class=\"gmail_signature\">Bob | Don't hesitate to call</div>";
        assert_eq!(reply_to_text(signed), "Sure.\n\n--");
        // Without the cut, the quote is text like any other.
        assert_eq!(to_text(apple), "No thanks\n\nWould you…");
    }

    #[test]
    fn lists_keep_their_bullets_and_links_their_targets() {
        let html = "<p>Agenda:</p><ul><li>Intro</li><li>Deck: <a href=\"https://example.com/deck?a=1&amp;b=2\">our deck</a></li></ul>\
                    <ol><li>First</li><li>Second<ol start=\"3\"><li>Third</li></ol></li></ol>";
        assert_eq!(
            to_text(html),
            "Agenda:\n- Intro\n- Deck: our deck (https://example.com/deck?a=1&b=2)\n1. First\n2. Second\n3. Third"
        );
        // A link that shows its target, an address, an anchor: no brackets.
        let html = "<a href=\"https://example.com/\">example.com</a> <a href=\"mailto:a@b.org\">a@b.org</a> \
                    <a href=\"#top\">top</a> <a href=\"mailto:a@b.org\">Alice</a>";
        assert_eq!(to_text(html), "example.com a@b.org top Alice (a@b.org)");
    }

    #[test]
    fn table_cells_share_their_row() {
        let html = "<table><tr><th>Subject: </th><td>Intro</td></tr><tr><th>From: </th><td>A &lt;a@b.org&gt;</td></tr></table>";
        assert_eq!(to_text(html), "Subject: \tIntro\nFrom: \tA <a@b.org>");
    }

    #[test]
    fn broken_markup_is_still_text() {
        assert_eq!(to_text("1 < 2 and <b>bold"), "1 < 2 and bold");
        assert_eq!(to_text("<p class=\"a>b\">x</p><"), "x\n<");
        assert_eq!(to_text("&bogus; &#xZZ; &#1114112; &amp"), "&bogus; &#xZZ; &#1114112; &amp");
        assert_eq!(to_text("<pre>a\n  b</pre>"), "a\nb");
    }
}
