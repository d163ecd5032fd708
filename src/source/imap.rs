//! An IMAP mailbox as the inbox (async-imap on tokio, TLS with rustls).
//!
//! - Connects with implicit TLS, STARTTLS, or plain (loopback only, enforced
//!   by the config), trusting Mozilla's roots plus an optional `ca_file`.
//! - Selects the mailbox and fetches messages by UID, oldest first: those
//!   above the last UID it handled, or all of them when UIDVALIDITY changed
//!   (Message-ID dedupe in the store makes the rescan harmless).
//! - Files each handled message into `introbot/processed`, `…/ignored` or
//!   `…/failed` (created when missing): UID MOVE when offered, else COPY,
//!   `\Deleted` and UID EXPUNGE (or EXPUNGE without UIDPLUS).
//! - Waits with IDLE when offered and enabled, re-issued well within the 29
//!   minutes of RFC 2177; otherwise the caller polls.
//!
//! Every network call has a timeout; any error means "reconnect" to the
//! caller, except a refused login, which a person must fix.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tracing::{Instrument, Span, debug, info, info_span};

use super::{Uid, UidValidity};
use crate::config::{ImapConfig, Security, ServerConfig};
use crate::core::MessageId;
use crate::store::Disposition;

/// How long one IMAP command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong talking to the IMAP server.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// TCP could not be set up.
    #[error("cannot connect to imap {server}")]
    Connect {
        /// `host:port`.
        server: String,
        /// Why.
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error("cannot connect to imap {server}")]
    Tls {
        /// `host:port`.
        server: String,
        /// Why.
        source: TlsError,
    },
    /// The server closed the connection before greeting us.
    #[error("cannot connect to imap {server}: closed before the greeting")]
    NoGreeting {
        /// `host:port`.
        server: String,
    },
    /// The server refused the credentials: a person must fix the config.
    #[error("imap {server} refused the login for {user}: {message}")]
    Login {
        /// `host:port`.
        server: String,
        /// The account.
        user: String,
        /// The server's words.
        message: String,
    },
    /// A command failed or the connection broke.
    #[error("imap {server}: {command} failed")]
    Command {
        /// `host:port`.
        server: String,
        /// The command (`UID FETCH`, `IDLE`, …).
        command: String,
        /// async-imap's error.
        source: async_imap::error::Error,
    },
    /// A command got no answer in time.
    #[error("imap {server}: {command} timed out")]
    TimedOut {
        /// `host:port`.
        server: String,
        /// The command.
        command: String,
    },
}

/// Why TLS could not be set up (for IMAP; lettre does SMTP's own).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The extra CA file cannot be read as PEM.
    #[error("cannot read ca_file {}", path.display())]
    CaFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: rustls::pki_types::pem::Error,
    },
    /// A certificate in the CA file is not usable.
    #[error("ca_file {}: unusable certificate", path.display())]
    Certificate {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: rustls::Error,
    },
    /// rustls refused the settings.
    #[error("TLS setup")]
    Setup(#[source] rustls::Error),
    /// The host is not a name a certificate can be for.
    #[error("{name:?} is not a valid server name")]
    ServerName {
        /// The host.
        name: String,
        /// Why.
        source: rustls::pki_types::InvalidDnsNameError,
    },
    /// The handshake failed (certificate, protocol).
    #[error("TLS")]
    Handshake(#[source] std::io::Error),
}

impl ImapError {
    /// Whether retrying cannot help (wrong credentials).
    pub fn is_permanent(&self) -> bool {
        matches!(self, ImapError::Login { .. })
    }
}

/// A TCP stream, with or without TLS.
#[derive(Debug)]
pub enum MailStream {
    /// Plain TCP (loopback only).
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MailStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

type Session = async_imap::Session<MailStream>;

/// One fetched message.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    /// Its UID in the selected mailbox.
    pub uid: Uid,
    /// The raw message; `None` when it is bigger than the limit the
    /// caller gave (then it was never downloaded).
    pub raw: Option<Vec<u8>>,
    /// Its size as the server reports it (RFC822.SIZE).
    pub size: u64,
}

/// Bytes of message bodies fetched in one batch (at least one message):
/// memory stays bounded however big the waiting mail is.
const BATCH_BYTES: u64 = 64 << 20;

/// A logged-in, selected IMAP connection.
pub(crate) struct ImapSource {
    session: Session,
    /// All but the session, which IDLE takes and gives back.
    at: Selected,
}

/// What is known about the connection and its selected mailbox.
struct Selected {
    span: Span,
    config: ImapConfig,
    label: String,
    uid_validity: UidValidity,
    can_move: bool,
    can_uidplus: bool,
    can_idle: bool,
    delimiter: String,
    created: BTreeSet<String>,
}

impl std::fmt::Debug for ImapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSource").field("server", &self.at.label).field("mailbox", &self.at.config.mailbox).finish()
    }
}

