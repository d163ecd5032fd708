//! `introbot check`: is everything in place for the daemon to run? Each
//! check prints one line, `ok` or `FAIL` with the reason; the result is
//! true only when all passed.
//!
//! It passes before the first start and while the daemon runs: a store,
//! Maildir or outbox directory that does not exist yet is one the daemon
//! (or systemd's `StateDirectory=`) creates, and a store held by a daemon
//! that answers on its control socket for this config is in use, not
//! broken. Nothing is created here, and an existing store is opened as its
//! owner: `check` is run as root, and a root-owned file in the service's
//! state directory would lock the service out.

use std::path::Path;

use lettre::message::Mailbox;

use crate::compose::Composer;
use crate::config::{Config, SourceConfig, TransportConfig};
use crate::core::{Address, EmailKind, MessageId};
use crate::error::Chain;
use crate::store::{Store, StoreError};
use crate::transport::{Smtp, Transport};

/// Runs the checks, printing one line each; true when all passed.
pub async fn run(config: &Config) -> bool {
    let mut ok = true;
    let mut imap_session: Option<crate::source::imap::ImapSource> = None;
    let mut transport_ok = false;
    let mut line = |passed: bool, what: String| {
        println!("{} {what}", if passed { "ok  " } else { "FAIL" });
        ok &= passed;
    };
    line(true, format!("config {}", config.path.display()));
    match Composer::new(config) {
        Ok(_) => line(true, "templates render".into()),
        Err(e) => line(false, format!("templates: {}", Chain(&e))),
    }
    let (passed, what) = check_store(config);
    line(passed, what);
    match &config.source {
        SourceConfig::Maildir { path, .. } => {
            let (passed, what) = check_dir(path, &["new", "cur", "tmp"]);
            line(passed, format!("maildir {what}"));
        }
        SourceConfig::Imap(imap) => {
            let server = format!("imap {}:{} as {}", imap.server.host, imap.server.port, imap.server.username);
            match crate::source::imap::ImapSource::connect(imap).await {
                Ok(s) => {
                    line(
                        true,
                        format!("{server}: logged in, mailbox {} selected, {}", imap.mailbox, s.capability_summary()),
                    );
                    imap_session = Some(s);
                }
                Err(e) => line(false, Chain(&e).to_string()),
            }
        }
    }
    match &config.transport {
        TransportConfig::OutboxDir { path } => {
            let (passed, what) = check_dir(path, &[]);
            line(passed, format!("outbox directory {what}"));
        }
        TransportConfig::Sendmail { command, timeout } => {
            transport_ok = is_executable(command);
            line(
                transport_ok,
                format!(
                    "sendmail {}{}, killed after {timeout:?} (under the systemd unit's sandbox a setgid sendmail such as Postfix's cannot deliver: prefer [smtp] to the local MTA)",
                    command.display(),
                    if transport_ok { "" } else { " is not an executable file" }
                ),
            );
        }
        TransportConfig::Smtp(server) => match Smtp::new(server) {
            Ok(smtp) => {
                let who = if server.login { format!("login as {}", server.username) } else { "without login".into() };
                match smtp.check().await {
                    Ok(()) => {
                        transport_ok = true;
                        line(true, format!("smtp {}:{} {who}", server.host, server.port));
                    }
                    Err(e) => line(false, format!("smtp {who}: {}", Chain(&e))),
                }
            }
            Err(e) => line(false, Chain(&e).to_string()),
        },
    }
    let headers = recent_headers(config, imap_session.as_mut()).await;
    match security(config, &headers) {
        (Some(passed), what) => line(passed, what),
        (None, what) => println!("warn {what}"),
    }
    if let Some(mut session) = imap_session {
        if transport_ok {
            match probe_plus_addressing(config, &mut session).await {
                Ok(msg) => line(true, msg),
                Err(msg) => line(false, msg),
            }
        }
        session.logout().await;
    }
    ok
}

