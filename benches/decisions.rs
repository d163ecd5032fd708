//! How `mail::decide` reads indirect answers: Circa's 30,968 answers to
//! yes/no questions with gold labels (see the corpus README for the data
//! and its licence). Not a test: it prints figures, it asserts none.
//!
//! The file is split once, before any tuning, by a hash of each row's `id`:
//! a quarter of the rows is held back (never looked at row by row, never
//! tuned on), the rest is the tuning part. Figures are printed for both.
//!
//! - **false-yes**: gold no or unclear read as yes (the one that introduces
//!   someone who did not agree);
//! - **wrong-no**: gold yes or unclear read as a refusal (no, later or stop);
//! - **yes-recall**: gold yes read as yes, overall and on invitation-style
//!   questions ("Do you want to …", "Would you like to …", "Are you up for
//!   …", "Are you interested in …", the closest to a consent request);
//! - **no-recall**: gold no read as a refusal (no, later or stop), overall
//!   and on invitation-style questions;
//! - the same for the phrase table alone (`mail::decision::read`, without
//!   the refusal model);
//! - the time `decide` and the phrase table alone take per answer (single
//!   thread, text in memory).
//!
//! With another file (`CIRCA=`), the two parts are still printed; for rows
//! that were never in the tuning file, both are unseen.
//!
//! Run: `cargo bench --bench decisions`. `CIRCA=PATH` reads another file of
//! the same shape (by default `shared/corpus/decisions/circa-dev.jsonl` in
//! the nearest ancestor directory that has one). `SHOW=false-yes` (or
//! `wrong-no`, `missed-yes`, `missed-no`) lists those rows **of the tuning
//! part only**: the held-back part is only ever counted.

use std::time::Instant;

use introbot::core::Decision;
use introbot::mail::decide;
use introbot::mail::decision::read;

#[path = "support/circa.rs"]
mod circa;

use circa::{Gold, Row, is_held_back, is_invitation};

/// Counts for one part of the file.
#[derive(Default)]
struct Score {
    rows: usize,
    gold_yes: usize,
    gold_no: usize,
    gold_unclear: usize,
    inv_yes: usize,
    inv_no: usize,
    false_yes: usize,
    wrong_no: usize,
    yes_hit: usize,
    inv_yes_hit: usize,
    no_hit: usize,
    inv_no_hit: usize,
    /// Decisions by gold label: [yes, no, later, stop, unclear].
    by_gold: [[usize; 5]; 3],
}

