//! A local sendmail-compatible program (Postfix, Exim, msmtp…): the message
//! on stdin, the envelope as arguments. Exit codes follow sysexits(3):
//! 75 (EX_TEMPFAIL) and the system errors are transient; a bad address or
//! host, or no permission, is permanent.
//!
//! A run that takes longer than the configured timeout is killed with its
//! whole process group (Postfix's sendmail hands over to postdrop) and counts
//! as a transient failure: a hung sendmail must not stall the daemon until
//! the watchdog kills it.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Child;

use super::SendError;
use crate::compose::Composed;

/// A sendmail program.
#[derive(Debug)]
pub(crate) struct Sendmail {
    command: PathBuf,
    timeout: Duration,
}

impl Sendmail {
    /// Uses `command` (usually `/usr/sbin/sendmail`), killed after `timeout`.
    pub(crate) fn new(command: PathBuf, timeout: Duration) -> Self {
        Self { command, timeout }
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
            // Its own process group, so a timeout kills what it started too.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| SendError::Transient(format!("cannot run {}: {e}", self.command.display())))?;
        let finished = tokio::time::timeout(self.timeout, self.feed(&mut child, &email.bytes)).await;
        let (status, stderr) = match finished {
            Ok(result) => result?,
            Err(_) => {
                kill_group(&mut child).await;
                return Err(SendError::Transient(format!(
                    "{} did not finish within {:?}; killed it and its children",
                    self.command.display(),
                    self.timeout
                )));
            }
        };
        if status.success() {
            return Ok(());
        }
        let reason = format!("{} exited with {status}: {}", self.command.display(), stderr.trim());
        match status.code() {
            // EX_USAGE..EX_NOHOST, EX_NOPERM: this email will never go.
            Some(64..=68 | 77) => Err(SendError::Permanent(reason)),
            _ => Err(SendError::Transient(reason)),
        }
    }

    /// Writes the message, then waits for the exit status and stderr.
    async fn feed(&self, child: &mut Child, bytes: &[u8]) -> Result<(ExitStatus, String), SendError> {
        if let Some(mut stdin) = child.stdin.take() {
            // A sendmail that refuses a recipient may exit before reading the
            // message; then its exit status, not the broken pipe, says why.
            if let Err(e) = stdin.write_all(bytes).await
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(SendError::Transient(format!("writing to {}: {e}", self.command.display())));
            }
        }
        let mut stderr = Vec::new();
        if let Some(mut pipe) = child.stderr.take() {
            // Unreadable stderr only costs the error message its detail.
            let _ = pipe.read_to_end(&mut stderr).await;
        }
        let status = child
            .wait()
            .await
            .map_err(|e| SendError::Transient(format!("waiting for {}: {e}", self.command.display())))?;
        Ok((status, String::from_utf8_lossy(&stderr).into_owned()))
    }
}

/// SIGKILL to the child's process group, then reap the child.
async fn kill_group(child: &mut Child) {
    let group = child.id().and_then(|id| i32::try_from(id).ok()).and_then(rustix::process::Pid::from_raw);
    if let Some(group) = group {
        // ESRCH: everyone in the group is gone already.
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    let _ = child.kill().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Composed {
        let address = |a: &str| crate::core::Address::parse(a).expect("valid");
        Composed {
            message_id: crate::core::MessageId::new("m@example.com"),
            kind: crate::core::EmailKind::Acknowledgement,
            role: None,
            about: None,
            subject: "s".into(),
            envelope_from: address("intros@example.com"),
            recipients: vec![address("bob@example.org")],
            bytes: b"Subject: s\r\n\r\nhi\r\n".to_vec(),
            note_token: None,
        }
    }

    fn script(dir: &std::path::Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("sendmail");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
    }

    #[tokio::test]
    async fn a_hung_sendmail_is_killed_with_its_children_and_the_send_is_transient() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("child.pid");
        let command = script(dir.path(), &format!("sleep 60 &\necho $! > {}\nwait", pidfile.display()));
        let sendmail = Sendmail::new(command, Duration::from_millis(500));
        let started = std::time::Instant::now();
        let err = sendmail.send(&email()).await.expect_err("times out");
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        assert!(matches!(&err, SendError::Transient(m) if m.contains("did not finish")), "{err:?}");
        let child: i32 = std::fs::read_to_string(&pidfile).expect("pid written").trim().parse().expect("a pid");
        for _ in 0..50 {
            if !alive(child) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("sendmail's child {child} outlived the timeout");
    }

    #[tokio::test]
    async fn exit_codes_decide_transient_or_permanent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let send = |body: &str| {
            let sendmail = Sendmail::new(script(dir.path(), body), Duration::from_secs(10));
            async move { sendmail.send(&email()).await }
        };
        assert_eq!(send("cat >/dev/null").await, Ok(()));
        assert!(
            matches!(send("echo 'no such user' >&2; exit 67").await, Err(SendError::Permanent(m)) if m.contains("no such user"))
        );
        assert!(matches!(send("exit 75").await, Err(SendError::Transient(_))));
    }
}
