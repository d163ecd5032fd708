//! Group commit: the changes of a whole batch of inbound messages staged in
//! memory and written to sled in **one** transaction.
//!
//! Why: every sled transaction over several trees seals sled's current IO
//! buffer and writes it with a synchronous `sync_file_range`, so one
//! transaction per message meant one disk wait per message — the "sync per
//! message" under `strace`. With a batch open ([`Store::begin_batch`]),
//! [`Store::commit`] stages each change here instead, and every read of the
//! store sees staged writes first, so the messages of a batch build on each
//! other exactly as if each had been committed. [`Store::commit_batch`]
//! then writes all of it at once; the caller syncs ([`Store::flush`]) and
//! only then files the messages away or sends their emails.
//!
//! A crash before that sync loses the whole batch, and nothing of it has
//! left the process: the messages are read again and handled afresh. Each
//! change is still all or nothing inside the batch (it is staged in its own
//! layer and merged only when complete).
//!
//! Pipelined: the thread that owns the batch may seal what it staged so far
//! ([`Store::seal_batch`]) and hand it to another thread to write
//! ([`Store::commit_sealed`]) while it goes on staging the next messages.
//! Until a sealed layer is written, the owner's reads see it (below what it
//! staged since), so the next messages build on it as if it were committed;
//! it leaves the batch only once sled holds it. Sealed layers are written
//! with plain inserts through a redo record (`store::redo`), not in a sled
//! transaction: the owner's reads go on meanwhile, and the layers answer
//! for every key being written until they leave the batch.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, MutexGuard};

use sled::IVec;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::redo::{self, GroupWrite};
use super::{OutboxEntry, OutboxHead, OutboxSeq, Store, StoreError};

/// The trees a change writes, in the order of [`Store::change_trees`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TreeId {
    Intros,
    Tokens,
    SentIds,
    Deadlines,
    Processed,
    Suppressed,
    Outbox,
    Emails,
    Ledger,
    Notes,
    Summaries,
}

impl TreeId {
    /// All of them, in transaction order.
    pub(super) const ALL: [TreeId; 11] = [
        TreeId::Intros,
        TreeId::Tokens,
        TreeId::SentIds,
        TreeId::Deadlines,
        TreeId::Processed,
        TreeId::Suppressed,
        TreeId::Outbox,
        TreeId::Emails,
        TreeId::Ledger,
        TreeId::Notes,
        TreeId::Summaries,
    ];
}

/// Writes staged in memory: per tree and key, the new value, or `None` for
/// a removal. One map per tree ([`TreeId`] as index), so a lookup borrows
/// the key instead of copying it; values are sled's own `IVec`s, so the
/// batch's commit hands them over without another copy.
#[derive(Debug, Default)]
pub(super) struct Overlay {
    writes: [BTreeMap<Vec<u8>, Option<IVec>>; TreeId::ALL.len()],
    /// Emails queued, kept as they are: encoded for the outbox tree only
    /// when the batch is written, and only those not written through (no
    /// read of the outbox tree goes through a batch).
    queued: BTreeMap<OutboxSeq, OutboxEntry>,
}

impl Overlay {
    /// The staged value of a key: `None` when nothing is staged for it,
    /// `Some(None)` when it is staged as removed.
    fn get(&self, tree: TreeId, key: &[u8]) -> Option<Option<&[u8]>> {
        self.writes[tree as usize].get(key).map(|v| v.as_deref())
    }

    /// Stages a write (`None`: a removal).
    fn set(&mut self, tree: TreeId, key: &[u8], value: Option<IVec>) {
        self.writes[tree as usize].insert(key.to_vec(), value);
    }

    /// Adds a later layer's writes over these.
    pub(super) fn merge(&mut self, later: Overlay) {
        for (mine, theirs) in self.writes.iter_mut().zip(later.writes) {
            mine.extend(theirs);
        }
        self.queued.extend(later.queued);
    }

