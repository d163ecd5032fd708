//! The email templates: built into the binary, each overridable by a file of
//! the same name in the configured directory.
//!
//! A `<kind>.txt.j2` template reads like a tiny email: a `Subject:` line, a
//! blank line, the plain-text body. The HTML alternative comes from the same
//! words (paragraphs, `>` quotes and `-` lists become their HTML forms) set in
//! `layout.html.j2`, so the two never drift apart; a `<kind>.html.j2` file in
//! the directory replaces the derived HTML for that kind.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, Value};

use crate::core::EmailKind;

/// The built-in text template of a kind (`config/templates/<kind>.txt.j2`);
/// `None` for the one kind without a template.
fn built_in(kind: EmailKind) -> Option<&'static str> {
    Some(match kind {
        EmailKind::Acknowledgement => include_str!("../../config/templates/acknowledgement.txt.j2"),
        EmailKind::Preview => include_str!("../../config/templates/preview.txt.j2"),
        EmailKind::ConsentRequest => include_str!("../../config/templates/consent_request.txt.j2"),
        EmailKind::FollowUp => include_str!("../../config/templates/follow_up.txt.j2"),
        EmailKind::ThankYou => include_str!("../../config/templates/thank_you.txt.j2"),
        EmailKind::NothingNeeded => include_str!("../../config/templates/nothing_needed.txt.j2"),
        EmailKind::Introduction => include_str!("../../config/templates/introduction.txt.j2"),
        EmailKind::Outcome => include_str!("../../config/templates/outcome.txt.j2"),
        EmailKind::UnclearReply => include_str!("../../config/templates/unclear_reply.txt.j2"),
        EmailKind::HeldReply => include_str!("../../config/templates/held_reply.txt.j2"),
        EmailKind::RequestProblem => include_str!("../../config/templates/request_problem.txt.j2"),
        EmailKind::Status => include_str!("../../config/templates/status.txt.j2"),
        EmailKind::Help => include_str!("../../config/templates/help.txt.j2"),
        EmailKind::CommandReply => include_str!("../../config/templates/command_reply.txt.j2"),
        EmailKind::Probe => return None,
    })
}

/// The HTML layout every derived HTML body is set in.
const LAYOUT: (&str, &str) = ("layout.html.j2", include_str!("../../config/templates/layout.html.j2"));

/// What went wrong with a template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// An override file could not be read.
    #[error("cannot read template {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A template does not compile or failed to render.
    #[error("template {name}: {detail:#}")]
    Render {
        /// The template's name (a file name in the templates directory).
        name: String,
        /// minijinja's message; its alternate form (in the message above)
        /// shows the line, so it is not a separate source.
        detail: minijinja::Error,
    },
    /// A text template lacks its `Subject:` line.
    #[error("template {name}: the first line must be \"Subject: …\"")]
    NoSubject {
        /// The template's name.
        name: String,
    },
}

/// A rendered email body: subject, text, HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// The loaded templates.
#[derive(Debug)]
pub(super) struct Templates {
    env: Environment<'static>,
    /// The kinds with an HTML override (`<kind>.html.j2`): the others'
    /// HTML comes from their text, without asking the environment for a
    /// template it does not have (a miss builds an error).
    html_overrides: Vec<EmailKind>,
}

