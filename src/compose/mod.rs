//! Turning the core's effects into real emails: the template context,
//! RFC 5322 headers, and the SMTP envelope.
//!
//! Header policy:
//! - every email has a `Message-ID` under the bot's domain, fixed when it is
//!   queued; party mail uses a deterministic id per intro, party and kind
//!   (the cap makes it unique), so follow-ups can thread under the consent
//!   note without remembering anything;
//! - `In-Reply-To`/`References` keep each party's thread, and the
//!   connector's under their original request;
//! - `Reply-To` is the bot's plus-address with the recipient's token, except
//!   on the introduction, where it is the two parties: replies go to them;
//! - `Auto-Submitted: auto-generated` and `X-Auto-Response-Suppress: All` on
//!   everything but the introduction, which is a real conversation starter;
//! - the envelope sender of party mail carries the party's token, so a
//!   bounce comes back to an address that says whose mail bounced.

mod templates;

use std::time::SystemTime;

use jiff::Timestamp;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::core::{
    Address, AddressError, Audience, Email, EmailKind, Intro, MessageId, Outcome, Outgoing, Party, Person, Role,
    address,
};
pub use templates::TemplateError;
use templates::Templates;

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
    /// lettre refused the message.
    #[error("cannot build the message")]
    Build(#[from] lettre::error::Error),
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
    /// Subject, for logs and the demo.
    pub subject: String,
    /// SMTP `MAIL FROM`.
    pub envelope_from: Address,
    /// SMTP `RCPT TO`s (Bcc included).
    pub recipients: Vec<Address>,
    /// The RFC 5322 message (stored beside the JSON, not in it).
    #[serde(skip)]
    pub bytes: Vec<u8>,
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
    bcc_connector: bool,
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
            bcc_connector: config.bcc_connector_on_introduction,
        };
        composer.self_check()?;
        Ok(composer)
    }

    /// Renders every kind against a sample intro, so a broken override fails
    /// at start-up and not in the middle of someone's intro.
    fn self_check(&self) -> Result<(), ComposeError> {
        for (intro, out) in samples::all() {
            self.compose(&intro, &out, Timestamp::UNIX_EPOCH)?;
        }
        let carol = samples::intro().connector;
        let sample_id = MessageId::new("x@y");
        self.compose_problem(&carol, "Intro: A <> B", Some(&sample_id), "sample", Timestamp::UNIX_EPOCH)?;
        for (kind, extra) in samples::connector_notes() {
            self.compose_to_connector(kind, &carol, "status", Some(&sample_id), extra, Timestamp::UNIX_EPOCH)?;
        }
        Ok(())
    }

    fn bot_mailbox(&self, display: String) -> Mailbox {
        mailbox(&display, &self.bot_address)
    }

    /// The bot's plus-address for a token.
    pub(crate) fn reply_address(&self, token: &str) -> Result<Address, ComposeError> {
        self.bot_address.with_tag(token).map_err(ComposeError::ReplyAddress)
    }

    /// The Message-ID of an email to one party of an intro.
    pub(crate) fn party_message_id(&self, intro: &Intro, role: Role, kind: EmailKind) -> MessageId {
        MessageId::new(format!("{}.{}.{}@{}", intro.id, role.as_str(), kind, self.bot_address.domain()))
    }

    /// Composes one effect's email.
    pub(crate) fn compose(&self, intro: &Intro, out: &Outgoing, now: Timestamp) -> Result<Composed, ComposeError> {
        let kind = out.email.kind();
        let ctx = self.context(intro, out);
        let rendered = self.templates.render(kind, &ctx)?;
        let via = format!("{} via {}", intro.connector.display_name(), self.bot_name);
        let domain = self.bot_address.domain();

        let mut b = Message::builder().date(system_time(now)).subject(rendered.subject.clone());
        let (message_id, envelope_from, mut recipients, role);
        match out.to {
            Audience::Party(r) => {
                let party = intro.party(r);
                role = Some(r);
                message_id = self.party_message_id(intro, r, kind);
                envelope_from = self.reply_address(party.token.as_str())?;
                recipients = vec![party.person.email.clone()];
                b = b
                    .from(self.bot_mailbox(via))
                    .to(person_mailbox(&party.person))
                    .reply_to(mailbox(&self.bot_name, &envelope_from));
                if kind != EmailKind::ConsentRequest {
                    let consent = self.party_message_id(intro, r, EmailKind::ConsentRequest);
                    let mut refs = vec![consent.bracketed()];
                    let parent = match &party.last_reply_id {
                        Some(reply) => {
                            refs.push(reply.bracketed());
                            reply.clone()
                        }
                        None => consent,
                    };
                    b = b.in_reply_to(parent.bracketed()).references(refs.join(" "));
                }
            }
            Audience::BothParties => {
                role = None;
                message_id = MessageId::new(format!("{}.introduction@{domain}", intro.id));
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
                // Connector mail can repeat (several unclear replies), so the
                // timeline length keeps ids unique and still deterministic.
                message_id = MessageId::new(format!("{}.connector.{kind}.{}@{domain}", intro.id, intro.timeline.len()));
                envelope_from = self.bot_address.clone();
                recipients = vec![intro.connector.email.clone()];
                b = b
                    .from(self.bot_mailbox(self.bot_name.clone()))
                    .to(person_mailbox(&intro.connector))
                    .reply_to(mailbox(&self.bot_name, &self.reply_address(intro.connector_token.as_str())?));
                if let Some(req) = &intro.request_message_id {
                    b = b.in_reply_to(req.bracketed()).references(req.bracketed());
                }
            }
        }
        if kind != EmailKind::Introduction {
            b = automatic_headers(b);
        }
        recipients.dedup();
        let bytes = b
            .message_id(Some(message_id.bracketed()))
            .multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html))?
            .formatted();
        Ok(Composed { message_id, kind, role, subject: rendered.subject, envelope_from, recipients, bytes })
    }

    /// Composes the note to a connector whose request could not be used.
    /// `inbound_id` is the request's Message-ID, to thread under it.
    pub(crate) fn compose_problem(
        &self,
        connector: &Person,
        subject: &str,
        inbound_id: Option<&MessageId>,
        problem: &str,
        now: Timestamp,
    ) -> Result<Composed, ComposeError> {
        let extra = minijinja::context! { problem => problem };
        self.compose_to_connector(EmailKind::RequestProblem, connector, subject, inbound_id, extra, now)
    }

    /// Composes a note to a connector that belongs to no intro (a request
    /// problem, `status`, `help`, a command's confirmation): `kind`'s
    /// template with `bot`, `connector` and `subject` plus `extra` in its
    /// context, threaded under the connector's message `inbound_id`.
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
            bot => minijinja::context! { name => &self.bot_name, address => self.bot_address.as_str() },
            connector => person_value(connector),
            subject => subject.trim(),
            ..extra
        };
        let rendered = self.templates.render(kind, &ctx)?;
        let message_id =
            MessageId::new(format!("{kind}.{}@{}", random_suffix(inbound_id, now), self.bot_address.domain()));
        let mut b = Message::builder()
            .date(system_time(now))
            .subject(rendered.subject.clone())
            .from(self.bot_mailbox(self.bot_name.clone()))
            .to(person_mailbox(connector));
        if let Some(id) = inbound_id {
            b = b.in_reply_to(id.bracketed()).references(id.bracketed());
        }
        let bytes = automatic_headers(b)
            .message_id(Some(message_id.bracketed()))
            .multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html))?
            .formatted();
        Ok(Composed {
            message_id,
            kind,
            role: None,
            subject: rendered.subject,
            envelope_from: self.bot_address.clone(),
            recipients: vec![connector.email.clone()],
            bytes,
        })
    }

    fn context(&self, intro: &Intro, out: &Outgoing) -> Value {
        let thread_subject = match out.to {
            // Later notes to a party reply under the consent note's subject.
            Audience::Party(role) if out.email != Email::ConsentRequest => {
                let consent = Outgoing { to: out.to, email: Email::ConsentRequest };
                self.templates
                    .render(EmailKind::ConsentRequest, &self.base_context(intro, &consent, Some(role)))
                    .map(|r| r.subject)
                    .unwrap_or_default()
            }
            _ => String::new(),
        };
        let role = match out.to {
            Audience::Party(r) => Some(r),
            _ => None,
        };
        let base = self.base_context(intro, out, role);
        minijinja::context! { thread_subject => thread_subject, ..base }
    }

    fn base_context(&self, intro: &Intro, out: &Outgoing, role: Option<Role>) -> Value {
        let party_of = |r: Role| party_value(intro.party(r));
        // Before both said yes, no party may see an address: the connector's
        // note or the summary could carry one (a signature, "reach her at …").
        let (summary, note) = match out.to {
            Audience::Party(_) => (redact_addresses(&intro.summary), redact_addresses(&intro.note)),
            _ => (intro.summary.clone(), intro.note.clone()),
        };
        let (me, other) = match role {
            Some(r) => (party_of(r), party_of(r.other())),
            None => (Value::UNDEFINED, Value::UNDEFINED),
        };
        let (outcome, decision, party, text, from, silent_names) = match &out.email {
            Email::Outcome(o) => {
                let silent = match o {
                    Outcome::Expired { silent } => {
                        silent.iter().map(|r| intro.party(*r).person.display_name().to_owned()).collect::<Vec<_>>()
                    }
                    _ => Vec::new(),
                };
                (
                    Value::from(minijinja::value::Serde(o)),
                    None,
                    Value::UNDEFINED,
                    String::new(),
                    String::new(),
                    join_names(&silent),
                )
            }
            Email::ThankYou { decision } => (
                Value::UNDEFINED,
                Some(decision.as_str()),
                Value::UNDEFINED,
                String::new(),
                String::new(),
                String::new(),
            ),
            Email::UnclearReply { role, text } => {
                (Value::UNDEFINED, None, party_of(*role), text.clone(), String::new(), String::new())
            }
            Email::HeldReply { role, from, text } => {
                let from = from.as_ref().map_or("(no sender)", Address::as_str).to_owned();
                (Value::UNDEFINED, None, party_of(*role), text.clone(), from, String::new())
            }
            _ => (Value::UNDEFINED, None, Value::UNDEFINED, String::new(), String::new(), String::new()),
        };
        minijinja::context! {
            id => intro.id.as_str(),
            bot => minijinja::context! { name => &self.bot_name, address => self.bot_address.as_str() },
            connector => person_value(&intro.connector),
            requester => party_of(Role::Requester),
            target => party_of(Role::Target),
            role => role.map(Role::as_str),
            me => me,
            other => other,
            summary => summary,
            note => note,
            requester_implied => self.requester_implied,
            follow_up_after => &self.follow_up_after,
            expire_after => &self.expire_after,
            outcome => outcome,
            decision => decision,
            party => party,
            text => text,
            from => from,
            silent_names => silent_names,
        }
    }
}

