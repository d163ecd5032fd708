//! Turning the core's effects into real emails: the template context,
//! RFC 5322 headers, and the SMTP envelope.
//!
//! Header policy:
//! - every email has a `Message-ID` under the bot's domain, fixed when it is
//!   queued: 130 random bits, nothing about the intro in it, so nobody can
//!   work out the id of a note they did not receive (the store keeps them;
//!   the engine passes the consent note's id for later notes to thread
//!   under);
//! - `In-Reply-To`/`References` keep each party's thread, and the
//!   connector's under their original request;
//! - `Reply-To` is the bot's plus-address with the recipient's token, except
//!   on the introduction, where it is the two parties: replies go to them,
//!   and on a note to a party after it (it bounced for the other), where it
//!   is the connector, who knows. A note to a connector outside any intro gets a token of its own
//!   ([`Composed::note_token`]), so an answer to it is known as one;
//! - `Auto-Submitted: auto-generated` and `X-Auto-Response-Suppress: All` on
//!   everything but the introduction, which is a real conversation starter;
//! - the envelope sender of party mail carries the party's token, so a
//!   bounce comes back to an address that says whose mail bounced;
//! - mail to one party carries `List-Unsubscribe` (a `mailto:` to their
//!   reply address saying "unsubscribe", which the bot reads as a stop), so
//!   mail clients offer their own unsubscribe button. Not RFC 8058's
//!   `List-Unsubscribe-Post`: one-click needs an HTTPS URI in
//!   `List-Unsubscribe`, and the bot serves no web.
//!
//! - names, subjects, texts and inbound Message-IDs pass through
//!   [`crate::mail::clean`] first: one clean line, bounded, no address in a
//!   name; bodies get CRLF line endings in linear time.
//!
//! Subjects name the people, never an internal id, and a reply's subject
//! gets one `Re:`, not one more each time.

mod context;
mod fuzz;
mod head;
mod note;
mod qp;
mod templates;

pub use fuzz::compose_anything;

use std::time::SystemTime;

use jiff::Timestamp;
use lettre::message::header::{ContentTransferEncoding, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::core::{
    Address, AddressError, Audience, Email, EmailKind, Intro, IntroId, MessageId, Outgoing, Person, Role, Token,
};
use crate::mail::RequestProblem;
use crate::mail::clean;
pub(crate) use context::StatusLine;
use context::{Reader, party_value, person_value};
use head::{Alternative, Head};
pub(crate) use note::Note;
pub use templates::TemplateError;
use templates::Templates;
#[cfg(test)]
pub(crate) use templates::save_for_review;

/// What went wrong composing an email.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The bot's address with a reply token is not an address (the bot's
    /// local part is too long to carry a token).
    #[error("cannot make a reply address: {0}")]
    ReplyAddress(AddressError),
    /// No randomness for a Message-ID or a note's token.
    #[error(transparent)]
    Random(#[from] crate::tokens::RandomError),
}

/// An email ready for the outbox: the bytes and the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Composed {
    /// Its Message-ID.
    pub message_id: MessageId,
    /// Which kind (and template) it is.
    pub kind: EmailKind,
    /// The party it went to, when it went to exactly one (for bounces).
    pub role: Option<Role>,
    /// The party a note to the connector is about (an unclear or held
    /// reply), so the connector's answer to it can be told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<Role>,
    /// Subject, for logs and the demo.
    pub subject: String,
    /// SMTP `MAIL FROM`.
    pub envelope_from: Address,
    /// SMTP `RCPT TO`s (Bcc included).
    pub recipients: Vec<Address>,
    /// The RFC 5322 message (stored beside the JSON, not in it).
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// The reply token of a note to a connector outside any intro (its
    /// `Reply-To` is the bot's address with it); the store records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_token: Option<Token>,
}

/// Makes emails from effects.
#[derive(Debug)]
pub(crate) struct Composer {
    templates: Templates,
    bot_address: Address,
    bot_name: String,
    requester_implied: bool,
    follow_up_after: String,
    expire_after: String,
    /// Where dates in the emails are counted (`[bot] timezone`).
    timezone: jiff::tz::TimeZone,
    bcc_connector: bool,
    ids: Ids,
    /// The bot as templates see it (`bot.name`, `bot.address`), made once.
    bot_value: Value,
    /// The bot's name as its mailboxes show it, cleaned once.
    bot_display: Option<String>,
}

/// How Message-IDs (and notes' tokens) are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ids {
    /// From the OS CSPRNG: what the bot sends.
    Random,
    /// From the intro, party and kind, and fixed tokens: only for the
    /// snapshot tests, whose emails must not change from run to run.
    #[cfg(test)]
    Predictable,
}

impl Composer {
    /// Loads the templates named by the config and checks every kind renders.
    pub(crate) fn new(config: &Config) -> Result<Self, ComposeError> {
        let templates = Templates::load(config.templates_dir.as_deref())?;
        let composer = Self {
            templates,
            bot_address: config.address.clone(),
            bot_name: config.name.clone(),
            requester_implied: config.policy.requester_consent == crate::core::RequesterConsent::Implied,
            follow_up_after: config.policy.follow_up_after.to_string(),
            expire_after: config.policy.expire_after.to_string(),
            timezone: config.timezone.clone(),
            bcc_connector: config.bcc_connector_on_introduction,
            ids: Ids::Random,
            bot_value: bot_value(&config.name, &config.address),
            bot_display: display_name(&config.name),
        };
        composer.self_check()?;
        Ok(composer)
    }

