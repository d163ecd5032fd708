//! The facts of one inbound message that the engine routes on.
//!
//! Everything here may come from an attacker, so it is bounded on the way
//! in: a Message-ID longer than [`MESSAGE_ID_MAX`] is replaced by a hash of
//! it (it is a store key), the visible text is cut to
//! [`super::clean::TEXT_MAX`] bytes, and the author's display
//! name is cleaned of controls and addresses before anything stores it.

use mail_parser::{HeaderValue, Message, MessageParser};

use super::automatic::{self, Automatic};
use super::clean::{cap_text, clean_name};
use super::reply;
use crate::core::{Address, MessageId, Person, Token};

/// Longest Message-ID kept as it is; longer ones are hashed.
pub const MESSAGE_ID_MAX: usize = 250;

/// One inbound message, read.
#[derive(Clone, Debug)]
pub struct Inbound {
    /// Message-ID without angle brackets; a content hash when missing.
    pub message_id: MessageId,
    /// The author, when the `From` header has an address.
    pub from: Option<Person>,
    /// Decoded subject.
    pub subject: String,
    /// Plus-tags of the bot's address found among the recipients
    /// (`To`, `Cc`, `Delivered-To`, `X-Original-To`), lowercased: the reply
    /// tokens this message may carry.
    pub tokens: Vec<Token>,
    /// `In-Reply-To` and `References` ids, without brackets.
    pub references: Vec<MessageId>,
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
    /// Reads the routing facts from a parsed message; `bot` is the bot's
    /// address, whose plus-tags are the tokens (none when `None`).
    pub fn read(msg: &Message<'_>, bot: Option<&Address>) -> Inbound {
        // A sender whose address does not parse has no address to act on.
        let from = msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| Person::parse(&clean_name(a.name().unwrap_or_default()), a.address()?).ok());
        let message_id = msg
            .message_id()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| if id.len() > MESSAGE_ID_MAX { fallback_message_id(id.as_bytes()) } else { MessageId::from(id) })
            .unwrap_or_else(|| fallback_message_id(msg.raw_message()));
        let references = references_of(msg);
        let visible = reply::visible_text(msg);
        Inbound {
            message_id,
            from,
            subject: msg.subject().unwrap_or_default().to_owned(),
            tokens: bot.map(|bot| tokens_for(msg, bot)).unwrap_or_default(),
            references,
            automatic: automatic::classify_with_visible(msg, &visible),
            text: cap_text(&visible),
        }
    }
}

/// Most tokens a message is routed on: a reply carries one, a forward a
/// few. A message listing thousands of reply addresses must not cost a
/// store read for each (attack review of schema 4).
const MAX_TOKENS: usize = 16;

/// Most ids of `In-Reply-To`, and of `References` its first (the thread's
/// start) and last (the nearest parents) ids, a message is routed on: a
/// thread's own mail is among them, a flood of references is not read.
const MAX_IN_REPLY_TO: usize = 8;
const REFERENCES_FIRST: usize = 8;
const REFERENCES_LAST: usize = 24;

