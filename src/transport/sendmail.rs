//! A local sendmail-compatible program (Postfix, Exim, msmtp…): the message
//! on stdin, the envelope as arguments. Exit codes follow sysexits(3):
//! 75 (EX_TEMPFAIL) and the system errors are transient; a bad address or
//! host, or no permission, is permanent.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::SendError;
use crate::compose::Composed;

/// A sendmail program.
#[derive(Debug)]
pub struct Sendmail {
    command: PathBuf,
}

impl Sendmail {
    /// Uses `command` (usually `/usr/sbin/sendmail`).
    pub fn new(command: PathBuf) -> Self {
        Self { command }
    }

    pub(super) async fn send(&self, email: &Composed) -> Result<(), SendError> {
        let mut child = tokio::process::Command::new(&self.command)
            .arg("-i")
            .arg("-f")
            .arg(email.envelope_from.as_str())
            .arg("--")
            .args(email.recipients.iter().map(|r| r.as_str()))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SendError::Transient(format!("cannot run {}: {e}", self.command.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A sendmail that refuses a recipient may exit before reading the
            // message; then its exit status, not the broken pipe, says why.
            if let Err(e) = stdin.write_all(&email.bytes).await
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(SendError::Transient(format!("writing to {}: {e}", self.command.display())));
            }
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| SendError::Transient(format!("waiting for {}: {e}", self.command.display())))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let reason = format!("{} exited with {}: {stderr}", self.command.display(), out.status);
        match out.status.code() {
            // EX_USAGE..EX_NOHOST, EX_NOPERM: this email will never go.
            Some(64..=68 | 77) => Err(SendError::Permanent(reason)),
            _ => Err(SendError::Transient(reason)),
        }
    }
}
