//! The sled store: intros, their indexes, timers, the suppression list,
//! processed inbound mail, and the outbox.
//!
//! Trees:
//! - `intros`: intro number → intro (JSON); an intro's number and its id
//!   map to each other ([`intro_key`]), and the store hands out numbers in
//!   order, so new intros are written at the end of the tree;
//! - `tokens`: reply token → intro id and whose token it is, for tokens
//!   made before schema 4 (since, a token starts with its intro's id and
//!   needs no entry: [`crate::tokens`]);
//! - `sent_ids`: Message-ID of an email queued → intro id (for replies
//!   that lost their token but kept `In-Reply-To`), for Message-IDs made
//!   before schema 4 (since, they too start with the intro's id);
//! - `deadlines`: due time (ms, big-endian) ‖ intro id → (), so due timers
//!   are a range scan from the start, never a full scan;
//! - `processed`: inbound Message-ID → what was done with it (dedupe);
//! - `suppressed`: canonical address → when (older records: the address
//!   lowercased as written);
//! - `outbox`: sequence number (big-endian) → email ready to send;
//! - `emails`: intro number ‖ sequence number → what one step queued, for
//!   `show` (since schema 4 a list; before, one email per record);
//! - `meta`: schema version, where the IMAP source stopped, the files
//!   an outbox directory may still have to publish, the key of intro ids
//!   and where their numbers stand;
//! - `ledger`: what the bot did to whom and when, for the limits
//!   ([`ledger`]);
//! - `notes`: notes to a connector outside any intro, by their reply token
//!   (`t` ‖ token) and by their Message-ID (`m` ‖ id), so an answer to one
//!   is known as an answer to the bot;
//! - `summaries`: intro number → what `list` shows of it ([`summary`]),
//!   written with the intro.
//!
//! [`Store::commit`] writes an intro, its emails, its index and timer
//! changes and the processed marker in **one** transaction: after a crash
//! either all of it happened or none (the inbox pipeline's sealed batches
//! get the same from a redo record instead: [`redo`]). sled only syncs to
//! disk every 500 ms, so callers [`Store::flush`] before anything outside
//! depends on a commit (sending its emails, moving the inbound message
//! away).
//!
//! Nothing outside this module knows it is sled.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

mod intro_key;
mod ledger;
mod redo;
mod summary;

use intro_key::IntroKeys;

pub(crate) use intro_key::LETTERS as INTRO_ID_LETTERS;
pub(crate) use ledger::{Counted, LedgerEntry};
pub(crate) use summary::IntroSummary;

use crate::compose::Composed;
use crate::core::{Address, EmailKind, Intro, IntroId, IntroState, MessageId, Role, Token};
use crate::source::{Uid, UidValidity};

/// The schema this build writes. 2: every intro has its summary
/// ([`summary`]); an introbot that knows only 1 would write intros without
/// them, so it must refuse such a store. 3: intros are keyed by their
/// numbers ([`intro_key`]); one that knows only 2 would not find them.
/// 4: new tokens and Message-IDs name their intro and have no index
/// entries, and a step's emails are one record; one that knows only 3
/// would not find the intro of a reply.
pub(crate) const SCHEMA_VERSION: u32 = 4;

/// `meta` key: the file names a batched transport wrote and may not have
/// published yet (JSON list).
const BEING_PUBLISHED: &str = "being_published";

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store.
    #[error("the store at {path} is locked by another process; is introbot already running?")]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// The store was written by a newer introbot.
    #[error(
        "the store at {path} was written by a newer introbot (schema {found}, this build knows {supported}); upgrade introbot"
    )]
    NewerSchema {
        /// The data directory.
        path: PathBuf,
        /// Its schema version.
        found: u32,
        /// Ours.
        supported: u32,
    },
    /// A record could not be decoded.
    #[error("corrupt record in the store ({what}): {detail}")]
    Corrupt {
        /// Which record.
        what: String,
        /// The decoder's message.
        detail: String,
    },
    /// The file system under the store failed: full, read-only, gone.
    /// Nothing committed since the last sync can be trusted; the daemon
    /// reopens the store once it works again.
    #[error("cannot write the store at {}", path.display())]
    Io {
        /// The data directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// sled failed.
    #[error("store error at {}", path.display())]
    Sled {
        /// The data directory.
        path: PathBuf,
        /// sled's error.
        source: sled::Error,
    },
}

impl StoreError {
    /// Whether the file system failed (a full disk, say): worth waiting
    /// for and reopening the store, unlike a corrupt or newer store.
    pub fn is_io(&self) -> bool {
        matches!(self, StoreError::Io { .. })
    }

    fn from_sled(path: &Path, error: sled::Error) -> StoreError {
        match error {
            sled::Error::Io(source) => StoreError::Io { path: path.to_owned(), source },
            source => StoreError::Sled { path: path.to_owned(), source },
        }
    }
}

