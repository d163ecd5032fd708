//! What an inbound message is, and whose word it may count as. First match
//! wins:
//! 1. seen before (same Message-ID) → nothing, filed as before (in
//!    [`Engine::handle_inbound`]);
//! 2. not mail at all → filed as failed (there too);
//! 3. automatic mail (as `mail::automatic` classifies it) → a failed
//!    delivery through a party's token marks them bounced; a failed
//!    delivery of an introduction (found by the returned message's
//!    Message-ID) is recorded against it and told; anything else
//!    (auto-replies, lists, delay and delivery reports) is filed, never a
//!    decision, never answered;
//! 4. no single author (two `From` fields, two addresses in one, a `Sender`
//!    who is someone else) → ignored, no reply: nobody to act for;
//! 5. through a party's token: from that party and passing the configured
//!    sender authentication → their answer; otherwise held for the
//!    connector (at most `held_replies_per_intro` notes), never acted on;
//!    an unclear reply repeated after that many unclear notes is only
//!    filed;
//! 6. through the connector's token, from the connector, authenticated →
//!    a command (`connector`); otherwise ignored;
//! 7. no token, but in the thread of one of our emails to a party and from
//!    that party (the email went to them, not to the other party) → held
//!    for the connector, never acted on: a thread's Message-IDs are not
//!    secrets, tokens are;
//! 8. from the bot itself → ignored;
//! 9. from an allow-listed connector, authenticated → `status`, `help`, or
//!    an intro request: refused when a party is suppressed or the bot
//!    itself, or a limit says no (explained to the connector once);
//!    otherwise opened;
//! 10. anything else (strangers, a connector failing authentication) →
//!     ignored, no reply (no backscatter).
//!
//! A reply to one of the bot's own notes outside an intro (through the
//! note's token, or in its thread), and a connector's mail that is no
//! request at all (what an auto-responder writes to the envelope sender,
//! with a fresh subject and no thread), is answered at most once an hour
//! per address (`connector::answered`): two bots cannot keep each other
//! busy.

use jiff::Timestamp;
use tracing::{debug, info, info_span, warn};

use super::connector::{Command, command_of_mail};
use super::{Engine, EngineError, Handled};
use crate::compose::Note;
use crate::config::Preview;
use crate::core::{
    self, Address, Decision, Effect, Email, EmailKind, Event, Held, Intro, MessageId, NewIntro, Outgoing, PartyState,
    Person, Role,
};
use crate::mail::auth::{self, Verdict};
use crate::mail::{self, Automatic, Inbound, RequestProblem, clean};
use crate::store::{Disposition, LedgerEntry, TokenOwner};
use crate::tokens;

/// How a message found its intro.
enum Via {
    /// A reply token among its recipients.
    Token(TokenOwner),
    /// Only its `In-Reply-To`/`References`, from this party.
    Thread(Role),
}

