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

pub mod templates;

use std::time::SystemTime;

use jiff::Timestamp;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::core::{Audience, EmailKind, Intro, Outcome, Outgoing, Party, Person, Role};
pub use templates::{Rendered, TemplateError, Templates};

/// What went wrong composing an email.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// An address could not be used in a header.
    #[error("cannot write to {address:?}: {reason}")]
    Address {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
    /// lettre refused the message.
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
}

/// An email ready for the outbox: the bytes and the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Composed {
    /// Its Message-ID, without angle brackets.
    pub message_id: String,
    /// Which template made it.
    pub kind: String,
    /// The party it went to, when it went to exactly one (for bounces).
    pub role: Option<Role>,
    /// Subject, for logs and the demo.
    pub subject: String,
    /// SMTP `MAIL FROM`.
    pub envelope_from: String,
    /// SMTP `RCPT TO`s (Bcc included).
    pub recipients: Vec<String>,
    /// The RFC 5322 message (stored beside the JSON, not in it).
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Makes emails from effects.
#[derive(Debug)]
pub struct Composer {
    templates: Templates,
    bot_address: String,
    bot_name: String,
    domain: String,
    requester_implied: bool,
    follow_up_after: String,
    expire_after: String,
    bcc_connector: bool,
}

impl Composer {
    /// Loads the templates named by the config and checks every kind renders.
    pub fn new(config: &Config) -> Result<Self, ComposeError> {
        let templates = Templates::load(config.templates_dir.as_deref())?;
        let composer = Self {
            templates,
            bot_address: config.address.clone(),
            bot_name: config.name.clone(),
            domain: config.address_parts().1.to_owned(),
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
        let carol = Person::new("Carol", "carol@example.com");
        self.compose_problem(&carol, "Intro: A <> B", Some("x@y"), "sample", Timestamp::UNIX_EPOCH)?;
        for (template, extra) in samples::connector_notes() {
            self.compose_to_connector(template, &carol, "status", Some("x@y"), extra, Timestamp::UNIX_EPOCH)?;
        }
        Ok(())
    }

    fn bot_mailbox(&self, display: String) -> Result<Mailbox, ComposeError> {
        mailbox(&display, &self.bot_address)
    }

    /// The bot's plus-address for a token.
    pub fn reply_address(&self, token: &str) -> String {
        let (local, domain) = self.bot_address.split_once('@').unwrap_or((&self.bot_address, ""));
        format!("{local}+{token}@{domain}")
    }

    /// The Message-ID of an email to one party of an intro.
    pub fn party_message_id(&self, intro: &Intro, role: Role, kind: &str) -> String {
        format!("{}.{}.{}@{}", intro.id, role.as_str(), kind, self.domain)
    }

    /// Composes one effect's email.
    pub fn compose(&self, intro: &Intro, out: &Outgoing, now: Timestamp) -> Result<Composed, ComposeError> {
        let kind = out.kind.template();
        let ctx = self.context(intro, out);
        let rendered = self.templates.render(kind, &ctx)?;
        let via = format!("{} via {}", intro.connector.display_name(), self.bot_name);

        let mut b = Message::builder().date(system_time(now)).subject(rendered.subject.clone());
        let (message_id, envelope_from, mut recipients, role);
        match out.to {
            Audience::Party(r) => {
                let party = intro.party(r);
                role = Some(r);
                message_id = self.party_message_id(intro, r, kind);
                envelope_from = self.reply_address(party.token.as_str());
                recipients = vec![party.person.email.clone()];
                b = b
                    .from(self.bot_mailbox(via)?)
                    .to(person_mailbox(&party.person)?)
                    .reply_to(mailbox(&self.bot_name, &envelope_from)?);
                if kind != "consent_request" {
                    let consent = self.party_message_id(intro, r, "consent_request");
                    let mut refs = vec![format!("<{consent}>")];
                    let parent = match &party.last_reply_id {
                        Some(reply) => {
                            refs.push(format!("<{reply}>"));
                            reply.clone()
                        }
                        None => consent,
                    };
                    b = b.in_reply_to(format!("<{parent}>")).references(refs.join(" "));
                }
            }
            Audience::BothParties => {
                role = None;
                message_id = format!("{}.introduction@{}", intro.id, self.domain);
                envelope_from = self.bot_address.clone();
                recipients = vec![intro.requester.person.email.clone(), intro.target.person.email.clone()];
                b = b
                    .from(self.bot_mailbox(via)?)
                    .to(person_mailbox(&intro.requester.person)?)
                    .to(person_mailbox(&intro.target.person)?)
                    .reply_to(person_mailbox(&intro.requester.person)?)
                    .reply_to(person_mailbox(&intro.target.person)?);
                if self.bcc_connector {
                    recipients.push(intro.connector.email.clone());
                }
            }
            Audience::Connector => {
                role = None;
                // Connector mail can repeat (several unclear replies), so the
                // timeline length keeps ids unique and still deterministic.
                message_id = format!("{}.connector.{}.{}@{}", intro.id, kind, intro.timeline.len(), self.domain);
                envelope_from = self.bot_address.clone();
                recipients = vec![intro.connector.email.clone()];
                b = b
                    .from(self.bot_mailbox(self.bot_name.clone())?)
                    .to(person_mailbox(&intro.connector)?)
                    .reply_to(mailbox(&self.bot_name, &self.reply_address(intro.connector_token.as_str()))?);
                if let Some(req) = &intro.request_message_id {
                    b = b.in_reply_to(format!("<{req}>")).references(format!("<{req}>"));
                }
            }
        }
        if kind != "introduction" {
            b = automatic_headers(b);
        }
        recipients.dedup();
        let bytes = b
            .message_id(Some(format!("<{message_id}>")))
            .multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html))?
            .formatted();
        Ok(Composed {
            message_id,
            kind: kind.to_owned(),
            role,
            subject: rendered.subject,
            envelope_from,
            recipients,
            bytes,
        })
    }

    /// Composes the note to a connector whose request could not be used.
    /// `inbound_id` is the request's Message-ID, to thread under it.
    pub fn compose_problem(
        &self,
        connector: &Person,
        subject: &str,
        inbound_id: Option<&str>,
        problem: &str,
        now: Timestamp,
    ) -> Result<Composed, ComposeError> {
        let extra = minijinja::context! { problem => problem };
        self.compose_to_connector("request_problem", connector, subject, inbound_id, extra, now)
    }

    /// Composes a note to a connector that belongs to no intro (a request
    /// problem, `status`, `help`, a command's confirmation): `template` with
    /// `bot`, `connector` and `subject` plus `extra` in its context, threaded
    /// under the connector's message `inbound_id`.
    pub fn compose_to_connector(
        &self,
        template: &str,
        connector: &Person,
        subject: &str,
        inbound_id: Option<&str>,
        extra: Value,
        now: Timestamp,
    ) -> Result<Composed, ComposeError> {
        let ctx = minijinja::context! {
            bot => minijinja::context! { name => &self.bot_name, address => &self.bot_address },
            connector => person_value(connector),
            subject => subject.trim(),
            ..extra
        };
        let rendered = self.templates.render(template, &ctx)?;
        let message_id = format!("{template}.{}@{}", random_suffix(inbound_id, now), self.domain);
        let mut b = Message::builder()
            .date(system_time(now))
            .subject(rendered.subject.clone())
            .from(self.bot_mailbox(self.bot_name.clone())?)
            .to(person_mailbox(connector)?);
        if let Some(id) = inbound_id {
            b = b.in_reply_to(format!("<{id}>")).references(format!("<{id}>"));
        }
        let bytes = automatic_headers(b)
            .message_id(Some(format!("<{message_id}>")))
            .multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html))?
            .formatted();
        Ok(Composed {
            message_id,
            kind: template.into(),
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
            Audience::Party(role) if out.kind != EmailKind::ConsentRequest => {
                let consent = Outgoing { to: out.to, kind: EmailKind::ConsentRequest };
                self.templates
                    .render("consent_request", &self.base_context(intro, &consent, Some(role)))
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
        let (outcome, decision, party, text, from, silent_names) = match &out.kind {
            EmailKind::Outcome(o) => {
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
            EmailKind::ThankYou { decision } => (
                Value::UNDEFINED,
                Some(decision.as_str()),
                Value::UNDEFINED,
                String::new(),
                String::new(),
                String::new(),
            ),
            EmailKind::UnclearReply { role, text } => {
                (Value::UNDEFINED, None, party_of(*role), text.clone(), String::new(), String::new())
            }
            EmailKind::HeldReply { role, from, text } => {
                (Value::UNDEFINED, None, party_of(*role), text.clone(), from.clone(), String::new())
            }
            _ => (Value::UNDEFINED, None, Value::UNDEFINED, String::new(), String::new(), String::new()),
        };
        minijinja::context! {
            id => intro.id.as_str(),
            bot => minijinja::context! { name => &self.bot_name, address => &self.bot_address },
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

/// Removes email addresses (bare or in angle brackets) from a text.
fn redact_addresses(text: &str) -> String {
    static ADDRESS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"[ \t]*(?:<\s*|\()?(?:mailto:)?[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}(?:\s*>|\))?")
            .expect("static regex")
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
    minijinja::context! { name => p.display_name(), first_name => p.first_name(), email => &p.email }
}

fn party_value(p: &Party) -> Value {
    minijinja::context! {
        name => p.person.display_name(),
        first_name => p.person.first_name(),
        email => &p.person.email,
        state => p.state.as_str(),
        reply_text => p.reply_text.as_deref().unwrap_or_default(),
    }
}

fn automatic_headers(b: lettre::message::MessageBuilder) -> lettre::message::MessageBuilder {
    b.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"), "All".into()))
}

fn mailbox(name: &str, email: &str) -> Result<Mailbox, ComposeError> {
    let address: Address = email.trim().parse().map_err(|e: lettre::address::AddressError| ComposeError::Address {
        address: email.into(),
        reason: e.to_string(),
    })?;
    let name = name.trim();
    Ok(Mailbox::new((!name.is_empty()).then(|| name.to_owned()), address))
}

fn person_mailbox(p: &Person) -> Result<Mailbox, ComposeError> {
    mailbox(&p.name, &p.email)
}

fn system_time(t: Timestamp) -> SystemTime {
    SystemTime::try_from(t).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A per-message suffix for problem notes: derived from the inbound id so a
/// reprocessed request yields the same id.
fn random_suffix(inbound_id: Option<&str>, now: Timestamp) -> String {
    let seed = inbound_id.map(str::to_owned).unwrap_or_else(|| now.as_millisecond().to_string());
    let id = crate::mail::inbound::fallback_message_id(seed.as_bytes());
    id.split('@').next().unwrap_or_default().to_owned()
}

/// Sample intros for the template self-check and the snapshot tests.
pub mod samples {
    use jiff::Timestamp;

    use crate::core::{
        Audience, Decision, EmailKind, Intro, IntroId, NewIntro, Outcome, Outgoing, Person, Policy, Role, Token, open,
    };

    /// A fresh intro between Alice and Bob, asked by Carol.
    pub fn intro() -> Intro {
        let new = NewIntro {
            id: IntroId::new("k7m2p9qx"),
            connector: Person::new("Carol Connor", "carol@example.com"),
            connector_token: Token::new("cccccccccccccccccccccccccc"),
            requester: Person::new("Alice Able", "alice@example.net"),
            requester_token: Token::new("aaaaaaaaaaaaaaaaaaaaaaaaaa"),
            target: Person::new("Bob Busy", "bob@example.org"),
            target_token: Token::new("bbbbbbbbbbbbbbbbbbbbbbbbbb"),
            summary: "I'm building an open-source mail server in Rust and would love 20 minutes of Bob's \
                      time on how he scaled IMAP IDLE at Example Corp."
                .into(),
            note: "Bob ran the mail team at Example Corp for years; Alice's project is the most careful one I've seen."
                .into(),
            request_message_id: Some("request-1@example.com".into()),
        };
        let mut intro = open(new, &Policy::default(), Timestamp::UNIX_EPOCH).intro;
        intro.target.reply_text = Some("No thanks, not for me.".into());
        intro
    }

    /// The notes to a connector outside any intro, with sample contexts.
    pub fn connector_notes() -> Vec<(&'static str, minijinja::Value)> {
        let open = vec![minijinja::context! {
            id => "k7m2p9qx", title => "Alice Able <> Bob Busy", waiting_for => "Bob", age => "3 days",
        }];
        vec![
            ("status", minijinja::context! { intros => open }),
            ("status", minijinja::context! { intros => Vec::<minijinja::Value>::new() }),
            ("help", minijinja::context! {}),
            ("command_reply", minijinja::context! { message => "Noted: I'll take Bob's reply as a yes." }),
        ]
    }

    /// Every kind of email, with the intro it is written for.
    pub fn all() -> Vec<(Intro, Outgoing)> {
        let i = intro();
        let party = |r: Role, kind: EmailKind| (i.clone(), Outgoing { to: Audience::Party(r), kind });
        let connector = |kind: EmailKind| (i.clone(), Outgoing { to: Audience::Connector, kind });
        vec![
            connector(EmailKind::Acknowledgement),
            party(Role::Target, EmailKind::ConsentRequest),
            party(Role::Requester, EmailKind::ConsentRequest),
            party(Role::Target, EmailKind::FollowUp),
            party(Role::Target, EmailKind::ThankYou { decision: Decision::No }),
            party(Role::Target, EmailKind::ThankYou { decision: Decision::Later }),
            party(Role::Target, EmailKind::ThankYou { decision: Decision::Stop }),
            party(Role::Requester, EmailKind::NothingNeeded),
            (i.clone(), Outgoing { to: Audience::BothParties, kind: EmailKind::Introduction }),
            connector(EmailKind::Outcome(Outcome::Introduced)),
            connector(EmailKind::Outcome(Outcome::Declined { role: Role::Target, decision: Decision::No })),
            connector(EmailKind::Outcome(Outcome::Declined { role: Role::Target, decision: Decision::Later })),
            connector(EmailKind::Outcome(Outcome::Declined { role: Role::Target, decision: Decision::Stop })),
            connector(EmailKind::Outcome(Outcome::Expired { silent: vec![Role::Target] })),
            connector(EmailKind::Outcome(Outcome::Cancelled)),
            connector(EmailKind::Outcome(Outcome::Bounced {
                role: Role::Target,
                reason: "550 5.1.1 User unknown".into(),
            })),
            connector(EmailKind::UnclearReply { role: Role::Target, text: "Who is Alice?".into() }),
            connector(EmailKind::HeldReply {
                role: Role::Target,
                from: "someone@else.example".into(),
                text: "yes".into(),
            }),
        ]
    }
}

#[cfg(test)]
mod tests;