/// Whose reply address a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenOwner {
    /// A party of the intro.
    Party(Role),
    /// The connector who asked for it.
    Connector,
}

#[derive(Serialize, Deserialize)]
struct TokenRecord {
    intro: IntroId,
    owner: TokenOwner,
}

/// Whether a token starts with the id of `intro`, whose record then finds
/// it ([`Store::by_token`]), so it needs no `tokens` entry.
fn names_intro(token: &Token, intro: &IntroId) -> bool {
    crate::tokens::intro_of_token(token) == Some(intro.as_str())
}

/// An intro's tokens and whose each is.
fn tokens_of(intro: &Intro) -> [(&Token, TokenOwner); 3] {
    [
        (&intro.connector_token, TokenOwner::Connector),
        (&intro.requester.token, TokenOwner::Party(Role::Requester)),
        (&intro.target.token, TokenOwner::Party(Role::Target)),
    ]
}

/// Whose of `intro`'s tokens `token` is, compared in constant time (all
/// three, whichever matches).
fn owner_of(intro: &Intro, token: &Token) -> Option<TokenOwner> {
    let same = tokens_of(intro).map(|(own, owner)| (crate::tokens::same_token(own.as_str(), token.as_str()), owner));
    same.into_iter().find_map(|(same, owner)| same.then_some(owner))
}

/// A note the bot sent a connector outside any intro.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NoteRecord {
    /// To whom.
    pub to: Address,
    /// Its Message-ID.
    pub message_id: MessageId,
    /// When it was queued.
    pub at: Timestamp,
}

fn note_key(tag: u8, id: &str) -> Vec<u8> {
    let mut key = vec![tag, 0];
    key.extend_from_slice(id.as_bytes());
    key
}

/// What became of one inbound message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Processed {
    /// When.
    pub at: Timestamp,
    /// `processed`, `ignored` or `failed`: also the folder it is filed in.
    pub disposition: Disposition,
    /// The intro it touched, if any.
    pub intro: Option<IntroId>,
    /// Why, in a few words.
    pub note: String,
}

/// Where an inbound message is filed once handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Disposition {
    /// It was for us and acted on (or answered).
    Processed,
    /// Not for us: unknown sender, automatic mail, duplicates.
    Ignored,
    /// Could not be read.
    Failed,
}

impl Disposition {
    /// The folder name under `introbot/`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Disposition::Processed => "processed",
            Disposition::Ignored => "ignored",
            Disposition::Failed => "failed",
        }
    }
}

/// An email waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutboxEntry {
    /// The intro it belongs to, if any.
    pub intro: Option<IntroId>,
    /// The email.
    pub email: Composed,
    /// When it was queued.
    pub queued_at: Timestamp,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not before this time (backoff after a transient failure).
    #[serde(default)]
    pub not_before: Option<Timestamp>,
}

/// One email the bot queued for an intro, for `introbot show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SentEmail {
    /// When it was queued.
    pub at: Timestamp,
    /// Which kind.
    pub kind: EmailKind,
    /// Its recipients.
    pub to: Vec<Address>,
    /// Its subject.
    pub subject: String,
    /// Its Message-ID.
    pub message_id: MessageId,
    /// The party a note to the connector is about (an unclear or held
    /// reply); none in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<Role>,
}

/// An email's place in the outbox queue: sled's monotonic id, stored
/// big-endian so that key order is queue order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct OutboxSeq(u64);

impl OutboxSeq {
    /// Before every queued email.
    pub(crate) const FIRST: OutboxSeq = OutboxSeq(0);

    /// The sequence number right after this one.
    pub(crate) fn next(self) -> OutboxSeq {
        OutboxSeq(self.0.saturating_add(1))
    }

    pub(super) fn key(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    fn from_key(key: &[u8]) -> Result<OutboxSeq, StoreError> {
        <[u8; 8]>::try_from(key).map(|b| OutboxSeq(u64::from_be_bytes(b))).map_err(|_| StoreError::Corrupt {
            what: "outbox key".into(),
            detail: format!("{} bytes, not 8", key.len()),
        })
    }
}

impl std::fmt::Display for OutboxSeq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An `emails` key: the intro's prefix ([`IntroKeys::emails_prefix`]) and
/// the email's place in the outbox.
fn email_key(prefix: &[u8], seq: OutboxSeq) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&seq.key());
    key
}

/// A `deadlines` key split into its due time (ms) and intro id.
fn split_deadline_key(key: &[u8]) -> Result<(u64, IntroId), StoreError> {
    let corrupt = || StoreError::Corrupt { what: "timer key".into(), detail: format!("{} bytes", key.len()) };
    let (ms, id) = key.split_first_chunk::<8>().ok_or_else(corrupt)?;
    let id = std::str::from_utf8(id).map_err(|_| corrupt())?;
    Ok((u64::from_be_bytes(*ms), IntroId::new(id)))
}

