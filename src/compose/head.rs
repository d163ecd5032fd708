//! An email's header block and the final RFC 5322 bytes, made with lettre's
//! own typed headers but without its `MessageBuilder`.
//!
//! [`Head`] sets the same headers in the same order the way the builder
//! sets them (`Headers::set` for each, the builder's `mailbox` join for a
//! second address in one header), and writes them as `Message::formatted`
//! does: the header block, then the multipart body. What it leaves out is
//! the builder's `build`, which parses `Date` and `From` back out of the
//! headers it was just given (to check there is one of each: here there
//! always is) and derives an envelope nobody reads (ours is
//! [`super::Composed`]'s): together with moving the message about, a fifth
//! of lettre's share of composing. Encoding and folding stay lettre's. A
//! proptest holds it to the builder byte for byte.

use std::time::SystemTime;

use lettre::message::header::{self, Header, HeaderValue, Headers, MailboxesHeader};
use lettre::message::{Mailbox, Mailboxes, MultiPart};

/// The headers of an email being composed.
pub(super) struct Head(Headers);

impl Head {
    /// A header block with `Date`, as the builder starts one.
    pub(super) fn new(date: SystemTime) -> Self {
        let mut headers = Headers::with_capacity(14);
        headers.set(header::Date::new(date));
        Head(headers)
    }

    fn header<H: Header>(mut self, header: H) -> Self {
        self.0.set(header);
        self
    }

    /// `MessageBuilder::mailbox`: a second mailbox joins the first.
    fn mailbox<H: Header + MailboxesHeader>(mut self, header: H) -> Self {
        match self.0.get::<H>() {
            Some(mut joined) => {
                joined.join_mailboxes(header);
                self.0.set(joined);
            }
            None => self.0.set(header),
        }
        self
    }

    pub(super) fn subject(self, subject: String) -> Self {
        self.header(header::Subject::from(subject))
    }

    pub(super) fn from(self, mbox: Mailbox) -> Self {
        self.mailbox(header::From::from(Mailboxes::from(mbox)))
    }

    pub(super) fn to(self, mbox: Mailbox) -> Self {
        self.mailbox(header::To::from(Mailboxes::from(mbox)))
    }

    pub(super) fn reply_to(self, mbox: Mailbox) -> Self {
        self.mailbox(header::ReplyTo::from(Mailboxes::from(mbox)))
    }

    pub(super) fn in_reply_to(self, id: String) -> Self {
        self.header(header::InReplyTo::from(id))
    }

    pub(super) fn references(self, id: String) -> Self {
        self.header(header::References::from(id))
    }

    pub(super) fn message_id(self, id: String) -> Self {
        self.header(header::MessageId::from(id))
    }

    pub(super) fn raw_header(mut self, value: HeaderValue) -> Self {
        self.0.insert_raw(value);
        self
    }

    /// The whole message: `MIME-Version` last, as the builder's
    /// `multipart` adds it, the header block, then the body part.
    pub(super) fn multipart(self, part: &MultiPart) -> Vec<u8> {
        let head = self.header(header::MIME_VERSION_1_0).0.to_string();
        let body = part.formatted();
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&body);
        out
    }
}

#[cfg(test)]
mod tests {
    use lettre::Message;
    use lettre::message::header::{HeaderName, HeaderValue};
    use lettre::message::{Mailbox, MultiPart};
    use proptest::prelude::*;

    use super::Head;

    fn mbox(name: &str, user: &str) -> Mailbox {
        let name = crate::mail::clean::clean_name(name);
        let address = format!("{user}@example.com").parse().unwrap_or_else(|e| panic!("test address: {e}"));
        Mailbox::new((!name.is_empty()).then_some(name), address)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Every byte as lettre's builder writes it: names and subjects with
        /// quotes, commas, non-ASCII and long runs (encoded words, quoting,
        /// folding), one or two addresses in `To` and `Reply-To`, threading
        /// headers or none, raw headers.
        #[test]
        fn writes_what_the_builder_writes(
            names in proptest::collection::vec("[a-zA-Z .,\"'()<>@é\u{1F600}-]{0,40}|\\PC{0,30}", 4),
            subject in "[a-zA-Z :<>,é\u{1F600}-]{0,200}|\\PC{0,120}",
            two in any::<bool>(),
            thread in proptest::option::of("[a-z0-9.]{1,20}@[a-z]{1,10}\\.example"),
            seconds in 0u64..4_000_000_000,
        ) {
            let date = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
            let part = MultiPart::alternative_plain_html("text\r\n".to_owned(), "<p>html</p>\r\n".to_owned());
            let auto = || HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into());
            let id = "<abc@example.com>".to_owned();

            let mut b = Message::builder()
                .date(date)
                .subject(subject.clone())
                .from(mbox(&names[0], "bot"))
                .to(mbox(&names[1], "to1"))
                .reply_to(mbox(&names[2], "reply1"));
            let mut h = Head::new(date)
                .subject(subject.clone())
                .from(mbox(&names[0], "bot"))
                .to(mbox(&names[1], "to1"))
                .reply_to(mbox(&names[2], "reply1"));
            if two {
                b = b.to(mbox(&names[3], "to2")).reply_to(mbox(&names[3], "reply2"));
                h = h.to(mbox(&names[3], "to2")).reply_to(mbox(&names[3], "reply2"));
            }
            if let Some(parent) = &thread {
                b = b.in_reply_to(format!("<{parent}>")).references(format!("<{parent}> {id}"));
                h = h.in_reply_to(format!("<{parent}>")).references(format!("<{parent}> {id}"));
            }
            let built = b.raw_header(auto()).message_id(Some(id.clone())).multipart(part.clone());
            let built = built.unwrap_or_else(|e| panic!("the builder refused: {e}")).formatted();
            let written = h.raw_header(auto()).message_id(id).multipart(&part);
            prop_assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&built));
        }
    }
}