/// The Message-IDs a message answers: `In-Reply-To`, then `References`,
/// each once, bounded (see [`REFERENCES_LAST`]).
fn references_of(msg: &Message<'_>) -> Vec<MessageId> {
    let ids = |value: &HeaderValue<'_>| -> Vec<String> {
        match value {
            HeaderValue::Text(id) => vec![id.to_string()],
            HeaderValue::TextList(ids) => ids.iter().map(ToString::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let in_reply_to = ids(msg.in_reply_to());
    let all = ids(msg.references());
    let (first, rest) = all.split_at(all.len().min(REFERENCES_FIRST));
    let last = &rest[rest.len().saturating_sub(REFERENCES_LAST)..];
    let mut seen = std::collections::HashSet::new();
    in_reply_to
        .iter()
        .take(MAX_IN_REPLY_TO)
        .chain(first)
        .chain(last)
        .filter(|id| seen.insert(id.as_str()))
        .map(|id| MessageId::new(id.clone()))
        .collect()
}

/// The plus-tags on the bot's address among a message's recipients, each
/// once, at most [`MAX_TOKENS`] of them.
fn tokens_for(msg: &Message<'_>, bot: &Address) -> Vec<Token> {
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
    let mut seen = std::collections::HashSet::new();
    // A token is a plus-tag: an address without a `+` has none to parse for.
    for a in addresses.iter().filter(|a| a.contains('+')).filter_map(|a| Address::parse(a).ok()) {
        if let Some(tag) = a.tag().filter(|_| a.same_mailbox(bot)) {
            let tag = tag.to_ascii_lowercase();
            if seen.insert(tag.clone()) {
                tokens.push(Token::new(tag));
                if tokens.len() == MAX_TOKENS {
                    break;
                }
            }
        }
    }
    tokens
}

/// A stable id for a message without a Message-ID: FNV-1a over its bytes.
/// Not cryptographic; it only has to make the same bytes the same id.
pub fn fallback_message_id(raw: &[u8]) -> MessageId {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in raw {
        h ^= u128::from(*b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    MessageId::new(format!("{h:032x}@no-message-id.introbot"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot() -> Address {
        Address::parse("intros@example.com").expect("valid")
    }

    #[test]
    fn reads_tokens_from_recipients_and_delivery_headers() {
        let raw = b"From: Bob <bob@example.org>\r\nTo: \"Intro Bot\" <intros+abc234@example.com>\r\n\
            Delivered-To: Intros+XYZ@Example.com\r\nCc: other+nope@example.com\r\nMessage-ID: <m1@x>\r\n\
            In-Reply-To: <a@b>\r\nReferences: <r1@b> <a@b>\r\nSubject: Re: hi\r\n\r\nYes!\r\n\r\nOn Mon, X wrote:\r\n> q\r\n";
        let msg = parse(raw).expect("mail");
        let inbound = Inbound::read(&msg, Some(&bot()));
        assert_eq!(inbound.tokens, [Token::new("abc234"), Token::new("xyz")]);
        assert_eq!(inbound.message_id.as_str(), "m1@x");
        assert_eq!(inbound.from, Some(Person::parse("Bob", "bob@example.org").expect("valid")));
        assert_eq!(inbound.references, [MessageId::new("a@b"), MessageId::new("r1@b")], "each once");
        assert_eq!(inbound.text, "Yes!");
        assert_eq!(inbound.automatic, None);
    }

    #[test]
    fn references_are_read_once_each_from_the_threads_start_and_end() {
        let refs: Vec<String> = (0..100).map(|i| format!("<r{i}@x>")).collect();
        let raw = format!(
            "From: a@x\r\nIn-Reply-To: <r99@x>\r\nReferences: {}\r\nSubject: Re: s\r\n\r\nok\r\n",
            refs.join(" ")
        );
        let inbound = Inbound::read(&parse(raw.as_bytes()).expect("mail"), Some(&bot()));
        let got: Vec<&str> = inbound.references.iter().map(MessageId::as_str).collect();
        let want: Vec<String> = std::iter::once(99)
            .chain(0..REFERENCES_FIRST)
            .chain(100 - REFERENCES_LAST..99)
            .map(|i| format!("r{i}@x"))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn missing_message_id_gets_a_stable_one() {
        let raw = b"From: a@x\r\nSubject: s\r\n\r\nbody\r\n";
        let a = Inbound::read(&parse(raw).expect("mail"), Some(&bot()));
        let b = Inbound::read(&parse(raw).expect("mail"), Some(&bot()));
        assert_eq!(a.message_id, b.message_id);
        assert!(a.message_id.as_str().ends_with("@no-message-id.introbot"));
    }

    #[test]
    fn what_comes_in_is_bounded_and_clean() {
        let long_id = "a".repeat(5000);
        let text = "I would like to talk.\r\n".repeat(10_000);
        let raw = format!(
            "From: =?utf-8?b?Q29ubmllDQpCY2M6IGV2aWxAeC5leGFtcGxl?= <connie@conn.example>\r\nMessage-ID: <{long_id}@x>\r\nSubject: s\r\n\r\n{text}"
        );
        let inbound = Inbound::read(&parse(raw.as_bytes()).expect("mail"), Some(&bot()));
        assert!(inbound.message_id.as_str().len() <= MESSAGE_ID_MAX, "{}", inbound.message_id);
        assert!(inbound.text.len() <= crate::mail::clean::TEXT_MAX + 8 && inbound.text.ends_with("[…]"));
        assert_eq!(inbound.from, Some(Person::parse("Connie Bcc:", "connie@conn.example").expect("address")));
    }

    #[test]
    fn garbage_is_not_mail() {
        assert!(parse(b"\x00\x01\x02 not a mail").is_none());
        assert!(parse(b"").is_none());
    }
}
