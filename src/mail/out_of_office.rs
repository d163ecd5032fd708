//! When someone who is away will be back: the return date in an
//! out-of-office notice ("away until January", "back on 12/15", "I'll return
//! on Monday 4 January", "zurück am 4. Januar", "de retour le 5 janvier",
//! "Ich bin vom 20.12. bis 04.01. nicht im Büro"), in the twelve languages
//! the decisions know.
//!
//! Only a date that follows a word of returning ("until", "back", "return",
//! "bis", "zurück", "jusqu'au", "de retour", "hasta", "até", "fino al", "tot",
//! "tillbaka", "til", "do", "до", or the dash of a range) counts; a notice
//! with several such dates is read by its latest. A month alone means the
//! first business day of that month; a weekday alone ("back on Monday") its
//! next occurrence. A numeric date that could be read both ways (04/05), a
//! weekday that contradicts its date, a date in the past or more than a year
//! ahead mean no date: the caller then treats the notice as it would without
//! one. Pure: the message's instant and the time zone come in.

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use regex::Regex;

/// Month names and their inflected forms, each with its month number.
#[rustfmt::skip]
const MONTHS: &[(&str, i8)] = &[
    // en
    ("january", 1), ("jan", 1), ("february", 2), ("feb", 2), ("march", 3), ("mar", 3), ("april", 4), ("apr", 4),
    ("may", 5), ("june", 6), ("jun", 6), ("july", 7), ("jul", 7), ("august", 8), ("aug", 8), ("september", 9),
    ("sept", 9), ("sep", 9), ("october", 10), ("oct", 10), ("november", 11), ("nov", 11), ("december", 12), ("dec", 12),
    // de
    ("januar", 1), ("jänner", 1), ("februar", 2), ("märz", 3), ("maerz", 3), ("mai", 5), ("juni", 6), ("juli", 7),
    ("oktober", 10), ("okt", 10), ("dezember", 12), ("dez", 12),
    // fr
    ("janvier", 1), ("février", 2), ("fevrier", 2), ("mars", 3), ("avril", 4), ("juin", 6), ("juillet", 7),
    ("août", 8), ("aout", 8), ("septembre", 9), ("octobre", 10), ("novembre", 11), ("décembre", 12), ("decembre", 12),
    // es
    ("enero", 1), ("febrero", 2), ("marzo", 3), ("abril", 4), ("mayo", 5), ("junio", 6), ("julio", 7), ("agosto", 8),
    ("septiembre", 9), ("setiembre", 9), ("octubre", 10), ("noviembre", 11), ("diciembre", 12),
    // pt
    ("janeiro", 1), ("fevereiro", 2), ("março", 3), ("maio", 5), ("junho", 6), ("julho", 7), ("setembro", 9),
    ("outubro", 10), ("dezembro", 12),
    // it
    ("gennaio", 1), ("febbraio", 2), ("aprile", 4), ("maggio", 5), ("giugno", 6), ("luglio", 7), ("settembre", 9),
    ("ottobre", 10), ("dicembre", 12),
    // nl
    ("januari", 1), ("februari", 2), ("maart", 3), ("mei", 5), ("augustus", 8),
    // sv, da, no
    ("augusti", 8), ("maj", 5), ("marts", 3), ("desember", 12),
    // pl (nominative, genitive, locative)
    ("styczeń", 1), ("stycznia", 1), ("styczniu", 1), ("luty", 2), ("lutego", 2), ("lutym", 2), ("marzec", 3),
    ("marca", 3), ("marcu", 3), ("kwiecień", 4), ("kwietnia", 4), ("kwietniu", 4), ("maja", 5), ("maju", 5),
    ("czerwiec", 6), ("czerwca", 6), ("czerwcu", 6), ("lipiec", 7), ("lipca", 7), ("lipcu", 7), ("sierpień", 8),
    ("sierpnia", 8), ("sierpniu", 8), ("wrzesień", 9), ("września", 9), ("wrześniu", 9), ("październik", 10),
    ("października", 10), ("październiku", 10), ("listopad", 11), ("listopada", 11), ("listopadzie", 11),
    ("grudzień", 12), ("grudnia", 12), ("grudniu", 12),
    // ru (nominative, genitive, prepositional)
    ("январь", 1), ("января", 1), ("январе", 1), ("февраль", 2), ("февраля", 2), ("феврале", 2), ("март", 3),
    ("марта", 3), ("марте", 3), ("апрель", 4), ("апреля", 4), ("апреле", 4), ("май", 5), ("мая", 5), ("мае", 5),
    ("июнь", 6), ("июня", 6), ("июне", 6), ("июль", 7), ("июля", 7), ("июле", 7), ("август", 8), ("августа", 8),
    ("августе", 8), ("сентябрь", 9), ("сентября", 9), ("сентябре", 9), ("октябрь", 10), ("октября", 10),
    ("октябре", 10), ("ноябрь", 11), ("ноября", 11), ("ноябре", 11), ("декабрь", 12), ("декабря", 12), ("декабре", 12),
];

