use std::time::Duration;

use super::*;
use crate::compose::samples;
use crate::core::{Deadline, DeadlineKind};

fn address(s: &str) -> Address {
    Address::parse(s).expect("valid")
}

fn email(id: &str) -> Composed {
    samples::composed(id)
}

fn at(secs: u64) -> Timestamp {
    Timestamp::UNIX_EPOCH.checked_add(Duration::from_secs(secs)).expect("in range")
}

#[test]
fn a_commit_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let intro = samples::intro();
    {
        let store = Store::open(dir.path()).expect("open");
        let change = Change {
            intro: Some(intro.clone()),
            emails: vec![email("a@x"), email("b@x")],
            processed: Some((
                "in-1@x".into(),
                Processed {
                    at: at(1),
                    disposition: Disposition::Processed,
                    intro: Some(intro.id.clone()),
                    note: "n".into(),
                },
            )),
            suppress: vec![address("Bob+intros@Example.org")],
            ledger: Vec::new(),
        };
        store.commit(&change, at(1)).expect("commit");
        store.flush().expect("flush");
    }
    let store = reopen(dir.path()).expect("reopen");
    assert_eq!(store.intro(&intro.id).expect("read"), Some(intro.clone()));
    let (found, owner) = store.by_token(&intro.target.token).expect("read").expect("indexed");
    assert_eq!((found.id, owner), (intro.id.clone(), TokenOwner::Party(Role::Target)));
    let (_, owner) = store.by_token(&intro.connector_token).expect("read").expect("indexed");
    assert_eq!(owner, TokenOwner::Connector);
    assert!(store.by_token(&Token::new("nope")).expect("read").is_none());
    assert_eq!(store.by_sent_message_id(&"b@x".into()).expect("read").map(|i| i.id), Some(intro.id.clone()));
    assert_eq!(store.processed(&"in-1@x".into()).expect("read").map(|p| p.disposition), Some(Disposition::Processed));
    assert!(store.is_suppressed(&address("bob@example.org")).expect("read"), "the same mailbox");
    let outbox: Vec<String> =
        store.outbox().expect("read").into_iter().map(|(_, e)| e.email.message_id.as_str().to_owned()).collect();
    assert_eq!(outbox, ["a@x", "b@x"]);
}

#[test]
fn deadlines_move_with_the_intro_and_come_due_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let mut a = samples::intro();
    a.deadline = Some(Deadline { at: at(100), kind: DeadlineKind::FollowUp });
    let mut b = samples::intro();
    b.id = IntroId::new("bbbbbbbb");
    b.deadline = Some(Deadline { at: at(50), kind: DeadlineKind::FollowUp });
    for i in [&a, &b] {
        store.commit(&Change { intro: Some(i.clone()), ..Change::default() }, at(0)).expect("commit");
    }
    assert_eq!(store.due(at(49)).expect("due"), Vec::<IntroId>::new());
    assert_eq!(store.due(at(100)).expect("due"), [b.id.clone(), a.id.clone()]);
    assert_eq!(store.next_deadline().expect("next"), Some(at(50)));
    // Moving a's timer removes the old key; clearing b's removes it.
    a.deadline = Some(Deadline { at: at(200), kind: DeadlineKind::Expire });
    b.deadline = None;
    for i in [&a, &b] {
        store.commit(&Change { intro: Some(i.clone()), ..Change::default() }, at(0)).expect("commit");
    }
    assert_eq!(store.due(at(199)).expect("due"), Vec::<IntroId>::new());
    assert_eq!(store.due(at(200)).expect("due"), [a.id.clone()]);
}

#[test]
fn outbox_entries_leave_only_when_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store.commit(&Change { emails: vec![email("1@x"), email("2@x")], ..Change::default() }, at(0)).expect("commit");
    let entries = store.outbox().expect("read");
    assert_eq!(entries.len(), 2);
    store.remove_outbox(entries[0].0).expect("remove");
    let mut retry = entries[1].1.clone();
    retry.attempts = 3;
    store.reschedule_outbox(entries[1].0, &retry).expect("reschedule");
    assert_eq!(store.next_retry().expect("read"), None, "nothing backs off yet");
    retry.not_before = Some(at(90));
    store.reschedule_outbox(entries[1].0, &retry).expect("reschedule");
    assert_eq!(store.next_retry().expect("read"), Some(at(90)));
    let left = store.outbox().expect("read");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].1.attempts, 3);
    assert_eq!(left[0].1.email.message_id.as_str(), "2@x");
}

