//! Where an intro lives in the store: its key in the `intros`, `summaries`
//! and `emails` trees, and the ids of new intros.
//!
//! An intro's id (`k7m2p3qx`: eight base32 letters, 40 bits) is a keyed
//! permutation of a number, and the three trees are keyed by the number
//! (eight bytes, big-endian). The store hands out numbers in order, so a new
//! intro is written at the end of each tree, on pages sled already holds in
//! memory. With the ids themselves as keys, every new intro landed at a
//! random place in trees larger than sled's cache: 27 page reads from disk
//! per forwarded request over 10,000 of them, and about a sixth of the
//! inbox's time (BENCHMARKS.md). The ids still look random, so that a
//! one-letter typo in `introbot cancel` names no other intro and an id does
//! not tell how many intros the bot made; the permutation's key is the
//! store's own (`meta`), made once with the store.
//!
//! The mapping is total: a string that is not eight letters of the alphabet
//! (no id this bot made, but tests and hand-typed ids) keeps its bytes as
//! its key. Those never start with a zero byte; a number's key always does
//! (it is below 2^40), so the two never meet.
//!
//! Owns the mapping, the numbering of new intros and the one-time step that
//! moves a store's intros from their ids to their numbers; nothing else. A
//! number is checked unused before it is handed out (an intro from before
//! numbers has its number too, anywhere in the range).

use std::sync::atomic::Ordering;

use super::{Store, StoreError, TreeId};
use crate::core::IntroId;
use crate::tokens::ALPHABET;

/// `meta` key: the key of the permutation, eight bytes.
const KEY: &str = "intro_id_key";

/// `meta` key: where numbering goes on after a restart (eight bytes,
/// big-endian): advanced a block at a time, ahead of the numbers handed out.
const NEXT: &str = "next_intro_number";

/// Numbers handed out between two writes of [`NEXT`] (at most this many
/// are skipped at each start).
const BLOCK: u64 = 1024;

/// `meta` mark (`upgrade:` + this) of a store whose intros are keyed by
/// number.
const UPGRADE: &str = "intro-numbers-1";

/// Keys moved per sled batch by the upgrade.
const UPGRADE_CHUNK: usize = 1024;

/// Letters in an id.
pub(crate) const LETTERS: usize = 8;

/// Bits of a number (and of an id): eight letters of five bits.
const BITS: u32 = 40;

/// Half of them: the permutation is a Feistel network on two halves.
const HALF: u32 = BITS / 2;
const HALF_MASK: u64 = (1 << HALF) - 1;

/// Rounds of the network: after six, consecutive numbers give ids that
/// differ everywhere (tested below).
const ROUNDS: u64 = 6;

/// Maps intro ids to numbers and store keys, with one store's key.
#[derive(Clone, Copy, Debug)]
pub(super) struct IntroKeys {
    key: u64,
}

impl IntroKeys {
    /// The mapping under a store's key.
    pub(super) fn new(key: u64) -> IntroKeys {
        IntroKeys { key }
    }

    /// The id of intro number `number` (below 2^40).
    pub(super) fn id(self, number: u64) -> IntroId {
        let mut bits = self.permute(number & ((1 << BITS) - 1));
        let mut letters = [0u8; LETTERS];
        for letter in letters.iter_mut().rev() {
            *letter = ALPHABET[usize::try_from(bits & 31).unwrap_or(0)];
            bits >>= 5;
        }
        IntroId::new(String::from_utf8_lossy(&letters).into_owned())
    }

    /// The number of an id, if it is one (eight letters of the alphabet).
    pub(super) fn number(self, id: &IntroId) -> Option<u64> {
        let text = id.as_str().as_bytes();
        if text.len() != LETTERS {
            return None;
        }
        let mut bits = 0u64;
        for b in text {
            let value = ALPHABET.iter().position(|a| a == b)?;
            bits = (bits << 5) | u64::try_from(value).ok()?;
        }
        Some(self.unpermute(bits))
    }

    /// The key of an intro in `intros` and `summaries`; none for text that
    /// can be no intro's (empty, or starting with a zero byte, as a
    /// number's key does: such text must not find intro number 5).
    pub(super) fn key(self, id: &IntroId) -> Option<Vec<u8>> {
        match self.number(id) {
            Some(n) => Some(n.to_be_bytes().to_vec()),
            None => Some(id.as_str().as_bytes().to_vec()).filter(|key| Self::is_text_key(key)),
        }
    }

