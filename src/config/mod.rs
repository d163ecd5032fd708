//! The configuration: the TOML file in, a validated [`Config`] out.
//!
//! - [`raw`] — the file as written (serde, with each value's place in it);
//! - [`validate`] — raw values into trusted types, every error naming its key
//!   and line;
//! - [`duration`] — `"7 business days"`, `"10 days"`, `"90s"`, `"5m"`;
//! - [`secrets`] — passwords, named by the file, never in it;
//! - [`contacts`] — the connector's contacts file;
//! - [`trust`] — `[security]` (whose Authentication-Results count) and
//!   `[limits]` (how much the bot does for anyone).
//!
//! Parsing and validation are pure. [`Config::load`] is the one place that
//! touches the outside: it reads the file, then the environment variables
//! and files the file names ([`Outside`]), and hands all of it to the pure
//! part.

mod contacts;
mod duration;
mod raw;
mod secrets;
mod trust;
mod validate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::core::{Address, AddressError, Person, Policy};
pub use secrets::Secret;
pub use trust::Limits;

use crate::mail::auth::AuthPolicy;

/// What can be wrong with a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {}", path.display())]
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
    /// Whether to log in at all: false only for an `[smtp]` relay given no
    /// `username` (the local MTA on loopback, which takes mail without AUTH).
    pub login: bool,
    /// Login name (empty without `login`).
    pub username: String,
    /// Password, from the environment, a file or a systemd credential.
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
        /// How long one run may take before it is killed (a transient failure).
        timeout: Duration,
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
    pub address: Address,
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
    /// Allowed connectors: addresses and whole domains.
    pub allow: Vec<Allowed>,
    /// Bcc the connector on the introduction.
    pub bcc_connector_on_introduction: bool,
    /// People from the contacts file, for targets whose address a request lacks.
    pub contacts: Vec<Person>,
    /// The state machine's rules.
    pub policy: Policy,
    /// When the connector sees what each party would read before anyone
    /// is written to.
    pub preview: Preview,
    /// The mail source.
    pub source: SourceConfig,
    /// The mail transport.
    pub transport: TransportConfig,
    /// Longest wait between reconnects and send retries.
    pub backoff_max: Duration,
    /// Whose `Authentication-Results` to read and what must pass
    /// (`[security]`).
    pub security: AuthPolicy,
    /// How much the bot does for anyone (`[limits]`).
    pub limits: Limits,
}

/// `[consent] preview`: when to show the connector exactly what each party
/// would read, and wait for their `send`, before writing to anyone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preview {
    /// Never: write to the parties at once.
    Off,
    /// When the bot had to guess a name, an address or the summary (the
    /// default).
    #[default]
    Unsure,
    /// For every request.
    Always,
}

/// Who may start intros: one mailbox, or everyone at a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// This mailbox (compared with [`Address::same_mailbox`]).
    Mailbox(Address),
    /// Every address at this domain (canonical: lowercase ASCII); not its
    /// subdomains.
    Domain(String),
}

impl Config {
    /// Reads and validates a config file: the one place the configuration
    /// touches the disk and the environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        if let Some((key, line)) = secrets::password_in_text(&text) {
            let world_readable = std::fs::metadata(path).map(|m| permissions::mode(&m) & 0o004 != 0).unwrap_or(false);
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                line: Some(line),
                key,
                message: secrets::password_in_file_message(world_readable),
            });
        }
        let raw = raw::parse(&text).map_err(|e| syntax(path, e))?;
        let outside = Outside::read(&raw, path.parent().unwrap_or(Path::new(".")));
        validate::validate(raw, &text, path, &outside)
    }

    /// Validates config text without reading anything: the variables and
    /// files it names are looked up in `outside`. `path` is used in
    /// messages and to resolve relative paths.
    #[cfg(test)]
    pub(crate) fn parse(text: &str, path: &Path, outside: &Outside) -> Result<Config, ConfigError> {
        let raw = raw::parse(text).map_err(|e| syntax(path, e))?;
        validate::validate(raw, text, path, outside)
    }

    /// The bot's reply address for a token: `intros+TOKEN@example.com`.
    pub fn reply_address(&self, token: &str) -> Result<Address, AddressError> {
        self.address.with_tag(token)
    }

    /// Whether `email` may start intros.
    pub fn is_connector(&self, email: &Address) -> bool {
        self.allow.iter().any(|a| match a {
            Allowed::Mailbox(allowed) => allowed.same_mailbox(email),
            Allowed::Domain(domain) => email.canonical().domain() == domain,
        })
    }
}