/// Removes email addresses (bare or in angle brackets) from a text: every
/// span that reads as one ([`address::IN_PROSE`]), valid or not.
fn redact_addresses(text: &str) -> String {
    static ADDRESS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        let pattern = format!(r"[ \t]*(?:<\s*|\()?(?:mailto:)?{}(?:\s*>|\))?", address::IN_PROSE);
        regex::Regex::new(&pattern).expect("static regex")
    });
    ADDRESS.replace_all(text, "").into_owned()
}

fn join_names(names: &[String]) -> String {
    match names {
        [] => "Nobody".into(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn person_value(p: &Person) -> Value {
    minijinja::context! { name => p.display_name(), first_name => p.first_name(), email => p.email.as_str() }
}

fn party_value(p: &Party) -> Value {
    minijinja::context! {
        name => p.person.display_name(),
        first_name => p.person.first_name(),
        email => p.person.email.as_str(),
        state => p.state.as_str(),
        reply_text => p.reply_text.as_deref().unwrap_or_default(),
    }
}

fn automatic_headers(b: lettre::message::MessageBuilder) -> lettre::message::MessageBuilder {
    b.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"), "All".into()))
}

fn mailbox(name: &str, address: &Address) -> Mailbox {
    let name = name.trim();
    Mailbox::new((!name.is_empty()).then(|| name.to_owned()), address.lettre().clone())
}

fn person_mailbox(p: &Person) -> Mailbox {
    mailbox(&p.name, &p.email)
}

fn system_time(t: Timestamp) -> SystemTime {
    SystemTime::try_from(t).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A per-message suffix for problem notes: derived from the inbound id so a
/// reprocessed request yields the same id.
fn random_suffix(inbound_id: Option<&MessageId>, now: Timestamp) -> String {
    let seed = inbound_id.map(|id| id.as_str().to_owned()).unwrap_or_else(|| now.as_millisecond().to_string());
    let id = crate::mail::inbound::fallback_message_id(seed.as_bytes());
    id.as_str().split('@').next().unwrap_or_default().to_owned()
}

/// Sample intros for the template self-check and the snapshot tests.
pub(crate) mod samples {
    use jiff::Timestamp;

    use crate::core::{
        Address, Audience, Decision, Email, EmailKind, Intro, IntroId, MessageId, NewIntro, Outcome, Outgoing, Person,
        Policy, Role, Token, open,
    };

    fn person(name: &str, email: &str) -> Person {
        // The samples' addresses are fixed and valid; a typo here fails every test at once.
        Person::parse(name, email).unwrap_or_else(|e| panic!("sample address: {e}"))
    }

    /// A fresh intro between Alice and Bob, asked by Carol.
    pub(crate) fn intro() -> Intro {
        let new = NewIntro {
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
            note: "Bob ran the mail team at Example Corp for years; Alice's project is the most careful one I've seen."
                .into(),
            request_message_id: Some(MessageId::new("request-1@example.com")),
        };
        let mut intro = open(new, &Policy::default(), Timestamp::UNIX_EPOCH).intro;
        intro.target.reply_text = Some("No thanks, not for me.".into());
        intro
    }

    /// The notes to a connector outside any intro, with sample contexts.
    pub(crate) fn connector_notes() -> Vec<(EmailKind, minijinja::Value)> {
        let open = vec![minijinja::context! {
            id => "k7m2p9qx", title => "Alice Able <> Bob Busy", waiting_for => "Bob", age => "3 days",
        }];
        vec![
            (EmailKind::Status, minijinja::context! { intros => open }),
            (EmailKind::Status, minijinja::context! { intros => Vec::<minijinja::Value>::new() }),
            (EmailKind::Help, minijinja::context! {}),
            (EmailKind::CommandReply, minijinja::context! { message => "Noted: I'll take Bob's reply as a yes." }),
        ]
    }

    /// Every kind of email, with the intro it is written for.
    pub(crate) fn all() -> Vec<(Intro, Outgoing)> {
        let i = intro();
        let party = |r: Role, email: Email| (i.clone(), Outgoing { to: Audience::Party(r), email });
        let connector = |email: Email| (i.clone(), Outgoing { to: Audience::Connector, email });
        vec![
            connector(Email::Acknowledgement),
            party(Role::Target, Email::ConsentRequest),
            party(Role::Requester, Email::ConsentRequest),
            party(Role::Target, Email::FollowUp),
            party(Role::Target, Email::ThankYou { decision: Decision::No }),
            party(Role::Target, Email::ThankYou { decision: Decision::Later }),
            party(Role::Target, Email::ThankYou { decision: Decision::Stop }),
            party(Role::Requester, Email::NothingNeeded),
            (i.clone(), Outgoing { to: Audience::BothParties, email: Email::Introduction }),
            connector(Email::Outcome(Outcome::Introduced)),
            connector(Email::Outcome(Outcome::Declined { role: Role::Target, decision: Decision::No })),
            connector(Email::Outcome(Outcome::Declined { role: Role::Target, decision: Decision::Later })),
            connector(Email::Outcome(Outcome::Declined { role: Role::Target, decision: Decision::Stop })),
            connector(Email::Outcome(Outcome::Expired { silent: vec![Role::Target] })),
            connector(Email::Outcome(Outcome::Cancelled)),
            connector(Email::Outcome(Outcome::Bounced { role: Role::Target, reason: "550 5.1.1 User unknown".into() })),
            connector(Email::UnclearReply { role: Role::Target, text: "Who is Alice?".into() }),
            connector(Email::HeldReply {
                role: Role::Target,
                from: Address::parse("someone@else.example").ok(),
                text: "yes".into(),
            }),
        ]
    }
}

#[cfg(test)]
mod tests;
