//! Connectors by email: commands (`status`, `help`, `cancel`, `send` after
//! a preview, and `yes` or `no` for an unclear reply or one held from
//! another address) and the notes answering them or a request that could
//! not be used. The words of every note are the templates'; here are only
//! its kind and facts ([`Note`]). The first non-empty line decides, so a quoted
//! history or a signature below changes nothing. A `yes` or `no` counts for
//! the reply whose note it answers when several wait; when that cannot be
//! told, the connector is asked which. Only the connector who
//! started an intro can change it (checked by `route`).

use jiff::Timestamp;
use tracing::{debug, info, warn};

use super::{Engine, EngineError, Handled};
use crate::compose::{Note, StatusLine};
use crate::core::{self, Decision, EmailKind, Event, Intro, PartyState, Person, Role};
use crate::mail::{self, Inbound, RequestProblem};
use crate::store::{Change, Counted, Disposition, LedgerEntry, Processed};

/// The least time between two notes answering mail that answers the bot.
const NOTE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The window of `notes_per_connector_per_day`.
const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);

/// What a connector's words ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Command {
    Cancel,
    /// Write to the parties, as the preview showed.
    Send,
    /// Yes or no for a party whose reply was unclear.
    Decide(Decision),
    Status,
    Help,
}

/// The command in a text's first non-empty line, if any.
pub(super) fn parse_command(text: &str) -> Option<Command> {
    let first = first_line(text)?;
    keyword(&first).or_else(|| {
        // The connector decides yes or no for someone else; only the person
        // themselves can ask never to be asked again.
        match mail::decide(&first) {
            Decision::Unclear => None,
            Decision::Yes => Some(Command::Decide(Decision::Yes)),
            Decision::No | Decision::Later | Decision::Stop => Some(Command::Decide(Decision::No)),
        }
    })
}

/// What a connector's mail outside any intro asks: [`parse_command`] of
/// its subject, else of its text. Only `status` and `help` are acted on
/// there, and a decision never is one, so the decision model (the
/// costliest part) reads the subject only when it could hide a command
/// word in the text: a subject that reads as yes or no is the answer, and
/// the text is not looked at.
pub(super) fn command_of_mail(subject: &str, text: &str) -> Option<Command> {
    let first = first_line(subject);
    if let Some(command) = first.as_deref().and_then(keyword) {
        return Some(command);
    }
    let in_text = keyword(&first_line(text)?)?;
    match first.map(|f| mail::decide(&f)) {
        Some(Decision::Yes) => Some(Command::Decide(Decision::Yes)),
        Some(Decision::No | Decision::Later | Decision::Stop) => Some(Command::Decide(Decision::No)),
        Some(Decision::Unclear) | None => Some(in_text),
    }
}

/// The first non-empty line, lowercased, without closing `.`, `!`, `?`.
fn first_line(text: &str) -> Option<String> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?.to_ascii_lowercase();
    Some(first.trim_end_matches(['.', '!', '?']).trim().to_owned())
}

