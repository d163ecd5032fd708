//! The daemon loop: take what waits in the inbox, fire due timers, drain the
//! outbox; then sleep until the next poll or timer, or until asked to stop.
//! `run --once` does one such cycle and returns.
//!
//! Order inside a cycle matters for safety: a batch of inbound messages is
//! committed, then the store is flushed, and only then are the messages
//! filed away and their emails sent. A crash anywhere leaves each message
//! either unprocessed (it is read again; dedupe makes that harmless) or
//! processed with its emails safely in the outbox.

use std::time::Duration;

use jiff::Timestamp;
use tracing::{error, info, warn};

use crate::config::{Config, SourceConfig};
use crate::engine::{DrainReport, Engine, EngineError};
use crate::source::Maildir;
use crate::source::maildir::MaildirError;
use crate::store::Disposition;
use crate::transport::{Transport, TransportError};

/// Messages committed per store flush.
const BATCH: usize = 256;

/// What stops the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The engine (store, templates) failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The Maildir failed.
    #[error(transparent)]
    Maildir(#[from] MaildirError),
    /// The transport could not be set up.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The configured source is not available in this build.
    #[error("{0}")]
    Unsupported(String),
}

/// What one cycle did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// Inbound messages handled, by disposition.
    pub processed: usize,
    /// Ignored inbound messages.
    pub ignored: usize,
    /// Inbound messages that could not be read.
    pub failed: usize,
    /// Timers fired.
    pub timers: usize,
    /// The outbox drain.
    pub outbox: DrainReport,
}

/// Handles everything waiting in a Maildir, in batches.
pub fn take_inbox(
    engine: &Engine,
    maildir: &Maildir,
    now: Timestamp,
) -> Result<CycleReport, DaemonError> {
    let mut report = CycleReport::default();
    let pending = maildir.pending()?;
    for chunk in pending.chunks(BATCH) {
        let mut done = Vec::with_capacity(chunk.len());
        for p in chunk {
            let raw = match maildir.read(p) {
                Ok(Some(raw)) => raw,
                Ok(None) => continue,
                Err(e) => {
                    error!("{e}; left in place");
                    continue;
                }
            };
            let disposition = match engine.handle_inbound(&raw, now) {
                Ok(h) => h.disposition,
                Err(EngineError::Compose(e)) => {
                    // One unusable message (say, an address lettre refuses)
                    // must not hold up the rest of the inbox.
                    error!(file = %p.path.display(), "cannot compose a reply: {e}; filed as failed");
                    Disposition::Failed
                }
                Err(e) => return Err(e.into()),
            };
            match disposition {
                Disposition::Processed => report.processed += 1,
                Disposition::Ignored => report.ignored += 1,
                Disposition::Failed => report.failed += 1,
            }
            done.push((p, disposition));
        }
        engine.store().flush().map_err(EngineError::from)?;
        for (p, d) in done {
            maildir.file(p, d)?;
        }
    }
    Ok(report)
}

/// One full cycle: inbox, timers, outbox.
pub async fn cycle(
    engine: &Engine,
    maildir: &Maildir,
    transport: &mut Transport,
    now: Timestamp,
) -> Result<CycleReport, DaemonError> {
    let mut report = take_inbox(engine, maildir, now)?;
    report.timers = engine.fire_due(now)?.len();
    engine.store().flush().map_err(EngineError::from)?;
    report.outbox = engine.drain_outbox(transport, now).await?;
    Ok(report)
}

/// Runs the daemon until SIGTERM/SIGINT, or one cycle with `once`.
pub async fn run(config: Config, once: bool) -> Result<(), DaemonError> {
    let maildir = match &config.source {
        SourceConfig::Maildir { path, .. } => Maildir::open(path)?,
        SourceConfig::Imap(_) => {
            return Err(DaemonError::Unsupported(
                "the IMAP source is not built yet; use [maildir] for now".into(),
            ));
        }
    };
    let poll = match &config.source {
        SourceConfig::Maildir { poll_interval, .. } => *poll_interval,
        SourceConfig::Imap(i) => i.poll_interval,
    };
    let mut transport = Transport::from_config(&config.transport)?;
    let engine = Engine::open(config)?;
    info!(store = %engine.store().path().display(), "introbot started");
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let report = cycle(&engine, &maildir, &mut transport, Timestamp::now()).await?;
        if report != CycleReport::default() {
            info!(?report, "cycle");
        }
        if once {
            if engine.store().outbox_len() > 0 {
                warn!(
                    waiting = engine.store().outbox_len(),
                    "some emails could not be sent yet; they stay queued"
                );
            }
            return Ok(());
        }
        let wait = next_wake(&engine, poll);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut shutdown => {
                info!("stopping");
                engine.store().flush().map_err(EngineError::from)?;
                return Ok(());
            }
        }
    }
}

/// Sleep until the next poll or the next timer, whichever is first.
fn next_wake(engine: &Engine, poll: Duration) -> Duration {
    let timer = engine.store().next_deadline().ok().flatten().map(|at| {
        let ms = at
            .as_millisecond()
            .saturating_sub(Timestamp::now().as_millisecond());
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    });
    timer.map_or(poll, |t| t.min(poll))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