    /// This composer with ids and tokens that are the same on every run
    /// (snapshot tests only).
    #[cfg(test)]
    pub(crate) fn predictable(mut self) -> Self {
        self.ids = Ids::Predictable;
        self
    }

    /// A fresh Message-ID; `predictable` makes the test form.
    fn new_id(&self, _predictable: impl FnOnce() -> String) -> Result<MessageId, ComposeError> {
        match self.ids {
            Ids::Random => Ok(MessageId::new(crate::tokens::new_message_id(self.bot_address.domain())?)),
            #[cfg(test)]
            Ids::Predictable => Ok(MessageId::new(format!("{}@{}", _predictable(), self.bot_address.domain()))),
        }
    }

    /// A fresh Message-ID for an email of `intro`, starting with its id
    /// (how the store finds the intro of a reply that lost its token);
    /// `predictable` makes the test form, which starts with it too.
    fn new_intro_email_id(
        &self,
        intro: &IntroId,
        predictable: impl FnOnce() -> String,
    ) -> Result<MessageId, ComposeError> {
        if self.ids == Ids::Random {
            return Ok(MessageId::new(crate::tokens::new_intro_message_id(intro, self.bot_address.domain())?));
        }
        self.new_id(predictable)
    }

    /// Renders every kind against a sample intro, so a broken override fails
    /// at start-up and not in the middle of someone's intro.
    fn self_check(&self) -> Result<(), ComposeError> {
        for sample in samples::all() {
            self.compose_threaded(&sample.intro, &sample.out, None, Timestamp::UNIX_EPOCH)?;
        }
        let carol = samples::intro().connector;
        let sample_id = MessageId::new("x@y");
        for problem in samples::problems() {
            self.compose_problem(&carol, "Intro: A <> B", Some(&sample_id), &problem, Timestamp::UNIX_EPOCH)?;
        }
        for note in samples::notes() {
            self.compose_note(&carol, "Re: A <> B", Some(&sample_id), &note, Timestamp::UNIX_EPOCH)?;
        }
        for (kind, extra) in samples::connector_notes() {
            self.compose_to_connector(kind, &carol, "status", Some(&sample_id), extra, Timestamp::UNIX_EPOCH)?;
        }
        Ok(())
    }

    /// The bot's name at `address` (its own, or a reply address).
    fn bot_at(&self, address: &Address) -> Mailbox {
        Mailbox::new(self.bot_display.clone(), address.lettre().clone())
    }

    fn bot_mailbox(&self, display: String) -> Mailbox {
        mailbox(&display, &self.bot_address)
    }

    /// The bot's plus-address for a token.
    pub(crate) fn reply_address(&self, token: &str) -> Result<Address, ComposeError> {
        self.bot_address.with_tag(token).map_err(ComposeError::ReplyAddress)
    }

    /// Composes one effect's email, not threaded under an earlier one.
    #[cfg(test)]
    pub(crate) fn compose(&self, intro: &Intro, out: &Outgoing, now: Timestamp) -> Result<Composed, ComposeError> {
        self.compose_threaded(intro, out, None, now)
    }

    /// Composes one effect's email; `consent` is the Message-ID of the
    /// consent note to the same party, which later notes to them thread
    /// under.
    pub(crate) fn compose_threaded(
        &self,
        intro: &Intro,
        out: &Outgoing,
        consent: Option<&MessageId>,
        now: Timestamp,
    ) -> Result<Composed, ComposeError> {
        let kind = out.email.kind();
        let ctx = self.context(intro, out)?;
        let rendered = self.templates.render(kind, &ctx)?;
        let via = format!("{} via {}", intro.connector.display_name(), self.bot_name);

        let subject = clean::clean_subject(&rendered.subject);
        let mut b = Head::new(system_time(now)).subject(subject.clone());
        let (message_id, envelope_from, mut recipients, role);
        match out.to {
            Audience::Party(r) => {
                let party = intro.party(r);
                role = Some(r);
                message_id = self.new_intro_email_id(&intro.id, || format!("{}.{}.{kind}", intro.id, r.as_str()))?;
                envelope_from = self.reply_address(party.token.as_str())?;
                recipients = vec![party.person.email.clone()];
                // After the introduction, a note to a party (that it bounced
                // for the other) is about a conversation between people: an
                // answer goes to the connector, who knows, not to the bot,
                // which has nothing left to do. It threads under the
                // introduction alone: `consent` is its id.
                let introduced = intro.state == crate::core::IntroState::Introduced;
                let reply_to = if introduced { person_mailbox(&intro.connector) } else { self.bot_at(&envelope_from) };
                b = b.from(self.bot_mailbox(via)).to(person_mailbox(&party.person)).reply_to(reply_to);
                b = unsubscribe_headers(b, &envelope_from);
                if kind != EmailKind::ConsentRequest {
                    let consent = match (consent, self.ids) {
                        // Ours, from the store; checked all the same.
                        (Some(id), _) => Some(id.clone()).filter(|id| clean::safe_message_id(id.as_str()).is_some()),
                        #[cfg(test)]
                        (None, Ids::Predictable) => Some(MessageId::new(if introduced {
                            format!("{}.introduction@{}", intro.id, self.bot_address.domain())
                        } else {
                            format!("{}.{}.consent_request@{}", intro.id, r.as_str(), self.bot_address.domain())
                        })),
                        (None, _) => None,
                    };
                    let reply = party
                        .last_reply_id
                        .as_ref()
                        .filter(|id| !introduced && clean::safe_message_id(id.as_str()).is_some());
                    let refs: Vec<String> = consent.iter().chain(reply).map(MessageId::bracketed).collect();
                    if let Some(parent) = reply.or(consent.as_ref()) {
                        b = b.in_reply_to(parent.bracketed()).references(refs.join(" "));
                    }
                }
            }
            Audience::BothParties => {
                role = None;
                message_id = self.new_intro_email_id(&intro.id, || format!("{}.introduction", intro.id))?;
                envelope_from = self.bot_address.clone();
                recipients = vec![intro.requester.person.email.clone(), intro.target.person.email.clone()];
                b = b
                    .from(self.bot_mailbox(via))
                    .to(person_mailbox(&intro.requester.person))
                    .to(person_mailbox(&intro.target.person))
                    .reply_to(person_mailbox(&intro.requester.person))
                    .reply_to(person_mailbox(&intro.target.person));
                if self.bcc_connector {
                    recipients.push(intro.connector.email.clone());
                }
            }
            Audience::Connector => {
                role = None;
                message_id = self.new_intro_email_id(&intro.id, || {
                    format!("{}.connector.{kind}.{}", intro.id, intro.timeline.len())
                })?;
                envelope_from = self.bot_address.clone();
                recipients = vec![intro.connector.email.clone()];
                b = b
                    .from(self.bot_at(&self.bot_address))
                    .to(person_mailbox(&intro.connector))
                    .reply_to(self.bot_at(&self.reply_address(intro.connector_token.as_str())?));
                if let Some(req) =
                    intro.request_message_id.as_ref().filter(|id| clean::safe_message_id(id.as_str()).is_some())
                {
                    b = b.in_reply_to(req.bracketed()).references(req.bracketed());
                }
            }
        }
        if kind != EmailKind::Introduction {
            b = automatic_headers(b);
        }
        recipients.dedup();
        let bytes = b.message_id(message_id.bracketed()).multipart(&body(&rendered));
        let about = match &out.email {
            Email::UnclearReply { role, .. } | Email::HeldReply { role, .. } => Some(*role),
            _ => None,
        };
        Ok(Composed { message_id, kind, role, about, subject, envelope_from, recipients, bytes, note_token: None })
    }

