//! Mail written by machines: RFC 3834 auto-replies, vacation notices, list
//! traffic and delivery status notifications (RFC 3464). The bot never
//! answers these and never reads them as a person's decision; a bounce of
//! its own mail marks that party `bounced`.
//!
//! Exchange's `X-Auto-Response-Suppress` asks *us* not to auto-reply; it does
//! not make the message itself automatic, so it is ignored here.

use mail_parser::{Message, MimeHeaders};

/// Why a message counts as machine-written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Automatic {
    /// A delivery failure report, with the server's reason when given.
    Bounce {
        /// `Diagnostic-Code`/`Status` from the report, or the subject.
        reason: String,
    },
    /// An auto-reply (out-of-office, vacation, ticket systems…).
    AutoReply,
    /// Mailing-list or bulk mail.
    List,
}

/// Classifies a message as automatic, or `None` for a person's mail.
pub fn classify(msg: &Message<'_>) -> Option<Automatic> {
    if let Some(reason) = bounce_reason(msg) {
        return Some(Automatic::Bounce { reason });
    }
    let text = |name: &str| msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if text("Auto-Submitted").is_some_and(|v| !v.is_empty() && !v.starts_with("no")) {
        return Some(Automatic::AutoReply);
    }
    if ["X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-Vacation"].iter().any(|h| msg.header_raw(*h).is_some()) {
        return Some(Automatic::AutoReply);
    }
    match text("Precedence").as_deref() {
        Some("auto_reply") => return Some(Automatic::AutoReply),
        Some("bulk" | "junk" | "list") => return Some(Automatic::List),
        _ => {}
    }
    if msg.header_raw("List-Id").is_some() || msg.header_raw("List-Unsubscribe").is_some() {
        return Some(Automatic::List);
    }
    None
}

fn bounce_reason(msg: &Message<'_>) -> Option<String> {
    let is_report = msg.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let from = msg.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_ascii_lowercase();
    let local = from.split('@').next().unwrap_or_default();
    let daemon = matches!(local, "mailer-daemon" | "postmaster");
    if !is_report && !daemon {
        return None;
    }
    let reason = msg
        .parts
        .iter()
        .filter(|p| {
            p.content_type().is_some_and(|ct| ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("delivery-status")))
        })
        .find_map(|p| {
            let text = String::from_utf8_lossy(p.contents()).into_owned();
            let field = |name: &str| {
                text.lines()
                    .find(|l| l.to_ascii_lowercase().starts_with(name))
                    .map(|l| l[name.len()..].trim().to_owned())
            };
            field("diagnostic-code:").or_else(|| field("status:"))
        })
        .or_else(|| msg.subject().map(str::to_owned))
        .unwrap_or_else(|| "undeliverable".into());
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn classify_raw(raw: &str) -> Option<Automatic> {
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
        classify(&msg)
    }

    #[test]
    fn people_are_not_automatic() {
        let raw = "From: a@x\r\nAuto-Submitted: no\r\nX-Auto-Response-Suppress: All\r\nSubject: hi\r\n\r\nyes\r\n";
        assert_eq!(classify_raw(raw), None);
    }

    #[test]
    fn auto_replies_and_lists_are() {
        for h in ["Auto-Submitted: auto-replied", "X-Autoreply: yes", "X-Autorespond: 1", "Precedence: auto_reply"] {
            let raw = format!("From: a@x\r\n{h}\r\nSubject: Out of office\r\n\r\naway\r\n");
            assert_eq!(classify_raw(&raw), Some(Automatic::AutoReply), "{h}");
        }
        for h in ["Precedence: bulk", "Precedence: list", "List-Id: <x.lists.example>"] {
            let raw = format!("From: a@x\r\n{h}\r\n\r\nnews\r\n");
            assert_eq!(classify_raw(&raw), Some(Automatic::List), "{h}");
        }
    }

    #[test]
    fn a_dsn_is_a_bounce_with_its_diagnostic() {
        let raw = "From: MAILER-DAEMON@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
            MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nsorry\r\n\
            --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
            Final-Recipient: rfc822; bob@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\
            Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n--b--\r\n";
        assert_eq!(classify_raw(raw), Some(Automatic::Bounce { reason: "smtp; 550 5.1.1 User unknown".into() }));
    }
}
