//! The daemon loop: take what waits in the inbox, fire due timers, drain the
//! outbox; then sleep until the next poll or timer, or until asked to stop.
//! `run --once` does one such cycle and returns.
//!
//! The daemon never reads the time itself: it asks the [`Clock`] it is given,
//! once per cycle (every decision in the cycle uses that one `now`) and
//! before each wait.
//!
//! Order inside a cycle matters for safety: a batch of inbound messages is
//! committed, then the store is flushed, and only then are the messages
//! filed away and their emails sent. A crash anywhere leaves each message
//! either unprocessed (it is read again; dedupe makes that harmless) or
//! processed with its emails safely in the outbox.
//!
//! No message stops the inbox: one bigger than `[limits] max_message_size`
//! is filed to `introbot/failed` unread, one the engine fails on is filed
//! there with the reason (`Engine::handle_inbound`). SIGTERM and SIGINT are
//! looked for between two messages, so a stop waits for one message's
//! handling at most; what was handled is committed as a batch and filed,
//! the rest stays for next time. The systemd watchdog is pinged between
//! messages too (between batches with a Maildir and an outbox directory).
//!
//! Group commit: a batch of up to [`BATCH`] inbound messages is staged in
//! memory as each is handled, then written in one store transaction and
//! synced once (`begin_group`/`end_group`, `store::batch`); everything a
//! message's step writes (the intro, its emails, the processed marker, the
//! limits' ledger) is in that one transaction. A crash before the sync
//! loses the batch, none of which was filed or sent: it is read again.
//!
//! With a Maildir and an outbox directory the batches are pipelined over
//! four threads ([`take_inbox_pipelined`]): one handles the next batch, one
//! writes the emails of the batch before it as staged files, this one
//! writes the batches before those to the store (their emails written
//! through to the directory in the same group write rather than queued and
//! drained), and one publishes and files what is written.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tracing::{Instrument, error, info, info_span, warn};

use crate::clock::Clock;
use crate::config::{Config, ConfigError, ImapConfig, SourceConfig};
use crate::control::ControlSocket;
use crate::engine::{DrainReport, Engine, EngineError};
use crate::error::Chain;
use crate::failpoint::{self, Point};
use crate::source::imap::{ImapError, ImapSource};
use crate::source::maildir::MaildirError;
use crate::source::maildir::Pending;
use crate::source::{Maildir, Uid};
use crate::store::{Disposition, OutboxSeq, Sealed, StoreError};
use crate::transport::{Stager, Transport, TransportError};

/// Inbound messages per group commit (one sled transaction, one sync).
/// Larger batches sync less but cost memory while the batch's transaction
/// is written (sled keeps every replaced page until it ends): 256 raised
/// the peak RSS of `run --once` over 2,000 requests from 36 to 60 MB for no
/// measurable gain over 64 (BENCHMARKS.md); over 10,000 requests the peak
/// was 50.8 MB at 64, 45.0 at 32, 40.8 at 16, user CPU the same within
/// noise (7.5 to 8.5 s). 32 keeps a sync per 32 messages.
const BATCH: usize = 32;

/// Sealed batches written together at most, when the writer of
/// [`take_inbox_pipelined`] has fallen behind the handler (and how many may
/// wait for it: each holds a batch's staged changes in memory).
const GROUP: usize = 4;

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
    /// The control socket could not be set up.
    #[error("cannot listen on the control socket {}", path.display())]
    Control {
        /// The socket's path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The signal handlers could not be installed.
    #[error("cannot listen for SIGTERM/SIGINT/SIGHUP")]
    Signals(#[source] std::io::Error),
    /// The IMAP source failed.
    #[error(transparent)]
    Imap(#[from] ImapError),
    /// No thread to handle the inbox on.
    #[error("cannot start the inbox's handler thread")]
    Thread(#[source] std::io::Error),
    /// The inbox's handler thread panicked (a message's own panic is caught
    /// and files it as failed; this is anything else).
    #[error("the inbox's handler thread panicked; what it handled since the last written batch is read again")]
    HandlerPanicked,
    /// The inbox's publishing thread ended before it published and filed
    /// what it was given (it panicked).
    #[error(
        "the thread publishing written emails ended early; they are recorded, and published before anything else is sent"
    )]
    PublisherEnded,
}

impl DaemonError {
    /// Whether the store's file system failed: the daemon waits and reopens
    /// it rather than exit.
    fn is_store_io(&self) -> bool {
        matches!(self, DaemonError::Engine(EngineError::Store(e)) if e.is_io())
    }
}

/// What one cycle did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CycleReport {
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
    /// SIGTERM/SIGINT came while taking the inbox: the rest waits.
    pub interrupted: bool,
}

/// Tells systemd (when it started us with `Type=notify`) how we are doing;
/// a no-op otherwise.
fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        warn!(error = %Chain(&e), "cannot notify systemd");
    }
}

/// The longest the loop may sleep: half the systemd watchdog interval when
/// there is one, so a ping is never late.
fn watchdog_cap(wait: Duration) -> Duration {
    sd_notify::watchdog_enabled().map_or(wait, |w| wait.min(w / 2))
}

/// Handles one inbound message and counts it; returns where to file it.
fn handle_one(
    engine: &Engine,
    raw: &[u8],
    now: Timestamp,
    report: &mut CycleReport,
) -> Result<Disposition, DaemonError> {
    let disposition = engine.handle_inbound(raw, now)?.disposition;
    failpoint::hit(Point::InboundCommitted);
    match disposition {
        Disposition::Processed => report.processed += 1,
        Disposition::Ignored => report.ignored += 1,
        Disposition::Failed => report.failed += 1,
    }
    Ok(disposition)
}

/// What is checked between two inbound messages: a stop signal, and
/// whether the watchdog is due a ping.
pub(crate) struct Between<'a> {
    signals: Option<&'a mut Signals>,
    pinged: std::time::Instant,
}

