//! The outbox: send what is due, in queue order. An email leaves the
//! outbox only once the transport accepted it (and, for a batched
//! transport, synced it); a transient failure keeps it with a backoff; a
//! permanent one bounces the party it was for.

use std::time::Duration;

use jiff::Timestamp;
use tracing::{Instrument, debug, info_span, warn};

use super::{Engine, EngineError};
use crate::core::{self, Event, MessageId};
use crate::store::{OutboxEntry, OutboxSeq};
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
    /// Sends what is due in the outbox at `now`.
    pub(crate) async fn drain_outbox(
        &self,
        transport: &mut Transport,
        now: Timestamp,
    ) -> Result<DrainReport, EngineError> {
        let mut report = DrainReport::default();
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
                match sent {
                    Ok(()) if transport.is_batched() => {
                        unsynced.push(seq);
                        report.sent += 1;
                        if unsynced.len() >= SYNC_EVERY {
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
                        self.bounce_refused(&entry, reason, now)?;
                    }
                }
            }
        }
        self.forget_sent(transport, &mut unsynced)?;
        self.store.flush()?;
        Ok(report)
    }

    /// A permanently refused email to a party bounces that party.
    fn bounce_refused(&self, entry: &OutboxEntry, reason: String, now: Timestamp) -> Result<(), EngineError> {
        let (Some(id), Some(role)) = (&entry.intro, entry.email.role) else { return Ok(()) };
        let Some(intro) = self.store.intro(id)? else { return Ok(()) };
        let message_id = MessageId::new(format!("refused-{}", entry.email.message_id));
        let step = core::step(&intro, &Event::Bounced { role, reason, message_id }, &self.config.policy, now);
        self.commit_step(step, None, now)?;
        Ok(())
    }

    /// Syncs a batched transport, then removes what it accepted from the
    /// outbox: never the other way round, or a power cut could lose both.
    fn forget_sent(&self, transport: &mut Transport, sent: &mut Vec<OutboxSeq>) -> Result<(), EngineError> {
        if sent.is_empty() {
            return Ok(());
        }
        if let Err(e) = transport.sync() {
            // Keep them queued; sending them again is harmless for a batched transport.
            warn!(error = %e, "cannot sync the sent emails; they stay queued");
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
