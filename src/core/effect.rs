//! What the core asks the shell to do: emails to send and addresses to
//! suppress. Effects name a kind of email and its audience; the words live in
//! the templates and the headers in `compose`.

use serde::{Deserialize, Serialize};

use super::event::Decision;
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
    /// A party's address bounced.
    Bounced {
        /// Whose.
        role: Role,
        /// What the server said.
        reason: String,
    },
}

/// The kinds of email the bot writes; one template each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EmailKind {
    /// To the connector: got it, here is what happens next.
    Acknowledgement,
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
    },
    /// To the connector: mail came through a party's reply address from
    /// someone else; held, not acted on.
    HeldReply {
        /// Whose address it used.
        role: Role,
        /// Who actually sent it.
        from: String,
        /// Its visible text.
        text: String,
    },
}

impl EmailKind {
    /// The template name (without extension).
    pub fn template(&self) -> &'static str {
        match self {
            EmailKind::Acknowledgement => "acknowledgement",
            EmailKind::ConsentRequest => "consent_request",
            EmailKind::FollowUp => "follow_up",
            EmailKind::ThankYou { .. } => "thank_you",
            EmailKind::NothingNeeded => "nothing_needed",
            EmailKind::Introduction => "introduction",
            EmailKind::Outcome(_) => "outcome",
            EmailKind::UnclearReply { .. } => "unclear_reply",
            EmailKind::HeldReply { .. } => "held_reply",
        }
    }
}

/// One email the core wants sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// To whom.
    pub to: Audience,
    /// What.
    pub kind: EmailKind,
}

/// Something the shell must do after committing a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Queue this email (in the same transaction as the state change).
    Send(Outgoing),
    /// Add this address to the suppression list: never ask them again.
    Suppress {
        /// The address.
        email: String,
    },
}