    /// Whether nothing is staged.
    fn is_empty(&self) -> bool {
        self.writes.iter().all(BTreeMap::is_empty) && self.queued.is_empty()
    }

    /// The staged writes of one tree with keys from `start` (inclusive) to
    /// `end` (exclusive; `None`: to the end of the tree), in key order.
    pub(super) fn range<'a>(
        &'a self,
        tree: TreeId,
        start: &[u8],
        end: Option<&'a [u8]>,
    ) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> {
        use std::ops::Bound;
        self.writes[tree as usize]
            .range::<[u8], _>((Bound::Included(start), Bound::Unbounded))
            .take_while(move |(k, _)| end.is_none_or(|end| k.as_slice() < end))
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }
}

/// What a change's writes may fail with, inside a transaction or not.
pub(super) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// One tree as a change writes it: in a sled transaction, or staged in the
/// open batch. Mirrors the part of sled's `TransactionalTree` a change uses.
pub(super) trait ChangeTree {
    /// A key's current value.
    fn get(&self, key: &[u8]) -> TxResult<Option<IVec>>;
    /// Sets a key; returns what it held before.
    fn insert(&self, key: &[u8], value: &[u8]) -> TxResult<Option<IVec>>;
    /// Sets a key whose previous value does not matter (a staged write
    /// then needs no read).
    fn put(&self, key: &[u8], value: &[u8]) -> TxResult<()> {
        self.insert(key, value).map(|_| ())
    }
    /// Removes a key.
    fn remove(&self, key: &[u8]) -> TxResult<()>;
    /// sled's monotonic id (outbox sequence numbers).
    fn generate_id(&self) -> TxResult<u64>;
    /// Queues an email (on the outbox tree).
    fn queue(&self, seq: OutboxSeq, head: &OutboxHead<'_>) -> TxResult<()> {
        self.put(&seq.key(), &head.encode())
    }
}

