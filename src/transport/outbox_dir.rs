//! The "send nothing" transport: each email becomes one `.eml` file in a
//! directory, named after its Message-ID, for a person or a pickup agent to
//! take (read, then remove or move away). Only `*.eml` files are for them.
//!
//! A file is published at most once, even across crashes, so a consumer
//! that already took it never sees it again. Sending goes in three steps,
//! driven by the engine's drain:
//!
//! 1. [`OutboxDir::stage`] writes the message to `NAME.eml.tmp` (hidden
//!    from consumers); a crash here leaves a stale `.tmp` that the next
//!    attempt overwrites.
//! 2. [`OutboxDir::sync`] makes every staged file durable with one `syncfs`
//!    and hands back their names; the engine then removes those emails from
//!    its outbox and records the names as *being published*, in one store
//!    transaction, and syncs the store.
//! 3. [`OutboxDir::publish`] renames each `NAME.eml.tmp` to `NAME.eml`. A
//!    crash in the middle is finished by the next process, which publishes
//!    the recorded names again: a name whose `.tmp` is gone was published
//!    already (and maybe taken), and is skipped.
//!
//! So an email is either still queued (and only its hidden `.tmp` may
//! exist) or recorded as written with its file durable; it is never written
//! twice under the public name. Staged files a crash left unrecorded (an
//! email still queued, or one of an inbox batch that was never synced and
//! is handled afresh, under a new Message-ID) are removed after the first
//! publish of each process: a queued email is staged again when sent. The cost over writing the file in place is
//! the one rename each file needed anyway, done a little later, and one
//! `syncfs` per batch of up to 1,024 files instead of a sync per file.
//!
//! The directory is 0700 and every file 0600: they are mail about people.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{SendError, TransportError};
use crate::compose::Composed;
use crate::failpoint::{self, Point};

/// The suffix of a staged, not yet published file.
const STAGED: &str = ".tmp";

/// A directory receiving `.eml` files.
#[derive(Debug)]
pub(crate) struct OutboxDir {
    path: PathBuf,
    /// Names staged since the last [`OutboxDir::sync`].
    staged: Vec<String>,
    /// Whether names a previous process (or a failed publish) recorded may
    /// still wait to be published; cleared by a successful publish.
    unsure: bool,
    /// Whether stale staged files were removed (after the first publish).
    swept: bool,
}

impl OutboxDir {
    /// Creates the directory if needed.
    pub(crate) fn open(path: &Path) -> Result<Self, TransportError> {
        // Mail about people: readable by the bot's user alone.
        crate::private::make_private_dir(path)
            .map_err(|source| TransportError::OutboxDir { path: path.to_owned(), source })?;
        Ok(Self { path: path.to_owned(), staged: Vec::new(), unsure: true, swept: false })
    }

    /// The published file's name for an email: its Message-ID, made safe.
    fn name_for(email: &Composed) -> String {
        let safe: String = email
            .message_id
            .as_str()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') { c } else { '_' })
            .collect();
        format!("{safe}.eml")
    }

    /// Step 1: writes the email under its hidden staging name.
    pub(super) fn stage(&mut self, email: &Composed) -> Result<(), SendError> {
        let name = self.stager().stage(email)?;
        self.staged.push(name);
        Ok(())
    }

    /// Step 1 for another thread: a [`Stager`] writes staged files that
    /// only [`OutboxDir::sync_dir`] makes durable; the caller keeps their
    /// names.
    pub(super) fn stager(&self) -> Stager {
        Stager { path: self.path.clone() }
    }

    /// Step 2 for files a [`Stager`] wrote: makes them durable (with
    /// everything else staged in the directory).
    pub(super) fn sync_dir(&self) -> Result<(), SendError> {
        let dir = std::fs::File::open(&self.path)
            .map_err(|e| SendError::Transient(format!("cannot open {}: {e}", self.path.display())))?;
        rustix::fs::syncfs(&dir).map_err(|e| SendError::Transient(format!("cannot sync {}: {e}", self.path.display())))
    }

    /// Step 2: makes every staged file durable; returns their names, to be
    /// recorded as being published. On failure the names are dropped: their
    /// emails stay queued and are staged again.
    pub(super) fn sync(&mut self) -> Result<Vec<String>, SendError> {
        let names = std::mem::take(&mut self.staged);
        self.sync_dir()?;
        Ok(names)
    }

    /// Whether recorded names may still wait to be published: at start,
    /// and after a failed [`OutboxDir::publish`].
    pub(super) fn unsure(&self) -> bool {
        self.unsure
    }

