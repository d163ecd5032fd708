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

#[cfg(test)]
mod tests {
    use super::*;

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
