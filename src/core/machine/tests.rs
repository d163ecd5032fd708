use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::core::{Address, ConsentBy, Held, IntroId, MessageId, Person, Token};

fn person(name: &str, email: &str) -> Person {
    Person::parse(name, email).expect("valid address")
}

pub(crate) fn new_intro() -> NewIntro {
    NewIntro {
        id: IntroId::new("k7m2p9qx"),
        connector: person("Carol Connector", "carol@example.com"),
        connector_token: Token::new("ctok"),
        requester: person("Alice Able", "alice@example.com"),
        requester_token: Token::new("atok"),
        target: person("Bob Busy", "bob@example.org"),
        target_token: Token::new("btok"),
        summary: "Alice builds mail tools.".into(),
        note: "Bob knows IMAP.".into(),
        for_requester: String::new(),
        for_target: String::new(),
        request_message_id: Some("req@example.com".into()),
        guesses: Vec::new(),
        preview: false,
    }
}

pub(crate) fn t0() -> Timestamp {
    "2026-11-23T14:00:00Z".parse().expect("valid timestamp") // a Monday
}

fn fast_policy() -> Policy {
    Policy {
        follow_up_after: Wait::Exactly(Duration::from_secs(100)),
        expire_after: Wait::Exactly(Duration::from_secs(100)),
        ..Policy::default()
    }
}

fn later(secs: u64) -> Timestamp {
    t0().saturating_add(Duration::from_secs(secs)).expect("in range")
}

fn reply(role: Role, decision: Decision, id: &str) -> Event {
    Event::ReplyReceived { role, decision, text: decision.as_str().into(), message_id: id.into() }
}

fn kinds(step: &Step) -> Vec<(Audience, &'static str)> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(o) => Some((o.to, o.email.kind().as_str())),
            Effect::Suppress { .. } => None,
        })
        .collect()
}

const REQ: Audience = Audience::Party(Role::Requester);
const TGT: Audience = Audience::Party(Role::Target);
const CON: Audience = Audience::Connector;

#[test]
fn open_acknowledges_and_asks_each_party_separately() {
    let s = open(new_intro(), &Policy::default(), t0());
    assert_eq!(kinds(&s), [(CON, "acknowledgement"), (REQ, "consent_request"), (TGT, "consent_request")]);
    assert_eq!(s.intro.state, IntroState::AwaitingConsent);
    assert_eq!(s.intro.waiting_for(), [Role::Requester, Role::Target]);
    // Seven business days from Monday 2026-11-23 is Wednesday 2026-12-02.
    assert_eq!(s.next_deadline(), Some("2026-12-02T14:00:00Z".parse().expect("valid")));
}

#[test]
fn implied_requester_consent_asks_only_the_target() {
    let policy = Policy { requester_consent: RequesterConsent::Implied, ..fast_policy() };
    let s = open(new_intro(), &policy, t0());
    assert_eq!(kinds(&s), [(CON, "acknowledgement"), (TGT, "consent_request")]);
    let s = step(&s.intro, &reply(Role::Target, Decision::Yes, "m1"), &policy, later(5));
    assert_eq!(s.intro.state, IntroState::Introduced);
    assert_eq!(kinds(&s), [(Audience::BothParties, "introduction"), (CON, "outcome")]);
}

#[test]
fn two_yeses_introduce_once_and_tell_the_connector() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &reply(Role::Target, Decision::Yes, "m1"), &p, later(1));
    assert!(s.effects.is_empty(), "one yes is not enough: {:?}", s.effects);
    assert_eq!(s.intro.state, IntroState::AwaitingConsent);
    let s = step(&s.intro, &reply(Role::Requester, Decision::Yes, "m2"), &p, later(2));
    assert_eq!(s.intro.state, IntroState::Introduced);
    assert_eq!(kinds(&s), [(Audience::BothParties, "introduction"), (CON, "outcome")]);
    assert_eq!(s.next_deadline(), None);
}

#[test]
fn a_no_thanks_the_decliner_releases_the_other_and_tells_the_connector() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &reply(Role::Requester, Decision::Yes, "m1"), &p, later(1));
    let s = step(&s.intro, &reply(Role::Target, Decision::No, "m2"), &p, later(2));
    assert_eq!(s.intro.state, IntroState::Declined);
    assert_eq!(kinds(&s), [(TGT, "thank_you"), (REQ, "nothing_needed"), (CON, "outcome")]);
    assert!(s.effects.contains(&Effect::Send(Outgoing {
        to: CON,
        email: Email::Outcome(Outcome::Declined { role: Role::Target, decision: Decision::No }),
    })));
}

#[test]
fn stop_suppresses_the_address() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &reply(Role::Target, Decision::Stop, "m1"), &p, later(1));
    assert!(s.effects.contains(&Effect::Suppress { email: Address::parse("bob@example.org").expect("valid") }));
    assert_eq!(s.intro.target.state, PartyState::Stop);
}