#[test]
fn a_second_open_is_refused_with_a_plain_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = Store::open(dir.path()).expect("open");
    let err = Store::open(dir.path()).expect_err("locked");
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("is introbot already running?"), "{err}");
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = sled::open(dir.path()).expect("sled");
        let meta = db.open_tree("meta").expect("tree");
        meta.insert("schema_version", &(SCHEMA_VERSION + 1).to_be_bytes()).expect("insert");
        db.flush().expect("flush");
    }
    let err = Store::open(dir.path()).expect_err("newer");
    assert!(err.to_string().contains("newer introbot"), "{err}");
}

#[test]
fn a_corrupt_record_names_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = sled::open(dir.path()).expect("sled");
        db.open_tree("intros").expect("tree").insert("zzzzzzzz", b"{not json").expect("insert");
        db.flush().expect("flush");
    }
    // It opens (building summaries skips what does not decode) ...
    let store = Store::open(dir.path()).expect("open");
    let err = store.intro(&IntroId::new("zzzzzzzz")).expect_err("corrupt");
    assert!(err.to_string().contains("intro zzzzzzzz"), "{err}");
    // ... and `list`'s table leaves out what it cannot summarise.
    let mut listed = 0;
    store.each_summary(None, |_, _| listed += 1).expect("summaries");
    assert_eq!(listed, 0);
}

#[test]
fn suppressions_written_before_canonical_keys_still_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = sled::open(dir.path()).expect("sled");
        // An older build keyed the list by the address lowercased as written.
        db.open_tree("suppressed").expect("tree").insert("bob+old@example.org", b"null").expect("insert");
        db.flush().expect("flush");
    }
    let store = Store::open(dir.path()).expect("open");
    let old = address("Bob+Old@example.org");
    assert!(store.is_suppressed(&old).expect("read"));
    assert!(store.unsuppress(&old).expect("remove"));
    assert!(!store.is_suppressed(&old).expect("read"));
    assert!(!store.unsuppress(&old).expect("remove"), "nothing left to remove");
}

#[test]
fn malformed_keys_are_reported_not_sliced() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = sled::open(dir.path()).expect("sled");
        db.open_tree("deadlines").expect("tree").insert([0u8, 0, 0], b"").expect("insert");
        db.open_tree("outbox").expect("tree").insert([9u8; 3], b"").expect("insert");
        db.flush().expect("flush");
    }
    let store = Store::open(dir.path()).expect("open");
    assert!(matches!(store.next_deadline(), Err(StoreError::Corrupt { .. })));
    assert!(matches!(store.due(at(10)), Err(StoreError::Corrupt { .. })));
    assert!(matches!(store.outbox(), Err(StoreError::Corrupt { .. })));
}

fn change_with(intro: &Intro, inbound: &str, emails: Vec<Composed>) -> Change {
    Change {
        intro: Some(intro.clone()),
        emails,
        processed: Some((
            inbound.into(),
            Processed {
                at: at(1),
                disposition: Disposition::Processed,
                intro: Some(intro.id.clone()),
                note: "n".into(),
            },
        )),
        suppress: Vec::new(),
        ledger: Vec::new(),
    }
}

