//! What the core asks the shell to do: emails to send and addresses to
//! suppress. Effects name a kind of email and its audience; the words live in
//! the templates and the headers in `compose`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::address::Address;
use super::event::{Decision, Held};
use super::intro::Role;

/// Who an email goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// One party alone.
    Party(Role),
    /// The connector alone.
    Connector,
    /// Both parties in one email: only ever the introduction.
    BothParties,
}

/// How an intro ended, for the connector's notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Both said yes and were introduced.
    Introduced,
    /// A party said no, not now or never.
    Declined {
        /// Who.
        role: Role,
        /// Which form of no.
        decision: Decision,
    },
    /// Time ran out.
    Expired {
        /// Who never answered.
        silent: Vec<Role>,
    },
    /// The connector cancelled.
    Cancelled,
    /// The connector never answered the preview: nobody was written to.
    PreviewUnanswered,
    /// A party's address bounced.
    Bounced {
        /// Whose.
        role: Role,
        /// What the server said.
        reason: String,
    },
    /// After the introduction went out, it bounced for these parties: it
    /// never reached them. Told after [`Outcome::Introduced`], once per
    /// party.
    IntroductionBounced {
        /// Whose copy bounced.
        roles: Vec<Role>,
        /// What the server said.
        reason: String,
    },
    /// After [`Outcome::Introduced`], the mail server refused the
    /// introduction when it was sent: it reached neither party.
    IntroductionRefused {
        /// The parties whose address the server's words name; empty when
        /// they name neither.
        named: Vec<Role>,
        /// What the server said.
        reason: String,
    },
}

/// Every kind of email the bot writes, in one list: the ones the state
/// machine decides on, the notes to a connector outside any intro, and the
/// `check` probe. Templates are keyed by it (`<kind>.txt.j2`), the store's
/// records and logs name it, and party Message-IDs carry it; its serde names
/// are those strings, so stored records keep reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// To the connector: got it, here is what happens next.
    Acknowledgement,
    /// To the connector, when the bot had to guess: exactly what each party
    /// would read; nothing goes out until they say `send`.
    Preview,
    /// To one party: would you like to meet?
    ConsentRequest,
    /// To one party, once: a gentle nudge.
    FollowUp,
    /// To a party who said no: thanks, nothing more.
    ThankYou,
    /// To a party who was asked: this one is not going ahead.
    NothingNeeded,
    /// To both parties: meet each other.
    Introduction,
    /// To the connector: how it ended.
    Outcome,
    /// To the connector: a reply we could not read; please decide.
    UnclearReply,
    /// To the connector: mail through a party's address from someone else.
    HeldReply,
    /// To the connector, outside any intro: what is missing from a request.
    RequestProblem,
    /// To the connector, outside any intro: their open intros.
    Status,
    /// To the connector, outside any intro: how to use the bot.
    Help,
    /// To the connector: the answer to a command by email.
    CommandReply,
    /// `introbot check`'s plus-addressing probe, from the bot to itself.
    /// The only kind without a template.
    #[serde(rename = "check")]
    Probe,
}

impl EmailKind {
    /// Every kind that has a template, in the order `check` renders them.
    pub const TEMPLATED: [EmailKind; 14] = [
        EmailKind::Acknowledgement,
        EmailKind::Preview,
        EmailKind::ConsentRequest,
        EmailKind::FollowUp,
        EmailKind::ThankYou,
        EmailKind::NothingNeeded,
        EmailKind::Introduction,
        EmailKind::Outcome,
        EmailKind::UnclearReply,
        EmailKind::HeldReply,
        EmailKind::RequestProblem,
        EmailKind::Status,
        EmailKind::Help,
        EmailKind::CommandReply,
    ];

    /// The snake_case name: the template's file stem, the stored name, the
    /// word in logs and `show`.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Acknowledgement => "acknowledgement",
            EmailKind::Preview => "preview",
            EmailKind::ConsentRequest => "consent_request",
            EmailKind::FollowUp => "follow_up",
            EmailKind::ThankYou => "thank_you",
            EmailKind::NothingNeeded => "nothing_needed",
            EmailKind::Introduction => "introduction",
            EmailKind::Outcome => "outcome",
            EmailKind::UnclearReply => "unclear_reply",
            EmailKind::HeldReply => "held_reply",
            EmailKind::RequestProblem => "request_problem",
            EmailKind::Status => "status",
            EmailKind::Help => "help",
            EmailKind::CommandReply => "command_reply",
            EmailKind::Probe => "check",
        }
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so `{:<16}` lines up a table.
        f.pad(self.as_str())
    }
}

/// What one email from the state machine is about: its kind and the facts
/// its template needs beyond the intro itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Email {
    /// To the connector: got it, here is what happens next.
    Acknowledgement,
    /// To the connector: what each party would read; waiting for `send`.
    Preview,
    /// To one party: would you like to meet?
    ConsentRequest,
    /// To one party, once: a gentle nudge.
    FollowUp,
    /// To a party who said no: thanks, nothing more.
    ThankYou {
        /// Which form of no (a `stop` also hears they are off the list).
        decision: Decision,
    },
    /// To a party who was asked: this one is not going ahead, nothing to do.
    NothingNeeded,
    /// To both parties: meet each other.
    Introduction,
    /// To the connector: how it ended.
    Outcome(Outcome),
    /// To the connector: a reply we could not read; please decide.
    UnclearReply {
        /// Whose reply.
        role: Role,
        /// Its visible text.
        text: String,
        /// They had said yes before writing it: their yes is in doubt, and
        /// the introduction waits for the connector.
        after_yes: bool,
    },
    /// To the connector: mail came through a party's reply address from
    /// someone else; held, not acted on.
    HeldReply {
        /// Whose address it used.
        role: Role,
        /// Why it was held.
        why: Held,
        /// Who actually sent it, when the mail said.
        from: Option<Address>,
        /// Its visible text.
        text: String,
    },
}

impl Email {
    /// Its kind (and template).
    pub fn kind(&self) -> EmailKind {
        match self {
            Email::Acknowledgement => EmailKind::Acknowledgement,
            Email::Preview => EmailKind::Preview,
            Email::ConsentRequest => EmailKind::ConsentRequest,
            Email::FollowUp => EmailKind::FollowUp,
            Email::ThankYou { .. } => EmailKind::ThankYou,
            Email::NothingNeeded => EmailKind::NothingNeeded,
            Email::Introduction => EmailKind::Introduction,
            Email::Outcome(_) => EmailKind::Outcome,
            Email::UnclearReply { .. } => EmailKind::UnclearReply,
            Email::HeldReply { .. } => EmailKind::HeldReply,
        }
    }
}

/// One email the core wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// To whom.
    pub to: Audience,
    /// What.
    pub email: Email,
}

/// Something the shell must do after committing a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Queue this email (in the same transaction as the state change).
    Send(Outgoing),
    /// Add this address to the suppression list: never ask them again.
    Suppress {
        /// The address.
        email: Address,
    },
}