#[test]
fn a_no_after_a_yes_is_respected() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &reply(Role::Target, Decision::Yes, "m1"), &p, later(1));
    let s = step(&s.intro, &reply(Role::Target, Decision::Later, "m2"), &p, later(2));
    assert_eq!(s.intro.state, IntroState::Declined);
    assert_eq!(s.intro.target.state, PartyState::Later);
}

#[test]
fn an_unclear_reply_after_a_yes_puts_the_yes_in_doubt_until_the_connector_decides() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &reply(Role::Target, Decision::Yes, "m1"), &p, later(1));
    let s = step(&s.intro, &reply(Role::Target, Decision::Unclear, "m2"), &p, later(2));
    assert_eq!((s.intro.target.state, s.intro.target.yes_by), (PartyState::Unclear, None));
    let unclear = Email::UnclearReply { role: Role::Target, text: "unclear".into(), after_yes: true };
    assert_eq!(s.effects, [Effect::Send(Outgoing { to: CON, email: unclear })]);
    // The other yes introduces nobody while the first is in doubt.
    let s = step(&s.intro, &reply(Role::Requester, Decision::Yes, "m3"), &p, later(3));
    assert_eq!(s.intro.state, IntroState::AwaitingConsent);
    assert_eq!(kinds(&s), []);
    let decided =
        Event::ConnectorDecided { role: Role::Target, decision: Decision::Yes, held: false, message_id: "c1".into() };
    let s = step(&s.intro, &decided, &p, later(4));
    assert_eq!(s.intro.state, IntroState::Introduced);
    assert_eq!(s.intro.target.yes_by, Some(ConsentBy::Connector));
    // An unclear reply before any yes is no retraction.
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &reply(Role::Target, Decision::Unclear, "m1"), &p, later(1));
    assert!(matches!(
        &s.effects[..],
        [Effect::Send(Outgoing { email: Email::UnclearReply { after_yes: false, .. }, .. })]
    ));
}

fn said(role: Role, decision: Decision, text: &str, id: &str) -> Event {
    Event::ReplyReceived { role, decision, text: text.into(), message_id: id.into() }
}

/// Before: the connector saying Bob's doubted yes stands made the
/// introduction quote his retraction ("Sorry, on second thought no.") as
/// his words.
#[test]
fn a_yes_the_connector_says_still_stands_keeps_its_own_words() {
    let p = fast_policy();
    let decided =
        Event::ConnectorDecided { role: Role::Target, decision: Decision::Yes, held: false, message_id: "c1".into() };
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &said(Role::Target, Decision::Yes, "Yes! Mornings are best.", "m1"), &p, later(1));
    let s = step(&s.intro, &said(Role::Target, Decision::Unclear, "Sorry, on second thought no.", "m2"), &p, later(2));
    assert_eq!(s.intro.target.yes_words.as_deref(), Some("Yes! Mornings are best."), "kept while in doubt");
    let s = step(&s.intro, &reply(Role::Requester, Decision::Yes, "m3"), &p, later(3));
    let s = step(&s.intro, &decided, &p, later(4));
    assert_eq!(s.intro.state, IntroState::Introduced);
    assert_eq!(s.intro.target.own_words(), Some("Yes! Mornings are best."));
    assert_eq!(s.intro.target.reply_text.as_deref(), Some("Sorry, on second thought no."), "their last reply");

    // A bare yes in doubt: nothing of theirs to quote, never the doubtful reply.
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &said(Role::Target, Decision::Yes, "Yes", "m1"), &p, later(1));
    let s = step(&s.intro, &said(Role::Target, Decision::Unclear, "Hmm, wait. Maybe not?", "m2"), &p, later(2));
    let s = step(&s.intro, &decided, &p, later(3));
    assert_eq!(s.intro.target.own_words(), None);

    // An unclear first answer the connector counts as a yes is the yes's words (a condition, say).
    let s = open(new_intro(), &p, t0());
    let s =
        step(&s.intro, &said(Role::Target, Decision::Unclear, "Maybe - questions by email first?", "m1"), &p, later(1));
    let s = step(&s.intro, &decided, &p, later(2));
    assert_eq!(s.intro.target.own_words(), Some("Maybe - questions by email first?"));

    // Their own clear yes after the doubt is their words again.
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &said(Role::Target, Decision::Yes, "Yes! Mornings are best.", "m1"), &p, later(1));
    let s = step(&s.intro, &said(Role::Target, Decision::Unclear, "Sorry, on second thought no.", "m2"), &p, later(2));
    let s = step(&s.intro, &said(Role::Target, Decision::Yes, "Yes after all. Afternoons now.", "m3"), &p, later(3));
    assert_eq!(s.intro.target.own_words(), Some("Yes after all. Afternoons now."));
}

