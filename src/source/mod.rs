//! Where inbound mail comes from: a Maildir on this machine, or an IMAP
//! mailbox. A source hands out raw messages and, once their effects are
//! committed and flushed, files each one away by what became of it
//! (`introbot/processed`, `introbot/ignored`, `introbot/failed`).

pub(crate) mod imap;
pub(crate) mod maildir;

use std::fmt;

pub(crate) use maildir::Maildir;

/// A message's IMAP UID in the selected mailbox: stable while the
/// mailbox's [`UidValidity`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Uid(u32);

impl Uid {
    /// Wraps a UID the server gave.
    pub(crate) fn new(uid: u32) -> Self {
        Self(uid)
    }

    /// The number, for IMAP commands.
    pub(crate) fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A mailbox's UIDVALIDITY: when it changes, every UID before it is void.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct UidValidity(u32);

impl UidValidity {
    /// Wraps a UIDVALIDITY the server gave.
    pub(crate) fn new(validity: u32) -> Self {
        Self(validity)
    }

    /// The number, for the store.
    pub(crate) fn get(self) -> u32 {
        self.0
    }
}