fn syntax(path: &Path, e: toml::de::Error) -> ConfigError {
    ConfigError::Syntax { path: path.to_owned(), message: e.to_string() }
}

/// What a config file names outside itself, as the loader found it: the
/// values of environment variables and the contents of files (passwords,
/// contacts). Validation looks them up here and never reads anything.
#[derive(Debug, Default)]
pub(crate) struct Outside {
    vars: HashMap<String, String>,
    files: HashMap<PathBuf, Result<String, String>>,
    /// Where `password_credential`s were looked for.
    credentials: PathBuf,
    /// Permission bits of the files read.
    modes: HashMap<PathBuf, u32>,
}

/// Unix permission bits, apart so the pure part never sees `std::fs`.
mod permissions {
    use std::os::unix::fs::PermissionsExt;

    pub(super) fn mode(meta: &std::fs::Metadata) -> u32 {
        meta.permissions().mode() & 0o7777
    }
}

/// Where the admin keeps credential files: `credentials/` beside the config
/// (`/etc/introbot/credentials/`), the files the unit's `LoadCredential=`
/// lines read.
pub fn credentials_dir(config_path: &Path) -> PathBuf {
    config_path.parent().unwrap_or(Path::new(".")).join("credentials")
}

impl Outside {
    /// Reads what `raw` names; relative paths are against `base`. A variable
    /// that is not set or a file that cannot be read is left for validation
    /// to report with the key that named it.
    fn read(raw: &raw::RawConfig, base: &Path) -> Outside {
        // Inside the service systemd has copied the credentials in; anywhere
        // else (`introbot check` before the first start) they are read where
        // the admin put them.
        let credentials =
            std::env::var_os("CREDENTIALS_DIRECTORY").map_or_else(|| base.join("credentials"), PathBuf::from);
        let mut outside = Outside { credentials: credentials.clone(), ..Outside::default() };
        let mut read_file = |p: &Path| {
            let path = if p.is_absolute() { p.to_owned() } else { base.join(p) };
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
            if let Ok(meta) = std::fs::metadata(&path) {
                outside.modes.insert(path.clone(), permissions::mode(&meta));
            }
            outside.files.insert(path, text);
        };
        for server in [&raw.imap, &raw.smtp].into_iter().flatten() {
            if let Some(file) = &server.get_ref().password_file {
                read_file(file.get_ref().as_path());
            }
            if let Some(name) = &server.get_ref().password_credential
                && secrets::is_credential_name(name.get_ref())
            {
                read_file(&credentials.join(name.get_ref()));
            }
        }
        if let Some(contacts) = &raw.connectors.contacts {
            read_file(contacts.get_ref().as_path());
        }
        for server in [&raw.imap, &raw.smtp].into_iter().flatten() {
            if let Some(var) = &server.get_ref().password_env
                && let Ok(value) = std::env::var(var.get_ref())
            {
                outside.vars.insert(var.get_ref().clone(), value);
            }
        }
        outside
    }

    /// An environment variable's value, if it was set.
    fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A file's text, or why it could not be read.
    fn file(&self, path: &Path) -> Result<&str, String> {
        match self.files.get(path) {
            Some(Ok(text)) => Ok(text),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not read".into()),
        }
    }

    /// A credential's file, and its text or why it could not be read.
    fn credential(&self, name: &str) -> (PathBuf, Result<&str, String>) {
        let path = self.credentials.join(name);
        let text = self.file(&path);
        (path, text)
    }

    /// This, with a file read (for tests).
    #[cfg(test)]
    pub(crate) fn with_file(mut self, path: &Path, text: &str) -> Outside {
        self.files.insert(path.to_owned(), Ok(text.to_owned()));
        self
    }

    /// A file's permission bits, if it was read.
    fn mode(&self, path: &Path) -> Option<u32> {
        self.modes.get(path).copied()
    }

    /// This, with a file's permission bits (for tests).
    #[cfg(test)]
    pub(crate) fn with_mode(mut self, path: &Path, mode: u32) -> Outside {
        self.modes.insert(path.to_owned(), mode);
        self
    }