#[test]
fn silence_gets_one_follow_up_then_expires_without_writing_to_the_silent() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &reply(Role::Requester, Decision::Yes, "m1"), &p, later(10));
    let early = step(&s.intro, &Event::DeadlineReached, &p, later(99));
    assert!(early.is_noop(&s.intro), "not due yet");
    let s = step(&s.intro, &Event::DeadlineReached, &p, later(100));
    assert_eq!(kinds(&s), [(TGT, "follow_up")]);
    assert_eq!(s.intro.target.state, PartyState::FollowedUp);
    assert_eq!(s.next_deadline(), Some(later(200)));
    let s = step(&s.intro, &Event::DeadlineReached, &p, later(200));
    assert_eq!(s.intro.state, IntroState::Expired);
    assert_eq!(kinds(&s), [(REQ, "nothing_needed"), (CON, "outcome")]);
}

#[test]
fn unclear_goes_to_the_connector_who_can_decide() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &reply(Role::Requester, Decision::Yes, "m1"), &p, later(1));
    let s = step(&s.intro, &reply(Role::Target, Decision::Unclear, "m2"), &p, later(2));
    assert_eq!(kinds(&s), [(CON, "unclear_reply")]);
    assert_eq!(s.intro.state, IntroState::AwaitingConsent);
    let decided =
        Event::ConnectorDecided { role: Role::Target, decision: Decision::Yes, held: false, message_id: "c1".into() };
    let s = step(&s.intro, &decided, &p, later(3));
    assert_eq!(s.intro.state, IntroState::Introduced);
}

#[test]
fn the_connector_cannot_say_yes_for_someone_who_has_not_answered() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let decided =
        Event::ConnectorDecided { role: Role::Target, decision: Decision::Yes, held: false, message_id: "c1".into() };
    let s = step(&s.intro, &decided, &p, later(3));
    assert_eq!(s.intro.target.state, PartyState::Asked);
    assert!(s.effects.is_empty());
}

#[test]
fn mail_from_a_stranger_is_held_and_changes_nothing() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let ev = Event::StrangerReplied {
        role: Role::Target,
        why: Held::OtherSender,
        from: Address::parse("mallory@evil.example").ok(),
        text: "yes".into(),
        decision: Decision::Yes,
        message_id: "x1".into(),
    };
    let s2 = step(&s.intro, &ev, &p, later(1));
    assert_eq!(kinds(&s2), [(CON, "held_reply")]);
    assert_eq!(s2.intro.target.state, PartyState::Asked);
}

#[test]
fn a_held_reply_is_the_partys_answer_once_the_connector_says_so_and_they_are_not_chased_meanwhile() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let held = Event::StrangerReplied {
        role: Role::Target,
        why: Held::OtherSender,
        from: Address::parse("bob@home.example").ok(),
        text: "Yes, happy to".into(),
        decision: Decision::Yes,
        message_id: "h1".into(),
    };
    let s = step(&s.intro, &held, &p, later(1));
    assert!(s.intro.target.held.is_some());
    assert_eq!(s.intro.for_connector_to_decide(), [Role::Target]);
    let s = step(&s.intro, &Event::DeadlineReached, &p, later(101));
    assert_eq!(kinds(&s), [(REQ, "follow_up")], "only the silent requester is followed up");
    let s = step(&s.intro, &reply(Role::Requester, Decision::Yes, "r1"), &p, later(102));
    let yes =
        Event::ConnectorDecided { role: Role::Target, decision: Decision::Yes, held: true, message_id: "c1".into() };
    let s = step(&s.intro, &yes, &p, later(103));
    assert_eq!(s.intro.state, IntroState::Introduced);
    assert_eq!(s.intro.target.yes_by, Some(ConsentBy::Own), "their own words, confirmed");
    assert_eq!(s.intro.target.reply_text.as_deref(), Some("Yes, happy to"));
}

#[test]
fn the_connectors_decision_is_about_the_reply_it_names() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let s = step(&s.intro, &reply(Role::Target, Decision::Unclear, "m1"), &p, later(1));
    let held = Event::StrangerReplied {
        role: Role::Target,
        why: Held::OtherSender,
        from: None,
        text: "No, thanks.".into(),
        decision: Decision::No,
        message_id: "h1".into(),
    };
    let waiting = step(&s.intro, &held, &p, later(2)).intro;
    let about =
        |held| Event::ConnectorDecided { role: Role::Target, decision: Decision::Yes, held, message_id: "c1".into() };
    // About Bob's own unclear words: his yes, the held reply never read as his.
    let s = step(&waiting, &about(false), &p, later(3));
    assert_eq!((s.intro.state, s.intro.target.state), (IntroState::AwaitingConsent, PartyState::Yes));
    assert_eq!(s.intro.target.yes_by, Some(ConsentBy::Connector));
    // About the held reply: it is his, and it says no.
    let s = step(&waiting, &about(true), &p, later(3));
    assert_eq!((s.intro.state, s.intro.target.state), (IntroState::Declined, PartyState::No));
    // About a held reply when none is held: nothing to decide.
    let unclear_only =
        step(&open(new_intro(), &p, t0()).intro, &reply(Role::Target, Decision::Unclear, "m1"), &p, later(1));
    let s = step(&unclear_only.intro, &about(true), &p, later(3));
    assert!(s.effects.is_empty());
    assert_eq!(s.intro.target.state, PartyState::Unclear);
}