/// An intro as a commit writes it: its keys and its record.
struct IntroRecord {
    /// In `intros` and `summaries`.
    key: Vec<u8>,
    /// Of its emails in `emails`.
    emails: Vec<u8>,
    /// The intro, encoded.
    json: Vec<u8>,
}

/// Everything one step writes, committed together.
#[derive(Debug, Default)]
pub(crate) struct Change {
    /// The intro after the step (new or updated).
    pub intro: Option<Intro>,
    /// Emails to queue.
    pub emails: Vec<Composed>,
    /// The inbound message handled, and what became of it.
    pub processed: Option<(MessageId, Processed)>,
    /// Addresses to suppress.
    pub suppress: Vec<Address>,
    /// What to record for the limits.
    pub ledger: Vec<LedgerEntry>,
}

/// The open store.
#[derive(Debug)]
pub(crate) struct Store {
    path: PathBuf,
    db: sled::Db,
    intros: sled::Tree,
    tokens: sled::Tree,
    sent_ids: sled::Tree,
    deadlines: sled::Tree,
    processed: sled::Tree,
    suppressed: sled::Tree,
    outbox: sled::Tree,
    meta: sled::Tree,
    emails: sled::Tree,
    ledger: sled::Tree,
    notes: sled::Tree,
    summaries: sled::Tree,
    /// The open batch of staged commits, if any (`batch`).
    batch: std::sync::Mutex<Option<batch::Batch>>,
    /// The number the next group of sealed batches gets (`redo`).
    next_group: std::sync::atomic::AtomicU64,
    /// Intro ids and their numbers (`intro_key`).
    intro_keys: IntroKeys,
    /// The number the next new intro gets, unless it is taken.
    next_intro: std::sync::atomic::AtomicU64,
}

fn deadline_key(at: Timestamp, id: &IntroId) -> Vec<u8> {
    let ms = u64::try_from(at.as_millisecond()).unwrap_or(0);
    let mut key = ms.to_be_bytes().to_vec();
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    // Our own plain structs always serialize.
    serde_json::to_vec(v).unwrap_or_default()
}

/// An outbox record: a 4-byte length, the entry as JSON without the
/// message, then the message bytes as they are. Messages are most of the
/// outbox; keeping them out of JSON saves escaping them on every write and
/// unescaping them on every read.
fn encode_outbox(entry: &OutboxEntry) -> Vec<u8> {
    let head = OutboxHead {
        intro: entry.intro.as_ref(),
        email: &entry.email,
        queued_at: entry.queued_at,
        attempts: entry.attempts,
        not_before: entry.not_before,
    };
    head.encode()
}

/// An [`OutboxEntry`] by reference, serialized exactly as one (same fields,
/// same order; the message bytes are never in the JSON): queuing an email
/// encodes it without copying the email first.
#[derive(Serialize)]
pub(super) struct OutboxHead<'a> {
    intro: Option<&'a IntroId>,
    email: &'a Composed,
    queued_at: Timestamp,
    attempts: u32,
    not_before: Option<Timestamp>,
}

impl OutboxHead<'_> {
    /// The outbox record (see [`encode_outbox`]).
    fn encode(&self) -> Vec<u8> {
        let json = to_json(self);
        let bytes = &self.email.bytes;
        let mut out = Vec::with_capacity(4 + json.len() + bytes.len());
        out.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(bytes);
        out
    }
}

fn decode_outbox(v: &[u8]) -> Result<OutboxEntry, String> {
    let mut entry = decode_outbox_head(v)?;
    entry.email.bytes = v.get(4 + head_len(v)?..).ok_or("truncated message")?.to_vec();
    Ok(entry)
}

/// The entry without its message bytes.
fn decode_outbox_head(v: &[u8]) -> Result<OutboxEntry, String> {
    let len = head_len(v)?;
    let json = v.get(4..4 + len).ok_or("truncated header")?;
    serde_json::from_slice(json).map_err(|e| e.to_string())
}