impl Templates {
    /// Loads the built-in templates and any overrides from `dir`.
    pub(super) fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_auto_escape_callback(
            |name| {
                if name.ends_with(".html.j2") { AutoEscape::Html } else { AutoEscape::None }
            },
        );
        let mut syntax = minijinja::syntax::SyntaxConfig::builder();
        syntax.trim_blocks(true);
        syntax.lstrip_blocks(true);
        env.set_syntax(syntax.build().map_err(|detail| TemplateError::Render { name: "syntax".into(), detail })?);
        env.add_filter("quote", quote);
        env.add_filter("re", re);
        let text_templates = EmailKind::TEMPLATED.into_iter().filter_map(|k| Some((text_name(k), built_in(k)?)));
        for (name, source) in text_templates.chain([(LAYOUT.0.to_owned(), LAYOUT.1)]) {
            let source = match dir.map(|d| d.join(&name)).filter(|p| p.exists()) {
                Some(path) => std::fs::read_to_string(&path).map_err(|source| TemplateError::Read { path, source })?,
                None => source.to_owned(),
            };
            env.add_template_owned(name.clone(), source).map_err(|detail| TemplateError::Render { name, detail })?;
        }
        let mut html_overrides = Vec::new();
        if let Some(dir) = dir {
            for kind in EmailKind::TEMPLATED {
                let name = html_name(kind);
                let path = dir.join(&name);
                if path.exists() {
                    let source =
                        std::fs::read_to_string(&path).map_err(|source| TemplateError::Read { path, source })?;
                    env.add_template_owned(name.clone(), source)
                        .map_err(|detail| TemplateError::Render { name, detail })?;
                    html_overrides.push(kind);
                }
            }
        }
        Ok(Self { env, html_overrides })
    }

    /// Renders one kind of email with `ctx`.
    pub(crate) fn render(&self, kind: EmailKind, ctx: &Value) -> Result<Rendered, TemplateError> {
        let name = text_name(kind);
        let err = |detail| TemplateError::Render { name: name.clone(), detail };
        let out = self.env.get_template(&name).and_then(|t| t.render(ctx)).map_err(err)?;
        let out = out.trim_start();
        let (first, rest) = out.split_once('\n').unwrap_or((out, ""));
        let subject = first
            .strip_prefix("Subject:")
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| TemplateError::NoSubject { name: name.clone() })?;
        let text = tidy(rest);
        let body_html = if self.html_overrides.contains(&kind) {
            let html_name = html_name(kind);
            let t = self.env.get_template(&html_name);
            t.and_then(|t| t.render(ctx)).map_err(|detail| TemplateError::Render { name: html_name, detail })?
        } else {
            text_to_html(&text)
        };
        let layout_err = |detail| TemplateError::Render { name: "layout.html.j2".into(), detail };
        let html = self
            .env
            .get_template("layout.html.j2")
            .and_then(|t| {
                t.render(minijinja::context! { subject => &subject, body => Value::from_safe_string(body_html) })
            })
            .map_err(layout_err)?;
        Ok(Rendered { subject, text, html })
    }
}

/// The file name of a kind's text template: `<kind>.txt.j2`.
fn text_name(kind: EmailKind) -> String {
    format!("{kind}.txt.j2")
}

/// The file name of a kind's HTML override: `<kind>.html.j2`.
fn html_name(kind: EmailKind) -> String {
    format!("{kind}.html.j2")
}

#[cfg(test)]
/// The variable naming a directory where the email snapshot tests also
/// write each email's HTML part, for `scripts/render-emails` to render.
pub(crate) const REVIEW_DIR_VAR: &str = "INTROBOT_REVIEW_DIR";

#[cfg(test)]
/// Writes `html` as `<name>.html` into the directory named by
/// [`REVIEW_DIR_VAR`], when it is set (by `scripts/render-emails`); does
/// nothing otherwise. For the snapshot tests: a failure is a panic.
pub(crate) fn save_for_review(name: &str, html: &str) {
    let Some(dir) = std::env::var_os(REVIEW_DIR_VAR) else { return };
    let file: String =
        name.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let path = Path::new(&dir).join(format!("{file}.html"));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, html)) {
        panic!("cannot write {}: {e}", path.display());
    }
}

/// Trims the body and collapses runs of blank lines to one.
fn tidy(text: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in text.trim().lines() {
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line.trim_end());
    }
    out.push('\n');
    out
}

/// Template filter: the subject of a reply, with one `Re:` however many
/// the subject had (`Re: Re: AW: x` → `Re: x`).
fn re(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_lowercase();
        let Some(prefix) = ["re:", "aw:", "sv:", "antw:", "ref:"].iter().find(|p| lower.starts_with(*p)) else { break };
        rest = rest[prefix.len()..].trim_start();
    }
    format!("Re: {rest}")
}

