//! What an introduction is: the connector, the two parties, their states,
//! what the bot has already sent each of them, and the one pending timer.
//!
//! These types are the store's records too (serialized as JSON), so a field
//! added here needs `#[serde(default)]` to keep older records readable.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::address::{Address, AddressError};
use super::event::Decision;
use super::ids::{IntroId, MessageId, Token};

/// A person with a display name and an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Display name as the connector or the mail gave it; may be empty.
    pub name: String,
    /// The address, as written; compared by mailbox ([`Address::same_mailbox`]).
    pub email: Address,
}

impl Person {
    /// Builds a person.
    pub fn new(name: impl Into<String>, email: Address) -> Self {
        Self { name: name.into(), email }
    }

    /// A person from a name and an address found in text or a header: the
    /// one way a candidate becomes a person, through [`Address::parse`].
    pub fn parse(name: &str, email: &str) -> Result<Person, AddressError> {
        Ok(Self::new(name, Address::parse(email)?))
    }

    /// The name to address them by: the first word of the display name, or
    /// the address's local part when there is no name (for `list`; emails
    /// use [`Person::greeting_name`]).
    pub fn first_name(&self) -> &str {
        self.greeting_name().unwrap_or_else(|| self.email.local_part())
    }

    /// The name to greet them by: the first word of their name that is not
    /// a title ("Dr. Priya Shah" → "Priya"); none without a name.
    pub fn greeting_name(&self) -> Option<&str> {
        self.name.split_whitespace().find(|w| !is_title(w)).map(|w| w.trim_end_matches(','))
    }

    /// The full display name, falling back to the address.
    pub fn display_name(&self) -> &str {
        if self.name.trim().is_empty() { self.email.as_str() } else { self.name.trim() }
    }

    /// Whether `address` reaches this person's mailbox.
    pub fn has_address(&self, address: &Address) -> bool {
        self.email.same_mailbox(address)
    }
}

/// Honorifics and academic titles, never a first name.
const TITLES: &[&str] = &[
    "dr",
    "prof",
    "professor",
    "mr",
    "mrs",
    "ms",
    "mx",
    "miss",
    "sir",
    "dame",
    "herr",
    "frau",
    "mme",
    "mlle",
    "sr",
    "sra",
    "srta",
    "dott",
    "dssa",
    "ing",
    "mag",
    "rev",
    "fru",
    "hr",
    "dipl",
    "lic",
    "doc",
];

/// The titles [`is_title`] knows, lowercase (for tests of its fast path).
#[cfg(test)]
pub(crate) fn intro_titles() -> &'static [&'static str] {
    TITLES
}

/// Whether a word of a name is a title ("Dr.", "prof", "Frau", "M.").
pub fn is_title(word: &str) -> bool {
    let bare = word.trim_end_matches(['.', ',']);
    if bare.is_ascii() {
        // No lowercase copy: every word of every name passes here.
        let is = |t: &str| t.eq_ignore_ascii_case(bare);
        return TITLES.iter().any(|t| is(t)) || (is("m") && word.ends_with('.'));
    }
    let bare = bare.to_lowercase();
    // "M." is Monsieur, but a bare "M" may be an initial.
    TITLES.contains(&bare.as_str()) || (bare == "m" && word.ends_with('.'))
}

/// Something about a request the bot inferred rather than read, so the
/// connector should see what the parties would get before they get it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "guess")]
pub enum Guess {
    /// The subject gave no name for this party (only an address, say).
    Name {
        /// Whose.
        role: Role,
    },
    /// This party's address came from the forwarded mail's `To`/`Cc` or
    /// text, not from the connector.
    AddressFromMail {
        /// Whose.
        role: Role,
    },
    /// This party's address came from the connector's contacts file.
    AddressFromContacts {
        /// Whose.
        role: Role,
    },
    /// More than a greeting and a signature was cut from the summary.
    SummaryCut,
    /// The summary is longer than a forwardable blurb.
    LongSummary {
        /// Its length in words.
        words: usize,
    },
    /// There is no summary (a fresh email, or a forward with nothing but
    /// greetings in it): the target would read nothing in the requester's
    /// words.
    NoSummary,
}

/// Which side of the introduction a party is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Asked for the introduction and wrote the summary.
    Requester,
    /// The person the requester wants to meet.
    Target,
}

impl Role {
    /// Both roles, requester first.
    pub const BOTH: [Role; 2] = [Role::Requester, Role::Target];

    /// The other side.
    pub fn other(self) -> Role {
        match self {
            Role::Requester => Role::Target,
            Role::Target => Role::Requester,
        }
    }