impl ChangeTree for TransactionalTree {
    fn get(&self, key: &[u8]) -> TxResult<Option<IVec>> {
        Ok(TransactionalTree::get(self, key)?)
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> TxResult<Option<IVec>> {
        Ok(TransactionalTree::insert(self, key, value)?)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> TxResult<()> {
        // Without reading the value it replaces (vendor/sled/PATCH.md).
        self.insert_blind(key, value);
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> TxResult<()> {
        TransactionalTree::remove(self, key)?;
        Ok(())
    }

    fn generate_id(&self) -> TxResult<u64> {
        Ok(TransactionalTree::generate_id(self)?)
    }
}

/// A tree of the open batch, for one change: reads see the change's own
/// writes (`layer`), then the batch's, then sled; writes go to `layer`.
pub(super) struct Staged<'a> {
    pub(super) store: &'a Store,
    pub(super) tree: TreeId,
    pub(super) batch: &'a Batch,
    pub(super) layer: &'a RefCell<Overlay>,
}

impl Staged<'_> {
    fn current(&self, key: &[u8]) -> TxResult<Option<IVec>> {
        if let Some(v) = self.layer.borrow().get(self.tree, key) {
            return Ok(v.map(IVec::from));
        }
        if let Some(v) = self.batch.get(self.tree, key) {
            return Ok(v.map(IVec::from));
        }
        self.store.tree(self.tree).get(key).map_err(ConflictableTransactionError::Storage)
    }
}

impl ChangeTree for Staged<'_> {
    fn get(&self, key: &[u8]) -> TxResult<Option<IVec>> {
        self.current(key)
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> TxResult<Option<IVec>> {
        let previous = self.current(key)?;
        self.put(key, value)?;
        Ok(previous)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> TxResult<()> {
        self.layer.borrow_mut().set(self.tree, key, Some(IVec::from(value)));
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> TxResult<()> {
        self.layer.borrow_mut().set(self.tree, key, None);
        Ok(())
    }

    fn generate_id(&self) -> TxResult<u64> {
        self.store.db.generate_id().map_err(ConflictableTransactionError::Storage)
    }

    fn queue(&self, seq: OutboxSeq, head: &OutboxHead<'_>) -> TxResult<()> {
        let entry = OutboxEntry {
            intro: head.intro.cloned(),
            email: head.email.clone(),
            queued_at: head.queued_at,
            attempts: head.attempts,
            not_before: head.not_before,
        };
        self.layer.borrow_mut().queued.insert(seq, entry);
        Ok(())
    }
}

/// The open batch and the thread that opened it: only that thread's
/// commits are staged and only its reads see them, so another thread (the
/// daemon's, writing sealed batches and draining the outbox beside the
/// inbox's handler thread) works on sled as written.
#[derive(Debug)]
pub(crate) struct Batch {
    owner: std::thread::ThreadId,
    /// What is being staged now.
    pub(super) overlay: Overlay,
    /// Sealed layers not yet written to sled, oldest first.
    sealed: Vec<Arc<Overlay>>,
}

impl Batch {
    /// A key as the batch left it: staged now, else in the newest sealed
    /// layer that has it; `None` when the batch has nothing for it.
    fn get(&self, tree: TreeId, key: &[u8]) -> Option<Option<&[u8]>> {
        self.overlay.get(tree, key).or_else(|| self.sealed.iter().rev().find_map(|layer| layer.get(tree, key)))
    }

    /// Every layer, oldest first: the sealed ones, then what is being staged.
    pub(super) fn layers(&self) -> impl Iterator<Item = &Overlay> {
        self.sealed.iter().map(|layer| &**layer).chain(std::iter::once(&self.overlay))
    }
}

/// A sealed layer of staged commits, to be written by [`Store::commit_sealed`]
/// (from any thread).
#[derive(Debug, Clone)]
pub(crate) struct Sealed(Arc<Overlay>);

impl Sealed {
    /// The emails it queues, in queue order.
    pub(crate) fn queued(&self) -> impl Iterator<Item = (OutboxSeq, &OutboxEntry)> {
        self.0.queued.iter().map(|(seq, entry)| (*seq, entry))
    }
}

/// The store's batch slot, locked.
pub(super) struct BatchSlot<'a>(MutexGuard<'a, Option<Batch>>);

impl BatchSlot<'_> {
    /// The open batch, if this thread opened it.
    pub(super) fn mine(&mut self) -> Option<&mut Batch> {
        match self.0.as_mut() {
            Some(b) if b.owner == std::thread::current().id() => Some(b),
            _ => None,
        }
    }

    /// Takes the open batch out, if this thread opened it.
    fn take_mine(&mut self) -> Option<Batch> {
        self.mine()?;
        self.0.take()
    }
}

/// The first key after every key that starts with `prefix` (`None`: there
/// is none, the prefix is all 0xff).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Store {
    pub(super) fn batch(&self) -> BatchSlot<'_> {
        // A panic while staging leaves the overlay as it was: still usable.
        BatchSlot(self.batch.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The sled tree behind a [`TreeId`].
    pub(super) fn tree(&self, tree: TreeId) -> &sled::Tree {
        match tree {
            TreeId::Intros => &self.intros,
            TreeId::Tokens => &self.tokens,
            TreeId::SentIds => &self.sent_ids,
            TreeId::Deadlines => &self.deadlines,
            TreeId::Processed => &self.processed,
            TreeId::Suppressed => &self.suppressed,
            TreeId::Outbox => &self.outbox,
            TreeId::Emails => &self.emails,
            TreeId::Ledger => &self.ledger,
            TreeId::Notes => &self.notes,
            TreeId::Summaries => &self.summaries,
        }
    }

    /// One key, as the open batch (if any) left it.
    pub(super) fn read(&self, tree: TreeId, key: &[u8]) -> Result<Option<IVec>, StoreError> {
        if let Some(batch) = self.batch().mine()
            && let Some(v) = batch.get(tree, key)
        {
            return Ok(v.map(IVec::from));
        }
        self.tree(tree).get(key).map_err(|e| self.err(e))
    }

    /// Every key of a tree with its value, as the open batch (if any) left
    /// them, in key order.
    pub(super) fn read_all(&self, tree: TreeId) -> Result<Vec<(IVec, IVec)>, StoreError> {
        self.read_range(tree, &[], None)
    }

    /// Calls `each` with every key of a tree and its value, as the open
    /// batch (if any) left them, in key order. Without a batch of this
    /// thread's, straight from sled, one record at a time: `list` over
    /// 100,000 intros held every record's bytes at once before it decoded
    /// any.
    pub(super) fn scan_all(
        &self,
        tree: TreeId,
        mut each: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if self.batch().mine().is_some() {
            for (k, v) in self.read_all(tree)? {
                each(&k, &v)?;
            }
            return Ok(());
        }
        for kv in self.tree(tree).iter() {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            each(&k, &v)?;
        }
        Ok(())
    }

    /// The keys of a tree that start with `prefix`, with their values, as
    /// the open batch (if any) left them, in key order.
    pub(super) fn read_prefix(&self, tree: TreeId, prefix: &[u8]) -> Result<Vec<(IVec, IVec)>, StoreError> {
        let end = prefix_end(prefix);
        self.read_range(tree, prefix, end.as_deref())
    }

    /// The keys of a tree from `start` (inclusive) to `end` (exclusive;
    /// `None`: to the end), with their values, as the open batch (if any)
    /// left them, in key order.
    pub(super) fn read_range(
        &self,
        tree: TreeId,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Result<Vec<(IVec, IVec)>, StoreError> {
        let range = match end {
            Some(end) => self.tree(tree).range(start..end),
            None => self.tree(tree).range(start..),
        };
        // Without a batch of this thread's (it cannot open one meanwhile),
        // sled's order is the answer: no map to merge into.
        if self.batch().mine().is_none() {
            return range.map(|kv| kv.map_err(|e| self.err(e))).collect();
        }
        let mut all = BTreeMap::new();
        for kv in range {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            all.insert(k, v);
        }
        if let Some(batch) = self.batch().mine() {
            for layer in batch.layers() {
                for (k, v) in layer.range(tree, start, end) {
                    match v {
                        Some(v) => all.insert(IVec::from(k), IVec::from(v)),
                        None => all.remove(k),
                    };
                }
            }
        }
        Ok(all.into_iter().collect())
    }

    /// Starts staging this thread's commits in memory (see the module
    /// doc); a batch already open stays open. One thread at a time: while
    /// another thread's batch is open, this one's commits go to sled.
    pub(crate) fn begin_batch(&self) {
        let mut slot = self.batch();
        if slot.0.is_none() {
            *slot.0 =
                Some(Batch { owner: std::thread::current().id(), overlay: Overlay::default(), sealed: Vec::new() });
        }
    }

    /// Writes the open batch in one transaction (nothing if none is open),
    /// and closes it. Durable only after [`Store::flush`]. A batch with
    /// sealed layers is written by [`Store::commit_sealed`] instead.
    pub(crate) fn commit_batch(&self) -> Result<(), StoreError> {
        let Some(batch) = self.batch().take_mine() else { return Ok(()) };
        debug_assert!(batch.sealed.is_empty(), "sealed layers are written by commit_sealed");
        self.write_overlay(&batch.overlay)
    }

    /// Seals what this thread's open batch staged so far, to be written by
    /// [`Store::commit_sealed`]; the batch stays open, and until then this
    /// thread's reads see the sealed layer. `None` without a batch of this
    /// thread's.
    pub(crate) fn seal_batch(&self) -> Option<Sealed> {
        let mut slot = self.batch();
        let batch = slot.mine()?;
        let layer = Arc::new(std::mem::take(&mut batch.overlay));
        batch.sealed.push(Arc::clone(&layer));
        Some(Sealed(layer))
    }

    /// Writes sealed layers as one group, all or nothing across a crash
    /// (through a redo record, `store::redo`), from any thread, then takes
    /// them out of their batch: reads find them in sled from then on.
    /// Durable only after [`Store::flush`]. Layers come in the order they
    /// were sealed (a later one may build on an earlier one, and its writes
    /// win); several written at once share one record and one sync.
    ///
    /// `written` (in queue order): emails of the layers a batched transport
    /// has already written durably, under the file `names`. They never
    /// enter the outbox, and the names are recorded as being published in
    /// the same group (as [`Store::forget_written`] records them),
    /// replacing the previous ones, which must have been published by then.
    pub(crate) fn commit_sealed(
        &self,
        layers: &[Sealed],
        written: &[OutboxSeq],
        names: &[String],
    ) -> Result<(), StoreError> {
        let names = (!written.is_empty()).then(|| super::to_json(&names));
        // Emails not written through go to the outbox, encoded once.
        let queued: Vec<Vec<([u8; 8], Vec<u8>)>> = layers
            .iter()
            .map(|layer| {
                layer
                    .0
                    .queued
                    .iter()
                    .filter(|(seq, _)| written.binary_search(seq).is_err())
                    .map(|(seq, entry)| (seq.key(), super::encode_outbox(entry)))
                    .collect()
            })
            .collect();
        let mut writes: Vec<GroupWrite<'_>> = Vec::new();
        if let Some(names) = &names {
            writes.push((redo::meta(), super::BEING_PUBLISHED.as_bytes(), Some(names)));
        }
        // In the order the layers were sealed: a later write of a key
        // replaces an earlier one.
        for (layer, queued) in layers.iter().zip(&queued) {
            writes.extend(queued.iter().map(|(k, v)| (redo::code(TreeId::Outbox), k.as_slice(), Some(v.as_slice()))));
            for (tree, tree_writes) in TreeId::ALL.iter().zip(&layer.0.writes) {
                writes.extend(tree_writes.iter().map(|(k, v)| (redo::code(*tree), k.as_slice(), v.as_deref())));
            }
        }
        if !writes.is_empty() {
            self.write_group(&writes)?;
        }
        if let Some(batch) = self.batch().0.as_mut() {
            batch.sealed.retain(|mine| !layers.iter().any(|layer| Arc::ptr_eq(mine, &layer.0)));
        }
        Ok(())
    }

    /// Writes a batch's staged changes in one transaction.
    fn write_overlay(&self, overlay: &Overlay) -> Result<(), StoreError> {
        if overlay.is_empty() {
            return Ok(());
        }
        let trees = self.change_trees();
        let result: Result<(), TransactionError<StoreError>> = trees[..].transaction(|tx| {
            for (seq, entry) in &overlay.queued {
                tx[TreeId::Outbox as usize].insert_blind(&seq.key(), super::encode_outbox(entry));
            }
            // `change_trees` and the overlay's maps are both in `TreeId::ALL` order.
            for (t, writes) in tx.iter().zip(&overlay.writes) {
                for (key, value) in writes {
                    // Blind: nothing here needs the value a write replaces,
                    // and reading it walked each tree a second time
                    // (vendor/sled/PATCH.md).
                    match value {
                        Some(v) => t.insert_blind(key.as_slice(), v.clone()),
                        None => t.remove_blind(key.as_slice()),
                    }
                }
            }
            Ok::<(), ConflictableTransactionError<StoreError>>(())
        });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => self.err(e),
        })
    }

    /// Drops the open batch unwritten, sealed layers and all (after an
    /// error: its messages are handled again next time; or when its owner is
    /// done and the sealed layers are in the writer's hands).
    pub(crate) fn abort_batch(&self) {
        self.batch().take_mine();
    }
}
