//! The configuration file: TOML in, a validated [`Config`] out.
//!
//! The raw structs mirror the file (see `config/introbot.example.toml`) and
//! reject unknown keys, so a typo is an error rather than a silent default.
//! Validation turns them into types the rest of the program can trust:
//! addresses checked, durations parsed, exactly one mail source and one
//! transport, secrets read from the environment or a credentials file (never
//! from the config file itself).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::core::{Policy, RequesterConsent, Wait};

/// What can be wrong with a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid config {path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// A value is out of bounds or inconsistent with another.
    #[error("invalid config {path}{}: {key}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where the key is set, when it is set at all (1-based).
        line: Option<usize>,
        /// The key, dotted (`timing.expire_after`).
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

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

/// How a connection to a mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connection upgraded with STARTTLS (143, 587).
    Starttls,
    /// No TLS at all: allowed only to a loopback host.
    Plain,
}

/// A mail server account (IMAP or SMTP).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// Login name.
    pub username: String,
    /// Password, from the environment or a file.
    pub password: Secret,
    /// An extra CA certificate (PEM) to trust, for private servers.
    pub ca_file: Option<PathBuf>,
}

/// IMAP specifics.
#[derive(Clone, Debug)]
pub struct ImapConfig {
    /// The account.
    pub server: ServerConfig,
    /// The mailbox to watch.
    pub mailbox: String,
    /// Use IDLE when the server offers it.
    pub idle: bool,
    /// How often to poll without IDLE.
    pub poll_interval: Duration,
}

/// Where inbound mail comes from.
#[derive(Clone, Debug)]
pub enum SourceConfig {
    /// An IMAP mailbox.
    Imap(ImapConfig),
    /// A local Maildir (the bot on the mail host itself, or the demo).
    Maildir {
        /// The Maildir root (with `new/`, `cur/`, `tmp/`).
        path: PathBuf,
        /// How often to look for new mail.
        poll_interval: Duration,
    },
}

/// Where outbound mail goes.
#[derive(Clone, Debug)]
pub enum TransportConfig {
    /// An SMTP submission server.
    Smtp(ServerConfig),
    /// A local sendmail-compatible program.
    Sendmail {
        /// The program (`/usr/sbin/sendmail`).
        command: PathBuf,
    },
    /// A directory that receives one `.eml` file per email (no sending).
    OutboxDir {
        /// The directory.
        path: PathBuf,
    },
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// The bot's own address, `intros@example.com`.
    pub address: String,
    /// The bot's display name.
    pub name: String,
    /// Where the store lives.
    pub data_dir: PathBuf,
    /// The time zone for business days and dates in emails.
    pub timezone: TimeZone,
    /// The time zone's name, for messages.
    pub timezone_name: String,
    /// A directory whose templates override the built-in ones.
    pub templates_dir: Option<PathBuf>,
    /// Allowed connectors: full addresses or `@domain`.
    pub allow: Vec<String>,
    /// Bcc the connector on the introduction.
    pub bcc_connector_on_introduction: bool,
    /// People from the contacts file, for targets whose address a request lacks.
    pub contacts: Vec<crate::core::Person>,
    /// The state machine's rules.
    pub policy: Policy,
    /// The mail source.
    pub source: SourceConfig,
    /// The mail transport.
    pub transport: TransportConfig,
    /// Longest wait between reconnects and send retries.
    pub backoff_max: Duration,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::parse(&text, path)
    }

    /// Validates config text; `path` is used in messages and to resolve
    /// relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::Syntax { path: path.to_owned(), message: e.to_string() })?;
        Validator { path, text, base: path.parent().unwrap_or(Path::new(".")) }.validate(raw)
    }

    /// The bot address's local part and domain.
    pub fn address_parts(&self) -> (&str, &str) {
        self.address.split_once('@').unwrap_or((&self.address, "localhost"))
    }

    /// The bot's reply address for a token: `intros+TOKEN@example.com`.
    pub fn reply_address(&self, token: &str) -> String {
        let (local, domain) = self.address_parts();
        format!("{local}+{token}@{domain}")
    }

    /// Whether `email` may start intros.
    pub fn is_connector(&self, email: &str) -> bool {
        let email = email.trim().to_ascii_lowercase();
        self.allow.iter().any(|a| if a.starts_with('@') { email.ends_with(a.as_str()) } else { *a == email })
    }
}