impl Between<'_> {
    /// Nothing to look for (the demo, tests).
    pub(crate) fn nothing() -> Between<'static> {
        Between { signals: None, pinged: std::time::Instant::now() }
    }

    /// Pings the watchdog if a few seconds went by since the last ping.
    fn ping_watchdog(&mut self) {
        if self.pinged.elapsed() >= Duration::from_secs(5) {
            notify(&[sd_notify::NotifyState::Watchdog]);
            self.pinged = std::time::Instant::now();
        }
    }

    /// Waits for SIGTERM/SIGINT (forever without signals to watch).
    async fn stop_signal(&mut self) {
        match &mut self.signals {
            Some(signals) => signals.stop_received().await,
            None => std::future::pending().await,
        }
    }

    /// Whether SIGTERM/SIGINT came; lets the runtime take in pending
    /// signals first (one yield), and pings the watchdog every few seconds.
    async fn stop_requested(&mut self) -> bool {
        self.ping_watchdog();
        match &mut self.signals {
            Some(signals) => {
                tokio::task::yield_now().await;
                signals.stop_pending()
            }
            None => false,
        }
    }
}

/// Group commit, first half: from here the store stages every commit of
/// this thread in memory (`store::batch`), so a batch of inbound messages
/// is written in one transaction and synced once by [`end_group`].
fn begin_group(engine: &Engine) {
    engine.store().begin_batch();
}

/// Group commit, second half: on success writes the batch in one
/// transaction and syncs once; only after this returns may the batch be
/// filed away or its emails sent. On an error nothing of the batch is
/// written: its messages are handled again next time.
fn end_group<T>(engine: &Engine, handled: Result<T, DaemonError>) -> Result<T, DaemonError> {
    let store = engine.store();
    let handled = match handled {
        Ok(handled) => handled,
        Err(e) => {
            store.abort_batch();
            return Err(e);
        }
    };
    store.commit_batch().map_err(EngineError::from)?;
    store.flush().map_err(EngineError::from)?;
    failpoint::hit(Point::BatchSynced);
    Ok(handled)
}

/// One waiting Maildir message of a batch: filed as failed unread when
/// bigger than `max`, else read and handled. `None` when it cannot be read
/// (left in place) or is gone.
fn handle_pending(
    engine: &Engine,
    maildir: &Maildir,
    p: &Pending,
    now: Timestamp,
    report: &mut CycleReport,
) -> Result<Option<Disposition>, DaemonError> {
    let max = engine.config().limits.max_message_size;
    if p.size > max {
        error!(file = %p.path.display(), size = p.size, max, "bigger than max_message_size: filed as failed, unread");
        report.failed += 1;
        return Ok(Some(Disposition::Failed));
    }
    let raw = match maildir.read(p) {
        Ok(Some(raw)) => raw,
        Ok(None) => return Ok(None),
        Err(e) => {
            error!(error = %Chain(&e), "a message cannot be read; left in place");
            return Ok(None);
        }
    };
    let span = info_span!("maildir", file = %p.path.display());
    let _enter = span.enter();
    handle_one(engine, &raw, now, report).map(Some)
}

/// Files a synced batch away.
fn file_batch<'a>(
    maildir: &Maildir,
    done: impl IntoIterator<Item = (&'a Pending, Disposition)>,
) -> Result<(), DaemonError> {
    for (p, d) in done {
        maildir.file(p, d)?;
    }
    failpoint::hit(Point::BatchFiled);
    Ok(())
}

/// Handles everything waiting in a Maildir, in batches.
pub(crate) async fn take_inbox(engine: &Engine, maildir: &Maildir, now: Timestamp) -> Result<CycleReport, DaemonError> {
    take_inbox_until(engine, maildir, now, &mut Between::nothing()).await
}

/// [`take_inbox`], stopping between two messages when asked to: the
/// messages handled so far are committed as a batch and filed, the rest
/// stays for next time.
async fn take_inbox_until(
    engine: &Engine,
    maildir: &Maildir,
    now: Timestamp,
    between: &mut Between<'_>,
) -> Result<CycleReport, DaemonError> {
    let mut report = CycleReport::default();
    let pending = maildir.pending()?;
    for chunk in pending.chunks(BATCH) {
        let mut done = Vec::with_capacity(chunk.len());
        begin_group(engine);
        let mut handled = Ok(());
        for p in chunk {
            if between.stop_requested().await {
                report.interrupted = true;
                break;
            }
            match handle_pending(engine, maildir, p, now, &mut report) {
                Ok(Some(d)) => done.push((p, d)),
                Ok(None) => {}
                Err(e) => {
                    handled = Err(e);
                    break;
                }
            }
        }
        end_group(engine, handled)?;
        file_batch(maildir, done)?;
        if report.interrupted {
            break;
        }
    }
    Ok(report)
}

/// One full cycle: inbox, timers, outbox; timers and outbox are skipped
/// when a stop came while taking the inbox.
async fn cycle_until(
    engine: &Arc<Engine>,
    maildir: &Maildir,
    transport: &mut Transport,
    now: Timestamp,
    between: &mut Between<'_>,
) -> Result<CycleReport, DaemonError> {
    let mut report = if transport.is_batched() {
        take_inbox_pipelined(engine, maildir, transport, now, between).await?
    } else {
        take_inbox_until(engine, maildir, now, between).await?
    };
    if report.interrupted {
        return Ok(report);
    }
    report.timers = engine.fire_due(now)?.len();
    engine.store().flush().map_err(EngineError::from)?;
    report.outbox += engine.drain_outbox(transport, now).await?;
    Ok(report)
}