#[test]
fn a_batch_reads_its_own_writes_and_writes_them_all_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let intro = samples::intro();
    store.begin_batch();
    store.commit(&change_with(&intro, "in-1@x", vec![email("a@x")]), at(1)).expect("staged");
    // The next message of the batch sees the first one's intro and indexes.
    assert_eq!(store.intro(&intro.id).expect("read"), Some(intro.clone()));
    assert!(store.has_intro(&intro.id).expect("read"));
    assert_eq!(store.by_token(&intro.requester.token).expect("read").map(|(i, _)| i.id), Some(intro.id.clone()));
    assert!(store.processed(&"in-1@x".into()).expect("read").is_some());
    assert_eq!(store.intros(None).expect("read").len(), 1);
    // A later step of the same intro replaces it and moves its timer.
    let mut later = intro.clone();
    later.deadline = Some(Deadline { at: at(500), kind: DeadlineKind::Expire });
    store.commit(&change_with(&later, "in-2@x", vec![email("b@x")]), at(2)).expect("staged");
    assert_eq!(store.intro(&intro.id).expect("read"), Some(later.clone()));
    // Nothing is in sled yet.
    assert!(store.intros.get(intro.id.as_str()).expect("sled").is_none());
    assert_eq!(store.outbox_len(), 0);
    store.commit_batch().expect("written");
    store.flush().expect("flush");
    assert_eq!(store.intro(&intro.id).expect("read"), Some(later));
    assert_eq!(store.outbox().expect("outbox").len(), 2);
    assert_eq!(store.due(at(1000)).expect("due"), vec![intro.id.clone()], "one timer, the later one");
    assert!(store.processed(&"in-2@x".into()).expect("read").is_some());
}

#[test]
fn an_aborted_or_unsynced_batch_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let intro = samples::intro();
    {
        let store = Store::open(dir.path()).expect("open");
        store.begin_batch();
        store.commit(&change_with(&intro, "in-1@x", vec![email("a@x")]), at(1)).expect("staged");
        store.abort_batch();
        assert!(store.intro(&intro.id).expect("read").is_none(), "aborted");
        assert!(store.processed(&"in-1@x".into()).expect("read").is_none());
        store.begin_batch();
        store.commit(&change_with(&intro, "in-1@x", vec![email("a@x")]), at(1)).expect("staged");
        // Dropped with the batch open: a crash before the batch was written.
    }
    let store = reopen(dir.path()).expect("reopen");
    assert!(store.intro(&intro.id).expect("read").is_none());
    assert!(store.processed(&"in-1@x".into()).expect("read").is_none());
    assert_eq!(store.outbox_len(), 0);
}

#[test]
fn the_limits_ledger_and_notes_are_part_of_the_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let mailed = |to: &str| LedgerEntry::Mailed { to: to.into() };
    store.commit(&Change { ledger: vec![mailed("bob@example.org")], ..Change::default() }, at(1)).expect("commit");
    store.begin_batch();
    for _ in 0..3 {
        store.commit(&Change { ledger: vec![mailed("bob@example.org")], ..Change::default() }, at(2)).expect("staged");
    }
    let mut note = email("note@x");
    note.note_token = Some(Token::new("tok123"));
    let silence = LedgerEntry::Silence { who: "al@example.org".into(), count: 2 };
    store.commit(&Change { emails: vec![note], ledger: vec![silence], ..Change::default() }, at(2)).expect("staged");
    // Later messages of the batch count what earlier ones did...
    assert_eq!(store.count_since(Counted::Mailed, "bob@example.org", at(0)).expect("count"), 4);
    assert_eq!(store.silence("al@example.org").expect("read").map(|s| s.count), Some(2));
    assert!(store.note_by_token(&Token::new("tok123")).expect("read").is_some());
    // ...none of which is in sled before the batch is written.
    assert_eq!(store.ledger.len(), 1);
    assert!(store.notes.is_empty());
    store.commit_batch().expect("written");
    assert_eq!(store.count_since(Counted::Mailed, "bob@example.org", at(0)).expect("count"), 4);
    assert_eq!(store.silence("al@example.org").expect("read").map(|s| s.count), Some(2));
    assert!(store.note_by_message_id(&"note@x".into()).expect("read").is_some());
    // An aborted batch counts nothing.
    store.begin_batch();
    store.commit(&Change { ledger: vec![mailed("bob@example.org")], ..Change::default() }, at(3)).expect("staged");
    store.abort_batch();
    assert_eq!(store.count_since(Counted::Mailed, "bob@example.org", at(0)).expect("count"), 4);
}