#[test]
fn a_held_reply_set_aside_changes_nothing_but_the_chase() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let held = Event::StrangerReplied {
        role: Role::Target,
        why: Held::OtherSender,
        from: None,
        text: "yes".into(),
        decision: Decision::Yes,
        message_id: "h1".into(),
    };
    let s = step(&s.intro, &held, &p, later(1));
    let no =
        Event::ConnectorDecided { role: Role::Target, decision: Decision::No, held: true, message_id: "c1".into() };
    let s = step(&s.intro, &no, &p, later(2));
    assert!(s.effects.is_empty());
    assert_eq!((s.intro.target.state, s.intro.target.held.is_none()), (PartyState::Asked, true));
    let s = step(&s.intro, &Event::DeadlineReached, &p, later(101));
    assert!(kinds(&s).contains(&(TGT, "follow_up")));
}

#[test]
fn an_out_of_office_date_puts_the_follow_up_after_it() {
    let p = Policy { follow_up_after: Wait::BusinessDays(2), ..Policy::default() };
    let s = open(new_intro(), &p, t0()); // Monday 23 November, 14:00 UTC
    let away =
        |until: jiff::civil::Date, id: &str| Event::AwayUntil { role: Role::Target, until, message_id: id.into() };
    let s = step(&s.intro, &away(jiff::civil::date(2026, 12, 4), "o1"), &p, later(60));
    assert_eq!(s.intro.target.away_until, Some(jiff::civil::date(2026, 12, 4)));
    // Back on Friday 4 December: the follow-up is on Monday 7 December, 09:00.
    let due = s.next_deadline().expect("a timer");
    assert_eq!(due, "2026-12-07T09:00:00Z".parse::<Timestamp>().expect("valid"));
    let early = step(&s.intro, &Event::DeadlineReached, &p, later(3 * 86_400));
    assert!(early.effects.is_empty(), "nobody is chased while away");
    // A date more than two months ahead is not waited for.
    let far = step(&s.intro, &away(jiff::civil::date(2027, 6, 1), "o2"), &p, later(61));
    assert_eq!(far.next_deadline(), Some(due));
    // Nor is one for someone who already answered.
    let yes = step(&s.intro, &reply(Role::Target, Decision::Yes, "t1"), &p, later(62));
    let after = step(&yes.intro, &away(jiff::civil::date(2026, 12, 10), "o3"), &p, later(63));
    assert_eq!(after.next_deadline(), yes.next_deadline());
}

#[test]
fn a_preview_asks_nobody_until_the_connector_says_send() {
    let p = fast_policy();
    let s = open(NewIntro { preview: true, ..new_intro() }, &p, t0());
    assert_eq!(kinds(&s), [(CON, "preview")]);
    assert!(s.intro.awaiting_send);
    let early = step(&s.intro, &Event::DeadlineReached, &p, later(150));
    assert!(early.effects.is_empty(), "nothing is due before an unanswered intro would expire");
    let sent = step(&s.intro, &Event::PreviewApproved { message_id: "c1".into() }, &p, later(5));
    assert_eq!(kinds(&sent), [(CON, "acknowledgement"), (REQ, "consent_request"), (TGT, "consent_request")]);
    assert_eq!(sent.next_deadline(), Some(later(105)));
    let again = step(&sent.intro, &Event::PreviewApproved { message_id: "c2".into() }, &p, later(6));
    assert!(again.effects.is_empty(), "a second send sends nothing");
}

