//! Files only the bot's own user may read. The store holds reply tokens
//! (capabilities: whoever has one speaks for a party) and the outbox holds
//! mail about people, so both live in directories of mode 0700 with files
//! of mode 0600, whatever the umask of whoever started the bot.
//!
//! The binary also sets its umask to 077 at start (`src/main.rs`), which
//! covers files sled creates later (snapshots, blobs); these functions make
//! sure of it for what exists, including stores made by older versions.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of directories the bot creates.
pub(crate) const DIR_MODE: u32 = 0o700;
/// Mode of files the bot creates.
pub(crate) const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) and makes it owner-only (0700),
/// and the files directly in it and in its `blobs/` (sled's) 0600. Other
/// directories inside (a Maildir or an outbox kept in the data directory)
/// are left alone, and so are files of another user: they are not the
/// bot's to change. Symbolic links are never followed.
pub(crate) fn make_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))?;
    restrict_files(dir, true)
}

fn restrict_files(dir: &Path, top: bool) -> io::Result<()> {
    let me = rustix::process::geteuid().as_raw();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let meta = entry.metadata()?;
        if meta.uid() != me {
            continue;
        }
        if kind.is_dir() && top && entry.file_name() == "blobs" {
            std::fs::set_permissions(entry.path(), Permissions::from_mode(DIR_MODE))?;
            restrict_files(&entry.path(), false)?;
        } else if kind.is_file() {
            let mode = meta.permissions().mode() & 0o777;
            if mode & !FILE_MODE != 0 {
                std::fs::set_permissions(entry.path(), Permissions::from_mode(mode & FILE_MODE))?;
            }
        }
    }
    Ok(())
}

/// Creates (or truncates) a file readable and writable by the owner only.
pub(crate) fn create_private_file(path: &Path) -> io::Result<File> {
    // A new file gets `mode` (less the umask, which can only take bits
    // away): owner-only without a chmod, one syscall less for each of the
    // outbox's many files.
    match OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        created => return created,
    }
    // An existing one keeps its mode unless told.
    let file = OpenOptions::new().write(true).truncate(true).open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_made_world_readable_becomes_owner_only_and_its_neighbours_are_left_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("state");
        for sub in ["blobs", "Maildir/new"] {
            std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        }
        for f in ["db", "conf", "blobs/1", "Maildir/new/1"] {
            std::fs::write(dir.join(f), b"x").expect("write");
            std::fs::set_permissions(dir.join(f), Permissions::from_mode(0o644)).expect("chmod");
        }
        std::fs::set_permissions(dir.join("blobs"), Permissions::from_mode(0o755)).expect("chmod");
        make_private_dir(&dir).expect("restricts");
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("blobs")), 0o700);
        for f in ["db", "conf", "blobs/1"] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
        assert_eq!(mode(&dir.join("Maildir/new/1")), 0o644, "a Maildir in the data directory is not the store's");
        let file = dir.join("new.eml");
        std::fs::write(&file, b"old").expect("write");
        std::fs::set_permissions(&file, Permissions::from_mode(0o666)).expect("chmod");
        drop(create_private_file(&file).expect("create"));
        assert_eq!(mode(&file), 0o600, "an existing file is made private too");
        assert_eq!(std::fs::read(&file).expect("read"), b"", "and emptied");
        let fresh = dir.join("fresh.eml");
        drop(create_private_file(&fresh).expect("create"));
        assert_eq!(mode(&fresh), 0o600, "a new file is private from the start");
    }
}