fn head_len(v: &[u8]) -> Result<usize, String> {
    let len = v.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_be_bytes).ok_or("too short")?;
    usize::try_from(len).map_err(|e| e.to_string())
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.to_owned();
        let sled_err = |error: sled::Error| {
            if matches!(error, sled::Error::Io(_)) && is_locked(dir) {
                return StoreError::Locked { path: path.clone() };
            }
            StoreError::from_sled(&path, error)
        };
        // Tokens are capabilities: nobody but the bot's user reads the store.
        crate::private::make_private_dir(dir).map_err(|e| sled_err(sled::Error::Io(e)))?;
        let db =
            sled::Config::new().path(dir).cache_capacity(8 << 20).flush_every_ms(Some(500)).open().map_err(sled_err)?;
        // sled made its files with the process umask; whatever that was,
        // they are owner-only from here on.
        crate::private::make_private_dir(dir).map_err(|e| sled_err(sled::Error::Io(e)))?;
        let tree = |name: &str| db.open_tree(name).map_err(sled_err);
        let meta = tree("meta")?;
        // A new store's schema is written with its summaries' mark, below
        // (`build_summaries`), as is an older store's raised one.
        if let Some(v) = meta.get("schema_version").map_err(sled_err)? {
            let found = <[u8; 4]>::try_from(v.as_ref()).map(u32::from_be_bytes).map_err(|_| StoreError::Corrupt {
                what: "schema_version".into(),
                detail: format!("{} bytes", v.len()),
            })?;
            if found > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema { path: path.clone(), found, supported: SCHEMA_VERSION });
            }
        }
        let (intro_keys, next_intro) = intro_key::open(&meta, sled_err)?;
        let store = Store {
            intros: tree("intros")?,
            tokens: tree("tokens")?,
            sent_ids: tree("sent_ids")?,
            deadlines: tree("deadlines")?,
            processed: tree("processed")?,
            suppressed: tree("suppressed")?,
            outbox: tree("outbox")?,
            emails: tree("emails")?,
            ledger: tree("ledger")?,
            notes: tree("notes")?,
            summaries: tree("summaries")?,
            meta,
            db,
            path,
            batch: std::sync::Mutex::new(None),
            next_group: std::sync::atomic::AtomicU64::new(1),
            intro_keys,
            next_intro: std::sync::atomic::AtomicU64::new(next_intro),
        };
        let redone = store.finish_interrupted_group()?;
        if redone > 0 {
            tracing::info!(writes = redone, "finished writing a group of batches a crash interrupted");
        }
        let built = store.build_summaries()?;
        if built > 0 {
            tracing::info!(intros = built, "built the list summaries of a store from before them, once");
        }
        let numbered = store.number_intros()?;
        if numbered > 0 {
            tracing::info!(intros = numbered, "keyed the intros of a store from before numbers by number, once");
        }
        store.raise_schema()?;
        Ok(store)
    }

    /// Records this build's schema in a store of an older one, synced:
    /// from here on an older introbot refuses it. Called before a one-time
    /// move ([`Store::number_intros`]) and, for a store that needs nothing
    /// moved (schema 4 only adds forms an older introbot cannot read), at
    /// the end of [`Store::open`], before anything else is written.
    pub(super) fn raise_schema(&self) -> Result<(), StoreError> {
        let stored = self.meta.get("schema_version").map_err(|e| self.err(e))?;
        let stored = stored.and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok()).map(u32::from_be_bytes);
        if stored.is_none_or(|v| v < SCHEMA_VERSION) {
            self.meta.insert("schema_version", &SCHEMA_VERSION.to_be_bytes()).map_err(|e| self.err(e))?;
            self.flush()?;
        }
        Ok(())
    }

    fn err(&self, source: sled::Error) -> StoreError {
        StoreError::from_sled(&self.path, source)
    }

    fn decode<T: for<'de> Deserialize<'de>>(what: impl FnOnce() -> String, bytes: &[u8]) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt { what: what(), detail: e.to_string() })
    }

    /// The data directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Makes everything committed so far durable.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }

    /// One intro by id.
    pub(crate) fn intro(&self, id: &IntroId) -> Result<Option<Intro>, StoreError> {
        let Some(key) = self.intro_keys.key(id) else { return Ok(None) };
        match self.read(TreeId::Intros, &key)? {
            Some(v) => Self::decode(|| format!("intro {id}"), &v).map(Some),
            None => Ok(None),
        }
    }

    /// Whether an id is already used.
    pub(crate) fn has_intro(&self, id: &IntroId) -> Result<bool, StoreError> {
        let Some(key) = self.intro_keys.key(id) else { return Ok(false) };
        Ok(self.read(TreeId::Intros, &key)?.is_some())
    }

    /// The intro and owner of a reply token.
    pub(crate) fn by_token(&self, token: &Token) -> Result<Option<(Intro, TokenOwner)>, StoreError> {
        // A token that names its intro: the intro's own tokens decide.
        if let Some(id) = crate::tokens::intro_of_token(token)
            && let Some(intro) = self.intro(&IntroId::new(id))?
            && let Some(owner) = owner_of(&intro, token)
        {
            return Ok(Some((intro, owner)));
        }
        let Some(v) = self.read(TreeId::Tokens, token.as_str().as_bytes())? else {
            return Ok(None);
        };
        let rec: TokenRecord = Self::decode(|| "token index".into(), &v)?;
        let Some(intro) = self.intro(&rec.intro)? else { return Ok(None) };
        // The index found it; the intro's own record decides, compared in
        // constant time.
        let own = match rec.owner {
            TokenOwner::Party(role) => &intro.party(role).token,
            TokenOwner::Connector => &intro.connector_token,
        };
        Ok(crate::tokens::same_token(own.as_str(), token.as_str()).then_some((intro, rec.owner)))
    }

    /// The note outside any intro whose reply token this is.
    pub(crate) fn note_by_token(&self, token: &Token) -> Result<Option<NoteRecord>, StoreError> {
        match self.read(TreeId::Notes, &note_key(b't', token.as_str()))? {
            Some(v) => Self::decode(|| "note index".into(), &v).map(Some),
            None => Ok(None),
        }
    }

    /// The note outside any intro with this Message-ID.
    pub(crate) fn note_by_message_id(&self, id: &MessageId) -> Result<Option<NoteRecord>, StoreError> {
        match self.read(TreeId::Notes, &note_key(b'm', id.as_str()))? {
            Some(v) => Self::decode(|| "note index".into(), &v).map(Some),
            None => Ok(None),
        }
    }

    /// The Message-ID of the consent note sent to `to` in an intro, for
    /// later notes to thread under.
    pub(crate) fn consent_message_id(&self, intro: &IntroId, to: &Address) -> Result<Option<MessageId>, StoreError> {
        Ok(self
            .emails_of(intro)?
            .into_iter()
            .find(|e| e.kind == EmailKind::ConsentRequest && e.to.iter().any(|a| a.same_mailbox(to)))
            .map(|e| e.message_id))
    }

    /// The intro one of our sent Message-IDs belongs to.
    pub(crate) fn by_sent_message_id(&self, message_id: &MessageId) -> Result<Option<Intro>, StoreError> {
        // A Message-ID that names its intro: the intro's record of its
        // emails decides.
        if let Some(id) = crate::tokens::intro_of_message_id(message_id.as_str()) {
            let id = IntroId::new(id);
            if self.emails_of(&id)?.iter().any(|e| e.message_id == *message_id) {
                return self.intro(&id);
            }
        }
        let Some(v) = self.read(TreeId::SentIds, message_id.as_str().as_bytes())? else {
            return Ok(None);
        };
        let id = IntroId::new(String::from_utf8_lossy(&v).into_owned());
        self.intro(&id)
    }

    /// What was done with an inbound message, if it was seen before.
    pub(crate) fn processed(&self, message_id: &MessageId) -> Result<Option<Processed>, StoreError> {
        match self.read(TreeId::Processed, message_id.as_str().as_bytes())? {
            Some(v) => Self::decode(|| format!("processed {message_id}"), &v).map(Some),
            None => Ok(None),
        }
    }

    /// Whether an address asked never to be asked again.
    pub(crate) fn is_suppressed(&self, email: &Address) -> Result<bool, StoreError> {
        for key in suppression_keys(email) {
            if self.read(TreeId::Suppressed, key.as_bytes())?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The suppression list: address and when it was added, sorted.
    pub(crate) fn suppressed(&self) -> Result<Vec<(String, Option<Timestamp>)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.suppressed.iter() {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            out.push((String::from_utf8_lossy(&k).into_owned(), serde_json::from_slice(&v).ok()));
        }
        Ok(out)
    }

    /// Adds an address to the suppression list (an operator's decision).
    pub(crate) fn suppress(&self, email: &Address, now: Timestamp) -> Result<(), StoreError> {
        let change = Change { suppress: vec![email.clone()], ..Change::default() };
        self.commit(&change, now)
    }

    /// Removes an address from the suppression list; false if it was not on it.
    pub(crate) fn unsuppress(&self, email: &Address) -> Result<bool, StoreError> {
        let mut removed = false;
        for key in suppression_keys(email) {
            removed |= self.suppressed.remove(key).map_err(|e| self.err(e))?.is_some();
        }
        Ok(removed)
    }

    /// Ids of intros whose timer is due at `now`, oldest first.
    pub(crate) fn due(&self, now: Timestamp) -> Result<Vec<IntroId>, StoreError> {
        let end = u64::try_from(now.as_millisecond()).unwrap_or(0).saturating_add(1).to_be_bytes();
        let mut ids = Vec::new();
        for kv in self.deadlines.range(..end.as_slice()) {
            let (k, _) = kv.map_err(|e| self.err(e))?;
            ids.push(split_deadline_key(&k)?.1);
        }
        Ok(ids)
    }

    /// The earliest pending timer.
    pub(crate) fn next_deadline(&self) -> Result<Option<Timestamp>, StoreError> {
        let Some((k, _)) = self.deadlines.first().map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let (ms, _) = split_deadline_key(&k)?;
        Ok(Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX)).ok())
    }

    /// All intros, optionally in one state.
    pub(crate) fn intros(&self, state: Option<IntroState>) -> Result<Vec<Intro>, StoreError> {
        let mut found = Vec::new();
        self.each_intro(state, |intro| found.push(intro))?;
        // Oldest first, ties in key order as a stable sort would leave them;
        // the order is found on small pairs and each intro then moved once
        // (sorting the intros themselves moved each of 100,000 many times).
        let mut order: Vec<(Timestamp, usize)> = found.iter().enumerate().map(|(n, i)| (i.created_at, n)).collect();
        order.sort_unstable();
        let mut slots: Vec<Option<Intro>> = found.into_iter().map(Some).collect();
        Ok(order.into_iter().filter_map(|(_, n)| slots.get_mut(n).and_then(Option::take)).collect())
    }

    /// Calls `each` with every intro (optionally only those in one state),
    /// in no particular order, decoding one at a time: `list` keeps a line
    /// per intro, not 100,000 intros.
    pub(crate) fn each_intro(&self, state: Option<IntroState>, mut each: impl FnMut(Intro)) -> Result<(), StoreError> {
        self.scan_all(TreeId::Intros, |k, v| {
            let intro: Intro = Self::decode(|| format!("intro {}", self.intro_keys.id_of_key(k)), v)?;
            if state.is_none_or(|s| s == intro.state) {
                each(intro);
            }
            Ok(())
        })
    }

    /// Emails waiting to be sent, in queue order.
    pub(crate) fn outbox(&self) -> Result<Vec<(OutboxSeq, OutboxEntry)>, StoreError> {
        self.outbox_page(OutboxSeq::FIRST, usize::MAX)
    }

    /// Up to `limit` emails waiting to be sent, from sequence `from` on,
    /// in queue order; memory stays bounded however long the queue is.
    pub(crate) fn outbox_page(
        &self,
        from: OutboxSeq,
        limit: usize,
    ) -> Result<Vec<(OutboxSeq, OutboxEntry)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.outbox.range(from.key()..).take(limit) {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            let seq = OutboxSeq::from_key(&k)?;
            out.push((
                seq,
                decode_outbox(&v)
                    .map_err(|detail| StoreError::Corrupt { what: format!("outbox entry {seq}"), detail })?,
            ));
        }
        Ok(out)
    }

    /// Number of emails waiting.
    pub(crate) fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Removes a sent email from the outbox.
    pub(crate) fn remove_outbox(&self, seq: OutboxSeq) -> Result<(), StoreError> {
        self.outbox.remove(seq.key()).map(|_| ()).map_err(|e| self.err(e))
    }

    /// Removes emails a batched transport has durably written, and records
    /// the names it must still publish, in one transaction: after a crash
    /// either they are still queued or their names are here for
    /// [`Store::being_published`]. Replaces the previous batch's names,
    /// which were published before this batch was written.
    pub(crate) fn forget_written(&self, seqs: &[OutboxSeq], names: &[String]) -> Result<(), StoreError> {
        let names = to_json(&names);
        let result: Result<(), TransactionError<StoreError>> =
            (&self.outbox, &self.meta).transaction(|(outbox, meta)| {
                for seq in seqs {
                    outbox.remove_blind(&seq.key());
                }
                meta.insert_blind(BEING_PUBLISHED, names.as_slice());
                Ok(())
            });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => self.err(e),
        })
    }

    /// The names recorded by the last [`Store::forget_written`].
    pub(crate) fn being_published(&self) -> Result<Vec<String>, StoreError> {
        match self.meta.get(BEING_PUBLISHED).map_err(|e| self.err(e))? {
            Some(v) => Self::decode(|| "outbox names being published".into(), &v),
            None => Ok(Vec::new()),
        }
    }

    /// Puts an outbox entry back with a new attempt count and backoff.
    pub(crate) fn reschedule_outbox(&self, seq: OutboxSeq, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.outbox.insert(seq.key(), encode_outbox(entry)).map(|_| ()).map_err(|e| self.err(e))
    }

    /// Commits one step: the intro, its indexes and timer, its emails, the
    /// processed marker and suppressions, all or nothing.
    pub(crate) fn commit(&self, change: &Change, now: Timestamp) -> Result<(), StoreError> {
        let intro_record = match &change.intro {
            Some(intro) => {
                let Some(key) = self.intro_keys.key(&intro.id) else {
                    return Err(StoreError::Corrupt {
                        what: format!("intro id {:?}", intro.id.as_str()),
                        detail: "not an id".into(),
                    });
                };
                Some(IntroRecord { emails: IntroKeys::emails_prefix(key.clone()), key, json: to_json(intro) })
            }
            None => None,
        };
        if let Some(batch) = self.batch().mine() {
            // Staged in its own layer, merged only when complete.
            let layer = std::cell::RefCell::new(batch::Overlay::default());
            let staged = TreeId::ALL.map(|tree| batch::Staged { store: self, tree, batch, layer: &layer });
            let [a, b, c, d, e, f, g, h, i, j, k] = &staged;
            Self::write_change([a, b, c, d, e, f, g, h, i, j, k], change, intro_record.as_ref(), now).map_err(|e| {
                match e {
                    ConflictableTransactionError::Abort(e) => e,
                    ConflictableTransactionError::Storage(e) => self.err(e),
                    ConflictableTransactionError::Conflict => {
                        StoreError::Corrupt { what: "batch".into(), detail: "conflict outside a transaction".into() }
                    }
                }
            })?;
            batch.overlay.merge(layer.into_inner());
            return Ok(());
        }
        let trees = self.change_trees();
        let result: Result<(), TransactionError<StoreError>> = trees[..].transaction(|tx| {
            let [a, b, c, d, e, f, g, h, i, j, k] = &tx[..] else {
                return Err(ConflictableTransactionError::Abort(StoreError::Corrupt {
                    what: "transaction".into(),
                    detail: "wrong number of trees".into(),
                }));
            };
            Self::write_change([a, b, c, d, e, f, g, h, i, j, k], change, intro_record.as_ref(), now)
        });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => self.err(e),
        })
    }

    /// The trees a change writes, in [`TreeId::ALL`] order.
    fn change_trees(&self) -> [&sled::Tree; 11] {
        TreeId::ALL.map(|t| self.tree(t))
    }

    /// A change's writes, into a sled transaction or the open batch.
    fn write_change<T: batch::ChangeTree>(
        trees: [&T; 11],
        change: &Change,
        intro_record: Option<&IntroRecord>,
        now: Timestamp,
    ) -> batch::TxResult<()> {
        let [intros, tokens, sent_ids, deadlines, processed, suppressed, outbox, emails, ledger, notes, summaries] =
            trees;
        if let (Some(intro), Some(record)) = (&change.intro, intro_record) {
            let previous = intros.insert(&record.key, &record.json)?;
            // With the intro, always: `list` reads only this.
            summaries.put(&record.key, &IntroSummary::encode(intro))?;
            match previous {
                Some(prev) => {
                    let prev: Intro = Self::decode(|| format!("intro {}", intro.id), &prev)
                        .map_err(ConflictableTransactionError::Abort)?;
                    if let Some(d) = prev.deadline {
                        deadlines.remove(&deadline_key(d.at, &intro.id))?;
                    }
                }
                None => {
                    for (token, owner) in tokens_of(intro).into_iter().filter(|(t, _)| !names_intro(t, &intro.id)) {
                        let rec = TokenRecord { intro: intro.id.clone(), owner };
                        tokens.put(token.as_str().as_bytes(), &to_json(&rec))?;
                    }
                }
            }
            if let Some(d) = intro.deadline {
                deadlines.put(&deadline_key(d.at, &intro.id), &[])?;
            }
        }
        let (mut sent, mut first_seq) = (Vec::with_capacity(change.emails.len()), None);
        for email in &change.emails {
            let entry = OutboxHead {
                intro: change.intro.as_ref().map(|i| &i.id),
                email,
                queued_at: now,
                attempts: 0,
                not_before: None,
            };
            let seq = OutboxSeq(outbox.generate_id()?);
            outbox.queue(seq, &entry)?;
            if let (Some(token), [to]) = (&email.note_token, email.recipients.as_slice()) {
                let note = to_json(&NoteRecord { to: to.clone(), message_id: email.message_id.clone(), at: now });
                notes.put(&note_key(b't', token.as_str()), &note)?;
                notes.put(&note_key(b'm', email.message_id.as_str()), &note)?;
            }
            if let Some(intro) = &change.intro {
                if crate::tokens::intro_of_message_id(email.message_id.as_str()) != Some(intro.id.as_str()) {
                    sent_ids.put(email.message_id.as_str().as_bytes(), intro.id.as_str().as_bytes())?;
                }
                first_seq.get_or_insert(seq);
                sent.push(SentEmail {
                    at: now,
                    kind: email.kind,
                    to: email.recipients.clone(),
                    subject: email.subject.clone(),
                    message_id: email.message_id.clone(),
                    about: email.about,
                });
            }
        }
        // One record for the step's emails: one write instead of one each.
        if let (Some(record), Some(seq)) = (intro_record, first_seq) {
            emails.put(&email_key(&record.emails, seq), &to_json(&sent))?;
        }
        if let Some((id, rec)) = &change.processed {
            processed.put(id.as_str().as_bytes(), &to_json(rec))?;
        }
        for email in &change.suppress {
            suppressed.put(email.canonical().as_str().as_bytes(), &to_json(&now))?;
        }
        for entry in &change.ledger {
            ledger::record(ledger, entry, now)?;
        }
        Ok(())
    }

    /// The emails queued for an intro, oldest first.
    pub(crate) fn emails_of(&self, id: &IntroId) -> Result<Vec<SentEmail>, StoreError> {
        let mut out = Vec::new();
        let Some(prefix) = self.intro_keys.key(id).map(IntroKeys::emails_prefix) else { return Ok(out) };
        for (_, v) in self.read_prefix(TreeId::Emails, &prefix)? {
            let what = || format!("email log of {id}");
            if v.first() == Some(&b'[') {
                out.extend(Self::decode::<Vec<SentEmail>>(what, &v)?);
            } else {
                out.push(Self::decode(what, &v)?);
            }
        }
        Ok(out)
    }

    /// Where the IMAP source stopped in `mailbox`: (UIDVALIDITY, last UID).
    /// A record of the wrong length is as good as none: the mailbox is
    /// rescanned, and Message-ID dedupe makes that harmless.
    pub(crate) fn imap_position(&self, mailbox: &str) -> Result<Option<(UidValidity, Uid)>, StoreError> {
        let key = format!("imap:{mailbox}");
        let Some(v) = self.meta.get(key.as_bytes()).map_err(|e| self.err(e))? else { return Ok(None) };
        let Ok(b) = <[u8; 8]>::try_from(v.as_ref()) else { return Ok(None) };
        let [v0, v1, v2, v3, l0, l1, l2, l3] = b;
        Ok(Some((
            UidValidity::new(u32::from_be_bytes([v0, v1, v2, v3])),
            Uid::new(u32::from_be_bytes([l0, l1, l2, l3])),
        )))
    }

    /// Records where the IMAP source stopped in `mailbox`.
    pub(crate) fn set_imap_position(&self, mailbox: &str, validity: UidValidity, last: Uid) -> Result<(), StoreError> {
        let mut v = validity.get().to_be_bytes().to_vec();
        v.extend_from_slice(&last.get().to_be_bytes());
        self.meta.insert(format!("imap:{mailbox}").as_bytes(), v).map(|_| ()).map_err(|e| self.err(e))
    }

    /// Whether the one-time upgrade step `name` has run on this store.
    pub(crate) fn upgrade_done(&self, name: &str) -> Result<bool, StoreError> {
        self.meta.contains_key(format!("upgrade:{name}").as_bytes()).map_err(|e| self.err(e))
    }

    /// Records that the one-time upgrade step `name` has run.
    pub(crate) fn mark_upgrade_done(&self, name: &str) -> Result<(), StoreError> {
        self.meta.insert(format!("upgrade:{name}").as_bytes(), &[]).map(|_| ()).map_err(|e| self.err(e))
    }

    /// When the earliest email backing off after a failure may be retried.
    /// (Emails behind it in the queue wait with it: the server is down.)
    pub(crate) fn next_retry(&self) -> Result<Option<Timestamp>, StoreError> {
        // Called before every wait: read only the small JSON heads, never
        // the message bytes beside them.
        let mut earliest = None;
        for kv in self.outbox.iter().take(1024) {
            let (_, v) = kv.map_err(|e| self.err(e))?;
            let head =
                decode_outbox_head(&v).map_err(|detail| StoreError::Corrupt { what: "outbox entry".into(), detail })?;
            if let Some(t) = head.not_before {
                earliest = Some(earliest.map_or(t, |e: Timestamp| e.min(t)));
            }
        }
        Ok(earliest)
    }
}

