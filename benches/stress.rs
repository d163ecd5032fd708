//! The full stress runs behind `scripts/stress` (the harness is
//! tests/support/stress.rs; the suite runs its quick variants):
//!
//! - **kills**: `STRESS_INTROS` intros (200) with every script of people,
//!   while the daemon is SIGKILLed `STRESS_KILLS` times (24): every other
//!   kill at a random moment, the others at a failpoint taken in turn —
//!   mid-IMAP-fetch, mid-batch, after the batch's sync before filing,
//!   after filing, between the SMTP server's 250 and the outbox update, on
//!   a due timer — each at a random early hit;
//! - **outages**: `STRESS_OUTAGE_INTROS` intros (40) while Dovecot is
//!   stopped for `STRESS_OUTAGE_SECS` (120), then Postfix, then both, then
//!   the bot's INBOX gets a new UIDVALIDITY; requests keep coming.
//!
//! Prints one Markdown table row per run and exits non-zero if any check
//! failed. `STRESS_PHASES=kills` or `outages` runs one of them.

#[path = "../tests/support/mailstack.rs"]
mod mailstack;
#[path = "../tests/support/stress.rs"]
mod stress;

use std::time::Duration;

use stress::{Kind, Outage, Plan, Report};

fn env(var: &str, default: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn row(name: &str, report: &Report) -> bool {
    let verdict = if report.problems.is_empty() {
        "all checks passed".to_owned()
    } else {
        format!("**{} problems** (see below)", report.problems.len())
    };
    println!(
        "| {name} | {verdict}; {} emails delivered; {} arrived twice (the bot resent {}, the servers copied {}); {:.0} s |",
        report.delivered,
        report.duplicates,
        report.resent,
        report.server_copies,
        report.elapsed.as_secs_f64()
    );
    report.problems.is_empty()
}

fn main() {
    let phases = std::env::var("STRESS_PHASES").unwrap_or_else(|_| "kills,outages".into());
    let mut clean = true;
    let mut reports: Vec<Report> = Vec::new();
    println!("| run | result |");
    println!("| --- | --- |");
    if phases.contains("kills") {
        let intros = env("STRESS_INTROS", 200) as usize;
        let kills = env("STRESS_KILLS", 24) as usize;
        let plan = Plan {
            prefix: "s".into(),
            intros,
            kinds: Kind::ALL.to_vec(),
            follow_up: Duration::from_secs(45),
            expire: Duration::from_secs(30),
            kills,
            chosen: vec![
                "imap_fetched",
                "inbound_committed",
                "batch_synced",
                "batch_filed",
                "send_accepted",
                "timer_committed",
            ],
            random_every: 2,
            early_timer_kills: false,
            // Requests over 120 s, timers until ~195 s: the kills land on work.
            spacing: Duration::from_millis(600),
            outages: Vec::new(),
            timeout: Duration::from_secs(900),
        };
        let report = stress::run(&plan);
        let name = format!("{intros} intros, {} kills ({})", report.kills.len(), report.kill_summary());
        clean &= row(&name, &report);
        reports.push(report);
    }
    if phases.contains("outages") {
        let intros = env("STRESS_OUTAGE_INTROS", 40) as usize;
        let secs = env("STRESS_OUTAGE_SECS", 120);
        let outage = Duration::from_secs(secs);
        let outages = vec![Outage::Imap(outage), Outage::Smtp(outage), Outage::Both(outage), Outage::UidValidity];
        // The spaced requests cover the whole outage period.
        let spaced = intros.saturating_sub(2 * outages.len()).max(1) as u32;
        let period = Duration::from_secs(3 * (secs + 8) + 10);
        let plan = Plan {
            prefix: "u".into(),
            intros,
            kinds: Kind::ANSWERED.to_vec(),
            follow_up: Duration::from_secs(7200),
            expire: Duration::from_secs(7200),
            kills: 0,
            chosen: Vec::new(),
            random_every: 0,
            early_timer_kills: false,
            spacing: period / spaced,
            outages,
            timeout: period + Duration::from_secs(600),
        };
        let report = stress::run(&plan);
        let log = std::fs::read_to_string(&report.log).unwrap_or_default();
        let backoffs =
            log.matches("reconnecting after a backoff").count() + log.matches("send failed; will retry").count();
        let name = format!("{intros} intros, outages: {}; {backoffs} backoffs logged", report.outages.join(", "));
        clean &= row(&name, &report);
        reports.push(report);
    }
    for report in reports.iter().filter(|r| !r.problems.is_empty()) {
        eprintln!("\nproblems (run dir {}):\n{}", report.dir.display(), report.problems.join("\n"));
        eprintln!("log tail:\n{}", stress::log_tail(&report.log, 40));
    }
    if !clean {
        std::process::exit(1);
    }
}
