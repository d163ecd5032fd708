//! Passwords: never in the config file itself, but named by it, as an
//! environment variable (`password_env`), a file (`password_file`) or a
//! systemd credential (`password_credential`: `$CREDENTIALS_DIRECTORY/NAME`
//! inside the service, the admin's file in [`super::credentials_dir`]
//! elsewhere). The loader reads what is named ([`super::Outside`]); this
//! module only picks the value and keeps it out of logs.

use std::fmt;

/// A password, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the login call only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The password in a credentials file: its content without the final line
/// break an editor or `echo` adds.
pub(super) fn from_file(text: &str) -> Secret {
    Secret::new(text.trim_end_matches(['\r', '\n']))
}

/// Whether `name` can name a credential: a plain file name (systemd's
/// rule), so it never reaches outside the credentials directory.
pub(super) fn is_credential_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A password written into the config file itself (`password = "…"` in
/// any section), which the file's format has no place for: the key
/// (`imap.password`) and its 1-based line.
pub(super) fn password_in_text(text: &str) -> Option<(String, usize)> {
    let mut section = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        let Some((key, _)) = line.split_once('=') else { continue };
        let key = key.trim().trim_matches('"').to_ascii_lowercase();
        if matches!(key.as_str(), "password" | "pass" | "passwd" | "secret") {
            let dotted = if section.is_empty() { key } else { format!("{section}.{key}") };
            return Some((dotted, n + 1));
        }
    }
    None
}

/// Why a config file with a password in it is refused.
pub(super) fn password_in_file_message(world_readable: bool) -> String {
    let exposed = if world_readable {
        " This file is readable by every user on this machine, so treat the password as known: change it."
    } else {
        ""
    };
    format!(
        "passwords never go in the config file; name them with password_env = \"VARIABLE\" or \
         password_file = \"/path\" (mode 600), then remove this line.{exposed}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_file_is_found_with_its_key_and_line() {
        let text = "[bot]\naddress = \"a@b.c\"\n[imap]\nhost = \"h\"\n password = \"hunter2\"\n";
        assert_eq!(password_in_text(text), Some(("imap.password".into(), 5)));
        assert_eq!(password_in_text("[imap]\npassword_env = \"X\"\n"), None);
        assert!(password_in_file_message(true).contains("change it"));
        assert!(!password_in_file_message(false).contains("change it"));
    }

    #[test]
    fn a_secret_never_shows_in_debug_output_and_loses_only_its_line_break() {
        let s = from_file("hunter2 \n");
        assert_eq!(s.expose(), "hunter2 ");
        assert_eq!(format!("{s:?}"), "Secret(…)");
    }

    #[test]
    fn credential_names_stay_inside_their_directory() {
        assert!(is_credential_name("imap") && is_credential_name("smtp.pw") && is_credential_name("a_b-c"));
        for bad in ["", ".", "..", "../imap", "a/b", ".hidden", "imap pw"] {
            assert!(!is_credential_name(bad), "{bad:?}");
        }
    }
}
