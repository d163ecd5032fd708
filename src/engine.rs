//! One inbound message or one due timer, end to end: read it, find the
//! intro, step the core, compose the emails, commit it all at once. And the
//! outbox: send what is queued, keep what failed for later.
//!
//! The engine owns no clock (callers pass `now`) and no mail connection
//! (sources hand it bytes; transports are passed to [`Engine::drain_outbox`]).
//!
//! Routing of an inbound message, first match wins:
//! 1. seen before (same Message-ID) → nothing, filed as before;
//! 2. not mail at all → filed as failed;
//! 3. automatic mail → a bounce through a party's token marks them bounced;
//!    anything else is ignored, never answered;
//! 4. through a party's token (or in reply to one of our Message-IDs):
//!    from that party → their decision; from anyone else → held for the
//!    connector;
//! 5. through the connector's token, from the connector → `cancel`, or
//!    `yes`/`no` for an unclear reply;
//! 6. from an allow-listed connector → an intro request, or a note saying
//!    exactly what is missing;
//! 7. anything else → ignored, no reply (no backscatter).

use jiff::Timestamp;
use tracing::{debug, info, info_span, warn};

use crate::compose::{ComposeError, Composed, Composer};
use crate::config::Config;
use crate::core::{self, Decision, Effect, Event, Intro, IntroId, NewIntro, Person, Role, Step};
use crate::mail::{self, Automatic, Inbound, RequestProblem};
use crate::store::{Change, Disposition, OutboxEntry, Processed, Store, StoreError, TokenOwner};
use crate::tokens::{self, RandomError};
use crate::transport::{SendError, Transport};

/// What can stop the engine from handling something.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An email could not be composed (a template error, a bad address).
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// A new configuration cannot be taken while running.
    #[error("{0}")]
    Reload(String),
    /// No randomness for tokens.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// What the engine did with one inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handled {
    /// Its Message-ID.
    pub message_id: String,
    /// Where it is filed.
    pub disposition: Disposition,
    /// The intro it touched.
    pub intro: Option<IntroId>,
    /// What happened, in a few words.
    pub note: String,
}

/// The engine: config, store and composer.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    store: Store,
    composer: Composer,
}

impl Engine {
    /// Opens the store and loads the templates.
    pub fn open(config: Config) -> Result<Engine, EngineError> {
        let composer = Composer::new(&config)?;
        let store = Store::open(&config.data_dir)?;
        Ok(Engine { config, store, composer })
    }

    /// Takes a new configuration (SIGHUP): templates, rules, connectors.
    /// The store cannot move while open, so a new `data_dir` is refused.
    pub fn reload(&mut self, config: Config) -> Result<(), EngineError> {
        if config.data_dir != self.config.data_dir {
            return Err(EngineError::Reload(format!(
                "data_dir changed from {} to {}; that needs a restart",
                self.config.data_dir.display(),
                config.data_dir.display()
            )));
        }
        self.composer = Composer::new(&config)?;
        self.config = config;
        Ok(())
    }

    /// Whether `email` is the bot's address, with or without a `+tag`.
    fn is_own_address(&self, email: &str) -> bool {
        let (local, domain) = self.config.address_parts();
        let Some((l, d)) = email.trim().rsplit_once('@') else { return false };
        let base = l.split('+').next().unwrap_or(l);
        base.eq_ignore_ascii_case(local) && d.eq_ignore_ascii_case(domain)
    }

    /// The store, for reads (CLI, demo, tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one inbound message (raw RFC 5322 bytes) and commits the
    /// result. Call [`Store::flush`] before filing the message away.
    pub fn handle_inbound(&self, raw: &[u8], now: Timestamp) -> Result<Handled, EngineError> {
        let Some(msg) = mail::inbound::parse(raw) else {
            let message_id = mail::inbound::fallback_message_id(raw);
            return self.record(&message_id, Disposition::Failed, None, "not an email message", now);
        };
        let inbound = Inbound::read(&msg, &self.config.address);
        let span = info_span!("message", message_id = %inbound.message_id);
        let _enter = span.enter();
        if let Some(seen) = self.store.processed(&inbound.message_id)? {
            debug!("seen before");
            return Ok(Handled {
                message_id: inbound.message_id,
                disposition: seen.disposition,
                intro: seen.intro,
                note: format!("duplicate of a message already {}", seen.disposition.as_str()),
            });
        }
        let handled = self.route(&msg, &inbound, now)?;
        info!(disposition = handled.disposition.as_str(), intro = ?handled.intro, note = %handled.note, "handled");
        Ok(handled)
    }

