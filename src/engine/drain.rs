//! The outbox: send what is due, in queue order. An email leaves the
//! outbox only once the transport accepted it (and, for a batched
//! transport, synced it); a transient failure keeps it with a backoff; a
//! permanent one bounces the party it was for.
//!
//! What a crash can double: for SMTP and sendmail, the one email the
//! server accepted just before the crash and the store had not yet
//! forgotten (it is sent again, with the same Message-ID); the store is
//! synced after every accepted email so it is never more than that one.
//! For the outbox directory, nothing: files are published only after the
//! store recorded them as written (see `transport::outbox_dir`).
//!
//! Written through: a sealed batch of the inbox (`store::batch`) with a
//! batched transport has its emails written, synced and recorded in the
//! batch's own group write ([`Engine::commit_sealed`]), so they never
//! enter the outbox: the drain is for what is left (retries, timers).

use std::time::Duration;

use jiff::Timestamp;
use tracing::{Instrument, debug, info_span, warn};

use super::{Engine, EngineError};
use crate::core::{self, Event, MessageId};
use crate::failpoint::{self, Point};
use crate::store::{OutboxEntry, OutboxSeq, Sealed};
use crate::transport::{SendError, Transport};

/// Outbox entries read per page: memory stays bounded however long the
/// queue is.
const PAGE: usize = 256;

/// Accepted-but-unsynced sends a batched transport may hold before a sync.
const SYNC_EVERY: usize = 1024;

/// What one outbox drain did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DrainReport {
    /// Accepted by the transport.
    pub sent: usize,
    /// Kept for a retry.
    pub retrying: usize,
    /// Refused for good.
    pub refused: usize,
    /// Still backing off.
    pub waiting: usize,
}

impl std::ops::AddAssign for DrainReport {
    fn add_assign(&mut self, other: DrainReport) {
        self.sent += other.sent;
        self.retrying += other.retrying;
        self.refused += other.refused;
        self.waiting = other.waiting;
    }
}

/// The wait before retry number `attempt` (1-based): 2 s doubling up to
/// `max`, less up to a quarter at random, so many clients of one server
/// recovering at once do not retry in lockstep.
pub(crate) fn backoff(attempt: u32, max: Duration) -> Duration {
    let base = Duration::from_secs(2).saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let wait = base.min(max);
    let mut r = [0u8; 1];
    let jitter = if getrandom::fill(&mut r).is_ok() { f64::from(r[0]) / 255.0 * 0.25 } else { 0.0 };
    wait.mul_f64(1.0 - jitter)
}

impl Engine {
    /// Publishes what an earlier batch or process recorded as written and
    /// may not have published yet; true when nothing is left to publish.
    /// Done before any new emails are staged, by the drain and beside the
    /// inbox: the first publish of a process removes stale staged files.
    pub(crate) fn publish_recorded(&self, transport: &mut Transport) -> Result<bool, EngineError> {
        if !transport.unsure() {
            return Ok(true);
        }
        let names = self.store.being_published()?;
        match transport.publish(&names) {
            Ok(()) => Ok(true),
            Err(e) => {
                warn!(error = %e, "cannot publish the written emails; will try again");
                Ok(false)
            }
        }
    }

    /// Writes sealed batches of the inbox to the store (as one group, all
    /// or nothing across a crash) and syncs it, with the emails `staged`
    /// for them (through a [`crate::transport::Stager`], in queue order)
    /// written through: synced, recorded as being published in the same
    /// group instead of queued; returns how many, and the names the caller
    /// publishes now that the store is synced. `publishing`: names of
    /// earlier groups another thread is still publishing, recorded again
    /// with these. The order is the drain's (the files durable before the
    /// store says so, published only after), so a crash anywhere loses
    /// nothing and publishes nothing twice: before the sync the batch is
    /// handled again (its staged files are never published: new
    /// Message-IDs), after it the next process publishes the recorded
    /// names. Emails not staged go to the outbox as usual.
    pub(crate) fn commit_sealed(
        &self,
        transport: &mut Transport,
        sealed: &[Sealed],
        staged: Vec<(OutboxSeq, String)>,
        publishing: &[String],
    ) -> Result<(DrainReport, Vec<String>), EngineError> {
        // Names recorded earlier are published before these replace them,
        // unless they are known to be published (or in another thread's
        // hands, and recorded again below).
        let through = !staged.is_empty() && self.publish_recorded(transport)?;
        let (written, names): (Vec<OutboxSeq>, Vec<String>) = match through {
            false => (Vec::new(), Vec::new()),
            true => match transport.sync_staged() {
                Ok(()) => {
                    for _ in &staged {
                        failpoint::hit(Point::SendAccepted);
                    }
                    staged.into_iter().unzip()
                }
                Err(e) => {
                    warn!(error = %e, "cannot sync the written emails; they stay queued");
                    (Vec::new(), Vec::new())
                }
            },
        };
        let recorded: Vec<String> = publishing.iter().chain(&names).cloned().collect();
        self.store.commit_sealed(sealed, &written, &recorded)?;
        self.store.flush()?;
        failpoint::hit(Point::BatchSynced);
        Ok((DrainReport { sent: written.len(), ..DrainReport::default() }, names))
    }