/// The store: openable, in use by the daemon serving this config, or not
/// there yet (created on first start).
fn check_store(config: &Config) -> (bool, String) {
    let dir = &config.data_dir;
    if !dir.exists() {
        return (true, format!("store {}: will be created on first start", dir.display()));
    }
    if let Err(e) = crate::control::become_store_owner(dir) {
        return (false, format!("store {}: {e}", dir.display()));
    }
    match Store::open(dir) {
        Ok(_) => (true, format!("store {}", dir.display())),
        Err(StoreError::Locked { .. }) => {
            let socket = crate::control::socket_path(config);
            if crate::control::serves(&socket, config) {
                (
                    true,
                    format!(
                        "store {}: in use by the running service (control socket {})",
                        dir.display(),
                        socket.display()
                    ),
                )
            } else {
                (
                    false,
                    format!(
                        "store {}: locked by another process, and no daemon answers for it on {} or {}",
                        dir.display(),
                        crate::control::SERVICE_SOCKET,
                        config.data_dir.join("introbot.sock").display()
                    ),
                )
            }
        }
        Err(e) => (false, Chain(&e).to_string()),
    }
}

/// A directory the daemon reads or writes: there with the given
/// subdirectories, or missing (the daemon creates it on first start).
fn check_dir(path: &Path, subdirs: &[&str]) -> (bool, String) {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (true, format!("{}: will be created on first start", path.display()))
        }
        Err(e) => (false, format!("{}: {e}", path.display())),
        Ok(meta) if !meta.is_dir() => (false, format!("{}: not a directory", path.display())),
        Ok(_) => match subdirs.iter().find(|sub| !path.join(sub).is_dir()) {
            None => (true, path.display().to_string()),
            Some(sub) => (true, format!("{}: {sub}/ will be created on first start", path.display())),
        },
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How many of the newest messages per folder `check` reads the headers of.
const RECENT: usize = 20;

