//! Waiting periods: "7 business days" in the connector's time zone, or a
//! plain duration.
//!
//! Business days skip Saturdays and Sundays and keep the wall-clock time of
//! day, so a note asked on Friday at 15:00 with one business day to go is due
//! on Monday at 15:00, across a DST change too (the civil time is kept, not the
//! number of elapsed hours). Holidays the operator lists (`[timing]
//! holidays`) are skipped like weekends; no country's calendar is built in
//! (no well-kept crate provides one), so the list is the whole truth.

use std::fmt;
use std::time::Duration;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

/// How long to wait before a timer is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wait {
    /// Weekdays (Monday to Friday) in the configured time zone.
    BusinessDays(u32),
    /// Calendar days in the configured time zone (a day may be 23 or 25 hours).
    Days(u32),
    /// An exact amount of elapsed time; for tests and demos.
    Exactly(Duration),
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::BusinessDays(1) => write!(f, "1 business day"),
            Wait::BusinessDays(n) => write!(f, "{n} business days"),
            Wait::Days(1) => write!(f, "1 day"),
            Wait::Days(n) => write!(f, "{n} days"),
            Wait::Exactly(d) => write!(f, "{}s", d.as_secs_f64()),
        }
    }
}

/// The instant `wait` after `start`, counted in `tz`.
///
/// Saturates at jiff's maximum instant instead of failing: a timer that far
/// away is as good as never.
pub fn add_wait(start: Timestamp, wait: Wait, tz: &TimeZone) -> Timestamp {
    add_wait_skipping(start, wait, tz, &[])
}

/// [`add_wait`], with `holidays` (dates in `tz`) not counted as business
/// days. Calendar days and exact durations count them like any day.
pub(crate) fn add_wait_skipping(start: Timestamp, wait: Wait, tz: &TimeZone, holidays: &[Date]) -> Timestamp {
    let zoned = start.to_zoned_datetime(tz.clone());
    let due = match wait {
        Wait::Exactly(d) => return start.saturating_add(d).unwrap_or(Timestamp::MAX),
        Wait::Days(n) => zoned.checked_add(Span::new().days(i64::from(n))),
        Wait::BusinessDays(n) => {
            let mut date = zoned.date();
            let mut left = n;
            while left > 0 {
                date = match date.tomorrow() {
                    Ok(d) => d,
                    Err(_) => return Timestamp::MAX,
                };
                if is_business_day(date, holidays) {
                    left -= 1;
                }
            }
            zoned.with().date(date).build()
        }
    };
    due.map(|z| z.timestamp()).unwrap_or(Timestamp::MAX)
}

/// 09:00 in `tz` on the first business day after `date`: when someone
/// whose out-of-office says they are back on `date` may be written to.
pub(crate) fn morning_after(date: Date, tz: &TimeZone, holidays: &[Date]) -> Timestamp {
    let mut day = date;
    loop {
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => return Timestamp::MAX,
        };
        if is_business_day(day, holidays) {
            break;
        }
    }
    day.at(9, 0, 0, 0).to_zoned_datetime(tz.clone()).map_or(Timestamp::MAX, |z| z.timestamp())
}

