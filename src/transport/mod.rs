//! Where outbound mail goes: an SMTP server, a local sendmail, or a
//! directory of `.eml` files. Every transport answers a send with success,
//! a transient failure (keep the email, retry later) or a permanent one
//! (the address will never work: tell the connector).

mod outbox_dir;
mod sendmail;
mod smtp;

pub(crate) use outbox_dir::{OutboxDir, Stager};
pub(crate) use sendmail::Sendmail;
pub(crate) use smtp::Smtp;

use crate::compose::Composed;
use crate::config::TransportConfig;

/// Why a send did not go through.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SendError {
    /// Try again later: a 4xx, a lost connection, a full disk.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Will never work: a 5xx for this recipient.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// A transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The outbox directory could not be created.
    #[error("cannot use outbox directory {}", path.display())]
    OutboxDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The SMTP settings are unusable.
    #[error("smtp {host}:{port}: {message}")]
    Smtp {
        /// Server.
        host: String,
        /// Port.
        port: u16,
        /// What is wrong.
        message: String,
    },
}

/// The configured transport.
#[derive(Debug)]
pub(crate) enum Transport {
    /// Files in a directory.
    OutboxDir(OutboxDir),
    /// A sendmail program.
    Sendmail(Sendmail),
    /// An SMTP server.
    Smtp(Box<Smtp>),
}

impl Transport {
    /// Sets up the transport the config names.
    pub(crate) fn from_config(config: &TransportConfig) -> Result<Transport, TransportError> {
        Ok(match config {
            TransportConfig::OutboxDir { path } => Transport::OutboxDir(OutboxDir::open(path)?),
            TransportConfig::Sendmail { command, timeout } => {
                Transport::Sendmail(Sendmail::new(command.clone(), *timeout))
            }
            TransportConfig::Smtp(server) => Transport::Smtp(Box::new(Smtp::new(server)?)),
        })
    }

    /// Sends one email.
    pub(crate) async fn send(&mut self, email: &Composed) -> Result<(), SendError> {
        match self {
            Transport::OutboxDir(t) => t.stage(email),
            Transport::Sendmail(t) => t.send(email).await,
            Transport::Smtp(t) => t.send(email).await,
        }
    }

    /// Whether a send is only durable, and visible, after
    /// [`Transport::sync`] and [`Transport::publish`], so the engine may
    /// batch: send many, sync once, forget them, then publish.
    pub(crate) fn is_batched(&self) -> bool {
        matches!(self, Transport::OutboxDir(_))
    }

    /// Makes every send so far durable and returns what to record before
    /// [`Transport::publish`] (the outbox directory's file names); nothing
    /// for transports whose sends are durable when accepted.
    pub(crate) fn sync(&mut self) -> Result<Vec<String>, SendError> {
        match self {
            Transport::OutboxDir(t) => t.sync(),
            Transport::Sendmail(_) | Transport::Smtp(_) => Ok(Vec::new()),
        }
    }

    /// Whether sends recorded as synced may still wait to be published (a
    /// crash or a failed publish left them): the engine then publishes
    /// what the store recorded before sending more.
    pub(crate) fn unsure(&self) -> bool {
        matches!(self, Transport::OutboxDir(t) if t.unsure())
    }

    /// Says that sends recorded as synced may still wait to be published:
    /// a [`Stager`] failed to publish them.
    pub(crate) fn make_unsure(&mut self) {
        if let Transport::OutboxDir(t) = self {
            t.make_unsure();
        }
    }

    /// For a batched transport: a [`Stager`] that writes emails (step one
    /// of a send) from another thread; [`Transport::sync_staged`] makes
    /// them durable.
    pub(crate) fn stager(&self) -> Option<Stager> {
        match self {
            Transport::OutboxDir(t) => Some(t.stager()),
            Transport::Sendmail(_) | Transport::Smtp(_) => None,
        }
    }

    /// Makes what a [`Stager`] wrote durable.
    pub(crate) fn sync_staged(&self) -> Result<(), SendError> {
        match self {
            Transport::OutboxDir(t) => t.sync_dir(),
            Transport::Sendmail(_) | Transport::Smtp(_) => Ok(()),
        }
    }

    /// Makes synced sends visible, once the store recorded them as sent;
    /// repeating it for names already published does nothing.
    pub(crate) fn publish(&mut self, names: &[String]) -> Result<(), SendError> {
        match self {
            Transport::OutboxDir(t) => t.publish(names),
            Transport::Sendmail(_) | Transport::Smtp(_) => Ok(()),
        }
    }
}