    /// Composes the note to a connector whose request could not be used.
    /// `inbound_id` is the request's Message-ID, to thread under it.
    pub(crate) fn compose_problem(
        &self,
        connector: &Person,
        subject: &str,
        inbound_id: Option<&MessageId>,
        problem: &RequestProblem,
        now: Timestamp,
    ) -> Result<Composed, ComposeError> {
        let extra = minijinja::context! { problem => serde_value(problem) };
        self.compose_to_connector(EmailKind::RequestProblem, connector, subject, inbound_id, extra, now)
    }

    /// Composes a note answering a connector's command.
    pub(crate) fn compose_note(
        &self,
        connector: &Person,
        subject: &str,
        inbound_id: Option<&MessageId>,
        note: &Note,
        now: Timestamp,
    ) -> Result<Composed, ComposeError> {
        let extra = minijinja::context! { note => serde_value(note) };
        self.compose_to_connector(EmailKind::CommandReply, connector, subject, inbound_id, extra, now)
    }

    /// Composes a note to a connector that belongs to no intro (a request
    /// problem, `status`, `help`, a command's confirmation): `kind`'s
    /// template with `bot`, `connector` and `subject` plus `extra` in its
    /// context, threaded under the connector's message `inbound_id`, with a
    /// fresh token of its own in `Reply-To` ([`Composed::note_token`]).
    pub(crate) fn compose_to_connector(
        &self,
        kind: EmailKind,
        connector: &Person,
        subject: &str,
        inbound_id: Option<&MessageId>,
        extra: Value,
        now: Timestamp,
    ) -> Result<Composed, ComposeError> {
        let ctx = minijinja::context! {
            bot => self.bot_value.clone(),
            connector => person_value(connector),
            subject => subject.trim(),
            ..extra
        };
        let rendered = self.templates.render(kind, &ctx)?;
        let message_id = self.new_id(|| format!("{kind}.{}", predictable_suffix(inbound_id, now)))?;
        let token = match self.ids {
            Ids::Random => crate::tokens::new_token()?,
            #[cfg(test)]
            Ids::Predictable => Token::new("nnnnnnnnnnnnnnnnnnnnnnnnnn"),
        };
        let subject = clean::clean_subject(&rendered.subject);
        let mut b = Head::new(system_time(now))
            .subject(subject.clone())
            .from(self.bot_at(&self.bot_address))
            .to(person_mailbox(connector))
            .reply_to(self.bot_at(&self.reply_address(token.as_str())?));
        if let Some(id) = inbound_id.filter(|id| clean::safe_message_id(id.as_str()).is_some()) {
            b = b.in_reply_to(id.bracketed()).references(id.bracketed());
        }
        let bytes = automatic_headers(b).message_id(message_id.bracketed()).multipart(&body(&rendered));
        Ok(Composed {
            message_id,
            kind,
            role: None,
            about: None,
            subject,
            envelope_from: self.bot_address.clone(),
            recipients: vec![connector.email.clone()],
            bytes,
            note_token: Some(token),
        })
    }

