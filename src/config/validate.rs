//! Raw config in, trusted [`Config`] out: addresses parsed, durations read,
//! exactly one mail source and one transport, relative paths resolved
//! against the config file's directory, secrets and contacts taken from
//! what the loader read. Pure: nothing here touches the disk or the
//! environment; every error names its key and, when it is written, its line.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;

use super::duration::{parse_duration, parse_wait};
use super::raw::{At, RawConfig, RawRequesterConsent, RawServer};
use super::{
    Allowed, Config, ConfigError, ImapConfig, Outside, Secret, Security, ServerConfig, SourceConfig, TransportConfig,
    contacts, secrets, trust,
};
use crate::core::{Address, Policy, RequesterConsent};

/// Validates a parsed file. `text` is the file's text (for line numbers),
/// `path` where it is (for messages and relative paths).
pub(super) fn validate(raw: RawConfig, text: &str, path: &Path, outside: &Outside) -> Result<Config, ConfigError> {
    Validator { path, text, base: path.parent().unwrap_or(Path::new(".")), outside }.validate(raw)
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
    base: &'a Path,
    outside: &'a Outside,
}

/// Where a value is written, if it is.
fn at<T>(v: Option<&At<T>>) -> Option<Range<usize>> {
    v.map(At::span)
}

impl Validator<'_> {
    fn invalid(&self, key: &str, at: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        let line = at.map(|span| line_of(self.text, span.start));
        ConfigError::Invalid { path: self.path.to_owned(), line, key: key.into(), message: message.into() }
    }

    fn resolve(&self, p: PathBuf) -> PathBuf {
        if p.is_absolute() { p } else { self.base.join(p) }
    }

    fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let written = raw.bot.address.get_ref().trim();
        let bad_address = || {
            let message = format!("{written:?} is not a plain address like intros@example.com (no '+tag')");
            self.invalid("bot.address", Some(raw.bot.address.span()), message)
        };
        // Lowercased, as the bot writes its own address in every header.
        let address = Address::parse(&written.to_ascii_lowercase()).map_err(|_| bad_address())?;
        if address.tag().is_some() || address.local_part().contains('+') {
            return Err(bad_address());
        }
        // Replies come back to `intros+TOKEN@…`, and a local part holds at
        // most 64 characters (RFC 5321): a longer one could not be written.
        if address.with_tag(&"a".repeat(crate::tokens::LONGEST_TOKEN)).is_err() {
            let most = 64 - 1 - crate::tokens::LONGEST_TOKEN;
            let message = format!(
                "{written:?} leaves no room for reply addresses: replies come back to {}+<a {}-character token>@{}, \
                 and the part before the @ holds at most 64 characters; use at most {most} characters before the @",
                address.local_part(),
                crate::tokens::LONGEST_TOKEN,
                address.domain()
            );
            return Err(self.invalid("bot.address", Some(raw.bot.address.span()), message));
        }
        let timezone_name = raw.bot.timezone.as_ref().map_or("UTC", |t| t.get_ref().as_str()).to_owned();
        let timezone = TimeZone::get(&timezone_name).map_err(|e| {
            self.invalid(
                "bot.timezone",
                at(raw.bot.timezone.as_ref()),
                format!("{e}; use an IANA name like \"America/New_York\""),
            )
        })?;
        let allow_at = Some(raw.connectors.allow.span());
        let mut allow = Vec::new();
        for a in raw.connectors.allow.get_ref() {
            let a = a.trim().to_ascii_lowercase();
            let entry = match a.strip_prefix('@') {
                Some(domain) if domain.contains('.') => Address::parse(&format!("postmaster@{domain}"))
                    .ok()
                    .map(|p| Allowed::Domain(p.canonical().domain().to_owned())),
                Some(_) => None,
                None => Address::parse(&a).ok().map(Allowed::Mailbox),
            };
            let Some(entry) = entry else {
                return Err(self.invalid(
                    "connectors.allow",
                    allow_at.clone(),
                    format!("{a:?} is neither an address nor an @domain"),
                ));
            };
            allow.push(entry);
        }
        if allow.is_empty() {
            return Err(self.invalid("connectors.allow", allow_at, "nobody may use the bot; add an address"));
        }
        let wait = |key: &str, v: Option<&At<String>>| match v {
            None => Ok(crate::core::Wait::BusinessDays(7)),
            Some(v) => parse_wait(v.get_ref()).map_err(|e| self.invalid(key, at(Some(v)), e)),
        };
        let policy = Policy {
            requester_consent: match raw.consent.requester {
                RawRequesterConsent::Ask => RequesterConsent::Ask,
                RawRequesterConsent::Implied => RequesterConsent::Implied,
            },
            follow_up_after: wait("timing.follow_up_after", raw.timing.follow_up_after.as_ref())?,
            expire_after: wait("timing.expire_after", raw.timing.expire_after.as_ref())?,
            timezone: timezone.clone(),
            holidays: self.holidays(raw.timing.holidays.as_ref())?,
        };

        let source = match (raw.imap, raw.maildir) {
            (Some(imap), None) => SourceConfig::Imap(self.imap(imap.into_inner())?),
            (None, Some(m)) => {
                let m = m.into_inner();
                SourceConfig::Maildir {
                    path: self.resolve(m.path),
                    poll_interval: self.poll_interval("maildir.poll_interval", m.poll_interval)?,
                }
            }
            (Some(imap), Some(_)) => {
                return Err(self.invalid("imap", Some(imap.span()), "set either [imap] or [maildir], not both"));
            }
            (None, None) => {
                return Err(self.invalid("imap", None, "no mail source: add an [imap] or [maildir] section"));
            }
        };
        let smtp_at = raw.smtp.as_ref().map(At::span);
        let transport = match (raw.smtp, raw.sendmail, raw.outbox_dir) {
            (Some(s), None, None) => {
                let s = s.into_inner();
                if s.mailbox.is_some() || s.idle.is_some() || s.poll_interval.is_some() {
                    return Err(self.invalid("smtp", smtp_at, "mailbox, idle and poll_interval belong under [imap]"));
                }
                TransportConfig::Smtp(self.server("smtp", s, 465)?)
            }
            (None, Some(s), None) => {
                let s = s.into_inner();
                let timeout = match &s.timeout {
                    None => Duration::from_secs(60),
                    Some(v) => {
                        parse_duration(v.get_ref()).map_err(|e| self.invalid("sendmail.timeout", Some(v.span()), e))?
                    }
                };
                TransportConfig::Sendmail { command: s.command, timeout }
            }
            (None, None, Some(o)) => TransportConfig::OutboxDir { path: self.resolve(o.into_inner().path) },
            (None, None, None) => {
                return Err(self.invalid(
                    "smtp",
                    None,
                    "no mail transport: add an [smtp], [sendmail] or [outbox_dir] section",
                ));
            }
            _ => {
                return Err(self.invalid("smtp", smtp_at, "set only one of [smtp], [sendmail], [outbox_dir]"));
            }
        };

        let contacts = match &raw.connectors.contacts {
            None => Vec::new(),
            Some(p) => {
                let file = self.resolve(p.get_ref().clone());
                let text = self.outside.file(&file).map_err(|e| {
                    self.invalid("connectors.contacts", Some(p.span()), format!("cannot read {}: {e}", file.display()))
                })?;
                contacts::parse_contacts(text)
            }
        };
        let backoff_max = match &raw.timing.backoff_max {
            None => Duration::from_secs(300),
            Some(v) => {
                parse_duration(v.get_ref()).map_err(|e| self.invalid("timing.backoff_max", Some(v.span()), e))?
            }
        };
        let problem = |(key, at, message): trust::Problem| self.invalid(key, at, message);
        let security = trust::security(&raw.security).map_err(problem)?;
        let limits = trust::limits(&raw.limits).map_err(problem)?;
        Ok(Config {
            security,
            limits,
            contacts,
            backoff_max,
            path: self.path.to_owned(),
            address,
            name: raw.bot.name,
            data_dir: self.resolve(raw.bot.data_dir),
            timezone,
            timezone_name,
            templates_dir: raw.bot.templates.map(|p| self.resolve(p)),
            allow,
            bcc_connector_on_introduction: raw.connectors.bcc_on_introduction,
            policy,
            preview: raw.consent.preview,
            source,
            transport,
        })
    }

    /// A password from a systemd credential: read by the loader from the
    /// service's credentials or, outside it, from the admin's file. The unit
    /// gives an empty credential when the admin's file is missing.
    /// A file holding a password that every user on the machine can read
    /// is refused: the password is no secret any more.
    fn not_exposed(&self, key: &str, at: Option<Range<usize>>, path: &Path) -> Result<(), ConfigError> {
        match self.outside.mode(path).filter(|m| m & 0o004 != 0) {
            None => Ok(()),
            Some(mode) => Err(self.invalid(
                key,
                at,
                format!(
                    "{} holds a password and every user on this machine can read it (mode {mode:o}); \
                     change the password, then chmod 600 {}",
                    path.display(),
                    path.display()
                ),
            )),
        }
    }

    fn credential(&self, key: &str, name: &At<String>) -> Result<Secret, ConfigError> {
        let span = Some(name.span());
        let name = name.get_ref();
        if !secrets::is_credential_name(name) {
            return Err(self.invalid(key, span, format!("{name:?} is not a credential name like \"imap\"")));
        }
        let (file, text) = self.outside.credential(name);
        let text = text.map_err(|e| {
            self.invalid(key, span.clone(), format!("cannot read credential {name} from {}: {e}", file.display()))
        })?;
        self.not_exposed(key, span.clone(), &file)?;
        let password = secrets::from_file(text);
        if password.expose().is_empty() {
            let admin_file = super::credentials_dir(self.path).join(name);
            return Err(self.invalid(
                key,
                span,
                format!("credential {name} is empty: put the password in {} (mode 0600)", admin_file.display()),
            ));
        }
        Ok(password)
    }

    /// `[timing] holidays`: dates like `"2026-12-25"`, sorted, each once.
    fn holidays(&self, v: Option<&At<Vec<String>>>) -> Result<Vec<jiff::civil::Date>, ConfigError> {
        let Some(v) = v else { return Ok(Vec::new()) };
        let mut dates = Vec::new();
        for d in v.get_ref() {
            let date = d.trim().parse::<jiff::civil::Date>().map_err(|_| {
                self.invalid("timing.holidays", Some(v.span()), format!("{d:?} is not a date like \"2026-12-25\""))
            })?;
            dates.push(date);
        }
        dates.sort();
        dates.dedup();
        Ok(dates)
    }

    fn poll_interval(&self, key: &str, v: Option<At<String>>) -> Result<Duration, ConfigError> {
        match v {
            None => Ok(Duration::from_secs(60)),
            Some(v) => {
                let d = parse_duration(v.get_ref()).map_err(|e| self.invalid(key, Some(v.span()), e))?;
                if d < Duration::from_millis(100) {
                    return Err(self.invalid(key, Some(v.span()), "must be at least 100ms"));
                }
                Ok(d)
            }
        }
    }

    fn imap(&self, mut raw: RawServer) -> Result<ImapConfig, ConfigError> {
        let mailbox = raw.mailbox.take().unwrap_or_else(|| "INBOX".into());
        let idle = raw.idle.unwrap_or(true);
        let poll_interval = self.poll_interval("imap.poll_interval", raw.poll_interval.take())?;
        Ok(ImapConfig { server: self.server("imap", raw, 993)?, mailbox, idle, poll_interval })
    }

    fn server(&self, section: &str, raw: RawServer, tls_port: u16) -> Result<ServerConfig, ConfigError> {
        let key = |k: &str| format!("{section}.{k}");
        let security = raw.security.as_ref().map_or(Security::Tls, |s| *s.get_ref());
        if security == Security::Plain && !is_loopback(&raw.host) {
            return Err(self.invalid(
                &key("security"),
                at(raw.security.as_ref()),
                format!(
                    "\"plain\" sends the password unencrypted; it is allowed only to a loopback host, not {:?}",
                    raw.host
                ),
            ));
        }
        let login = match (&raw.username, section) {
            (Some(_), _) => true,
            (None, "smtp") => false,
            (None, _) => return Err(self.invalid(&key("username"), None, "missing: IMAP needs a login name")),
        };
        let named = [raw.password_env.is_some(), raw.password_file.is_some(), raw.password_credential.is_some()];
        let password = match (&raw.password_env, &raw.password_file, &raw.password_credential) {
            (None, None, None) if !login => Secret::new(""),
            _ if !login => {
                return Err(self.invalid(
                    &key("username"),
                    None,
                    "a password without a username: set both, or neither to send without logging in",
                ));
            }
            (Some(var), None, None) => Secret::new(self.outside.var(var.get_ref()).ok_or_else(|| {
                self.invalid(
                    &key("password_env"),
                    Some(var.span()),
                    format!("environment variable {} is not set", var.get_ref()),
                )
            })?),
            (None, Some(file), None) => {
                let path = self.resolve(file.get_ref().clone());
                let text = self.outside.file(&path).map_err(|e| {
                    self.invalid(
                        &key("password_file"),
                        Some(file.span()),
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                self.not_exposed(&key("password_file"), Some(file.span()), &path)?;
                secrets::from_file(text)
            }
            (None, None, Some(name)) => self.credential(&key("password_credential"), name)?,
            _ => {
                let message = if named.contains(&true) {
                    "set only one of password_env, password_file or password_credential"
                } else {
                    "set one of password_env, password_file or password_credential (never the password itself)"
                };
                return Err(self.invalid(&key("password_env"), at(raw.password_env.as_ref()), message));
            }
        };
        let default_port = match (security, section) {
            (Security::Tls, _) => tls_port,
            (_, "imap") => 143,
            _ => 587,
        };
        Ok(ServerConfig {
            host: raw.host,
            port: raw.port.unwrap_or(default_port),
            security,
            login,
            username: raw.username.unwrap_or_default(),
            password,
            ca_file: raw.ca_file.map(|p| self.resolve(p)),
        })
    }
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(0, |before| before.matches('\n').count()) + 1
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