/// Parses `"7 business days"`, `"10 days"`, `"90s"`, `"5m"`, `"2h"`.
pub fn parse_wait(s: &str) -> Result<Wait, String> {
    let s = s.trim().to_ascii_lowercase();
    let words: Vec<&str> = s.split_whitespace().collect();
    let number = |n: &str| n.parse::<u32>().map_err(|_| format!("{n:?} is not a whole number"));
    match words.as_slice() {
        [n, "business", "day" | "days"] => Ok(Wait::BusinessDays(number(n)?)),
        [n, "day" | "days"] => Ok(Wait::Days(number(n)?)),
        [one] => parse_duration(one).map(Wait::Exactly),
        [n, unit] => parse_duration(&format!("{n}{unit}")).map(Wait::Exactly),
        _ => Err(format!("cannot read {s:?} as a duration")),
    }
    .map_err(|e| format!("{e} (examples: \"7 business days\", \"10 days\", \"90s\", \"5m\", \"2h\")"))
}

/// Parses an exact duration: `"90s"`, `"5m"`, `"2h"`, `"250ms"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} does not start with a number"))?;
    let secs = match unit.trim() {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" | "sec" | "secs" | "second" | "seconds" => n,
        "m" | "min" | "mins" | "minute" | "minutes" => n * 60,
        "h" | "hour" | "hours" => n * 3600,
        other => return Err(format!("unknown unit {other:?} in {s:?}")),
    };
    Ok(Duration::from_secs(secs))
}

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    bot: RawBot,
    connectors: RawConnectors,
    #[serde(default)]
    consent: RawConsent,
    imap: Option<RawServer>,
    smtp: Option<RawServer>,
    maildir: Option<RawMaildir>,
    sendmail: Option<RawSendmail>,
    outbox_dir: Option<RawPath>,
    #[serde(default)]
    timing: RawTiming,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    address: String,
    #[serde(default = "default_name")]
    name: String,
    data_dir: PathBuf,
    #[serde(default = "default_timezone")]
    timezone: String,
    templates: Option<PathBuf>,
}

fn default_name() -> String {
    "Intro Bot".into()
}