    fn context(&self, intro: &Intro, out: &Outgoing) -> Result<Value, ComposeError> {
        let reader = match out.to {
            Audience::Party(r) => Reader::Party(r),
            Audience::Connector => Reader::Connector,
            Audience::BothParties => Reader::Both,
        };
        // Later notes to a party reply under the consent note's subject;
        // after the introduction, under the introduction's.
        let thread_subject = match out.to {
            Audience::Party(_) if intro.state == crate::core::IntroState::Introduced => {
                let ctx = self.base_context(intro, &Email::Introduction, Reader::Both);
                self.templates.render(EmailKind::Introduction, &ctx)?.subject
            }
            Audience::Party(role) if out.email != Email::ConsentRequest => self.consent_subject(intro, role)?,
            _ => String::new(),
        };
        let previews = match out.email {
            Email::Preview => self.previews(intro)?,
            _ => Vec::new(),
        };
        let base = self.base_context(intro, &out.email, reader);
        Ok(minijinja::context! { thread_subject => thread_subject, previews => previews, ..base })
    }

    fn consent_subject(&self, intro: &Intro, role: Role) -> Result<String, ComposeError> {
        let ctx = self.base_context(intro, &Email::ConsentRequest, Reader::Party(role));
        Ok(self.templates.render(EmailKind::ConsentRequest, &ctx)?.subject)
    }

    /// Exactly what each party still to be asked would get, for the
    /// connector's preview.
    fn previews(&self, intro: &Intro) -> Result<Vec<Value>, ComposeError> {
        let mut out = Vec::new();
        for role in Role::BOTH {
            let party = intro.party(role);
            if party.state != crate::core::PartyState::Pending {
                continue;
            }
            let ctx = self.base_context(intro, &Email::ConsentRequest, Reader::Party(role));
            let rendered = self.templates.render(EmailKind::ConsentRequest, &ctx)?;
            out.push(minijinja::context! {
                party => party_value(intro, role, Reader::Connector),
                subject => rendered.subject,
                text => rendered.text.trim_end(),
            });
        }
        Ok(out)
    }

    fn base_context(&self, intro: &Intro, email: &Email, reader: Reader) -> Value {
        // Each party's value is made once: `me`, `other` and `party` are
        // the same values again (a value is immutable, a clone shares it).
        let requester = party_value(intro, Role::Requester, reader);
        let target = party_value(intro, Role::Target, reader);
        let party_of = |r: Role| match r {
            Role::Requester => requester.clone(),
            Role::Target => target.clone(),
        };
        let (me, other) = match reader {
            Reader::Party(r) => (party_of(r), party_of(r.other())),
            _ => (Value::UNDEFINED, Value::UNDEFINED),
        };
        let (outcome, decision, party, text, from) = match email {
            Email::Outcome(o) => (serde_value(o), None, Value::UNDEFINED, "", ""),
            Email::ThankYou { decision } => (Value::UNDEFINED, Some(decision.as_str()), Value::UNDEFINED, "", ""),
            Email::UnclearReply { role, text, .. } => (Value::UNDEFINED, None, party_of(*role), text.as_str(), ""),
            Email::HeldReply { role, from, text, .. } => {
                let from = from.as_ref().map_or("", Address::as_str);
                (Value::UNDEFINED, None, party_of(*role), text.as_str(), from)
            }
            _ => (Value::UNDEFINED, None, Value::UNDEFINED, "", ""),
        };
        // The connector's note is theirs: only they see it whole.
        let note = if reader == Reader::Connector { intro.note.as_str() } else { "" };
        // The day the pending timer falls on ("Friday 11 December"): when a
        // preview nobody answers is dropped.
        let deadline =
            intro.deadline.map(|d| context::format_date(d.at.to_zoned_datetime(self.timezone.clone()).date()));
        serde_value(&BaseView {
            id: intro.id.as_str(),
            bot: &self.bot_value,
            connector: person_value(&intro.connector),
            requester,
            target,
            role: match reader {
                Reader::Party(r) => Some(r.as_str()),
                _ => None,
            },
            me,
            other,
            state: intro.state.as_str(),
            summary: context::summary_for(intro, reader),
            summary_words: intro.summary.split_whitespace().count(),
            note,
            guesses: if reader == Reader::Connector { context::guesses_value(intro) } else { Vec::new() },
            previewed: intro.previewed,
            requester_implied: self.requester_implied,
            follow_up_after: &self.follow_up_after,
            expire_after: &self.expire_after,
            deadline: deadline.unwrap_or_default(),
            outcome,
            decision,
            party,
            text: clean::cap_text(text),
            from,
            why: match email {
                Email::HeldReply { why, .. } => Some(why.as_str()),
                _ => None,
            },
            after_yes: matches!(email, Email::UnclearReply { after_yes: true, .. }),
        })
    }
}

/// What every template about an intro sees ([`Composer::base_context`]),
/// serialized into the same map `minijinja::context!` made, key for key
/// and in the same order, without its check of each key against all the
/// keys before it.
#[derive(Serialize)]
struct BaseView<'a> {
    /// The intro's id: not in the built-in templates' words (people don't
    /// need it), kept for overrides written when they had it.
    id: &'a str,
    bot: &'a Value,
    connector: Value,
    requester: Value,
    target: Value,
    role: Option<&'static str>,
    me: Value,
    other: Value,
    state: &'static str,
    summary: String,
    summary_words: usize,
    note: &'a str,
    guesses: Vec<Value>,
    previewed: bool,
    requester_implied: bool,
    follow_up_after: &'a str,
    expire_after: &'a str,
    deadline: String,
    outcome: Value,
    decision: Option<&'a str>,
    party: Value,
    /// A reply passed on is cut at 20 KB (it came from a stranger).
    text: String,
    from: &'a str,
    why: Option<&'a str>,
    /// An unclear reply from someone who had said yes: their yes is in doubt.
    after_yes: bool,
}

