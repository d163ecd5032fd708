//! A core step into the store: compose the emails its effects ask for and
//! commit the intro, those emails, any suppressions and the processed
//! marker in one transaction. Also the two ways a step starts without
//! inbound mail: a due timer and a cancel from the CLI.

use jiff::Timestamp;
use tracing::{info, info_span};

use super::{Engine, EngineError, Handled};
use crate::compose::Composed;
use crate::core::{
    self, Audience, Effect, Email, EmailKind, Event, Intro, IntroId, IntroState, MessageId, Outcome, Outgoing, Step,
};
use crate::failpoint::{self, Point};
use crate::store::{Change, Disposition, LedgerEntry, Processed};

impl Engine {
    /// Steps `intro` with an event from inbound message `message_id` and
    /// commits; the processed note says `what` and what changed.
    pub(super) fn apply(
        &self,
        intro: &Intro,
        event: &Event,
        message_id: &MessageId,
        what: &str,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        self.apply_recorded(intro, event, message_id, what, Vec::new(), now)
    }

    /// [`Self::apply`], recording `ledger` for the limits in the same
    /// transaction.
    pub(super) fn apply_recorded(
        &self,
        intro: &Intro,
        event: &Event,
        message_id: &MessageId,
        what: &str,
        ledger: Vec<LedgerEntry>,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let step = core::step(intro, event, &self.config.policy, now);
        let note = match step.intro.timeline.last() {
            Some(last) if step.intro.timeline.len() > intro.timeline.len() => {
                format!("{what}: {}", last.what)
            }
            _ => format!("{what}: no change"),
        };
        self.commit_step_recorded(step, Some((message_id, &note)), Vec::new(), ledger, now)
    }

    /// Composes a step's emails and commits everything in one transaction;
    /// `inbound` is the message that caused it and its processed note.
    pub(super) fn commit_step(
        &self,
        step: Step,
        inbound: Option<(&MessageId, &str)>,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        self.commit_step_with(step, inbound, Vec::new(), now)
    }

    /// [`Self::commit_step`] with more emails from the shell in the same
    /// transaction.
    pub(super) fn commit_step_with(
        &self,
        step: Step,
        inbound: Option<(&MessageId, &str)>,
        extra: Vec<Composed>,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        self.commit_step_recorded(step, inbound, extra, Vec::new(), now)
    }

    /// [`Self::commit_step_with`], recording `ledger` for the limits too.
    /// Every email to someone who is not a connector is counted, and a
    /// party who let an intro expire in silence has one more ignored ask.
    pub(super) fn commit_step_recorded(
        &self,
        step: Step,
        inbound: Option<(&MessageId, &str)>,
        extra: Vec<Composed>,
        mut ledger: Vec<LedgerEntry>,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let mut emails: Vec<Composed> = Vec::new();
        let mut suppress = Vec::new();
        for effect in &step.effects {
            match effect {
                Effect::Send(out) => {
                    // Later notes to a party thread under their consent
                    // note; after the introduction, under the introduction.
                    let consent = match out.to {
                        Audience::Party(_) if step.intro.state == IntroState::Introduced => self
                            .store
                            .emails_of(&step.intro.id)?
                            .into_iter()
                            .find(|e| e.kind == EmailKind::Introduction)
                            .map(|e| e.message_id),
                        Audience::Party(role) if out.email != Email::ConsentRequest => {
                            let to = &step.intro.party(role).person.email;
                            self.store.consent_message_id(&step.intro.id, to)?
                        }
                        _ => None,
                    };
                    let email = self.composer.compose_threaded(&step.intro, out, consent.as_ref(), now)?;
                    info!(kind = %email.kind, message_id = %email.message_id, "queued");
                    emails.push(email);
                }
                Effect::Suppress { email } => suppress.push(email.clone()),
            }
            if let Effect::Send(Outgoing { email: Email::Outcome(Outcome::Expired { silent }), .. }) = effect {
                for role in silent {
                    let who = step.intro.party(*role).person.email.canonical().to_string();
                    let count = self.store.silence(&who)?.map_or(0, |s| s.count).saturating_add(1);
                    ledger.push(LedgerEntry::Silence { who, count });
                }
            }
        }
        emails.extend(extra);
        for email in &emails {
            for to in email.recipients.iter().filter(|to| !self.config.is_connector(to)) {
                ledger.push(LedgerEntry::Mailed { to: to.canonical().to_string() });
            }
        }
        let intro_id = step.intro.id.clone();
        let handled = Handled {
            message_id: inbound.map(|(id, _)| id.clone()).unwrap_or_else(|| MessageId::new("")),
            disposition: Disposition::Processed,
            intro: Some(intro_id.clone()),
            note: inbound.map(|(_, note)| note.to_owned()).unwrap_or_default(),
        };
        let processed = inbound.map(|(id, note)| {
            let processed = Processed {
                at: now,
                disposition: Disposition::Processed,
                intro: Some(intro_id),
                note: note.to_owned(),
            };
            (id.clone(), processed)
        });
        let change = Change { intro: Some(step.intro), emails, processed, suppress, ledger };
        self.store.commit(&change, now)?;
        Ok(handled)
    }

