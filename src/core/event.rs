//! What can happen to an intro once it is open: facts, in the past tense.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::address::Address;
use super::ids::MessageId;
use super::intro::Role;

/// What a person's words amount to. Only `Yes` moves an intro forward, and
/// only a person's own `Yes` (or the connector's for an unclear reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Happy to be introduced.
    Yes,
    /// Not interested.
    No,
    /// Not now.
    Later,
    /// Never ask me again.
    Stop,
    /// Could not tell; never taken as yes.
    Unclear,
}

impl Decision {
    /// `yes`, `no`, `later`, `stop` or `unclear`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Yes => "yes",
            Decision::No => "no",
            Decision::Later => "later",
            Decision::Stop => "stop",
            Decision::Unclear => "unclear",
        }
    }
}

/// Why mail for a party was held instead of read as their answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Held {
    /// Through the party's reply address, from someone else's address.
    OtherSender,
    /// From the party's address, but not through their reply address (it
    /// found the intro by its thread, which anyone can copy).
    NoToken,
    /// Through the party's reply address and from their address, but the
    /// trusted server could not confirm the sender (`[security] require`).
    Unauthenticated,
}

impl Held {
    /// snake_case name, for templates and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Held::OtherSender => "other_sender",
            Held::NoToken => "no_token",
            Held::Unauthenticated => "unauthenticated",
        }
    }
}

/// Something that happened to an open intro.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A party answered from their own address, through their token.
    ReplyReceived {
        /// Whose token the reply came through.
        role: Role,
        /// What the reply amounts to.
        decision: Decision,
        /// The visible text (quotes and signature stripped).
        text: String,
        /// The reply's Message-ID.
        message_id: MessageId,
    },
    /// Mail for a party that cannot count as their answer: through their
    /// token from another address, from their address without the token
    /// (found by its thread), or failing sender authentication. It is held
    /// for the connector and never acted on.
    StrangerReplied {
        /// Whose token (or thread) it used.
        role: Role,
        /// Why it cannot count.
        why: Held,
        /// The address it came from, when the mail gave one.
        from: Option<Address>,
        /// The visible text.
        text: String,
        /// What its words would amount to as the party's answer.
        decision: Decision,
        /// Its Message-ID.
        message_id: MessageId,
    },
    /// An out-of-office from a party gave the date they are back.
    AwayUntil {
        /// Whose.
        role: Role,
        /// The last day they are away.
        until: Date,
        /// The auto-reply's Message-ID.
        message_id: MessageId,
    },
    /// The connector checked the preview and said `send`.
    PreviewApproved {
        /// The connector's Message-ID.
        message_id: MessageId,
    },
    /// The connector decided for a party: for an unclear reply, yes or no;
    /// for a reply held from another address, yes (it is theirs: it counts
    /// as their answer) or no (it is not: set aside).
    ConnectorDecided {
        /// For whom.
        role: Role,
        /// Yes, or one of the declines.
        decision: Decision,
        /// About the reply held for them (else about their own unclear
        /// reply): when both wait, the note the connector answered says
        /// which.
        held: bool,
        /// The connector's Message-ID.
        message_id: MessageId,
    },
    /// The connector called the intro off.
    CancelRequested {
        /// The connector's Message-ID (or a CLI-made id).
        message_id: MessageId,
    },
    /// Mail to a party could not be delivered.
    Bounced {
        /// Whose address bounced.
        role: Role,
        /// The server's words, for the connector.
        reason: String,
        /// The bounce's Message-ID (or the outbox entry for a refused send).
        message_id: MessageId,
    },
    /// The introduction itself could not be delivered to one or both
    /// parties (a delivery report about it, found by its Message-ID). It
    /// comes after the intro ended, however long after.
    IntroductionBounced {
        /// Whose copy bounced.
        roles: Vec<Role>,
        /// The server's words, for the connector.
        reason: String,
        /// The report's Message-ID.
        message_id: MessageId,
    },
    /// The mail server refused the introduction for good when the bot
    /// handed it over (a 5xx at RCPT or DATA). It took none of it, for
    /// anyone: one refused recipient fails the whole send, so the
    /// introduction reached neither party. Like a bounce of the
    /// introduction, it comes after the intro ended.
    IntroductionRefused {
        /// The parties whose address the server's words name (the one it
        /// refused); empty when they name neither.
        named: Vec<Role>,
        /// The server's words, for the connector.
        reason: String,
        /// The refused outbox entry's id (no mail came in).
        message_id: MessageId,
    },
    /// The clock moved; the pending timer may be due.
    DeadlineReached,
}

impl Event {
    /// The inbound message this event came from, if it came from one.
    pub fn message_id(&self) -> Option<&MessageId> {
        match self {
            Event::ReplyReceived { message_id, .. }
            | Event::StrangerReplied { message_id, .. }
            | Event::ConnectorDecided { message_id, .. }
            | Event::AwayUntil { message_id, .. }
            | Event::PreviewApproved { message_id }
            | Event::CancelRequested { message_id }
            | Event::Bounced { message_id, .. }
            | Event::IntroductionBounced { message_id, .. }
            | Event::IntroductionRefused { message_id, .. } => Some(message_id),
            Event::DeadlineReached => None,
        }
    }
}