    /// Says that recorded names may wait to be published (a [`Stager`]
    /// failed to publish them).
    pub(super) fn make_unsure(&mut self) {
        self.unsure = true;
    }

    /// Step 3: publishes staged files recorded as written; names whose
    /// staged file is gone were published before and are skipped.
    pub(super) fn publish(&mut self, names: &[String]) -> Result<(), SendError> {
        self.unsure = true;
        publish_in(&self.path, names)?;
        self.unsure = false;
        if !self.swept {
            self.swept = true;
            self.sweep();
        }
        Ok(())
    }

    /// Removes staged files nothing will publish: everything staged before
    /// this process but what it just published (and what it staged itself
    /// and has not yet synced). Only files a crash left behind; failing to
    /// remove one costs disk space, not mail, so it is logged and skipped.
    fn sweep(&self) {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(dir = %self.path.display(), error = %e, "cannot look for stale staged files");
                return;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(STAGED)) else { continue };
            if self.staged.iter().any(|s| s == stem) {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::debug!(file = %entry.path().display(), "removed a stale staged file"),
                Err(e) => {
                    tracing::warn!(file = %entry.path().display(), error = %e, "cannot remove a stale staged file")
                }
            }
        }
    }
}

/// Step 3 in `dir`: renames each name's staged file to the name, skipping
/// names whose staged file is gone (published before).
fn publish_in(dir: &Path, names: &[String]) -> Result<(), SendError> {
    for name in names {
        let from = dir.join(format!("{name}{STAGED}"));
        match std::fs::rename(&from, dir.join(name)) {
            Ok(()) => failpoint::hit(Point::OutboxPublished),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(SendError::Transient(format!("cannot publish {}: {e}", from.display())));
            }
        }
    }
    Ok(())
}

/// Writes staged files into an outbox directory from any thread (step 1),
/// and publishes them (step 3) once the directory's owner has synced and
/// recorded them.
#[derive(Debug, Clone)]
pub(crate) struct Stager {
    path: PathBuf,
}

impl Stager {
    /// Writes the email under its hidden staging name; returns the name it
    /// will be published under.
    pub(crate) fn stage(&self, email: &Composed) -> Result<String, SendError> {
        let name = OutboxDir::name_for(email);
        let tmp = self.path.join(format!("{name}{STAGED}"));
        // The envelope, as a delivery agent would record it, then the
        // message: one write (the file is unbuffered).
        let to: Vec<&str> = email.recipients.iter().map(|r| r.as_str()).collect();
        let head = format!("Return-Path: <{}>\r\nEnvelope-To: {}\r\n", email.envelope_from, to.join(", "));
        let mut file = Vec::with_capacity(head.len() + email.bytes.len());
        file.extend_from_slice(head.as_bytes());
        file.extend_from_slice(&email.bytes);
        let write = || crate::private::create_private_file(&tmp)?.write_all(&file);
        write().map_err(|e| SendError::Transient(format!("cannot write {}: {e}", tmp.display())))?;
        Ok(name)
    }

    /// Step 3 from another thread, for names the store recorded as being
    /// published: as [`OutboxDir::publish`], but the owner must be told of
    /// a failure ([`crate::transport::Transport::make_unsure`]) so that it
    /// publishes the recorded names again before sending more.
    pub(crate) fn publish(&self, names: &[String]) -> Result<(), SendError> {
        publish_in(&self.path, names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(id: &str) -> Composed {
        crate::compose::samples::composed(id)
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_first_publish_removes_staged_files_nothing_will_publish() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sent");
        // A previous process: one email recorded as written, one staged
        // and never recorded (its batch was lost in a crash).
        let mut before = OutboxDir::open(&path).expect("open");
        before.stage(&email("recorded@x")).expect("staged");
        before.stage(&email("lost@x")).expect("staged");
        let recorded = vec![OutboxDir::name_for(&email("recorded@x"))];
        drop(before);

        let mut now = OutboxDir::open(&path).expect("open");
        assert!(now.unsure());
        now.publish(&recorded).expect("published");
        assert_eq!(files(&path), ["recorded@x.eml"]);
        // Later publishes leave what this process staged alone.
        now.stage(&email("next@x")).expect("staged");
        now.publish(&[]).expect("published");
        assert_eq!(files(&path), ["next@x.eml.tmp", "recorded@x.eml"]);
        let names = now.sync().expect("synced");
        now.publish(&names).expect("published");
        assert_eq!(files(&path), ["next@x.eml", "recorded@x.eml"]);
    }
}