    fn record(
        &self,
        message_id: &str,
        disposition: Disposition,
        intro: Option<IntroId>,
        note: &str,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let processed = Processed { at: now, disposition, intro: intro.clone(), note: note.to_owned() };
        let change = Change { processed: Some((message_id.to_owned(), processed)), ..Change::default() };
        self.store.commit(&change, now)?;
        Ok(Handled { message_id: message_id.to_owned(), disposition, intro, note: note.to_owned() })
    }

    fn route(&self, msg: &mail_parser::Message<'_>, inbound: &Inbound, now: Timestamp) -> Result<Handled, EngineError> {
        let id = &inbound.message_id;
        let from = inbound.from.as_ref();

        // The intro this message belongs to, and through whose address.
        let mut target: Option<(Intro, TokenOwner)> = None;
        for token in &inbound.tokens {
            if let Some(found) = self.store.by_token(token)? {
                target = Some(found);
                break;
            }
        }
        if target.is_none() && inbound.automatic.is_none() {
            // A reply that lost its plus-address: trust the thread only for
            // the people of that intro, matched by their From.
            for reference in &inbound.references {
                if let Some(intro) = self.store.by_sent_message_id(reference)? {
                    let owner = from.and_then(|f| {
                        Role::BOTH
                            .into_iter()
                            .find(|r| intro.party(*r).person.has_address(&f.email))
                            .map(TokenOwner::Party)
                            .or_else(|| intro.connector.has_address(&f.email).then_some(TokenOwner::Connector))
                    });
                    if let Some(owner) = owner {
                        target = Some((intro, owner));
                        break;
                    }
                }
            }
        }

        if let Some(auto) = &inbound.automatic {
            return match (auto, &target) {
                (Automatic::Bounce { reason }, Some((intro, TokenOwner::Party(role)))) => {
                    let ev = Event::Bounced { role: *role, reason: reason.clone(), message_id: id.clone() };
                    self.apply(intro, &ev, id, "bounce", now)
                }
                (Automatic::Bounce { .. }, _) => {
                    self.record(id, Disposition::Ignored, None, "bounce not about a party", now)
                }
                (Automatic::AutoReply, t) => {
                    self.record(id, Disposition::Ignored, t.as_ref().map(|(i, _)| i.id.clone()), "auto-reply", now)
                }
                (Automatic::List, _) => self.record(id, Disposition::Ignored, None, "list or bulk mail", now),
            };
        }

        if let Some((intro, owner)) = target {
            let _span = info_span!("intro", intro = %intro.id).entered();
            return match owner {
                TokenOwner::Party(role) => {
                    let party = &intro.party(role).person;
                    let own = from.is_some_and(|f| party.has_address(&f.email));
                    if own && intro.state.is_terminal() && intro.state != core::IntroState::Introduced {
                        // Too late to act on, but the connector may want to
                        // start again: tell them, and only them.
                        let message = format!(
                            "{} answered after this intro ({}) had ended ({}). I haven't acted on it or replied; their words:\n\n{}\n\nIf it should go ahead after all, send me the request again.",
                            party.display_name(),
                            intro.title(),
                            intro.state.as_str().replace('_', " "),
                            quote_lines(&inbound.text)
                        );
                        let note = minijinja::context! { message => message };
                        return self.reply_to_connector("command_reply", &intro.connector, inbound, note, now);
                    }
                    let event = match from {
                        Some(f) if party.has_address(&f.email) => Event::ReplyReceived {
                            role,
                            decision: mail::decide(&inbound.text),
                            text: inbound.text.clone(),
                            message_id: id.clone(),
                        },
                        _ => Event::StrangerReplied {
                            role,
                            from: from.map(|f| f.email.clone()).unwrap_or_else(|| "(no sender)".into()),
                            text: inbound.text.clone(),
                            message_id: id.clone(),
                        },
                    };
                    self.apply(&intro, &event, id, "reply", now)
                }
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
        if from.is_some_and(|f| self.is_own_address(&f.email)) {
            return self.record(id, Disposition::Ignored, None, "mail from the bot itself", now);
        }
        let Some(sender) = from.filter(|f| self.config.is_connector(&f.email)) else {
            return self.record(id, Disposition::Ignored, None, "sender is not an allowed connector", now);
        };
        match parse_command(&inbound.subject).or_else(|| parse_command(&inbound.text)) {
            Some(Command::Status) => return self.reply_status(sender, inbound, now),
            Some(Command::Help) => {
                return self.reply_to_connector("help", sender, inbound, minijinja::context! {}, now);
            }
            _ => {}
        }
        match mail::parse_request_with_contacts(msg, sender, &self.config.address, &self.config.contacts) {
            Ok(request) => {
                for person in [&request.requester, &request.target] {
                    if self.store.is_suppressed(&person.email)? {
                        let problem = format!(
                            "{} has asked not to receive introduction requests, so I won't ask them.",
                            person.display_name()
                        );
                        return self.reply_problem(sender, inbound, &problem, now);
                    }
                }
                self.open_intro(request, inbound, now)
            }
            Err(RequestProblem::NotARequest) if inbound.subject.to_ascii_lowercase().starts_with("re:") => {
                // A connector replying in some old thread is not a failed request.
                self.record(id, Disposition::Ignored, None, "connector reply without a command", now)
            }
            Err(problem) => self.reply_problem(sender, inbound, &problem.to_string(), now),
        }
    }

    /// The connector wrote on one of their intros (through its token).
    fn connector_on_intro(&self, intro: &Intro, inbound: &Inbound, now: Timestamp) -> Result<Handled, EngineError> {
        let id = &inbound.message_id;
        let connector = &intro.connector;
        let command = parse_command(&inbound.text);
        let note = |message: String| minijinja::context! { message => message };
        match command {
            None => self.record(id, Disposition::Processed, Some(intro.id.clone()), "connector wrote; no command", now),
            Some(Command::Status) => self.reply_status(connector, inbound, now),
            Some(Command::Help) => self.reply_to_connector("help", connector, inbound, minijinja::context! {}, now),
            Some(_) if intro.state.is_terminal() => {
                let message = format!(
                    "This intro ({}) has already ended ({}), so there is nothing left to change.",
                    intro.title(),
                    intro.state.as_str().replace('_', " ")
                );
                self.reply_to_connector("command_reply", connector, inbound, note(message), now)
            }
            Some(Command::Cancel) => {
                // The outcome email ("cancelled") is the confirmation.
                let event = Event::CancelRequested { message_id: id.clone() };
                self.apply(intro, &event, id, "connector command", now)
            }
            Some(Command::Decide(decision)) => {
                let unclear: Vec<Role> =
                    Role::BOTH.into_iter().filter(|r| intro.party(*r).state == core::PartyState::Unclear).collect();
                let [role] = unclear.as_slice() else {
                    let message = format!(
                        "There is nothing for me to decide on {} right now: I only act on \"yes\" or \"no\" from you when I couldn't read someone's own answer.",
                        intro.title()
                    );
                    return self.reply_to_connector("command_reply", connector, inbound, note(message), now);
                };
                let event = Event::ConnectorDecided { role: *role, decision, message_id: id.clone() };
                let step = core::step(intro, &event, &self.config.policy, now);
                let mut extra = Vec::new();
                if !step.intro.state.is_terminal() {
                    // Not finished yet, so no outcome email: confirm it here.
                    let who = intro.party(*role).person.display_name().to_owned();
                    let message = format!(
                        "Noted: I'll take {who}'s reply as a {}. I'm still waiting for {}, and I'll let you know how it ends.",
                        decision.as_str(),
                        intro.party(role.other()).person.display_name()
                    );
                    extra.push(self.composer.compose_to_connector(
                        "command_reply",
                        connector,
                        &inbound.subject,
                        Some(id),
                        note(message),
                        now,
                    )?);
                }
                self.commit_step_with(step, Some((id, "connector decided")), extra, now)
            }
        }
    }

    /// `status`: the connector's open intros.
    fn reply_status(&self, connector: &Person, inbound: &Inbound, now: Timestamp) -> Result<Handled, EngineError> {
        let open: Vec<minijinja::Value> = self
            .store
            .intros(Some(core::IntroState::AwaitingConsent))?
            .into_iter()
            .filter(|i| i.connector.has_address(&connector.email))
            .map(|i| {
                let waiting: Vec<&str> = i.waiting_for().iter().map(|r| i.party(*r).person.display_name()).collect();
                let days = now.as_second().saturating_sub(i.created_at.as_second()) / 86_400;
                minijinja::context! {
                    id => i.id.as_str(),
                    title => i.title(),
                    waiting_for => if waiting.is_empty() { "you".to_owned() } else { waiting.join(" and ") },
                    age => match days { 0 => "less than a day".to_owned(), 1 => "1 day".to_owned(), n => format!("{n} days") },
                }
            })
            .collect();
        self.reply_to_connector("status", connector, inbound, minijinja::context! { intros => open }, now)
    }

    fn reply_to_connector(
        &self,
        template: &str,
        to: &Person,
        inbound: &Inbound,
        extra: minijinja::Value,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        self.answer_connector(template, to, inbound, extra, format!("answered the connector: {template}"), now)
    }

    fn reply_problem(
        &self,
        to: &Person,
        inbound: &Inbound,
        problem: &str,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        info!("request refused: {problem}");
        let extra = minijinja::context! { problem => problem };
        self.answer_connector("request_problem", to, inbound, extra, format!("request problem: {problem}"), now)
    }

    /// Answers a connector outside any intro: composes `template`, commits
    /// it with the processed marker `note` for the inbound message.
    fn answer_connector(
        &self,
        template: &str,
        to: &Person,
        inbound: &Inbound,
        extra: minijinja::Value,
        note: String,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let email = self.composer.compose_to_connector(
            template,
            to,
            &inbound.subject,
            Some(&inbound.message_id),
            extra,
            now,
        )?;
        let processed = Processed { at: now, disposition: Disposition::Processed, intro: None, note: note.clone() };
        let change = Change {
            emails: vec![email],
            processed: Some((inbound.message_id.clone(), processed)),
            ..Change::default()
        };
        self.store.commit(&change, now)?;
        Ok(Handled { message_id: inbound.message_id.clone(), disposition: Disposition::Processed, intro: None, note })
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
            summary: request.summary,
            note: request.note,
            request_message_id: Some(inbound.message_id.clone()),
        };
        let step = core::open(new, &self.config.policy, now);
        let _span = info_span!("intro", intro = %step.intro.id).entered();
        info!("intro opened");
        self.commit_step(step, Some((&inbound.message_id, "request accepted")), now)
    }

    fn apply(
        &self,
        intro: &Intro,
        event: &Event,
        message_id: &str,
        what: &str,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let step = core::step(intro, event, &self.config.policy, now);
        let note = match step.intro.timeline.last() {
            Some(last) if step.intro.timeline.len() > intro.timeline.len() => {
                format!("{what}: {}", last.what)
            }
            _ => format!("{what}: no change"),
        };
        self.commit_step(step, Some((message_id, &note)), now)
    }

    /// Composes a step's emails and commits everything in one transaction.
    fn commit_step(&self, step: Step, inbound: Option<(&str, &str)>, now: Timestamp) -> Result<Handled, EngineError> {
        self.commit_step_with(step, inbound, Vec::new(), now)
    }

    /// [`Self::commit_step`] with more emails from the shell in the same
    /// transaction.
    fn commit_step_with(
        &self,
        step: Step,
        inbound: Option<(&str, &str)>,
        extra: Vec<Composed>,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let mut emails: Vec<Composed> = Vec::new();
        let mut suppress = Vec::new();
        for effect in &step.effects {
            match effect {
                Effect::Send(out) => {
                    let email = self.composer.compose(&step.intro, out, now)?;
                    info!(kind = %email.kind, message_id = %email.message_id, "queued");
                    emails.push(email);
                }
                Effect::Suppress { email } => suppress.push(email.clone()),
            }
        }
        emails.extend(extra);
        let intro_id = step.intro.id.clone();
        let processed = inbound.map(|(id, note)| {
            (
                id.to_owned(),
                Processed {
                    at: now,
                    disposition: Disposition::Processed,
                    intro: Some(intro_id.clone()),
                    note: note.to_owned(),
                },
            )
        });
        let handled = inbound.map(|(id, note)| Handled {
            message_id: id.to_owned(),
            disposition: Disposition::Processed,
            intro: Some(intro_id.clone()),
            note: note.to_owned(),
        });
        let change = Change { intro: Some(step.intro), emails, processed, suppress };
        self.store.commit(&change, now)?;
        Ok(handled.unwrap_or(Handled {
            message_id: String::new(),
            disposition: Disposition::Processed,
            intro: Some(intro_id),
            note: String::new(),
        }))
    }

    /// Fires every timer due at `now`; returns the intros it touched.
    pub fn fire_due(&self, now: Timestamp) -> Result<Vec<IntroId>, EngineError> {
        let mut fired = Vec::new();
        for id in self.store.due(now)? {
            let Some(intro) = self.store.intro(&id)? else {
                continue;
            };
            let _span = info_span!("intro", intro = %id).entered();
            let step = core::step(&intro, &Event::DeadlineReached, &self.config.policy, now);
            if step.is_noop(&intro) {
                continue;
            }
            self.commit_step(step, None, now)?;
            fired.push(id);
        }
        Ok(fired)
    }

    /// Cancels an intro on the connector's behalf (CLI).
    pub fn cancel(&self, id: &IntroId, now: Timestamp) -> Result<Option<Intro>, EngineError> {
        let Some(intro) = self.store.intro(id)? else {
            return Ok(None);
        };
        let event = Event::CancelRequested { message_id: format!("cli-cancel-{}@introbot", now.as_millisecond()) };
        let step = core::step(&intro, &event, &self.config.policy, now);
        let next = step.intro.clone();
        self.commit_step(step, None, now)?;
        Ok(Some(next))
    }

    /// Sends what is due in the outbox. Each email leaves the outbox only
    /// once the transport accepted it; a transient failure keeps it with a
    /// backoff, a permanent one bounces the party it was for.
    pub async fn drain_outbox(&self, transport: &mut Transport, now: Timestamp) -> Result<DrainReport, EngineError> {
        let mut report = DrainReport::default();
        // For batched transports: accepted, but not durable until synced.
        let mut unsynced: Vec<u64> = Vec::new();
        let mut next = 0;
        'pages: loop {
            let page = self.store.outbox_page(next, 256)?;
            let Some((last, _)) = page.last() else { break };
            next = last.saturating_add(1);
            for (seq, entry) in page {
                if entry.not_before.is_some_and(|t| t > now) {
                    report.waiting += 1;
                    continue;
                }
                let _span =
                    info_span!("send", message_id = %entry.email.message_id, kind = %entry.email.kind).entered();
                match transport.send(&entry.email).await {
                    Ok(()) if transport.is_batched() => {
                        unsynced.push(seq);
                        report.sent += 1;
                        if unsynced.len() >= 1024 {
                            self.forget_sent(transport, &mut unsynced)?;
                        }
                    }
                    Ok(()) => {
                        self.store.remove_outbox(seq)?;
                        // A crash now must not send it again.
                        self.store.flush()?;
                        report.sent += 1;
                        debug!("sent");
                    }
                    Err(SendError::Transient(reason)) => {
                        let attempts = entry.attempts.saturating_add(1);
                        let backoff = backoff(attempts, self.config.backoff_max);
                        warn!(attempts, %reason, ?backoff, "send failed; will retry");
                        let retry = OutboxEntry { attempts, not_before: now.checked_add(backoff).ok(), ..entry };
                        self.store.reschedule_outbox(seq, &retry)?;
                        report.retrying += 1;
                        // The server is likely down for all of them; try again later.
                        break 'pages;
                    }
                    Err(SendError::Permanent(reason)) => {
                        tracing::error!(%reason, "send refused permanently");
                        self.store.remove_outbox(seq)?;
                        report.refused += 1;
                        if let (Some(id), Some(role)) = (&entry.intro, entry.email.role)
                            && let Some(intro) = self.store.intro(id)?
                        {
                            let event = Event::Bounced {
                                role,
                                reason,
                                message_id: format!("refused-{}", entry.email.message_id),
                            };
                            let step = core::step(&intro, &event, &self.config.policy, now);
                            self.commit_step(step, None, now)?;
                        }
                    }
                }
            }
        }
        self.forget_sent(transport, &mut unsynced)?;
        self.store.flush()?;
        Ok(report)
    }