    /// `requester` or `target`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Target => "target",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one party stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyState {
    /// Not asked (yet).
    Pending,
    /// Consent note sent, no answer.
    Asked,
    /// The one follow-up sent, no answer.
    FollowedUp,
    /// Said yes.
    Yes,
    /// Said no.
    No,
    /// Said not now.
    Later,
    /// Said never ask me again.
    Stop,
    /// Answered, but not clearly; the connector decides.
    Unclear,
    /// Their address bounced.
    Bounced,
}

impl PartyState {
    /// Still expected to answer (or the connector to decide for them).
    pub fn is_waiting(self) -> bool {
        matches!(self, PartyState::Asked | PartyState::FollowedUp | PartyState::Unclear)
    }

    /// Said no in one of its forms.
    pub fn is_decline(self) -> bool {
        matches!(self, PartyState::No | PartyState::Later | PartyState::Stop)
    }

    /// snake_case name, as in the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PartyState::Pending => "pending",
            PartyState::Asked => "asked",
            PartyState::FollowedUp => "followed_up",
            PartyState::Yes => "yes",
            PartyState::No => "no",
            PartyState::Later => "later",
            PartyState::Stop => "stop",
            PartyState::Unclear => "unclear",
            PartyState::Bounced => "bounced",
        }
    }
}

impl fmt::Display for PartyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the bot has sent one party: the hard cap. Each flag goes from false
/// to true at most once, and nothing of a kind is sent while its flag is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The consent note.
    pub consent: bool,
    /// The one gentle follow-up.
    pub follow_up: bool,
    /// A thank-you after a no, or a "nothing more needed" note.
    pub closing: bool,
    /// The introduction itself.
    pub introduction: bool,
}

/// One party of an intro.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Who they are.
    pub person: Person,
    /// Secret of their reply address.
    pub token: Token,
    /// Where they stand.
    pub state: PartyState,
    /// What the bot has sent them (the cap).
    pub sent: Sent,
    /// Message-ID of their latest reply, so our next note threads under it.
    #[serde(default)]
    pub last_reply_id: Option<MessageId>,
    /// Visible text of their latest reply, for the connector and `show`.
    #[serde(default)]
    pub reply_text: Option<String>,
    /// What the connector marked for this party to read (`For Bob: …`);
    /// the rest of the connector's note is never shown to a party.
    #[serde(default)]
    pub marked: String,
    /// How their yes was given, once they said yes: the introduction's
    /// words must be true to it.
    #[serde(default)]
    pub yes_by: Option<ConsentBy>,
    /// A reply through their address from another sender, held until the
    /// connector says it is theirs; they are not chased meanwhile.
    #[serde(default)]
    pub held: Option<HeldReply>,
    /// The return date their out-of-office gave; no follow-up before it.
    #[serde(default)]
    pub away_until: Option<Date>,
    /// Their copy of the introduction bounced: they never read it. The
    /// intro stays `introduced` (both did say yes, and it went out); this
    /// records that it did not reach them.
    #[serde(default)]
    pub introduction_bounced: bool,
    /// The words that came with their yes, for the introduction to quote:
    /// their yes reply, the held reply accepted as theirs, or the unclear
    /// reply the connector counted as a yes. A later unclear reply that
    /// puts the yes in doubt does not replace them, so when the connector
    /// says the yes stands, the introduction quotes the yes, never the
    /// doubtful reply. `None` before any yes (and in intros stored before
    /// this was kept: then their latest reply stands in).
    #[serde(default)]
    pub yes_words: Option<String>,
}

impl Party {
    fn new(person: Person, token: Token, marked: String) -> Self {
        Self {
            person,
            token,
            state: PartyState::Pending,
            sent: Sent::default(),
            last_reply_id: None,
            reply_text: None,
            marked,
            yes_by: None,
            held: None,
            away_until: None,
            introduction_bounced: false,
            yes_words: None,
        }
    }

    /// Their own words beyond a bare yes or no, when the reply that came
    /// with their yes had any ("Yes! Happy to, mornings are best."), for
    /// the introduction.
    pub fn own_words(&self) -> Option<&str> {
        let text = self.yes_words.as_deref().or(self.reply_text.as_deref())?.trim();
        (!is_bare_answer(text)).then_some(text)
    }
}

/// Whether `text` says nothing beyond a yes (or is empty): "Yes, sure,
/// happy to!", "Ja, gerne! Danke.", "Yes, with pleasure."
pub fn is_bare_answer(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .filter(|w| !w.is_empty())
        .all(|w| BARE_WORDS.contains(&w.replace('’', "'").to_lowercase().as_str()))
}

