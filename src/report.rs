//! Intros for people and scripts: the `list` table, the `show` timeline,
//! and their JSON forms.

use std::io::Write;

use jiff::Timestamp;
use serde_json::json;

use crate::core::{Intro, IntroId, IntroState};
use crate::store::{IntroSummary, SentEmail, Store, StoreError};

/// What can go wrong printing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("cannot write output")]
    Io(#[from] std::io::Error),
}

/// The JSON form of an intro, as `list --json` and `show --json` print it.
pub(crate) fn intro_json(intro: &Intro) -> serde_json::Value {
    let party = |p: &crate::core::Party| {
        json!({
            "name": p.person.name,
            "email": p.person.email,
            "state": p.state.as_str(),
            "reply_text": p.reply_text,
            "introduction_bounced": p.introduction_bounced,
        })
    };
    json!({
        "id": intro.id.as_str(),
        "state": intro.state.as_str(),
        "created_at": intro.created_at.to_string(),
        "connector": {"name": intro.connector.name, "email": intro.connector.email},
        "requester": party(&intro.requester),
        "target": party(&intro.target),
        "waiting_for": intro.waiting_for().iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "next_deadline": intro.deadline.map(|d| json!({"at": d.at.to_string(), "kind": d.kind})),
        "timeline": intro.timeline.iter().map(|t| json!({"at": t.at.to_string(), "what": t.what})).collect::<Vec<_>>(),
    })
}

/// Prints `introbot list`.
pub(crate) fn list(
    store: &Store,
    state: Option<IntroState>,
    as_json: bool,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    // Each intro becomes its line as it is read (100,000 decoded intros
    // held at once took 480 MB); the lines are then put in the order
    // `Store::intros` gives: oldest first, ties in key order. The table
    // needs only the intros' summaries; the JSON form prints whole intros.
    let mut lines: Vec<(Timestamp, usize, String)> = Vec::new();
    if as_json {
        store.each_intro(state, |i| lines.push((i.created_at, lines.len(), intro_json(&i).to_string())))?;
    } else {
        store.each_summary(state, |id, s| lines.push((s.created_at, lines.len(), table_row(&id, &s, now))))?;
    }
    lines.sort_unstable_by_key(|(at, n, _)| (*at, *n));
    if as_json {
        for (_, _, line) in &lines {
            writeln!(out, "{line}")?;
        }
        return Ok(());
    }
    if lines.is_empty() {
        writeln!(out, "no intros{}", state.map(|s| format!(" in state {s}")).unwrap_or_default())?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<9} {:>5}  {:<22} {:<22} {:<24} {:<17} WAITING FOR",
        "ID", "AGE", "REQUESTER", "TARGET", "CONNECTOR", "STATE"
    )?;
    for (_, _, line) in &lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// One intro's row of the `list` table, from its summary.
fn table_row(id: &IntroId, s: &IntroSummary, now: Timestamp) -> String {
    format!(
        "{:<9} {:>5}  {:<22} {:<22} {:<24} {:<17} {}",
        id.as_str(),
        age(s.created_at, now),
        clip(&s.requester, 22),
        clip(&s.target, 22),
        clip(&s.connector, 24),
        s.state.as_str(),
        // An ended intro waits for nobody, whoever never answered it.
        if s.waiting.is_empty() || s.state.is_terminal() {
            "-".into()
        } else {
            std::borrow::Cow::Owned(s.waiting.join(", "))
        }
    )
}

/// Prints `introbot show`: the people, the timeline, every email sent.
pub(crate) fn show(intro: &Intro, emails: &[SentEmail], as_json: bool, out: &mut dyn Write) -> Result<(), ReportError> {
    if as_json {
        let mut value = intro_json(intro);
        value["emails"] = serde_json::to_value(emails).unwrap_or_default();
        writeln!(out, "{value}")?;
        return Ok(());
    }
    writeln!(out, "intro {}  {}  ({})", intro.id, intro.title(), intro.state)?;
    writeln!(out, "  connector  {} <{}>", intro.connector.display_name(), intro.connector.email)?;
    for role in crate::core::Role::BOTH {
        let p = intro.party(role);
        writeln!(out, "  {:<10} {} <{}>: {}", role.as_str(), p.person.display_name(), p.person.email, p.state)?;
    }
    if let Some(d) = intro.deadline {
        writeln!(out, "  next       {:?} at {}", d.kind, d.at)?;
    }
    writeln!(out, "timeline:")?;
    for t in &intro.timeline {
        writeln!(out, "  {}  {}", t.at, t.what)?;
    }
    for role in crate::core::Role::BOTH {
        if let Some(text) = &intro.party(role).reply_text {
            writeln!(out, "{}'s last reply:", role.as_str())?;
            for line in text.lines() {
                writeln!(out, "  > {line}")?;
            }
        }
    }
    writeln!(out, "emails:")?;
    for e in emails {
        let to: Vec<&str> = e.to.iter().map(|a| a.as_str()).collect();
        writeln!(out, "  {}  {:<16} to {}  <{}>", e.at, e.kind, to.join(", "), e.message_id)?;
    }
    Ok(())
}

fn age(created: Timestamp, now: Timestamp) -> String {
    let secs = now.as_second().saturating_sub(created.as_second()).max(0);
    match secs {
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// At most `n` characters of `s`, the last one `…` when cut; borrowed
/// when it fits (nearly always: `list` clips three fields of every row).
fn clip(s: &str, n: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(n) {
        None => s.into(),
        Some(_) => format!("{}…", s.chars().take(n - 1).collect::<String>()).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `show --json` says whose copy of the introduction bounced, as the
    /// text form does in its timeline.
    #[test]
    fn show_json_says_whose_introduction_bounced() {
        let mut intro = crate::compose::samples::intro();
        intro.target.introduction_bounced = true;
        let mut out = Vec::new();
        show(&intro, &[], true, &mut out).expect("printed");
        let value: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(value["target"]["introduction_bounced"], true);
        assert_eq!(value["requester"]["introduction_bounced"], false);
    }

    #[test]
    fn clip_keeps_what_fits_and_marks_a_cut() {
        assert_eq!(clip("Zoë", 3), "Zoë");
        assert_eq!(clip("Zoë Ø", 3), "Zo…");
        assert_eq!(clip("", 3), "");
    }

    /// A row of the table is made from the intro's summary alone.
    #[test]
    fn a_table_row_is_the_summarys() {
        let intro = crate::compose::samples::intro();
        let now = intro.created_at.saturating_add(jiff::SignedDuration::from_hours(3)).expect("in range");
        let row = table_row(&intro.id, &IntroSummary::of(&intro), now);
        assert!(row.starts_with(&format!("{:<9}    3h  ", intro.id.as_str())), "{row}");
        for shown in [intro.requester.person.display_name(), intro.connector.email.as_str(), intro.state.as_str()] {
            assert!(row.contains(shown), "{shown} in {row}");
        }
    }

    /// An expired or declined intro waits for nobody, though a party never
    /// answered (the demo's list said "expired … Grace").
    #[test]
    fn an_ended_intro_waits_for_nobody() {
        let intro = crate::compose::samples::intro();
        let now = intro.created_at;
        let mut summary = IntroSummary::of(&intro);
        summary.waiting = vec!["Grace".into()];
        summary.state = crate::core::IntroState::AwaitingConsent;
        assert!(table_row(&intro.id, &summary, now).ends_with(" Grace"));
        summary.state = crate::core::IntroState::Expired;
        assert!(table_row(&intro.id, &summary, now).ends_with(" -"));
    }
}
