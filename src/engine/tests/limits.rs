//! The limits over time: a declined pair and a party who ignores asks rest
//! for the cooldown, then may be asked again; each refusal is explained to
//! the connector once per window.

use super::*;
use crate::core::Person;

const DAY: u64 = 86_400;

fn config(limits: &str) -> String {
    format!("{CONFIG}\n[limits]\ncooldown = \"10 days\"\n{limits}")
}

fn request_n(n: usize) -> String {
    REQUEST.replace("req-1@", &format!("req-{n}@"))
}

/// Intro `n` (Alice`n` to meet Bob) opens, follows up and expires in silence.
fn ignored_by_bob(h: &mut Harness, n: usize) {
    h.handle(&request_n(n).replace("alice@example.net", &format!("alice{n}@example.net")));
    h.later(100);
    h.engine().fire_due(h.now).expect("follow-up");
    h.later(100);
    h.engine().fire_due(h.now).expect("expiry");
}

fn notes_saying(h: &Harness, words: &str) -> usize {
    h.engine()
        .store()
        .outbox()
        .expect("outbox")
        .iter()
        .filter(|(_, e)| {
            let msg = mail_parser::MessageParser::default().parse(&e.email.bytes).expect("parses");
            e.email.kind == EmailKind::RequestProblem && msg.body_text(0).is_some_and(|t| t.contains(words))
        })
        .count()
}

#[test]
fn a_declined_pair_is_not_asked_again_within_the_cooldown() {
    let mut h = harness_with(&config(""));
    h.handle(&request_n(1));
    let bob = h.reply_address("bob@example.org");
    h.handle(&reply("bob@example.org", &bob, "b1@x", "No thanks."));
    assert_eq!(h.intro().state, IntroState::Declined);
    h.clear_outbox();
    h.later(DAY);
    h.handle(&request_n(2));
    h.handle(&request_n(3));
    assert_eq!(h.engine().store().intros(None).expect("intros").len(), 1, "not asked again");
    assert_eq!(notes_saying(&h, "won't ask them again yet"), 1, "explained once");
    assert!(!h.queued().iter().any(|(_, to)| to.iter().any(|t| t == "bob@example.org")));
    h.later(10 * DAY);
    h.handle(&request_n(4));
    assert_eq!(h.engine().store().intros(None).expect("intros").len(), 2, "after the cooldown they may be asked");
}

#[test]
fn a_party_who_ignored_three_asks_rests_for_the_cooldown() {
    let mut h = harness_with(&config("asks_per_target_per_30_days = 10\nemails_per_address_per_day = 50\n"));
    // Three intros to Bob (each from a different requester), all silence.
    for n in 1..=3 {
        ignored_by_bob(&mut h, n);
    }
    let all = h.engine().store().intros(None).expect("intros");
    assert!(
        all.iter().all(|i| i.state == IntroState::Expired),
        "{:?}",
        all.iter().map(|i| i.state).collect::<Vec<_>>()
    );
    h.clear_outbox();
    h.handle(&request_n(4).replace("alice@example.net", "alice4@example.net"));
    assert_eq!(h.engine().store().intros(None).expect("intros").len(), 3, "Bob rests");
    assert_eq!(notes_saying(&h, "hasn't answered my last 3 requests"), 1);
    h.later(11 * DAY);
    h.handle(&request_n(5).replace("alice@example.net", "alice5@example.net"));
    assert_eq!(h.engine().store().intros(None).expect("intros").len(), 4, "asked again after the rest");
}

#[test]
fn an_answer_resets_the_count_of_ignored_asks() {
    let mut h = harness_with(&config("asks_per_target_per_30_days = 10\nemails_per_address_per_day = 50\n"));
    for n in 1..=2 {
        ignored_by_bob(&mut h, n);
    }
    h.handle(&request_n(3).replace("alice@example.net", "alice3@example.net"));
    let bob = h.reply_address("bob@example.org");
    h.handle(&reply("bob@example.org", &bob, "b3@x", "Sure, happy to."));
    ignored_by_bob(&mut h, 4);
    h.clear_outbox();
    // Two silences, an answer, one silence: not three in a row.
    h.handle(&request_n(5).replace("alice@example.net", "alice5@example.net"));
    assert_eq!(h.engine().store().intros(None).expect("intros").len(), 5);
}

#[test]
fn the_bots_own_address_in_any_form_is_never_a_party() {
    let h = harness();
    for own in ["intros@example.com", "intros+loop@example.com", "Intros@Example.COM"] {
        let person = Person::parse("Me", own).expect("an address");
        let problem = h.engine().refuse_party(&person).expect("store");
        assert!(matches!(problem, Some(crate::mail::RequestProblem::BotIsParty { .. })), "{own}: {problem:?}");
    }
    let bob = Person::parse("Bob", "bob@example.org").expect("an address");
    assert_eq!(h.engine().refuse_party(&bob).expect("store"), None);
}
