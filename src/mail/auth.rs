//! Who really sent a message: the author fields (RFC 5322 `From`, `Sender`)
//! and the sender authentication results (RFC 8601 `Authentication-Results`)
//! that the one server the operator trusts added on the way in. Pure: a
//! parsed message and the policy in, a verdict out.
//!
//! Trust rules, all here:
//! - a message with more than one `From` field, a `From` with more than one
//!   address, more than one `Sender`, or a `Sender` naming someone else than
//!   the `From` has no single author the bot could act for: it is refused
//!   ([`author`]);
//! - only `Authentication-Results` whose authserv-id is the configured one
//!   count, and of those only the ones above every `Received` field the
//!   sender could have written: the boundary is the first `Received` below
//!   the trusted server's own hop ([`trusted_results`]); a server that
//!   writes its results above its own `Received` writes none below it, so
//!   then fields claiming its id under that `Received` are the sender's and
//!   do not count: a method the server gave no result for fails, whatever
//!   the sender wrote for it;
//! - a method passes when some trusted result for it passes for an identity
//!   aligned with the `From` domain, and no trusted result for it (aligned,
//!   for DKIM) says anything else: a forged "pass" next to the server's own
//!   "fail" is a fail ([`verify`]).
//!
//! What this does not cover: a server that adds no such field to some path
//! into the mailbox and does not remove the ones claiming its id (RFC 8601
//! §5 asks it to): then a field the sender put at the very top of their
//! message, above any `Received` of theirs, would be read as the server's.
//! Nor a server that writes its results under its own `Received` and does
//! not remove forged ones: a field the sender put first in their header
//! block, right under that `Received`, reads as the server's.
//! `introbot check` says whether recent mail carries the server's fields.
//! Nor does it cover a sender who controls the connector's real mailbox or
//! domain. `SECURITY.md` says what that means for the operator.

use mail_parser::{HeaderName, Message};

/// Which authentication result a message must pass (`[security] require`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Require {
    /// DMARC: DKIM or SPF aligned with the `From` domain, as the domain's
    /// owner published (the default when an authserv-id is set).
    #[default]
    Dmarc,
    /// A valid DKIM signature from the `From` domain (or its parent).
    Dkim,
    /// SPF pass for an envelope sender in the `From` domain (or its parent).
    Spf,
    /// No check: anyone who can put a connector's address in `From` can
    /// start intros.
    None,
}

impl Require {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Require::Dmarc => "dmarc",
            Require::Dkim => "dkim",
            Require::Spf => "spf",
            Require::None => "none",
        }
    }
}

impl std::str::FromStr for Require {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dmarc" => Ok(Require::Dmarc),
            "dkim" => Ok(Require::Dkim),
            "spf" => Ok(Require::Spf),
            "none" => Ok(Require::None),
            other => Err(format!("{other:?} is not one of dmarc, dkim, spf, none")),
        }
    }
}

/// The sender authentication policy: whose results to read and what to
/// require of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthPolicy {
    /// The authserv-id of the server whose results count (lowercase);
    /// `None` checks nothing.
    pub authserv_id: Option<String>,
    /// What must pass.
    pub require: Require,
}

impl AuthPolicy {
    /// Whether any check is made at all.
    pub fn is_enforced(&self) -> bool {
        self.authserv_id.is_some() && self.require != Require::None
    }
}

/// One `method=result` entry of an `Authentication-Results` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodResult {
    /// `dkim`, `spf`, `dmarc`, … (lowercase, version dropped).
    pub method: String,
    /// `pass`, `fail`, `none`, … (lowercase).
    pub result: String,
    /// `ptype.property` → value, e.g. `header.d` → `example.com` (keys
    /// lowercase, values as written).
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    fn property(&self, key: &str) -> Option<&str> {
        self.properties.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// One parsed `Authentication-Results` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthResults {
    /// The server that wrote it (lowercase).
    pub authserv_id: String,
    /// Its results; empty for `; none`.
    pub results: Vec<MethodResult>,
}

/// Why a message has no single author the bot could act for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthorProblem {
    /// More than one `From` field.
    #[error("the message has {0} From fields")]
    SeveralFromFields(usize),
    /// A `From` field with more than one address.
    #[error("the From field names {0} addresses")]
    SeveralAuthors(usize),
    /// More than one `Sender` field.
    #[error("the message has {0} Sender fields")]
    SeveralSenderFields(usize),
    /// A `Sender` who is not the author.
    #[error("the Sender ({sender}) is not the author ({from})")]
    SenderMismatch {
        /// The `Sender` address.
        sender: String,
        /// The `From` address.
        from: String,
    },
}

/// The outcome of the authentication check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No check configured (no authserv-id, or `require = "none"`).
    NotChecked,
    /// The required method passed, aligned with the `From` domain.
    Pass,
    /// It did not; the reason names what was found (`dmarc=fail`, "no
    /// Authentication-Results from mx.example.com").
    Fail(String),
}

impl Verdict {
    /// Whether the message may be acted on as coming from its `From`.
    pub fn allows(&self) -> bool {
        matches!(self, Verdict::NotChecked | Verdict::Pass)
    }
}

