//! The intro state machine: `(intro, event, now) -> (next intro, effects)`.
//!
//! Rules, all enforced here and nowhere else:
//! - each party gets its own consent note; the requester too unless the
//!   request itself counts as their yes (`RequesterConsent::Implied`);
//! - a yes from both parties, and only that, sends the one introduction;
//! - a no, not-now or stop ends the intro: that party is thanked once, the
//!   other party (if asked) hears that nothing more is needed, the connector
//!   is told; a stop also suppresses the address for every future intro;
//! - an unclear reply is never a yes: the connector sees it and may decide;
//!   one after a yes (before the introduction went out) makes that party
//!   unclear again, so nobody is introduced on a yes the person has since
//!   put in doubt; a clear no after a yes is a no;
//! - silence gets one follow-up after `follow_up_after`, then the intro
//!   expires `expire_after` later; a silent party is not written to again;
//! - mail through a party's token from another address is held for the
//!   connector: it changes nothing until the connector says it is theirs
//!   (then it is their answer), and they are not followed up meanwhile;
//! - an out-of-office with a return date puts the follow-up (or the
//!   expiry, after a follow-up) after that date;
//! - when the shell asks for a preview, nobody is written to until the
//!   connector says `send`; a preview nobody answers expires when an
//!   unanswered intro would (`follow_up_after` + `expire_after`), and the
//!   connector is told once; one stored before previews expired gets that
//!   timer from [`arm_preview`], counted from when it was sent;
//! - business days skip weekends and the configured holidays;
//! - the per-party cap ([`Sent`]): consent, one follow-up, one closing note,
//!   the introduction — each at most once;
//! - a bounce of the introduction itself (after the intro ended, however
//!   long after) is recorded against it: the connector hears whose copy did
//!   not arrive, the other party that it did not reach them and that the
//!   connector knows, each once; nothing is sent again;
//! - an introduction the mail server refused when it was sent reached
//!   neither party: recorded against the intro, the connector told once
//!   (with whose address the server named, if it did), nobody else;
//! - a yes the connector says still stands after a doubtful reply keeps the
//!   words that came with it: the introduction never quotes the doubt;
//! - otherwise a terminal intro never moves again, and an event carrying a
//!   Message-ID already handled is a no-op.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::address::Address;
use super::calendar::{Wait, add_wait_skipping, morning_after};
use super::effect::{Audience, Effect, Email, Outcome, Outgoing};
use super::event::{Decision, Event, Held};
use super::ids::MessageId;
use super::intro::{
    ConsentBy, Deadline, DeadlineKind, HeldReply, Intro, IntroState, NewIntro, PartyState, Role, Sent, TimelineEntry,
};

/// Whether the requester is asked too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RequesterConsent {
    /// Both parties are asked, in parallel (the default).
    #[default]
    Ask,
    /// The request itself is the requester's yes; only the target is asked.
    Implied,
}

/// The settings the machine follows; pure data from the config.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Ask the requester too, or not.
    pub requester_consent: RequesterConsent,
    /// Silence before the one follow-up.
    pub follow_up_after: Wait,
    /// Silence after the follow-up before the intro expires.
    pub expire_after: Wait,
    /// Where business days are counted.
    pub timezone: TimeZone,
    /// Dates (in `timezone`) that are not business days (`[timing] holidays`).
    pub holidays: Vec<Date>,
}

impl Policy {
    /// The instant `wait` after `start`, skipping weekends and holidays.
    fn after(&self, start: Timestamp, wait: Wait) -> Timestamp {
        add_wait_skipping(start, wait, &self.timezone, &self.holidays)
    }

    /// When a preview sent at `sent` and never answered is dropped: not
    /// forever, but as long as a silent party would get, follow-up and all.
    fn preview_expiry(&self, sent: Timestamp) -> Timestamp {
        self.after(self.after(sent, self.follow_up_after), self.expire_after)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            requester_consent: RequesterConsent::Ask,
            follow_up_after: Wait::BusinessDays(7),
            expire_after: Wait::BusinessDays(7),
            timezone: TimeZone::UTC,
            holidays: Vec::new(),
        }
    }
}

/// The result of one step: the next intro and what to do about it.
#[derive(Clone, Debug)]
pub struct Step {
    /// The intro after the event.
    pub intro: Intro,
    /// Emails to queue and addresses to suppress, in order.
    pub effects: Vec<Effect>,
}

impl Step {
    /// When the next timer is due, if any.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.intro.deadline.map(|d| d.at)
    }

    /// Whether the event changed nothing.
    pub fn is_noop(&self, before: &Intro) -> bool {
        self.effects.is_empty() && self.intro == *before
    }
}

