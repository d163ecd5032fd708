//! Trains the refusal model that `mail::decide` consults for replies the
//! phrase table leaves unclear, and writes `src/mail/decision_model.txt`.
//!
//! Run: `cargo run --release --example train_decisions` (`CIRCA=PATH` as
//! for `cargo bench --bench decisions`). Deterministic: the same file and
//! code give the same weights.
//!
//! - Data: Circa's rows **of the tuning part only** (the split is
//!   `benches/support/circa.rs`'s; the held-back quarter is never read here).
//!   Label: the gold answer is a no.
//! - Model: logistic regression over `mail::decision::features`, each
//!   feature also crossed with the question's kind (invitation, preference,
//!   fact: `circa::question_kind`), features seen in at least [`MIN_ROWS`]
//!   rows, AdaGrad, L2, [`FIT`]'s passes in a fixed pseudo-random order
//!   (`benches/support/logistic.rs`).
//!   The bot asks one kind of question, an invitation, so the weights written
//!   are a feature's shared weight plus its invitation weight (and the bias
//!   plus the invitation kind's): `mail::decide` reads every reply as an
//!   answer to an invitation, at no cost at run time. The crossing lets the
//!   other questions' answers teach what they share with invitations without
//!   teaching what only they mean ("I prefer fiction" refuses "Do you like
//!   non-fiction?", not an introduction). Cross-validated on the tuning
//!   part, it keeps overall no-recall about where words alone put it (13.9 %
//!   against 14.7 % at the same wrong-no) and raises it on invitations from
//!   19 % to 25 % (`examples/train_decisions_explore.rs`).
//! - Threshold: by 5-fold cross-validation on the tuning part (every row
//!   scored as an answer to an invitation, as `decide` will), the lowest
//!   score at which the rows the model may refuse (see
//!   `mail::decision::Reading::model_may_refuse`) add refusals while all
//!   wrong refusals (gold yes or unclear read as no, later or stop, the phrase
//!   table's included) stay at most [`WRONG_NO_BUDGET`] of the yes and unclear
//!   answers; the target is 1 %, the rest is margin for rows not seen.
//!
//! Circa is © Google LLC, CC BY-SA 4.0 (see the corpus README); the weights
//! are an adaptation of it and carry that licence in their file header.

use std::fmt::Write as _;

use introbot::core::Decision;
use introbot::mail::decision::{features, read};

#[path = "../benches/support/circa.rs"]
mod circa;
#[path = "../benches/support/logistic.rs"]
mod logistic;

use circa::{Gold, QuestionKind, is_held_back, question_kind};
use logistic::{Fit, Lr, crossed, to_ids, vocabulary};

/// A feature must occur in this many training rows to get a weight.
const MIN_ROWS: usize = 3;
const FIT: Fit = Fit { epochs: 6, l2: 1e-4, positive_weight: 1.0 };
const FOLDS: usize = 5;
/// Wrong refusals allowed on the tuning part, as a share of its yes and
/// unclear answers.
const WRONG_NO_BUDGET: f64 = 0.0075;