    /// The prefix of an intro's keys in `emails`, from its [`IntroKeys::key`]:
    /// the key, and a zero byte after an id's own bytes, which vary in
    /// length.
    pub(super) fn emails_prefix(mut key: Vec<u8>) -> Vec<u8> {
        if Self::is_text_key(&key) {
            key.push(0);
        }
        key
    }

    /// The id an `intros` or `summaries` key stands for.
    pub(super) fn id_of_key(self, key: &[u8]) -> IntroId {
        match <[u8; 8]>::try_from(key) {
            Ok(bytes) if !Self::is_text_key(&bytes) => self.id(u64::from_be_bytes(bytes)),
            _ => IntroId::new(String::from_utf8_lossy(key).into_owned()),
        }
    }

    /// Whether a key is an id's own bytes (an intro from before numbers,
    /// or one whose id is no id of ours).
    pub(super) fn is_text_key(key: &[u8]) -> bool {
        key.first().is_some_and(|b| *b != 0)
    }

    fn round(self, round: u64, half: u64) -> u64 {
        mix(self.key ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ half) & HALF_MASK
    }

    fn permute(self, bits: u64) -> u64 {
        let (mut left, mut right) = (bits >> HALF, bits & HALF_MASK);
        for r in 0..ROUNDS {
            (left, right) = (right, left ^ self.round(r, right));
        }
        (left << HALF) | right
    }

    fn unpermute(self, bits: u64) -> u64 {
        let (mut left, mut right) = (bits >> HALF, bits & HALF_MASK);
        for r in (0..ROUNDS).rev() {
            (left, right) = (right ^ self.round(r, left), left);
        }
        (left << HALF) | right
    }
}

/// The store's key and where numbering goes on, from `meta`; a store
/// without a key gets one here, synced before anything is keyed by it. A
/// key that is there but damaged is an error, never replaced: with another
/// key every numbered intro would answer to another id.
pub(super) fn open(
    meta: &sled::Tree,
    sled_err: impl Fn(sled::Error) -> StoreError,
) -> Result<(IntroKeys, u64), StoreError> {
    let eight = |what: &str, v: sled::IVec| {
        <[u8; 8]>::try_from(v.as_ref())
            .map(u64::from_be_bytes)
            .map_err(|_| StoreError::Corrupt { what: what.into(), detail: format!("{} bytes, not 8", v.len()) })
    };
    let key = match meta.get(KEY).map_err(&sled_err)? {
        Some(v) => eight(KEY, v)?,
        None => {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).map_err(|e| sled_err(sled::Error::Io(std::io::Error::other(e))))?;
            meta.insert(KEY, &bytes).map_err(&sled_err)?;
            meta.flush().map_err(&sled_err)?;
            u64::from_be_bytes(bytes)
        }
    };
    // A damaged hint is as good as none: taken numbers are skipped.
    let next = meta.get(NEXT).map_err(&sled_err)?.and_then(|v| eight(NEXT, v).ok()).unwrap_or(0);
    Ok((IntroKeys::new(key), next))
}

impl Store {
    /// A new intro's id: the next number not taken. Numbers skipped by a
    /// restart are never handed out; a number taken after a crash lost the
    /// last write of [`NEXT`] is found taken and skipped.
    pub(crate) fn new_intro_id(&self) -> Result<IntroId, StoreError> {
        loop {
            let number = self.next_intro.fetch_add(1, Ordering::Relaxed);
            if number.is_multiple_of(BLOCK) {
                let ahead = number.saturating_add(BLOCK).to_be_bytes();
                self.meta.insert(NEXT, &ahead).map_err(|e| self.err(e))?;
            }
            let id = self.intro_keys.id(number);
            if !self.has_intro(&id)? {
                return Ok(id);
            }
        }
    }