/// Weekday names (and the inflected forms used after "on"), Monday = 1.
#[rustfmt::skip]
const WEEKDAYS: &[(&str, i8)] = &[
    ("monday", 1), ("tuesday", 2), ("wednesday", 3), ("thursday", 4), ("friday", 5), ("saturday", 6), ("sunday", 7),
    ("montag", 1), ("dienstag", 2), ("mittwoch", 3), ("donnerstag", 4), ("freitag", 5), ("samstag", 6), ("sonntag", 7),
    ("lundi", 1), ("mardi", 2), ("mercredi", 3), ("jeudi", 4), ("vendredi", 5), ("samedi", 6), ("dimanche", 7),
    ("lunes", 1), ("martes", 2), ("miércoles", 3), ("miercoles", 3), ("jueves", 4), ("viernes", 5), ("sábado", 6),
    ("sabado", 6), ("domingo", 7),
    ("segunda-feira", 1), ("segunda", 1), ("terça-feira", 2), ("terça", 2), ("quarta-feira", 3), ("quarta", 3),
    ("quinta-feira", 4), ("quinta", 4), ("sexta-feira", 5), ("sexta", 5),
    ("lunedì", 1), ("lunedi", 1), ("martedì", 2), ("martedi", 2), ("mercoledì", 3), ("mercoledi", 3), ("giovedì", 4),
    ("giovedi", 4), ("venerdì", 5), ("venerdi", 5), ("sabato", 6), ("domenica", 7),
    ("maandag", 1), ("dinsdag", 2), ("woensdag", 3), ("donderdag", 4), ("vrijdag", 5), ("zaterdag", 6), ("zondag", 7),
    ("måndag", 1), ("tisdag", 2), ("onsdag", 3), ("torsdag", 4), ("fredag", 5), ("lördag", 6), ("söndag", 7),
    ("mandag", 1), ("tirsdag", 2), ("lørdag", 6), ("søndag", 7),
    ("poniedziałek", 1), ("wtorek", 2), ("środa", 3), ("środę", 3), ("czwartek", 4), ("piątek", 5), ("sobota", 6),
    ("sobotę", 6), ("niedziela", 7), ("niedzielę", 7),
    ("понедельник", 1), ("вторник", 2), ("среда", 3), ("среду", 3), ("четверг", 4), ("пятница", 5), ("пятницу", 5),
    ("суббота", 6), ("субботу", 6), ("воскресенье", 7),
];

/// "Tomorrow" in each language.
const TOMORROW: &[&str] =
    &["tomorrow", "morgen", "demain", "mañana", "amanhã", "domani", "imorgon", "i morgen", "jutro", "завтра"];

/// Words after which a date is the return date (or the end of an absence),
/// and the dash of a range. Matched at the end of the text before a date,
/// allowing a few filler words ("on", "the", "am", "le", "el", "den", …).
const CUES: &str = r"until|till|'til|til|through|thru|back|return|returning|returns|i'll be back|i will be back|in the office|back in the office|available again|available|expected back|return date|reachable again|bis|bis einschließlich|zurück|wieder|wieder im büro|wieder erreichbar|ab|jusqu'au|jusqu'à|jusqu'en|jusqu'|de retour|retour|je rentre|rentrerai|à partir du|au|hasta|de vuelta|regreso|regresaré|volveré|vuelvo|a partir del|al|até|ate|de volta|retorno|retornarei|volto|voltarei|a partir de|fino al|fino a|fino|rientro|di ritorno|tornerò|torno|a partire dal|tot en met|t/m|tot|terug|weer aanwezig|weer op kantoor|weer bereikbaar|vanaf|till och med|t\.o\.m\.?|tillbaka|åter|från och med|til og med|tilbage|tilbake|igen|fra og med|do|wracam|wrócę|powrót|od|до|по|вернусь|возвращаюсь|буду на месте|буду в офисе|с|to";