/// Regression: a preview nobody answered waited forever.
#[test]
fn a_preview_nobody_answers_expires_like_an_unanswered_intro_and_the_connector_hears_once() {
    let p = Policy::default();
    let s = open(NewIntro { preview: true, ..new_intro() }, &p, t0());
    // Seven business days to the follow-up, seven more to the expiry:
    // Monday 23 November to Friday 11 December.
    let due: Timestamp = "2026-12-11T14:00:00Z".parse().expect("valid");
    assert_eq!(s.next_deadline(), Some(due));
    let expired = step(&s.intro, &Event::DeadlineReached, &p, due);
    assert_eq!(kinds(&expired), [(CON, "outcome")], "the connector alone hears, nobody else was written to");
    assert_eq!(expired.intro.state, IntroState::Expired);
    assert!(!expired.intro.awaiting_send && expired.next_deadline().is_none());
    assert!(matches!(
        &expired.effects[..],
        [Effect::Send(Outgoing { email: Email::Outcome(Outcome::PreviewUnanswered), .. })]
    ));
    let late = step(&expired.intro, &Event::PreviewApproved { message_id: "c1".into() }, &p, due);
    assert!(late.effects.is_empty(), "a late send writes to nobody");
    assert!(step(&expired.intro, &Event::DeadlineReached, &p, due).effects.is_empty(), "told once");
}

#[test]
fn business_days_skip_the_policys_holidays() {
    let p = Policy { holidays: vec![jiff::civil::date(2026, 11, 24)], ..Policy::default() };
    // Monday 23 November: seven business days without Tuesday 24 November.
    let s = open(new_intro(), &p, t0());
    assert_eq!(s.next_deadline(), Some("2026-12-03T14:00:00Z".parse().expect("valid")));
}

#[test]
fn cancel_and_bounce_end_the_intro() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    let c = step(&s.intro, &Event::CancelRequested { message_id: "c".into() }, &p, later(1));
    assert_eq!(c.intro.state, IntroState::Cancelled);
    assert_eq!(kinds(&c), [(REQ, "nothing_needed"), (TGT, "nothing_needed"), (CON, "outcome")]);
    let b = step(
        &s.intro,
        &Event::Bounced { role: Role::Target, reason: "550 no such user".into(), message_id: "b".into() },
        &p,
        later(1),
    );
    assert_eq!(b.intro.state, IntroState::Failed);
    assert_eq!(b.intro.target.state, PartyState::Bounced);
    assert_eq!(kinds(&b), [(REQ, "nothing_needed"), (CON, "outcome")]);
}

/// Both said yes (replies `m1`, `m2`): introduced.
fn introduced(p: &Policy) -> Step {
    let s = open(new_intro(), p, t0());
    let s = step(&s.intro, &reply(Role::Requester, Decision::Yes, "m1"), p, later(1));
    step(&s.intro, &reply(Role::Target, Decision::Yes, "m2"), p, later(2))
}

fn introduction_bounced(roles: &[Role], id: &str) -> Event {
    Event::IntroductionBounced { roles: roles.to_vec(), reason: "550 5.1.1 no such user".into(), message_id: id.into() }
}

/// Before: a bounce of the introduction was ignored; the requester waited
/// for someone who never got it and the connector thought it had worked.
#[test]
fn a_bounced_introduction_is_recorded_and_told_once_to_each() {
    let p = fast_policy();
    let introduced = introduced(&p);
    assert_eq!(introduced.intro.state, IntroState::Introduced);

    // Long after: the intro ended, and the bounce still counts.
    let b = step(&introduced.intro, &introduction_bounced(&[Role::Target], "dsn1"), &p, later(86_400 * 30));
    assert_eq!(b.intro.state, IntroState::Introduced, "both said yes, and it went out");
    assert!(b.intro.target.introduction_bounced && !b.intro.requester.introduction_bounced);
    assert_eq!(b.intro.target.state, PartyState::Yes);
    assert_eq!(kinds(&b), [(CON, "outcome"), (REQ, "nothing_needed")]);
    let told = Outcome::IntroductionBounced { roles: vec![Role::Target], reason: "550 5.1.1 no such user".into() };
    assert!(b.effects.contains(&Effect::Send(Outgoing { to: CON, email: Email::Outcome(told) })));
    assert_eq!(b.intro.deadline, None, "no retry, no timer");

    // The same report again, or another report about Bob: nothing more.
    assert!(step(&b.intro, &introduction_bounced(&[Role::Target], "dsn1"), &p, later(86_400 * 31)).is_noop(&b.intro));
    assert!(step(&b.intro, &introduction_bounced(&[Role::Target], "dsn2"), &p, later(86_400 * 31)).is_noop(&b.intro));

    // Alice's copy bouncing too is news for the connector only.
    let both = step(&b.intro, &introduction_bounced(&[Role::Requester], "dsn3"), &p, later(86_400 * 32));
    assert_eq!(kinds(&both), [(CON, "outcome")]);
    assert!(both.intro.requester.introduction_bounced);
}

#[test]
fn an_introduction_bouncing_for_both_is_told_to_the_connector_alone() {
    let p = Policy { requester_consent: RequesterConsent::Implied, ..fast_policy() };
    let s = open(new_intro(), &p, t0());
    let introduced = step(&s.intro, &reply(Role::Target, Decision::Yes, "m2"), &p, later(2));
    let b = step(&introduced.intro, &introduction_bounced(&[Role::Target, Role::Requester], "dsn"), &p, later(3));
    assert_eq!(kinds(&b), [(CON, "outcome")]);
    assert!(b.intro.requester.introduction_bounced && b.intro.target.introduction_bounced);
}