/// Opens a new intro: acknowledges to the connector and asks the parties,
/// or, when the shell asks for a preview, shows the connector what each
/// party would read and asks nobody until they say `send`.
pub fn open(new: NewIntro, policy: &Policy, now: Timestamp) -> Step {
    let preview = new.preview;
    let mut m = Machine { intro: Intro::from_new(new, now), effects: Vec::new(), now };
    m.note(format!("request from {} accepted", m.intro.connector.email));
    if policy.requester_consent == RequesterConsent::Implied {
        m.intro.requester.state = PartyState::Yes;
        m.intro.requester.yes_by = Some(ConsentBy::Implied);
        m.note("requester's consent implied by the request".to_owned());
    }
    if preview {
        m.intro.awaiting_send = true;
        m.note(PREVIEW_SENT.to_owned());
        m.send(Audience::Connector, Email::Preview);
        m.intro.deadline = Some(Deadline { at: policy.preview_expiry(now), kind: DeadlineKind::Expire });
    } else {
        m.start(policy);
    }
    m.finish()
}

/// What the timeline says when a preview is sent; [`arm_preview`] reads it
/// back for when that was.
const PREVIEW_SENT: &str = "preview sent to the connector; waiting for send";

/// An intro waiting on a preview with no timer (stored before previews
/// expired) gets the expiry timer a new one would: counted from when the
/// preview was sent (its timeline says), or from `now` when that is
/// unknown. `None` when there is nothing to do: not a preview, ended, or
/// already timed (so running it again changes nothing).
pub fn arm_preview(intro: &Intro, policy: &Policy, now: Timestamp) -> Option<Step> {
    if !intro.awaiting_send || intro.deadline.is_some() || intro.state.is_terminal() {
        return None;
    }
    let sent = intro.timeline.iter().rev().find(|t| t.what == PREVIEW_SENT).map_or(now, |t| t.at);
    let mut m = Machine { intro: intro.clone(), effects: Vec::new(), now };
    let at = policy.preview_expiry(sent);
    m.intro.deadline = Some(Deadline { at, kind: DeadlineKind::Expire });
    m.note(format!("the preview had no timer: it is dropped at {at} unless the connector says send"));
    Some(m.finish())
}

/// Applies one event to an intro.
pub fn step(intro: &Intro, event: &Event, policy: &Policy, now: Timestamp) -> Step {
    let mut m = Machine { intro: intro.clone(), effects: Vec::new(), now };
    // The events an ended intro still takes: its introduction bounced, or
    // was refused when sent.
    match event {
        Event::IntroductionBounced { roles, reason, message_id } => {
            m.introduction_bounced(roles, reason, message_id);
            return m.finish();
        }
        Event::IntroductionRefused { named, reason, message_id } => {
            m.introduction_refused(named, reason, message_id);
            return m.finish();
        }
        _ => {}
    }
    if intro.state.is_terminal() {
        return m.finish();
    }
    if let Some(id) = event.message_id() {
        if intro.handled_messages.contains(id) {
            return m.finish();
        }
        m.intro.handled_messages.insert(id.clone());
    }
    match event {
        Event::ReplyReceived { role, decision, text, message_id } => {
            let party = m.intro.party_mut(*role);
            party.last_reply_id = Some(message_id.clone());
            party.reply_text = Some(text.clone());
            // Their own answer settles what a held one might have said.
            party.held = None;
            m.decide(*role, *decision, text, "replied", ConsentBy::Own);
        }
        Event::ConnectorDecided { role, decision, held, .. } => m.connector_decided(*role, *decision, *held),
        Event::StrangerReplied { role, why, from, text, decision, .. } => {
            let shown = from.as_ref().map_or("(no sender)", Address::as_str);
            let what = match why {
                Held::OtherSender => format!("from another address ({shown})"),
                Held::NoToken => format!("without their reply address ({shown})"),
                Held::Unauthenticated => format!("failing sender authentication ({shown})"),
            };
            m.note(format!("mail for the {role} {what} held"));
            if m.intro.party(*role).state.is_waiting() {
                let held = HeldReply { from: from.clone(), text: text.clone(), decision: *decision };
                m.intro.party_mut(*role).held = Some(held);
            }
            m.send(
                Audience::Connector,
                Email::HeldReply { role: *role, why: *why, from: from.clone(), text: text.clone() },
            );
        }
        Event::AwayUntil { role, until, .. } => m.away(*role, *until, policy),
        Event::PreviewApproved { .. } => {
            if m.intro.awaiting_send {
                m.intro.awaiting_send = false;
                m.note("connector said send".to_owned());
                m.start(policy);
            } else {
                m.note("connector said send, but nothing was waiting for it".to_owned());
            }
        }
        Event::CancelRequested { .. } => {
            m.intro.awaiting_send = false;
            m.end(IntroState::Cancelled, Outcome::Cancelled, None);
        }
        Event::Bounced { role, reason, .. } => {
            m.intro.party_mut(*role).state = PartyState::Bounced;
            m.end(IntroState::Failed, Outcome::Bounced { role: *role, reason: reason.clone() }, None);
        }
        // Handled above, ended or not.
        Event::IntroductionBounced { .. } | Event::IntroductionRefused { .. } => {}
        Event::DeadlineReached => m.deadline_reached(policy),
    }
    m.finish()
}