/// Filler words between a cue and its date.
const FILLERS: &str =
    r"on|the|of|in|at|from|am|im|zum|dem|den|le|la|en|el|de|del|dia|em|no|na|il|op|på|i|w|we|в|во|с|со";

struct Patterns {
    /// A date mention: ISO, day month, month day, numeric, month alone,
    /// weekday alone, tomorrow (named groups tell which).
    mention: Regex,
    /// A cue at the very end of the text before a mention.
    cue_before: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let alt = |names: &mut dyn Iterator<Item = &str>| {
        let mut v: Vec<&str> = names.collect();
        // Longest first, so "sept" is not read as "sep" + "t".
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        v.iter().map(|s| regex::escape(s)).collect::<Vec<_>>().join("|")
    };
    let month = alt(&mut MONTHS.iter().map(|(n, _)| *n));
    let weekday = alt(&mut WEEKDAYS.iter().map(|(n, _)| *n));
    let tomorrow = alt(&mut TOMORROW.iter().copied());
    let wd = |n: u8| format!(r"(?:(?P<wd{n}>{weekday})\.?,?\s+(?:the\s+|den\s+|le\s+|el\s+|il\s+|am\s+)?)?");
    let (wd1, wd2, wd3) = (wd(1), wd(2), wd(3));
    let mention = [
        r"\b(?P<iso>(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))\b".to_owned(),
        format!(
            r"{wd1}\b(?P<dm_d>\d{{1,2}})(?:st|nd|rd|th|er|e|º|°|\.)?\s*(?:of\s+|de\s+|di\s+)?(?P<dm_m>{month})\b\.?(?:,?\s+(?:de\s+)?(?P<dm_y>\d{{4}})\b)?"
        ),
        format!(r"{wd2}\b(?P<md_m>{month})\.?\s+(?:the\s+)?(?P<md_d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<md_y>\d{{4}})\b)?"),
        format!(r"{wd3}\b(?P<n1>\d{{1,2}})(?P<sep>[./])(?P<n2>\d{{1,2}})(?:[./](?P<n3>\d{{4}}|\d{{2}})\b)?\.?"),
        format!(r"\b(?P<mo>{month})\b(?:\s+(?P<mo_y>\d{{4}})\b)?"),
        format!(r"\b(?P<wdo>{weekday})\b"),
        format!(r"\b(?P<tm>{tomorrow})\b"),
    ]
    .join("|");
    // A cue word, or the dash of a range ("21.12.–04.01."), then fillers.
    let cue_before = format!(r"(?:(?:^|[\s(,;:])(?:{CUES})|[-–—])(?:[\s,:]+(?:{FILLERS}))*[\s,:]*$");
    Patterns {
        mention: Regex::new(&mention).expect("static date pattern"),
        cue_before: Regex::new(&cue_before).expect("static cue pattern"),
    }
});

/// The return date named in an out-of-office text, if one is recognisable.
///
/// `now` is when the notice was written (or received), read in `tz`;
/// `holidays` are skipped, with weekends, when a month alone names the
/// first business day.
pub fn return_date(text: &str, now: Timestamp, tz: &TimeZone, holidays: &[Date]) -> Option<Date> {
    let today = now.to_zoned_datetime(tz.clone()).date();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let p = &*PATTERNS;
    let mut best: Option<Date> = None;
    for caps in p.mention.captures_iter(&text) {
        let Some(whole) = caps.get(0) else { continue };
        let before = &text[..whole.start()];
        let window_start = before.char_indices().rev().nth(40).map_or(0, |(i, _)| i);
        if !p.cue_before.is_match(&before[window_start..]) {
            continue;
        }
        let Some(date) = resolve(&caps, today, holidays) else { continue };
        if date <= today || days_between(today, date) > 400 {
            continue;
        }
        best = Some(best.map_or(date, |b| b.max(date)));
    }
    best
}

