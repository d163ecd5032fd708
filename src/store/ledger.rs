//! The limits' bookkeeping: what the bot did to whom and when, so that a
//! request can be refused before it floods anyone. One sled tree,
//! `ledger`, written in the same transaction as the step it records
//! ([`Change::ledger`](super::Change); under group commit, the batch's one
//! transaction, and every read here sees the open batch), read with prefix
//! range scans:
//!
//! - `o` ‖ connector ‖ hour → how many intros the connector opened then;
//! - `a` ‖ address ‖ hour → consent asks to that address as target;
//! - `m` ‖ address ‖ hour → emails queued to that address;
//! - `p` ‖ address ‖ address — the latest intro between a pair (sorted);
//! - `s` ‖ address — asks in a row the address left unanswered, and when;
//! - `n` ‖ address — when a note outside an intro last went there;
//! - `c` ‖ address ‖ hour → notes outside an intro queued to that address;
//! - `e` ‖ connector ‖ reason — when that refusal was last explained.
//!
//! Addresses are the caller's canonical form. Counts are kept per hour
//! (big-endian hours since the epoch, so a window is one range of at most
//! 720 buckets for 30 days), so counting costs the same however busy an
//! address is; a window starts at the top of its first hour, so a count can
//! include up to an hour more than the window, never less. Counting a
//! window also drops the buckets before it: the ledger stays the size of its
//! windows.
//! The policy (how many, how long) is the engine's; this only counts.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sled::transaction::ConflictableTransactionError;

use super::batch::{ChangeTree, TreeId};
use super::{Store, StoreError, to_json};
use crate::core::IntroId;

/// One thing to record, committed with the step that did it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LedgerEntry {
    /// The connector opened an intro.
    Opened {
        /// Canonical connector address.
        connector: String,
        /// The intro.
        intro: IntroId,
    },
    /// A consent ask went to this address as the target.
    Asked {
        /// Canonical address.
        target: String,
        /// The intro.
        intro: IntroId,
    },
    /// An email was queued to this address.
    Mailed {
        /// Canonical address.
        to: String,
    },
    /// The latest intro between two people.
    Pair {
        /// Canonical address of one.
        a: String,
        /// Canonical address of the other.
        b: String,
        /// The intro.
        intro: IntroId,
    },
    /// Asks in a row this address left unanswered (0: they answered).
    Silence {
        /// Canonical address.
        who: String,
        /// The count after this step.
        count: u32,
    },
    /// A note outside an intro went to this address.
    Noted {
        /// Canonical address.
        to: String,
    },
    /// A refusal was explained to a connector.
    Explained {
        /// Canonical connector address.
        connector: String,
        /// Which refusal (the limit and whom it was about).
        reason: String,
    },
}

/// Unanswered asks in a row, and when the last one ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Silence {
    /// How many.
    pub count: u32,
    /// When the count last changed.
    pub at: Timestamp,
}

/// The kinds of time-stamped entries that are counted in a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counted {
    /// Intros a connector opened.
    Opened,
    /// Consent asks to an address as target.
    Asked,
    /// Emails queued to an address.
    Mailed,
    /// Notes outside an intro queued to an address.
    Noted,
}

impl Counted {
    fn tag(self) -> u8 {
        match self {
            Counted::Opened => b'o',
            Counted::Asked => b'a',
            Counted::Mailed => b'm',
            // Not `n`: that key (`n` ‖ address) sorts inside the buckets'
            // range and would be dropped with them.
            Counted::Noted => b'c',
        }
    }
}

fn ms(t: Timestamp) -> [u8; 8] {
    u64::try_from(t.as_millisecond()).unwrap_or(0).to_be_bytes()
}

fn hour(t: Timestamp) -> [u8; 8] {
    u64::try_from(t.as_second() / 3600).unwrap_or(0).to_be_bytes()
}

fn prefix(tag: u8, who: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + who.len() + 8);
    key.push(tag);
    key.extend_from_slice(who.as_bytes());
    key.push(0);
    key
}

fn bucket(tag: u8, who: &str, at: Timestamp) -> Vec<u8> {
    let mut key = prefix(tag, who);
    key.extend_from_slice(&hour(at));
    key
}

fn read_count(v: &[u8]) -> u64 {
    <[u8; 8]>::try_from(v).map(u64::from_be_bytes).unwrap_or(0)
}