fn introduction_refused(named: &[Role], id: &str) -> Event {
    Event::IntroductionRefused {
        named: named.to_vec(),
        reason: "550 5.1.1 <bob@example.org>: unknown".into(),
        message_id: id.into(),
    }
}

/// Before: the drain dropped a refused introduction (it has no single
/// role to bounce): nobody heard, and the intro read as introduced.
#[test]
fn a_refused_introduction_is_recorded_and_told_to_the_connector_once() {
    let p = fast_policy();
    let introduced = introduced(&p);
    let r = step(&introduced.intro, &introduction_refused(&[Role::Target], "refused-x"), &p, later(3));
    assert_eq!(r.intro.state, IntroState::Introduced, "both said yes");
    assert!(r.intro.requester.introduction_bounced && r.intro.target.introduction_bounced, "neither got it");
    // The connector alone: the refusal reached nobody, so no party has an introduction to hear about.
    assert_eq!(kinds(&r), [(CON, "outcome")]);
    let told = Outcome::IntroductionRefused {
        named: vec![Role::Target],
        reason: "550 5.1.1 <bob@example.org>: unknown".into(),
    };
    assert!(r.effects.contains(&Effect::Send(Outgoing { to: CON, email: Email::Outcome(told) })));
    assert!(r.intro.timeline.iter().any(|t| t.what.contains("refused the introduction")), "{:?}", r.intro.timeline);
    assert_eq!(r.intro.deadline, None, "no retry, no timer");
    // Told once: the same refusal again, another, or a late bounce report, change nothing.
    assert!(step(&r.intro, &introduction_refused(&[Role::Target], "refused-x"), &p, later(4)).is_noop(&r.intro));
    assert!(step(&r.intro, &introduction_refused(&[], "refused-y"), &p, later(4)).is_noop(&r.intro));
    assert!(step(&r.intro, &introduction_bounced(&[Role::Requester], "dsn"), &p, later(5)).is_noop(&r.intro));
}

#[test]
fn a_refusal_naming_nobody_is_told_as_such_and_one_before_the_introduction_changes_nothing() {
    let p = fast_policy();
    let r = step(&introduced(&p).intro, &introduction_refused(&[], "refused-x"), &p, later(3));
    let told = Outcome::IntroductionRefused { named: vec![], reason: "550 5.1.1 <bob@example.org>: unknown".into() };
    assert_eq!(r.effects, [Effect::Send(Outgoing { to: CON, email: Email::Outcome(told) })]);
    assert!(r.intro.timeline.iter().any(|t| t.what.contains("did not say whose")));
    // No introduction went out while waiting or after a no.
    let s = open(new_intro(), &p, t0());
    assert!(step(&s.intro, &introduction_refused(&[Role::Target], "r"), &p, later(1)).is_noop(&s.intro));
    let no = step(&s.intro, &reply(Role::Target, Decision::No, "m1"), &p, later(1));
    assert!(step(&no.intro, &introduction_refused(&[Role::Target], "r"), &p, later(2)).is_noop(&no.intro));
}

#[test]
fn a_bounce_of_an_introduction_that_never_went_out_changes_nothing() {
    let p = fast_policy();
    let s = open(new_intro(), &p, t0());
    // Still waiting: there is no introduction to have bounced.
    assert!(step(&s.intro, &introduction_bounced(&[Role::Target], "d"), &p, later(1)).is_noop(&s.intro));
    // Declined: none went out either.
    let no = step(&s.intro, &reply(Role::Target, Decision::No, "m1"), &p, later(1));
    assert!(step(&no.intro, &introduction_bounced(&[Role::Target], "d"), &p, later(2)).is_noop(&no.intro));
    // A report naming nobody we introduced (the connector's copy, say).
    let introduced = introduced(&p);
    assert!(step(&introduced.intro, &introduction_bounced(&[], "d"), &p, later(5)).is_noop(&introduced.intro));
}

