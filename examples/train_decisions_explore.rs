//! The recall study of issue 11's third pass: how far a better model than
//! the phrase table gets on Circa's **tuning part**, by 5-fold
//! cross-validation (the held-back quarter is never read here). Prints
//! precision/recall curves; writes nothing.
//!
//! Run: `cargo run --release --example train_decisions_explore`
//! (`CIRCA=PATH` as for `cargo bench --bench decisions`).
//!
//! Models tried, each a logistic regression (AdaGrad, L2, fixed order):
//! - `words`: the refusal model's features (`mail::decision::features`:
//!   words, negation-marked words, word pairs within a clause, length,
//!   clause kinds);
//! - `+kind`: every feature also crossed with the question's kind
//!   (invitation / preference / fact; scored at run time as an invitation,
//!   the bot's only question, and, for comparison, with each row's own kind);
//! - `+chars`: character 3- to 5-grams of each word, for morphology;
//! - class weights on the positive class.
//!
//! `CONFIRM=1` runs the one study that reads the held-back quarter, once,
//! for aggregates only: a yes-model (`words+kind`, read as an answer to an
//! invitation) whose thresholds are chosen by cross-validation on the tuning
//! part, trained on the whole tuning part, then counted on the held-back
//! rows: what share of no/unclear replies it would make a yes or ask to
//! confirm, and what share of invitation yeses would be recorded or asked.
//!
//! For yes: final yes = the phrase table's yes, or a reply it leaves unclear
//! (with no negation, hedge, doubt or question: `model_may_accept`) whose
//! out-of-fold score passes a threshold; the curve is invitation
//! yes-recall against false-yes over all no/unclear rows. For no: the same
//! with the refusal gate, no-recall against wrong-no.

use introbot::core::Decision;
use introbot::mail::decision::{features, read};

#[path = "../benches/support/circa.rs"]
mod circa;

#[path = "../benches/support/logistic.rs"]
mod logistic;

use circa::{Gold, QuestionKind as QKind, is_held_back, is_invitation, question_kind as qkind};
use logistic::{Fit, Lr, crossed, to_ids, vocabulary};

const FOLDS: usize = 5;

fn char_grams(answer: &str, out: &mut Vec<String>) {
    let lower = answer.to_lowercase();
    for word in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'')).filter(|w| !w.is_empty()) {
        let chars: Vec<char> = format!("<{word}>").chars().collect();
        for n in 3..=5 {
            for w in chars.windows(n) {
                out.push(format!("c:{}", w.iter().collect::<String>()));
            }
        }
    }
}

struct Setup {
    name: &'static str,
    kind: bool,
    chars: bool,
    fit: Fit,
}

