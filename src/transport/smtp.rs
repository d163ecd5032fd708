//! SMTP submission with lettre on tokio and rustls: implicit TLS, STARTTLS,
//! or plain (loopback only, enforced by the config). A 5xx reply is
//! permanent; a 4xx, a timeout or a lost connection is transient.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use tracing::{Instrument, info_span};

use super::{SendError, TransportError};
use crate::compose::Composed;
use crate::config::{Security, ServerConfig};

/// Why `introbot check` could not log in to the SMTP server.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SmtpCheckError {
    /// The server answered but did not accept the connection.
    #[error("{server} did not accept the connection")]
    NotAccepted {
        /// `host:port`.
        server: String,
    },
    /// Connecting, TLS or the login failed.
    #[error("{server}")]
    Failed {
        /// `host:port`.
        server: String,
        /// lettre's error.
        source: lettre::transport::smtp::Error,
    },
}

/// An SMTP submission server.
pub(crate) struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    label: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").field("server", &self.label).finish()
    }
}

impl Smtp {
    /// Prepares the connection settings (nothing is dialled yet).
    pub(crate) fn new(server: &ServerConfig) -> Result<Self, TransportError> {
        let err = |message: String| TransportError::Smtp { host: server.host.clone(), port: server.port, message };
        let tls = || -> Result<TlsParameters, TransportError> {
            let mut builder = TlsParameters::builder(server.host.clone());
            if let Some(ca) = &server.ca_file {
                let pem = std::fs::read(ca).map_err(|e| err(format!("cannot read ca_file {}: {e}", ca.display())))?;
                let cert = Certificate::from_pem(&pem).map_err(|e| err(format!("ca_file {}: {e}", ca.display())))?;
                builder = builder.add_root_certificate(cert);
            }
            builder.build_rustls().map_err(|e| err(format!("TLS setup: {e}")))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.clone())
            .port(server.port)
            .tls(match server.security {
                Security::Tls => Tls::Wrapper(tls()?),
                Security::Starttls => Tls::Required(tls()?),
                Security::Plain => Tls::None,
            })
            .timeout(Some(Duration::from_secs(30)));
        if server.login {
            builder =
                builder.credentials(Credentials::new(server.username.clone(), server.password.expose().to_owned()));
        }
        Ok(Self { transport: builder.build(), label: format!("{}:{}", server.host, server.port) })
    }

    /// Connects, says EHLO and logs in, to check the settings.
    pub(crate) async fn check(&self) -> Result<(), SmtpCheckError> {
        let span = info_span!("smtp", server = %self.label);
        match self.transport.test_connection().instrument(span).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(SmtpCheckError::NotAccepted { server: self.label.clone() }),
            Err(source) => Err(SmtpCheckError::Failed { server: self.label.clone(), source }),
        }
    }

    pub(super) async fn send(&self, email: &Composed) -> Result<(), SendError> {
        let to = email.recipients.iter().map(|r| r.lettre().clone()).collect();
        let envelope = Envelope::new(Some(email.envelope_from.lettre().clone()), to)
            .map_err(|e| SendError::Permanent(format!("invalid envelope: {e}")))?;
        // lettre pools connections; each submission gets its own span.
        let span = info_span!("smtp", server = %self.label);
        match self.transport.send_raw(&envelope, &email.bytes).instrument(span).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("{}: {e}", self.label))),
            Err(e) => Err(SendError::Transient(format!("{}: {e}", self.label))),
        }
    }
}
