//! The "send nothing" transport: each email becomes one `.eml` file in a
//! directory, named after its Message-ID, so writing it twice leaves one
//! file. Written to a temporary name, then renamed: a reader never sees half
//! a message. Durability is batched: [`OutboxDir::sync`] syncs the whole
//! file system once, and the engine removes emails from its outbox only
//! after that (one `syncfs` instead of one `fdatasync` per email). The
//! directory is 0700 and every file 0600: they are mail about people.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{SendError, TransportError};
use crate::compose::Composed;

/// A directory receiving `.eml` files.
#[derive(Debug)]
pub(crate) struct OutboxDir {
    path: PathBuf,
}

impl OutboxDir {
    /// Creates the directory if needed.
    pub(crate) fn open(path: &Path) -> Result<Self, TransportError> {
        // Mail about people: readable by the bot's user alone.
        crate::private::make_private_dir(path)
            .map_err(|source| TransportError::OutboxDir { path: path.to_owned(), source })?;
        Ok(Self { path: path.to_owned() })
    }

    /// The file an email is written to.
    pub(crate) fn file_for(&self, email: &Composed) -> PathBuf {
        let safe: String = email
            .message_id
            .as_str()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') { c } else { '_' })
            .collect();
        self.path.join(format!("{safe}.eml"))
    }

    /// Makes every file written so far durable.
    pub(super) fn sync(&self) -> Result<(), SendError> {
        let dir = std::fs::File::open(&self.path)
            .map_err(|e| SendError::Transient(format!("cannot open {}: {e}", self.path.display())))?;
        rustix::fs::syncfs(&dir).map_err(|e| SendError::Transient(format!("cannot sync {}: {e}", self.path.display())))
    }

    pub(super) fn send(&self, email: &Composed) -> Result<(), SendError> {
        let path = self.file_for(email);
        let tmp = path.with_extension("eml.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = crate::private::create_private_file(&tmp)?;
            // The envelope, as a delivery agent would record it.
            let to: Vec<&str> = email.recipients.iter().map(|r| r.as_str()).collect();
            write!(f, "Return-Path: <{}>\r\nEnvelope-To: {}\r\n", email.envelope_from, to.join(", "))?;
            f.write_all(&email.bytes)?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| SendError::Transient(format!("cannot write {}: {e}", path.display())))
    }
}