/// Template filter: quotes a text with `> ` on every line.
fn quote(text: &str) -> String {
    text.trim()
        .lines()
        .map(|l| if l.trim().is_empty() { ">".to_owned() } else { format!("> {l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The HTML form of a plain-text body: blank-line paragraphs, `>` quotes
/// as blockquotes (with their own paragraphs and lists inside), runs of
/// `- `/`* `/`• ` or `1. ` lines as lists wherever they start, web
/// addresses as links, everything else escaped. No colours: the reader's
/// client picks text and background together, light or dark.
pub(super) fn text_to_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() * 5 / 4 + 256);
    text_to_html_into(text, &mut html);
    html
}

/// [`text_to_html`], written onto the end of `html` (one buffer for the
/// whole body, quotes included: a `String` per line and per paragraph was
/// a third of the cost).
fn text_to_html_into(text: &str, html: &mut String) {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        if is_quoted(lines[i]) {
            // The quote runs over blank `>` lines and ends at the first
            // line without one.
            let mut inner = String::new();
            let first = i;
            while i < lines.len() && is_quoted(lines[i]) {
                let l = lines[i].trim_start().trim_start_matches('>');
                if i > first {
                    inner.push('\n');
                }
                inner.push_str(l.strip_prefix(' ').unwrap_or(l));
                i += 1;
            }
            html.push_str(BLOCKQUOTE);
            let start = html.len();
            text_to_html_into(&inner, html);
            let kept = html[start..].trim_end().len();
            html.truncate(start + kept);
            html.push_str("</blockquote>\n");
            continue;
        }
        if let Some(kind) = list_kind(lines[i]) {
            let tag = if kind == List::Numbered { "ol" } else { "ul" };
            html.push('<');
            html.push_str(tag);
            html.push_str(" style=\"margin:0 0 1em 0;padding-left:1.5em;\">\n");
            while i < lines.len() && list_kind(lines[i]) == Some(kind) {
                html.push_str("<li>");
                inline_into(item_text(lines[i]), html);
                i += 1;
                // An item a client wrapped continues on indented lines.
                while i < lines.len() && lines[i].starts_with("  ") && list_kind(lines[i]).is_none() {
                    html.push(' ');
                    inline_into(lines[i].trim(), html);
                    i += 1;
                }
                html.push_str("</li>\n");
            }
            html.push_str("</");
            html.push_str(tag);
            html.push_str(">\n");
            continue;
        }
        html.push_str("<p style=\"margin:0 0 1em 0;\">");
        let first = i;
        while i < lines.len() && !lines[i].trim().is_empty() && !is_quoted(lines[i]) && list_kind(lines[i]).is_none() {
            if i > first {
                html.push_str("<br>\n");
            }
            inline_into(lines[i], html);
            i += 1;
        }
        html.push_str("</p>\n");
    }
}

const BLOCKQUOTE: &str = "<blockquote style=\"margin:0 0 1em 0;padding:0 0 0 12px;border-left:3px solid #8888;\">\n";

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    Bullets,
    Numbered,
}

fn list_kind(line: &str) -> Option<List> {
    let l = line.trim_start();
    if ["- ", "* ", "• ", "– "].iter().any(|b| l.starts_with(b)) && l.len() > 2 {
        return Some(List::Bullets);
    }
    let digits = l.chars().take_while(char::is_ascii_digit).count();
    let rest = &l[digits..];
    ((1..=3).contains(&digits) && (rest.starts_with(". ") || rest.starts_with(") "))).then_some(List::Numbered)
}

fn item_text(line: &str) -> &str {
    let l = line.trim_start();
    match list_kind(l) {
        Some(List::Bullets) => l.split_once(' ').map_or(l, |(_, rest)| rest).trim_start(),
        Some(List::Numbered) => l.split_once(' ').map_or(l, |(_, rest)| rest).trim_start(),
        None => l,
    }
}

/// One line of text as HTML: escaped, with `http(s)://` addresses as
/// links, onto the end of `out`.
fn inline_into(line: &str, out: &mut String) {
    static URL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"https?://[^\s<>"()]+[^\s<>"().,;:!?']"#).expect("static regex")
    });
    // Every link starts with "http": most lines have none, and the regex
    // costs more than the line.
    static HTTP: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("http"));
    if HTTP.find(line.as_bytes()).is_none() {
        escape_into(line, out);
        return;
    }
    let mut last = 0;
    for m in URL.find_iter(line) {
        escape_into(&line[last..m.start()], out);
        out.push_str("<a href=\"");
        escape_into(m.as_str(), out);
        out.push_str("\">");
        escape_into(m.as_str(), out);
        out.push_str("</a>");
        last = m.end();
    }
    escape_into(&line[last..], out);
}

#[cfg(test)]
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(s, &mut out);
    out
}

