//! `introbot check`: is everything in place for the daemon to run? Each
//! check prints one line, `ok` or `FAIL` with the reason; the result is
//! true only when all passed.

use crate::compose::Composer;
use crate::config::{Config, SourceConfig, TransportConfig};
use crate::store::Store;
use crate::transport::Smtp;

/// Runs the checks, printing one line each; true when all passed.
pub async fn run(config: &Config) -> bool {
    let mut ok = true;
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
                    s.logout().await;
                }
                Err(e) => line(false, e.to_string()),
            }
        }
    }
    match &config.transport {
        TransportConfig::OutboxDir { path } => line(true, format!("outbox directory {}", path.display())),
        TransportConfig::Sendmail { command } => {
            line(command.exists(), format!("sendmail {}", command.display()));
        }
        TransportConfig::Smtp(server) => match Smtp::new(server) {
            Ok(smtp) => match smtp.check().await {
                Ok(()) => line(true, format!("smtp {}:{} login as {}", server.host, server.port, server.username)),
                Err(e) => line(false, format!("smtp login as {}: {e}", server.username)),
            },
            Err(e) => line(false, e.to_string()),
        },
    }
    ok
}