/// [`take_inbox`] as a pipeline over four threads, for a batched transport
/// (the outbox directory): a handler thread (`inbox`) reads and handles
/// one batch after another, staging each in the store and sealing it
/// ([`crate::store::Store::seal_batch`]); a staging thread (`stage`) writes
/// each sealed batch's emails as hidden staged files (a fifth of the
/// handler's time when it did that itself, nearly all of it the kernel
/// creating files); this thread syncs those files, writes the batch (as
/// one group with the others waiting, through a redo record that makes
/// the group all or nothing: `store::redo`) with them recorded as written,
/// syncs the store, and hands the group to a publishing thread (`publish`,
/// [`Publisher`]) that publishes the files and files the messages, while
/// the handler already works on the next batch on top of it. The order
/// that keeps a crash harmless is unchanged for every batch: nothing is
/// visible or filed before the store is synced, and a group's files stay
/// recorded as being published until the publishing thread is done.
///
/// A stop signal is seen here while waiting for the handler, which stops
/// between two messages: what it handled is sealed, written and filed, the
/// rest stays for next time. If writing a batch fails, the batches staged
/// on top of it are dropped unwritten and their messages are read again.
async fn take_inbox_pipelined(
    engine: &Arc<Engine>,
    maildir: &Maildir,
    transport: &mut Transport,
    now: Timestamp,
    between: &mut Between<'_>,
) -> Result<CycleReport, DaemonError> {
    let mut report = CycleReport::default();
    let pending = maildir.pending()?;
    if pending.is_empty() {
        return Ok(report);
    }
    let stop = Arc::new(AtomicBool::new(false));
    // The handler writes each batch's emails as staged files, unless names
    // an earlier run recorded are still to publish (the first publish also
    // sweeps stale staged files, which must not meet new ones).
    let stager = match engine.publish_recorded(transport)? {
        true => transport.stager(),
        false => None,
    };
    // Sealed batches may wait while the one before them is written.
    let (batches, mut handled) = tokio::sync::mpsc::channel(GROUP);
    let span = tracing::Span::current();
    // With a stager, a thread of its own writes each sealed batch's emails
    // while the handler goes on with the next batch and this thread writes
    // the one before: creating a file is the kernel's slowest step here.
    // And a thread of its own publishes each written group's files and
    // files its messages, while this one writes the next group.
    let (to_next, stage, mut publisher) = match stager {
        Some(stager) => {
            let (sealed, unstaged) = tokio::sync::mpsc::channel(1);
            let publisher = Publisher::start(stager.clone(), maildir.clone(), span.clone())?;
            let span = span.clone();
            let stage = move || stage_batches(&stager, unstaged, &batches);
            let thread = std::thread::Builder::new()
                .name("stage".into())
                .spawn(move || span.in_scope(stage))
                .map_err(DaemonError::Thread)?;
            (sealed, Some(thread), Some(publisher))
        }
        None => (batches, None, None),
    };
    let handler = {
        let (engine, maildir, stop) = (Arc::clone(engine), maildir.clone(), Arc::clone(&stop));
        let handle = move || handle_batches(&engine, &maildir, &pending, now, &stop, &to_next);
        std::thread::Builder::new()
            .name("inbox".into())
            .spawn(move || span.in_scope(handle))
            .map_err(DaemonError::Thread)?
    };
    let mut result = Ok(());
    loop {
        let next = tokio::select! {
            next = handled.recv() => next,
            () = between.stop_signal(), if !report.interrupted => {
                report.interrupted = true;
                stop.store(true, Ordering::Relaxed);
                continue;
            }
        };
        let Some(next) = next else { break };
        // Group commit across batches: whatever else the handler sealed
        // meanwhile is written with this one (one group, one sync),
        // so a writer that falls behind catches up.
        let mut group = vec![next];
        while group.len() < GROUP
            && matches!(group.last(), Some(HandledBatch::Sealed { .. }))
            && let Ok(more) = handled.try_recv()
        {
            group.push(more);
        }
        let written = write_group(engine, maildir, transport, publisher.as_mut(), group, &mut report);
        between.ping_watchdog();
        if let Err(e) = written {
            result = Err(e);
            break;
        }
    }
    // The handler ends at its next message (or send) once told, or by itself.
    stop.store(true, Ordering::Relaxed);
    drop(handled);
    let joined = handler.join();
    let staged = stage.map(std::thread::JoinHandle::join);
    if let Some(publisher) = publisher.as_mut() {
        let published = publisher.end(transport);
        result = result.and(published);
    }
    result?;
    joined.map_err(|_| DaemonError::HandlerPanicked)?;
    staged.transpose().map_err(|_| DaemonError::HandlerPanicked)?;
    Ok(report)
}

/// What the handler thread of [`take_inbox_pipelined`] passes on.
enum HandledBatch {
    /// A batch handled and sealed: its staged changes, the emails of it
    /// written as staged files (by outbox position, with their names),
    /// where to file each message once they are synced, and how many of
    /// each disposition.
    Sealed { layer: Sealed, staged: Vec<(OutboxSeq, String)>, done: Vec<(Pending, Disposition)>, counts: CycleReport },
    /// Handling failed: nothing of the batch was sealed.
    Failed(DaemonError),
}

/// The handler thread of [`take_inbox_pipelined`]: handles `pending` in
/// batches of [`BATCH`], each staged in the store's batch and sealed, and
/// sends them on in order (their emails not yet written); stops between
/// two messages once `stop` is set, and when the receiver is gone.
fn handle_batches(
    engine: &Engine,
    maildir: &Maildir,
    pending: &[Pending],
    now: Timestamp,
    stop: &AtomicBool,
    batches: &tokio::sync::mpsc::Sender<HandledBatch>,
) {
    let store = engine.store();
    store.begin_batch();
    'batches: for chunk in pending.chunks(BATCH) {
        let mut done = Vec::with_capacity(chunk.len());
        let mut counts = CycleReport::default();
        let mut stopped = false;
        for p in chunk {
            if stop.load(Ordering::Relaxed) {
                stopped = true;
                break;
            }
            match handle_pending(engine, maildir, p, now, &mut counts) {
                Ok(Some(d)) => done.push((p.clone(), d)),
                Ok(None) => {}
                Err(e) => {
                    // What this batch staged goes with the batch, below.
                    let _ = batches.blocking_send(HandledBatch::Failed(e));
                    break 'batches;
                }
            }
        }
        let Some(layer) = store.seal_batch() else { break };
        if batches.blocking_send(HandledBatch::Sealed { layer, staged: Vec::new(), done, counts }).is_err() || stopped {
            break;
        }
    }
    // Sealed layers are the writer's now; whatever else is dropped.
    store.abort_batch();
}