fn main() {
    if std::env::var_os("CONFIRM").is_some() {
        confirm_study();
        return;
    }
    let path = circa::path();
    let rows: Vec<circa::Row> = circa::load(&path).into_iter().filter(|r| !is_held_back(r.id)).collect();
    eprintln!("tuning part: {} rows", rows.len());
    let readings: Vec<_> = rows.iter().map(|r| read(&r.answer)).collect();
    let kinds: Vec<QKind> = rows.iter().map(|r| qkind(&r.question)).collect();
    let inv: Vec<bool> = rows.iter().map(|r| is_invitation(&r.question)).collect();
    let base: Vec<Vec<String>> = rows.iter().map(|r| features(&r.answer)).collect();
    let gates: Vec<(bool, bool)> = rows.iter().map(|r| gate_yes(&r.answer)).collect();

    let only = std::env::var("ONLY").ok();
    let setup = |name, kind, chars, epochs, l2, positive_weight| Setup {
        name,
        kind,
        chars,
        fit: Fit { epochs, l2, positive_weight },
    };
    let setups = [
        setup("words", false, false, 6, 1e-4, 1.0),
        setup("words+kind", true, false, 6, 1e-4, 1.0),
        setup("words+chars", false, true, 6, 1e-4, 1.0),
        setup("words+kind+chars", true, true, 6, 1e-4, 1.0),
        setup("words+kind+chars w2", true, true, 6, 1e-4, 2.0),
        setup("words+kind e12", true, false, 12, 1e-4, 1.0),
        setup("words+kind e3", true, false, 3, 1e-4, 1.0),
        setup("words+kind l2=1e-3", true, false, 6, 1e-3, 1.0),
        setup("words+kind w0.5", true, false, 6, 1e-4, 0.5),
    ];
    for setup in &setups {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|o| o == setup.name)) {
            continue;
        }
        // Features for a row, scored with a given question kind.
        let feats = |i: usize, k: QKind| -> Vec<String> {
            let mut f = base[i].clone();
            if setup.chars {
                char_grams(&rows[i].answer, &mut f);
            }
            if setup.kind {
                f = crossed(&f, k);
            }
            f
        };
        let own: Vec<Vec<String>> = (0..rows.len()).map(|i| feats(i, kinds[i])).collect();
        let as_inv: Vec<Vec<String>> =
            if setup.kind { (0..rows.len()).map(|i| feats(i, QKind::Invitation)).collect() } else { own.clone() };
        let (names, ids) = vocabulary(own.iter(), 3);
        let (x, x_inv) = (to_ids(&own, &ids), to_ids(&as_inv, &ids));
        for target in [Gold::Yes, Gold::No] {
            let y: Vec<bool> = rows.iter().map(|r| r.gold == target).collect();
            let fold = |i: usize| (i.wrapping_mul(2_654_435_761) >> 7) % FOLDS;
            let (mut oof, mut oof_inv) = (vec![0.0; rows.len()], vec![0.0; rows.len()]);
            for k in 0..FOLDS {
                let train: Vec<(&[u32], bool)> =
                    (0..rows.len()).filter(|i| fold(*i) != k).map(|i| (x[i].as_slice(), y[i])).collect();
                let lr = Lr::train(names.len(), &train, 0x9e37_79b9 + k as u64, setup.fit);
                for i in (0..rows.len()).filter(|i| fold(*i) == k) {
                    oof[i] = lr.score(&x[i]);
                    oof_inv[i] = lr.score(&x_inv[i]);
                }
            }
            for (view, scores) in [("own kind", &oof), ("as invitation", &oof_inv)] {
                if !setup.kind && view == "as invitation" {
                    continue;
                }
                match target {
                    Gold::Yes => yes_curve(setup.name, view, &rows, &readings, &gates, &inv, scores),
                    _ => no_curve(setup.name, view, &rows, &readings, &inv, scores),
                }
            }
        }
    }
}

/// Whether the yes-model may read a reply: (no negation/hedge/doubt/question
/// by the phrase table's anywhere sections, short).
fn gate_yes(answer: &str) -> (bool, bool) {
    let r = read(answer);
    (r.model_may_accept, r.model_may_refuse)
}

fn yes_curve(
    name: &str,
    view: &str,
    rows: &[circa::Row],
    readings: &[introbot::mail::decision::Reading],
    gates: &[(bool, bool)],
    inv: &[bool],
    scores: &[f64],
) {
    let yes = |i: usize| rows[i].gold == Gold::Yes;
    let by_table = |i: usize| readings[i].decision == Decision::Yes;
    let candidate = |i: usize| readings[i].decision == Decision::Unclear && gates[i].0;
    let invitation = |i: usize| inv[i];
    let all: Vec<usize> = (0..rows.len()).collect();
    let walk = Walk { right: &yes, by_table: &by_table, candidate: &candidate, scores };
    let marks = [0.0030, 0.0035, 0.0040, 0.0050, 0.0075, 0.01, 0.02, 0.05];
    println!(
        "YES {name:<22} {view:<14} false-yes budget → invitation yes-recall |{}",
        walk.run(&all, &[&invitation], &marks, None)
    );
    // The same on invitation rows alone: false-yes among their no/unclear.
    let invitations: Vec<usize> = all.into_iter().filter(|i| inv[*i]).collect();
    let marks = [0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2];
    let show = |i: usize| format!("{:?} {} || {}", rows[i].gold, rows[i].question, rows[i].answer);
    let dump: Option<&dyn Fn(usize) -> String> = std::env::var_os("DUMP").map(|_| &show as _);
    println!("YES-INV-ONLY {name:<13} {view:<14} |{}", walk.run(&invitations, &[&invitation], &marks, dump));
}