/// The date a mention names, seen from `today`; `None` when it is no
/// valid date, is ambiguous, or contradicts its weekday.
fn resolve(caps: &regex::Captures<'_>, today: Date, holidays: &[Date]) -> Option<Date> {
    let num = |name: &str| caps.name(name).and_then(|m| m.as_str().parse::<i16>().ok());
    let month_of =
        |name: &str| caps.name(name).and_then(|m| MONTHS.iter().find(|(n, _)| *n == m.as_str()).map(|(_, v)| *v));
    let weekday = ["wd1", "wd2", "wd3"]
        .iter()
        .find_map(|n| caps.name(n))
        .and_then(|m| WEEKDAYS.iter().find(|(n, _)| *n == m.as_str()))
        .and_then(|(_, n)| Weekday::from_monday_one_offset(*n).ok());
    let check = |date: Date| match weekday {
        Some(w) if date.weekday() != w => None,
        _ => Some(date),
    };
    if caps.name("iso").is_some() {
        let month = i8::try_from(num("im")?).ok()?;
        let day = i8::try_from(num("id")?).ok()?;
        return Date::new(num("iy")?, month, day).ok();
    }
    if let Some(month) = month_of("dm_m") {
        let day = i8::try_from(num("dm_d")?).ok()?;
        return check(in_year(num("dm_y"), month, day, today)?);
    }
    if let Some(month) = month_of("md_m") {
        let day = i8::try_from(num("md_d")?).ok()?;
        return check(in_year(num("md_y"), month, day, today)?);
    }
    if let (Some(a), Some(b), Some(sep)) = (num("n1"), num("n2"), caps.name("sep")) {
        let year = num("n3").map(|y| if y < 100 { 2000 + y } else { y });
        let (month, day) = if sep.as_str() == "." {
            // 15.12. is day.month everywhere it is written.
            (b, a)
        } else if a > 12 && b <= 12 {
            (b, a)
        } else if b > 12 && a <= 12 {
            (a, b)
        } else {
            // 04/05: April 5th or 4 May? Nobody can tell.
            return None;
        };
        return check(in_year(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?, today)?);
    }
    if let Some(month) =
        month_of("mo").filter(|_| caps.name("mo").is_some_and(|m| !matches!(m.as_str(), "may" | "mar" | "jan" | "dec")))
    {
        let year = match num("mo_y") {
            Some(y) => y,
            None if month >= today.month() => today.year(),
            None => today.year().checked_add(1)?,
        };
        return first_business_day(Date::new(year, month, 1).ok()?, holidays);
    }
    if let Some((_, n)) = caps.name("wdo").and_then(|m| WEEKDAYS.iter().find(|(w, _)| *w == m.as_str())) {
        let target = Weekday::from_monday_one_offset(*n).ok()?;
        let ahead = match today.weekday().until(target) {
            0 => 7,
            d => d,
        };
        return today.checked_add(jiff::Span::new().days(i64::from(ahead))).ok();
    }
    if caps.name("tm").is_some() {
        return today.tomorrow().ok();
    }
    None
}

/// `day month` of `year`, or, without a year, of this year when it is still
/// to come or only recently past (a stale notice: the caller sees it as
/// past), else of next year.
fn in_year(year: Option<i16>, month: i8, day: i8, today: Date) -> Option<Date> {
    if let Some(year) = year {
        return Date::new(year, month, day).ok();
    }
    let this_year = Date::new(today.year(), month, day).ok()?;
    if this_year >= today || days_between(this_year, today) <= 31 {
        return Some(this_year);
    }
    Date::new(today.year().checked_add(1)?, month, day).ok()
}

/// The first day from `date` on that is neither a weekend nor a holiday.
fn first_business_day(mut date: Date, holidays: &[Date]) -> Option<Date> {
    for _ in 0..31 {
        if !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !holidays.contains(&date) {
            return Some(date);
        }
        date = date.tomorrow().ok()?;
    }
    None
}