    /// Moves the intros of a store from before numbers (keyed by their
    /// ids) to their numbers, in `intros`, `summaries` and `emails`, once
    /// per store: called by [`Store::open`], before anything else can
    /// write. The schema is raised first, so that an older introbot never
    /// opens a store half moved; a crash part way only means the next open
    /// moves the rest (a moved key is a number's, and left alone).
    pub(super) fn number_intros(&self) -> Result<usize, StoreError> {
        if self.upgrade_done(UPGRADE)? {
            return Ok(0);
        }
        if !self.intros.is_empty() {
            // Measured: 32 s for 100,000 intros (BENCHMARKS.md).
            tracing::info!(
                "keying the intros by number, once for this store: about a third of a second per 1,000 intros"
            );
        }
        self.raise_schema()?;
        let keys = self.intro_keys;
        let by_number =
            |old: &[u8]| keys.number(&IntroId::new(String::from_utf8_lossy(old))).map(|n| n.to_be_bytes().to_vec());
        let moved = self.move_keys(TreeId::Intros, by_number)?;
        self.move_keys(TreeId::Summaries, by_number)?;
        // `emails`: id ‖ 0 ‖ sequence number (ids are eight letters).
        self.move_keys(TreeId::Emails, |old| {
            let (id, rest) = old.split_at_checked(8)?;
            let seq = rest.strip_prefix(&[0])?;
            let number = keys.number(&IntroId::new(String::from_utf8_lossy(id)))?;
            Some([number.to_be_bytes().as_slice(), seq].concat())
        })?;
        self.flush()?;
        self.mark_upgrade_done(UPGRADE)?;
        self.flush()?;
        Ok(moved)
    }

