//! One inbound message or one due timer, end to end: read it, find the
//! intro, step the core, compose the emails, commit it all at once. And the
//! outbox: send what is queued, keep what failed for later.
//!
//! The engine owns no clock (callers pass `now`) and no mail connection
//! (sources hand it bytes; transports are passed to [`Engine::drain_outbox`]).
//!
//! - [`route`] — what an inbound message is, first match wins (see there);
//! - [`connector`] — connectors' commands by email and the notes answering
//!   them;
//! - [`commit`] — a core step and its emails into the store, in one
//!   transaction; timers; cancelling;
//! - [`drain`] — the outbox: send, retry with backoff, bounce on refusal;
//! - [`refused`] — an introduction the mail server refused when sent;
//! - [`limits`] — whether a request may open an intro (`[limits]`).

mod commit;
mod connector;
mod drain;
mod limits;
mod refused;
mod route;

use std::path::PathBuf;

use jiff::Timestamp;
use tracing::{debug, error, info, info_span};

use crate::compose::{ComposeError, Composer};
use crate::config::Config;
use crate::core::{IntroId, MessageId};
use crate::mail::{self, Inbound};
use crate::store::{Change, Disposition, Processed, Store, StoreError};
use crate::tokens::RandomError;
pub(crate) use drain::{DrainReport, backoff};

/// What can stop the engine from handling something.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An email could not be composed (a template failed).
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// A new configuration moves the store, which cannot move while open.
    #[error("data_dir changed from {} to {}; that needs a restart", from.display(), to.display())]
    DataDirChanged {
        /// The data directory in use.
        from: PathBuf,
        /// The one the new configuration names.
        to: PathBuf,
    },
    /// No randomness for tokens.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// What the engine did with one inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Handled {
    /// Its Message-ID.
    pub message_id: MessageId,
    /// Where it is filed.
    pub disposition: Disposition,
    /// The intro it touched.
    pub intro: Option<IntroId>,
    /// What happened, in a few words.
    pub note: String,
}

/// The engine: config, store and composer.
#[derive(Debug)]
pub(crate) struct Engine {
    config: Config,
    store: Store,
    composer: Composer,
}

impl Engine {
    /// Opens the store and loads the templates.
    pub(crate) fn open(config: Config) -> Result<Engine, EngineError> {
        let composer = Composer::new(&config)?;
        let store = Store::open(&config.data_dir)?;
        Ok(Engine { config, store, composer })
    }

    /// Takes a new configuration (SIGHUP): templates, rules, connectors.
    /// The store cannot move while open, so a new `data_dir` is refused.
    pub(crate) fn reload(&mut self, config: Config) -> Result<(), EngineError> {
        if config.data_dir != self.config.data_dir {
            return Err(EngineError::DataDirChanged { from: self.config.data_dir.clone(), to: config.data_dir });
        }
        self.composer = Composer::new(&config)?;
        self.config = config;
        Ok(())
    }

    /// The store, for reads (CLI, demo, tests).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The config in force.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one inbound message (raw RFC 5322 bytes) and commits the
    /// result. Call [`Store::flush`] before filing the message away.
    ///
    /// Whatever the message is, this returns where to file it and the next
    /// one can be handled: mail bigger than `[limits] max_message_size` is
    /// not parsed, and a message the engine fails on (a template error, a
    /// corrupt record it leads to, a panic: a bug) is recorded as failed
    /// with the reason. Only the store itself failing is an error here:
    /// then nothing is filed and the message is read again later.
    pub(crate) fn handle_inbound(&self, raw: &[u8], now: Timestamp) -> Result<Handled, EngineError> {
        let size = u64::try_from(raw.len()).unwrap_or(u64::MAX);
        if size > self.config.limits.max_message_size {
            let message_id = mail::inbound::fallback_message_id(raw);
            let reason = format!(
                "{size} bytes, more than max_message_size ({} bytes); not read",
                self.config.limits.max_message_size
            );
            error!(%message_id, %reason, "message filed as failed");
            return self.record(&message_id, Disposition::Failed, None, &reason, now);
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle_unguarded(raw, now)));
        let reason = match outcome {
            Ok(Ok(handled)) => return Ok(handled),
            Ok(Err(
                e @ (EngineError::Store(StoreError::Sled { .. } | StoreError::Locked { .. }) | EngineError::Random(_)),
            )) => {
                return Err(e);
            }
            Ok(Err(e)) => e.to_string(),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned());
                format!("internal error (a bug; please report it): {}", what.unwrap_or_default())
            }
        };
        let message_id = mail::inbound::parse(raw)
            .map(|msg| Inbound::read(&msg, None).message_id)
            .unwrap_or_else(|| mail::inbound::fallback_message_id(raw));
        error!(%message_id, %reason, "message filed as failed");
        self.record(&message_id, Disposition::Failed, None, &format!("failed: {reason}"), now)
    }

    fn handle_unguarded(&self, raw: &[u8], now: Timestamp) -> Result<Handled, EngineError> {
        let Some(msg) = mail::inbound::parse(raw) else {
            let message_id = mail::inbound::fallback_message_id(raw);
            return self.record(&message_id, Disposition::Failed, None, "not an email message", now);
        };
        let inbound = Inbound::read(&msg, Some(&self.config.address));
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
        info!(
            disposition = handled.disposition.as_str(),
            intro = handled.intro.as_ref().map(IntroId::as_str),
            "handled"
        );
        // The note may name a person (a request problem, a stranger's address).
        debug!(note = %handled.note, "what happened");
        Ok(handled)
    }

    /// Records what became of an inbound message that changes no intro.
    fn record(
        &self,
        message_id: &MessageId,
        disposition: Disposition,
        intro: Option<IntroId>,
        note: &str,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let processed = Processed { at: now, disposition, intro: intro.clone(), note: note.to_owned() };
        let change = Change { processed: Some((message_id.clone(), processed)), ..Change::default() };
        self.store.commit(&change, now)?;
        Ok(Handled { message_id: message_id.clone(), disposition, intro, note: note.to_owned() })
    }
}

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod tests;