    /// Syncs a batched transport, then removes what it accepted from the
    /// outbox: never the other way round, or a power cut could lose both.
    fn forget_sent(&self, transport: &mut Transport, sent: &mut Vec<u64>) -> Result<(), EngineError> {
        if sent.is_empty() {
            return Ok(());
        }
        if let Err(e) = transport.sync() {
            // Keep them queued; sending them again is harmless for a batched transport.
            warn!("{e}; the emails stay queued");
            sent.clear();
            return Ok(());
        }
        for seq in sent.drain(..) {
            self.store.remove_outbox(seq)?;
        }
        self.store.flush()?;
        Ok(())
    }
}

/// The wait before retry number `attempt` (1-based): 2 s doubling up to
/// `max`, less up to a quarter at random, so many clients of one server
/// recovering at once do not retry in lockstep.
pub fn backoff(attempt: u32, max: std::time::Duration) -> std::time::Duration {
    let base = std::time::Duration::from_secs(2).saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let wait = base.min(max);
    let mut r = [0u8; 1];
    let jitter = if getrandom::fill(&mut r).is_ok() { f64::from(r[0]) / 255.0 * 0.25 } else { 0.0 };
    wait.mul_f64(1.0 - jitter)
}

/// What one outbox drain did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Accepted by the transport.
    pub sent: usize,
    /// Kept for a retry.
    pub retrying: usize,
    /// Refused for good.
    pub refused: usize,
    /// Still backing off.
    pub waiting: usize,
}

fn quote_lines(text: &str) -> String {
    text.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n")
}

/// What a connector's words ask for: the first line decides, so a quoted
/// history or a signature below changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Command {
    Cancel,
    /// Yes or no for a party whose reply was unclear.
    Decide(Decision),
    Status,
    Help,
}

fn parse_command(text: &str) -> Option<Command> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?.to_ascii_lowercase();
    let first = first.trim_end_matches(['.', '!', '?']).trim();
    match first.split_whitespace().next()? {
        "cancel" => return Some(Command::Cancel),
        "status" if first.split_whitespace().count() <= 3 => return Some(Command::Status),
        "help" if first.split_whitespace().count() <= 3 => return Some(Command::Help),
        _ => {}
    }
    // The connector decides yes or no for someone else; only the person
    // themselves can ask never to be asked again.
    match mail::decide(first) {
        Decision::Unclear => None,
        Decision::Yes => Some(Command::Decide(Decision::Yes)),
        Decision::No | Decision::Later | Decision::Stop => Some(Command::Decide(Decision::No)),
    }
}

#[cfg(test)]
mod tests;
