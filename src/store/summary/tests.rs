use std::time::Duration;

use proptest::prelude::*;

use super::super::{Change, Store, reopen};
use super::{IntroSummary, UPGRADE};
use crate::core::machine::tests::{arb_event, arb_policy, new_intro, t0};
use crate::core::{Event, Intro, IntroId, NewIntro, Person, Policy, Token, open, step};

/// Every intro's summary is its intro's, and there is no other summary;
/// read through the store (the open batch's view, if any) and straight
/// from sled.
fn assert_summaries_match(store: &Store) {
    let mut intros = Vec::new();
    store.each_intro(None, |i| intros.push((i.id.clone(), IntroSummary::of(&i)))).expect("intros");
    let mut summaries = Vec::new();
    store.each_summary(None, |id, s| summaries.push((id, s))).expect("summaries");
    assert_eq!(summaries, intros, "through the store");
    if store.batch().mine().is_none() {
        let raw: Vec<(IntroId, IntroSummary)> = store
            .summaries
            .iter()
            .map(|kv| {
                let (k, v) = kv.expect("sled");
                (IntroId::new(String::from_utf8_lossy(&k).into_owned()), serde_json::from_slice(&v).expect("json"))
            })
            .collect();
        assert_eq!(raw, intros, "in sled");
    }
}

/// How a write reaches the store.
#[derive(Clone, Copy, Debug)]
enum Write {
    /// A transaction of its own.
    Direct,
    /// Staged in a batch that is then written.
    Batched,
    /// Staged in a batch that is then dropped (an error mid-batch).
    Aborted,
}

fn arb_write() -> impl Strategy<Value = Write> {
    prop_oneof![Just(Write::Direct), Just(Write::Batched), Just(Write::Aborted)]
}

/// Names that exercise `list`'s columns: none (the address stands in),
/// titles, several words, non-ASCII, long.
fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("Dr. Priya Shah".to_owned()),
        Just("  Bob  ".to_owned()),
        Just("Zoë Ångström-Øster, PhD".to_owned()),
        "[a-zA-Z ]{0,40}",
    ]
}

fn intro_named(n: usize, names: &[String; 3]) -> NewIntro {
    let person = |name: &str, email: &str| Person::parse(name, email).expect("valid address");
    NewIntro {
        id: IntroId::new(format!("intro{n}")),
        connector: person(&names[0], &format!("carol{n}@example.com")),
        connector_token: Token::new(format!("c{n}")),
        requester: person(&names[1], &format!("alice{n}@example.com")),
        requester_token: Token::new(format!("a{n}")),
        target: person(&names[2], &format!("bob{n}@example.org")),
        target_token: Token::new(format!("b{n}")),
        ..new_intro()
    }
}