/// Opens a batch and seals two layers in it: `intro` with email `a@x`,
/// then `intro` with a later timer and `emails` (returned as `later`). The
/// second layer is staged on top of the sealed first one, which its owner
/// reads as if it were committed.
fn two_sealed_layers(store: &Store, intro: &Intro, emails: Vec<Composed>) -> (Sealed, Intro, Sealed) {
    store.begin_batch();
    store.commit(&change_with(intro, "in-1@x", vec![email("a@x")]), at(1)).expect("staged");
    let first = store.seal_batch().expect("this thread's batch");
    assert_eq!(store.intro(&intro.id).expect("read").as_ref(), Some(intro));
    assert!(store.processed(&"in-1@x".into()).expect("read").is_some());
    let mut later = intro.clone();
    later.deadline = Some(Deadline { at: at(500), kind: DeadlineKind::Expire });
    store.commit(&change_with(&later, "in-2@x", emails), at(2)).expect("staged");
    let second = store.seal_batch().expect("this thread's batch");
    (first, later, second)
}

#[test]
fn a_sealed_layer_is_read_by_its_owner_until_written_and_by_nobody_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let intro = samples::intro();
    let (first, later, second) = two_sealed_layers(&store, &intro, vec![email("b@x")]);
    assert_eq!(store.intro(&intro.id).expect("read"), Some(later.clone()), "the newest layer wins");
    assert_eq!(store.intros(None).expect("range read").len(), 1);
    // Another thread (the writer) sees sled as written: nothing yet.
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(store.intro(&intro.id).expect("read").is_none());
            store.commit_sealed(std::slice::from_ref(&first), &[], &[]).expect("written");
            assert_eq!(store.intro(&intro.id).expect("read"), Some(intro.clone()));
        });
    });
    // Written: out of the batch, in sled; the later layer still on top.
    assert!(store.intros.get(intro.id.as_str()).expect("sled").is_some());
    assert_eq!(store.intro(&intro.id).expect("read"), Some(later.clone()));
    store.commit_sealed(&[second], &[], &[]).expect("written");
    store.abort_batch();
    assert_eq!(store.intro(&intro.id).expect("read"), Some(later));
    assert_eq!(store.outbox().expect("outbox").len(), 2);
    assert_eq!(store.due(at(1000)).expect("due"), vec![intro.id.clone()], "one timer, the later one");
}

#[test]
fn sealed_layers_written_together_are_one_transaction_later_ones_winning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let intro = samples::intro();
    let (first, later, second) = two_sealed_layers(&store, &intro, vec![email("b@x"), email("c@x")]);
    let queued: Vec<OutboxSeq> = first.queued().chain(second.queued()).map(|(seq, _)| seq).collect();
    assert!(queued.is_sorted(), "queue order runs on across layers: {queued:?}");
    // The first and third email were written through.
    let names = vec!["a.eml".to_owned(), "c.eml".to_owned()];
    store.commit_sealed(&[first, second], &[queued[0], queued[2]], &names).expect("written");
    store.abort_batch();
    assert_eq!(store.intro(&intro.id).expect("read"), Some(later), "the later layer's write wins");
    assert_eq!(store.due(at(1000)).expect("due"), vec![intro.id.clone()], "one timer, the later one");
    assert!(store.processed(&"in-1@x".into()).expect("read").is_some());
    assert!(store.processed(&"in-2@x".into()).expect("read").is_some());
    let left: Vec<String> =
        store.outbox().expect("outbox").into_iter().map(|(_, e)| e.email.message_id.as_str().to_owned()).collect();
    assert_eq!(left, ["b@x"]);
    assert_eq!(store.being_published().expect("names"), names);
}

