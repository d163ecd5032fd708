//! What an inbound message is. First match wins:
//! 1. seen before (same Message-ID) → nothing, filed as before (in
//!    [`Engine::handle_inbound`]);
//! 2. not mail at all → filed as failed (there too);
//! 3. automatic mail → a bounce through a party's token marks them bounced;
//!    a party's out-of-office with a return date puts their follow-up after
//!    it; anything else is ignored, never answered;
//! 4. through a party's token (or in reply to one of our Message-IDs):
//!    from that party → their decision; from anyone else → held for the
//!    connector;
//! 5. through the connector's token, from the connector → a command
//!    (`connector`);
//! 6. from an allow-listed connector → an intro request, or a note saying
//!    exactly what is missing;
//! 7. anything else → ignored, no reply (no backscatter).

use jiff::Timestamp;
use tracing::{debug, info, info_span};

use super::connector::{Command, parse_command};
use super::{Engine, EngineError, Handled};
use crate::compose::Note;
use crate::config::Preview;
use crate::core::{self, EmailKind, Event, Intro, NewIntro, Role};
use crate::mail::{self, Automatic, Inbound, RequestProblem};
use crate::store::{Disposition, TokenOwner};
use crate::tokens;

impl Engine {
    pub(super) fn route(
        &self,
        msg: &mail_parser::Message<'_>,
        inbound: &Inbound,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let id = &inbound.message_id;
        let from = inbound.from.as_ref();
        let target = self.intro_of(inbound)?;

        if let Some(auto) = &inbound.automatic {
            return match (auto, &target) {
                (Automatic::Bounce { reason }, Some((intro, TokenOwner::Party(role)))) => {
                    let ev = Event::Bounced { role: *role, reason: reason.clone(), message_id: id.clone() };
                    self.apply(intro, &ev, id, "bounce", now)
                }
                (Automatic::Bounce { .. }, _) => {
                    self.record(id, Disposition::Ignored, None, "bounce not about a party", now)
                }
                (Automatic::AutoReply, Some((intro, TokenOwner::Party(role))))
                    if from.is_some_and(|f| intro.party(*role).person.has_address(&f.email)) =>
                {
                    // Never an answer; but a return date moves the follow-up
                    // after it, and the connector hears "away until …".
                    let policy = &self.config.policy;
                    let words = format!(
                        "{}
{}",
                        inbound.subject, inbound.text
                    );
                    match mail::out_of_office::return_date(&words, now, &policy.timezone, &policy.holidays) {
                        Some(until) => {
                            let ev = Event::AwayUntil { role: *role, until, message_id: id.clone() };
                            self.apply(intro, &ev, id, "auto-reply", now)
                        }
                        None => self.record(id, Disposition::Ignored, Some(intro.id.clone()), "auto-reply", now),
                    }
                }
                (Automatic::AutoReply, t) => {
                    self.record(id, Disposition::Ignored, t.as_ref().map(|(i, _)| i.id.clone()), "auto-reply", now)
                }
                (Automatic::Delayed { reason }, t) => {
                    // The server still tries: nothing to do but wait. The
                    // reason may name an address: debug only.
                    debug!(reason = %reason, "delivery delayed");
                    self.record(
                        id,
                        Disposition::Ignored,
                        t.as_ref().map(|(i, _)| i.id.clone()),
                        "delivery delayed",
                        now,
                    )
                }
                (Automatic::Report, t) => self.record(
                    id,
                    Disposition::Ignored,
                    t.as_ref().map(|(i, _)| i.id.clone()),
                    "delivery or read report",
                    now,
                ),
                (Automatic::List, _) => self.record(id, Disposition::Ignored, None, "list or bulk mail", now),
            };
        }

        if let Some((intro, owner)) = target {
            let span = info_span!("intro", intro = %intro.id);
            let _enter = span.enter();
            return match owner {
                TokenOwner::Party(role) => self.party_wrote(&intro, role, inbound, now),
                TokenOwner::Connector => {
                    if !from.is_some_and(|f| intro.connector.has_address(&f.email)) {
                        return self.record(
                            id,
                            Disposition::Ignored,
                            Some(intro.id.clone()),
                            "connector token from someone else",
                            now,
                        );
                    }
                    self.connector_on_intro(&intro, inbound, now)
                }
            };
        }

        // Our own mail coming back (a probe from `check`, a loop through a
        // forwarding rule) is never a request, even when the bot's domain is
        // an allowed connector domain.
        if from.is_some_and(|f| self.config.address.same_mailbox(&f.email)) {
            return self.record(id, Disposition::Ignored, None, "mail from the bot itself", now);
        }
        let Some(sender) = from.filter(|f| self.config.is_connector(&f.email)) else {
            return self.record(id, Disposition::Ignored, None, "sender is not an allowed connector", now);
        };
        match parse_command(&inbound.subject).or_else(|| parse_command(&inbound.text)) {
            Some(Command::Status) => return self.reply_status(sender, inbound, now),
            Some(Command::Help) => {
                return self.reply_to_connector(EmailKind::Help, sender, inbound, minijinja::context! {}, now);
            }
            _ => {}
        }
        match mail::parse_request_with_contacts(msg, sender, Some(&self.config.address), &self.config.contacts) {
            Ok(request) => {
                for person in [&request.requester, &request.target] {
                    if self.store.is_suppressed(&person.email)? {
                        let problem = RequestProblem::Suppressed { name: person.display_name().to_owned() };
                        return self.reply_problem(sender, inbound, &problem, now);
                    }
                }
                self.open_intro(request, inbound, now)
            }
            Err(RequestProblem::NotARequest) if inbound.subject.to_ascii_lowercase().starts_with("re:") => {
                // A connector replying in some old thread is not a failed request.
                self.record(id, Disposition::Ignored, None, "connector reply without a command", now)
            }
            Err(problem) => self.reply_problem(sender, inbound, &problem, now),
        }
    }