/// The staging thread of [`take_inbox_pipelined`]: writes the emails of
/// each sealed batch from the handler as staged files and passes the batch
/// on to the writer, in order, until either side is gone.
fn stage_batches(
    stager: &Stager,
    mut unstaged: tokio::sync::mpsc::Receiver<HandledBatch>,
    staged: &tokio::sync::mpsc::Sender<HandledBatch>,
) {
    while let Some(mut batch) = unstaged.blocking_recv() {
        if let HandledBatch::Sealed { layer, staged: files, .. } = &mut batch {
            *files = stage_emails(stager, layer);
        }
        if staged.blocking_send(batch).is_err() {
            break;
        }
    }
}

/// Writes the emails a sealed batch queues as staged files, in queue
/// order, until one fails (it and the rest stay queued for the drain).
fn stage_emails(stager: &Stager, layer: &Sealed) -> Vec<(OutboxSeq, String)> {
    let mut staged = Vec::new();
    for (seq, entry) in layer.queued() {
        let span = info_span!("stage", message_id = %entry.email.message_id, kind = %entry.email.kind);
        let _enter = span.enter();
        match stager.stage(&entry.email) {
            Ok(name) => staged.push((seq, name)),
            Err(e) => {
                warn!(error = %e, "cannot write an email; it and the rest of its batch stay queued");
                break;
            }
        }
    }
    staged
}

