//! The file as written: serde structs mirroring `config/introbot.example.toml`.
//!
//! Unknown keys are rejected, so a typo is an error rather than a silent
//! default. Values whose validation can fail keep their place in the file
//! (toml's [`Spanned`]), so an error names the line. Nothing here checks a
//! value's meaning: that is `validate`'s job.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::{Preview, Security};

/// Parses the text of a config file (pure).
pub(super) fn parse(text: &str) -> Result<RawConfig, toml::de::Error> {
    toml::from_str(text)
}

/// A value and where it is written.
pub(super) type At<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) bot: RawBot,
    pub(super) connectors: RawConnectors,
    #[serde(default)]
    pub(super) consent: RawConsent,
    pub(super) imap: Option<At<RawServer>>,
    pub(super) smtp: Option<At<RawServer>>,
    pub(super) maildir: Option<At<RawMaildir>>,
    pub(super) sendmail: Option<At<RawSendmail>>,
    pub(super) outbox_dir: Option<At<RawPath>>,
    #[serde(default)]
    pub(super) timing: RawTiming,
    #[serde(default)]
    pub(super) security: RawSecurity,
    #[serde(default)]
    pub(super) limits: RawLimits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBot {
    pub(super) address: At<String>,
    #[serde(default = "default_name")]
    pub(super) name: String,
    pub(super) data_dir: PathBuf,
    pub(super) timezone: Option<At<String>>,
    pub(super) templates: Option<PathBuf>,
}

fn default_name() -> String {
    "Intro Bot".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnectors {
    pub(super) allow: At<Vec<String>>,
    #[serde(default)]
    pub(super) bcc_on_introduction: bool,
    pub(super) contacts: Option<At<PathBuf>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConsent {
    #[serde(default)]
    pub(super) requester: RawRequesterConsent,
    #[serde(default)]
    pub(super) preview: Preview,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawRequesterConsent {
    #[default]
    Ask,
    Implied,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) host: String,
    pub(super) port: Option<u16>,
    pub(super) security: Option<At<Security>>,
    /// Optional only under `[smtp]`: without it, mail goes out without
    /// logging in (the local MTA on loopback).
    pub(super) username: Option<String>,
    pub(super) password_env: Option<At<String>>,
    pub(super) password_file: Option<At<PathBuf>>,
    pub(super) password_credential: Option<At<String>>,
    pub(super) ca_file: Option<PathBuf>,
    // IMAP only; rejected under [smtp] by validation.
    pub(super) mailbox: Option<String>,
    pub(super) idle: Option<bool>,
    pub(super) poll_interval: Option<At<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMaildir {
    pub(super) path: PathBuf,
    pub(super) poll_interval: Option<At<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSendmail {
    #[serde(default = "default_sendmail")]
    pub(super) command: PathBuf,
    pub(super) timeout: Option<At<String>>,
}

fn default_sendmail() -> PathBuf {
    PathBuf::from("/usr/sbin/sendmail")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPath {
    pub(super) path: PathBuf,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTiming {
    pub(super) follow_up_after: Option<At<String>>,
    pub(super) expire_after: Option<At<String>>,
    pub(super) backoff_max: Option<At<String>>,
    #[serde(default)]
    pub(super) holidays: Option<At<Vec<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecurity {
    pub(super) authserv_id: Option<At<String>>,
    pub(super) require: Option<At<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) intros_per_connector_per_day: Option<At<u32>>,
    pub(super) asks_per_target_per_30_days: Option<At<u32>>,
    pub(super) cooldown: Option<At<String>>,
    pub(super) emails_per_address_per_day: Option<At<u32>>,
    pub(super) max_message_size: Option<At<String>>,
    pub(super) held_replies_per_intro: Option<At<u32>>,
    pub(super) notes_per_connector_per_day: Option<At<u32>>,
}
