//! The notes the bot writes to a connector in answer to a command by email
//! (`command_reply.txt.j2`): one typed kind each, carrying the facts; the
//! words are the template's.

use serde::Serialize;

/// A note answering a connector's command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "note")]
pub(crate) enum Note {
    /// A party answered after their intro had ended; not acted on.
    LateAnswer {
        /// "Priya Shah <> Bob Martin".
        title: String,
        /// Who answered.
        party: String,
        /// How the intro had ended (`declined`, `expired`, …).
        ended: String,
        /// Their words.
        text: String,
    },
    /// A command about an intro that has ended.
    AlreadyEnded {
        /// "Priya Shah <> Bob Martin".
        title: String,
        /// How it ended.
        ended: String,
    },
    /// `yes` or `no` when no answer waits on the connector.
    NothingToDecide {
        /// "Priya Shah <> Bob Martin".
        title: String,
    },
    /// `yes` or `no`, not in answer to the note about one reply, when two
    /// of one party's wait on the connector: one unclear, one held.
    WhichReply {
        /// "Priya Shah <> Bob Martin".
        title: String,
        /// Whose replies.
        party: String,
    },
    /// `yes` or `no` when both parties' answers wait on the connector.
    WhichParty {
        /// "Priya Shah <> Bob Martin".
        title: String,
        /// The two names.
        names: Vec<String>,
    },
    /// The connector's decision is noted; the intro goes on.
    Decided {
        /// For whom.
        party: String,
        /// `yes` or `no`.
        decision: String,
        /// Whom the intro still waits for (empty when nobody).
        waiting_for: String,
    },
    /// A reply held from another address was accepted as the party's.
    HeldAccepted {
        /// Whose.
        party: String,
        /// What the reply amounted to (`yes`, `no`, `unclear`, …).
        decision: String,
        /// Whom the intro still waits for (empty when nobody).
        waiting_for: String,
    },
    /// A reply held from another address was set aside.
    HeldSetAside {
        /// Whose address it came through.
        party: String,
    },
    /// `send` when nothing waits for it.
    NothingToSend {
        /// "Priya Shah <> Bob Martin".
        title: String,
    },
}
