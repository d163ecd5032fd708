//! The redo record of a group of sealed batches: what lets the writer of
//! the inbox pipeline write a group with plain sled inserts instead of one
//! sled transaction, and still have the group all or nothing.
//!
//! Why: a sled 0.34 transaction holds sled's one global lock while it
//! writes, and every read in the process waits for it; the handler thread,
//! reading the store for its next messages, spent 23 % of its time waiting
//! there (BENCHMARKS.md). Plain inserts take that lock shared, so reads go
//! on beside them, and the handler's own sealed layers already answer for
//! every key the group writes until the group is in sled.
//!
//! How: every write of the group goes into one record, written to
//! `group.redo` in the data directory and synced **before** the first
//! insert; then the inserts; then `meta` records the group's number as
//! applied, and the caller syncs the store. At open, a record whose number
//! is above the applied one is a group a crash interrupted: it is written
//! again (setting a key to a value twice is harmless) and synced. A record
//! that does not check out (its own write was interrupted) was never
//! acted on: nothing of its group had been written yet.
//!
//! Must not: be used for anything but a sealed group, nor read anything of
//! the store but `meta`'s applied number.

use std::io::Write;
use std::path::{Path, PathBuf};

use sled::IVec;

use super::batch::TreeId;
use super::{Store, StoreError};

/// The file, in the data directory.
const FILE: &str = "group.redo";

/// `meta` key: the number of the last group written whole (8 bytes, big
/// endian).
pub(super) const APPLIED: &str = "group_applied";

/// Start of a record, with the format's version.
const MAGIC: &[u8; 8] = b"IBREDO01";

/// Tree code of `meta` (the others are their [`TreeId`]).
const META: u8 = 0xff;

/// One write of a group: the tree (a [`TreeId`] as `u8`, or [`META`]),
/// the key, and the value (`None`: a removal).
pub(super) type GroupWrite<'a> = (u8, &'a [u8], Option<&'a [u8]>);

/// The record's path in a data directory.
pub(super) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Tree code of a [`TreeId`].
pub(super) fn code(tree: TreeId) -> u8 {
    tree as u8
}

/// Tree code of `meta`.
pub(super) const fn meta() -> u8 {
    META
}

/// The record of group `seq`: magic, number, each write, a CRC-32 of all
/// before it.
pub(super) fn encode(seq: u64, writes: &[GroupWrite<'_>]) -> Vec<u8> {
    let size: usize = writes.iter().map(|(_, k, v)| 10 + k.len() + v.map_or(0, <[u8]>::len)).sum();
    let mut buf = Vec::with_capacity(MAGIC.len() + 8 + size + 4);
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&seq.to_be_bytes());
    for (tree, key, value) in writes {
        buf.push(*tree);
        put_bytes(&mut buf, key);
        match value {
            Some(v) => {
                buf.push(1);
                put_bytes(&mut buf, v);
            }
            None => buf.push(0),
        }
    }
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_be_bytes());
    buf
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    // Keys and values are far below 4 GiB (sled's own limit is lower).
    buf.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// A record read back: its number and writes, in order.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Record {
    pub seq: u64,
    pub writes: Vec<(u8, IVec, Option<IVec>)>,
}

/// Reads a record; `None` when it does not check out (cut short, or not
/// one of ours).
pub(super) fn decode(bytes: &[u8]) -> Option<Record> {
    let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if crc32fast::hash(body).to_be_bytes() != crc {
        return None;
    }
    let rest = body.strip_prefix(MAGIC)?;
    let (seq, mut rest) = rest.split_first_chunk::<8>()?;
    let mut writes = Vec::new();
    while let Some((&tree, after)) = rest.split_first() {
        let (key, after) = take_bytes(after)?;
        let (&has_value, after) = after.split_first()?;
        let (value, after) = match has_value {
            0 => (None, after),
            1 => take_bytes(after).map(|(v, after)| (Some(IVec::from(v)), after))?,
            _ => return None,
        };
        if tree != META && !TreeId::ALL.iter().any(|t| code(*t) == tree) {
            return None;
        }
        writes.push((tree, IVec::from(key), value));
        rest = after;
    }
    Some(Record { seq: u64::from_be_bytes(*seq), writes })
}

fn take_bytes(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    rest.split_at_checked(len)
}

impl Store {
    /// The sled tree behind a tree code.
    fn tree_of(&self, code: u8) -> Option<&sled::Tree> {
        if code == META {
            return Some(&self.meta);
        }
        TreeId::ALL.into_iter().find(|t| self::code(*t) == code).map(|t| self.tree(t))
    }