/// Words that add nothing to a yes: "Yes, sure, happy to!" says only yes.
const BARE_WORDS: &[&str] = &[
    "i",
    "i'd",
    "i'm",
    "i'll",
    "am",
    "be",
    "would",
    "will",
    "love",
    "delighted",
    "very",
    "much",
    "so",
    "all",
    "right",
    "alright",
    "fine",
    "cool",
    "perfect",
    "certainly",
    "indeed",
    "count",
    "me",
    "in",
    "with",
    "pleasure",
    "it",
    "that",
    "that's",
    "for",
    "the",
    "a",
    "asking",
    "danke",
    "dank",
    "merci",
    "gracias",
    "grazie",
    "obrigado",
    "obrigada",
    "bedankt",
    "tack",
    "dziękuję",
    "спасибо",
    "natürlich",
    "klar",
    "bien",
    "sûr",
    "sur",
    "con",
    "gusto",
    "piacere",
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "of",
    "course",
    "definitely",
    "absolutely",
    "happy",
    "glad",
    "to",
    "please",
    "thanks",
    "thank",
    "you",
    "sounds",
    "good",
    "great",
    "go",
    "ahead",
    "ja",
    "oui",
    "sí",
    "si",
    "sim",
    "gerne",
    "gern",
    "avec",
    "plaisir",
    "claro",
    "certo",
    "volentieri",
    "graag",
    "gärna",
    "tak",
    "chętnie",
    "да",
];

/// How a party's yes was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentBy {
    /// Their own reply (also one from another address the connector
    /// confirmed as theirs).
    Own,
    /// The request counted as the requester's yes (`[consent] requester =
    /// "implied"`).
    Implied,
    /// The connector decided for them after a reply the bot could not read.
    Connector,
}

impl ConsentBy {
    /// snake_case name, for templates.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentBy::Own => "own",
            ConsentBy::Implied => "implied",
            ConsentBy::Connector => "connector",
        }
    }
}

/// Mail that came through a party's reply address from another sender.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldReply {
    /// Who sent it, when the mail said.
    pub from: Option<Address>,
    /// Its visible text.
    pub text: String,
    /// What its words amount to, should the connector say it is theirs.
    pub decision: Decision,
}

/// Where the whole intro stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntroState {
    /// Waiting for one or both parties.
    AwaitingConsent,
    /// Both said yes; the introduction went out.
    Introduced,
    /// A party said no, not now, or never.
    Declined,
    /// Nobody answered in time.
    Expired,
    /// The connector called it off.
    Cancelled,
    /// A party's address bounced.
    Failed,
}

impl IntroState {
    /// Every state, for `list --state` and help texts.
    pub const ALL: [IntroState; 6] = [
        IntroState::AwaitingConsent,
        IntroState::Introduced,
        IntroState::Declined,
        IntroState::Expired,
        IntroState::Cancelled,
        IntroState::Failed,
    ];

    /// No event moves it any further.
    pub fn is_terminal(self) -> bool {
        self != IntroState::AwaitingConsent
    }

    /// snake_case name, as in the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            IntroState::AwaitingConsent => "awaiting_consent",
            IntroState::Introduced => "introduced",
            IntroState::Declined => "declined",
            IntroState::Expired => "expired",
            IntroState::Cancelled => "cancelled",
            IntroState::Failed => "failed",
        }
    }
}

impl fmt::Display for IntroState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for IntroState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IntroState::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = IntroState::ALL.iter().map(|s| s.as_str()).collect();
            format!("unknown state {s:?}; expected one of {}", names.join(", "))
        })
    }
}

/// Which timer is pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// Send the one follow-up to whoever is silent.
    FollowUp,
    /// Give up on whoever is still silent (or on a preview nobody
    /// answered).
    Expire,
}

/// The intro's single pending timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// When it is due.
    pub at: Timestamp,
    /// What happens then.
    pub kind: DeadlineKind,
}

/// One line of an intro's history, for `introbot show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When it happened.
    pub at: Timestamp,
    /// What happened, in a few words.
    pub what: String,
}