/// Before: an intro stored waiting on a preview before previews expired
/// had no timer and waited forever.
#[test]
fn an_old_preview_without_a_timer_gets_one_from_when_it_was_sent() {
    let p = Policy::default();
    let fresh = open(NewIntro { preview: true, ..new_intro() }, &p, t0()).intro;
    let expected = fresh.deadline;
    assert!(expected.is_some(), "a new preview has its timer");
    let old = Intro { deadline: None, ..fresh };

    // Three weeks later the daemon starts: the timer is the one it would
    // have had, from when the preview was sent, not from now.
    let armed = arm_preview(&old, &p, later(21 * 86_400)).expect("armed");
    assert_eq!(armed.intro.deadline, expected);
    assert!(armed.effects.is_empty(), "nothing sent on arming");
    assert!(arm_preview(&armed.intro, &p, later(22 * 86_400)).is_none(), "idempotent");

    // Due already: the next timer check drops it, and the connector hears once.
    let dropped = step(&armed.intro, &Event::DeadlineReached, &p, later(21 * 86_400));
    assert_eq!(dropped.intro.state, IntroState::Expired);
    assert_eq!(kinds(&dropped), [(CON, "outcome")]);

    // When it was sent is unknown (no timeline): from now.
    let unknown = Intro { timeline: Vec::new(), ..old.clone() };
    let armed = arm_preview(&unknown, &p, later(5)).expect("armed");
    let from_now = open(NewIntro { preview: true, ..new_intro() }, &p, later(5)).intro.deadline;
    assert_eq!(armed.intro.deadline, from_now);

    // Nothing to do for an intro that is not waiting on a preview.
    let asked = open(new_intro(), &p, t0()).intro;
    assert!(arm_preview(&Intro { deadline: None, ..asked }, &p, later(5)).is_none());
    let cancelled = step(&old, &Event::CancelRequested { message_id: "c".into() }, &p, later(1)).intro;
    assert!(arm_preview(&cancelled, &p, later(5)).is_none());
}

// ---- properties over random event sequences ----

fn arb_held() -> impl Strategy<Value = Held> {
    prop_oneof![Just(Held::OtherSender), Just(Held::NoToken), Just(Held::Unauthenticated)]
}

fn arb_role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Requester), Just(Role::Target)]
}

fn arb_decision() -> impl Strategy<Value = Decision> {
    prop_oneof![
        Just(Decision::Yes),
        Just(Decision::No),
        Just(Decision::Later),
        Just(Decision::Stop),
        Just(Decision::Unclear)
    ]
}

pub(crate) fn arb_event() -> impl Strategy<Value = Event> {
    // A small pool of Message-IDs so duplicates happen often.
    let id = (0u8..6).prop_map(|n| MessageId::new(format!("m{n}")));
    prop_oneof![
        4 => (arb_role(), arb_decision(), id.clone()).prop_map(|(role, decision, message_id)| {
            Event::ReplyReceived { role, decision, text: String::new(), message_id }
        }),
        1 => (arb_role(), arb_held(), arb_decision(), id.clone()).prop_map(|(role, why, decision, message_id)| Event::StrangerReplied {
            role,
            why,
            from: Address::parse("x@y.example").ok(),
            text: String::new(),
            decision,
            message_id,
        }),
        1 => (arb_role(), arb_decision(), any::<bool>(), id.clone()).prop_map(|(role, decision, held, message_id)| {
            Event::ConnectorDecided { role, decision, held, message_id }
        }),
        1 => id.clone().prop_map(|message_id| Event::CancelRequested { message_id }),
        1 => (arb_role(), id.clone()).prop_map(|(role, message_id)| Event::Bounced {
            role,
            reason: String::new(),
            message_id
        }),
        1 => (arb_role(), 0i64..90, id.clone()).prop_map(|(role, days, message_id)| Event::AwayUntil {
            role,
            until: jiff::civil::date(2026, 11, 23).saturating_add(jiff::Span::new().days(days)),
            message_id,
        }),
        1 => (prop::collection::vec(arb_role(), 0..3), id.clone()).prop_map(|(roles, message_id)| {
            Event::IntroductionBounced { roles, reason: String::new(), message_id }
        }),
        1 => (prop::collection::vec(arb_role(), 0..3), id.clone()).prop_map(|(named, message_id)| {
            Event::IntroductionRefused { named, reason: String::new(), message_id }
        }),
        1 => id.prop_map(|message_id| Event::PreviewApproved { message_id }),
        3 => Just(Event::DeadlineReached),
    ]
}

pub(crate) fn arb_policy() -> impl Strategy<Value = Policy> {
    (any::<bool>(), 1u64..300, 1u64..300).prop_map(|(implied, f, e)| Policy {
        requester_consent: if implied { RequesterConsent::Implied } else { RequesterConsent::Ask },
        follow_up_after: Wait::Exactly(Duration::from_secs(f)),
        expire_after: Wait::Exactly(Duration::from_secs(e)),
        timezone: TimeZone::UTC,
        holidays: Vec::new(),
    })
}