/// Monday to Friday, and not one of `holidays`.
pub(crate) fn is_business_day(date: Date, holidays: &[Date]) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !holidays.contains(&date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").expect("tzdb has America/New_York")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp literal")
    }

    fn local(ts: Timestamp, tz: &TimeZone) -> String {
        ts.to_zoned_datetime(tz.clone()).datetime().to_string()
    }

    #[test]
    fn friday_plus_one_business_day_is_monday_same_time() {
        // 2026-11-27 is a Friday; 15:00 in New York.
        let start = at("2026-11-27T20:00:00Z");
        let due = add_wait(start, Wait::BusinessDays(1), &ny());
        assert_eq!(local(due, &ny()), "2026-11-30T15:00:00");
    }

    #[test]
    fn seven_business_days_span_one_weekend_from_a_wednesday() {
        let start = at("2026-11-25T14:00:00Z"); // Wednesday 09:00 EST
        let due = add_wait(start, Wait::BusinessDays(7), &ny());
        assert_eq!(local(due, &ny()), "2026-12-04T09:00:00"); // next Friday
    }

    #[test]
    fn weekend_start_counts_from_monday() {
        let start = at("2026-11-28T15:00:00Z"); // Saturday 10:00 EST
        let due = add_wait(start, Wait::BusinessDays(1), &ny());
        assert_eq!(local(due, &ny()), "2026-11-30T10:00:00");
        let due = add_wait(start, Wait::BusinessDays(5), &ny());
        assert_eq!(local(due, &ny()), "2026-12-04T10:00:00");
    }

    #[test]
    fn business_days_keep_wall_clock_across_dst_end() {
        // US DST ends Sunday 2026-11-01: Friday 09:00 EDT (-4) -> Monday 09:00 EST (-5).
        let start = at("2026-10-30T13:00:00Z");
        let due = add_wait(start, Wait::BusinessDays(1), &ny());
        assert_eq!(local(due, &ny()), "2026-11-02T09:00:00");
        assert_eq!(due, at("2026-11-02T14:00:00Z"), "one more elapsed hour");
    }

    #[test]
    fn business_days_keep_wall_clock_across_dst_start() {
        // US DST starts Sunday 2026-03-08.
        let start = at("2026-03-06T14:00:00Z"); // Friday 09:00 EST
        let due = add_wait(start, Wait::BusinessDays(1), &ny());
        assert_eq!(local(due, &ny()), "2026-03-09T09:00:00");
        assert_eq!(due, at("2026-03-09T13:00:00Z"), "one fewer elapsed hour");
    }

    #[test]
    fn same_instant_differs_by_time_zone() {
        // Friday 23:30 in New York is already Saturday in Berlin.
        let start = at("2026-11-28T04:30:00Z");
        let berlin = TimeZone::get("Europe/Berlin").expect("tzdb has Europe/Berlin");
        assert_eq!(local(add_wait(start, Wait::BusinessDays(1), &ny()), &ny()), "2026-11-30T23:30:00");
        assert_eq!(local(add_wait(start, Wait::BusinessDays(1), &berlin), &berlin), "2026-11-30T05:30:00");
    }

    #[test]
    fn calendar_days_and_exact_durations() {
        let start = at("2026-11-27T20:00:00Z");
        assert_eq!(add_wait(start, Wait::Days(2), &ny()), at("2026-11-29T20:00:00Z"));
        assert_eq!(add_wait(start, Wait::Exactly(Duration::from_secs(90)), &ny()), at("2026-11-27T20:01:30Z"));
        assert_eq!(add_wait(start, Wait::BusinessDays(0), &ny()), start);
    }

    #[test]
    fn holidays_are_skipped_like_weekends() {
        // Wednesday 2026-12-23, 09:00 EST; Christmas is a Friday.
        let start = at("2026-12-23T14:00:00Z");
        let christmas: Date = "2026-12-25".parse().expect("date");
        let new_year: Date = "2027-01-01".parse().expect("date");
        let due = add_wait_skipping(start, Wait::BusinessDays(2), &ny(), &[christmas]);
        assert_eq!(local(due, &ny()), "2026-12-28T09:00:00", "Thursday, then Monday");
        let due = add_wait_skipping(start, Wait::BusinessDays(7), &ny(), &[christmas, new_year]);
        assert_eq!(local(due, &ny()), "2027-01-05T09:00:00");
        // Calendar days do not care.
        assert_eq!(add_wait_skipping(start, Wait::Days(2), &ny(), &[christmas]), add_wait(start, Wait::Days(2), &ny()));
        // A start on a holiday counts from the next business day, as on a weekend.
        let on_christmas = at("2026-12-25T15:00:00Z");
        let due = add_wait_skipping(on_christmas, Wait::BusinessDays(1), &ny(), &[christmas]);
        assert_eq!(local(due, &ny()), "2026-12-28T10:00:00");
    }

    #[test]
    fn the_morning_after_a_return_date_is_a_business_day() {
        let christmas: Date = "2026-12-25".parse().expect("date");
        // Back on Thursday 24 December: Friday is Christmas, so Monday.
        let back: Date = "2026-12-24".parse().expect("date");
        assert_eq!(local(morning_after(back, &ny(), &[christmas]), &ny()), "2026-12-28T09:00:00");
        assert_eq!(local(morning_after(back, &ny(), &[]), &ny()), "2026-12-25T09:00:00");
    }

    #[test]
    fn display_reads_like_the_config() {
        assert_eq!(Wait::BusinessDays(7).to_string(), "7 business days");
        assert_eq!(Wait::Days(1).to_string(), "1 day");
        assert_eq!(Wait::Exactly(Duration::from_secs(90)).to_string(), "90s");
    }
}