/// The single author's address (as written in `From`), or why there is
/// none the bot could act for. `Ok(None)`: no `From` address at all.
pub fn author(msg: &Message<'_>) -> Result<Option<String>, AuthorProblem> {
    let count = |name: HeaderName<'static>| msg.headers().iter().filter(|h| h.name == name).count();
    let from_fields = count(HeaderName::From);
    if from_fields > 1 {
        return Err(AuthorProblem::SeveralFromFields(from_fields));
    }
    let addresses: Vec<&str> =
        msg.from().map(|a| a.iter().filter_map(|a| a.address()).map(str::trim).collect()).unwrap_or_default();
    if addresses.len() > 1 {
        return Err(AuthorProblem::SeveralAuthors(addresses.len()));
    }
    let Some(from) = addresses.first().copied().filter(|a| a.contains('@')) else {
        return Ok(None);
    };
    let sender_fields = count(HeaderName::Sender);
    if sender_fields > 1 {
        return Err(AuthorProblem::SeveralSenderFields(sender_fields));
    }
    if sender_fields == 1 {
        let senders: Vec<&str> =
            msg.sender().map(|a| a.iter().filter_map(|a| a.address()).map(str::trim).collect()).unwrap_or_default();
        match senders.as_slice() {
            [one] if same_mailbox(one, from) => {}
            [one] => return Err(AuthorProblem::SenderMismatch { sender: (*one).to_owned(), from: from.to_owned() }),
            // An empty or unreadable Sender, or several: nobody we could name.
            _ => return Err(AuthorProblem::SenderMismatch { sender: "?".into(), from: from.to_owned() }),
        }
    }
    Ok(Some(from.to_owned()))
}

/// Whether two addresses are the same mailbox for the Sender rule: ASCII
/// case-insensitive, a `+tag` ignored.
fn same_mailbox(a: &str, b: &str) -> bool {
    let strip = |s: &str| -> String {
        let s = s.trim().to_ascii_lowercase();
        match s.rsplit_once('@') {
            Some((local, domain)) => format!("{}@{domain}", local.split('+').next().unwrap_or(local)),
            None => s,
        }
    };
    strip(a) == strip(b)
}

/// The `Authentication-Results` the trusted server wrote: fields with its
/// authserv-id above the first `Received` field the sender could have
/// written. That is the first `Received` below the trusted server's own hop
/// (the topmost one whose `by` names the authserv-id; without one, the
/// topmost `Received`): everything from there down came with the message.
/// Fields between the hop and that boundary count (some servers write their
/// results just under their own `Received`) only when the server wrote none
/// above its hop: one that writes above does so for every result, and a
/// field with its id just under its `Received` came with the message.
pub fn trusted_results(msg: &Message<'_>, authserv_id: &str) -> Vec<AuthResults> {
    let headers = msg.headers();
    let is_received = |h: &mail_parser::Header<'_>| h.name == HeaderName::Received;
    let names_us = |h: &mail_parser::Header<'_>| match &h.value {
        mail_parser::HeaderValue::Received(r) => {
            matches!(&r.by, Some(mail_parser::Host::Name(by)) if by.trim_end_matches('.').eq_ignore_ascii_case(authserv_id))
        }
        _ => false,
    };
    let hop =
        headers.iter().position(|h| is_received(h) && names_us(h)).or_else(|| headers.iter().position(is_received));
    let boundary = hop
        .and_then(|hop| headers.iter().skip(hop + 1).position(is_received).map(|p| hop + 1 + p))
        .unwrap_or(headers.len());
    let raw = msg.raw_message();
    let ours = |fields: &[mail_parser::Header<'_>]| -> Vec<AuthResults> {
        fields
            .iter()
            .filter(|h| h.name == HeaderName::AuthenticationResults)
            .filter_map(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
            .filter_map(|value| parse_authentication_results(&String::from_utf8_lossy(value)))
            .filter(|parsed| parsed.authserv_id.eq_ignore_ascii_case(authserv_id))
            .collect()
    };
    let Some(hop) = hop else { return ours(&headers[..boundary]) };
    let above = ours(&headers[..hop]);
    if above.is_empty() { ours(&headers[hop..boundary]) } else { above }
}

/// Checks a message against the policy. `from` is its author's address
/// (from [`author`]).
pub fn verify(msg: &Message<'_>, from: &str, policy: &AuthPolicy) -> Verdict {
    let Some(id) = policy.authserv_id.as_deref() else {
        return Verdict::NotChecked;
    };
    if policy.require == Require::None {
        return Verdict::NotChecked;
    }
    let trusted = trusted_results(msg, id);
    if trusted.is_empty() {
        return Verdict::Fail(format!("no Authentication-Results from {id}"));
    }
    judge(&trusted, from, policy.require)
}