/// Whether this event is a recorded yes for `role` given the intro before it.
fn is_recorded_yes(before: &Intro, ev: &Event, role: Role) -> bool {
    match ev {
        Event::ReplyReceived { role: r, decision: Decision::Yes, .. } => *r == role,
        Event::ConnectorDecided { role: r, decision: Decision::Yes, held, .. } if *r == role => {
            let party = before.party(role);
            match (&party.held, held) {
                // The connector says a held reply is theirs: their own words count.
                (Some(h), true) => party.state.is_waiting() && h.decision == Decision::Yes,
                (_, false) => party.state == PartyState::Unclear,
                (None, true) => false,
            }
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn invariants_hold_over_any_event_sequence(
        policy in arb_policy(),
        preview in any::<bool>(),
        events in prop::collection::vec((arb_event(), 0u64..200), 0..24),
    ) {
        let mut now = t0();
        let first = open(NewIntro { preview, ..new_intro() }, &policy, now);
        let mut intro = first.intro;
        let mut yes_recorded = [policy.requester_consent == RequesterConsent::Implied, false];
        let mut sends: Vec<Outgoing> = first.effects.iter().filter_map(|e| match e {
            Effect::Send(o) => Some(o.clone()),
            Effect::Suppress { .. } => None,
        }).collect();

        for (ev, advance) in events {
            now = now.saturating_add(Duration::from_secs(advance)).expect("in range");
            for (i, role) in Role::BOTH.into_iter().enumerate() {
                if is_recorded_yes(&intro, &ev, role) && !intro.state.is_terminal() {
                    yes_recorded[i] = true;
                }
            }
            let s = step(&intro, &ev, &policy, now);

            // Terminal stays terminal, and nothing more goes out, but for
            // what the bounce of an introduction needs said.
            let introduction_bounced =
                matches!(ev, Event::IntroductionBounced { .. } | Event::IntroductionRefused { .. });
            if intro.state.is_terminal() && !introduction_bounced {
                prop_assert!(s.is_noop(&intro), "terminal intro moved: {:?} -> {:?}", intro.state, s.intro.state);
            }
            if introduction_bounced {
                prop_assert_eq!(s.intro.state, intro.state, "a bounced introduction changes no state");
                if intro.state != IntroState::Introduced {
                    prop_assert!(s.is_noop(&intro), "an introduction bounced that never went out");
                }
            }
            // The same event again changes nothing.
            let again = step(&s.intro, &ev, &policy, now);
            prop_assert!(again.is_noop(&s.intro), "event applied twice had an effect: {ev:?} -> {:?}", again.effects);

            for e in &s.effects {
                if let Effect::Send(o) = e {
                    if o.email == Email::Introduction {
                        // Nobody is introduced without a recorded yes from both.
                        prop_assert!(yes_recorded[0] && yes_recorded[1], "introduced without two yeses");
                        prop_assert_eq!(o.to, Audience::BothParties);
                    } else {
                        prop_assert_ne!(o.to, Audience::BothParties, "only the introduction goes to both");
                    }
                    // Nothing more to a party whose introduction bounced.
                    if let Audience::Party(r) = o.to {
                        prop_assert!(!s.intro.party(r).introduction_bounced, "wrote to the {r}, who is unreachable");
                    }
                    sends.push(o.clone());
                }
            }
            if s.intro.state == IntroState::Introduced {
                prop_assert!(Role::BOTH.iter().all(|r| s.intro.party(*r).state == PartyState::Yes));
            }
            intro = s.intro;
        }

        // The per-party cap: at most one of each kind per party.
        for role in Role::BOTH {
            for kind in ["consent_request", "follow_up", "introduction"] {
                let n = sends.iter().filter(|o| {
                    o.email.kind().as_str() == kind
                        && (o.to == Audience::Party(role) || o.to == Audience::BothParties)
                }).count();
                prop_assert!(n <= 1, "{n} × {kind} to the {role}");
            }
            let closings = sends.iter().filter(|o| {
                o.to == Audience::Party(role)
                    && matches!(o.email, Email::ThankYou { .. } | Email::NothingNeeded)
            }).count();
            prop_assert!(closings <= 1, "{closings} closing notes to the {role}");
        }
        let bounced = |o: &&Outgoing| {
            matches!(o.email, Email::Outcome(Outcome::IntroductionBounced { .. } | Outcome::IntroductionRefused { .. }))
        };
        let outcomes = sends.iter().filter(|o| matches!(o.email, Email::Outcome(_)) && !bounced(o)).count();
        prop_assert_eq!(outcomes, usize::from(intro.state.is_terminal()), "one outcome per ended intro");
        // The connector hears of each party's bounced introduction once.
        for role in Role::BOTH {
            let told = sends.iter().filter(|o| match &o.email {
                Email::Outcome(Outcome::IntroductionBounced { roles, .. }) => roles.contains(&role),
                // A refusal: neither party got it.
                Email::Outcome(Outcome::IntroductionRefused { .. }) => true,
                _ => false,
            }).count();
            prop_assert_eq!(told, usize::from(intro.party(role).introduction_bounced), "bounce of the {}'s introduction told", role);
        }
    }
}