fn default_timezone() -> String {
    "UTC".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnectors {
    allow: Vec<String>,
    #[serde(default)]
    bcc_on_introduction: bool,
    contacts: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    #[serde(default)]
    requester: RawRequesterConsent,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawRequesterConsent {
    #[default]
    Ask,
    Implied,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    host: String,
    port: Option<u16>,
    #[serde(default = "default_security")]
    security: Security,
    username: String,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    // IMAP only; rejected under [smtp] by validation.
    mailbox: Option<String>,
    idle: Option<bool>,
    poll_interval: Option<String>,
}

fn default_security() -> Security {
    Security::Tls
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaildir {
    path: PathBuf,
    poll_interval: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSendmail {
    #[serde(default = "default_sendmail")]
    command: PathBuf,
}

fn default_sendmail() -> PathBuf {
    PathBuf::from("/usr/sbin/sendmail")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPath {
    path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTiming {
    #[serde(default = "default_wait")]
    follow_up_after: String,
    #[serde(default = "default_wait")]
    expire_after: String,
    backoff_max: Option<String>,
}

impl Default for RawTiming {
    fn default() -> Self {
        Self { follow_up_after: default_wait(), expire_after: default_wait(), backoff_max: None }
    }
}

fn default_wait() -> String {
    "7 business days".into()
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
    base: &'a Path,
}

impl Validator<'_> {
    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let line = line_of(self.text, key);
        ConfigError::Invalid { path: self.path.to_owned(), line, key: key.into(), message: message.into() }
    }

    fn resolve(&self, p: PathBuf) -> PathBuf {
        if p.is_absolute() { p } else { self.base.join(p) }
    }

    fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let address = raw.bot.address.trim().to_owned();
        if !is_plain_address(&address) || address.split('@').next().is_some_and(|l| l.contains('+')) {
            return Err(self.invalid(
                "bot.address",
                format!("{address:?} is not a plain address like intros@example.com (no '+tag')"),
            ));
        }
        let timezone = TimeZone::get(&raw.bot.timezone)
            .map_err(|e| self.invalid("bot.timezone", format!("{e}; use an IANA name like \"America/New_York\"")))?;
        let mut allow = Vec::new();
        for a in raw.connectors.allow {
            let a = a.trim().to_ascii_lowercase();
            let ok = match a.strip_prefix('@') {
                Some(domain) => domain.contains('.') && !domain.contains('@'),
                None => is_plain_address(&a),
            };
            if !ok {
                return Err(self.invalid("connectors.allow", format!("{a:?} is neither an address nor an @domain")));
            }
            allow.push(a);
        }
        if allow.is_empty() {
            return Err(self.invalid("connectors.allow", "nobody may use the bot; add an address"));
        }
        let wait = |key: &str, v: &str| parse_wait(v).map_err(|e| self.invalid(key, e));
        let policy = Policy {
            requester_consent: match raw.consent.requester {
                RawRequesterConsent::Ask => RequesterConsent::Ask,
                RawRequesterConsent::Implied => RequesterConsent::Implied,
            },
            follow_up_after: wait("timing.follow_up_after", &raw.timing.follow_up_after)?,
            expire_after: wait("timing.expire_after", &raw.timing.expire_after)?,
            timezone: timezone.clone(),
        };

        let source = match (raw.imap, raw.maildir) {
            (Some(imap), None) => SourceConfig::Imap(self.imap(imap)?),
            (None, Some(m)) => SourceConfig::Maildir {
                path: self.resolve(m.path),
                poll_interval: self.poll_interval("maildir.poll_interval", m.poll_interval)?,
            },
            (Some(_), Some(_)) => {
                return Err(self.invalid("imap", "set either [imap] or [maildir], not both"));
            }
            (None, None) => {
                return Err(self.invalid("imap", "no mail source: add an [imap] or [maildir] section"));
            }
        };
        let transport = match (raw.smtp, raw.sendmail, raw.outbox_dir) {
            (Some(s), None, None) => {
                if s.mailbox.is_some() || s.idle.is_some() || s.poll_interval.is_some() {
                    return Err(self.invalid("smtp", "mailbox, idle and poll_interval belong under [imap]"));
                }
                TransportConfig::Smtp(self.server("smtp", s, 465)?)
            }
            (None, Some(s), None) => TransportConfig::Sendmail { command: s.command },
            (None, None, Some(o)) => TransportConfig::OutboxDir { path: self.resolve(o.path) },
            (None, None, None) => {
                return Err(
                    self.invalid("smtp", "no mail transport: add an [smtp], [sendmail] or [outbox_dir] section")
                );
            }
            _ => {
                return Err(self.invalid("smtp", "set only one of [smtp], [sendmail], [outbox_dir]"));
            }
        };

        let contacts = match &raw.connectors.contacts {
            None => Vec::new(),
            Some(p) => {
                let file = self.resolve(p.clone());
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| self.invalid("connectors.contacts", format!("cannot read {}: {e}", file.display())))?;
                parse_contacts(&text)
            }
        };
        let backoff_max = match &raw.timing.backoff_max {
            None => Duration::from_secs(300),
            Some(v) => parse_duration(v).map_err(|e| self.invalid("timing.backoff_max", e))?,
        };
        Ok(Config {
            contacts,
            backoff_max,
            path: self.path.to_owned(),
            address: address.to_ascii_lowercase(),
            name: raw.bot.name,
            data_dir: self.resolve(raw.bot.data_dir),
            timezone,
            timezone_name: raw.bot.timezone,
            templates_dir: raw.bot.templates.map(|p| self.resolve(p)),
            allow,
            bcc_connector_on_introduction: raw.connectors.bcc_on_introduction,
            policy,
            source,
            transport,
        })
    }

    fn poll_interval(&self, key: &str, v: Option<String>) -> Result<Duration, ConfigError> {
        match v {
            None => Ok(Duration::from_secs(60)),
            Some(v) => {
                let d = parse_duration(&v).map_err(|e| self.invalid(key, e))?;
                if d < Duration::from_millis(100) {
                    return Err(self.invalid(key, "must be at least 100ms"));
                }
                Ok(d)
            }
        }
    }

    fn imap(&self, raw: RawServer) -> Result<ImapConfig, ConfigError> {
        let mailbox = raw.mailbox.clone().unwrap_or_else(|| "INBOX".into());
        let idle = raw.idle.unwrap_or(true);
        let poll_interval = self.poll_interval("imap.poll_interval", raw.poll_interval.clone())?;
        Ok(ImapConfig { server: self.server("imap", raw, 993)?, mailbox, idle, poll_interval })
    }

    fn server(&self, section: &str, raw: RawServer, tls_port: u16) -> Result<ServerConfig, ConfigError> {
        let key = |k: &str| format!("{section}.{k}");
        if raw.security == Security::Plain && !is_loopback(&raw.host) {
            return Err(self.invalid(
                &key("security"),
                format!(
                    "\"plain\" sends the password unencrypted; it is allowed only to a loopback host, not {:?}",
                    raw.host
                ),
            ));
        }
        let password = match (raw.password_env, raw.password_file) {
            (Some(var), None) => {
                Secret::new(std::env::var(&var).map_err(|_| {
                    self.invalid(&key("password_env"), format!("environment variable {var} is not set"))
                })?)
            }
            (None, Some(file)) => {
                let file = self.resolve(file);
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| self.invalid(&key("password_file"), format!("cannot read {}: {e}", file.display())))?;
                Secret::new(text.trim_end_matches(['\r', '\n']))
            }
            _ => {
                return Err(self.invalid(
                    &key("password_env"),
                    "set exactly one of password_env or password_file (never the password itself)",
                ));
            }
        };
        let default_port = match (raw.security, section) {
            (Security::Tls, _) => tls_port,
            (_, "imap") => 143,
            _ => 587,
        };
        Ok(ServerConfig {
            host: raw.host,
            port: raw.port.unwrap_or(default_port),
            security: raw.security,
            username: raw.username,
            password,
            ca_file: raw.ca_file.map(|p| self.resolve(p)),
        })
    }
}

/// The 1-based line where `section.key` is set (or where `[section]`
/// starts, for a key naming a whole section). A plain scan, enough for the
/// flat files this config is.
fn line_of(text: &str, dotted: &str) -> Option<usize> {
    let (section, key) = dotted.split_once('.').unwrap_or((dotted, ""));
    let mut current = "";
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            current = name.trim();
            if current == section && key.is_empty() {
                return Some(n + 1);
            }
            continue;
        }
        let assigned = t.split_once('=').map(|(k, _)| k.trim());
        if current == section && assigned == Some(key) {
            return Some(n + 1);
        }
    }
    None
}

