//! Durations as the config writes them: `"7 business days"`, `"10 days"`,
//! `"90s"`, `"5m"`, `"2h"`, `"250ms"`, `"5 minutes"`. Exact durations and
//! calendar days are jiff's friendly format; business days are ours (jiff
//! does not know weekends off). Pure.

use std::time::Duration;

use jiff::{SignedDuration, Span};

use crate::core::Wait;

const EXAMPLES: &str = "(examples: \"7 business days\", \"10 days\", \"90s\", \"5m\", \"2h\")";

/// Parses a waiting period: business days, calendar days, or an exact
/// duration.
pub(super) fn parse_wait(s: &str) -> Result<Wait, String> {
    let s = s.trim().to_ascii_lowercase();
    let wait = match s.split_whitespace().collect::<Vec<_>>().as_slice() {
        [n, "business", "day" | "days"] => {
            n.parse::<u32>().map(Wait::BusinessDays).map_err(|_| format!("{n:?} is not a whole number"))
        }
        _ => exact(&s).map(Wait::Exactly).or_else(|exact_err| days(&s).ok_or(exact_err).map(Wait::Days)),
    };
    wait.map_err(|e| format!("{e} {EXAMPLES}"))
}

/// Parses an exact duration: `"90s"`, `"5m"`, `"2h"`, `"250ms"`.
pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    exact(&s.trim().to_ascii_lowercase())
}

fn exact(s: &str) -> Result<Duration, String> {
    let d: SignedDuration = s.parse().map_err(|e| format!("cannot read {s:?} as a duration: {e}"))?;
    Duration::try_from(d).map_err(|_| format!("{s:?} is negative"))
}

/// Whole calendar days (`"10 days"`), nothing else.
fn days(s: &str) -> Option<u32> {
    let span: Span = s.parse().ok()?;
    let only_days = span.get_years() == 0
        && span.get_months() == 0
        && span.get_weeks() == 0
        && span.get_hours() == 0
        && span.get_minutes() == 0
        && span.get_seconds() == 0
        && span.get_milliseconds() == 0
        && span.get_microseconds() == 0
        && span.get_nanoseconds() == 0;
    only_days.then(|| u32::try_from(span.get_days()).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_all_documented_forms() {
        assert_eq!(parse_wait("7 business days"), Ok(Wait::BusinessDays(7)));
        assert_eq!(parse_wait("1 business day"), Ok(Wait::BusinessDays(1)));
        assert_eq!(parse_wait("10 days"), Ok(Wait::Days(10)));
        assert_eq!(parse_wait("1 day"), Ok(Wait::Days(1)));
        assert_eq!(parse_wait("90s"), Ok(Wait::Exactly(Duration::from_secs(90))));
        assert_eq!(parse_wait("5m"), Ok(Wait::Exactly(Duration::from_secs(300))));
        assert_eq!(parse_wait("5 minutes"), Ok(Wait::Exactly(Duration::from_secs(300))));
        assert_eq!(parse_wait("2h"), Ok(Wait::Exactly(Duration::from_secs(7200))));
        assert_eq!(parse_wait("90 S"), Ok(Wait::Exactly(Duration::from_secs(90))));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("60 secs"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("3 mins"), Ok(Duration::from_secs(180)));
    }

    #[test]
    fn what_is_not_a_duration_is_refused_with_examples() {
        for bad in ["a while", "-3 days", "-5s", "2 weeks", "1 day 2h", "3 business weeks", "x business days"] {
            let err = parse_wait(bad).expect_err(bad);
            assert!(err.contains("examples"), "{bad}: {err}");
        }
        assert!(parse_duration("10 days").is_err(), "a poll interval is exact");
    }
}