    /// This, with an environment variable set (for tests).
    #[cfg(test)]
    pub(crate) fn with_var(mut self, name: &str, value: &str) -> Outside {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Wait;

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
        Config::parse(text, Path::new("/etc/introbot/introbot.toml"), &Outside::default())
    }

    fn address(s: &str) -> Address {
        Address::parse(s).expect("valid")
    }

    #[test]
    fn a_local_config_validates() {
        let c = parse(LOCAL).expect("valid");
        assert_eq!(c.data_dir, PathBuf::from("/etc/introbot/state"));
        assert_eq!(c.policy.follow_up_after, Wait::BusinessDays(3));
        assert_eq!(c.policy.expire_after, Wait::Exactly(Duration::from_secs(90)));
        assert!(c.is_connector(&address("Carol@Example.com")));
        assert!(c.is_connector(&address("carol+intros@example.com")), "the same mailbox");
        assert!(c.is_connector(&address("dan@example.org")));
        assert!(c.is_connector(&address("Dan@EXAMPLE.org")));
        assert!(!c.is_connector(&address("eve@example.net")));
        assert!(!c.is_connector(&address("eve@badexample.org.net")));
        assert!(!c.is_connector(&address("eve@sub.example.org")), "not subdomains");
        assert_eq!(c.reply_address("abc").expect("valid").as_str(), "intros+abc@example.com");
    }

    #[test]
    fn preview_and_holidays() {
        let c = parse(LOCAL).expect("valid");
        assert_eq!((c.preview, c.policy.holidays.len()), (Preview::Unsure, 0), "the defaults");
        let text = LOCAL
            .replace("[maildir]", "[consent]\npreview = \"always\"\n[maildir]")
            .replace("expire_after = \"90s\"", "expire_after = \"90s\"\nholidays = [\"2027-01-01\", \"2026-12-25\"]");
        let c = parse(&text).expect("valid");
        assert_eq!(c.preview, Preview::Always);
        assert_eq!(c.policy.holidays, [jiff::civil::date(2026, 12, 25), jiff::civil::date(2027, 1, 1)]);
        let err = parse(&text.replace("2026-12-25", "Christmas")).expect_err("not a date").to_string();
        assert!(err.contains("timing.holidays") && err.contains("\"Christmas\" is not a date"), "{err}");
        assert!(parse(&text.replace("\"always\"", "\"sometimes\"")).is_err());
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
        let err = parse(&LOCAL.replace("\"@example.org\"", "\"@nodot\"")).expect_err("bad domain").to_string();
        assert!(err.contains("line 7: connectors.allow"), "{err}");
        let err = parse(&LOCAL.replace("intros@example.com", "intros+x@example.com")).expect_err("tag").to_string();
        assert!(err.contains("line 3: bot.address") && err.contains("no '+tag'"), "{err}");
        // 29 characters leave room for a token; 30 do not.
        let fits = format!("{}@example.com", "i".repeat(29));
        assert!(parse(&LOCAL.replace("intros@example.com", &fits)).is_ok(), "29 characters fit");
        let long = format!("{}@example.com", "i".repeat(30));
        let err = parse(&LOCAL.replace("intros@example.com", &long)).expect_err("too long").to_string();
        assert!(err.contains("line 3: bot.address") && err.contains("use at most 29 characters"), "{err}");
        let both = LOCAL.replace("[outbox_dir]", "[imap]\nhost = \"h\"\nusername = \"u\"\n[outbox_dir]");
        let err = parse(&both).expect_err("two sources").to_string();
        assert!(err.contains("line 10: imap: set either"), "{err}");
    }