    /// The intro a message belongs to, and through whose address: by a
    /// token among its recipients, or (for a reply that lost its
    /// plus-address) by the thread, trusted only for the people of that
    /// intro, matched by their From.
    fn intro_of(&self, inbound: &Inbound) -> Result<Option<(Intro, TokenOwner)>, EngineError> {
        for token in &inbound.tokens {
            if let Some(found) = self.store.by_token(token)? {
                return Ok(Some(found));
            }
        }
        if inbound.automatic.is_some() {
            return Ok(None);
        }
        let Some(from) = &inbound.from else { return Ok(None) };
        for reference in &inbound.references {
            if let Some(intro) = self.store.by_sent_message_id(reference)? {
                let owner = Role::BOTH
                    .into_iter()
                    .find(|r| intro.party(*r).person.has_address(&from.email))
                    .map(TokenOwner::Party)
                    .or_else(|| intro.connector.has_address(&from.email).then_some(TokenOwner::Connector));
                if let Some(owner) = owner {
                    return Ok(Some((intro, owner)));
                }
            }
        }
        Ok(None)
    }

    /// Mail through a party's token: their answer when it is from them,
    /// held for the connector when it is not.
    fn party_wrote(
        &self,
        intro: &Intro,
        role: Role,
        inbound: &Inbound,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let id = &inbound.message_id;
        let party = &intro.party(role).person;
        let own = inbound.from.as_ref().is_some_and(|f| party.has_address(&f.email));
        if own && intro.state.is_terminal() && intro.state != core::IntroState::Introduced {
            // Too late to act on, but the connector may want to start
            // again: tell them, and only them.
            let note = Note::LateAnswer {
                title: intro.title(),
                party: party.display_name().to_owned(),
                ended: intro.state.as_str().replace('_', " "),
                text: inbound.text.clone(),
            };
            return self.reply_note(&intro.connector, inbound, &note, now);
        }
        let event = if own {
            Event::ReplyReceived {
                role,
                decision: mail::decide(&inbound.text),
                text: inbound.text.clone(),
                message_id: id.clone(),
            }
        } else {
            Event::StrangerReplied {
                role,
                from: inbound.from.as_ref().map(|f| f.email.clone()),
                text: inbound.text.clone(),
                decision: mail::decide(&inbound.text),
                message_id: id.clone(),
            }
        };
        self.apply(intro, &event, id, "reply", now)
    }

    fn open_intro(&self, request: mail::Request, inbound: &Inbound, now: Timestamp) -> Result<Handled, EngineError> {
        let mut id = tokens::new_intro_id()?;
        while self.store.has_intro(&id)? {
            id = tokens::new_intro_id()?;
        }
        let new = NewIntro {
            id,
            connector: request.connector,
            connector_token: tokens::new_token()?,
            requester: request.requester,
            requester_token: tokens::new_token()?,
            target: request.target,
            target_token: tokens::new_token()?,
            preview: match self.config.preview {
                Preview::Off => false,
                Preview::Unsure => !request.guesses.is_empty(),
                Preview::Always => true,
            },
            guesses: request.guesses,
            summary: request.summary,
            note: request.note,
            for_requester: request.for_requester,
            for_target: request.for_target,
            request_message_id: Some(inbound.message_id.clone()),
        };
        let step = core::open(new, &self.config.policy, now);
        let span = info_span!("intro", intro = %step.intro.id);
        let _enter = span.enter();
        info!("intro opened");
        self.commit_step(step, Some((&inbound.message_id, "request accepted")), now)
    }
}
