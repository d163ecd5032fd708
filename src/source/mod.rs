//! Where inbound mail comes from: a Maildir on this machine, or an IMAP
//! mailbox. A source hands out raw messages and, once their effects are
//! committed and flushed, files each one away by what became of it
//! (`introbot/processed`, `introbot/ignored`, `introbot/failed`).

pub mod imap;
pub mod maildir;

pub use maildir::Maildir;