/// The keys an address may be suppressed under: its canonical form, and
/// the form older records used (lowercased as written) when it differs.
fn suppression_keys(email: &Address) -> Vec<String> {
    let canonical = email.canonical().as_str().to_owned();
    let legacy = email.as_str().to_ascii_lowercase();
    if legacy == canonical { vec![canonical] } else { vec![canonical, legacy] }
}

/// Whether another handle holds the lock sled takes on `<dir>/db`: the
/// probe takes the same non-blocking exclusive lock and lets it go at once.
fn is_locked(dir: &Path) -> bool {
    let Ok(file) = std::fs::File::open(dir.join("db")) else { return false };
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {
            let _ = rustix::fs::flock(&file, rustix::fs::FlockOperation::Unlock);
            false
        }
        Err(e) => e == rustix::io::Errno::WOULDBLOCK,
    }
}

/// Retries `open` while `locked` says the store is held, for up to five
/// seconds: after this process drops a handle, sled's background flusher
/// lets go of the lock a moment later. Tests reopen in-process; introbot
/// itself opens the store once per process.
#[cfg(test)]
pub(crate) fn when_unlocked<T, E>(mut open: impl FnMut() -> Result<T, E>, locked: impl Fn(&E) -> bool) -> Result<T, E> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match open() {
            Err(e) if locked(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

/// Opens the store in `dir` once an earlier open's lock is gone
/// ([`when_unlocked`]): how the store's tests reopen it.
#[cfg(test)]
pub(crate) fn reopen(dir: &Path) -> Result<Store, StoreError> {
    when_unlocked(|| Store::open(dir), |e| matches!(e, StoreError::Locked { .. }))
}

mod batch;

pub(crate) use batch::Sealed;
use batch::TreeId;

#[cfg(test)]
mod tests;