fn main() {
    let path = circa::path();
    let rows = circa::load(&path);
    let show = std::env::var("SHOW").ok();

    // [tuning, held back] for decide, then for the phrase table alone.
    let mut scores: [[Score; 2]; 2] = Default::default();
    let mut listed = Vec::new();
    for row in &rows {
        let got = decide(&row.answer);
        let held_back = is_held_back(row.id);
        let part = usize::from(held_back);
        scores[1][part].add(row, read(&row.answer).decision);
        let kind = scores[0][part].add(row, got);
        if !held_back
            && let (Some(show), Some(kind)) = (&show, kind)
            && show == kind
        {
            listed.push(format!("{}\t{}\t{}\t{:?}", row.id, row.question, row.answer, got));
        }
    }
    for line in &listed {
        println!("{line}");
    }

    // Speed: every answer through `decide`, and through the phrase table
    // alone (`read`), a few passes each, one thread.
    let passes = 5;
    // Rates by the thread's CPU time (`/proc/thread-self/schedstat`, in ns):
    // on a shared machine wall time mostly measures the neighbours.
    let time = |f: &dyn Fn(&str) -> bool| {
        let (start, cpu) = (Instant::now(), thread_cpu_ns());
        let mut n = 0usize;
        for _ in 0..passes {
            for row in &rows {
                n += usize::from(f(std::hint::black_box(&row.answer)));
            }
        }
        std::hint::black_box(n);
        let answers = (passes * rows.len()) as f64;
        let wall = start.elapsed().as_secs_f64();
        let cpu = thread_cpu_ns().zip(cpu).map(|(b, a)| (b - a) as f64 / 1e9).unwrap_or(wall);
        (answers / cpu, answers / wall)
    };
    let per_sec = time(&|a| decide(a) == Decision::Yes);
    let table_per_sec = time(&|a| read(a).decision == Decision::Yes);

    println!("decisions over {} ({} rows)", path.display(), rows.len());
    for (title, [tuning, held]) in
        [("decide (phrase table, then the refusal model)", &scores[0]), ("the phrase table alone", &scores[1])]
    {
        println!();
        println!("{title}:");
        println!();
        println!(
            "| part | rows | false-yes | wrong-no | yes-recall | invitation yes-recall | no-recall | invitation no-recall |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
        for (name, s) in [("tuning (3/4)", tuning), ("held back (1/4)", held)] {
            println!(
                "| {name} | {} | {} | {} | {} | {} | {} | {} |",
                s.rows,
                pct(s.false_yes, s.gold_no + s.gold_unclear),
                pct(s.wrong_no, s.gold_yes + s.gold_unclear),
                pct(s.yes_hit, s.gold_yes),
                pct(s.inv_yes_hit, s.inv_yes),
                pct(s.no_hit, s.gold_no),
                pct(s.inv_no_hit, s.inv_no),
            );
        }
    }
    println!();
    println!("decide, by gold label (yes / no / later / stop / unclear):");
    for (name, s) in [("tuning", &scores[0][0]), ("held back", &scores[0][1])] {
        for (g, label) in ["yes", "no", "unclear"].iter().enumerate() {
            let d = s.by_gold[g];
            println!("  {name:<9} gold {label:<7} {:>5} / {:>5} / {:>5} / {:>5} / {:>5}", d[0], d[1], d[2], d[3], d[4]);
        }
    }
    println!();
    for (name, (cpu, wall)) in [("decide", per_sec), ("phrase table alone (read)", table_per_sec)] {
        println!(
            "{name}: {cpu:.0} answers/s of CPU time ({:.2} µs each; {wall:.0}/s by the wall clock), {passes} passes, one thread",
            1e6 / cpu
        );
    }
}

impl Score {
    /// Counts one row; returns the kind of mistake or miss it is, if any.
    fn add(&mut self, row: &Row, got: Decision) -> Option<&'static str> {
        self.rows += 1;
        let refusal = matches!(got, Decision::No | Decision::Later | Decision::Stop);
        let col = match got {
            Decision::Yes => 0,
            Decision::No => 1,
            Decision::Later => 2,
            Decision::Stop => 3,
            Decision::Unclear => 4,
        };
        self.by_gold[row.gold as usize][col] += 1;
        let invitation = is_invitation(&row.question);
        match row.gold {
            Gold::Yes => {
                self.gold_yes += 1;
                self.inv_yes += usize::from(invitation);
                if got == Decision::Yes {
                    self.yes_hit += 1;
                    self.inv_yes_hit += usize::from(invitation);
                    None
                } else if refusal {
                    self.wrong_no += 1;
                    Some("wrong-no")
                } else {
                    Some("missed-yes")
                }
            }
            Gold::No => {
                self.gold_no += 1;
                self.inv_no += usize::from(invitation);
                if got == Decision::Yes {
                    self.false_yes += 1;
                    Some("false-yes")
                } else if refusal {
                    self.no_hit += 1;
                    self.inv_no_hit += usize::from(invitation);
                    None
                } else {
                    Some("missed-no")
                }
            }
            Gold::Unclear => {
                self.gold_unclear += 1;
                if got == Decision::Yes {
                    self.false_yes += 1;
                    Some("false-yes")
                } else if refusal {
                    self.wrong_no += 1;
                    Some("wrong-no")
                } else {
                    None
                }
            }
        }
    }
}

/// This thread's time on a CPU so far, in ns, where Linux says it.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        return "n/a".into();
    }
    format!("{:.2} % ({n}/{of})", 100.0 * n as f64 / of as f64)
}