/// An out-of-office date further away than this is more likely misread
/// than true, and is not waited for.
const AWAY_AT_MOST_DAYS: i64 = 60;

/// A step in progress.
struct Machine {
    intro: Intro,
    effects: Vec<Effect>,
    now: Timestamp,
}

impl Machine {
    fn finish(self) -> Step {
        Step { intro: self.intro, effects: self.effects }
    }

    fn note(&mut self, what: String) {
        self.intro.timeline.push(TimelineEntry { at: self.now, what });
    }

    /// Queues an email unless the per-party cap forbids it. The cap is
    /// checked here, at the single place emails are made, so no rule can
    /// forget it.
    fn send(&mut self, to: Audience, email: Email) {
        let flag: fn(&mut Sent) -> &mut bool = match email {
            Email::ConsentRequest => |s| &mut s.consent,
            Email::FollowUp => |s| &mut s.follow_up,
            Email::ThankYou { .. } | Email::NothingNeeded => |s| &mut s.closing,
            Email::Introduction => |s| &mut s.introduction,
            _ => {
                self.effects.push(Effect::Send(Outgoing { to, email }));
                return;
            }
        };
        let roles: &[Role] = match to {
            Audience::Party(Role::Requester) => &[Role::Requester],
            Audience::Party(Role::Target) => &[Role::Target],
            Audience::BothParties => &Role::BOTH,
            Audience::Connector => &[],
        };
        if roles.is_empty() || roles.iter().any(|r| *flag(&mut self.intro.party_mut(*r).sent)) {
            return;
        }
        for r in roles {
            *flag(&mut self.intro.party_mut(*r).sent) = true;
        }
        self.effects.push(Effect::Send(Outgoing { to, email }));
    }

    /// Acknowledges to the connector, asks whoever has not said yes, and
    /// sets the follow-up timer.
    fn start(&mut self, policy: &Policy) {
        self.send(Audience::Connector, Email::Acknowledgement);
        for role in Role::BOTH {
            if self.intro.party(role).state == PartyState::Pending {
                self.ask(role);
            }
        }
        self.intro.deadline =
            Some(Deadline { at: policy.after(self.now, policy.follow_up_after), kind: DeadlineKind::FollowUp });
    }

    fn ask(&mut self, role: Role) {
        self.intro.party_mut(role).state = PartyState::Asked;
        self.note(format!("{role} asked"));
        self.send(Audience::Party(role), Email::ConsentRequest);
    }

    /// The connector's yes or no for a party: about a reply held from
    /// another address (yes: it is theirs, and counts as their answer; no:
    /// set aside), or about an unclear reply; `held` says which, and one
    /// that is not waiting is nothing to decide.
    fn connector_decided(&mut self, role: Role, decision: Decision, held: bool) {
        let party = self.intro.party(role);
        if !party.state.is_waiting() || decision == Decision::Unclear {
            self.note(format!("connector's decision for the {role} ignored: nothing to decide"));
            return;
        }
        if let Some(held) = party.held.clone().filter(|_| held) {
            self.intro.party_mut(role).held = None;
            if decision == Decision::Yes {
                self.intro.party_mut(role).reply_text = Some(held.text.clone());
                self.decide(
                    role,
                    held.decision,
                    &held.text,
                    "replied from another address, which the connector confirmed",
                    ConsentBy::Own,
                );
            } else {
                self.note(format!("connector set aside the {role}'s held reply"));
            }
        } else if party.state == PartyState::Unclear && !held {
            self.decide(role, decision, "", "connector decided", ConsentBy::Connector);
        } else {
            self.note(format!("connector's decision for the {role} ignored: nothing to decide"));
        }
    }