/// Runs one IMAP command with the command timeout.
async fn timed<T>(
    label: &str,
    command: &str,
    fut: impl std::future::Future<Output = Result<T, async_imap::error::Error>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(ImapError::Command { server: label.to_owned(), command: command.to_owned(), source }),
        Err(_) => Err(ImapError::TimedOut { server: label.to_owned(), command: command.to_owned() }),
    }
}

/// A rustls client config trusting Mozilla's roots and `ca_file`.
fn tls_config(server: &ServerConfig) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &server.ca_file {
        let pem = |source| TlsError::CaFile { path: ca.clone(), source };
        for cert in CertificateDer::pem_file_iter(ca).map_err(pem)? {
            roots.add(cert.map_err(pem)?).map_err(|source| TlsError::Certificate { path: ca.clone(), source })?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn tls_wrap(server: &ServerConfig, tcp: TcpStream) -> Result<MailStream, TlsError> {
    let config = tls_config(server)?;
    let name = rustls::pki_types::ServerName::try_from(server.host.clone())
        .map_err(|source| TlsError::ServerName { name: server.host.clone(), source })?;
    let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(TlsError::Handshake)?;
    Ok(MailStream::Tls(Box::new(tls)))
}

impl ImapSource {
    /// Connects, logs in, selects the mailbox and learns the capabilities.
    /// Everything on this connection is logged in one span, `imap`.
    pub(crate) async fn connect(config: &ImapConfig) -> Result<ImapSource, ImapError> {
        let span = info_span!("imap", server = %format!("{}:{}", config.server.host, config.server.port));
        let mut source = Self::log_in(config).instrument(span.clone()).await?;
        source.at.span = span;
        Ok(source)
    }

    /// UIDVALIDITY of the selected mailbox.
    pub(crate) fn uid_validity(&self) -> UidValidity {
        self.at.uid_validity
    }

    /// The span of this connection, for the caller's work on it.
    pub(crate) fn span(&self) -> Span {
        self.at.span.clone()
    }

    async fn log_in(config: &ImapConfig) -> Result<ImapSource, ImapError> {
        let server = &config.server;
        let label = format!("{}:{}", server.host, server.port);
        let tls_err = |source| ImapError::Tls { server: label.clone(), source };
        let tcp = tokio::time::timeout(COMMAND_TIMEOUT, TcpStream::connect((server.host.as_str(), server.port)))
            .await
            .map_err(|_| ImapError::TimedOut { server: label.clone(), command: "connect".into() })?
            .map_err(|source| ImapError::Connect { server: label.clone(), source })?;
        let client = match server.security {
            Security::Tls => {
                let mut client = async_imap::Client::new(tls_wrap(server, tcp).await.map_err(tls_err)?);
                greeting(&mut client, &label).await?;
                client
            }
            Security::Plain => {
                let mut client = async_imap::Client::new(MailStream::Plain(tcp));
                greeting(&mut client, &label).await?;
                client
            }
            Security::Starttls => {
                let mut client = async_imap::Client::new(MailStream::Plain(tcp));
                greeting(&mut client, &label).await?;
                timed(&label, "STARTTLS", client.run_command_and_check_ok("STARTTLS", None)).await?;
                let MailStream::Plain(tcp) = client.into_inner() else {
                    // Only a plain stream was made above.
                    return Err(ImapError::NoGreeting { server: label });
                };
                async_imap::Client::new(tls_wrap(server, tcp).await.map_err(tls_err)?)
            }
        };
        let login = tokio::time::timeout(COMMAND_TIMEOUT, client.login(&server.username, server.password.expose()))
            .await
            .map_err(|_| ImapError::TimedOut { server: label.clone(), command: "LOGIN".into() })?;
        let mut session = match login {
            Ok(s) => s,
            Err((async_imap::error::Error::No(message), _)) | Err((async_imap::error::Error::Bad(message), _)) => {
                return Err(ImapError::Login { server: label, user: server.username.clone(), message });
            }
            Err((source, _)) => return Err(ImapError::Command { server: label, command: "LOGIN".into(), source }),
        };
        let caps = timed(&label, "CAPABILITY", session.capabilities()).await?;
        let (can_move, can_uidplus, can_idle) = (caps.has_str("MOVE"), caps.has_str("UIDPLUS"), caps.has_str("IDLE"));
        let delimiter = {
            let names: Vec<async_imap::types::Name> =
                timed(&label, "LIST", async { session.list(Some(""), Some("\"\"")).await?.try_collect().await })
                    .await?;
            names.first().and_then(|n| n.delimiter().map(str::to_owned)).unwrap_or_else(|| "/".into())
        };
        let mailbox = timed(&label, "SELECT", session.select(&config.mailbox)).await?;
        let uid_validity = UidValidity::new(mailbox.uid_validity.unwrap_or(0));
        debug!(user = %server.username, "logged in");
        info!(mailbox = %config.mailbox, uid_validity = uid_validity.get(), can_move, can_idle, "imap connected");
        let at = Selected {
            span: Span::none(),
            config: config.clone(),
            label,
            uid_validity,
            can_move,
            can_uidplus,
            can_idle,
            delimiter,
            created: BTreeSet::new(),
        };
        Ok(ImapSource { session, at })
    }

    /// "IDLE, MOVE, UIDPLUS" as offered, for `introbot check`.
    pub(crate) fn capability_summary(&self) -> String {
        let caps = [("IDLE", self.at.can_idle), ("MOVE", self.at.can_move), ("UIDPLUS", self.at.can_uidplus)];
        let have: Vec<&str> = caps.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
        if have.is_empty() { "no IDLE, MOVE or UIDPLUS (polling, COPY + EXPUNGE)".into() } else { have.join(", ") }
    }

    /// Looks for a message by Message-ID in `folders` and deletes it where
    /// found (the `check` probe); the configured mailbox is selected again
    /// afterwards.
    pub(crate) async fn take_probe(&mut self, message_id: &MessageId, folders: &[String]) -> Result<bool, ImapError> {
        let label = self.at.label.clone();
        let mut found = false;
        for folder in folders {
            if timed(&label, "SELECT", self.session.select(folder)).await.is_err() {
                continue;
            }
            let query = format!("HEADER Message-ID \"{message_id}\"");
            let uids: Vec<u32> =
                timed(&label, "UID SEARCH", self.session.uid_search(&query)).await?.into_iter().collect();
            if uids.is_empty() {
                continue;
            }
            found = true;
            let set = uid_set(&uids);
            timed(&label, "UID STORE", async {
                self.session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?.try_collect::<Vec<_>>().await
            })
            .await?;
            timed(&label, "EXPUNGE", async { self.session.expunge().await?.try_collect::<Vec<_>>().await }).await?;
            break;
        }
        timed(&label, "SELECT", self.session.select(&self.at.config.mailbox)).await?;
        Ok(found)
    }

    /// The header blocks of the newest messages (at most `n` from each
    /// folder), for `check` to see what the server adds to incoming mail.
    pub(crate) async fn recent_headers(&mut self, folders: &[String], n: usize) -> Result<Vec<Vec<u8>>, ImapError> {
        let label = self.at.label.clone();
        let mut out = Vec::new();
        for folder in folders {
            if timed(&label, "SELECT", self.session.select(folder)).await.is_err() {
                continue;
            }
            let mut uids: Vec<u32> =
                timed(&label, "UID SEARCH", self.session.uid_search("ALL")).await?.into_iter().collect();
            uids.sort_unstable();
            let newest = &uids[uids.len().saturating_sub(n)..];
            if newest.is_empty() {
                continue;
            }
            let set = uid_set(newest);
            let fetches: Vec<async_imap::types::Fetch> = timed(&label, "UID FETCH", async {
                self.session.uid_fetch(&set, "(UID BODY.PEEK[HEADER])").await?.try_collect().await
            })
            .await?;
            out.extend(fetches.iter().filter_map(|f| f.header().map(<[u8]>::to_vec)));
        }
        timed(&label, "SELECT", self.session.select(&self.at.config.mailbox)).await?;
        Ok(out)
    }

    /// The folder handled mail of a kind is filed in.
    pub(crate) fn folder_for(&self, d: Disposition) -> String {
        self.folder(d)
    }

    /// Whether this session will wait with IDLE.
    pub(crate) fn uses_idle(&self) -> bool {
        self.at.can_idle && self.at.config.idle
    }

    /// Messages with a UID above `after` (all when `None`), oldest first,
    /// at most `limit` of them.
    /// Messages bigger than `max_size` are listed (with `raw: None`) but
    /// never downloaded.
    pub(crate) async fn fetch_new(
        &mut self,
        after: Option<Uid>,
        limit: usize,
        max_size: u64,
    ) -> Result<Vec<Fetched>, ImapError> {
        let after = after.map(Uid::get);
        let query = match after {
            Some(uid) => format!("UID {}:*", uid.saturating_add(1)),
            None => "ALL".to_owned(),
        };
        // NOOP is IMAP's "anything new?": Dovecot, for one, brings the
        // session's view of the mailbox up to date on it, not on SEARCH.
        timed(&self.at.label, "NOOP", self.session.noop()).await?;
        let found = timed(&self.at.label, "UID SEARCH", self.session.uid_search(&query)).await?;
        // `n:*` always matches the highest UID, even when it is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| after.is_none_or(|a| *u > a)).collect();
        uids.sort_unstable();
        uids.truncate(limit);
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let label = self.at.label.clone();
        // Sizes first: a message too big is filed unread, and a batch's
        // bodies stay within BATCH_BYTES.
        let set = uid_set(&uids);
        let sized: Vec<async_imap::types::Fetch> = timed(&label, "UID FETCH SIZE", async {
            self.session.uid_fetch(&set, "(UID RFC822.SIZE)").await?.try_collect().await
        })
        .await?;
        let mut sizes: Vec<(u32, u64)> = sized.iter().filter_map(|f| Some((f.uid?, u64::from(f.size?)))).collect();
        sizes.sort_unstable();
        let mut out: Vec<Fetched> = Vec::new();
        let mut wanted: Vec<u32> = Vec::new();
        let mut bytes = 0u64;
        // In UID order, up to the batch's byte budget: everything before
        // the cut (too big or fetched) is in this batch, nothing after it,
        // so the position saved after the batch skips nothing.
        for (uid, size) in sizes {
            if size > max_size {
                out.push(Fetched { uid: Uid::new(uid), raw: None, size });
                continue;
            }
            if !wanted.is_empty() && bytes.saturating_add(size) > BATCH_BYTES {
                break;
            }
            bytes = bytes.saturating_add(size);
            wanted.push(uid);
        }
        if !wanted.is_empty() {
            let set = uid_set(&wanted);
            let fetches: Vec<async_imap::types::Fetch> = timed(&label, "UID FETCH", async {
                self.session.uid_fetch(&set, "(UID BODY.PEEK[])").await?.try_collect().await
            })
            .await?;
            out.extend(fetches.iter().filter_map(|f| {
                let raw = f.body()?.to_vec();
                Some(Fetched {
                    uid: Uid::new(f.uid?),
                    size: u64::try_from(raw.len()).unwrap_or(u64::MAX),
                    raw: Some(raw),
                })
            }));
        }
        out.sort_by_key(|f| f.uid);
        debug!(count = out.len(), "fetched");
        Ok(out)
    }

    fn folder(&self, d: Disposition) -> String {
        format!("introbot{}{}", self.at.delimiter, d.as_str())
    }

    async fn ensure_folder(&mut self, name: &str) -> Result<(), ImapError> {
        if self.at.created.contains(name) {
            return Ok(());
        }
        let command = format!("CREATE {name}");
        match tokio::time::timeout(COMMAND_TIMEOUT, self.session.create(name)).await {
            // NO [ALREADYEXISTS] is the usual answer after the first time.
            Ok(Ok(())) | Ok(Err(async_imap::error::Error::No(_))) => {}
            Ok(Err(source)) => return Err(ImapError::Command { server: self.at.label.clone(), command, source }),
            Err(_) => return Err(ImapError::TimedOut { server: self.at.label.clone(), command }),
        }
        self.at.created.insert(name.to_owned());
        Ok(())
    }

    /// Moves handled messages into their folder.
    pub(crate) async fn file(&mut self, uids: &[Uid], d: Disposition) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let folder = self.folder(d);
        self.ensure_folder(&folder).await?;
        let set = uid_set(&uids.iter().map(|u| u.get()).collect::<Vec<_>>());
        let label = self.at.label.clone();
        if self.at.can_move {
            return timed(&label, "UID MOVE", self.session.uid_mv(&set, &folder)).await;
        }
        timed(&label, "UID COPY", self.session.uid_copy(&set, &folder)).await?;
        timed(&label, "UID STORE", async {
            self.session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?.try_collect::<Vec<_>>().await
        })
        .await?;
        if self.at.can_uidplus {
            timed(&label, "UID EXPUNGE", async { self.session.uid_expunge(&set).await?.try_collect::<Vec<_>>().await })
                .await?;
        } else {
            timed(&label, "EXPUNGE", async { self.session.expunge().await?.try_collect::<Vec<_>>().await }).await?;
        }
        Ok(())
    }

    /// Waits for new mail with IDLE for at most `max` (capped at 25
    /// minutes, inside RFC 2177's 29), or until `wake` resolves. Returns the
    /// source, ready for commands again, and `wake`'s value if it woke us.
    pub(crate) async fn idle<T>(
        self,
        max: Duration,
        wake: impl std::future::Future<Output = T>,
    ) -> Result<(ImapSource, Option<T>), ImapError> {
        let ImapSource { session, at } = self;
        let label = at.label.clone();
        let max = max.min(Duration::from_secs(25 * 60));
        // Mail that arrived after our last search is announced as untagged
        // EXISTS in the answer to some later command, possibly to IDLE
        // itself before its continuation; async-imap files those in this
        // channel rather than waking the wait. Look there before sleeping.
        let unsolicited = session.unsolicited_responses.clone();
        let mut handle = session.idle();
        timed(&label, "IDLE", handle.init()).await?;
        let mut pending_mail = false;
        while let Ok(r) = unsolicited.try_recv() {
            pending_mail |= matches!(
                r,
                async_imap::types::UnsolicitedResponse::Exists(_) | async_imap::types::UnsolicitedResponse::Recent(_)
            );
        }
        let mut woken = None;
        if pending_mail {
            debug!("idle: mail arrived meanwhile");
        } else {
            let (wait, interrupt) = handle.wait_with_timeout(max);
            // The server's keepalives reset async-imap's own timer, so an
            // outer deadline guarantees IDLE is renewed in time.
            tokio::select! {
                r = tokio::time::timeout(max + Duration::from_secs(5), wait) => {
                    match r {
                        Ok(Ok(IdleResponse::NewData(_))) => debug!("idle: new data"),
                        Ok(Ok(_)) | Err(_) => debug!("idle: timeout"),
                        Ok(Err(source)) => {
                            return Err(ImapError::Command { server: label, command: "IDLE".into(), source });
                        }
                    }
                }
                w = wake => {
                    woken = Some(w);
                    drop(interrupt);
                }
            }
        }
        let session = timed(&label, "DONE", handle.done()).await?;
        Ok((ImapSource { session, at }, woken))
    }

    /// Says goodbye.
    pub(crate) async fn logout(mut self) {
        let span = self.at.span.clone();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).instrument(span).await;
        debug!(parent: &self.at.span, "logged out");
    }
}

async fn greeting(client: &mut async_imap::Client<MailStream>, label: &str) -> Result<(), ImapError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(ImapError::NoGreeting { server: label.into() }),
        Ok(Err(source)) => Err(ImapError::Connect { server: label.into(), source }),
        Err(_) => Err(ImapError::TimedOut { server: label.into(), command: "greeting".into() }),
    }
}

/// `1,3,5:9` for a sorted list of UIDs.
fn uid_set(uids: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}:{end}") });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[42]), "42");
    }
}