    #[test]
    fn files_the_config_names_are_read_by_the_loader_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pw"), "secret\n").expect("write");
        let owner_only = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        };
        owner_only(&dir.path().join("pw"));
        std::fs::write(dir.path().join("contacts.csv"), "Bob Busy, bob@example.org\n").expect("write");
        let text = LOCAL.replace("allow = [", "contacts = \"contacts.csv\"\nallow = [").replace(
            "[outbox_dir]\n        path = \"out\"",
            "[smtp]\nhost = \"localhost\"\nsecurity = \"plain\"\nusername = \"u\"\npassword_file = \"pw\"",
        );
        let path = dir.path().join("introbot.toml");
        std::fs::write(&path, &text).expect("write");
        let c = Config::load(&path).expect("valid");
        let TransportConfig::Smtp(smtp) = &c.transport else { panic!("smtp") };
        assert_eq!(smtp.password.expose(), "secret");
        assert_eq!(c.contacts, [Person::parse("Bob Busy", "bob@example.org").expect("valid")]);
        // Without the loader, nothing is read: the same text names files it cannot see.
        let err = Config::parse(&text, &path, &Outside::default()).expect_err("not read").to_string();
        assert!(err.contains("smtp.password_file") && err.contains("not read"), "{err}");
    }

    /// A password that every local user can read is refused with the
    /// reason (issue 10); so is a password written into the config itself.
    #[test]
    fn exposed_passwords_are_refused_with_the_reason() {
        let text = LOCAL.replace(
            "[outbox_dir]\n        path = \"out\"",
            "[smtp]\nhost = \"localhost\"\nsecurity = \"plain\"\nusername = \"u\"\npassword_file = \"/etc/introbot/pw\"",
        );
        let path = Path::new("/etc/introbot/introbot.toml");
        let world = Outside::default()
            .with_file(Path::new("/etc/introbot/pw"), "secret")
            .with_mode(Path::new("/etc/introbot/pw"), 0o644);
        let err = Config::parse(&text, path, &world).expect_err("world-readable").to_string();
        assert!(
            err.contains("smtp.password_file") && err.contains("every user on this machine can read it (mode 644)"),
            "{err}"
        );
        assert!(err.contains("chmod 600 /etc/introbot/pw"), "{err}");
        let owner = Outside::default()
            .with_file(Path::new("/etc/introbot/pw"), "secret")
            .with_mode(Path::new("/etc/introbot/pw"), 0o600);
        assert!(Config::parse(&text, path, &owner).is_ok());
        let group = Outside::default()
            .with_file(Path::new("/etc/introbot/pw"), "secret")
            .with_mode(Path::new("/etc/introbot/pw"), 0o640);
        assert!(Config::parse(&text, path, &group).is_ok(), "a group the operator chose may read it");

        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("introbot.toml");
        std::fs::write(&file, LOCAL.replace("[maildir]", "[imap]\npassword = \"hunter2\"\n[maildir]")).expect("write");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let err = Config::load(&file).expect_err("a password in the file").to_string();
        assert!(err.contains("imap.password") && err.contains("never go in the config file"), "{err}");
        assert!(err.contains("readable by every user") && err.contains("change it"), "{err}");
    }

    #[test]
    fn security_and_limits_have_defaults_and_name_their_errors() {
        let c = parse(LOCAL).expect("valid");
        assert_eq!(c.security, AuthPolicy::default());
        assert!(!c.security.is_enforced());
        assert_eq!(c.limits, Limits::default());
        let c = parse(&format!("{LOCAL}\n[security]\nauthserv_id = \"MX.Example.com\"\n")).expect("valid");
        assert_eq!(c.security.authserv_id.as_deref(), Some("mx.example.com"));
        assert_eq!(c.security.require, crate::mail::auth::Require::Dmarc, "dmarc by default");
        let err = parse(&format!("{LOCAL}\n[security]\nrequire = \"dkim\"\n")).expect_err("no id").to_string();
        assert!(err.contains("security.require") && err.contains("needs authserv_id"), "{err}");
        let err = parse(&format!("{LOCAL}\n[security]\nauthserv_id = \"mx\"\nrequire = \"dane\"\n"))
            .expect_err("unknown")
            .to_string();
        assert!(err.contains("line 18: security.require"), "{err}");
        let limits = "\n[limits]\nintros_per_connector_per_day = 2\ncooldown = \"30 days\"\nmax_message_size = \"1 MB\"\nnotes_per_connector_per_day = 7\n";
        let c = parse(&format!("{LOCAL}{limits}")).expect("valid");
        assert_eq!(c.limits.intros_per_connector_per_day, 2);
        assert_eq!(c.limits.notes_per_connector_per_day, 7);
        assert_eq!(c.limits.cooldown, Duration::from_secs(30 * 86_400));
        assert_eq!(c.limits.max_message_size, 1_000_000);
        assert_eq!(c.limits.emails_per_address_per_day, 5, "the rest keep their defaults");
        let err = parse(&format!("{LOCAL}\n[limits]\nasks_per_target_per_30_days = 0\n")).expect_err("0").to_string();
        assert!(err.contains("limits.asks_per_target_per_30_days") && err.contains("at least 1"), "{err}");
        let err = parse(&format!("{LOCAL}\n[limits]\ncooldown = \"3 business days\"\n")).expect_err("bd").to_string();
        assert!(err.contains("limits.cooldown"), "{err}");
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
        let outside = Outside::default().with_var("INTROBOT_TEST_NOPE", "pw");
        let local = text.replace("imap.example.com", "127.0.0.1");
        let c = Config::parse(&local, Path::new("/etc/introbot/introbot.toml"), &outside).expect("env set");
        let SourceConfig::Imap(imap) = c.source else { panic!("imap") };
        assert_eq!(imap.server.password.expose(), "pw");
    }

    #[test]
    fn passwords_from_systemd_credentials_and_smtp_without_login() {
        let text = LOCAL.replace(
            "[maildir]\n        path = \"/var/mail/intros\"",
            "[imap]\nhost = \"imap.example.com\"\nusername = \"u\"\npassword_credential = \"imap\"",
        );
        let path = Path::new("/etc/introbot/introbot.toml");
        let found = Outside::default().with_file(Path::new("imap"), "pw\n");
        let c = Config::parse(&text, path, &found).expect("credential read");
        let SourceConfig::Imap(imap) = c.source else { panic!("imap") };
        assert_eq!(imap.server.password.expose(), "pw");
        assert!(imap.server.login);
        // The unit's fallback for a missing file is an empty credential: say where it belongs.
        let empty = Outside::default().with_file(Path::new("imap"), "\n");
        let err = Config::parse(&text, path, &empty).expect_err("empty").to_string();
        assert!(
            err.contains("line 11: imap.password_credential: credential imap is empty: put the password in /etc/introbot/credentials/imap"),
            "{err}"
        );
        let err = parse(&text.replace("\"imap\"\n", "\"../imap\"\n")).expect_err("not a name").to_string();
        assert!(err.contains("not a credential name"), "{err}");
        let two = text.replace("password_credential", "password_env = \"X\"\npassword_credential");
        assert!(parse(&two).expect_err("two").to_string().contains("only one of"));
        assert!(
            parse(&text.replace("username = \"u\"\n", "")).expect_err("no user").to_string().contains("imap.username")
        );

        // The local MTA on loopback: no username, no password, no AUTH.
        let relay = LOCAL.replace(
            "[outbox_dir]\n        path = \"out\"",
            "[smtp]\nhost = \"127.0.0.1\"\nport = 25\nsecurity = \"plain\"",
        );
        let c = parse(&relay).expect("smtp without login");
        let TransportConfig::Smtp(smtp) = c.transport else { panic!("smtp") };
        assert!(!smtp.login);
        let err = parse(&relay.replace("plain\"", "plain\"\npassword_env = \"X\"")).expect_err("password alone");
        assert!(err.to_string().contains("a password without a username"), "{err}");
    }

    #[test]
    fn sendmail_has_a_timeout() {
        let sendmail = LOCAL.replace("[outbox_dir]\n        path = \"out\"", "[sendmail]");
        let TransportConfig::Sendmail { timeout, .. } = parse(&sendmail).expect("valid").transport else {
            panic!("sendmail")
        };
        assert_eq!(timeout, Duration::from_secs(60));
        let c = parse(&sendmail.replace("[sendmail]", "[sendmail]\ntimeout = \"5s\"")).expect("valid");
        assert!(matches!(c.transport, TransportConfig::Sendmail { timeout, .. } if timeout == Duration::from_secs(5)));
        assert!(parse(&sendmail.replace("[sendmail]", "[sendmail]\ntimeout = \"soon\"")).is_err());
    }

    #[test]
    fn the_shipped_example_config_validates() {
        let text = include_str!("../../config/introbot.example.toml");
        let outside = Outside::default().with_file(Path::new("imap"), "i").with_file(Path::new("smtp"), "s");
        let c = Config::parse(text, Path::new("/etc/introbot/introbot.toml"), &outside).expect("the example is valid");
        assert!(matches!(c.source, SourceConfig::Imap(_)));
        assert!(matches!(c.transport, TransportConfig::Smtp(_)));
    }
}
