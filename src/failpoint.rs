//! Deterministic crash points, a test aid: the stress and crash tests use
//! them to kill the daemon at a chosen moment instead of hoping a random
//! SIGKILL lands there.
//!
//! `INTROBOT_FAILPOINT=name:N` makes the process SIGKILL itself the Nth
//! time it passes the point `name` (several as `a:1,b:3`). Unset — always,
//! in production — every point is one relaxed check of a value read once.
//! The points are the moments where a crash is most likely to lose or
//! double something (see [`Point`]); a misspelt name is reported once at
//! start, so a test cannot silently crash nowhere. One point,
//! `publish_paused`, pauses its thread for a second instead ([`pause`]),
//! so that a crash point elsewhere is reached while that thread lags.
//!
//! Why not the `fail` crate: its points are compiled out unless a cargo
//! feature is on (the tests would run a different binary from the one
//! shipped), and its crash action is a panic, which unwinds and runs
//! destructors — sled's `Drop` flushes the store, which is exactly what a
//! real crash does not do. SIGKILL does nothing on the way out.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms the points.
pub(crate) const ENV: &str = "INTROBOT_FAILPOINT";

/// A place in the code where a test may crash the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Point {
    /// IMAP: a batch was fetched, nothing of it handled yet.
    ImapFetched,
    /// One inbound message handled (its change staged in the batch), before
    /// the batch is written and synced (mid-batch).
    InboundCommitted,
    /// A batch of inbound messages is synced, not yet filed away.
    BatchSynced,
    /// A batch is filed away; the IMAP position is not yet recorded.
    BatchFiled,
    /// A due timer's step committed, before the sync.
    TimerCommitted,
    /// The transport accepted an email (SMTP `250`, sendmail exit 0, a file
    /// staged); the outbox still holds it.
    SendAccepted,
    /// Outbox directory: a batch is recorded as written and some of its
    /// files are published, others not yet.
    OutboxPublished,
    /// Outbox directory: half of a group of sealed batches is written to
    /// the store (and synced, as a background flush might have), the rest
    /// not; only its redo record holds the whole group.
    GroupHalfWritten,
    /// Outbox directory: the publishing thread is about to publish a
    /// synced group. Not a crash: the thread **pauses** there for a second,
    /// so that later groups are written while this one waits.
    PublishPaused,
}

impl Point {
    /// Every point.
    pub(crate) const ALL: [Point; 9] = [
        Point::ImapFetched,
        Point::InboundCommitted,
        Point::BatchSynced,
        Point::BatchFiled,
        Point::TimerCommitted,
        Point::SendAccepted,
        Point::OutboxPublished,
        Point::GroupHalfWritten,
        Point::PublishPaused,
    ];

    /// The name `INTROBOT_FAILPOINT` uses.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Point::ImapFetched => "imap_fetched",
            Point::InboundCommitted => "inbound_committed",
            Point::BatchSynced => "batch_synced",
            Point::BatchFiled => "batch_filed",
            Point::TimerCommitted => "timer_committed",
            Point::SendAccepted => "send_accepted",
            Point::OutboxPublished => "outbox_published",
            Point::GroupHalfWritten => "group_half_written",
            Point::PublishPaused => "publish_paused",
        }
    }
}

/// One armed point: crash on hit number `at`.
#[derive(Debug)]
struct Armed {
    point: Point,
    at: u64,
    hits: AtomicU64,
}

/// What `INTROBOT_FAILPOINT` says: the armed points, and the entries that
/// name no point (reported by [`report_unknown`]).
fn parse(spec: &str) -> (Vec<Armed>, Vec<String>) {
    let mut armed = Vec::new();
    let mut unknown = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, at) = entry.split_once(':').unwrap_or((entry, "1"));
        let point = Point::ALL.into_iter().find(|p| p.as_str() == name.trim());
        match (point, at.trim().parse::<u64>()) {
            (Some(point), Ok(at)) if at > 0 => armed.push(Armed { point, at, hits: AtomicU64::new(0) }),
            _ => unknown.push(entry.to_owned()),
        }
    }
    (armed, unknown)
}

fn armed() -> &'static (Vec<Armed>, Vec<String>) {
    static ARMED: OnceLock<(Vec<Armed>, Vec<String>)> = OnceLock::new();
    ARMED.get_or_init(|| std::env::var(ENV).map(|spec| parse(&spec)).unwrap_or_default())
}

/// Logs the armed points and any entry of `INTROBOT_FAILPOINT` that names
/// no point; called once at start.
pub(crate) fn report_unknown() {
    let (armed, unknown) = armed();
    for a in armed {
        tracing::warn!(point = a.point.as_str(), at = a.at, "failpoint armed: this process will kill itself there");
    }
    for entry in unknown {
        tracing::error!(
            entry = %entry,
            known = ?Point::ALL.map(Point::as_str),
            "{ENV} names no failpoint (name:N with N ≥ 1); ignored"
        );
    }
}

/// Passes a point: kills the process with SIGKILL when this is the hit
/// the environment asked for.
pub(crate) fn hit(point: Point) {
    hit_after(point, || {});
}

/// [`hit`], running `before` first when this is the hit that kills: for a
/// point that stands for a crash after the system made part of something
/// durable, `before` makes it so.
pub(crate) fn hit_after(point: Point, before: impl FnOnce()) {
    if let Some(at) = reached(point) {
        before();
        tracing::warn!(point = point.as_str(), hit = at, "failpoint reached: killing this process");
        let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        // SIGKILL cannot be caught; if sending it failed, abort instead.
        std::process::abort();
    }
}

/// Passes a point that pauses instead of killing: sleeps a second on the
/// hit the environment asked for, so that other threads run ahead.
pub(crate) fn pause(point: Point) {
    if let Some(at) = reached(point) {
        tracing::warn!(point = point.as_str(), hit = at, "failpoint reached: pausing this thread");
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// Counts a pass of `point`; the hit number when it is one the environment
/// asked for.
fn reached(point: Point) -> Option<u64> {
    let (armed, _) = armed();
    let mut reached = None;
    for a in armed.iter().filter(|a| a.point == point) {
        if a.hits.fetch_add(1, Ordering::Relaxed) + 1 == a.at {
            reached = Some(a.at);
        }
    }
    reached
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_arms_named_points_and_reports_the_rest() {
        let (armed, unknown) = parse("send_accepted:3, batch_synced ,nope:1,timer_committed:0,imap_fetched:x");
        let got: Vec<(Point, u64)> = armed.iter().map(|a| (a.point, a.at)).collect();
        assert_eq!(got, [(Point::SendAccepted, 3), (Point::BatchSynced, 1)]);
        assert_eq!(unknown, ["nope:1", "timer_committed:0", "imap_fetched:x"]);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Point::ALL.iter().map(|p| p.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Point::ALL.len());
    }
}
