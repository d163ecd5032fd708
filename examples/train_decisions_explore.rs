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

use std::collections::HashMap;

use introbot::core::Decision;
use introbot::mail::decision::{features, read};

#[path = "../benches/support/circa.rs"]
mod circa;

use circa::{Gold, QuestionKind as QKind, is_held_back, is_invitation, question_kind as qkind};

const FOLDS: usize = 5;

struct Lr {
    bias: f64,
    bias_g2: f64,
    w: Vec<(f64, f64)>,
}

impl Lr {
    fn score(&self, x: &[u32]) -> f64 {
        self.bias + x.iter().map(|f| self.w[*f as usize].0).sum::<f64>()
    }

    fn train(n: usize, rows: &[(&[u32], bool)], seed: u64, epochs: usize, l2: f64, pos_weight: f64) -> Lr {
        let mut lr = Lr { bias: 0.0, bias_g2: 1e-8, w: vec![(0.0, 1e-8); n] };
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let mut state = seed.max(1);
        for _ in 0..epochs {
            for i in (1..order.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            for &i in &order {
                let (x, y) = rows[i];
                let z = lr.score(x).clamp(-30.0, 30.0);
                let mut g = 1.0 / (1.0 + (-z).exp()) - if y { 1.0 } else { 0.0 };
                if y {
                    g *= pos_weight;
                }
                lr.bias_g2 += g * g;
                lr.bias -= 0.05 * g / lr.bias_g2.sqrt();
                for f in x {
                    let (w, g2) = &mut lr.w[*f as usize];
                    let gk = g + l2 * *w;
                    *g2 += gk * gk;
                    *w -= 0.05 * gk / g2.sqrt();
                }
            }
        }
        lr
    }
}

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
    pos_weight: f64,
    l2: f64,
    epochs: usize,
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
    let setups = [
        Setup { name: "words", kind: false, chars: false, pos_weight: 1.0, l2: 1e-4, epochs: 6 },
        Setup { name: "words+kind", kind: true, chars: false, pos_weight: 1.0, l2: 1e-4, epochs: 6 },
        Setup { name: "words+chars", kind: false, chars: true, pos_weight: 1.0, l2: 1e-4, epochs: 6 },
        Setup { name: "words+kind+chars", kind: true, chars: true, pos_weight: 1.0, l2: 1e-4, epochs: 6 },
        Setup { name: "words+kind+chars w2", kind: true, chars: true, pos_weight: 2.0, l2: 1e-4, epochs: 6 },
        Setup { name: "words+kind e12", kind: true, chars: false, pos_weight: 1.0, l2: 1e-4, epochs: 12 },
        Setup { name: "words+kind e3", kind: true, chars: false, pos_weight: 1.0, l2: 1e-4, epochs: 3 },
        Setup { name: "words+kind l2=1e-3", kind: true, chars: false, pos_weight: 1.0, l2: 1e-3, epochs: 6 },
        Setup { name: "words+kind w0.5", kind: true, chars: false, pos_weight: 0.5, l2: 1e-4, epochs: 6 },
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
                let crossed: Vec<String> = f.iter().map(|x| format!("{k:?}/{x}")).collect();
                f.extend(crossed);
                f.push(format!("kind:{k:?}"));
            }
            f
        };
        let own: Vec<Vec<String>> = (0..rows.len()).map(|i| feats(i, kinds[i])).collect();
        let as_inv: Vec<Vec<String>> =
            if setup.kind { (0..rows.len()).map(|i| feats(i, QKind::Invitation)).collect() } else { own.clone() };
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for x in &own {
            let mut u: Vec<&str> = x.iter().map(String::as_str).collect();
            u.sort_unstable();
            u.dedup();
            for f in u {
                *seen.entry(f).or_default() += 1;
            }
        }
        let mut names: Vec<&str> = seen.iter().filter(|(_, n)| **n >= 3).map(|(f, _)| *f).collect();
        names.sort_unstable();
        let ids: HashMap<&str, u32> = names.iter().enumerate().map(|(i, f)| (*f, i as u32)).collect();
        let to_ids = |v: &Vec<Vec<String>>| -> Vec<Vec<u32>> {
            v.iter().map(|fs| fs.iter().filter_map(|f| ids.get(f.as_str()).copied()).collect()).collect()
        };
        let (x, x_inv) = (to_ids(&own), to_ids(&as_inv));
        for target in [Gold::Yes, Gold::No] {
            let y: Vec<bool> = rows.iter().map(|r| r.gold == target).collect();
            let fold = |i: usize| (i.wrapping_mul(2_654_435_761) >> 7) % FOLDS;
            let (mut oof, mut oof_inv) = (vec![0.0; rows.len()], vec![0.0; rows.len()]);
            for k in 0..FOLDS {
                let train: Vec<(&[u32], bool)> =
                    (0..rows.len()).filter(|i| fold(*i) != k).map(|i| (x[i].as_slice(), y[i])).collect();
                let lr =
                    Lr::train(names.len(), &train, 0x9e37_79b9 + k as u64, setup.epochs, setup.l2, setup.pos_weight);
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
    let not_yes = rows.iter().filter(|r| r.gold != Gold::Yes).count() as f64;
    let inv_yes = (0..rows.len()).filter(|i| inv[*i] && rows[*i].gold == Gold::Yes).count() as f64;
    let mut fy =
        (0..rows.len()).filter(|i| rows[*i].gold != Gold::Yes && readings[*i].decision == Decision::Yes).count();
    let mut hit = (0..rows.len())
        .filter(|i| inv[*i] && rows[*i].gold == Gold::Yes && readings[*i].decision == Decision::Yes)
        .count();
    let mut cands: Vec<usize> =
        (0..rows.len()).filter(|i| readings[*i].decision == Decision::Unclear && gates[*i].0).collect();
    cands.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let mut marks = vec![0.0030, 0.0035, 0.0040, 0.0050, 0.0075, 0.01, 0.02, 0.05];
    let mut line = format!(
        "YES {name:<22} {view:<14} rules fy {:.2}% inv-rec {:.1}% |",
        100.0 * fy as f64 / not_yes,
        100.0 * hit as f64 / inv_yes
    );
    for i in cands {
        let (f2, h2) = if rows[i].gold == Gold::Yes { (fy, hit + usize::from(inv[i])) } else { (fy + 1, hit) };
        while !marks.is_empty() && f2 as f64 > marks[0] * not_yes {
            line += &format!(" fy≤{:.2}%: {:.1}%", 100.0 * marks[0], 100.0 * hit as f64 / inv_yes);
            marks.remove(0);
        }
        (fy, hit) = (f2, h2);
    }
    println!("{line}");
    // The same on invitation rows alone: false-yes among their no/unclear.
    let inv_not_yes = (0..rows.len()).filter(|i| inv[*i] && rows[*i].gold != Gold::Yes).count() as f64;
    let mut fy = (0..rows.len())
        .filter(|i| inv[*i] && rows[*i].gold != Gold::Yes && readings[*i].decision == Decision::Yes)
        .count();
    let mut hit = (0..rows.len())
        .filter(|i| inv[*i] && rows[*i].gold == Gold::Yes && readings[*i].decision == Decision::Yes)
        .count();
    let mut cands: Vec<usize> =
        (0..rows.len()).filter(|i| inv[*i] && readings[*i].decision == Decision::Unclear && gates[*i].0).collect();
    cands.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let mut marks = vec![0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2];
    let mut line = format!(
        "YES-INV-ONLY {name:<13} {view:<14} rules inv-fy {:.2}% inv-rec {:.1}% |",
        100.0 * fy as f64 / inv_not_yes,
        100.0 * hit as f64 / inv_yes
    );
    let dump = std::env::var("DUMP").is_ok();
    for (n, i) in cands.into_iter().enumerate() {
        if dump && n < 250 {
            println!("  {:>7.3} {:?} {} || {}", scores[i], rows[i].gold, rows[i].question, rows[i].answer);
        }
        let (f2, h2) = if rows[i].gold == Gold::Yes { (fy, hit + 1) } else { (fy + 1, hit) };
        while !marks.is_empty() && f2 as f64 > marks[0] * inv_not_yes {
            line += &format!(" fy≤{:.1}%: {:.1}%", 100.0 * marks[0], 100.0 * hit as f64 / inv_yes);
            marks.remove(0);
        }
        (fy, hit) = (f2, h2);
    }
    println!("{line}");
}

fn no_curve(
    name: &str,
    view: &str,
    rows: &[circa::Row],
    readings: &[introbot::mail::decision::Reading],
    inv: &[bool],
    scores: &[f64],
) {
    let refusal = |d: Decision| matches!(d, Decision::No | Decision::Later | Decision::Stop);
    let not_no = rows.iter().filter(|r| r.gold != Gold::No).count() as f64;
    let gold_no = rows.iter().filter(|r| r.gold == Gold::No).count() as f64;
    let inv_no = (0..rows.len()).filter(|i| inv[*i] && rows[*i].gold == Gold::No).count() as f64;
    let mut wrong = (0..rows.len()).filter(|i| rows[*i].gold != Gold::No && refusal(readings[*i].decision)).count();
    let mut right = (0..rows.len()).filter(|i| rows[*i].gold == Gold::No && refusal(readings[*i].decision)).count();
    let mut right_inv =
        (0..rows.len()).filter(|i| inv[*i] && rows[*i].gold == Gold::No && refusal(readings[*i].decision)).count();
    let mut cands: Vec<usize> = (0..rows.len())
        .filter(|i| readings[*i].decision == Decision::Unclear && readings[*i].model_may_refuse)
        .collect();
    cands.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let mut marks = vec![0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1];
    let mut line = format!(
        "NO  {name:<22} {view:<14} rules wn {:.2}% rec {:.1}% |",
        100.0 * wrong as f64 / not_no,
        100.0 * right as f64 / gold_no
    );
    for i in cands {
        let y = rows[i].gold == Gold::No;
        let w2 = wrong + usize::from(!y);
        while !marks.is_empty() && w2 as f64 > marks[0] * not_no {
            line += &format!(
                " wn≤{:.2}%: {:.1}% (inv {:.1}%)",
                100.0 * marks[0],
                100.0 * right as f64 / gold_no,
                100.0 * right_inv as f64 / inv_no
            );
            marks.remove(0);
        }
        wrong = w2;
        right += usize::from(y);
        right_inv += usize::from(y && inv[i]);
    }
    println!("{line}");
}

/// The yes-model as a "please confirm" band (see the module docs).
fn confirm_study() {
    let path = circa::path();
    let all = circa::load(&path);
    let readings: Vec<_> = all.iter().map(|r| read(&r.answer)).collect();
    let held: Vec<bool> = all.iter().map(|r| is_held_back(r.id)).collect();
    let inv: Vec<bool> = all.iter().map(|r| is_invitation(&r.question)).collect();
    let crossed = |i: usize, k: QKind| -> Vec<String> {
        let mut f = features(&all[i].answer);
        let c: Vec<String> = f.iter().map(|x| format!("{k:?}/{x}")).collect();
        f.extend(c);
        f.push(format!("kind:{k:?}"));
        f
    };
    let tuning: Vec<usize> = (0..all.len()).filter(|i| !held[*i]).collect();
    let own: Vec<Vec<String>> = (0..all.len()).map(|i| crossed(i, qkind(&all[i].question))).collect();
    let as_inv: Vec<Vec<String>> = (0..all.len()).map(|i| crossed(i, QKind::Invitation)).collect();
    // The vocabulary from the tuning part only.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for i in &tuning {
        let mut u: Vec<&str> = own[*i].iter().map(String::as_str).collect();
        u.sort_unstable();
        u.dedup();
        for f in u {
            *seen.entry(f).or_default() += 1;
        }
    }
    let mut names: Vec<&str> = seen.iter().filter(|(_, n)| **n >= 3).map(|(f, _)| *f).collect();
    names.sort_unstable();
    let ids: HashMap<&str, u32> = names.iter().enumerate().map(|(i, f)| (*f, i as u32)).collect();
    let to_ids = |fs: &[String]| -> Vec<u32> { fs.iter().filter_map(|f| ids.get(f.as_str()).copied()).collect() };
    let x: Vec<Vec<u32>> = own.iter().map(|f| to_ids(f)).collect();
    let x_inv: Vec<Vec<u32>> = as_inv.iter().map(|f| to_ids(f)).collect();
    let y: Vec<bool> = all.iter().map(|r| r.gold == Gold::Yes).collect();
    let fold = |k: usize| (k.wrapping_mul(2_654_435_761) >> 7) % FOLDS;
    let mut score = vec![0.0; all.len()];
    for f in 0..FOLDS {
        let train: Vec<(&[u32], bool)> =
            tuning.iter().enumerate().filter(|(k, _)| fold(*k) != f).map(|(_, i)| (x[*i].as_slice(), y[*i])).collect();
        let lr = Lr::train(names.len(), &train, 0x9e37_79b9 + f as u64, 6, 1e-4, 1.0);
        for (_, i) in tuning.iter().enumerate().filter(|(k, _)| fold(*k) == f) {
            score[*i] = lr.score(&x_inv[*i]);
        }
    }
    let train: Vec<(&[u32], bool)> = tuning.iter().map(|i| (x[*i].as_slice(), y[*i])).collect();
    let lr = Lr::train(names.len(), &train, 0x5eed, 6, 1e-4, 1.0);
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