/// Contacts as vCards (`FN:` and `EMAIL…:` lines) or CSV (`name,email` per
/// line; a header line and `#` comments are skipped).
pub fn parse_contacts(text: &str) -> Vec<crate::core::Person> {
    let mut out = Vec::new();
    if text.contains("BEGIN:VCARD") {
        let (mut name, mut emails) = (String::new(), Vec::new());
        for line in text.lines().map(str::trim) {
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("BEGIN:VCARD") {
                name.clear();
                emails.clear();
            } else if upper.starts_with("FN:") || upper.starts_with("FN;") {
                name = line.split_once(':').map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
            } else if upper.starts_with("EMAIL") {
                if let Some((_, v)) = line.split_once(':') {
                    emails.push(v.trim().to_owned());
                }
            } else if upper.starts_with("END:VCARD") {
                out.extend(
                    emails.drain(..).filter(|e| is_plain_address(e)).map(|e| crate::core::Person::new(name.clone(), e)),
                );
            }
        }
        return out;
    }
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let fields: Vec<&str> = line.split([',', ';', '\t']).map(|f| f.trim().trim_matches('"')).collect();
        if let Some(email) = fields.iter().find(|f| is_plain_address(f)) {
            let name = fields.iter().filter(|f| !f.contains('@')).copied().collect::<Vec<_>>().join(" ");
            out.push(crate::core::Person::new(name.trim(), *email));
        }
    }
    out
}

