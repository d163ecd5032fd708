//! Connectors by email: commands (`status`, `help`, `cancel`, and `yes` or
//! `no` for an unclear reply) and the notes answering them or a request
//! that could not be used. The first non-empty line decides, so a quoted
//! history or a signature below changes nothing. Only the connector who
//! started an intro can change it (checked by `route`).

use jiff::Timestamp;
use tracing::{debug, info};

use super::{Engine, EngineError, Handled};
use crate::core::{self, Decision, EmailKind, Event, Intro, Person, Role};
use crate::mail::{self, Inbound};
use crate::store::{Change, Disposition, Processed};

/// What a connector's words ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Command {
    Cancel,
    /// Yes or no for a party whose reply was unclear.
    Decide(Decision),
    Status,
    Help,
}

/// The command in a text's first non-empty line, if any.
pub(super) fn parse_command(text: &str) -> Option<Command> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?.to_ascii_lowercase();
    let first = first.trim_end_matches(['.', '!', '?']).trim();
    match first.split_whitespace().next()? {
        "cancel" => return Some(Command::Cancel),
        "status" if first.split_whitespace().count() <= 3 => return Some(Command::Status),
        "help" if first.split_whitespace().count() <= 3 => return Some(Command::Help),
        _ => {}
    }
    // The connector decides yes or no for someone else; only the person
    // themselves can ask never to be asked again.
    match mail::decide(first) {
        Decision::Unclear => None,
        Decision::Yes => Some(Command::Decide(Decision::Yes)),
        Decision::No | Decision::Later | Decision::Stop => Some(Command::Decide(Decision::No)),
    }
}

/// A text quoted with `> ` on every line.
pub(super) fn quote_lines(text: &str) -> String {
    text.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n")
}

impl Engine {
    /// The connector wrote on one of their intros (through its token).
    pub(super) fn connector_on_intro(
        &self,
        intro: &Intro,
        inbound: &Inbound,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let id = &inbound.message_id;
        let connector = &intro.connector;
        let note = |message: String| minijinja::context! { message => message };
        match parse_command(&inbound.text) {
            None => self.record(id, Disposition::Processed, Some(intro.id.clone()), "connector wrote; no command", now),
            Some(Command::Status) => self.reply_status(connector, inbound, now),
            Some(Command::Help) => {
                self.reply_to_connector(EmailKind::Help, connector, inbound, minijinja::context! {}, now)
            }
            Some(_) if intro.state.is_terminal() => {
                let message = format!(
                    "This intro ({}) has already ended ({}), so there is nothing left to change.",
                    intro.title(),
                    intro.state.as_str().replace('_', " ")
                );
                self.reply_to_connector(EmailKind::CommandReply, connector, inbound, note(message), now)
            }
            Some(Command::Cancel) => {
                // The outcome email ("cancelled") is the confirmation.
                let event = Event::CancelRequested { message_id: id.clone() };
                self.apply(intro, &event, id, "connector command", now)
            }
            Some(Command::Decide(decision)) => {
                let unclear: Vec<Role> =
                    Role::BOTH.into_iter().filter(|r| intro.party(*r).state == core::PartyState::Unclear).collect();
                let [role] = unclear.as_slice() else {
                    let message = format!(
                        "There is nothing for me to decide on {} right now: I only act on \"yes\" or \"no\" from you when I couldn't read someone's own answer.",
                        intro.title()
                    );
                    return self.reply_to_connector(EmailKind::CommandReply, connector, inbound, note(message), now);
                };
                let event = Event::ConnectorDecided { role: *role, decision, message_id: id.clone() };
                let step = core::step(intro, &event, &self.config.policy, now);
                let mut extra = Vec::new();
                if !step.intro.state.is_terminal() {
                    // Not finished yet, so no outcome email: confirm it here.
                    let who = intro.party(*role).person.display_name().to_owned();
                    let message = format!(
                        "Noted: I'll take {who}'s reply as a {}. I'm still waiting for {}, and I'll let you know how it ends.",
                        decision.as_str(),
                        intro.party(role.other()).person.display_name()
                    );
                    extra.push(self.composer.compose_to_connector(
                        EmailKind::CommandReply,
                        connector,
                        &inbound.subject,
                        Some(id),
                        note(message),
                        now,
                    )?);
                }
                self.commit_step_with(step, Some((id, "connector decided")), extra, now)
            }
        }
    }

    /// `status`: the connector's open intros.
    pub(super) fn reply_status(
        &self,
        connector: &Person,
        inbound: &Inbound,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let open: Vec<minijinja::Value> = self
            .store
            .intros(Some(core::IntroState::AwaitingConsent))?
            .into_iter()
            .filter(|i| i.connector.has_address(&connector.email))
            .map(|i| {
                let waiting: Vec<&str> = i.waiting_for().iter().map(|r| i.party(*r).person.display_name()).collect();
                let days = now.as_second().saturating_sub(i.created_at.as_second()) / 86_400;
                minijinja::context! {
                    id => i.id.as_str(),
                    title => i.title(),
                    waiting_for => if waiting.is_empty() { "you".to_owned() } else { waiting.join(" and ") },
                    age => match days { 0 => "less than a day".to_owned(), 1 => "1 day".to_owned(), n => format!("{n} days") },
                }
            })
            .collect();
        self.reply_to_connector(EmailKind::Status, connector, inbound, minijinja::context! { intros => open }, now)
    }

    pub(super) fn reply_to_connector(
        &self,
        kind: EmailKind,
        to: &Person,
        inbound: &Inbound,
        extra: minijinja::Value,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        self.answer_connector(kind, to, inbound, extra, format!("answered the connector: {kind}"), now)
    }

    pub(super) fn reply_problem(
        &self,
        to: &Person,
        inbound: &Inbound,
        problem: &str,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        info!("request refused");
        // The problem names people, so only at debug.
        debug!(%problem, "request refused");
        let extra = minijinja::context! { problem => problem };
        let note = format!("request problem: {problem}");
        self.answer_connector(EmailKind::RequestProblem, to, inbound, extra, note, now)
    }

    /// Answers a connector outside any intro: composes `kind`, commits it
    /// with the processed marker `note` for the inbound message.
    fn answer_connector(
        &self,
        kind: EmailKind,
        to: &Person,
        inbound: &Inbound,
        extra: minijinja::Value,
        note: String,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let email =
            self.composer.compose_to_connector(kind, to, &inbound.subject, Some(&inbound.message_id), extra, now)?;
        let processed = Processed { at: now, disposition: Disposition::Processed, intro: None, note: note.clone() };
        let change = Change {
            emails: vec![email],
            processed: Some((inbound.message_id.clone(), processed)),
            ..Change::default()
        };
        self.store.commit(&change, now)?;
        Ok(Handled { message_id: inbound.message_id.clone(), disposition: Disposition::Processed, intro: None, note })
    }
}