impl Engine {
    pub(super) fn route(
        &self,
        msg: &mail_parser::Message<'_>,
        inbound: &Inbound,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let id = &inbound.message_id;
        let from = inbound.from.as_ref();
        let found = self.intro_of(inbound)?;

        if let Some(auto) = &inbound.automatic {
            // Only a failed delivery through a party's token changes their
            // state: they bounced. A party's own out-of-office with a return
            // date (through their token) moves their follow-up after it.
            // Everything else a machine wrote (auto-replies, lists, delay and
            // delivery reports, read receipts) is never a decision and never
            // answered; a delay is waited out.
            match (auto, &found) {
                (Automatic::Bounce { reason }, Some((intro, Via::Token(TokenOwner::Party(role))))) => {
                    let ev = Event::Bounced { role: *role, reason: reason.clone(), message_id: id.clone() };
                    return self.apply(intro, &ev, id, "bounce", now);
                }
                (Automatic::Bounce { reason }, None) => {
                    if let Some(handled) = self.introduction_bounced(msg, inbound, reason, now)? {
                        return Ok(handled);
                    }
                }
                (Automatic::AutoReply, Some((intro, Via::Token(TokenOwner::Party(role)))))
                    if from.is_some_and(|f| intro.party(*role).person.has_address(&f.email)) =>
                {
                    let policy = &self.config.policy;
                    let words = format!("{}\n{}", inbound.subject, inbound.text);
                    if let Some(until) =
                        mail::out_of_office::return_date(&words, now, &policy.timezone, &policy.holidays)
                    {
                        let ev = Event::AwayUntil { role: *role, until, message_id: id.clone() };
                        return self.apply(intro, &ev, id, "auto-reply", now);
                    }
                }
                _ => {}
            }
            let intro = found.as_ref().map(|(i, _)| i.id.clone());
            // The report's reason may name an address: debug only.
            debug!(automatic = ?auto, "automatic mail");
            let note = match auto {
                Automatic::Bounce { .. } => "a bounce not about a party",
                Automatic::Delayed { .. } => "delivery delayed: waited out",
                Automatic::Report => "a delivery or read report",
                Automatic::AutoReply => "an auto-reply",
                Automatic::List => "list or bulk mail",
            };
            return self.record(id, Disposition::Ignored, intro, &format!("automatic mail, not answered: {note}"), now);
        }

        // Nobody to act for: refused, whatever it says and wherever it goes.
        if let Err(problem) = auth::author(msg) {
            warn!(%problem, "refused: no single author");
            let intro = found.as_ref().map(|(i, _)| i.id.clone());
            return self.record(id, Disposition::Ignored, intro, &format!("refused: {problem}"), now);
        }
        // Whether the trusted server vouches for the From (when configured).
        let verdict = match from {
            Some(f) => auth::verify(msg, f.email.as_str(), &self.config.security),
            None => Verdict::Fail("no sender address".into()),
        };

        if let Some((intro, via)) = found {
            let span = info_span!("intro", intro = %intro.id);
            let _enter = span.enter();
            match via {
                Via::Token(TokenOwner::Party(role)) => {
                    let own = from.is_some_and(|f| intro.party(role).person.has_address(&f.email));
                    let why = match (own, verdict.allows()) {
                        (true, true) => None,
                        (true, false) => Some(Held::Unauthenticated),
                        (false, _) => Some(Held::OtherSender),
                    };
                    return self.party_wrote(&intro, role, why, &verdict, inbound, now);
                }
                Via::Token(TokenOwner::Connector) => {
                    if !from.is_some_and(|f| intro.connector.has_address(&f.email)) {
                        let note = "connector token from someone else";
                        return self.record(id, Disposition::Ignored, Some(intro.id.clone()), note, now);
                    }
                    if let Verdict::Fail(reason) = &verdict {
                        warn!(%reason, "connector command failed sender authentication");
                        let note = format!("connector command failed sender authentication: {reason}");
                        return self.record(id, Disposition::Ignored, Some(intro.id.clone()), &note, now);
                    }
                    return self.connector_on_intro(&intro, inbound, now);
                }
                Via::Thread(role) => {
                    return self.party_wrote(&intro, role, Some(Held::NoToken), &verdict, inbound, now);
                }
            }
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
        if let Verdict::Fail(reason) = &verdict {
            // Whoever forged it must not learn anything, and the real
            // connector must not be flooded: no reply at all.
            warn!(%reason, "a connector's mail failed sender authentication; nothing started");
            let note = format!("connector's mail failed sender authentication: {reason}");
            return self.record(id, Disposition::Ignored, None, &note, now);
        }
        match command_of_mail(&inbound.subject, &inbound.text) {
            Some(Command::Status) => return self.reply_status(sender, inbound, now),
            Some(Command::Help) => {
                return self.reply_to_connector(EmailKind::Help, sender, inbound, minijinja::context! {}, now);
            }
            _ => {}
        }
        match mail::parse_request_with_contacts(msg, sender, Some(&self.config.address), &self.config.contacts) {
            Ok(request) => {
                for person in [&request.requester, &request.target] {
                    if let Some(problem) = self.refuse_party(person)? {
                        return self.reply_problem(sender, inbound, &problem, now);
                    }
                }
                if let Some(refusal) = self.refusal(&request, now)? {
                    return self.refuse(sender, inbound, refusal, now);
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

    /// A failure report about an introduction, which goes out from the
    /// bot's plain address (one email to both parties, so no party's
    /// token): found by the returned message's Message-ID, or the report's
    /// own `In-Reply-To`/`References`, and only when that is an
    /// introduction; whose copy bounced, by the report's failed recipients.
    /// `None` when it is not about an introduction.
    fn introduction_bounced(
        &self,
        msg: &mail_parser::Message<'_>,
        inbound: &Inbound,
        reason: &str,
        now: Timestamp,
    ) -> Result<Option<Handled>, EngineError> {
        let id = &inbound.message_id;
        let returned = mail::automatic::returned(msg);
        for sent in returned.message_id.iter().chain(&inbound.references) {
            let Some(intro) = self.store.by_sent_message_id(sent)? else { continue };
            let emails = self.store.emails_of(&intro.id)?;
            if !emails.iter().any(|e| e.kind == EmailKind::Introduction && e.message_id == *sent) {
                continue;
            }
            let span = info_span!("intro", intro = %intro.id);
            let _enter = span.enter();
            let roles: Vec<Role> = Role::BOTH
                .into_iter()
                .filter(|r| returned.failed.iter().any(|a| intro.party(*r).person.has_address(a)))
                .collect();
            if roles.is_empty() {
                // The connector's blind copy, or a report naming nobody we
                // introduced: nothing to tell anyone.
                let note = "automatic mail, not answered: a bounce of the introduction naming neither party";
                return self.record(id, Disposition::Ignored, Some(intro.id.clone()), note, now).map(Some);
            }
            info!(roles = ?roles, "the introduction bounced");
            let ev = Event::IntroductionBounced { roles, reason: reason.to_owned(), message_id: id.clone() };
            return self.apply(&intro, &ev, id, "bounce of the introduction", now).map(Some);
        }
        Ok(None)
    }

    /// Why a person cannot be a party, if they cannot.
    pub(super) fn refuse_party(&self, person: &Person) -> Result<Option<RequestProblem>, EngineError> {
        if self.config.address.same_mailbox(&person.email) {
            return Ok(Some(RequestProblem::BotIsParty { email: person.email.clone() }));
        }
        if self.store.is_suppressed(&person.email)? {
            return Ok(Some(RequestProblem::Suppressed { name: person.display_name().to_owned() }));
        }
        Ok(None)
    }

    /// The intro a message belongs to, and how it found it: a token among
    /// its recipients (checked in constant time against the intro's own), or
    /// for a reply that lost its plus-address, the thread, from one of that
    /// intro's parties. Automatic mail is matched by token only.
    fn intro_of(&self, inbound: &Inbound) -> Result<Option<(Intro, Via)>, EngineError> {
        for token in &inbound.tokens {
            if let Some((intro, owner)) = self.store.by_token(token)? {
                return Ok(Some((intro, Via::Token(owner))));
            }
        }
        if inbound.automatic.is_some() {
            return Ok(None);
        }
        let Some(from) = &inbound.from else { return Ok(None) };
        for reference in &inbound.references {
            if let Some(intro) = self.store.by_sent_message_id(reference)?
                && let Some(role) = self.mailed_party(&intro, reference, &from.email)?
            {
                return Ok(Some((intro, Via::Thread(role))));
            }
        }
        Ok(None)
    }

    /// The party of `intro` writing from `from`, when the bot's email
    /// `reference` went to them. Each party knows the Message-IDs of the
    /// mail they were sent: the requester's own consent note must not let
    /// her write in the target's name (held for the connector as the
    /// target's, and taken as theirs by a connector's "yes" meant for
    /// something else).
    fn mailed_party(&self, intro: &Intro, reference: &MessageId, from: &Address) -> Result<Option<Role>, EngineError> {
        let Some(role) = Role::BOTH.into_iter().find(|r| intro.party(*r).person.has_address(from)) else {
            return Ok(None);
        };
        let party = &intro.party(role).person;
        let theirs = self
            .store
            .emails_of(&intro.id)?
            .iter()
            .any(|e| &e.message_id == reference && e.to.iter().any(|to| party.has_address(to)));
        Ok(theirs.then_some(role))
    }

    /// Whether a message answers something the bot sent outside an intro
    /// (or any of its mail): through a note's token, in the thread of one of
    /// its Message-IDs, or as a reply by subject. Such mail is answered at
    /// most once an hour per address.
    pub(super) fn answers_bot(&self, inbound: &Inbound) -> Result<bool, EngineError> {
        for token in &inbound.tokens {
            if self.store.note_by_token(token)?.is_some() || self.store.by_token(token)?.is_some() {
                return Ok(true);
            }
        }
        for reference in &inbound.references {
            if self.store.note_by_message_id(reference)?.is_some()
                || self.store.by_sent_message_id(reference)?.is_some()
            {
                return Ok(true);
            }
        }
        let subject = inbound.subject.trim_start().to_ascii_lowercase();
        Ok(["re:", "aw:", "sv:", "antw:", "réf:", "rif:", "r:"].iter().any(|p| subject.starts_with(p)))
    }

    /// Mail for a party: their answer when `why` is `None`, held for the
    /// connector otherwise (at most `held_replies_per_intro` times per
    /// intro; after that it is only filed).
    fn party_wrote(
        &self,
        intro: &Intro,
        role: Role,
        why: Option<Held>,
        verdict: &Verdict,
        inbound: &Inbound,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let id = &inbound.message_id;
        let party = &intro.party(role).person;
        if intro.state.is_terminal() {
            if why.is_some() || intro.state == core::IntroState::Introduced {
                return self.record(id, Disposition::Ignored, Some(intro.id.clone()), "for an intro that ended", now);
            }
            // Too late to act on, but the connector may want to start
            // again: tell them, and only them.
            let note = Note::LateAnswer {
                title: intro.title(),
                party: party.display_name().to_owned(),
                ended: intro.how_it_ended(),
                text: inbound.text.clone(),
            };
            return self.reply_note(&intro.connector, inbound, &note, now);
        }
        let notes_limit = usize::try_from(self.config.limits.held_replies_per_intro).unwrap_or(usize::MAX);
        let Some(why) = why else {
            let decision = mail::decide(&inbound.text);
            let event = Event::ReplyReceived { role, decision, text: inbound.text.clone(), message_id: id.clone() };
            // They answered: whatever they said, they are not ignoring asks.
            let answered = LedgerEntry::Silence { who: party.email.canonical().to_string(), count: 0 };
            // Each unclear reply is passed on to the connector: a party who
            // keeps writing unclear mail through their token (a requester
            // with her own, say), or who keeps alternating yes and unclear,
            // would flood them. After the limit the connector hears no more.
            if decision == Decision::Unclear {
                // Counted per party (notes from before `about` was kept
                // count for both): one party's flood must not silence the other.
                let told = self
                    .store
                    .emails_of(&intro.id)?
                    .iter()
                    .filter(|e| e.kind == EmailKind::UnclearReply && e.about.is_none_or(|about| about == role))
                    .count();
                if told >= notes_limit {
                    if intro.party(role).state == PartyState::Unclear {
                        let note = format!("unclear again; the connector was told {told} times already");
                        return self.record(id, Disposition::Ignored, Some(intro.id.clone()), &note, now);
                    }
                    // After a yes the doubt still counts (it may be a
                    // retraction): the yes is set aside, only the note is not sent.
                    let mut step = core::step(intro, &event, &self.config.policy, now);
                    step.effects
                        .retain(|e| !matches!(e, Effect::Send(Outgoing { email: Email::UnclearReply { .. }, .. })));
                    let note = format!("reply: unclear after a yes; the connector was told {told} times already");
                    return self.commit_step_recorded(step, Some((id, &note)), Vec::new(), vec![answered], now);
                }
            }
            return self.apply_recorded(intro, &event, id, "reply", vec![answered], now);
        };
        if let Verdict::Fail(reason) = verdict
            && why == Held::Unauthenticated
        {
            warn!(%reason, role = role.as_str(), "a party's reply failed sender authentication; held");
        }
        let told = self.store.emails_of(&intro.id)?.iter().filter(|e| e.kind == EmailKind::HeldReply).count();
        if told >= notes_limit {
            let note = format!("held ({}); the connector was told {told} times already", why.as_str());
            return self.record(id, Disposition::Ignored, Some(intro.id.clone()), &note, now);
        }
        let event = Event::StrangerReplied {
            role,
            why,
            from: inbound.from.as_ref().map(|f| f.email.clone()),
            text: inbound.text.clone(),
            decision: mail::decide(&inbound.text),
            message_id: id.clone(),
        };
        self.apply(intro, &event, id, "held", now)
    }

    fn open_intro(&self, request: mail::Request, inbound: &Inbound, now: Timestamp) -> Result<Handled, EngineError> {
        let id = self.store.new_intro_id()?;
        let ledger = self.opened(&request, &id);
        // Stored as read, but safe: names cleaned of controls and addresses
        // (they reach headers and the other party), texts capped.
        let clean_person = |p: Person| Person { name: clean::clean_name(&p.name), ..p };
        let new = NewIntro {
            connector: clean_person(request.connector),
            connector_token: tokens::new_intro_token(&id)?,
            requester: clean_person(request.requester),
            requester_token: tokens::new_intro_token(&id)?,
            target: clean_person(request.target),
            target_token: tokens::new_intro_token(&id)?,
            preview: match self.config.preview {
                Preview::Off => false,
                Preview::Unsure => !request.guesses.is_empty(),
                Preview::Always => true,
            },
            guesses: request.guesses,
            summary: clean::cap_text(&request.summary),
            note: clean::cap_text(&request.note),
            for_requester: clean::cap_text(&request.for_requester),
            for_target: clean::cap_text(&request.for_target),
            request_message_id: Some(inbound.message_id.clone()),
            id,
        };
        let step = core::open(new, &self.config.policy, now);
        let span = info_span!("intro", intro = %step.intro.id);
        let _enter = span.enter();
        info!("intro opened");
        self.commit_step_recorded(step, Some((&inbound.message_id, "request accepted")), Vec::new(), ledger, now)
    }
}
