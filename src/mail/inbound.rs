//! The facts of one inbound message that the engine routes on.

use mail_parser::{HeaderValue, Message, MessageParser};

use super::automatic::{self, Automatic};
use super::reply;
use crate::core::Person;

/// One inbound message, read.
#[derive(Clone, Debug)]
pub struct Inbound {
    /// Message-ID without angle brackets; a content hash when missing.
    pub message_id: String,
    /// The author, when the `From` header has an address.
    pub from: Option<Person>,
    /// Decoded subject.
    pub subject: String,
    /// Plus-tags of the bot's address found among the recipients
    /// (`To`, `Cc`, `Delivered-To`, `X-Original-To`), lowercased.
    pub tokens: Vec<String>,
    /// `In-Reply-To` and `References` ids, without brackets.
    pub references: Vec<String>,
    /// Set for machine-written mail.
    pub automatic: Option<Automatic>,
    /// The visible reply text.
    pub text: String,
}

/// Parses raw bytes as a message; `None` when it is not mail at all.
pub fn parse(raw: &[u8]) -> Option<Message<'_>> {
    let msg = MessageParser::default().parse(raw)?;
    // mail-parser accepts almost anything; insist on the basics of a mail.
    let has_header = |n: &str| msg.header_raw(n).is_some();
    (has_header("From") || has_header("Message-ID") || has_header("Subject")).then_some(msg)
}

impl Inbound {
    /// Reads the routing facts from a parsed message.
    pub fn read(msg: &Message<'_>, bot_address: &str) -> Inbound {
        let from = msg.from().and_then(|a| a.first()).and_then(|a| {
            let email = a.address()?.trim().to_owned();
            email.contains('@').then(|| Person::new(a.name().unwrap_or_default().trim(), email))
        });
        let message_id = msg
            .message_id()
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| fallback_message_id(msg.raw_message()));
        let mut references = Vec::new();
        for value in [msg.in_reply_to(), msg.references()] {
            match value {
                HeaderValue::Text(id) => references.push(id.to_string()),
                HeaderValue::TextList(ids) => references.extend(ids.iter().map(|i| i.to_string())),
                _ => {}
            }
        }
        Inbound {
            message_id,
            from,
            subject: msg.subject().unwrap_or_default().to_owned(),
            tokens: tokens_for(msg, bot_address),
            references,
            automatic: automatic::classify(msg),
            text: reply::visible_text(msg),
        }
    }
}

/// The plus-tags on the bot's address among a message's recipients.
fn tokens_for(msg: &Message<'_>, bot_address: &str) -> Vec<String> {
    let Some((bot_local, bot_domain)) = bot_address.split_once('@') else {
        return Vec::new();
    };
    let mut addresses: Vec<String> = Vec::new();
    for addr in msg.to().into_iter().chain(msg.cc()).flat_map(|a| a.iter()) {
        if let Some(a) = addr.address() {
            addresses.push(a.to_owned());
        }
    }
    for name in ["Delivered-To", "X-Original-To", "Envelope-To"] {
        for v in msg.header_values(name) {
            if let Some(t) = v.as_text() {
                addresses.push(t.trim().trim_matches(['<', '>']).to_owned());
            }
        }
    }
    let mut tokens = Vec::new();
    for a in addresses {
        let Some((local, domain)) = a.rsplit_once('@') else {
            continue;
        };
        let Some((base, tag)) = local.split_once('+') else {
            continue;
        };
        if base.eq_ignore_ascii_case(bot_local) && domain.eq_ignore_ascii_case(bot_domain) && !tag.is_empty() {
            let tag = tag.to_ascii_lowercase();
            if !tokens.contains(&tag) {
                tokens.push(tag);
            }
        }
    }
    tokens
}

/// A stable id for a message without a Message-ID: FNV-1a over its bytes.
/// Not cryptographic; it only has to make the same bytes the same id.
pub fn fallback_message_id(raw: &[u8]) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in raw {
        h ^= u128::from(*b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    format!("{h:032x}@no-message-id.introbot")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tokens_from_recipients_and_delivery_headers() {
        let raw = b"From: Bob <bob@example.org>\r\nTo: \"Intro Bot\" <intros+abc234@example.com>\r\n\
            Delivered-To: Intros+XYZ@Example.com\r\nCc: other+nope@example.com\r\nMessage-ID: <m1@x>\r\n\
            In-Reply-To: <a@b>\r\nReferences: <r1@b> <a@b>\r\nSubject: Re: hi\r\n\r\nYes!\r\n\r\nOn Mon, X wrote:\r\n> q\r\n";
        let msg = parse(raw).expect("mail");
        let inbound = Inbound::read(&msg, "intros@example.com");
        assert_eq!(inbound.tokens, ["abc234", "xyz"]);
        assert_eq!(inbound.message_id, "m1@x");
        assert_eq!(inbound.from, Some(Person::new("Bob", "bob@example.org")));
        assert_eq!(inbound.references, ["a@b", "r1@b", "a@b"]);
        assert_eq!(inbound.text, "Yes!");
        assert_eq!(inbound.automatic, None);
    }

    #[test]
    fn missing_message_id_gets_a_stable_one() {
        let raw = b"From: a@x\r\nSubject: s\r\n\r\nbody\r\n";
        let a = Inbound::read(&parse(raw).expect("mail"), "intros@example.com");
        let b = Inbound::read(&parse(raw).expect("mail"), "intros@example.com");
        assert_eq!(a.message_id, b.message_id);
        assert!(a.message_id.ends_with("@no-message-id.introbot"));
    }

    #[test]
    fn garbage_is_not_mail() {
        assert!(parse(b"\x00\x01\x02 not a mail").is_none());
        assert!(parse(b"").is_none());
    }
}
