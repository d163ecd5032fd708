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
//! - silence gets one follow-up after `follow_up_after`, then the intro
//!   expires `expire_after` later; a silent party is not written to again;
//! - mail through a party's token from another address is held for the
//!   connector and changes nothing;
//! - the per-party cap ([`Sent`]): consent, one follow-up, one closing note,
//!   the introduction — each at most once;
//! - a terminal intro never moves again, and an event carrying a Message-ID
//!   already handled is a no-op.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::address::Address;
use super::calendar::{Wait, add_wait};
use super::effect::{Audience, Effect, Email, Outcome, Outgoing};
use super::event::{Decision, Event};
use super::intro::{Deadline, DeadlineKind, Intro, IntroState, NewIntro, PartyState, Role, Sent, TimelineEntry};

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
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            requester_consent: RequesterConsent::Ask,
            follow_up_after: Wait::BusinessDays(7),
            expire_after: Wait::BusinessDays(7),
            timezone: TimeZone::UTC,
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

/// Opens a new intro: acknowledges to the connector and asks the parties.
pub fn open(new: NewIntro, policy: &Policy, now: Timestamp) -> Step {
    let mut m = Machine { intro: Intro::from_new(new, now), effects: Vec::new(), now };
    m.note(format!("request from {} accepted", m.intro.connector.email));
    m.send(Audience::Connector, Email::Acknowledgement);
    if policy.requester_consent == RequesterConsent::Implied {
        m.intro.requester.state = PartyState::Yes;
        m.note("requester's consent implied by the request".to_owned());
    }
    for role in Role::BOTH {
        if m.intro.party(role).state == PartyState::Pending {
            m.ask(role);
        }
    }
    m.intro.deadline =
        Some(Deadline { at: add_wait(now, policy.follow_up_after, &policy.timezone), kind: DeadlineKind::FollowUp });
    m.finish()
}

/// Applies one event to an intro.
pub fn step(intro: &Intro, event: &Event, policy: &Policy, now: Timestamp) -> Step {
    let mut m = Machine { intro: intro.clone(), effects: Vec::new(), now };
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
            m.decide(*role, *decision, text, "replied");
        }
        Event::ConnectorDecided { role, decision, .. } => {
            if m.intro.party(*role).state == PartyState::Unclear && *decision != Decision::Unclear {
                m.decide(*role, *decision, "", "connector decided");
            } else {
                m.note(format!("connector's decision for the {role} ignored: nothing to decide"));
            }
        }
        Event::StrangerReplied { role, from, text, .. } => {
            let shown = from.as_ref().map_or("(no sender)", Address::as_str);
            m.note(format!("mail for the {role} from another address ({shown}) held"));
            m.send(Audience::Connector, Email::HeldReply { role: *role, from: from.clone(), text: text.clone() });
        }
        Event::CancelRequested { .. } => {
            m.end(IntroState::Cancelled, Outcome::Cancelled, None);
        }
        Event::Bounced { role, reason, .. } => {
            m.intro.party_mut(*role).state = PartyState::Bounced;
            m.end(IntroState::Failed, Outcome::Bounced { role: *role, reason: reason.clone() }, None);
        }
        Event::DeadlineReached => m.deadline_reached(policy),
    }
    m.finish()
}

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

    fn ask(&mut self, role: Role) {
        self.intro.party_mut(role).state = PartyState::Asked;
        self.note(format!("{role} asked"));
        self.send(Audience::Party(role), Email::ConsentRequest);
    }

    fn decide(&mut self, role: Role, decision: Decision, text: &str, how: &str) {
        let current = self.intro.party(role).state;
        let accepted = match decision {
            // A yes counts only from someone who was asked and has not declined.
            Decision::Yes => current.is_waiting(),
            // A no is respected whenever it comes while the intro is open,
            // even after an earlier yes.
            Decision::No | Decision::Later | Decision::Stop => current.is_waiting() || current == PartyState::Yes,
            Decision::Unclear => current.is_waiting(),
        };
        if !accepted {
            self.note(format!("{role} {how} {} while {current}: no change", decision.as_str()));
            return;
        }
        self.note(format!("{role} {how}: {}", decision.as_str()));
        match decision {
            Decision::Yes => {
                self.intro.party_mut(role).state = PartyState::Yes;
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
                self.intro.party_mut(role).state = PartyState::Unclear;
                self.send(Audience::Connector, Email::UnclearReply { role, text: text.to_owned() });
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
                    if self.intro.party(role).state == PartyState::Asked {
                        self.intro.party_mut(role).state = PartyState::FollowedUp;
                        self.note(format!("{role} followed up"));
                        self.send(Audience::Party(role), Email::FollowUp);
                    }
                }
                self.intro.deadline = Some(Deadline {
                    at: add_wait(self.now, policy.expire_after, &policy.timezone),
                    kind: DeadlineKind::Expire,
                });
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
mod tests;