/// Everything needed to open an intro; the caller resolved the people and
/// made the id and tokens.
#[derive(Clone, Debug)]
pub struct NewIntro {
    /// Fresh id.
    pub id: IntroId,
    /// Who asked the bot.
    pub connector: Person,
    /// Secret for the connector's reply address (cancel, decide).
    pub connector_token: Token,
    /// Who wants the intro.
    pub requester: Person,
    /// Secret for the requester's reply address.
    pub requester_token: Token,
    /// Who they want to meet.
    pub target: Person,
    /// Secret for the target's reply address.
    pub target_token: Token,
    /// The requester's own words about who they are and why.
    pub summary: String,
    /// The connector's note: why this target, anything else. Private.
    pub note: String,
    /// What the connector marked in it for the requester to read.
    pub for_requester: String,
    /// What the connector marked in it for the target to read.
    pub for_target: String,
    /// Message-ID of the connector's request, to thread our answers under it.
    pub request_message_id: Option<MessageId>,
    /// What the bot had to guess reading the request.
    pub guesses: Vec<Guess>,
    /// Show the connector what each party would read and wait for `send`
    /// before writing to anyone.
    pub preview: bool,
}

/// One introduction and everything that happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intro {
    /// Its id.
    pub id: IntroId,
    /// Where it stands.
    pub state: IntroState,
    /// Who asked for it and hears how it ends.
    pub connector: Person,
    /// Secret of the connector's reply address.
    pub connector_token: Token,
    /// The person who wants the intro.
    pub requester: Party,
    /// The person they want to meet.
    pub target: Party,
    /// The requester's summary, passed to the target.
    pub summary: String,
    /// The connector's note.
    pub note: String,
    /// Message-ID of the request, so our mail to the connector threads.
    pub request_message_id: Option<MessageId>,
    /// When the bot accepted the request.
    pub created_at: Timestamp,
    /// The pending timer, if any.
    pub deadline: Option<Deadline>,
    /// Inbound Message-IDs already acted on: the same mail twice is a no-op.
    #[serde(default)]
    pub handled_messages: BTreeSet<MessageId>,
    /// History for people.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    /// The connector was shown a preview and nobody has been written to
    /// until they say `send`.
    #[serde(default)]
    pub awaiting_send: bool,
    /// What the bot had to guess reading the request, for the connector.
    #[serde(default)]
    pub guesses: Vec<Guess>,
    /// The connector was shown a preview (and has seen the guesses).
    #[serde(default)]
    pub previewed: bool,
}

impl Intro {
    pub(crate) fn from_new(new: NewIntro, now: Timestamp) -> Self {
        Self {
            id: new.id,
            state: IntroState::AwaitingConsent,
            connector: new.connector,
            connector_token: new.connector_token,
            requester: Party::new(new.requester, new.requester_token, new.for_requester),
            target: Party::new(new.target, new.target_token, new.for_target),
            summary: new.summary,
            note: new.note,
            request_message_id: new.request_message_id,
            created_at: now,
            deadline: None,
            handled_messages: BTreeSet::new(),
            timeline: Vec::new(),
            awaiting_send: false,
            guesses: new.guesses,
            previewed: new.preview,
        }
    }

    /// The party on `role`'s side.
    pub fn party(&self, role: Role) -> &Party {
        match role {
            Role::Requester => &self.requester,
            Role::Target => &self.target,
        }
    }

    /// The party on `role`'s side, mutably.
    pub fn party_mut(&mut self, role: Role) -> &mut Party {
        match role {
            Role::Requester => &mut self.requester,
            Role::Target => &mut self.target,
        }
    }

    /// The parties the intro is still waiting for.
    pub fn waiting_for(&self) -> Vec<Role> {
        Role::BOTH.into_iter().filter(|r| self.party(*r).state.is_waiting()).collect()
    }

    /// The parties whose answer waits on the connector: an unclear reply,
    /// or a reply from another address held for them.
    pub fn for_connector_to_decide(&self) -> Vec<Role> {
        Role::BOTH
            .into_iter()
            .filter(|r| {
                let p = self.party(*r);
                p.state.is_waiting() && (p.state == PartyState::Unclear || p.held.is_some())
            })
            .collect()
    }

    /// How it ended, in a few words for a note ("declined", "expired"): a
    /// preview that expired unanswered ended before anyone was asked, and
    /// says so ("preview unanswered").
    pub fn how_it_ended(&self) -> String {
        let asked = Role::BOTH.iter().any(|r| self.party(*r).sent.consent);
        if self.state == IntroState::Expired && !asked {
            return "preview unanswered".to_owned();
        }
        self.state.as_str().replace('_', " ")
    }

    /// A one-line subject tag: "Alice <> Bob".
    pub fn title(&self) -> String {
        format!("{} <> {}", self.requester.person.display_name(), self.target.person.display_name())
    }
}