fn main() {
    let path = circa::path();
    let rows: Vec<circa::Row> = circa::load(&path).into_iter().filter(|r| !is_held_back(r.id)).collect();
    eprintln!("training on the tuning part: {} rows of {}", rows.len(), path.display());

    // Features, each also crossed with the question's kind, as ids, kept
    // when seen in enough rows; `as_invitation` is every row's features as
    // if it answered an invitation (how `decide` reads every reply).
    let base: Vec<Vec<String>> = rows.iter().map(|r| features(&r.answer)).collect();
    let raw: Vec<Vec<String>> = rows.iter().zip(&base).map(|(r, fs)| crossed(fs, question_kind(&r.question))).collect();
    let as_invitation: Vec<Vec<String>> = base.iter().map(|fs| crossed(fs, QuestionKind::Invitation)).collect();
    let (names, ids) = vocabulary(raw.iter(), MIN_ROWS);
    let (x, x_invitation) = (to_ids(&raw, &ids), to_ids(&as_invitation, &ids));
    let y: Vec<bool> = rows.iter().map(|r| r.gold == Gold::No).collect();
    let readings: Vec<_> = rows.iter().map(|r| read(&r.answer)).collect();

    // Out-of-fold scores, as answers to an invitation.
    let fold = |i: usize| (i.wrapping_mul(2_654_435_761) >> 7) % FOLDS;
    let mut oof = vec![0.0; rows.len()];
    for k in 0..FOLDS {
        let train: Vec<(&[u32], bool)> =
            (0..rows.len()).filter(|i| fold(*i) != k).map(|i| (x[i].as_slice(), y[i])).collect();
        let lr = Lr::train(names.len(), &train, 0x9e37_79b9 + k as u64, FIT);
        for i in (0..rows.len()).filter(|i| fold(*i) == k) {
            oof[i] = lr.score(&x_invitation[i]);
        }
    }

    // The threshold: walk down the candidates' scores within the budget.
    let refusal = |d: Decision| matches!(d, Decision::No | Decision::Later | Decision::Stop);
    let not_no = rows.iter().filter(|r| r.gold != Gold::No).count() as f64;
    let gold_no = rows.iter().filter(|r| r.gold == Gold::No).count() as f64;
    let mut wrong = (0..rows.len()).filter(|i| !y[*i] && refusal(readings[*i].decision)).count();
    let mut right = (0..rows.len()).filter(|i| y[*i] && refusal(readings[*i].decision)).count();
    eprintln!(
        "phrase table alone: wrong-no {:.2} %, no-recall {:.2} %",
        100.0 * wrong as f64 / not_no,
        100.0 * right as f64 / gold_no
    );
    let mut candidates: Vec<usize> = (0..rows.len())
        .filter(|i| readings[*i].decision == Decision::Unclear && readings[*i].model_may_refuse)
        .collect();
    candidates.sort_by(|a, b| oof[*b].total_cmp(&oof[*a]));
    let mut threshold = f64::INFINITY;
    for i in candidates {
        let (w, r) = if y[i] { (wrong, right + 1) } else { (wrong + 1, right) };
        if w as f64 > WRONG_NO_BUDGET * not_no {
            break;
        }
        (wrong, right) = (w, r);
        threshold = oof[i];
    }
    eprintln!(
        "with the model (cross-validated): wrong-no {:.2} %, no-recall {:.2} %, threshold {threshold:.4}",
        100.0 * wrong as f64 / not_no,
        100.0 * right as f64 / gold_no
    );

    // The model itself, on every tuning row.
    let all: Vec<(&[u32], bool)> = (0..rows.len()).map(|i| (x[i].as_slice(), y[i])).collect();
    let lr = Lr::train(names.len(), &all, 0x5eed, FIT);
    let mut out = String::new();
    out.push_str(
        "# The refusal model of src/mail/decision.rs: a logistic regression, written by\n\
         # `cargo run --release --example train_decisions` (see that file). Do not edit.\n\
         #\n\
         # Learnt from the tuning part of Circa (Annie Louis, Dan Roth, Filip Radlinski,\n\
         # \"I'd rather just go to bed\": Understanding Indirect Answers, EMNLP 2020;\n\
         # (c) Google LLC, google-research-datasets/circa). These weights are an adaptation\n\
         # of that data and are shared under its licence, CC BY-SA 4.0\n\
         # (https://creativecommons.org/licenses/by-sa/4.0/), not the crate's.\n",
    );
    // Folded for invitations: a feature's weight is its shared one plus its
    // invitation one (a row with `Invitation/f` has `f`: every crossed
    // feature kept has its shared one kept too).
    let weight = |name: &str| ids.get(name).map_or(0.0, |i| lr.w[*i as usize].0);
    let invitation = format!("{:?}/", QuestionKind::Invitation);
    let _ = writeln!(out, "bias\t{:.4}", lr.bias + weight(&invitation));
    let _ = writeln!(out, "threshold\t{threshold:.4}");
    let mut weights: Vec<(&str, f64)> = names
        .iter()
        .filter(|f| !["Invitation/", "Preference/", "Fact/"].iter().any(|k| f.starts_with(k)))
        .map(|f| (*f, weight(f) + weight(&format!("{invitation}{f}"))))
        .collect();
    weights.retain(|(_, w)| w.abs() >= 0.005);
    weights.sort_by(|a, b| a.0.cmp(b.0));
    for (f, w) in &weights {
        let _ = writeln!(out, "{f}\t{w:.4}");
    }
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mail/decision_model.txt");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
    eprintln!("wrote {} ({} weights)", target.display(), weights.len());
}
