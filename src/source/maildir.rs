//! A Maildir as the inbox: new mail is any file in `new/` or `cur/`; a
//! handled message is moved into the Maildir++ folder `.introbot.processed`,
//! `.introbot.ignored` or `.introbot.failed` (each a Maildir of its own),
//! which mail clients show as `introbot/processed` and so on.
//!
//! A file that vanishes between listing and reading (another client took
//! it) is skipped; a file that cannot be read is left in place and logged.

use std::path::{Path, PathBuf};

use crate::store::Disposition;

/// What can go wrong with a Maildir.
#[derive(Debug, thiserror::Error)]
pub enum MaildirError {
    /// The directory is missing or unreadable.
    #[error("maildir {}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A Maildir inbox.
#[derive(Debug, Clone)]
pub(crate) struct Maildir {
    root: PathBuf,
}

/// One waiting message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    /// Its file.
    pub path: PathBuf,
    /// Its size in bytes, when listed (a message too big is never read).
    pub size: u64,
}

impl Maildir {
    /// Opens a Maildir, creating `new/`, `cur/` and `tmp/` if missing.
    pub(crate) fn open(root: &Path) -> Result<Self, MaildirError> {
        for sub in ["new", "cur", "tmp"] {
            let p = root.join(sub);
            std::fs::create_dir_all(&p).map_err(|source| MaildirError::Io { path: p, source })?;
        }
        Ok(Self { root: root.to_owned() })
    }

    /// Waiting messages, oldest first (Maildir names start with the
    /// delivery time, so name order within equal mtimes is delivery order).
    pub(crate) fn pending(&self) -> Result<Vec<Pending>, MaildirError> {
        let mut found: Vec<(std::time::SystemTime, PathBuf, u64)> = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.root.join(sub);
            let entries = std::fs::read_dir(&dir).map_err(|source| MaildirError::Io { path: dir.clone(), source })?;
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_file() {
                    found.push((meta.modified().unwrap_or(std::time::UNIX_EPOCH), path, meta.len()));
                }
            }
        }
        found.sort();
        Ok(found.into_iter().map(|(_, path, size)| Pending { path, size }).collect())
    }

    /// Reads a message; `Ok(None)` when it disappeared meanwhile.
    pub(crate) fn read(&self, p: &Pending) -> Result<Option<Vec<u8>>, MaildirError> {
        // The listing gave the size: no `stat` for it again (one more byte
        // lets the read that finds the end need no second allocation).
        let read = std::fs::File::open(&p.path).and_then(|mut f| {
            let hint = usize::try_from(p.size).unwrap_or(0).min(64 << 20);
            let mut bytes = Vec::with_capacity(hint.saturating_add(1));
            std::io::Read::read_to_end(&mut f, &mut bytes).map(|_| bytes)
        });
        match read {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(MaildirError::Io { path: p.path.clone(), source }),
        }
    }

    /// The folder a disposition files into.
    pub(crate) fn folder(&self, d: Disposition) -> PathBuf {
        Self::folder_of(&self.root, d)
    }

    /// The folder a disposition files into, in the Maildir at `root`
    /// (without opening it).
    pub(crate) fn folder_of(root: &Path, d: Disposition) -> PathBuf {
        root.join(format!(".introbot.{}", d.as_str()))
    }

    /// Files a handled message into its folder's `cur/`, marked seen.
    pub(crate) fn file(&self, p: &Pending, d: Disposition) -> Result<(), MaildirError> {
        let folder = self.folder(d);
        let name = p.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let base = name.split(":2,").next().unwrap_or(&name);
        let dest = folder.join("cur").join(format!("{base}:2,S"));
        // One rename when the folder is there (every message but the first
        // of each folder); its `cur`, `new` and `tmp` made when it is not.
        match std::fs::rename(&p.path, &dest) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !p.path.exists() => return Ok(()),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(MaildirError::Io { path: p.path.clone(), source: e });
            }
            Err(_) => {}
        }
        for sub in ["cur", "new", "tmp"] {
            let dir = folder.join(sub);
            if !dir.exists() {
                std::fs::create_dir_all(&dir).map_err(|source| MaildirError::Io { path: dir, source })?;
            }
        }
        match std::fs::rename(&p.path, &dest) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(MaildirError::Io { path: p.path.clone(), source }),
        }
    }

    /// Delivers a message into `new/` the way an MDA does (tmp, then
    /// rename); used by the demo, tests and benchmarks.
    pub(crate) fn deliver(&self, raw: &[u8], unique: &str) -> Result<PathBuf, MaildirError> {
        let name = format!("{}.{unique}.introbot", jiff::Timestamp::now().as_millisecond());
        let tmp = self.root.join("tmp").join(&name);
        let new = self.root.join("new").join(&name);
        std::fs::write(&tmp, raw).map_err(|source| MaildirError::Io { path: tmp.clone(), source })?;
        std::fs::rename(&tmp, &new).map_err(|source| MaildirError::Io { path: new.clone(), source })?;
        Ok(new)
    }
}
