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
//! of lettre's share of composing. Encoding and folding stay lettre's.
//!
//! [`Alternative`] is the body: the text and HTML parts, each encoded as
//! lettre encodes it, written in `multipart/alternative` exactly as
//! lettre's `MultiPart::formatted` writes one (its two parts' fixed
//! headers, its 40-letter random boundary), straight into the message's
//! buffer: lettre's `MultiPart` parsed its own `Content-Type` back to find
//! the boundary, kept each part's typed headers, and wrote it all into a
//! buffer of its own to be copied (a third of lettre's share). Proptests
//! hold both to lettre byte for byte.

use std::time::SystemTime;

use lettre::message::header::{self, Header, HeaderValue, Headers, MailboxesHeader};
use lettre::message::{Body, Mailbox, Mailboxes};

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
    /// `multipart` adds it, the header block, then the body.
    pub(super) fn multipart(self, body: &Alternative) -> Vec<u8> {
        let head = self.header(header::MIME_VERSION_1_0).0.to_string();
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head.as_bytes());
        body.write(&mut out);
        out
    }
}

/// An email's body: its text and its HTML, each encoded, as one
/// `multipart/alternative`.
pub(super) struct Alternative {
    boundary: String,
    plain: Body,
    html: Body,
}

impl Alternative {
    /// The two parts under a fresh boundary: 40 random letters and digits,
    /// lettre's own (fastrand's, as lettre draws it).
    pub(super) fn new(plain: Body, html: Body) -> Self {
        let boundary = std::iter::repeat_with(fastrand::alphanumeric).take(40).collect();
        Alternative { boundary, plain, html }
    }

    /// About how many bytes [`Alternative::write`] writes.
    fn len(&self) -> usize {
        self.plain.len() + self.html.len() + 4 * self.boundary.len() + 256
    }

    /// Writes the multipart: its `Content-Type` (folded before the
    /// boundary, as lettre folds it: the line is always too long), a blank
    /// line, each part under a boundary line, the closing boundary.
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"Content-Type: multipart/alternative;\r\n boundary=\"");
        out.extend_from_slice(self.boundary.as_bytes());
        out.extend_from_slice(b"\"\r\n\r\n");
        for (kind, body) in [("plain", &self.plain), ("html", &self.html)] {
            out.extend_from_slice(b"--");
            out.extend_from_slice(self.boundary.as_bytes());
            out.extend_from_slice(b"\r\nContent-Type: text/");
            out.extend_from_slice(kind.as_bytes());
            out.extend_from_slice(b"; charset=utf-8\r\nContent-Transfer-Encoding: ");
            out.extend_from_slice(body.encoding().to_string().as_bytes());
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(body.as_ref());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(self.boundary.as_bytes());
        out.extend_from_slice(b"--\r\n");
    }
}

#[cfg(test)]
mod tests {
    use lettre::Message;
    use lettre::message::header::{HeaderName, HeaderValue};
    use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
    use proptest::prelude::*;

    use super::{Alternative, Head};

    /// The body as lettre's `MultiPart::alternative_plain_html` makes it,
    /// and ours, under one boundary.
    fn both(plain: &str, html: &str, boundary: &str) -> (MultiPart, Alternative) {
        let lettre = MultiPart::alternative()
            .boundary(boundary)
            .singlepart(SinglePart::plain(super::super::encoded(plain)))
            .singlepart(SinglePart::html(super::super::encoded(html)));
        let ours = Alternative {
            boundary: boundary.to_owned(),
            plain: super::super::encoded(plain),
            html: super::super::encoded(html),
        };
        (lettre, ours)
    }

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
            let (part, body) = both("text\n", "<p>html</p>\n", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd");
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
            let built = b.raw_header(auto()).message_id(Some(id.clone())).multipart(part);
            let built = built.unwrap_or_else(|e| panic!("the builder refused: {e}")).formatted();
            let written = h.raw_header(auto()).message_id(id).multipart(&body);
            prop_assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&built));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]

        /// The body as lettre writes it, under any boundary lettre could
        /// draw, in every transfer encoding (7bit, quoted-printable for
        /// long lines and non-ASCII, base64 when most of it is non-ASCII).
        #[test]
        fn writes_the_body_lettre_writes(
            plain in "[a-z \n]{0,100}|[a-z \n]{70,300}|\\PC{0,200}|[é\u{1F600}\n]{0,100}",
            html in "[a-z<>=\" \n]{0,100}|[a-z<>=\" \n]{70,300}|\\PC{0,200}",
            boundary in "[a-zA-Z0-9]{40}",
        ) {
            let (part, body) = both(&plain, &html, &boundary);
            let mut written = Vec::new();
            body.write(&mut written);
            let formatted = part.formatted();
            prop_assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&formatted));
        }
    }

    /// The boundary is lettre's kind: 40 letters and digits, fresh each time.
    #[test]
    fn boundaries_are_fresh_letters_and_digits() {
        let a = Alternative::new(Body::new(String::new()), Body::new(String::new()));
        let b = Alternative::new(Body::new(String::new()), Body::new(String::new()));
        assert_eq!(a.boundary.len(), 40);
        assert!(a.boundary.bytes().all(|c| c.is_ascii_alphanumeric()), "{}", a.boundary);
        assert_ne!(a.boundary, b.boundary);
    }
}