/// `s` with HTML's special characters escaped, onto the end of `out`.
/// Runs without a special character are copied whole (a char at a time
/// was a third of turning a body into HTML), found eight bytes at a time.
fn escape_into(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        while bytes.get(i..i + 8).is_some_and(|word| !has_special(word)) {
            i += 8;
        }
        let end = (i + 8).min(bytes.len());
        while i < end && !is_special(bytes[i]) {
            i += 1;
        }
        if i < end {
            // Specials are ASCII: both cuts fall between characters.
            out.push_str(&s[copied..i]);
            out.push_str(match bytes[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            });
            i += 1;
            copied = i;
        }
    }
    out.push_str(&s[copied..]);
}

fn is_special(b: u8) -> bool {
    matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'')
}

/// Whether an eight-byte word holds a special character: for each, the
/// classic "has a zero byte" test on the word xor that character (exact
/// as a yes or no).
fn has_special(word: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(word);
    let x = u64::from_le_bytes(bytes);
    let has = |c: u8| {
        let y = x ^ (ONES * u64::from(c));
        y.wrapping_sub(ONES) & !y & HIGH != 0
    };
    has(b'&') || has(b'<') || has(b'>') || has(b'"') || has(b'\'')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_from_text_escapes_and_structures() {
        let html = text_to_html("Hi <Bob> & co,\n\n> quoted\n> more\n\nNext:\n- one\n- two\n");
        assert_eq!(
            html,
            "<p style=\"margin:0 0 1em 0;\">Hi &lt;Bob&gt; &amp; co,</p>\n<blockquote style=\"margin:0 0 1em 0;padding:0 0 0 12px;border-left:3px solid #8888;\">\n<p style=\"margin:0 0 1em 0;\">quoted<br>\nmore</p></blockquote>\n<p style=\"margin:0 0 1em 0;\">Next:</p>\n<ul style=\"margin:0 0 1em 0;padding-left:1.5em;\">\n<li>one</li>\n<li>two</li>\n</ul>\n"
        );
    }

    /// The issue's example: a list after a blank line rendered its first
    /// item as a literal "- …" paragraph.
    #[test]
    fn regression_lists_anywhere_and_inside_quotes() {
        let html = text_to_html(
            "What we do:\n\n- payments\n- lending\n\n> Our asks:\n>\n> 1. an intro\n> 2. advice\n>\n> Deck (https://example.com/deck?id=1).",
        );
        assert!(!html.contains("- payments"), "{html}");
        assert!(
            html.contains(
                "<ul style=\"margin:0 0 1em 0;padding-left:1.5em;\">\n<li>payments</li>\n<li>lending</li>\n</ul>"
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "<ol style=\"margin:0 0 1em 0;padding-left:1.5em;\">\n<li>an intro</li>\n<li>advice</li>\n</ol>"
            ),
            "{html}"
        );
        assert!(
            html.contains("Deck (<a href=\"https://example.com/deck?id=1\">https://example.com/deck?id=1</a>)."),
            "{html}"
        );
        assert!(!html.contains("color"), "no text colour without a background: {html}");
    }

    proptest::proptest! {
        /// The run-at-a-time escape writes what a char at a time did.
        #[test]
        fn escape_is_the_char_at_a_time_escape(text in "([a-z ]{0,20}|[&<>\"']|é|\u{1F600}){0,30}") {
            let reference: String = text
                .chars()
                .map(|c| match c {
                    '&' => "&amp;".to_owned(),
                    '<' => "&lt;".to_owned(),
                    '>' => "&gt;".to_owned(),
                    '"' => "&quot;".to_owned(),
                    '\'' => "&#39;".to_owned(),
                    c => c.to_string(),
                })
                .collect();
            proptest::prop_assert_eq!(escape(&text), reference);
        }
    }

    /// `text_to_html` as it was before it wrote into one buffer: the
    /// reference the rewrite is held to.
    fn text_to_html_reference(text: &str) -> String {
        let inline = |line: &str| -> String {
            let url = regex::Regex::new(r#"https?://[^\s<>"()]+[^\s<>"().,;:!?']"#).expect("static regex");
            let mut out = String::new();
            let mut last = 0;
            for m in url.find_iter(line) {
                out.push_str(&escape(&line[last..m.start()]));
                let url = escape(m.as_str());
                out.push_str(&format!("<a href=\"{url}\">{url}</a>"));
                last = m.end();
            }
            out.push_str(&escape(&line[last..]));
            out
        };
        let mut html = String::new();
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        let mut i = 0;
        while i < lines.len() {
            if lines[i].trim().is_empty() {
                i += 1;
                continue;
            }
            if is_quoted(lines[i]) {
                let mut inner = Vec::new();
                while i < lines.len() && is_quoted(lines[i]) {
                    let l = lines[i].trim_start().trim_start_matches('>');
                    inner.push(l.strip_prefix(' ').unwrap_or(l));
                    i += 1;
                }
                html.push_str(BLOCKQUOTE);
                html.push_str(text_to_html_reference(&inner.join("\n")).trim_end());
                html.push_str("</blockquote>\n");
                continue;
            }
            if let Some(kind) = list_kind(lines[i]) {
                let tag = if kind == List::Numbered { "ol" } else { "ul" };
                html.push_str(&format!("<{tag} style=\"margin:0 0 1em 0;padding-left:1.5em;\">\n"));
                while i < lines.len() && list_kind(lines[i]) == Some(kind) {
                    let mut item = vec![item_text(lines[i])];
                    i += 1;
                    while i < lines.len() && lines[i].starts_with("  ") && list_kind(lines[i]).is_none() {
                        item.push(lines[i].trim());
                        i += 1;
                    }
                    let item: Vec<String> = item.iter().map(|l| inline(l)).collect();
                    html.push_str(&format!("<li>{}</li>\n", item.join(" ")));
                }
                html.push_str(&format!("</{tag}>\n"));
                continue;
            }
            let mut para = Vec::new();
            while i < lines.len()
                && !lines[i].trim().is_empty()
                && !is_quoted(lines[i])
                && list_kind(lines[i]).is_none()
            {
                para.push(inline(lines[i]));
                i += 1;
            }
            html.push_str(&format!("<p style=\"margin:0 0 1em 0;\">{}</p>\n", para.join("<br>\n")));
        }
        html
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The one-buffer `text_to_html` writes what the reference wrote:
        /// paragraphs, nested quotes (blank `>` lines too), bullets and
        /// numbers with wrapped items, links with and without trailing
        /// punctuation, escapes, non-ASCII, CRLF.
        #[test]
        fn text_to_html_is_the_reference(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    "[a-z &<>\"']{0,20}",
                    "(> ?){1,3}[a-z ]{0,12}",
                    ">",
                    "(- |\\* |• |– |[0-9]{1,4}[.)] )[a-z &]{0,12}",
                    "  [a-z]{0,10}",
                    "[a-z ]{0,6}(https?://[a-z./?=&()<'-]{0,14}[.,;:!?)]?)[ a-z]{0,6}",
                    "é[ \t]*|\u{1F600}|[ \t]{0,3}|\r|http",
                ],
                0..14,
            ),
        ) {
            let text = lines.join("\n");
            proptest::prop_assert_eq!(text_to_html(&text), text_to_html_reference(&text));
        }
    }

    #[test]
    fn a_reply_subject_has_one_re() {
        assert_eq!(re("Re: Re: AW: Alice <> Bob: on it"), "Re: Alice <> Bob: on it");
        assert_eq!(re("status"), "Re: status");
        assert_eq!(re("Fwd: Intro: A <> B"), "Re: Fwd: Intro: A <> B");
    }

    /// A kind with an HTML override renders it (escaped); a kind without
    /// one gets the HTML made from its text.
    #[test]
    fn html_overrides_replace_the_derived_html_for_their_kind_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("help.txt.j2"), "Subject: Help\n\nPlain {{ x }}").expect("write");
        std::fs::write(dir.path().join("help.html.j2"), "<b>{{ x }}</b>").expect("write");
        std::fs::write(dir.path().join("status.txt.j2"), "Subject: Status\n\nPlain {{ x }}").expect("write");
        let templates = Templates::load(Some(dir.path())).expect("templates");
        let ctx = minijinja::context! { x => "<&>" };
        let help = templates.render(EmailKind::Help, &ctx).expect("help");
        assert!(help.html.contains("<b>&lt;&amp;&gt;</b>"), "{}", help.html);
        assert!(!help.html.contains("Plain"), "{}", help.html);
        let status = templates.render(EmailKind::Status, &ctx).expect("status");
        assert!(status.html.contains("<p style=\"margin:0 0 1em 0;\">Plain &lt;&amp;&gt;</p>"), "{}", status.html);
    }

    #[test]
    fn an_override_with_a_syntax_error_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("follow_up.txt.j2"), "Subject: x\n\n{% if %}").expect("write");
        let err = Templates::load(Some(dir.path())).expect_err("broken template").to_string();
        assert!(err.contains("follow_up.txt.j2"), "{err}");
    }
}