    /// Sends what is due in the outbox at `now`.
    pub(crate) async fn drain_outbox(
        &self,
        transport: &mut Transport,
        now: Timestamp,
    ) -> Result<DrainReport, EngineError> {
        let mut report = DrainReport::default();
        // A crash (or a failed publish) may have left written emails
        // unpublished: finish that before writing more.
        if !self.publish_recorded(transport)? {
            return Ok(report);
        }
        // For batched transports: accepted, but not durable until synced.
        let mut unsynced: Vec<OutboxSeq> = Vec::new();
        let mut next = OutboxSeq::FIRST;
        'pages: loop {
            let page = self.store.outbox_page(next, PAGE)?;
            let Some((last, _)) = page.last() else { break };
            next = last.next();
            for (seq, entry) in page {
                if entry.not_before.is_some_and(|t| t > now) {
                    report.waiting += 1;
                    continue;
                }
                let span = info_span!("send", message_id = %entry.email.message_id, kind = %entry.email.kind);
                let sent = transport.send(&entry.email).instrument(span.clone()).await;
                let _enter = span.enter();
                if sent.is_ok() {
                    // The window a crash may resend one email in: accepted
                    // by the server, still in the outbox.
                    failpoint::hit(Point::SendAccepted);
                }
                match sent {
                    Ok(()) if transport.is_batched() => {
                        unsynced.push(seq);
                        report.sent += 1;
                        if unsynced.len() >= SYNC_EVERY && !self.forget_written(transport, &mut unsynced)? {
                            break 'pages;
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
                        self.bounce_refused(&entry, reason, now)?;
                    }
                }
            }
        }
        self.forget_written(transport, &mut unsynced)?;
        self.store.flush()?;
        Ok(report)
    }

    /// A permanently refused email to a party bounces that party; a refused
    /// introduction (to both) is told to the connector (`refused`).
    fn bounce_refused(&self, entry: &OutboxEntry, reason: String, now: Timestamp) -> Result<(), EngineError> {
        let Some(role) = entry.email.role else { return self.introduction_refused(entry, reason, now) };
        let Some(id) = &entry.intro else { return Ok(()) };
        let Some(intro) = self.store.intro(id)? else { return Ok(()) };
        let message_id = MessageId::new(format!("refused-{}", entry.email.message_id));
        let step = core::step(&intro, &Event::Bounced { role, reason, message_id }, &self.config.policy, now);
        self.commit_step(step, None, now)?;
        Ok(())
    }

    /// A batched transport's group commit: sync what it wrote, then remove
    /// those emails from the outbox and record their names in one
    /// transaction, sync the store, and only then publish them. Never the
    /// other way round: a crash could then lose an email, or show a
    /// consumer the same one twice. Returns whether to go on sending.
    fn forget_written(&self, transport: &mut Transport, sent: &mut Vec<OutboxSeq>) -> Result<bool, EngineError> {
        if sent.is_empty() {
            return Ok(true);
        }
        let names = match transport.sync() {
            Ok(names) => names,
            Err(e) => {
                // Keep them queued; they are written again next time.
                warn!(error = %e, "cannot sync the written emails; they stay queued");
                sent.clear();
                return Ok(false);
            }
        };
        self.store.forget_written(sent, &names)?;
        sent.clear();
        self.store.flush()?;
        if let Err(e) = transport.publish(&names) {
            // Recorded as written: the next drain publishes them first.
            warn!(error = %e, "cannot publish the written emails; will try again");
            return Ok(false);
        }
        Ok(true)
    }
}