#[test]
fn emails_written_through_skip_the_outbox_and_their_names_are_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let intro = samples::intro();
    store.begin_batch();
    store
        .commit(&change_with(&intro, "in-1@x", vec![email("a@x"), email("b@x"), email("c@x")]), at(1))
        .expect("staged");
    let sealed = store.seal_batch().expect("this thread's batch");
    let queued: Vec<_> = sealed.queued().collect();
    let ids: Vec<&str> = queued.iter().map(|(_, e)| e.email.message_id.as_str()).collect();
    assert_eq!(ids, ["a@x", "b@x", "c@x"], "in queue order");
    // The first two were written by the transport; the third failed.
    let written: Vec<OutboxSeq> = queued[..2].iter().map(|(seq, _)| *seq).collect();
    let names = vec!["a.eml".to_owned(), "b.eml".to_owned()];
    store.commit_sealed(&[sealed], &written, &names).expect("written");
    store.abort_batch();
    let left: Vec<String> =
        store.outbox().expect("outbox").into_iter().map(|(_, e)| e.email.message_id.as_str().to_owned()).collect();
    assert_eq!(left, ["c@x"], "only the one not written waits");
    assert_eq!(store.being_published().expect("names"), names);
    // Everything else of the change is there, emails log included.
    assert_eq!(store.intro(&intro.id).expect("read"), Some(intro.clone()));
    assert_eq!(store.emails_of(&intro.id).expect("log").len(), 3);
    // A layer written with nothing written through keeps the names.
    store.begin_batch();
    store.commit(&change_with(&intro, "in-2@x", vec![email("d@x")]), at(2)).expect("staged");
    let sealed = store.seal_batch().expect("this thread's batch");
    store.commit_sealed(&[sealed], &[], &[]).expect("written");
    store.abort_batch();
    assert_eq!(store.being_published().expect("names"), names);
    assert_eq!(store.outbox_len(), 2);
}

/// The batch keeps one map per tree indexed by `TreeId as usize` and
/// commits them zipped with `change_trees`: both rely on this order.
#[test]
fn tree_ids_index_their_place_in_all() {
    for (i, tree) in batch::TreeId::ALL.iter().enumerate() {
        assert_eq!(*tree as usize, i, "{tree:?}");
    }
}

/// An outbox record queued by reference reads back as the entry it was
/// made from, and is the same bytes as the entry encoded whole.
#[test]
fn an_outbox_record_encoded_by_reference_is_the_entry_encoded_whole() {
    let email = email("m1@example.com");
    let now = Timestamp::from_second(1_700_000_000).expect("time");
    let id = IntroId::new("i1");
    let head = OutboxHead { intro: Some(&id), email: &email, queued_at: now, attempts: 0, not_before: None };
    let entry =
        OutboxEntry { intro: Some(id.clone()), email: email.clone(), queued_at: now, attempts: 0, not_before: None };
    assert_eq!(head.encode(), encode_outbox(&entry));
    assert_eq!(decode_outbox(&head.encode()).expect("decodes"), entry);
}

/// Schema 4: an intro whose tokens and Message-IDs start with its id is
/// found from them with no index entries written, and only from the exact
/// ones: a token or Message-ID that names the intro but guesses the rest
/// finds nothing.
#[test]
fn tokens_and_message_ids_that_name_their_intro_find_it_without_an_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let mut intro = samples::intro();
    intro.id = store.new_intro_id().expect("id");
    let token = || crate::tokens::new_intro_token(&intro.id).expect("rng");
    (intro.connector_token, intro.requester.token, intro.target.token) = (token(), token(), token());
    let ids: Vec<String> =
        (0..3).map(|_| crate::tokens::new_intro_message_id(&intro.id, "example.com").expect("rng")).collect();
    let change =
        Change { intro: Some(intro.clone()), emails: ids.iter().map(|m| email(m)).collect(), ..Change::default() };
    store.commit(&change, at(1)).expect("commit");
    assert!(store.tokens.is_empty(), "no token entries");
    assert!(store.sent_ids.is_empty(), "no Message-ID entries");
    assert_eq!(store.emails.len(), 1, "one record for the step's emails");
    for (token, owner) in tokens_of(&intro) {
        let (found, found_owner) = store.by_token(token).expect("read").expect("found");
        assert_eq!((found.id, found_owner), (intro.id.clone(), owner));
    }
    for id in &ids {
        assert_eq!(store.by_sent_message_id(&id.as_str().into()).expect("read").map(|i| i.id), Some(intro.id.clone()));
    }
    let sent: Vec<String> =
        store.emails_of(&intro.id).expect("read").into_iter().map(|e| e.message_id.to_string()).collect();
    assert_eq!(sent, ids);
    // The intro's id with a guessed rest.
    let guess = Token::new(format!("{}{}", intro.id, "a".repeat(26)));
    assert!(store.by_token(&guess).expect("read").is_none());
    let short = Token::new(&intro.target.token.as_str()[..33]);
    assert!(store.by_token(&short).expect("read").is_none());
    let guess = format!("{}.{}@example.com", intro.id, "a".repeat(26));
    assert!(store.by_sent_message_id(&guess.as_str().into()).expect("read").is_none());
    // Another intro's id in front of this one's random part.
    let other = store.new_intro_id().expect("id");
    let moved = Token::new(intro.target.token.as_str().replacen(intro.id.as_str(), other.as_str(), 1));
    assert!(store.by_token(&moved).expect("read").is_none());
}