/// Writes each intro's new state the way `write` says, then checks.
fn write(store: &Store, how: Write, changes: &[Intro], now: jiff::Timestamp) {
    if !matches!(how, Write::Direct) {
        store.begin_batch();
    }
    for intro in changes {
        store.commit(&Change { intro: Some(intro.clone()), ..Change::default() }, now).expect("commit");
        assert_summaries_match(store);
    }
    match how {
        Write::Direct => {}
        Write::Batched => store.commit_batch().expect("batch"),
        Write::Aborted => store.abort_batch(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// After any sequence of events on a few intros, written one by one,
    /// in batches, or in batches that are then dropped, every summary is
    /// its intro's; and again after the store is reopened.
    #[test]
    fn a_summary_is_always_its_intros(
        policy in arb_policy(),
        names in prop::collection::vec(prop::array::uniform3(arb_name()), 3),
        preview in any::<bool>(),
        steps in prop::collection::vec((0usize..3, arb_event(), 0u64..200, arb_write()), 0..20),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let mut now = t0();
        // What the store holds for each intro (an aborted batch leaves it).
        let mut stored: Vec<Option<Intro>> = vec![None; names.len()];
        for (n, event, advance, how) in steps {
            now = now.saturating_add(Duration::from_secs(advance)).expect("in range");
            let next = match &stored[n] {
                None => open(NewIntro { preview, ..intro_named(n, &names[n]) }, &policy, now).intro,
                Some(intro) => step(intro, &event, &policy, now).intro,
            };
            // Twice in a batch: the second write replaces the first.
            let again = matches!(event, Event::DeadlineReached) && !matches!(how, Write::Direct);
            let changes = if again { vec![next.clone(), step(&next, &event, &policy, now).intro] } else { vec![next] };
            write(&store, how, &changes, now);
            if !matches!(how, Write::Aborted) {
                stored[n] = changes.last().cloned();
            }
            assert_summaries_match(&store);
            let held: Vec<Intro> = stored.iter().flatten().cloned().collect();
            let mut read = store.intros(None).expect("intros");
            read.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
            prop_assert_eq!(read, held, "the store holds what was written");
        }
        store.flush().expect("flush");
        drop(store);
        let store = reopen(dir.path()).expect("reopen");
        assert_summaries_match(&store);
    }
}

/// A store written before summaries, reopened: every intro gets its
/// summary once, the store is marked and its schema raised (an older
/// introbot then refuses it); a half-built run (a crash before the mark)
/// is finished by the next open, stale summaries replaced.
#[test]
fn a_store_from_before_summaries_gets_them_once_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = Policy::default();
    let names = ["Carol".to_owned(), "Dr. Alice Able".to_owned(), String::new()];
    let intros: Vec<Intro> = (0..5).map(|n| open(intro_named(n, &names), &policy, t0()).intro).collect();
    {
        let store = Store::open(dir.path()).expect("open");
        for intro in &intros {
            store.commit(&Change { intro: Some(intro.clone()), ..Change::default() }, t0()).expect("commit");
        }
        // Make it a store of schema 1: no summaries, no mark.
        store.summaries.clear().expect("clear");
        store.meta.remove(format!("upgrade:{UPGRADE}")).expect("unmark");
        store.meta.insert("schema_version", &1u32.to_be_bytes()).expect("schema 1");
        store.flush().expect("flush");
        let mut none = 0;
        store.each_summary(None, |_, _| none += 1).expect("read");
        assert_eq!(none, 0);
    }
    {
        let store = reopen(dir.path()).expect("reopen");
        assert_summaries_match(&store);
        assert!(store.upgrade_done(UPGRADE).expect("read"));
        let schema = store.meta.get("schema_version").expect("read").expect("set");
        assert_eq!(schema.as_ref(), super::super::SCHEMA_VERSION.to_be_bytes());
        assert_eq!(store.build_summaries().expect("again"), 0, "once per store");
        // A crash mid-build: one summary stale, one missing, no mark.
        let stale = IntroSummary { requester: "someone else".into(), ..IntroSummary::of(&intros[0]) };
        store.summaries.insert(intros[0].id.as_str(), super::super::to_json(&stale)).expect("stale");
        store.summaries.remove(intros[1].id.as_str()).expect("missing");
        store.meta.remove(format!("upgrade:{UPGRADE}")).expect("unmark");
        store.flush().expect("flush");
    }
    let store = reopen(dir.path()).expect("reopen");
    assert_summaries_match(&store);
    assert!(store.upgrade_done(UPGRADE).expect("read"));
}

/// What `list` shows of an intro, by the same rules as `show`: display
/// names (the address when there is none), the connector's address, and
/// the first names of whom it waits for.
#[test]
fn a_summary_holds_what_list_shows() {
    let names = ["Carol Connector".to_owned(), "Dr. Priya Shah".to_owned(), String::new()];
    let intro = open(intro_named(7, &names), &Policy::default(), t0()).intro;
    let s = IntroSummary::of(&intro);
    assert_eq!(s.requester, "Dr. Priya Shah");
    assert_eq!(s.target, "bob7@example.org");
    assert_eq!(s.connector, "carol7@example.com");
    assert_eq!(s.waiting, ["Priya", "bob7"]);
    assert_eq!((s.created_at, s.state), (intro.created_at, intro.state));
}