    /// An out-of-office with a return date: no follow-up before they are
    /// back, and time to answer after.
    fn away(&mut self, role: Role, until: Date, policy: &Policy) {
        let state = self.intro.party(role).state;
        let today = self.now.to_zoned_datetime(policy.timezone.clone()).date();
        let days_ahead = today.until(until).map_or(i64::MAX, |span| i64::from(span.get_days()));
        if !matches!(state, PartyState::Asked | PartyState::FollowedUp)
            || !(0..=AWAY_AT_MOST_DAYS).contains(&days_ahead)
        {
            self.note(format!("{role} away until {until}: not waited for"));
            return;
        }
        self.intro.party_mut(role).away_until = Some(until);
        self.note(format!("{role} away until {until}"));
        let back = morning_after(until, &policy.timezone, &policy.holidays);
        if let Some(deadline) = &mut self.intro.deadline {
            let earliest = match deadline.kind {
                DeadlineKind::FollowUp => back,
                // Followed up while away: the usual time to answer, once back.
                DeadlineKind::Expire => policy.after(back, policy.expire_after),
            };
            if deadline.at < earliest {
                deadline.at = earliest;
            }
        }
    }

    fn decide(&mut self, role: Role, decision: Decision, text: &str, how: &str, by: ConsentBy) {
        let current = self.intro.party(role).state;
        let accepted = match decision {
            // A yes counts only from someone who was asked and has not declined.
            Decision::Yes => current.is_waiting(),
            // A no is respected whenever it comes while the intro is open,
            // even after an earlier yes.
            Decision::No | Decision::Later | Decision::Stop => current.is_waiting() || current == PartyState::Yes,
            // An unclear reply after a yes puts the yes in doubt ("Sorry, on
            // second thought no."): nobody is introduced on it until the
            // connector has read it.
            Decision::Unclear => current.is_waiting() || current == PartyState::Yes,
        };
        if !accepted {
            self.note(format!("{role} {how} {} while {current}: no change", decision.as_str()));
            return;
        }
        self.note(format!("{role} {how}: {}", decision.as_str()));
        match decision {
            Decision::Yes => {
                let party = self.intro.party_mut(role);
                // The connector saying a yes put in doubt still stands
                // restores that yes with its own words; any other yes comes
                // with the reply it was read from.
                let restored = by == ConsentBy::Connector && party.yes_words.is_some();
                if !restored {
                    party.yes_words = party.reply_text.clone();
                }
                party.state = PartyState::Yes;
                party.yes_by = Some(by);
                if Role::BOTH.iter().all(|r| self.intro.party(*r).state == PartyState::Yes) {
                    self.intro.state = IntroState::Introduced;
                    self.intro.deadline = None;
                    self.note("introduced".to_owned());
                    self.send(Audience::BothParties, Email::Introduction);
                    self.send(Audience::Connector, Email::Outcome(Outcome::Introduced));
                }
            }
            Decision::No | Decision::Later | Decision::Stop => {
                self.intro.party_mut(role).state = match decision {
                    Decision::No => PartyState::No,
                    Decision::Later => PartyState::Later,
                    _ => PartyState::Stop,
                };
                if decision == Decision::Stop {
                    let email = self.intro.party(role).person.email.clone();
                    self.effects.push(Effect::Suppress { email });
                }
                self.send(Audience::Party(role), Email::ThankYou { decision });
                self.end(IntroState::Declined, Outcome::Declined { role, decision }, None);
            }
            Decision::Unclear => {
                let after_yes = current == PartyState::Yes;
                let party = self.intro.party_mut(role);
                party.state = PartyState::Unclear;
                // `yes_words` stay: if the connector says the yes stands,
                // the introduction quotes the yes, not this reply.
                party.yes_by = None;
                self.send(Audience::Connector, Email::UnclearReply { role, text: text.to_owned(), after_yes });
            }
        }
    }

    /// Ends the intro: the connector hears the outcome, and every party who
    /// was asked and has not already had a closing note hears that nothing
    /// more is needed — except those in `skip` (silent people on expiry).
    fn end(&mut self, state: IntroState, outcome: Outcome, skip: Option<&[Role]>) {
        self.intro.state = state;
        self.intro.deadline = None;
        self.note(state.as_str().to_owned());
        for role in Role::BOTH {
            let party = self.intro.party(role);
            let skipped = skip.is_some_and(|s| s.contains(&role));
            let told_already = party.state.is_decline() || party.state == PartyState::Bounced;
            if party.sent.consent && !skipped && !told_already {
                self.send(Audience::Party(role), Email::NothingNeeded);
            }
        }
        self.send(Audience::Connector, Email::Outcome(outcome));
    }