fn no_curve(
    name: &str,
    view: &str,
    rows: &[circa::Row],
    readings: &[introbot::mail::decision::Reading],
    inv: &[bool],
    scores: &[f64],
) {
    let no = |i: usize| rows[i].gold == Gold::No;
    let by_table = |i: usize| matches!(readings[i].decision, Decision::No | Decision::Later | Decision::Stop);
    let candidate = |i: usize| readings[i].decision == Decision::Unclear && readings[i].model_may_refuse;
    let (every, invitation) = (|_: usize| true, |i: usize| inv[i]);
    let all: Vec<usize> = (0..rows.len()).collect();
    let walk = Walk { right: &no, by_table: &by_table, candidate: &candidate, scores };
    let marks = [0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1];
    println!(
        "NO  {name:<22} {view:<14} wrong-no budget → no-recall (invitation) |{}",
        walk.run(&all, &[&every, &invitation], &marks, None)
    );
}

/// A precision/recall walk for one side (yes or no): the table's own
/// decisions first, then the model's candidates, best score first.
struct Walk<'a> {
    /// Whether a row's gold answer is this side's.
    right: &'a dyn Fn(usize) -> bool,
    /// Whether the table alone reads it as this side.
    by_table: &'a dyn Fn(usize) -> bool,
    /// Whether the model may read it as this side.
    candidate: &'a dyn Fn(usize) -> bool,
    scores: &'a [f64],
}

impl Walk<'_> {
    /// For each budget (wrong reads as a share of `rows`' other answers),
    /// the recall of this side within each of `sets`, before the first
    /// candidate that would exceed it. `dump` prints the first candidates.
    fn run(
        &self,
        rows: &[usize],
        sets: &[&dyn Fn(usize) -> bool],
        marks: &[f64],
        dump: Option<&dyn Fn(usize) -> String>,
    ) -> String {
        let others = rows.iter().filter(|i| !(self.right)(**i)).count() as f64;
        let totals: Vec<f64> =
            sets.iter().map(|s| rows.iter().filter(|i| s(**i) && (self.right)(**i)).count() as f64).collect();
        let mut wrong = rows.iter().filter(|i| !(self.right)(**i) && (self.by_table)(**i)).count();
        let mut hits: Vec<usize> = sets
            .iter()
            .map(|s| rows.iter().filter(|i| s(**i) && (self.right)(**i) && (self.by_table)(**i)).count())
            .collect();
        let recalls = |hits: &[usize]| {
            hits.iter()
                .zip(&totals)
                .map(|(h, t)| format!("{:.1}%", 100.0 * *h as f64 / t))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let mut line = format!(" table alone: {:.2}%: {}", 100.0 * wrong as f64 / others, recalls(&hits));
        let mut cands: Vec<usize> =
            rows.iter().copied().filter(|i| !(self.by_table)(*i) && (self.candidate)(*i)).collect();
        cands.sort_by(|a, b| self.scores[*b].total_cmp(&self.scores[*a]));
        let mut marks = marks.iter().peekable();
        for (n, i) in cands.into_iter().enumerate() {
            if let Some(show) = dump.filter(|_| n < 250) {
                println!("  {:>7.3} {}", self.scores[i], show(i));
            }
            let right = (self.right)(i);
            let w = wrong + usize::from(!right);
            while let Some(m) = marks.next_if(|m| w as f64 > **m * others) {
                line += &format!(" | ≤{:.2}%: {}", 100.0 * m, recalls(&hits));
            }
            wrong = w;
            for (h, s) in hits.iter_mut().zip(sets) {
                *h += usize::from(right && s(i));
            }
        }
        line
    }
}

const CONFIRM_FIT: Fit = Fit { epochs: 6, l2: 1e-4, positive_weight: 1.0 };