fn automatic_headers(b: Head) -> Head {
    b.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"), "All".into()))
}

/// The bot as templates see it.
fn bot_value(name: &str, address: &Address) -> Value {
    minijinja::context! { name => name, address => address.as_str() }
}

/// Any serde value, for a template.
fn serde_value<T: Serialize>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// `List-Unsubscribe`: a `mailto:` to the party's own reply address that
/// reads as a stop.
fn unsubscribe_headers(b: Head, reply: &Address) -> Head {
    let mailto = format!("<mailto:{reply}?subject=unsubscribe&body=unsubscribe>");
    b.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), mailto))
}

fn mailbox(name: &str, address: &Address) -> Mailbox {
    // A name from someone's mail must not break the header (lettre's
    // Display fails on CR/LF and the builder then panics) or carry an address.
    Mailbox::new(display_name(name), address.lettre().clone())
}

/// A display name as a mailbox shows it: cleaned, none if nothing is left.
fn display_name(name: &str) -> Option<String> {
    let name = clean::clean_name(name);
    (!name.is_empty()).then_some(name)
}

/// The text and HTML alternatives, with CRLF line endings made here in one
/// pass (lettre would insert each CR separately: quadratic in the size).
fn body(rendered: &templates::Rendered) -> Alternative {
    Alternative::new(encoded(&rendered.text), encoded(&rendered.html))
}

/// A part's body encoded exactly as lettre's `Body::new` encodes a string
/// (the transfer encoding email-encoding chooses for it without SMTPUTF8,
/// then that encoding), from the CRLF text: lettre would then scan it once
/// more for bare LFs there are none of (3 % of the inbox's instructions).
/// The choice and quoted-printable are [`qp`]'s, byte for byte the crates'.
fn encoded(text: &str) -> Body {
    use email_encoding::body::Encoding;
    let text = clean::crlf(text);
    match qp::choose(&text) {
        Encoding::SevenBit => Body::dangerous_pre_encoded(text.into_bytes(), ContentTransferEncoding::SevenBit),
        Encoding::EightBit => Body::dangerous_pre_encoded(text.into_bytes(), ContentTransferEncoding::EightBit),
        Encoding::QuotedPrintable => {
            let mut out = Vec::new();
            qp::encode_into(text.as_bytes(), &mut out);
            Body::dangerous_pre_encoded(out, ContentTransferEncoding::QuotedPrintable)
        }
        // Mostly non-ASCII text (over a third of its bytes to escape): lettre encodes it itself.
        Encoding::Base64 => Body::new(text),
    }
}

fn person_mailbox(p: &Person) -> Mailbox {
    mailbox(&p.name, &p.email)
}