/// A bare `local@domain` with no display name or spaces.
pub fn is_plain_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !s.contains(char::is_whitespace)
        && !s.contains(['<', '>', ',', ';'])
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = r#"
        [bot]
        address = "intros@example.com"
        data_dir = "state"
        timezone = "America/New_York"
        [connectors]
        allow = ["carol@example.com", "@example.org"]
        [maildir]
        path = "/var/mail/intros"
        [outbox_dir]
        path = "out"
        [timing]
        follow_up_after = "3 business days"
        expire_after = "90s"
    "#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/introbot/introbot.toml"))
    }

    #[test]
    fn a_local_config_validates() {
        let c = parse(LOCAL).expect("valid");
        assert_eq!(c.data_dir, PathBuf::from("/etc/introbot/state"));
        assert_eq!(c.policy.follow_up_after, Wait::BusinessDays(3));
        assert_eq!(c.policy.expire_after, Wait::Exactly(Duration::from_secs(90)));
        assert!(c.is_connector("Carol@Example.com"));
        assert!(c.is_connector("dan@example.org"));
        assert!(!c.is_connector("eve@example.net"));
        assert!(!c.is_connector("eve@badexample.org.net"));
        assert_eq!(c.reply_address("abc"), "intros+abc@example.com");
    }

    #[test]
    fn unknown_keys_are_errors_with_a_line_number() {
        let err = parse(&LOCAL.replace("timezone", "time_zone")).expect_err("typo");
        let msg = err.to_string();
        assert!(msg.contains("time_zone") && msg.contains("line"), "{msg}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = parse(&LOCAL.replace("90s", "soon")).expect_err("bad duration").to_string();
        assert!(err.contains("introbot.toml line 14: timing.expire_after"), "{err}");
        let err = parse(&LOCAL.replace("America/New_York", "Mars/Base")).expect_err("tz").to_string();
        assert!(err.contains("bot.timezone"), "{err}");
        let err = parse(&LOCAL.replace("[outbox_dir]\n        path = \"out\"", "")).expect_err("none");
        assert!(err.to_string().contains("no mail transport"), "{err}");
    }

    #[test]
    fn plain_imap_only_to_loopback_and_secrets_from_env() {
        let text = LOCAL.replace(
            "[maildir]\n        path = \"/var/mail/intros\"",
            "[imap]\nhost = \"imap.example.com\"\nsecurity = \"plain\"\nusername = \"u\"\npassword_env = \"INTROBOT_TEST_NOPE\"",
        );
        let err = parse(&text).expect_err("plain to remote").to_string();
        assert!(err.contains("imap.security") && err.contains("loopback"), "{err}");
        let err = parse(&text.replace("imap.example.com", "127.0.0.1")).expect_err("no env").to_string();
        assert!(err.contains("INTROBOT_TEST_NOPE"), "{err}");
    }

    #[test]
    fn the_shipped_example_config_validates() {
        // PATH is set in every environment; the example's variables are not.
        let text = include_str!("../config/introbot.example.toml")
            .replace("INTROBOT_IMAP_PASSWORD", "PATH")
            .replace("INTROBOT_SMTP_PASSWORD", "PATH");
        let c = parse(&text).expect("the example config is valid");
        assert!(matches!(c.source, SourceConfig::Imap(_)));
        assert!(matches!(c.transport, TransportConfig::Smtp(_)));
    }

    #[test]
    fn contacts_from_csv_and_vcard() {
        let csv = parse_contacts("name,email\n# mine\nBob Busy, bob@example.org\n\"Eve\";eve@example.net\n");
        assert_eq!(
            csv,
            [
                crate::core::Person::new("Bob Busy", "bob@example.org"),
                crate::core::Person::new("Eve", "eve@example.net")
            ]
        );
        let vcf = parse_contacts("BEGIN:VCARD\nVERSION:3.0\nFN:Bob Busy\nEMAIL;TYPE=work:bob@example.org\nEND:VCARD\n");
        assert_eq!(vcf, [crate::core::Person::new("Bob Busy", "bob@example.org")]);
    }

    #[test]
    fn durations_in_all_documented_forms() {
        assert_eq!(parse_wait("7 business days"), Ok(Wait::BusinessDays(7)));
        assert_eq!(parse_wait("1 business day"), Ok(Wait::BusinessDays(1)));
        assert_eq!(parse_wait("10 days"), Ok(Wait::Days(10)));
        assert_eq!(parse_wait("90s"), Ok(Wait::Exactly(Duration::from_secs(90))));
        assert_eq!(parse_wait("5m"), Ok(Wait::Exactly(Duration::from_secs(300))));
        assert_eq!(parse_wait("5 minutes"), Ok(Wait::Exactly(Duration::from_secs(300))));
        assert!(parse_wait("a while").is_err());
        assert!(parse_wait("-3 days").is_err());
    }
}