    /// The number of the last group written whole (0: none yet).
    fn applied_group(&self) -> Result<u64, StoreError> {
        let v = self.meta.get(APPLIED).map_err(|e| self.err(e))?;
        Ok(v.and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok()).map_or(0, u64::from_be_bytes))
    }

    /// Writes a group through its redo record (see the module doc): the
    /// record synced, then each write, then the group marked applied.
    /// Durable only after [`Store::flush`].
    pub(super) fn write_group(&self, writes: &[GroupWrite<'_>]) -> Result<(), StoreError> {
        let seq = self.next_group.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let record = encode(seq, writes);
        let io = |e: std::io::Error| self.err(sled::Error::Io(e));
        let mut file = crate::private::create_private_file(&path(&self.path)).map_err(io)?;
        file.write_all(&record).map_err(io)?;
        file.sync_data().map_err(io)?;
        drop(file);
        let half = writes.len() / 2;
        for (i, (tree, key, value)) in writes.iter().enumerate() {
            if i == half {
                crate::failpoint::hit_after(crate::failpoint::Point::GroupHalfWritten, || {
                    let _ = self.db.flush();
                });
            }
            self.apply(*tree, key, *value)?;
        }
        self.meta.insert(APPLIED, &seq.to_be_bytes()).map_err(|e| self.err(e))?;
        Ok(())
    }

    fn apply(&self, tree: u8, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        let tree = self
            .tree_of(tree)
            .ok_or_else(|| StoreError::Corrupt { what: "group record".into(), detail: format!("no tree {tree}") })?;
        match value {
            Some(v) => tree.insert(key, v).map(drop),
            None => tree.remove(key).map(drop),
        }
        .map_err(|e| self.err(e))
    }

    /// At open: writes again a group a crash interrupted, and syncs; then
    /// numbers the next group after the last one seen. How many writes it
    /// redid.
    pub(super) fn finish_interrupted_group(&self) -> Result<usize, StoreError> {
        let applied = self.applied_group()?;
        let io = |e: std::io::Error| self.err(sled::Error::Io(e));
        let bytes = match std::fs::read(path(&self.path)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Made now, its name synced into the directory: a group's
                // record is then only ever rewritten in place, and a crash
                // cannot keep a group's inserts but lose the record's name.
                crate::private::create_private_file(&path(&self.path)).and_then(|f| f.sync_all()).map_err(io)?;
                std::fs::File::open(&self.path).and_then(|dir| dir.sync_all()).map_err(io)?;
                Vec::new()
            }
            Err(e) => return Err(io(e)),
        };
        let mut redone = 0;
        let mut last = applied;
        match decode(&bytes) {
            Some(record) if record.seq > applied => {
                for (tree, key, value) in &record.writes {
                    self.apply(*tree, key, value.as_deref())?;
                }
                self.meta.insert(APPLIED, &record.seq.to_be_bytes()).map_err(|e| self.err(e))?;
                self.flush()?;
                redone = record.writes.len();
                last = record.seq;
            }
            Some(_) => {}
            None if bytes.is_empty() => {}
            // Cut short while it was written: nothing of it was applied.
            None => tracing::info!(path = %path(&self.path).display(), "ignored a group record a crash cut short"),
        }
        self.next_group.store(last + 1, std::sync::atomic::Ordering::Relaxed);
        Ok(redone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(store: &Store, tree: TreeId, key: &str) -> Option<Vec<u8>> {
        store.tree(tree).get(key).expect("read").map(|v| v.to_vec())
    }

    #[test]
    fn a_group_a_crash_interrupted_is_written_again_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            store.tree(TreeId::Deadlines).insert("old", b"x".as_slice()).expect("insert");
            store.flush().expect("flush");
        }
        // Synced, and then the process died before any of it was written.
        let writes: Vec<GroupWrite<'_>> =
            vec![(code(TreeId::Intros), b"k7m2p9qx", Some(b"{}")), (code(TreeId::Deadlines), b"old", None)];
        std::fs::write(path(dir.path()), encode(1, &writes)).expect("record");
        let store = crate::store::reopen(dir.path()).expect("reopen");
        assert_eq!(value(&store, TreeId::Intros, "k7m2p9qx"), Some(b"{}".to_vec()));
        assert_eq!(value(&store, TreeId::Deadlines, "old"), None);
        assert_eq!(store.applied_group().expect("applied"), 1);
        // The next group is numbered after it.
        store.write_group(&[(code(TreeId::Intros), b"second", Some(b"2"))]).expect("group");
        assert_eq!(store.applied_group().expect("applied"), 2);
    }

    #[test]
    fn a_group_written_whole_is_not_written_again_over_what_came_after() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            store.write_group(&[(code(TreeId::Intros), b"k7m2p9qx", Some(b"first"))]).expect("group");
            store.tree(TreeId::Intros).insert("k7m2p9qx", b"later".as_slice()).expect("insert");
            store.flush().expect("flush");
        }
        let store = crate::store::reopen(dir.path()).expect("reopen");
        assert_eq!(value(&store, TreeId::Intros, "k7m2p9qx"), Some(b"later".to_vec()));
    }

    #[test]
    fn a_record_cut_short_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(Store::open(dir.path()).expect("open"));
        let record = encode(1, &[(code(TreeId::Intros), b"k7m2p9qx", Some(b"{}"))]);
        std::fs::write(path(dir.path()), &record[..record.len() - 1]).expect("record");
        let store = crate::store::reopen(dir.path()).expect("reopen");
        assert_eq!(value(&store, TreeId::Intros, "k7m2p9qx"), None);
        assert_eq!(store.applied_group().expect("applied"), 0);
    }

    #[test]
    fn a_record_reads_back_and_a_cut_or_changed_one_does_not() {
        let writes: Vec<GroupWrite<'_>> = vec![
            (code(TreeId::Intros), b"k7m2p9qx", Some(b"{}")),
            (code(TreeId::Deadlines), b"old", None),
            (meta(), b"being_published", Some(b"[]")),
        ];
        let bytes = encode(42, &writes);
        let record = decode(&bytes).expect("reads back");
        assert_eq!(record.seq, 42);
        let back: Vec<(u8, Vec<u8>, Option<Vec<u8>>)> =
            record.writes.iter().map(|(t, k, v)| (*t, k.to_vec(), v.as_ref().map(|v| v.to_vec()))).collect();
        let want: Vec<(u8, Vec<u8>, Option<Vec<u8>>)> =
            writes.iter().map(|(t, k, v)| (*t, k.to_vec(), v.map(<[u8]>::to_vec))).collect();
        assert_eq!(back, want);
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut changed = bytes.clone();
        changed[20] ^= 1;
        assert_eq!(decode(&changed), None);
    }
}