/// One more in this hour's bucket, inside the transaction.
fn count_one(
    tree: &impl ChangeTree,
    tag: u8,
    who: &str,
    now: Timestamp,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let key = bucket(tag, who, now);
    let n = tree.get(&key)?.map_or(0, |v| read_count(&v));
    tree.put(&key, &n.saturating_add(1).to_be_bytes())?;
    Ok(())
}

fn pair_key(a: &str, b: &str) -> Vec<u8> {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    let mut key = prefix(b'p', x);
    key.extend_from_slice(y.as_bytes());
    key
}

/// Writes one entry inside the commit transaction (or the open batch).
pub(super) fn record(
    tree: &impl ChangeTree,
    entry: &LedgerEntry,
    now: Timestamp,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    match entry {
        LedgerEntry::Opened { connector, .. } => count_one(tree, b'o', connector, now)?,
        LedgerEntry::Asked { target, .. } => count_one(tree, b'a', target, now)?,
        LedgerEntry::Mailed { to } => count_one(tree, b'm', to, now)?,
        LedgerEntry::Pair { a, b, intro } => {
            tree.put(&pair_key(a, b), intro.as_str().as_bytes())?;
        }
        LedgerEntry::Silence { who, count } => {
            tree.put(&prefix(b's', who), &to_json(&Silence { count: *count, at: now }))?;
        }
        LedgerEntry::Noted { to } => {
            tree.put(&prefix(b'n', to), &ms(now))?;
            count_one(tree, Counted::Noted.tag(), to, now)?;
        }
        LedgerEntry::Explained { connector, reason } => {
            let mut key = prefix(b'e', connector);
            key.extend_from_slice(reason.as_bytes());
            tree.put(&key, &ms(now))?;
        }
    }
    Ok(())
}

fn read_ms(v: &[u8]) -> Option<Timestamp> {
    let ms = u64::from_be_bytes(<[u8; 8]>::try_from(v).ok()?);
    Timestamp::from_millisecond(i64::try_from(ms).ok()?).ok()
}