    /// Fires every timer due at `now`; returns the intros it touched.
    pub(crate) fn fire_due(&self, now: Timestamp) -> Result<Vec<IntroId>, EngineError> {
        let mut fired = Vec::new();
        for id in self.store.due(now)? {
            let Some(intro) = self.store.intro(&id)? else {
                continue;
            };
            let span = info_span!("intro", intro = %id);
            let _enter = span.enter();
            let step = core::step(&intro, &Event::DeadlineReached, &self.config.policy, now);
            if step.is_noop(&intro) {
                continue;
            }
            self.commit_step(step, None, now)?;
            failpoint::hit(Point::TimerCommitted);
            fired.push(id);
        }
        Ok(fired)
    }

    /// Gives every intro waiting on a preview without a timer (stored
    /// before previews expired) its expiry timer, from when the preview was
    /// sent ([`core::arm_preview`]); returns how many. Run at start, once
    /// per store: it reads every stored intro, and a preview stored since
    /// has its timer from the start, so later starts skip the scan (a crash
    /// before the mark only means the next start scans again; arming is
    /// idempotent). A timer already due fires at the next timer check,
    /// like any other.
    pub(crate) fn arm_waiting_previews(&self, now: Timestamp) -> Result<usize, EngineError> {
        const UPGRADE: &str = "preview-timers";
        if self.store.upgrade_done(UPGRADE)? {
            return Ok(0);
        }
        // Read one intro at a time and keep only the steps: holding every
        // waiting intro at once was the daemon's peak at start (16 MB of
        // 28 for 4,000 waiting intros), and nearly none needs a timer.
        let mut steps = Vec::new();
        self.store.each_intro(Some(IntroState::AwaitingConsent), |intro| {
            steps.extend(core::arm_preview(&intro, &self.config.policy, now));
        })?;
        steps.sort_by_key(|step| step.intro.created_at);
        let mut armed = 0;
        for step in steps {
            let span = info_span!("intro", intro = %step.intro.id);
            let _enter = span.enter();
            info!(expires = ?step.next_deadline(), "a preview without a timer got its expiry timer");
            self.commit_step(step, None, now)?;
            armed += 1;
        }
        self.store.mark_upgrade_done(UPGRADE)?;
        Ok(armed)
    }

    /// Cancels an intro on the connector's behalf (CLI).
    pub(crate) fn cancel(&self, id: &IntroId, now: Timestamp) -> Result<Option<Intro>, EngineError> {
        let Some(intro) = self.store.intro(id)? else {
            return Ok(None);
        };
        let message_id = MessageId::new(format!("cli-cancel-{}@introbot", now.as_millisecond()));
        let step = core::step(&intro, &Event::CancelRequested { message_id }, &self.config.policy, now);
        let next = step.intro.clone();
        self.commit_step(step, None, now)?;
        Ok(Some(next))
    }
}
