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

/// Names and sources of the built-in templates.
const BUILT_IN: &[(&str, &str)] = &[
    ("acknowledgement.txt.j2", include_str!("../../config/templates/acknowledgement.txt.j2")),
    ("consent_request.txt.j2", include_str!("../../config/templates/consent_request.txt.j2")),
    ("follow_up.txt.j2", include_str!("../../config/templates/follow_up.txt.j2")),
    ("thank_you.txt.j2", include_str!("../../config/templates/thank_you.txt.j2")),
    ("nothing_needed.txt.j2", include_str!("../../config/templates/nothing_needed.txt.j2")),
    ("introduction.txt.j2", include_str!("../../config/templates/introduction.txt.j2")),
    ("outcome.txt.j2", include_str!("../../config/templates/outcome.txt.j2")),
    ("unclear_reply.txt.j2", include_str!("../../config/templates/unclear_reply.txt.j2")),
    ("held_reply.txt.j2", include_str!("../../config/templates/held_reply.txt.j2")),
    ("request_problem.txt.j2", include_str!("../../config/templates/request_problem.txt.j2")),
    ("status.txt.j2", include_str!("../../config/templates/status.txt.j2")),
    ("help.txt.j2", include_str!("../../config/templates/help.txt.j2")),
    ("command_reply.txt.j2", include_str!("../../config/templates/command_reply.txt.j2")),
    ("layout.html.j2", include_str!("../../config/templates/layout.html.j2")),
];

/// The kinds of email, by template name.
pub const KINDS: &[&str] = &[
    "acknowledgement",
    "consent_request",
    "follow_up",
    "thank_you",
    "nothing_needed",
    "introduction",
    "outcome",
    "unclear_reply",
    "held_reply",
    "request_problem",
    "status",
    "help",
    "command_reply",
];

/// What went wrong with a template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// An override file could not be read.
    #[error("cannot read template {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A template does not compile or failed to render.
    #[error("template {name}: {source:#}")]
    Render {
        /// The template's name (a file name in the templates directory).
        name: String,
        /// minijinja's message, with the line.
        source: minijinja::Error,
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
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Loads the built-in templates and any overrides from `dir`.
    pub fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
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
        env.set_syntax(syntax.build().map_err(|source| TemplateError::Render { name: "syntax".into(), source })?);
        env.add_filter("quote", quote);
        for (name, source) in BUILT_IN {
            let source = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                Some(path) => std::fs::read_to_string(&path).map_err(|source| TemplateError::Read { path, source })?,
                None => (*source).to_owned(),
            };
            env.add_template_owned(*name, source)
                .map_err(|source| TemplateError::Render { name: (*name).into(), source })?;
        }
        if let Some(dir) = dir {
            for kind in KINDS {
                let name = format!("{kind}.html.j2");
                let path = dir.join(&name);
                if path.exists() {
                    let source =
                        std::fs::read_to_string(&path).map_err(|source| TemplateError::Read { path, source })?;
                    env.add_template_owned(name.clone(), source)
                        .map_err(|source| TemplateError::Render { name, source })?;
                }
            }
        }
        Ok(Self { env })
    }

    /// Renders one kind of email with `ctx`.
    pub fn render(&self, kind: &str, ctx: &Value) -> Result<Rendered, TemplateError> {
        let name = format!("{kind}.txt.j2");
        let err = |source| TemplateError::Render { name: name.clone(), source };
        let out = self.env.get_template(&name).and_then(|t| t.render(ctx)).map_err(err)?;
        let out = out.trim_start();
        let (first, rest) = out.split_once('\n').unwrap_or((out, ""));
        let subject = first
            .strip_prefix("Subject:")
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| TemplateError::NoSubject { name: name.clone() })?;
        let text = tidy(rest);
        let html_name = format!("{kind}.html.j2");
        let body_html = match self.env.get_template(&html_name) {
            Ok(t) => t.render(ctx).map_err(|source| TemplateError::Render { name: html_name, source })?,
            Err(_) => text_to_html(&text),
        };
        let layout_err = |source| TemplateError::Render { name: "layout.html.j2".into(), source };
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

/// Template filter: quotes a text with `> ` on every line.
fn quote(text: &str) -> String {
    text.trim()
        .lines()
        .map(|l| if l.trim().is_empty() { ">".to_owned() } else { format!("> {l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The HTML form of a plain-text body: blank-line paragraphs, `>` quotes as
/// blockquotes, `- ` lines as a list, everything escaped.
pub fn text_to_html(text: &str) -> String {
    let mut html = String::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let lines: Vec<&str> = block.lines().collect();
        if lines.iter().all(|l| l.starts_with('>')) {
            let inner: Vec<String> = lines.iter().map(|l| escape(l.trim_start_matches('>').trim_start())).collect();
            html.push_str(
                "<blockquote style=\"margin:0 0 1em 0;padding:0 0 0 12px;border-left:3px solid #ccc;color:#444;\">",
            );
            html.push_str(&inner.join("<br>\n"));
            html.push_str("</blockquote>\n");
        } else if lines.iter().skip(1).all(|l| l.starts_with("- ")) && lines.len() > 1 {
            html.push_str(&format!("<p>{}</p>\n<ul>\n", escape(lines[0])));
            for l in &lines[1..] {
                html.push_str(&format!("<li>{}</li>\n", escape(&l[2..])));
            }
            html.push_str("</ul>\n");
        } else {
            let inner: Vec<String> = lines.iter().map(|l| escape(l)).collect();
            html.push_str(&format!("<p>{}</p>\n", inner.join("<br>\n")));
        }
    }
    html
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_from_text_escapes_and_structures() {
        let html = text_to_html("Hi <Bob> & co,\n\n> quoted\n> more\n\nNext:\n- one\n- two\n");
        assert_eq!(
            html,
            "<p>Hi &lt;Bob&gt; &amp; co,</p>\n<blockquote style=\"margin:0 0 1em 0;padding:0 0 0 12px;border-left:3px solid #ccc;color:#444;\">quoted<br>\nmore</blockquote>\n<p>Next:</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        );
    }

    #[test]
    fn an_override_with_a_syntax_error_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("follow_up.txt.j2"), "Subject: x\n\n{% if %}").expect("write");
        let err = Templates::load(Some(dir.path())).expect_err("broken template").to_string();
        assert!(err.contains("follow_up.txt.j2"), "{err}");
    }
}