fn keyword(first: &str) -> Option<Command> {
    match first.split_whitespace().next()? {
        "cancel" => Some(Command::Cancel),
        "send" if first.split_whitespace().count() <= 3 => Some(Command::Send),
        "status" if first.split_whitespace().count() <= 3 => Some(Command::Status),
        "help" if first.split_whitespace().count() <= 3 => Some(Command::Help),
        _ => None,
    }
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
        let title = intro.title();
        match parse_command(&inbound.text) {
            None => self.record(id, Disposition::Processed, Some(intro.id.clone()), "connector wrote; no command", now),
            Some(Command::Status) => self.reply_status(connector, inbound, now),
            Some(Command::Help) => {
                self.reply_to_connector(EmailKind::Help, connector, inbound, minijinja::context! {}, now)
            }
            Some(_) if intro.state.is_terminal() => {
                let note = Note::AlreadyEnded { title, ended: intro.how_it_ended() };
                self.reply_note(connector, inbound, &note, now)
            }
            Some(Command::Cancel) => {
                // The outcome email ("cancelled") is the confirmation.
                let event = Event::CancelRequested { message_id: id.clone() };
                self.apply(intro, &event, id, "connector command", now)
            }
            Some(Command::Send) if intro.awaiting_send => {
                // The acknowledgement that follows is the confirmation.
                let event = Event::PreviewApproved { message_id: id.clone() };
                self.apply(intro, &event, id, "connector command", now)
            }
            Some(Command::Send) => self.reply_note(connector, inbound, &Note::NothingToSend { title }, now),
            Some(Command::Decide(decision)) => {
                let (role, held) = match self.decision_about(intro, inbound)? {
                    Ok(which) => which,
                    Err(note) => return self.reply_note(connector, inbound, &note, now),
                };
                let event = Event::ConnectorDecided { role, decision, held, message_id: id.clone() };
                let step = core::step(intro, &event, &self.config.policy, now);
                let mut extra = Vec::new();
                let tells_connector = step
                    .effects
                    .iter()
                    .any(|e| matches!(e, core::Effect::Send(o) if o.to == core::Audience::Connector));
                if !tells_connector {
                    // Nothing else goes to the connector: confirm it here.
                    let party = intro.party(role).person.display_name().to_owned();
                    let waiting: Vec<&str> =
                        step.intro.waiting_for().iter().map(|r| step.intro.party(*r).person.display_name()).collect();
                    let waiting_for = waiting.join(" and ");
                    let note = match (held, decision) {
                        (true, Decision::Yes) => Note::HeldAccepted {
                            party,
                            decision: step.intro.party(role).state.as_str().to_owned(),
                            waiting_for,
                        },
                        (true, _) => Note::HeldSetAside { party },
                        (false, _) => Note::Decided { party, decision: decision.as_str().to_owned(), waiting_for },
                    };
                    extra.push(self.composer.compose_note(connector, &inbound.subject, Some(id), &note, now)?);
                }
                self.commit_step_with(step, Some((id, "connector decided")), extra, now)
            }
        }
    }

    /// Which reply a connector's `yes` or `no` is about, as (party, held):
    /// the one waiting on them; when several wait (both parties', or one
    /// party's unclear reply and a reply held for them), the one whose note
    /// the connector answered (`In-Reply-To`, then `References`: the latest
    /// note about each). When that cannot be told, the note asking which:
    /// never a guess.
    fn decision_about(&self, intro: &Intro, inbound: &Inbound) -> Result<Result<(Role, bool), Note>, EngineError> {
        let title = intro.title();
        let waiting: Vec<(Role, bool)> = intro
            .for_connector_to_decide()
            .into_iter()
            .flat_map(|r| {
                let party = intro.party(r);
                let held = party.held.is_some().then_some((r, true));
                let unclear = (party.state == PartyState::Unclear).then_some((r, false));
                held.into_iter().chain(unclear)
            })
            .collect();
        match waiting.as_slice() {
            [] => return Ok(Err(Note::NothingToDecide { title })),
            [one] => return Ok(Ok(*one)),
            _ => {}
        }
        let sent = self.store.emails_of(&intro.id)?;
        let note_about = |(role, held): (Role, bool)| {
            let kind = if held { EmailKind::HeldReply } else { EmailKind::UnclearReply };
            sent.iter().rev().find(|e| e.kind == kind && e.about == Some(role)).map(|e| &e.message_id)
        };
        for reference in &inbound.references {
            if let Some(which) = waiting.iter().find(|w| note_about(**w) == Some(reference)) {
                return Ok(Ok(*which));
            }
        }
        let mut roles: Vec<Role> = waiting.iter().map(|(r, _)| *r).collect();
        roles.dedup();
        Ok(Err(match roles.as_slice() {
            [role] => Note::WhichReply { title, party: intro.party(*role).person.display_name().to_owned() },
            _ => {
                let names = roles.iter().map(|r| intro.party(*r).person.display_name().to_owned()).collect();
                Note::WhichParty { title, names }
            }
        }))
    }

    /// `status`: the connector's open intros.
    pub(super) fn reply_status(
        &self,
        connector: &Person,
        inbound: &Inbound,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let open: Vec<StatusLine> = self
            .store
            .intros(Some(core::IntroState::AwaitingConsent))?
            .into_iter()
            .filter(|i| i.connector.has_address(&connector.email))
            .map(|i| StatusLine::of(&i, now.as_second().saturating_sub(i.created_at.as_second()) / 86_400))
            .collect();
        let extra = minijinja::context! { intros => minijinja::Value::from(minijinja::value::Serde(&open)) };
        self.reply_to_connector(EmailKind::Status, connector, inbound, extra, now)
    }

    /// Answers a connector's command with a note.
    pub(super) fn reply_note(
        &self,
        to: &Person,
        inbound: &Inbound,
        note: &Note,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let email = self.composer.compose_note(to, &inbound.subject, Some(&inbound.message_id), note, now)?;
        self.answered(email, inbound, format!("answered the connector: {}", EmailKind::CommandReply), false, now)
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
        problem: &RequestProblem,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        info!("request refused");
        // The problem names people, so only at debug.
        debug!(%problem, "request refused");
        let email = self.composer.compose_problem(to, &inbound.subject, Some(&inbound.message_id), problem, now)?;
        // Mail that is no request at all is what an auto-responder writes
        // (a fresh subject, no thread, to the envelope sender): loop-guarded
        // even when nothing shows that it answers the bot.
        let loop_prone = matches!(problem, RequestProblem::NotARequest);
        self.answered(email, inbound, format!("request problem: {problem}"), loop_prone, now)
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
        self.answered(email, inbound, note, false, now)
    }

    /// Commits a note to the connector with the processed marker `note` for
    /// the inbound message it answers.
    ///
    /// Loop guard (issue 10): mail answering the bot, and with
    /// `loop_prone` any mail, gets at most one note an hour per address, so
    /// an auto-responder the bot did not recognise cannot keep a
    /// conversation with it going. And at most
    /// `notes_per_connector_per_day` notes a day to one address whatever
    /// the mail: without `[security]`, anyone can forge a connector's
    /// `From` and ask for `help` as often as they like.
    fn answered(
        &self,
        email: crate::compose::Composed,
        inbound: &Inbound,
        note: String,
        loop_prone: bool,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let to = email.recipients.first().map(|a| a.canonical().to_string()).unwrap_or_default();
        if let Some(last) = self.store.last_noted(&to)?
            && last.checked_add(NOTE_INTERVAL).is_ok_and(|until| now < until)
            && (loop_prone || self.answers_bot(inbound)?)
        {
            let note = format!("not answered ({}): a note went to this address less than an hour ago", email.kind);
            return self.record(&inbound.message_id, Disposition::Ignored, None, &note, now);
        }
        let today = now.checked_sub(DAY).unwrap_or(Timestamp::MIN);
        let noted = self.store.count_since(Counted::Noted, &to, today)?;
        if noted >= self.config.limits.notes_per_connector_per_day as usize {
            warn!(kind = %email.kind, noted, "not answered: notes_per_connector_per_day reached");
            let note = format!("not answered ({}): {noted} notes went to this address today", email.kind);
            return self.record(&inbound.message_id, Disposition::Ignored, None, &note, now);
        }
        let processed = Processed { at: now, disposition: Disposition::Processed, intro: None, note: note.clone() };
        let change = Change {
            emails: vec![email],
            processed: Some((inbound.message_id.clone(), processed)),
            ledger: vec![LedgerEntry::Noted { to }],
            ..Change::default()
        };
        self.store.commit(&change, now)?;
        Ok(Handled { message_id: inbound.message_id.clone(), disposition: Disposition::Processed, intro: None, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `command_of_mail` answers `status` and `help` exactly when the
    /// subject's command, else the text's, is one of them.
    #[test]
    fn command_of_mail_is_the_subject_then_the_text() {
        let subjects = [
            "Fwd: Intro: Alice Able <> Bob Busy",
            "yes",
            "No thanks",
            "Not now, later",
            "status",
            "Help!",
            "",
            "  ",
            "cancel",
            "send it now please",
            "Re: hello",
            "Yes please, status",
            "stop",
        ];
        let texts = ["status", "help", "Status?", "yes", "", "hello\nstatus", "  \n help me", "send", "no", "cancel"];
        let acted = |c: Option<Command>| matches!(c, Some(Command::Status | Command::Help)).then_some(c);
        for subject in subjects {
            for text in texts {
                let reference = parse_command(subject).or_else(|| parse_command(text));
                assert_eq!(acted(command_of_mail(subject, text)), acted(reference), "{subject:?} / {text:?}");
            }
        }
    }
}