/// The header blocks of recent mail: the newest in the mailbox and in
/// `introbot/processed` (what the daemon already handled), over IMAP or
/// from the Maildir.
async fn recent_headers(config: &Config, session: Option<&mut crate::source::imap::ImapSource>) -> Vec<Vec<u8>> {
    use crate::store::Disposition;
    match (&config.source, session) {
        (SourceConfig::Imap(imap), Some(session)) => {
            let folders = [imap.mailbox.clone(), session.folder_for(Disposition::Processed)];
            session.recent_headers(&folders, RECENT).await.unwrap_or_default()
        }
        (SourceConfig::Maildir { path, .. }, _) => {
            let processed = crate::source::Maildir::folder_of(path, Disposition::Processed);
            let dirs = [path.join("new"), path.join("cur"), processed.join("cur")];
            let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = dirs
                .iter()
                .filter_map(|d| std::fs::read_dir(d).ok())
                .flatten()
                .flatten()
                .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                .collect();
            files.sort();
            files
                .iter()
                .rev()
                .take(2 * RECENT)
                .filter_map(|(_, p)| {
                    use std::io::Read as _;
                    let mut head = Vec::new();
                    std::fs::File::open(p).ok()?.take(64 * 1024).read_to_end(&mut head).ok()?;
                    Some(head)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// What `[security]` means with this server: `Some(passed)` for an ok or
/// FAIL line, `None` for a warning that does not fail the check.
fn security(config: &Config, headers: &[Vec<u8>]) -> (Option<bool>, String) {
    use crate::mail::auth::{Require, trusted_results};
    let parsed: Vec<mail_parser::Message<'_>> =
        headers.iter().filter_map(|h| mail_parser::MessageParser::default().parse(h.as_slice())).collect();
    let mut seen: Vec<String> = Vec::new();
    for msg in &parsed {
        for h in msg.headers().iter().filter(|h| h.name == mail_parser::HeaderName::AuthenticationResults) {
            let raw = msg.raw_message().get(h.offset_start as usize..h.offset_end as usize).unwrap_or_default();
            if let Some(ar) = crate::mail::auth::parse_authentication_results(&String::from_utf8_lossy(raw))
                && !seen.contains(&ar.authserv_id)
            {
                seen.push(ar.authserv_id);
            }
        }
    }
    let seen_text = if seen.is_empty() { "none".to_owned() } else { seen.join(", ") };
    let policy = &config.security;
    let Some(id) = policy.authserv_id.as_deref() else {
        return (
            None,
            format!(
                "security: no [security] authserv_id, so anyone who can forge a connector's From address can start \
                 intros; Authentication-Results ids in recent mail: {seen_text}"
            ),
        );
    };
    if policy.require == Require::None {
        return (
            None,
            format!("security: require = \"none\": {id}'s results are not checked, so a forged From can start intros"),
        );
    }
    if parsed.is_empty() {
        return (
            None,
            format!(
                "security: no mail yet to see whether {id} adds Authentication-Results; without them every request \
                 fails require = \"{}\"",
                policy.require.as_str()
            ),
        );
    }
    let with = parsed.iter().filter(|m| !trusted_results(m, id).is_empty()).count();
    // What the bot would do with each: pass, or start nothing.
    let passing = parsed
        .iter()
        .filter(|m| {
            let from = m.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default();
            crate::mail::auth::verify(m, from, policy) == crate::mail::auth::Verdict::Pass
        })
        .count();
    if with == 0 {
        return (
            Some(false),
            format!(
                "security: none of the {} newest messages has Authentication-Results from {id} (ids seen: {seen_text}); \
                 every request would fail require = \"{}\": set authserv_id to your receiving server's name",
                parsed.len(),
                policy.require.as_str()
            ),
        );
    }
    (
        Some(true),
        format!(
            "security: {with} of the {} newest messages carry Authentication-Results from {id}, {passing} of them \
             passing {}; a connector's mail must pass it to start an intro, a party's to count",
            parsed.len(),
            policy.require.as_str()
        ),
    )
}

/// Sends a probe to `bot+check-TOKEN@domain` and waits for it in the
/// mailbox (or already filed as ignored by a running daemon): replies come
/// back through plus-addresses, so without them nothing works.
async fn probe_plus_addressing(
    config: &Config,
    session: &mut crate::source::imap::ImapSource,
) -> Result<String, String> {
    let token = crate::tokens::new_token().map_err(|e| Chain(&e).to_string())?;
    let to = config
        .reply_address(&format!("check-{}", token.as_str().get(..10).unwrap_or_default()))
        .map_err(|e| Chain(&e).to_string())?;
    let domain = config.address.domain();
    let message_id = MessageId::new(format!("check.{}@{domain}", token.as_str()));
    let mailbox = |a: &Address| Mailbox::new(None, a.lettre().clone());
    let message = lettre::Message::builder()
        .from(mailbox(&config.address))
        .to(mailbox(&to))
        .subject("introbot check: plus-addressing probe (safe to delete)")
        .message_id(Some(message_id.bracketed()))
        .raw_header(lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .body("introbot check sent this to itself to see that plus-addressed mail arrives.\n".to_owned())
        .map_err(|e| Chain(&e).to_string())?;
    let probe = crate::compose::Composed {
        note_token: None,
        message_id: message_id.clone(),
        kind: EmailKind::Probe,
        role: None,
        about: None,
        subject: "probe".into(),
        envelope_from: config.address.clone(),
        recipients: vec![to.clone()],
        bytes: message.formatted(),
    };
    let mut transport = Transport::from_config(&config.transport).map_err(|e| Chain(&e).to_string())?;
    transport
        .send(&probe)
        .await
        .map_err(|e| format!("plus-addressing: cannot send the probe to {to}: {}", Chain(&e)))?;
    let folders = match &config.source {
        SourceConfig::Imap(imap) => vec![imap.mailbox.clone(), session.folder_for(crate::store::Disposition::Ignored)],
        SourceConfig::Maildir { .. } => Vec::new(),
    };
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(30) {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if session.take_probe(&message_id, &folders).await.map_err(|e| Chain(&e).to_string())? {
            return Ok(format!("plus-addressing: mail to {to} arrived in {:.1} s", start.elapsed().as_secs_f64()));
        }
    }
    Err(format!(
        "plus-addressing: mail to {to} did not arrive in 30 s; replies come back to such addresses, so make the server deliver {}+anything@{domain} to this mailbox",
        config.address.local_part()
    ))
}
