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
//! handling at most; what was handled is filed, the rest stays for next
//! time. The systemd watchdog is pinged between messages too.

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use tracing::{Instrument, error, info, info_span, warn};

use crate::clock::Clock;
use crate::config::{Config, ConfigError, ImapConfig, SourceConfig};
use crate::control::ControlSocket;
use crate::engine::{DrainReport, Engine, EngineError};
use crate::error::Chain;
use crate::source::imap::{ImapError, ImapSource};
use crate::source::maildir::MaildirError;
use crate::source::{Maildir, Uid};
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

    /// Whether SIGTERM/SIGINT came; lets the runtime take in pending
    /// signals first (one yield), and pings the watchdog every few seconds.
    async fn stop_requested(&mut self) -> bool {
        if self.pinged.elapsed() >= Duration::from_secs(5) {
            notify(&[sd_notify::NotifyState::Watchdog]);
            self.pinged = std::time::Instant::now();
        }
        match &mut self.signals {
            Some(signals) => {
                tokio::task::yield_now().await;
                signals.stop_pending()
            }
            None => false,
        }
    }
}

/// Handles everything waiting in a Maildir, in batches.
pub(crate) async fn take_inbox(engine: &Engine, maildir: &Maildir, now: Timestamp) -> Result<CycleReport, DaemonError> {
    take_inbox_until(engine, maildir, now, &mut Between::nothing()).await
}

/// [`take_inbox`], stopping between two messages when asked to.
async fn take_inbox_until(
    engine: &Engine,
    maildir: &Maildir,
    now: Timestamp,
    between: &mut Between<'_>,
) -> Result<CycleReport, DaemonError> {
    let mut report = CycleReport::default();
    let max = engine.config().limits.max_message_size;
    let pending = maildir.pending()?;
    'batches: for chunk in pending.chunks(BATCH) {
        let mut done = Vec::with_capacity(chunk.len());
        for p in chunk {
            if between.stop_requested().await {
                report.interrupted = true;
                // File what is done, leave the rest.
                engine.store().flush().map_err(EngineError::from)?;
                for (p, d) in done {
                    maildir.file(p, d)?;
                }
                break 'batches;
            }
            if p.size > max {
                error!(file = %p.path.display(), size = p.size, max, "bigger than max_message_size: filed as failed, unread");
                report.failed += 1;
                done.push((p, Disposition::Failed));
                continue;
            }
            let raw = match maildir.read(p) {
                Ok(Some(raw)) => raw,
                Ok(None) => continue,
                Err(e) => {
                    error!(error = %Chain(&e), "a message cannot be read; left in place");
                    continue;
                }
            };
            let span = info_span!("maildir", file = %p.path.display());
            let _enter = span.enter();
            done.push((p, handle_one(engine, &raw, now, &mut report)?));
        }
        engine.store().flush().map_err(EngineError::from)?;
        for (p, d) in done {
            maildir.file(p, d)?;
        }
    }
    Ok(report)
}

/// One full cycle: inbox, timers, outbox; timers and outbox are skipped
/// when a stop came while taking the inbox.
async fn cycle_until(
    engine: &Engine,
    maildir: &Maildir,
    transport: &mut Transport,
    now: Timestamp,
    between: &mut Between<'_>,
) -> Result<CycleReport, DaemonError> {
    let mut report = take_inbox_until(engine, maildir, now, between).await?;
    if report.interrupted {
        return Ok(report);
    }
    report.timers = engine.fire_due(now)?.len();
    engine.store().flush().map_err(EngineError::from)?;
    report.outbox = engine.drain_outbox(transport, now).await?;
    Ok(report)
}