    /// Moves every text key of `tree` that `new_key` maps; returns how many.
    fn move_keys(&self, tree: TreeId, new_key: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Result<usize, StoreError> {
        let tree = self.tree(tree);
        let (mut moved, mut chunk) = (0usize, sled::Batch::default());
        // Text keys only: the moved ones (a zero byte first) sort before
        // them, and a move resumed after a crash skips them.
        for kv in tree.range([1u8].as_slice()..) {
            let (old, value) = kv.map_err(|e| self.err(e))?;
            let Some(new) = new_key(&old) else { continue };
            chunk.remove(old);
            chunk.insert(new, value);
            moved += 1;
            if moved.is_multiple_of(UPGRADE_CHUNK) {
                tree.apply_batch(std::mem::take(&mut chunk)).map_err(|e| self.err(e))?;
            }
        }
        tree.apply_batch(chunk).map_err(|e| self.err(e))?;
        Ok(moved)
    }
}

/// SplitMix64's finalizer: every input bit reaches every output bit.
/// Written out rather than taken from a hasher, because stored keys depend
/// on it and must not change with a library or compiler release.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_number_has_an_id_that_maps_back(key: u64, number in 0u64..(1 << BITS)) {
            let keys = IntroKeys::new(key);
            let id = keys.id(number);
            prop_assert_eq!(id.as_str().len(), LETTERS);
            prop_assert!(!crate::tokens::looks_like_token(id.as_str()));
            prop_assert_eq!(keys.number(&id), Some(number));
            prop_assert_eq!(keys.id_of_key(&keys.key(&id).expect("a key")), id);
        }

        #[test]
        fn every_id_has_a_number_that_maps_back(key: u64, letters in "[a-z2-7]{8}") {
            let keys = IntroKeys::new(key);
            let id = IntroId::new(letters);
            let number = keys.number(&id).expect("an id");
            prop_assert!(number < 1 << BITS);
            prop_assert_eq!(keys.id(number), id);
        }

        #[test]
        fn any_other_text_keeps_its_bytes(key: u64, text in "[^\u{0}]{1,12}") {
            let keys = IntroKeys::new(key);
            let id = IntroId::new(text.clone());
            prop_assume!(keys.number(&id).is_none());
            prop_assert_eq!(keys.key(&id), Some(text.as_bytes().to_vec()));
            prop_assert_eq!(keys.id_of_key(text.as_bytes()), id);
        }
    }

    #[test]
    fn keys_of_consecutive_numbers_sort_in_order_and_their_ids_do_not() {
        let keys = IntroKeys::new(0x5eed);
        let ids: Vec<IntroId> = (1000..1100).map(|n| keys.id(n)).collect();
        let store_keys: Vec<Vec<u8>> = ids.iter().map(|id| keys.key(id).expect("a key")).collect();
        assert!(store_keys.windows(2).all(|w| w[0] < w[1]), "keys in order");
        assert!(store_keys.iter().all(|k| !IntroKeys::is_text_key(k)));
        // Neighbours share hardly a letter: a typo finds no other intro
        // made around the same time.
        for pair in ids.windows(2) {
            let same = pair[0].as_str().bytes().zip(pair[1].as_str().bytes()).filter(|(a, b)| a == b).count();
            assert!(same <= 3, "{} and {} share {same} letters", pair[0], pair[1]);
        }
        let mut sorted = ids.clone();
        sorted.sort();
        assert_ne!(sorted, ids, "ids not in number order");
    }

    fn store(dir: &tempfile::TempDir) -> Store {
        crate::store::reopen(dir.path()).expect("open")
    }

    /// A new intro with a new id, committed with two emails.
    fn commit_new(store: &Store) -> IntroId {
        let mut intro = crate::compose::samples::intro();
        intro.id = store.new_intro_id().expect("id");
        let emails = [1, 2].map(|n| crate::compose::samples::composed(&format!("{n}.{}@x", intro.id))).to_vec();
        let change = super::super::Change { intro: Some(intro.clone()), emails, ..Default::default() };
        store.commit(&change, jiff::Timestamp::UNIX_EPOCH).expect("commit");
        intro.id
    }

    fn keys_of(store: &Store, tree: TreeId) -> Vec<Vec<u8>> {
        store.tree(tree).iter().keys().map(|k| k.expect("key").to_vec()).collect()
    }

    fn summary_ids(store: &Store) -> Vec<IntroId> {
        let mut ids = Vec::new();
        store.each_summary(None, |id, _| ids.push(id)).expect("summaries");
        ids
    }

    #[test]
    fn new_intros_are_numbered_and_written_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir);
        let ids: Vec<IntroId> = (0..5).map(|_| commit_new(&store)).collect();
        let numbers: Vec<u64> = ids.iter().map(|id| store.intro_keys.number(id).expect("an id")).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4]);
        let in_tree: Vec<Vec<u8>> = numbers.iter().map(|n| n.to_be_bytes().to_vec()).collect();
        assert_eq!(keys_of(&store, TreeId::Intros), in_tree);
        assert_eq!(keys_of(&store, TreeId::Summaries), in_tree);
        assert_eq!(summary_ids(&store), ids, "list names them by id, oldest first");
        for id in &ids {
            assert_eq!(store.intro(id).expect("read").map(|i| i.id), Some(id.clone()));
            let sent: Vec<String> =
                store.emails_of(id).expect("emails").into_iter().map(|e| e.message_id.as_str().to_owned()).collect();
            assert_eq!(sent, [format!("1.{id}@x"), format!("2.{id}@x")]);
        }
    }

    #[test]
    fn a_taken_number_is_skipped_and_numbering_goes_on_after_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = {
            let store = store(&dir);
            // Number 0's id is taken already (as by an intro from before
            // numbers whose id happens to be it).
            let mut squatter = crate::compose::samples::intro();
            squatter.id = store.intro_keys.id(0);
            let change = super::super::Change { intro: Some(squatter.clone()), ..Default::default() };
            store.commit(&change, jiff::Timestamp::UNIX_EPOCH).expect("commit");
            let first = commit_new(&store);
            assert_ne!(first, squatter.id);
            assert_eq!(store.intro_keys.number(&first), Some(1));
            store.flush().expect("flush");
            first
        };
        let store = store(&dir);
        let next = commit_new(&store);
        let number = store.intro_keys.number(&next).expect("an id");
        assert!(number > 1, "numbers are not handed out twice ({number})");
        assert!(store.intro(&first).expect("read").is_some());
    }

    #[test]
    fn a_store_from_before_numbers_is_moved_once_even_when_interrupted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ids: Vec<IntroId> = {
            let store = store(&dir);
            let ids = (0..3).map(|_| commit_new(&store)).collect();
            store.flush().expect("flush");
            ids
        };
        // Made a store of schema 2 by hand: every key turned back into the
        // id's own bytes (and `emails` into id ‖ 0 ‖ sequence number).
        let back_to_text = |store: &Store, tree: TreeId| {
            for kv in store.tree(tree).iter() {
                let (k, v) = kv.expect("read");
                let (number, rest) = k.split_at(8);
                let id = store.intro_keys.id(u64::from_be_bytes(number.try_into().expect("eight bytes")));
                let mut text = id.as_str().as_bytes().to_vec();
                if tree == TreeId::Emails {
                    text.push(0);
                    text.extend_from_slice(rest);
                }
                store.tree(tree).remove(&k).expect("remove");
                store.tree(tree).insert(text, v).expect("insert");
            }
        };
        {
            let store = store(&dir);
            for tree in [TreeId::Intros, TreeId::Summaries, TreeId::Emails] {
                back_to_text(&store, tree);
            }
            store.meta.remove(format!("upgrade:{UPGRADE}")).expect("unmark");
            store.meta.insert("schema_version", &2u32.to_be_bytes()).expect("schema 2");
            store.flush().expect("flush");
            assert!(store.intro(&ids[0]).expect("read").is_none(), "not found by number yet");
        }
        let check = |store: &Store| {
            for id in &ids {
                assert_eq!(store.intro(id).expect("read").map(|i| i.id), Some(id.clone()));
                assert_eq!(store.emails_of(id).expect("emails").len(), 2);
            }
            assert_eq!(summary_ids(store), ids);
            for tree in [TreeId::Intros, TreeId::Summaries, TreeId::Emails] {
                assert!(keys_of(store, tree).iter().all(|k| !IntroKeys::is_text_key(k)), "{tree:?} moved");
            }
            assert!(store.upgrade_done(UPGRADE).expect("read"));
            let schema = store.meta.get("schema_version").expect("read").expect("set");
            assert_eq!(schema.as_ref(), super::super::SCHEMA_VERSION.to_be_bytes());
        };
        {
            let store = store(&dir);
            check(&store);
            assert_eq!(store.number_intros().expect("again"), 0, "once per store");
            // A crash part way: `emails` not moved yet, no mark.
            back_to_text(&store, TreeId::Emails);
            store.meta.remove(format!("upgrade:{UPGRADE}")).expect("unmark");
            store.flush().expect("flush");
        }
        check(&store(&dir));
    }

    #[test]
    fn text_that_looks_like_a_number_finds_no_intro() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir);
        let id = commit_new(&store);
        assert_eq!(store.intro_keys.number(&id), Some(0));
        // The bytes of number 0's key, and no text at all: neither is an id.
        for text in ["\0\0\0\0\0\0\0\0", ""] {
            let other = IntroId::new(text);
            assert_eq!(store.intro(&other).expect("read"), None, "{text:?}");
            assert!(!store.has_intro(&other).expect("read"));
            assert!(store.emails_of(&other).expect("read").is_empty(), "{text:?}");
            let mut intro = crate::compose::samples::intro();
            intro.id = other;
            let change = super::super::Change { intro: Some(intro), ..Default::default() };
            assert!(store.commit(&change, jiff::Timestamp::UNIX_EPOCH).is_err(), "{text:?} stored");
        }
        assert_eq!(store.emails_of(&id).expect("read").len(), 2);
    }

    #[test]
    fn a_damaged_key_stops_the_store_from_opening_and_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = store(&dir);
            store.meta.insert(KEY, b"short".as_slice()).expect("damage");
            store.flush().expect("flush");
        }
        let err = crate::store::reopen(dir.path()).expect_err("refused");
        assert!(matches!(&err, StoreError::Corrupt { what, .. } if what == KEY), "{err}");
        let db = sled::open(dir.path()).expect("sled");
        let kept = db.open_tree("meta").expect("meta").get(KEY).expect("read");
        assert_eq!(kept.as_deref(), Some(b"short".as_slice()), "not replaced");
    }

    #[test]
    fn another_store_gives_the_same_number_another_id() {
        assert_ne!(IntroKeys::new(1).id(7), IntroKeys::new(2).id(7));
    }

    #[test]
    fn the_mapping_is_fixed_across_releases() {
        // Stored keys depend on it: a change here orphans every intro.
        assert_eq!(IntroKeys::new(42).id(1).as_str(), FIXED_ID);
    }

    /// What `IntroKeys::new(42).id(1)` was when numbers were introduced.
    const FIXED_ID: &str = "3r57aagh";
}