    /// The introduction bounced for `roles`: recorded against the intro
    /// (which stays `introduced`: both said yes, and it went out). The
    /// connector hears once per party whose copy did not arrive; a party
    /// whose copy did hears once that it did not reach the other, and that
    /// the connector knows. Nothing is sent again: no retry.
    fn introduction_bounced(&mut self, roles: &[Role], reason: &str, message_id: &MessageId) {
        if self.intro.state != IntroState::Introduced || self.intro.handled_messages.contains(message_id) {
            return;
        }
        let new: Vec<Role> = Role::BOTH
            .into_iter()
            .filter(|r| roles.contains(r))
            .filter(|r| self.intro.party(*r).sent.introduction && !self.intro.party(*r).introduction_bounced)
            .collect();
        // Another report about a copy already known to have bounced.
        if new.is_empty() {
            return;
        }
        self.intro.handled_messages.insert(message_id.clone());
        for role in &new {
            self.intro.party_mut(*role).introduction_bounced = true;
            self.note(format!("the introduction bounced for the {role}"));
        }
        let outcome = Outcome::IntroductionBounced { roles: new, reason: reason.to_owned() };
        self.send(Audience::Connector, Email::Outcome(outcome));
        for role in Role::BOTH {
            if !self.intro.party(role).introduction_bounced {
                self.send(Audience::Party(role), Email::NothingNeeded);
            }
        }
    }

    /// The mail server refused the introduction when it was sent: recorded
    /// against the intro (which stays `introduced`: both said yes), both
    /// copies marked as never read, and the connector told once, with the
    /// server's words, so they can introduce the two by hand. Neither party
    /// hears: the refusal reached nobody, so there is no introduction to
    /// write under. Nothing is sent again: no retry.
    fn introduction_refused(&mut self, named: &[Role], reason: &str, message_id: &MessageId) {
        // Already told: refused before, or a bounce came back, which means the
        // server took it (it cannot have refused it too).
        let told = Role::BOTH.iter().any(|r| self.intro.party(*r).introduction_bounced);
        if self.intro.state != IntroState::Introduced || self.intro.handled_messages.contains(message_id) || told {
            return;
        }
        self.intro.handled_messages.insert(message_id.clone());
        for role in Role::BOTH {
            self.intro.party_mut(role).introduction_bounced = true;
        }
        let named: Vec<Role> = Role::BOTH.into_iter().filter(|r| named.contains(r)).collect();
        let whose = match named.as_slice() {
            [role] => format!(" (it refused the {role}'s address)"),
            [] => " (it did not say whose address)".to_owned(),
            _ => " (it named both addresses)".to_owned(),
        };
        self.note(format!("the mail server refused the introduction: it reached neither party{whose}"));
        self.send(
            Audience::Connector,
            Email::Outcome(Outcome::IntroductionRefused { named, reason: reason.to_owned() }),
        );
    }

    fn deadline_reached(&mut self, policy: &Policy) {
        let Some(deadline) = self.intro.deadline else {
            return;
        };
        if self.now < deadline.at {
            return;
        }
        match deadline.kind {
            DeadlineKind::FollowUp => {
                for role in Role::BOTH {
                    let party = self.intro.party(role);
                    if party.state != PartyState::Asked {
                        continue;
                    }
                    // A reply held for the connector is an answer in waiting:
                    // nobody chases a person who may have written already.
                    if party.held.is_some() {
                        self.note(format!("{role} not followed up: a reply of theirs waits for the connector"));
                        continue;
                    }
                    self.intro.party_mut(role).state = PartyState::FollowedUp;
                    self.note(format!("{role} followed up"));
                    self.send(Audience::Party(role), Email::FollowUp);
                }
                self.intro.deadline =
                    Some(Deadline { at: policy.after(self.now, policy.expire_after), kind: DeadlineKind::Expire });
            }
            DeadlineKind::Expire if self.intro.awaiting_send => {
                self.intro.awaiting_send = false;
                self.note("connector never said send".to_owned());
                self.end(IntroState::Expired, Outcome::PreviewUnanswered, None);
            }
            DeadlineKind::Expire => {
                let silent: Vec<Role> = Role::BOTH
                    .into_iter()
                    .filter(|r| matches!(self.intro.party(*r).state, PartyState::Asked | PartyState::FollowedUp))
                    .collect();
                // Silence is an answer too: the silent are not written to again.
                self.end(IntroState::Expired, Outcome::Expired { silent: silent.clone() }, Some(&silent));
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
