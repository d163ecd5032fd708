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
//! - **no-recall**: gold no read as a refusal (no, later or stop);
//! - the time `decide` takes per answer (single thread, text in memory).
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
    false_yes: usize,
    wrong_no: usize,
    yes_hit: usize,
    inv_yes_hit: usize,
    no_hit: usize,
    /// Decisions by gold label: [yes, no, later, stop, unclear].
    by_gold: [[usize; 5]; 3],
}

fn main() {
    let path = circa::path();
    let rows = circa::load(&path);
    let show = std::env::var("SHOW").ok();

    let mut tuning = Score::default();
    let mut held = Score::default();
    let mut listed = Vec::new();
    for row in &rows {
        let got = decide(&row.answer);
        let held_back = is_held_back(row.id);
        let score = if held_back { &mut held } else { &mut tuning };
        let kind = score.add(row, got);
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
    let time = |f: &dyn Fn(&str) -> bool| {
        let start = Instant::now();
        let mut n = 0usize;
        for _ in 0..passes {
            for row in &rows {
                n += usize::from(f(std::hint::black_box(&row.answer)));
            }
        }
        std::hint::black_box(n);
        (passes * rows.len()) as f64 / start.elapsed().as_secs_f64()
    };
    let per_sec = time(&|a| decide(a) == Decision::Yes);
    let table_per_sec = time(&|a| read(a).decision == Decision::Yes);

    println!("decisions over {} ({} rows)", path.display(), rows.len());
    println!();
    println!("| part | rows | false-yes | wrong-no | yes-recall | invitation yes-recall | no-recall |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (name, s) in [("tuning (3/4)", &tuning), ("held back (1/4)", &held)] {
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            s.rows,
            pct(s.false_yes, s.gold_no + s.gold_unclear),
            pct(s.wrong_no, s.gold_yes + s.gold_unclear),
            pct(s.yes_hit, s.gold_yes),
            pct(s.inv_yes_hit, s.inv_yes),
            pct(s.no_hit, s.gold_no),
        );
    }
    println!();
    println!("Decisions by gold label (yes / no / later / stop / unclear):");
    for (name, s) in [("tuning", &tuning), ("held back", &held)] {
        for (g, label) in ["yes", "no", "unclear"].iter().enumerate() {
            let d = s.by_gold[g];
            println!("  {name:<9} gold {label:<7} {:>5} / {:>5} / {:>5} / {:>5} / {:>5}", d[0], d[1], d[2], d[3], d[4]);
        }
    }
    println!();
    println!("decide: {:.0} answers/s ({:.2} µs each), {passes} passes, one thread", per_sec, 1e6 / per_sec);
    println!("phrase table alone (read): {:.0} answers/s ({:.2} µs each)", table_per_sec, 1e6 / table_per_sec);
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
                if got == Decision::Yes {
                    self.false_yes += 1;
                    Some("false-yes")
                } else if refusal {
                    self.no_hit += 1;
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

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        return "n/a".into();
    }
    format!("{:.2} % ({n}/{of})", 100.0 * n as f64 / of as f64)
}
