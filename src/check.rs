//! `introbot check`: is everything in place for the daemon to run? Each
//! check prints one line, `ok` or `FAIL` with the reason; the result is
//! true only when all passed.

use lettre::message::Mailbox;

use crate::compose::Composer;
use crate::config::{Config, SourceConfig, TransportConfig};
use crate::core::{Address, EmailKind, MessageId};
use crate::store::Store;
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
        Err(e) => line(false, format!("templates: {e}")),
    }
    match Store::open(&config.data_dir) {
        Ok(_) => line(true, format!("store {}", config.data_dir.display())),
        Err(e) => line(false, e.to_string()),
    }
    match &config.source {
        SourceConfig::Maildir { path, .. } => {
            let readable = path.join("new").is_dir() && path.join("cur").is_dir();
            line(readable, format!("maildir {}", path.display()));
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
                Err(e) => line(false, e.to_string()),
            }
        }
    }
    match &config.transport {
        TransportConfig::OutboxDir { path } => line(true, format!("outbox directory {}", path.display())),
        TransportConfig::Sendmail { command } => {
            transport_ok = command.exists();
            line(transport_ok, format!("sendmail {}", command.display()));
        }
        TransportConfig::Smtp(server) => match Smtp::new(server) {
            Ok(smtp) => match smtp.check().await {
                Ok(()) => {
                    transport_ok = true;
                    line(true, format!("smtp {}:{} login as {}", server.host, server.port, server.username));
                }
                Err(e) => line(false, format!("smtp login as {}: {e}", server.username)),
            },
            Err(e) => line(false, e.to_string()),
        },
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

/// Sends a probe to `bot+check-TOKEN@domain` and waits for it in the
/// mailbox (or already filed as ignored by a running daemon): replies come
/// back through plus-addresses, so without them nothing works.
async fn probe_plus_addressing(
    config: &Config,
    session: &mut crate::source::imap::ImapSource,
) -> Result<String, String> {
    let token = crate::tokens::new_token().map_err(|e| e.to_string())?;
    let to = config
        .reply_address(&format!("check-{}", token.as_str().get(..10).unwrap_or_default()))
        .map_err(|e| e.to_string())?;
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
        .map_err(|e| e.to_string())?;
    let probe = crate::compose::Composed {
        message_id: message_id.clone(),
        kind: EmailKind::Probe,
        role: None,
        subject: "probe".into(),
        envelope_from: config.address.clone(),
        recipients: vec![to.clone()],
        bytes: message.formatted(),
    };
    let mut transport = Transport::from_config(&config.transport).map_err(|e| e.to_string())?;
    transport.send(&probe).await.map_err(|e| format!("plus-addressing: cannot send the probe to {to}: {e}"))?;
    let folders = match &config.source {
        SourceConfig::Imap(imap) => vec![imap.mailbox.clone(), session.folder_for(crate::store::Disposition::Ignored)],
        SourceConfig::Maildir { .. } => Vec::new(),
    };
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(30) {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if session.take_probe(&message_id, &folders).await.map_err(|e| e.to_string())? {
            return Ok(format!("plus-addressing: mail to {to} arrived in {:.1} s", start.elapsed().as_secs_f64()));
        }
    }
    Err(format!(
        "plus-addressing: mail to {to} did not arrive in 30 s; replies come back to such addresses, so make the server deliver {}+anything@{domain} to this mailbox",
        config.address.local_part()
    ))
}
