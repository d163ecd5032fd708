//! `[security]` and `[limits]`: whose word the bot takes and how much it
//! does for anyone. Pure: raw values in, [`AuthPolicy`] and [`Limits`] out,
//! or the key, its place and what is wrong.

use std::ops::Range;
use std::time::Duration;

use super::duration::parse_wait;
use super::raw::{At, RawLimits, RawSecurity};
use crate::core::Wait;
use crate::mail::auth::{AuthPolicy, Require};

/// What the bot will do for anyone, at most (`[limits]`). Each refusal is
/// explained to the connector once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Intros one connector may start in a day.
    pub intros_per_connector_per_day: u32,
    /// Consent asks to one address as target in 30 days, across connectors.
    pub asks_per_target_per_30_days: u32,
    /// How long a pair that is open or declined is not asked again, and a
    /// party who ignored [`Limits::IGNORED_ASKS`] asks in a row is not asked.
    pub cooldown: Duration,
    /// Emails to any one address (not a connector) in a day, across intros.
    pub emails_per_address_per_day: u32,
    /// Mail bigger than this is filed aside unread.
    pub max_message_size: u64,
    /// Notes to the connector about replies held in one intro; also the
    /// unclear-reply notes about one party who keeps writing unclear mail.
    pub held_replies_per_intro: u32,
    /// Notes outside an intro's own mail (`help`, `status`, a request it
    /// cannot use, answers to commands) to one connector address in a day:
    /// without `[security]`, anyone can forge a connector's `From` and ask.
    pub notes_per_connector_per_day: u32,
}

impl Limits {
    /// Asks in a row left unanswered after which a person rests for
    /// [`Limits::cooldown`].
    pub const IGNORED_ASKS: u32 = 3;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            intros_per_connector_per_day: 20,
            asks_per_target_per_30_days: 3,
            cooldown: Duration::from_secs(90 * 86_400),
            emails_per_address_per_day: 5,
            max_message_size: 10 * 1000 * 1000,
            held_replies_per_intro: 3,
            // Far more than a person asks for in a day.
            notes_per_connector_per_day: 30,
        }
    }
}

/// A config error before it knows its file: the key, where it is written,
/// and what is wrong.
pub(super) type Problem = (&'static str, Option<Range<usize>>, String);

/// `[security]`: an authserv-id makes `require` default to DMARC; a
/// `require` other than `none` without an authserv-id has nothing to read.
pub(super) fn security(raw: &RawSecurity) -> Result<AuthPolicy, Problem> {
    let id = match &raw.authserv_id {
        None => None,
        Some(v) => {
            let id = v.get_ref().trim().to_ascii_lowercase();
            let ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !ok {
                return Err((
                    "security.authserv_id",
                    Some(v.span()),
                    format!("{:?} is not a server name like \"mx.example.com\"", v.get_ref()),
                ));
            }
            Some(id)
        }
    };
    let require = match &raw.require {
        None => Require::Dmarc,
        Some(v) => v.get_ref().parse::<Require>().map_err(|e| ("security.require", Some(v.span()), e))?,
    };
    if id.is_none() && raw.require.as_ref().is_some_and(|_| require != Require::None) {
        let at = raw.require.as_ref().map(At::span);
        return Err((
            "security.require",
            at,
            format!(
                "\"{}\" needs authserv_id: the name of the server whose Authentication-Results to trust",
                require.as_str()
            ),
        ));
    }
    Ok(AuthPolicy { authserv_id: id, require })
}

/// `[limits]`, each value at least 1.
pub(super) fn limits(raw: &RawLimits) -> Result<Limits, Problem> {
    let d = Limits::default();
    let count = |key: &'static str, v: &Option<At<u32>>, default: u32| match v {
        None => Ok(default),
        Some(v) if *v.get_ref() == 0 => {
            Err((key, Some(v.span()), "must be at least 1 (a large number turns the limit off)".to_owned()))
        }
        Some(v) => Ok(*v.get_ref()),
    };
    let cooldown = match &raw.cooldown {
        None => d.cooldown,
        Some(v) => match parse_wait(v.get_ref()) {
            Ok(Wait::Days(n)) => Duration::from_secs(u64::from(n) * 86_400),
            Ok(Wait::Exactly(d)) => d,
            Ok(Wait::BusinessDays(_)) => {
                return Err(("limits.cooldown", Some(v.span()), "use calendar days (\"90 days\")".to_owned()));
            }
            Err(e) => return Err(("limits.cooldown", Some(v.span()), e)),
        },
    };
    let max_message_size = match &raw.max_message_size {
        None => d.max_message_size,
        Some(v) => parse_size(v.get_ref()).map_err(|e| ("limits.max_message_size", Some(v.span()), e))?,
    };
    Ok(Limits {
        intros_per_connector_per_day: count(
            "limits.intros_per_connector_per_day",
            &raw.intros_per_connector_per_day,
            d.intros_per_connector_per_day,
        )?,
        asks_per_target_per_30_days: count(
            "limits.asks_per_target_per_30_days",
            &raw.asks_per_target_per_30_days,
            d.asks_per_target_per_30_days,
        )?,
        cooldown,
        emails_per_address_per_day: count(
            "limits.emails_per_address_per_day",
            &raw.emails_per_address_per_day,
            d.emails_per_address_per_day,
        )?,
        max_message_size,
        held_replies_per_intro: count(
            "limits.held_replies_per_intro",
            &raw.held_replies_per_intro,
            d.held_replies_per_intro,
        )?,
        notes_per_connector_per_day: count(
            "limits.notes_per_connector_per_day",
            &raw.notes_per_connector_per_day,
            d.notes_per_connector_per_day,
        )?,
    })
}

/// Parses `"10 MB"`, `"512 KB"`, `"1 GiB"`, `"2000000"` (bytes).
pub(super) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} does not start with a whole number"))?;
    let unit = match unit.trim() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000 * 1000,
        "g" | "gb" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} in {s:?} (examples: \"10 MB\", \"512 KB\")")),
    };
    let size = n.checked_mul(unit).ok_or_else(|| format!("{s:?} is too big"))?;
    if size < 1024 {
        return Err(format!("{s:?} is smaller than any real email"));
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_the_documented_forms() {
        assert_eq!(parse_size("10 MB"), Ok(10_000_000));
        assert_eq!(parse_size("512kb"), Ok(512_000));
        assert_eq!(parse_size("1 MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2000000"), Ok(2_000_000));
        assert!(parse_size("ten MB").is_err());
        assert!(parse_size("10 furlongs").is_err());
        assert!(parse_size("12").is_err(), "12 bytes is no email");
    }
}