/// The verdict over the trusted results for the required method.
pub fn judge(trusted: &[AuthResults], from: &str, require: Require) -> Verdict {
    let from_domain = from.rsplit_once('@').map(|(_, d)| d.trim().trim_end_matches('.').to_ascii_lowercase());
    let Some(from_domain) = from_domain.filter(|d| !d.is_empty()) else {
        return Verdict::Fail("the From address has no domain".into());
    };
    let method = match require {
        Require::None => return Verdict::NotChecked,
        Require::Dmarc => "dmarc",
        Require::Dkim => "dkim",
        Require::Spf => "spf",
    };
    let all: Vec<&MethodResult> = trusted.iter().flat_map(|r| &r.results).filter(|r| r.method == method).collect();
    if all.is_empty() {
        return Verdict::Fail(format!("no {method} result"));
    }
    // The identity each result speaks for; DMARC's is the From domain itself.
    let identity = |r: &MethodResult| -> Option<String> {
        let value = match require {
            Require::Dmarc => r.property("header.from"),
            Require::Dkim => r.property("header.d").or_else(|| r.property("header.i")),
            Require::Spf => r.property("smtp.mailfrom"),
            Require::None => None,
        }?;
        let domain = value.rsplit_once('@').map_or(value, |(_, d)| d);
        Some(domain.trim().trim_end_matches('.').to_ascii_lowercase())
    };
    let aligned = |r: &MethodResult| match (require, identity(r)) {
        // DMARC evaluated the From domain by definition; a header.from that
        // names another domain was about some other From.
        (Require::Dmarc, None) => true,
        (_, Some(d)) => aligned_domains(&d, &from_domain),
        (_, None) => false,
    };
    let relevant: Vec<&&MethodResult> = match require {
        // Several DKIM signatures are normal (a list's broken one beside the
        // author's good one): only those for the From's domain count.
        Require::Dkim => all.iter().filter(|r| aligned(r)).collect(),
        _ => all.iter().collect(),
    };
    let describe = |r: &MethodResult| match identity(r) {
        Some(d) => format!("{}={} ({d})", r.method, r.result),
        None => format!("{}={}", r.method, r.result),
    };
    if let Some(bad) = relevant.iter().find(|r| r.result != "pass") {
        return Verdict::Fail(describe(bad));
    }
    match relevant.iter().find(|r| aligned(r)) {
        Some(_) => Verdict::Pass,
        None => Verdict::Fail(match all.first() {
            Some(r) => format!("{}, not aligned with {from_domain}", describe(r)),
            None => format!("no {method} result"),
        }),
    }
}

/// Relaxed alignment without a public-suffix list: the same domain, or one
/// the parent of the other, and never a bare top-level name.
fn aligned_domains(a: &str, b: &str) -> bool {
    if !a.contains('.') || !b.contains('.') {
        return false;
    }
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

/// Parses one `Authentication-Results` field value (RFC 8601 §2.2);
/// `None` when it has no authserv-id. Comments are dropped; unknown or
/// malformed result entries are skipped, never guessed at.
pub fn parse_authentication_results(value: &str) -> Option<AuthResults> {
    let text = strip_comments(value);
    let mut segments = split_unquoted(&text, ';').into_iter();
    let head = segments.next()?;
    let authserv_id = tokens(&head).into_iter().next().map(|t| t.text)?.to_ascii_lowercase();
    if authserv_id.is_empty() {
        return None;
    }
    let mut results = Vec::new();
    for segment in segments {
        let toks = tokens(&segment);
        // method [ "/" version ] "=" result, then key=value pairs.
        let mut i = 0;
        let mut pairs: Vec<(String, String)> = Vec::new();
        while i < toks.len() {
            match (toks.get(i), toks.get(i + 1), toks.get(i + 2)) {
                (Some(k), Some(eq), Some(v)) if eq.is_eq() && !k.is_eq() && !v.is_eq() => {
                    pairs.push((k.text.to_ascii_lowercase(), v.text.clone()));
                    i += 3;
                }
                _ => i += 1,
            }
        }
        let Some(((method, result), rest)) = pairs.split_first() else { continue };
        let method = method.split('/').next().unwrap_or_default().trim().to_owned();
        if method.is_empty() || method.contains('.') {
            continue;
        }
        let properties = rest.iter().filter(|(k, _)| k.contains('.')).cloned().collect();
        results.push(MethodResult { method, result: result.to_ascii_lowercase(), properties });
    }
    Some(AuthResults { authserv_id, results })
}

/// A lexical token: a word, a quoted string's content, or `=`.
struct Token {
    text: String,
    eq: bool,
}

impl Token {
    fn is_eq(&self) -> bool {
        self.eq
    }
}

fn tokens(s: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '=' {
            chars.next();
            out.push(Token { text: "=".into(), eq: true });
        } else if c == '"' {
            chars.next();
            let mut text = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => text.extend(chars.next()),
                    c => text.push(c),
                }
            }
            out.push(Token { text, eq: false });
        } else {
            let mut text = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '=' || c == '"' {
                    break;
                }
                text.push(c);
                chars.next();
            }
            out.push(Token { text, eq: false });
        }
    }
    out
}

/// Removes RFC 5322 comments (nested parentheses, quoted pairs), leaving
/// quoted strings alone.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                out.push(' ');
            }
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn split_unquoted(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(String::new());
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