/// Runs the daemon until SIGTERM/SIGINT, or one cycle with `once`, taking
/// the time from `clock`. SIGHUP re-reads the config file and templates; a
/// bad new config is refused with an error in the log, and the old one stays
/// in force.
pub async fn run(config: Config, once: bool, clock: &dyn Clock) -> Result<(), DaemonError> {
    let mut signals = Signals::install()?;
    let mut transport = Transport::from_config(&config.transport)?;
    let mut engine = Engine::open(config)?;
    // Previews stored before they expired wait forever otherwise.
    engine.arm_waiting_previews(clock.now())?;
    let socket = crate::control::listen_path(engine.config());
    let control =
        ControlSocket::bind(&socket).map_err(|source| DaemonError::Control { path: socket.clone(), source })?;
    info!(store = %engine.store().path().display(), control = %socket.display(), "introbot started");
    log_security(engine.config());
    loop {
        let mut waker = Waker { signals: &mut signals, control: &control, clock };
        let exit = match engine.config().source.clone() {
            SourceConfig::Maildir { path, poll_interval } => {
                let maildir = Maildir::open(&path)?;
                run_maildir(&engine, &maildir, &mut transport, poll_interval, once, &mut waker).await?
            }
            SourceConfig::Imap(imap) => run_imap(&engine, &imap, &mut transport, once, &mut waker).await?,
        };
        match exit {
            Exit::Stopped => return Ok(()),
            Exit::Reload => reload(&mut engine, &mut transport),
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
    engine: &Engine,
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
        let mut filed: [(Disposition, Vec<Uid>); 3] = [
            (Disposition::Processed, Vec::new()),
            (Disposition::Ignored, Vec::new()),
            (Disposition::Failed, Vec::new()),
        ];
        let mut last = None;
        for msg in &batch {
            if between.stop_requested().await {
                report.interrupted = true;
                break;
            }
            let span = info_span!("imap", uid = msg.uid.get());
            let _enter = span.enter();
            let d = match &msg.raw {
                Some(raw) => handle_one(engine, raw, now, &mut report)?,
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
        store.flush().map_err(EngineError::from)?;
        for (d, uids) in &filed {
            source.file(uids, *d).await?;
        }
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
    loop {
        let mut current = match source.take() {
            Some(s) => s,
            None => match ImapSource::connect(imap).await {
                Ok(s) => {
                    failures = 0;
                    // Ready once the store is open and a login worked; later
                    // reconnects only update the status line.
                    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status("connected")]);
                    s
                }
                // Wrong credentials will not fix themselves; --once reports and exits.
                Err(e) if e.is_permanent() || once => return Err(e.into()),
                Err(e) => {
                    failures += 1;
                    let wait = crate::engine::backoff(failures, engine.config().backoff_max);
                    warn!(attempt = failures, ?wait, error = %Chain(&e), "imap unavailable; reconnecting");
                    notify(&[sd_notify::NotifyState::Watchdog, sd_notify::NotifyState::Status("reconnecting to IMAP")]);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => continue,
                        w = waker.wake() => match w {
                            Wake::Stop => return stop(engine, None).await,
                            Wake::Reload => return Ok(Exit::Reload),
                            Wake::Control(conn) => {
                                waker.serve(engine, conn).await;
                                continue;
                            }
                        },
                    }
                }
            },
        };
        let now = waker.clock.now();
        let session = current.span();
        let mut between = Between { signals: Some(&mut *waker.signals), pinged: std::time::Instant::now() };
        let taken =
            take_imap_until(engine, &mut current, &imap.mailbox, now, &mut between).instrument(session.clone()).await;
        let mut report = match taken {
            Ok(r) => r,
            Err(DaemonError::Imap(e)) if !once => {
                warn!(parent: &session, error = %Chain(&e), "imap failed; reconnecting");
                continue;
            }
            Err(e) => return Err(e),
        };
        if report.interrupted {
            log_cycle(engine, &report, once);
            return stop(engine, Some(current)).await;
        }
        report.timers = engine.fire_due(now)?.len();
        engine.store().flush().map_err(EngineError::from)?;
        report.outbox = engine.drain_outbox(transport, now).await?;
        notify(&[sd_notify::NotifyState::Watchdog]);
        log_cycle(engine, &report, once);
        if once {
            current.logout().await;
            return Ok(Exit::Stopped);
        }
        // With IDLE the server tells us of new mail; we only wake for our
        // own timers and retries (and renew IDLE well within 29 minutes).
        let idle = current.uses_idle();
        let poll = if idle { Duration::from_secs(25 * 60) } else { imap.poll_interval };
        let wait = watchdog_cap(next_wake(engine, poll, waker.clock.now())?);
        if idle {
            match current.idle(wait, waker.wake()).instrument(session.clone()).await {
                Ok((s, None)) => source = Some(s),
                Ok((s, Some(Wake::Stop))) => return stop(engine, Some(s)).await,
                Ok((s, Some(Wake::Reload))) => {
                    s.logout().await;
                    return Ok(Exit::Reload);
                }
                Ok((s, Some(Wake::Control(conn)))) => {
                    waker.serve(engine, conn).await;
                    source = Some(s);
                }
                Err(e) => warn!(parent: &session, error = %Chain(&e), "imap failed; reconnecting"),
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(wait) => source = Some(current),
                w = waker.wake() => match w {
                    Wake::Stop => return stop(engine, Some(current)).await,
                    Wake::Reload => {
                        current.logout().await;
                        return Ok(Exit::Reload);
                    }
                    Wake::Control(conn) => {
                        waker.serve(engine, conn).await;
                        source = Some(current);
                    }
                },
            }
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