impl Store {
    /// How many `kind` for `who` there were since `since` (from the top of
    /// its hour); older buckets are dropped on the way.
    pub(crate) fn count_since(&self, kind: Counted, who: &str, since: Timestamp) -> Result<usize, StoreError> {
        let start = prefix(kind.tag(), who);
        let cut = bucket(kind.tag(), who, since);
        let mut end = start.clone();
        // The separator after `who` is 0, so 1 ends the prefix.
        if let Some(last) = end.last_mut() {
            *last = 1;
        }
        // One pass over the committed buckets: those before the window are
        // dropped, the window's are counted (a second range scan for the
        // window cost as much as the whole count).
        let mut old: Vec<sled::IVec> = Vec::new();
        let mut window: BTreeMap<sled::IVec, u64> = BTreeMap::new();
        for kv in self.ledger.range(start.as_slice()..end.as_slice()) {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            if k.as_ref() < cut.as_slice() {
                old.push(k);
            } else {
                window.insert(k, read_count(&v));
            }
        }
        for k in old {
            self.ledger.remove(k).map_err(|e| self.err(e))?;
        }
        // Through the open batch: its messages count as much as committed ones.
        if let Some(batch) = self.batch().mine() {
            for layer in batch.layers() {
                for (k, v) in layer.range(TreeId::Ledger, &cut, Some(&end)) {
                    match v {
                        Some(v) => window.insert(sled::IVec::from(k), read_count(v)),
                        None => window.remove(k),
                    };
                }
            }
        }
        let n = window.values().fold(0u64, |n, c| n.saturating_add(*c));
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// The latest intro between two people, if any.
    pub(crate) fn pair_intro(&self, a: &str, b: &str) -> Result<Option<IntroId>, StoreError> {
        let v = self.read(TreeId::Ledger, &pair_key(a, b))?;
        Ok(v.map(|v| IntroId::new(String::from_utf8_lossy(&v).into_owned())))
    }

    /// Unanswered asks in a row for an address.
    pub(crate) fn silence(&self, who: &str) -> Result<Option<Silence>, StoreError> {
        match self.read(TreeId::Ledger, &prefix(b's', who))? {
            Some(v) => Self::decode(|| format!("silence of {who}"), &v).map(Some),
            None => Ok(None),
        }
    }

    /// When a note outside an intro last went to an address.
    pub(crate) fn last_noted(&self, to: &str) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.read(TreeId::Ledger, &prefix(b'n', to))?.and_then(|v| read_ms(&v)))
    }

    /// When a refusal was last explained to a connector.
    pub(crate) fn explained(&self, connector: &str, reason: &str) -> Result<Option<Timestamp>, StoreError> {
        let mut key = prefix(b'e', connector);
        key.extend_from_slice(reason.as_bytes());
        Ok(self.read(TreeId::Ledger, &key)?.and_then(|v| read_ms(&v)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::Change;

    fn at(secs: u64) -> Timestamp {
        Timestamp::UNIX_EPOCH.checked_add(Duration::from_secs(secs)).expect("in range")
    }

    fn commit(store: &Store, ledger: Vec<LedgerEntry>, now: Timestamp) {
        store.commit(&Change { ledger, ..Change::default() }, now).expect("commit");
    }

    #[test]
    fn counts_in_a_window_and_forgets_what_is_older() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let day = 86_400;
        for t in [10, 20, day + 5, day + 6] {
            commit(&store, vec![LedgerEntry::Mailed { to: "bob@b.example".into() }], at(t));
        }
        commit(&store, vec![LedgerEntry::Mailed { to: "bob@b.example.org".into() }], at(day + 7));
        commit(&store, vec![LedgerEntry::Mailed { to: "bo@b.example".into() }], at(day + 7));
        assert_eq!(store.count_since(Counted::Mailed, "bob@b.example", at(0)).expect("count"), 4);
        assert_eq!(store.count_since(Counted::Mailed, "bob@b.example", at(day)).expect("count"), 2);
        // The two before the window are gone for good.
        assert_eq!(store.count_since(Counted::Mailed, "bob@b.example", at(0)).expect("count"), 2);
        assert_eq!(store.count_since(Counted::Opened, "bob@b.example", at(0)).expect("count"), 0);
        assert_eq!(store.count_since(Counted::Mailed, "bo@b.example", at(0)).expect("count"), 1);
        // A window counts from the top of its first hour: never less.
        assert_eq!(store.count_since(Counted::Mailed, "bob@b.example", at(day + 3599)).expect("count"), 2);
    }

    #[test]
    fn a_busy_address_costs_one_bucket_an_hour() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        for n in 0..500 {
            commit(&store, vec![LedgerEntry::Mailed { to: "busy@b.example".into() }], at(n));
        }
        assert_eq!(store.count_since(Counted::Mailed, "busy@b.example", at(0)).expect("count"), 500);
        assert_eq!(store.ledger.len(), 1, "one bucket for the hour");
    }

    #[test]
    fn pairs_silences_notes_and_explanations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let intro = IntroId::new("k7m2p9qx");
        commit(
            &store,
            vec![
                LedgerEntry::Pair { a: "z@z.example".into(), b: "a@a.example".into(), intro: intro.clone() },
                LedgerEntry::Silence { who: "a@a.example".into(), count: 2 },
                LedgerEntry::Noted { to: "carol@conn.example".into() },
                LedgerEntry::Explained { connector: "carol@conn.example".into(), reason: "per-day".into() },
                LedgerEntry::Opened { connector: "carol@conn.example".into(), intro: intro.clone() },
                LedgerEntry::Asked { target: "z@z.example".into(), intro },
            ],
            at(100),
        );
        assert_eq!(
            store.pair_intro("a@a.example", "z@z.example").expect("read").map(|i| i.to_string()),
            Some("k7m2p9qx".into())
        );
        assert_eq!(
            store.pair_intro("z@z.example", "a@a.example").expect("read").map(|i| i.to_string()),
            Some("k7m2p9qx".into())
        );
        assert_eq!(store.silence("a@a.example").expect("read"), Some(Silence { count: 2, at: at(100) }));
        assert_eq!(store.silence("z@z.example").expect("read"), None);
        assert_eq!(store.last_noted("carol@conn.example").expect("read"), Some(at(100)));
        assert_eq!(store.count_since(Counted::Noted, "carol@conn.example", at(0)).expect("count"), 1);
        // Counting (and dropping old buckets) keeps the time of the last note.
        assert_eq!(store.count_since(Counted::Noted, "carol@conn.example", at(7200)).expect("count"), 0);
        assert_eq!(store.last_noted("carol@conn.example").expect("read"), Some(at(100)));
        assert_eq!(store.explained("carol@conn.example", "per-day").expect("read"), Some(at(100)));
        assert_eq!(store.explained("carol@conn.example", "other").expect("read"), None);
        assert_eq!(store.count_since(Counted::Opened, "carol@conn.example", at(0)).expect("count"), 1);
        assert_eq!(store.count_since(Counted::Asked, "z@z.example", at(0)).expect("count"), 1);
    }
}