/// The writing half of [`take_inbox_pipelined`] for sealed batches taken
/// together: written as one group with their staged emails and synced
/// ([`Engine::commit_sealed`]), then published and filed (by `publisher`
/// when there is one). A failed handling in the group (always its last)
/// is returned after the batches before it are written.
fn write_group(
    engine: &Engine,
    maildir: &Maildir,
    transport: &mut Transport,
    publisher: Option<&mut Publisher>,
    group: Vec<HandledBatch>,
    report: &mut CycleReport,
) -> Result<(), DaemonError> {
    let (mut layers, mut staged, mut done, mut failed) = (Vec::new(), Vec::new(), Vec::new(), None);
    for batch in group {
        match batch {
            HandledBatch::Sealed { layer, staged: files, done: messages, counts } => {
                report.processed += counts.processed;
                report.ignored += counts.ignored;
                report.failed += counts.failed;
                layers.push(layer);
                staged.extend(files);
                done.extend(messages);
            }
            HandledBatch::Failed(e) => failed = Some(e),
        }
    }
    if !layers.is_empty() {
        match publisher {
            Some(publisher) => {
                let publishing = publisher.take_finished(transport)?;
                let (sent, names) = engine.commit_sealed(transport, &layers, staged, &publishing)?;
                report.outbox += sent;
                publisher.hand_over(transport, names, done)?;
            }
            // No stager, so nothing was written through: nothing to publish.
            None => {
                report.outbox += engine.commit_sealed(transport, &layers, staged, &[])?.0;
                file_batch(maildir, done.iter().map(|(p, d)| (p, *d)))?;
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// A synced group for the [`Publisher`]: its ticket, the names of its
/// files, and where to file its messages.
type Synced = (u64, Vec<String>, Vec<(Pending, Disposition)>);

/// The publishing thread of [`take_inbox_pipelined`] (`publish`): takes
/// each group the writer has synced, publishes its files and files its
/// messages, and says when it is done with it. Until then the group's names
/// stay recorded as being published with every later group (the writer
/// asks [`Publisher::take_finished`] which to record again), so a crash
/// while they wait still finds them in the store.
struct Publisher {
    to_publish: Option<std::sync::mpsc::SyncSender<Synced>>,
    finished: std::sync::mpsc::Receiver<(u64, Result<bool, DaemonError>)>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Names handed over and not yet known published, by ticket (one
    /// whose publishing failed stays for the rest of the pipeline, even
    /// once the transport has published the recorded names itself:
    /// recording a published name again is harmless).
    waiting: std::collections::BTreeMap<u64, Vec<String>>,
    next_ticket: u64,
}

impl Publisher {
    fn start(stager: Stager, maildir: Maildir, span: tracing::Span) -> Result<Publisher, DaemonError> {
        // One group may wait while the one before it is published.
        let (to_publish, work) = std::sync::mpsc::sync_channel::<Synced>(1);
        let (done, finished) = std::sync::mpsc::channel();
        let publish = move || {
            for (ticket, names, messages) in work {
                failpoint::pause(Point::PublishPaused);
                let published = match stager.publish(&names) {
                    Ok(()) => true,
                    Err(e) => {
                        warn!(error = %e, "cannot publish the written emails; will try again");
                        false
                    }
                };
                let filed = file_batch(&maildir, messages.iter().map(|(p, d)| (p, *d)));
                let failed = filed.is_err();
                if done.send((ticket, filed.map(|()| published))).is_err() || failed {
                    break;
                }
            }
        };
        let thread = std::thread::Builder::new()
            .name("publish".into())
            .spawn(move || span.in_scope(publish))
            .map_err(DaemonError::Thread)?;
        Ok(Publisher {
            to_publish: Some(to_publish),
            finished,
            thread: Some(thread),
            waiting: std::collections::BTreeMap::new(),
            next_ticket: 0,
        })
    }

    /// Takes in what the thread finished; returns the names still waiting
    /// to be published, to be recorded again with the next group. A group
    /// whose publishing failed stays waiting (and the transport publishes
    /// the recorded names itself before it writes more); one whose filing
    /// failed ends the pipeline.
    fn take_finished(&mut self, transport: &mut Transport) -> Result<Vec<String>, DaemonError> {
        while let Ok((ticket, outcome)) = self.finished.try_recv() {
            self.finish_one(transport, ticket, outcome)?;
        }
        Ok(self.waiting.values().flatten().cloned().collect())
    }

    fn finish_one(
        &mut self,
        transport: &mut Transport,
        ticket: u64,
        outcome: Result<bool, DaemonError>,
    ) -> Result<(), DaemonError> {
        match outcome? {
            true => {
                self.waiting.remove(&ticket);
            }
            false => transport.make_unsure(),
        }
        Ok(())
    }

    /// Hands a synced group's names and messages to the thread.
    fn hand_over(
        &mut self,
        transport: &mut Transport,
        names: Vec<String>,
        messages: Vec<(Pending, Disposition)>,
    ) -> Result<(), DaemonError> {
        self.next_ticket += 1;
        self.waiting.insert(self.next_ticket, names.clone());
        match self.to_publish.as_ref().map(|to| to.send((self.next_ticket, names, messages))) {
            Some(Ok(())) => Ok(()),
            // The thread ended on an error, which this returns.
            _ => self.end(transport).and(Err(DaemonError::PublisherEnded)),
        }
    }

    /// Waits for the thread to publish and file everything handed over.
    /// If it ended early (a filing error, a panic), what it left is still
    /// recorded: the transport is told to publish the recorded names before
    /// it sends anything else, in this process too (the daemon goes on
    /// after a store error).
    fn end(&mut self, transport: &mut Transport) -> Result<(), DaemonError> {
        self.to_publish = None;
        let joined = self.thread.take().map(std::thread::JoinHandle::join);
        let mut result = Ok(());
        while let Ok((ticket, outcome)) = self.finished.try_recv() {
            let finished = self.finish_one(transport, ticket, outcome);
            result = result.and(finished);
        }
        if !self.waiting.is_empty() {
            transport.make_unsure();
        }
        match joined {
            Some(Err(_)) => result.and(Err(DaemonError::PublisherEnded)),
            _ => result,
        }
    }
}

/// Runs the daemon until SIGTERM/SIGINT, or one cycle with `once`, taking
/// the time from `clock`. SIGHUP re-reads the config file and templates; a
/// bad new config is refused with an error in the log, and the old one stays
/// in force.
pub async fn run(config: Config, once: bool, clock: &dyn Clock) -> Result<(), DaemonError> {
    failpoint::report_unknown();
    let mut signals = Signals::install()?;
    let mut transport = Transport::from_config(&config.transport)?;
    let mut engine = Arc::new(Engine::open(config)?);
    // Previews stored before they expired wait forever otherwise.
    engine.arm_waiting_previews(clock.now())?;
    let socket = crate::control::listen_path(engine.config());
    let control =
        ControlSocket::bind(&socket).map_err(|source| DaemonError::Control { path: socket.clone(), source })?;
    info!(store = %engine.store().path().display(), control = %socket.display(), "introbot started");
    log_security(engine.config());
    loop {
        let mut waker = Waker { signals: &mut signals, control: &control, clock };
        let result = match engine.config().source.clone() {
            SourceConfig::Maildir { path, poll_interval } => match Maildir::open(&path) {
                Ok(maildir) => run_maildir(&engine, &maildir, &mut transport, poll_interval, once, &mut waker).await,
                Err(e) => Err(e.into()),
            },
            SourceConfig::Imap(imap) => run_imap(&engine, &imap, &mut transport, once, &mut waker).await,
        };
        match result {
            Ok(Exit::Stopped) => return Ok(()),
            // The inbox's handler thread, the only other holder, has ended
            // with its cycle.
            Ok(Exit::Reload) => match Arc::get_mut(&mut engine) {
                Some(engine) => reload(engine, &mut transport),
                None => error!("the engine is still in use; the configuration is not reloaded"),
            },
            Err(e) if !once && e.is_store_io() => {
                // The file system under the store failed (full, say). sled
                // refuses every write after an IO error, so the store is
                // closed and opened again once it works: what was committed
                // but not synced is gone, and since nothing is filed or sent
                // before a sync, those messages are simply read again. But a
                // group of the inbox pipeline whose redo record was synced
                // is finished by the reopen, its staged files recorded as
                // being published: they are published before anything else
                // is sent.
                transport.make_unsure();
                error!(
                    error = %Chain(&e),
                    "the store failed; nothing since its last sync was filed or sent; waiting for it to work again"
                );
                let config = engine.config().clone();
                drop(engine);
                match reopen(config, &mut waker).await? {
                    Some(reopened) => engine = Arc::new(reopened),
                    None => return Ok(()),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Opens the store again after a failure of its file system, with backoff,
/// until it works or a stop signal comes (then `None`). Control requests
/// meanwhile get no answer: the CLI says the daemon did not respond.
async fn reopen(config: Config, waker: &mut Waker<'_>) -> Result<Option<Engine>, DaemonError> {
    notify(&[sd_notify::NotifyState::Status("waiting for the store's file system")]);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let wait = watchdog_cap(crate::engine::backoff(attempt, config.backoff_max));
        warn!(attempt, ?wait, store = %config.data_dir.display(), "reopening the store after a backoff");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            w = waker.wake() => match w {
                Wake::Stop => {
                    info!("stopping");
                    return Ok(None);
                }
                // The new config is read once the store is back.
                Wake::Reload | Wake::Control(_) => {}
            },
        }
        notify(&[sd_notify::NotifyState::Watchdog]);
        match Engine::open(config.clone()) {
            Ok(engine) => {
                info!(store = %config.data_dir.display(), "store reopened; carrying on");
                notify(&[sd_notify::NotifyState::Status("store reopened")]);
                return Ok(Some(engine));
            }
            // Still failing, or the old handle not yet let go.
            Err(EngineError::Store(e)) if e.is_io() || matches!(e, StoreError::Locked { .. }) => {
                error!(attempt, error = %Chain(&e), "the store still fails");
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Says plainly at start (and reload) whose word the bot takes for a
/// connector's: without `[security] authserv_id`, anyone's.
fn log_security(config: &Config) {
    let policy = &config.security;
    match policy.authserv_id.as_deref() {
        Some(id) if policy.is_enforced() => {
            info!(
                authserv_id = id,
                require = policy.require.as_str(),
                "sender authentication: a connector's mail must pass it to start or change an intro"
            );
        }
        Some(id) => warn!(
            authserv_id = id,
            "[security] require = \"none\": anyone who can forge a connector's From address can start intros"
        ),
        None => warn!(
            "no [security] authserv_id: anyone who can forge a connector's From address can start intros (see SECURITY.md)"
        ),
    }
}

/// How a run loop ended.
enum Exit {
    /// Asked to stop (or `--once` done).
    Stopped,
    /// SIGHUP: re-read the config, then go on.
    Reload,
}

/// Why a new configuration was refused on SIGHUP.
#[derive(Debug, thiserror::Error)]
enum ReloadError {
    /// The file does not validate.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Its transport cannot be set up.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The engine cannot take it (templates, a moved store).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn reload(engine: &mut Engine, transport: &mut Transport) {
    notify(&[sd_notify::NotifyState::Reloading]);
    let path = engine.config().path.clone();
    let result = (|| -> Result<(), ReloadError> {
        let config = Config::load(&path)?;
        let new_transport = Transport::from_config(&config.transport)?;
        engine.reload(config)?;
        *transport = new_transport;
        Ok(())
    })();
    match result {
        Ok(()) => {
            info!(config = %path.display(), "configuration reloaded");
            log_security(engine.config());
        }
        Err(e) => {
            error!(config = %path.display(), error = %Chain(&e), "new configuration refused, the old one stays in force")
        }
    }
    notify(&[sd_notify::NotifyState::Ready]);
}

async fn run_maildir(
    engine: &Arc<Engine>,
    maildir: &Maildir,
    transport: &mut Transport,
    poll: Duration,
    once: bool,
    waker: &mut Waker<'_>,
) -> Result<Exit, DaemonError> {
    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status("watching the maildir")]);
    loop {
        let now = waker.clock.now();
        let mut between = Between { signals: Some(&mut *waker.signals), pinged: std::time::Instant::now() };
        let report = cycle_until(engine, maildir, transport, now, &mut between).await?;
        notify(&[sd_notify::NotifyState::Watchdog]);
        log_cycle(engine, &report, once);
        if report.interrupted {
            return stop(engine, None).await;
        }
        if once {
            return Ok(Exit::Stopped);
        }
        let wait = watchdog_cap(next_wake(engine, poll, waker.clock.now())?);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            w = waker.wake() => match w {
                Wake::Stop => return stop(engine, None).await,
                Wake::Reload => return Ok(Exit::Reload),
                Wake::Control(conn) => waker.serve(engine, conn).await,
            },
        }
    }
}

fn log_cycle(engine: &Engine, report: &CycleReport, once: bool) {
    if *report != CycleReport::default() {
        info!(?report, "cycle");
    }
    if once && engine.store().outbox_len() > 0 {
        warn!(waiting = engine.store().outbox_len(), "some emails could not be sent yet; they stay queued");
    }
}

/// Handles everything new in the IMAP mailbox, in batches: commit, flush,
/// then file the batch away and remember the last UID; stops between two
/// messages when asked to.
async fn take_imap_until(
    engine: &Engine,
    source: &mut ImapSource,
    mailbox: &str,
    now: Timestamp,
    between: &mut Between<'_>,
) -> Result<CycleReport, DaemonError> {
    let mut report = CycleReport::default();
    let max = engine.config().limits.max_message_size;
    let store = engine.store();
    let mut after = match store.imap_position(mailbox).map_err(EngineError::from)? {
        Some((validity, last)) if validity == source.uid_validity() => Some(last),
        Some(_) => {
            warn!(
                uid_validity = source.uid_validity().get(),
                "UIDVALIDITY changed: rescanning the mailbox (already handled mail is recognised by Message-ID)"
            );
            None
        }
        None => None,
    };
    while !report.interrupted {
        let batch = source.fetch_new(after, BATCH, max).await?;
        if batch.is_empty() {
            break;
        }
        failpoint::hit(Point::ImapFetched);
        let mut filed: [(Disposition, Vec<Uid>); 3] = [
            (Disposition::Processed, Vec::new()),
            (Disposition::Ignored, Vec::new()),
            (Disposition::Failed, Vec::new()),
        ];
        let mut last = None;
        begin_group(engine);
        let mut handled = Ok(());
        for msg in &batch {
            if between.stop_requested().await {
                report.interrupted = true;
                break;
            }
            let span = info_span!("imap", uid = msg.uid.get());
            let _enter = span.enter();
            let d = match &msg.raw {
                Some(raw) => match handle_one(engine, raw, now, &mut report) {
                    Ok(d) => d,
                    Err(e) => {
                        handled = Err(e);
                        break;
                    }
                },
                None => {
                    error!(size = msg.size, max, "bigger than max_message_size: filed as failed, unread");
                    report.failed += 1;
                    Disposition::Failed
                }
            };
            if let Some((_, uids)) = filed.iter_mut().find(|(x, _)| *x == d) {
                uids.push(msg.uid);
            }
            last = Some(msg.uid);
        }
        end_group(engine, handled)?;
        for (d, uids) in &filed {
            source.file(uids, *d).await?;
        }
        failpoint::hit(Point::BatchFiled);
        let Some(last) = last else { break };
        store.set_imap_position(mailbox, source.uid_validity(), last).map_err(EngineError::from)?;
        after = Some(last);
    }
    Ok(report)
}

async fn run_imap(
    engine: &Engine,
    imap: &ImapConfig,
    transport: &mut Transport,
    once: bool,
    waker: &mut Waker<'_>,
) -> Result<Exit, DaemonError> {
    let mut source: Option<ImapSource> = None;
    let mut failures = 0u32;
    let mut ready = false;
    loop {
        if source.is_none() {
            match ImapSource::connect(imap).await {
                Ok(s) => {
                    failures = 0;
                    // Ready once the store is open and a login worked; later
                    // reconnects only update the status line.
                    if !ready {
                        notify(&[sd_notify::NotifyState::Ready]);
                        ready = true;
                    }
                    notify(&[sd_notify::NotifyState::Status("connected")]);
                    source = Some(s);
                }
                // Wrong credentials will not fix themselves; --once reports and exits.
                Err(e) if e.is_permanent() || once => return Err(e.into()),
                Err(e) => {
                    failures += 1;
                    warn!(attempt = failures, error = %Chain(&e), "imap unavailable");
                    notify(&[sd_notify::NotifyState::Status("reconnecting to IMAP")]);
                }
            }
        }
        let now = waker.clock.now();
        let mut report = CycleReport::default();
        if let Some(mut current) = source.take() {
            let session = current.span();
            let mut between = Between { signals: Some(&mut *waker.signals), pinged: std::time::Instant::now() };
            let taken = take_imap_until(engine, &mut current, &imap.mailbox, now, &mut between)
                .instrument(session.clone())
                .await;
            match taken {
                Ok(r) => {
                    report = r;
                    source = Some(current);
                }
                Err(DaemonError::Imap(e)) if !once => {
                    failures += 1;
                    warn!(parent: &session, attempt = failures, error = %Chain(&e), "imap failed");
                }
                Err(e) => return Err(e),
            }
        }
        if report.interrupted {
            log_cycle(engine, &report, once);
            return stop(engine, source.take()).await;
        }
        // Timers and the outbox do not wait for IMAP: an outage of the
        // inbox stops neither follow-ups nor sending.
        report.timers = engine.fire_due(now)?.len();
        engine.store().flush().map_err(EngineError::from)?;
        report.outbox = engine.drain_outbox(transport, now).await?;
        notify(&[sd_notify::NotifyState::Watchdog]);
        log_cycle(engine, &report, once);
        if once {
            if let Some(s) = source {
                s.logout().await;
            }
            return Ok(Exit::Stopped);
        }
        let Some(current) = source.take() else {
            // Disconnected: back off before the next login, but wake for
            // our own timers and retries meanwhile.
            let backoff = crate::engine::backoff(failures.max(1), engine.config().backoff_max);
            let wait = watchdog_cap(next_wake(engine, backoff, waker.clock.now())?);
            warn!(attempt = failures, ?wait, "imap unreachable; reconnecting after a backoff");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                w = waker.wake() => if let Some(exit) = woken(engine, waker, w, &mut source).await? {
                    return Ok(exit);
                },
            }
            continue;
        };
        // With IDLE the server tells us of new mail; we only wake for our
        // own timers and retries (and renew IDLE well within 29 minutes).
        let session = current.span();
        let idle = current.uses_idle();
        let poll = if idle { Duration::from_secs(25 * 60) } else { imap.poll_interval };
        let wait = watchdog_cap(next_wake(engine, poll, waker.clock.now())?);
        if idle {
            match current.idle(wait, waker.wake()).instrument(session.clone()).await {
                Ok((s, None)) => source = Some(s),
                Ok((s, Some(w))) => {
                    source = Some(s);
                    if let Some(exit) = woken(engine, waker, w, &mut source).await? {
                        return Ok(exit);
                    }
                }
                Err(e) => {
                    failures += 1;
                    warn!(parent: &session, attempt = failures, error = %Chain(&e), "imap failed; reconnecting");
                }
            }
        } else {
            source = Some(current);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                w = waker.wake() => if let Some(exit) = woken(engine, waker, w, &mut source).await? {
                    return Ok(exit);
                },
            }
        }
    }
}

/// Acts on a wake in the IMAP loop: `Some` to leave the loop (the session,
/// if any, is closed), `None` to go on with it.
async fn woken(
    engine: &Engine,
    waker: &Waker<'_>,
    wake: Wake,
    source: &mut Option<ImapSource>,
) -> Result<Option<Exit>, DaemonError> {
    match wake {
        Wake::Stop => stop(engine, source.take()).await.map(Some),
        Wake::Reload => {
            if let Some(s) = source.take() {
                s.logout().await;
            }
            Ok(Some(Exit::Reload))
        }
        Wake::Control(conn) => {
            waker.serve(engine, conn).await;
            Ok(None)
        }
    }
}

async fn stop(engine: &Engine, source: Option<ImapSource>) -> Result<Exit, DaemonError> {
    info!("stopping");
    notify(&[sd_notify::NotifyState::Stopping]);
    engine.store().flush().map_err(EngineError::from)?;
    if let Some(s) = source {
        s.logout().await;
    }
    Ok(Exit::Stopped)
}

/// How long to wait at `now` for the next poll, timer or send retry,
/// whichever is first.
fn next_wake(engine: &Engine, poll: Duration, now: Timestamp) -> Result<Duration, DaemonError> {
    let until = |at: Timestamp| {
        let ms = at.as_millisecond().saturating_sub(now.as_millisecond());
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    };
    let store = engine.store();
    let next = [store.next_deadline().map_err(EngineError::from)?, store.next_retry().map_err(EngineError::from)?];
    Ok(next.into_iter().flatten().map(until).fold(poll, Duration::min).max(Duration::from_millis(50)))
}

/// Why the daemon's wait ended early.
enum Wake {
    /// SIGTERM or SIGINT.
    Stop,
    /// SIGHUP.
    Reload,
    /// A CLI connected to the control socket.
    Control(tokio::net::UnixStream),
}

/// What can end a wait: a signal or a control request; and the clock the
/// daemon runs on.
struct Waker<'a> {
    signals: &'a mut Signals,
    control: &'a ControlSocket,
    clock: &'a dyn Clock,
}

impl Waker<'_> {
    /// Answers a control request at the clock's time.
    async fn serve(&self, engine: &Engine, conn: tokio::net::UnixStream) {
        ControlSocket::serve(engine, conn, self.clock.now()).await;
    }

    async fn wake(&mut self) -> Wake {
        loop {
            tokio::select! {
                w = self.signals.received() => return w,
                conn = self.control.accept() => match conn {
                    Ok(c) => return Wake::Control(c),
                    Err(e) => warn!(error = %Chain(&e), "control socket: cannot accept"),
                },
            }
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP, listened for from the moment the daemon
/// starts: a signal that arrives mid-cycle is noticed once the cycle is
/// done, instead of killing the process halfway.
pub(crate) struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    /// A stop seen between messages, kept for the next wait.
    stopping: bool,
}

impl Signals {
    fn install() -> Result<Signals, DaemonError> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate()).map_err(DaemonError::Signals)?,
            int: signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?,
            hup: signal(SignalKind::hangup()).map_err(DaemonError::Signals)?,
            stopping: false,
        })
    }

    /// Whether SIGTERM or SIGINT has arrived (without waiting); a SIGHUP is
    /// left for the next wait.
    fn stop_pending(&mut self) -> bool {
        use futures_util::FutureExt as _;
        if !self.stopping {
            self.stopping = self.term.recv().now_or_never().is_some() || self.int.recv().now_or_never().is_some();
        }
        self.stopping
    }

    /// Returns once SIGTERM or SIGINT has arrived (cancel-safe); a SIGHUP
    /// is left for the next wait.
    async fn stop_received(&mut self) {
        if !self.stopping {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
            self.stopping = true;
        }
    }

    /// The next signal (cancel-safe).
    async fn received(&mut self) -> Wake {
        if self.stopping {
            return Wake::Stop;
        }
        tokio::select! {
            _ = self.term.recv() => Wake::Stop,
            _ = self.int.recv() => Wake::Stop,
            _ = self.hup.recv() => Wake::Reload,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::{StoreError, when_unlocked};

    const CONFIG: &str = "[bot]\naddress = \"intros@example.com\"\ndata_dir = \"state\"\n\
        [connectors]\nallow = [\"carol@example.com\"]\n[maildir]\npath = \"inbox\"\n[outbox_dir]\npath = \"sent\"\n\
        [timing]\nfollow_up_after = \"2 business days\"\n";

    const REQUEST: &str = "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\n\
        Subject: Fwd: Intro: Alice <> Bob\r\nMessage-ID: <req-1@example.com>\r\n\r\nBob Busy <bob@example.org>\r\n\r\n\
        ---------- Forwarded message ---------\r\nFrom: Alice Able <alice@example.net>\r\nSubject: Intro: Alice <> Bob\r\n\
        To: carol@example.com\r\n\r\nHi Carol, I'd love to meet Bob.\r\n";

    /// `run --once` on `clock`, reopening the store once the previous run's
    /// flusher let go of it.
    fn run_once(dir: &Path, clock: &ManualClock) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let locked = |e: &DaemonError| matches!(e, DaemonError::Engine(EngineError::Store(StoreError::Locked { .. })));
        let config = || Config::load(&dir.join("introbot.toml")).expect("valid config");
        when_unlocked(|| rt.block_on(run(config(), true, clock)), locked).expect("a clean cycle");
    }

    /// (file name, Date header) of every email sent so far.
    fn sent(dir: &Path) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(dir.join("sent"))
            .expect("sent dir")
            .map(|e| e.expect("entry").path())
            .map(|p| {
                let raw = std::fs::read(&p).expect("read");
                let msg = mail_parser::MessageParser::default().parse(&raw).expect("our mail parses");
                let name = p.file_name().expect("name").to_string_lossy().into_owned();
                (name, msg.date().map(|d| d.to_rfc3339()).unwrap_or_default())
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_daemon_takes_its_time_from_the_clock_it_is_given() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::write(d.join("introbot.toml"), CONFIG).expect("config");
        Maildir::open(&d.join("inbox")).expect("maildir").deliver(REQUEST.as_bytes(), "request").expect("deliver");
        // Monday 09:00 in UTC; two business days later is Wednesday.
        let clock = ManualClock::new("2026-11-30T09:00:00Z".parse().expect("timestamp"));
        run_once(d, &clock);
        let first = sent(d);
        assert_eq!(first.len(), 3, "acknowledgement and two consent notes: {first:?}");
        assert!(first.iter().all(|(_, date)| date == "2026-11-30T09:00:00Z"), "dated by the clock: {first:?}");

        clock.set("2026-12-02T08:59:59Z".parse().expect("timestamp"));
        run_once(d, &clock);
        assert_eq!(sent(d), first, "a second before the timer, nothing is due");

        clock.set("2026-12-02T09:00:00Z".parse().expect("timestamp"));
        run_once(d, &clock);
        // Message-IDs are random: the follow-ups are what is new.
        let follow_ups: Vec<_> = sent(d).into_iter().filter(|email| !first.contains(email)).collect();
        assert_eq!(follow_ups.len(), 2, "one follow-up per silent party, on the clock's word alone");
        assert!(follow_ups.iter().all(|(_, date)| date == "2026-12-02T09:00:00Z"), "{follow_ups:?}");
    }
}
