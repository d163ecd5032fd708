//! The quick variants of `scripts/stress` (the harness is
//! tests/support/stress.rs): through the real mail stack, 20 intros while
//! the daemon is killed 5 times at chosen moments, and 16 intros while the
//! servers go away and come back and the mailbox changes UIDVALIDITY.
//! Neither asserts a speed; both check every email and every state.

use std::time::Duration;

use super::mailstack::{QUICK_KILLS, QUICK_OUTAGES, servers};
use super::stress_harness::{Kind, Outage, Plan, Report, log_tail, run};

/// Fails with everything a person needs to look into it.
fn assert_clean(report: &Report) {
    assert!(
        report.problems.is_empty(),
        "{} problems:\n{}\nkills: {}\nrun dir: {}\nlog tail:\n{}",
        report.problems.len(),
        report.problems.join("\n"),
        report.kill_summary(),
        report.dir.display(),
        log_tail(&report.log, 60)
    );
}

#[test]
fn quick_kills_through_real_mail_lose_nothing_and_double_nothing() {
    let _shared = servers().read().unwrap_or_else(|e| e.into_inner());
    let chosen = ["imap_fetched:1", "send_accepted:2", "batch_synced:1", "timer_committed:1"];
    let plan = Plan {
        prefix: QUICK_KILLS.0.into(),
        intros: QUICK_KILLS.1,
        kinds: Kind::ALL.to_vec(),
        follow_up: Duration::from_secs(30),
        expire: Duration::from_secs(20),
        kills: 5,
        chosen: chosen.to_vec(),
        random_every: 5,
        early_timer_kills: true,
        spacing: Duration::from_millis(250),
        outages: Vec::new(),
        timeout: Duration::from_secs(300),
    };
    let report = run(&plan);
    assert_clean(&report);
    assert!(report.kills.len() >= plan.kills, "{}", report.kill_summary());
    for f in chosen {
        let name = f.split(':').next().unwrap_or(f);
        assert!(report.kills.iter().any(|k| k.starts_with(name)), "{name} never fired: {}", report.kill_summary());
    }
    assert!(report.resent <= report.kills.len(), "{} resent for {} kills", report.resent, report.kills.len());
    let _ = std::fs::remove_dir_all(&report.dir);
}

#[test]
fn quick_outages_through_real_mail_lose_nothing_and_double_nothing() {
    let _exclusive = servers().write().unwrap_or_else(|e| e.into_inner());
    let short = Duration::from_secs(8);
    let plan = Plan {
        prefix: QUICK_OUTAGES.0.into(),
        intros: QUICK_OUTAGES.1,
        kinds: Kind::ANSWERED.to_vec(),
        // No timers: the outages delay answers, and no follow-up may race them.
        follow_up: Duration::from_secs(3600),
        expire: Duration::from_secs(3600),
        kills: 0,
        chosen: Vec::new(),
        random_every: 0,
        early_timer_kills: false,
        // Requests keep coming through all four outages.
        spacing: Duration::from_secs(3),
        outages: vec![Outage::Imap(short), Outage::Smtp(short), Outage::Both(short), Outage::UidValidity],
        timeout: Duration::from_secs(300),
    };
    let report = run(&plan);
    let log = std::fs::read_to_string(&report.log).unwrap_or_default();
    assert_clean(&report);
    assert_eq!(report.outages.len(), 4, "{:?}", report.outages);
    assert_eq!(report.resent, 0, "no kills, so the bot sent no email twice");
    for backoff in ["imap unreachable; reconnecting after a backoff", "send failed; will retry", "UIDVALIDITY changed"]
    {
        assert!(log.contains(backoff), "the log never says {backoff:?}; see {}", report.log.display());
    }
    let _ = std::fs::remove_dir_all(&report.dir);
}