/// Whole days from `a` to `b` (negative when `b` is earlier).
fn days_between(a: Date, b: Date) -> i64 {
    b.duration_since(a).as_secs() / 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    /// Written on Friday 18 December 2026, noon UTC.
    fn written() -> Timestamp {
        "2026-12-18T12:00:00Z".parse().expect("valid instant")
    }

    fn date(s: &str) -> Date {
        s.parse().expect("valid date")
    }

    fn back(text: &str) -> Option<Date> {
        return_date(text, written(), &utc(), &[])
    }

    #[test]
    fn english_forms() {
        // A month alone: its first business day (1 January 2027 is a Friday).
        assert_eq!(back("I am away until January."), Some(date("2027-01-01")));
        assert_eq!(
            return_date("I am away until January.", written(), &utc(), &[date("2027-01-01")]),
            Some(date("2027-01-04"))
        );
        assert_eq!(back("Out of office, back on 12/28."), Some(date("2026-12-28")));
        assert_eq!(back("I'll return on Monday 4 January."), Some(date("2027-01-04")));
        assert_eq!(back("I will be back on January 5th, 2027."), Some(date("2027-01-05")));
        assert_eq!(
            back("I'm out of the office until 2027-01-06 with limited access to email."),
            Some(date("2027-01-06"))
        );
        assert_eq!(back("Back on Monday."), Some(date("2026-12-21")));
        assert_eq!(back("AUTO: Bob is out of the office (returning 01/12/2027)"), None, "01/12 is ambiguous");
        assert_eq!(back("Returning 01/13/2027"), Some(date("2027-01-13")));
    }

    #[test]
    fn other_languages() {
        for (text, want) in [
            ("Ich bin bis zum 4. Januar nicht im Büro.", "2027-01-04"),
            ("Ich bin ab dem 5. Januar wieder im Büro.", "2027-01-05"),
            ("Ich bin vom 21.12. bis 04.01. nicht erreichbar.", "2027-01-04"),
            ("Je serai de retour le 5 janvier.", "2027-01-05"),
            ("Estaré fuera de la oficina hasta el 7 de enero.", "2027-01-07"),
            ("Estarei de volta em 8 de janeiro.", "2027-01-08"),
            ("Sono fuori ufficio fino al 11 gennaio.", "2027-01-11"),
            ("Ik ben afwezig tot en met 12 januari.", "2027-01-12"),
            ("Jag är tillbaka den 13 januari.", "2027-01-13"),
            ("Jeg er tilbage den 14. januar.", "2027-01-14"),
            ("Jeg er tilbake 15. januar.", "2027-01-15"),
            ("Jestem na urlopie do 18 stycznia.", "2027-01-18"),
            ("Я в отпуске до 19 января.", "2027-01-19"),
        ] {
            assert_eq!(back(text), Some(date(want)), "{text}");
        }
    }

    #[test]
    fn a_range_is_read_by_its_end_and_several_dates_by_the_latest() {
        assert_eq!(back("Out of office 21.12.–04.01."), Some(date("2027-01-04")));
        assert_eq!(back("I am away from 21 December until 4 January and back on 5 January."), Some(date("2027-01-05")));
    }

    #[test]
    fn no_date_when_unsure() {
        for text in [
            "I am out of the office.",
            "Thanks for your email. I will reply soon.",
            "I was back on 1 December.",         // past (recently)
            "Back on 04/05.",                    // which is the month?
            "I'll return on Tuesday 4 January.", // 4 January 2027 is a Monday
            "Returning 2025-01-06.",             // past
            "Back on 31 February.",              // no such day
            "Our January newsletter is out.",    // no cue
        ] {
            assert_eq!(back(text), None, "{text}");
        }
    }

    #[test]
    fn the_time_zone_decides_what_today_is() {
        // 23:30 on 31 December in UTC is already 1 January in Tokyo.
        let now: Timestamp = "2026-12-31T23:30:00Z".parse().expect("valid");
        let tokyo = TimeZone::get("Asia/Tokyo").expect("tzdb");
        assert_eq!(return_date("Back tomorrow.", now, &utc(), &[]), Some(date("2027-01-01")));
        assert_eq!(return_date("Back tomorrow.", now, &tokyo, &[]), Some(date("2027-01-02")));
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in ["", "until", "until 99/99", "bis 31.02.", "до 40 января", "back on 0/0/0000", "until ∞ 12."]
        {
            let _ = back(text);
        }
    }
}