fn system_time(t: Timestamp) -> SystemTime {
    SystemTime::try_from(t).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The test form of a note's Message-ID: derived from the inbound id.
fn predictable_suffix(inbound_id: Option<&MessageId>, now: Timestamp) -> String {
    let seed = inbound_id.map(|id| id.as_str().to_owned()).unwrap_or_else(|| now.as_millisecond().to_string());
    let id = crate::mail::inbound::fallback_message_id(seed.as_bytes());
    id.as_str().split('@').next().unwrap_or_default().to_owned()
}

/// Sample intros for the template self-check and the snapshot tests.
pub(crate) mod samples {
    use jiff::Timestamp;

    use super::{Note, StatusLine};
    use crate::core::{
        Address, Audience, Decision, Effect, EmailKind, Event, Guess, Held, Intro, IntroId, MessageId, NewIntro,
        Outgoing, Person, Policy, RequesterConsent, Role, Token, open,
    };
    use crate::mail::RequestProblem;
    use crate::mail::request::Limit;

    fn person(name: &str, email: &str) -> Person {
        // The samples' addresses are fixed and valid; a typo here fails every test at once.
        Person::parse(name, email).unwrap_or_else(|e| panic!("sample address: {e}"))
    }

    /// A small composed email with the given Message-ID, to Bob: for the
    /// store and the transports, which only carry it.
    #[cfg(test)]
    pub(crate) fn composed(message_id: &str) -> super::Composed {
        let address = |s: &str| crate::core::Address::parse(s).unwrap_or_else(|e| panic!("sample address: {e}"));
        super::Composed {
            message_id: message_id.into(),
            kind: crate::core::EmailKind::ConsentRequest,
            role: Some(Role::Target),
            about: None,
            subject: "s".into(),
            envelope_from: address("intros@example.com"),
            recipients: vec![address("bob@example.org")],
            bytes: b"Subject: s\r\n\r\nbody\r\n".to_vec(),
            note_token: None,
        }
    }

    /// A fresh intro between Alice and Bob, asked by Carol.
    pub(crate) fn intro() -> Intro {
        let mut intro = open(new_intro(), &Policy::default(), Timestamp::UNIX_EPOCH).intro;
        intro.target.reply_text = Some("No thanks, not for me.".into());
        intro
    }

    fn new_intro() -> NewIntro {
        NewIntro {
            id: IntroId::new("k7m2p9qx"),
            connector: person("Carol Connor", "carol@example.com"),
            connector_token: Token::new("cccccccccccccccccccccccccc"),
            requester: person("Alice Able", "alice@example.net"),
            requester_token: Token::new("aaaaaaaaaaaaaaaaaaaaaaaaaa"),
            target: person("Bob Busy", "bob@example.org"),
            target_token: Token::new("bbbbbbbbbbbbbbbbbbbbbbbbbb"),
            summary: "I'm building an open-source mail server in Rust and would love 20 minutes of Bob's \
                      time on how he scaled IMAP IDLE at Example Corp."
                .into(),
            note: "Bob Busy <bob@example.org> - he owes me one.\nFor Bob: you ran the mail team at Example Corp for \
                   years, and Alice's project is the most careful one I've seen."
                .into(),
            for_requester: String::new(),
            for_target: "you ran the mail team at Example Corp for years, and Alice's project is the most careful \
                         one I've seen."
                .into(),
            request_message_id: Some(MessageId::new("request-1@example.com")),
            guesses: Vec::new(),
            preview: false,
        }
    }

    /// The notes to a connector outside any intro, with sample contexts.
    pub(crate) fn connector_notes() -> Vec<(EmailKind, minijinja::Value)> {
        let waiting =
            |name: &str, away_until: &str| super::context::Waiting { name: name.into(), away_until: away_until.into() };
        let line =
            |title: &str, waiting: Vec<super::context::Waiting>, decide: &[&str], awaiting_send: bool, days: i64| {
                StatusLine {
                    title: title.into(),
                    waiting_for: waiting,
                    yours_to_decide: decide.iter().map(|s| (*s).to_owned()).collect(),
                    awaiting_send,
                    days,
                }
            };
        let open = vec![
            line("Alice Able <> Bob Busy", vec![waiting("Bob Busy", "")], &[], false, 3),
            line("Priya Shah <> Dan Deputy", vec![], &["Dan Deputy"], false, 1),
            line("Zoë Müller <> Jürgen Groß", vec![], &[], true, 0),
            line(
                "Frank Founder <> Grace Hopper-Smith",
                vec![waiting("Frank Founder", ""), waiting("Grace Hopper-Smith", "Monday 7 December")],
                &[],
                false,
                9,
            ),
        ];
        vec![
            (EmailKind::Status, minijinja::context! { intros => super::serde_value(&open) }),
            (EmailKind::Status, minijinja::context! { intros => Vec::<minijinja::Value>::new() }),
            (EmailKind::Help, minijinja::context! {}),
        ]
    }

    fn limit(limit: Limit, name: &str, count: usize, days: u64) -> RequestProblem {
        RequestProblem::Limit { limit, name: name.into(), count, days }
    }

    /// One of every request problem.
    pub(crate) fn problems() -> Vec<RequestProblem> {
        let carol = || Address::parse("carol@example.com").unwrap_or_else(|e| panic!("sample address: {e}"));
        vec![
            RequestProblem::NotARequest,
            RequestProblem::NoRequesterAddress { name: "Alice".into() },
            RequestProblem::NoTargetAddress { name: "Bob".into() },
            RequestProblem::AmbiguousTarget { name: "Bob".into(), candidates: "bm@x.example, b2@x.example".into() },
            RequestProblem::AmbiguousRequester { name: "Alice".into(), candidates: "a@x.example, a2@x.example".into() },
            RequestProblem::SamePerson { name: "Bob".into(), email: carol() },
            RequestProblem::ConnectorIsParty { role: "the requester".into(), email: carol() },
            RequestProblem::Suppressed { name: "Bob Busy".into() },
            RequestProblem::BotIsParty { email: Address::parse("intros@example.com").unwrap_or_else(|_| carol()) },
            limit(Limit::IntrosToday, "", 20, 1),
            limit(Limit::PairOpen, "Alice Able and Bob Busy", 0, 90),
            limit(Limit::PairDeclined, "Alice Able and Bob Busy", 0, 90),
            limit(Limit::Resting, "Bob Busy", 3, 90),
            limit(Limit::AskedEnough, "Bob Busy", 3, 30),
            limit(Limit::WrittenEnough, "Bob Busy", 5, 1),
        ]
    }

    /// One of every note answering a command.
    pub(crate) fn notes() -> Vec<Note> {
        let title = || "Alice Able <> Bob Busy".to_owned();
        vec![
            Note::LateAnswer {
                title: title(),
                party: "Bob Busy".into(),
                ended: "expired".into(),
                text: "Sorry, only just saw this. Happy to meet!".into(),
            },
            Note::AlreadyEnded { title: title(), ended: "declined".into() },
            Note::AlreadyEnded { title: title(), ended: "preview unanswered".into() },
            Note::NothingToDecide { title: title() },
            Note::WhichParty { title: title(), names: vec!["Alice Able".into(), "Bob Busy".into()] },
            Note::WhichReply { title: title(), party: "Bob Busy".into() },
            Note::Decided { party: "Bob Busy".into(), decision: "yes".into(), waiting_for: "Alice Able".into() },
            Note::HeldAccepted { party: "Bob Busy".into(), decision: "yes".into(), waiting_for: "Alice Able".into() },
            Note::HeldSetAside { party: "Bob Busy".into() },
            Note::NothingToSend { title: title() },
        ]
    }

    /// One email in a sample scenario: the intro as it was when the email
    /// was made.
    pub(crate) struct Sample {
        /// `scenario_kind_to` (`…_2` for a second one), for snapshot names.
        pub(crate) name: String,
        /// The intro after the step that made the email.
        pub(crate) intro: Intro,
        /// The email.
        pub(crate) out: Outgoing,
    }

    /// A named request, the policy it runs under, and what happens to it.
    type Scenario<'a> = (&'static str, NewIntro, &'a Policy, Vec<(Event, Timestamp)>);

    /// Every kind of email, in the scenarios that make them, each made by
    /// the core itself: an intro stepped through real events.
    pub(crate) fn all() -> Vec<Sample> {
        let t0: Timestamp = "2026-11-23T14:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let at = |days: i64| t0.saturating_add(jiff::SignedDuration::from_hours(24 * days)).unwrap_or(t0);
        let id = |s: &str| MessageId::new(format!("{s}@example.net"));
        let reply = |role, decision, text: &str, n: &str| Event::ReplyReceived {
            role,
            decision,
            text: text.into(),
            message_id: id(n),
        };
        let ask = Policy::default();
        let implied = Policy { requester_consent: RequesterConsent::Implied, ..Policy::default() };
        let deadline = |days| (Event::DeadlineReached, at(days));
        let preview = NewIntro {
            guesses: vec![Guess::AddressFromMail { role: Role::Target }, Guess::SummaryCut],
            preview: true,
            ..new_intro()
        };
        let decline = |decision, text: &str| vec![(reply(Role::Target, decision, text, "t1"), at(1))];
        // Mail for Bob that cannot count as his answer, and the connector's yes.
        let held = |why, from: &str, text: &str, decision| {
            let from = Address::parse(from).ok();
            (
                Event::StrangerReplied {
                    role: Role::Target,
                    why,
                    from,
                    text: text.into(),
                    decision,
                    message_id: id("s1"),
                },
                at(1),
            )
        };
        let held_yes = held(
            Held::OtherSender,
            "bob.busy@home.example",
            "Yes, glad to help. This is my personal address.",
            Decision::Yes,
        );
        // The connector's yes about the reply held for Bob, or about his unclear one.
        let connector_yes = |held| {
            (Event::ConnectorDecided { role: Role::Target, decision: Decision::Yes, held, message_id: id("c1") }, at(2))
        };
        // Bob's yes in `words`, then his doubtful reply, then Alice's yes.
        let yes_then_doubt = |words: &str| {
            vec![
                (reply(Role::Target, Decision::Yes, words, "t1"), at(1)),
                (reply(Role::Target, Decision::Unclear, "Sorry, on second thought no.", "t2"), at(2)),
                (reply(Role::Requester, Decision::Yes, "Yes please!", "r1"), at(3)),
            ]
        };
        let both_yes = vec![
            (reply(Role::Requester, Decision::Yes, "Yes please!", "r1"), at(1)),
            (reply(Role::Target, Decision::Yes, "Yes, happy to. Mornings work best for me.", "t1"), at(2)),
        ];
        // A report, long after, that the introduction did not reach `roles`.
        let introduction_bounced = |roles: &[Role], n: &str, days| {
            let whose = if roles[0] == Role::Target { "bob@example.org" } else { "alice@example.net" };
            let reason = format!("smtp; 550 5.1.1 <{whose}>: Recipient address rejected: User unknown");
            (Event::IntroductionBounced { roles: roles.to_vec(), reason, message_id: id(n) }, at(days))
        };
        let scenarios: Vec<Scenario<'_>> = vec![
            ("asked", new_intro(), &ask, vec![]),
            ("preview", preview.clone(), &ask, vec![]),
            // `[consent] preview = "off"`: the guesses go in the acknowledgement.
            ("guessed_without_preview", NewIntro { preview: false, ..preview.clone() }, &ask, vec![]),
            ("preview_sent", preview.clone(), &ask, vec![(Event::PreviewApproved { message_id: id("c1") }, at(1))]),
            (
                "preview_cancelled",
                preview.clone(),
                &ask,
                vec![(Event::CancelRequested { message_id: id("c1") }, at(1))],
            ),
            // Nobody said `send`: dropped when an unanswered intro would expire.
            ("preview_unanswered", preview, &ask, vec![deadline(25)]),
            ("introduced", new_intro(), &ask, both_yes.clone()),
            (
                "introduction_bounced",
                new_intro(),
                &ask,
                [both_yes.clone(), vec![introduction_bounced(&[Role::Target], "d1", 30)]].concat(),
            ),
            // Bob's copy, then weeks later Alice's: the connector hears twice, Alice once.
            (
                "introduction_bounced_then_again",
                new_intro(),
                &ask,
                [
                    both_yes.clone(),
                    vec![
                        introduction_bounced(&[Role::Target], "d1", 30),
                        introduction_bounced(&[Role::Requester], "d2", 40),
                    ],
                ]
                .concat(),
            ),
            (
                "introduction_bounced_for_both",
                new_intro(),
                &implied,
                vec![
                    (reply(Role::Target, Decision::Yes, "Yes, happy to.", "t1"), at(1)),
                    introduction_bounced(&[Role::Requester, Role::Target], "d1", 3),
                ],
            ),
            // The mail server refused the introduction when it was sent: at
            // RCPT for Bob's address, or at DATA naming nobody.
            (
                "introduction_refused",
                new_intro(),
                &ask,
                [
                    both_yes.clone(),
                    vec![(
                        Event::IntroductionRefused {
                            named: vec![Role::Target],
                            reason: "smtp.example.com:587: permanent error (550): 5.1.1 <bob@example.org>: Recipient address rejected: User unknown".into(),
                            message_id: id("o1"),
                        },
                        at(2),
                    )],
                ]
                .concat(),
            ),
            (
                "introduction_refused_naming_nobody",
                new_intro(),
                &ask,
                [
                    both_yes.clone(),
                    vec![(
                        Event::IntroductionRefused {
                            named: vec![],
                            reason: "smtp.example.com:587: permanent error (554): 5.7.1 message content rejected".into(),
                            message_id: id("o1"),
                        },
                        at(2),
                    )],
                ]
                .concat(),
            ),
            (
                "implied_with_a_condition",
                new_intro(),
                &implied,
                vec![
                    (
                        reply(
                            Role::Target,
                            Decision::Unclear,
                            "Maybe - could Alice send me a few questions by email first?",
                            "t1",
                        ),
                        at(1),
                    ),
                    connector_yes(false),
                ],
            ),
            ("declined_no", new_intro(), &ask, decline(Decision::No, "No thanks, not for me.")),
            ("declined_later", new_intro(), &ask, decline(Decision::Later, "Not now, sorry - maybe in the spring.")),
            ("declined_stop", new_intro(), &ask, decline(Decision::Stop, "Please don't send me these again.")),
            (
                "expired",
                new_intro(),
                &ask,
                vec![deadline(10), (reply(Role::Requester, Decision::Yes, "Yes!", "r1"), at(11)), deadline(25)],
            ),
            (
                "unclear_then_expired",
                new_intro(),
                &ask,
                vec![
                    (reply(Role::Target, Decision::Unclear, "Who is Alice?", "t1"), at(1)),
                    deadline(10),
                    deadline(25),
                ],
            ),
            (
                "away_then_expired",
                new_intro(),
                &implied,
                vec![
                    (
                        Event::AwayUntil {
                            role: Role::Target,
                            until: jiff::civil::date(2026, 12, 14),
                            message_id: id("a1"),
                        },
                        at(1),
                    ),
                    deadline(10),
                    deadline(22),
                    deadline(40),
                ],
            ),
            (
                // A yes put in doubt: the connector reads the later words,
                // and Alice's yes introduces nobody meanwhile.
                "yes_then_unclear",
                new_intro(),
                &ask,
                yes_then_doubt("Yes, happy to."),
            ),
            (
                // The connector says Bob's doubted yes stands: the
                // introduction quotes his yes, never the doubtful reply.
                "yes_then_unclear_stands",
                new_intro(),
                &ask,
                [yes_then_doubt("Yes, happy to. Mornings work best for me."), vec![(connector_yes(false).0, at(4))]].concat(),
            ),
            ("held_then_accepted", new_intro(), &implied, vec![held_yes.clone(), connector_yes(true)]),
            (
                // A reply from another address that reads unclear: the
                // connector's yes makes it the party's answer, still unclear.
                "held_unclear_then_accepted",
                new_intro(),
                &implied,
                vec![
                    held(
                        Held::OtherSender,
                        "b.busy@home.example",
                        "Happy to help - but please use my personal address.",
                        Decision::Unclear,
                    ),
                    connector_yes(true),
                ],
            ),
            // Bob's own address, but not through his reply address.
            (
                "held_no_token",
                new_intro(),
                &implied,
                vec![held(Held::NoToken, "bob@example.org", "Sure, happy to talk to Alice.", Decision::Yes)],
            ),
            // Through Bob's reply address, but the sender couldn't be confirmed.
            (
                "held_unauthenticated",
                new_intro(),
                &implied,
                vec![held(Held::Unauthenticated, "bob@example.org", "No, not for me.", Decision::No)],
            ),
            (
                // A requester known only by address: nobody names them to
                // the target, in the ask, the reminder or the close.
                "nameless_requester_expired",
                NewIntro { requester: person("", "ps1987@startup.example"), ..new_intro() },
                &ask,
                vec![deadline(10), deadline(25)],
            ),
            ("cancelled", new_intro(), &ask, vec![(Event::CancelRequested { message_id: id("c1") }, at(1))]),
            (
                "bounced",
                new_intro(),
                &ask,
                vec![(
                    Event::Bounced {
                        role: Role::Target,
                        reason: "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown".into(),
                        message_id: id("b1"),
                    },
                    at(0),
                )],
            ),
        ];
        let mut out = Vec::new();
        for (scenario, new, policy, events) in scenarios {
            let mut step = open(new, policy, t0);
            let mut emails = collect(scenario, &step);
            for (event, now) in events {
                step = crate::core::step(&step.intro, &event, policy, now);
                emails.extend(collect(scenario, &step));
            }
            // A second email of a kind to the same reader: `…_2`.
            let mut seen = std::collections::HashMap::<String, usize>::new();
            for email in &mut emails {
                let n = seen.entry(email.name.clone()).or_default();
                *n += 1;
                if *n > 1 {
                    email.name = format!("{}_{n}", email.name);
                }
            }
            out.extend(emails);
        }
        out
    }

    fn collect(scenario: &str, step: &crate::core::Step) -> Vec<Sample> {
        step.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(out) => Some(out.clone()),
                Effect::Suppress { .. } => None,
            })
            .map(|out| {
                let to = match out.to {
                    Audience::Party(r) => format!("to_{r}"),
                    Audience::Connector => "to_connector".to_owned(),
                    Audience::BothParties => "to_both".to_owned(),
                };
                Sample { name: format!("{scenario}_{}_{to}", out.email.kind()), intro: step.intro.clone(), out }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