/// A step's emails written one record each (before schema 4) and as one
/// list read back alike, in order.
#[test]
fn emails_written_one_by_one_before_schema_4_are_read_with_the_new_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let intro = samples::intro();
    let change = Change { intro: Some(intro.clone()), emails: vec![email("b@x"), email("c@x")], ..Change::default() };
    store.commit(&change, at(2)).expect("commit");
    let prefix = IntroKeys::emails_prefix(store.intro_keys.key(&intro.id).expect("a key"));
    let old = SentEmail {
        at: at(1),
        kind: EmailKind::Acknowledgement,
        to: vec![address("carol@example.com")],
        subject: "s".into(),
        message_id: "d@x".into(),
        about: None,
    };
    store.emails.insert(email_key(&prefix, OutboxSeq(1 << 40)), to_json(&old)).expect("insert");
    let sent: Vec<String> =
        store.emails_of(&intro.id).expect("read").into_iter().map(|e| e.message_id.to_string()).collect();
    assert_eq!(sent, ["b@x", "c@x", "d@x"]);
}

/// A store of schema 3 needs nothing moved for 4; its schema is raised at
/// open, so an introbot that knows only 3 refuses it from then on.
#[test]
fn a_store_of_schema_3_is_raised_to_4_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        store.meta.insert("schema_version", &3u32.to_be_bytes()).expect("schema 3");
        store.flush().expect("flush");
    }
    let store = reopen(dir.path()).expect("reopen");
    let schema = store.meta.get("schema_version").expect("read").expect("set");
    assert_eq!(schema.as_ref(), 4u32.to_be_bytes());
}

/// Attack review of schema 4 (held): an intro made before schema 4 (tokens
/// of 26 random characters, Message-IDs without its id, found through the
/// index) that sends new-form emails after: every real token and
/// Message-ID, old and new, finds it; the old ones bent into the new form
/// (its id in front) and the new ones bent into the old (id taken off) find
/// nothing; nor does an old intro's id in front of another's random part.
#[test]
fn an_intro_from_before_schema_4_mixed_with_new_forms_is_found_only_by_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let intro = samples::intro();
    let old_ids = ["oldrandomoldrandomoldrando@example.com", "k7m2p9qx.target.consent_request@example.com"];
    let change =
        Change { intro: Some(intro.clone()), emails: old_ids.iter().map(|m| email(m)).collect(), ..Change::default() };
    store.commit(&change, at(1)).expect("commit");
    assert_eq!(store.tokens.len(), 3, "old tokens are indexed");
    let new_id = crate::tokens::new_intro_message_id(&intro.id, "example.com").expect("rng");
    let change = Change { intro: Some(intro.clone()), emails: vec![email(&new_id)], ..Change::default() };
    store.commit(&change, at(2)).expect("commit");
    for (token, owner) in tokens_of(&intro) {
        let (found, found_owner) = store.by_token(token).expect("read").expect("found");
        assert_eq!((found.id, found_owner), (intro.id.clone(), owner));
        let bent = Token::new(format!("{}{}", intro.id, token.as_str()));
        assert!(store.by_token(&bent).expect("read").is_none(), "{bent:?}");
    }
    for id in old_ids.iter().copied().chain([new_id.as_str()]) {
        assert_eq!(store.by_sent_message_id(&id.into()).expect("read").map(|i| i.id), Some(intro.id.clone()), "{id}");
    }
    let bent = [
        format!("{}.{}", intro.id, old_ids[0]),
        new_id.replacen(&format!("{}.", intro.id), "", 1),
        "k7m2p9qx.requester.consent_request@example.com".to_owned(),
        new_id.replacen(intro.id.as_str(), "k7m2p9qa", 1),
    ];
    for id in &bent {
        assert!(store.by_sent_message_id(&id.as_str().into()).expect("read").is_none(), "{id}");
    }
}