/// The yes-model as a "please confirm" band (see the module docs).
fn confirm_study() {
    let path = circa::path();
    let all = circa::load(&path);
    let readings: Vec<_> = all.iter().map(|r| read(&r.answer)).collect();
    let held: Vec<bool> = all.iter().map(|r| is_held_back(r.id)).collect();
    let inv: Vec<bool> = all.iter().map(|r| is_invitation(&r.question)).collect();
    let base: Vec<Vec<String>> = all.iter().map(|r| features(&r.answer)).collect();
    let tuning: Vec<usize> = (0..all.len()).filter(|i| !held[*i]).collect();
    let own: Vec<Vec<String>> = (0..all.len()).map(|i| crossed(&base[i], qkind(&all[i].question))).collect();
    let as_inv: Vec<Vec<String>> = base.iter().map(|f| crossed(f, QKind::Invitation)).collect();
    // The vocabulary from the tuning part only.
    let (names, ids) = vocabulary(tuning.iter().map(|i| &own[*i]), 3);
    let (x, x_inv) = (to_ids(&own, &ids), to_ids(&as_inv, &ids));
    let y: Vec<bool> = all.iter().map(|r| r.gold == Gold::Yes).collect();
    let fold = |k: usize| (k.wrapping_mul(2_654_435_761) >> 7) % FOLDS;
    let mut score = vec![0.0; all.len()];
    for f in 0..FOLDS {
        let train: Vec<(&[u32], bool)> =
            tuning.iter().enumerate().filter(|(k, _)| fold(*k) != f).map(|(_, i)| (x[*i].as_slice(), y[*i])).collect();
        let lr = Lr::train(names.len(), &train, 0x9e37_79b9 + f as u64, CONFIRM_FIT);
        for (_, i) in tuning.iter().enumerate().filter(|(k, _)| fold(*k) == f) {
            score[*i] = lr.score(&x_inv[*i]);
        }
    }
    let train: Vec<(&[u32], bool)> = tuning.iter().map(|i| (x[*i].as_slice(), y[*i])).collect();
    let lr = Lr::train(names.len(), &train, 0x5eed, CONFIRM_FIT);
    for i in (0..all.len()).filter(|i| held[*i]) {
        score[i] = lr.score(&x_inv[i]);
    }
    let candidate = |i: usize| readings[i].decision == Decision::Unclear && readings[i].model_may_accept;
    // Thresholds on the tuning part: rules' false-yes plus the model's
    // within each budget of the no/unclear answers.
    let not_yes = tuning.iter().filter(|i| !y[**i]).count() as f64;
    let fy = tuning.iter().filter(|i| !y[**i] && readings[**i].decision == Decision::Yes).count();
    let mut cands: Vec<usize> = tuning.iter().copied().filter(|i| candidate(*i)).collect();
    cands.sort_by(|a, b| score[*b].total_cmp(&score[*a]));
    let budgets = [0.004, 0.01, 0.02, 0.05];
    let mut thresholds = Vec::new();
    for b in budgets {
        let mut t = f64::INFINITY;
        let mut f = fy;
        for i in &cands {
            let f2 = f + usize::from(!y[*i]);
            if f2 as f64 > b * not_yes {
                break;
            }
            f = f2;
            t = score[*i];
        }
        thresholds.push(t);
    }
    println!(
        "| budget (tuning, cross-validated) | threshold | part | no/unclear made yes or asked | invitation no/unclear | invitation yeses recorded or asked | all yeses |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (b, t) in budgets.iter().zip(&thresholds) {
        for (part, rows) in [("tuning (CV)", false), ("held back", true)] {
            let idx: Vec<usize> = (0..all.len()).filter(|i| held[*i] == rows).collect();
            let hit = |i: usize| readings[i].decision == Decision::Yes || (candidate(i) && score[i] >= *t);
            let share = |pick: &dyn Fn(usize) -> bool| {
                let n = idx.iter().filter(|i| pick(**i)).count();
                let h = idx.iter().filter(|i| pick(**i) && hit(**i)).count();
                format!("{:.2} % ({h}/{n})", 100.0 * h as f64 / n.max(1) as f64)
            };
            println!(
                "| {:.1} % | {t:.3} | {part} | {} | {} | {} | {} |",
                100.0 * b,
                share(&|i| !y[i]),
                share(&|i| !y[i] && inv[i]),
                share(&|i| y[i] && inv[i]),
                share(&|i| y[i]),
            );
        }
    }
}
