//! The logistic regression that the decision model's trainer
//! (`examples/train_decisions.rs`) and its recall study
//! (`examples/train_decisions_explore.rs`) fit: features as ids, AdaGrad,
//! L2, a fixed pseudo-random order, so that the same data give the same
//! weights on every machine.

// Each of the two uses a part of it.
#![allow(dead_code)]

use std::collections::HashMap;

use crate::circa::QuestionKind;

const LEARNING_RATE: f64 = 0.05;

/// How to fit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fit {
    pub(crate) epochs: usize,
    pub(crate) l2: f64,
    /// The gradient of a positive row is multiplied by this (class weight).
    pub(crate) positive_weight: f64,
}

/// Weights by feature id, each with AdaGrad's sum of squared gradients.
pub(crate) struct Lr {
    pub(crate) bias: f64,
    bias_g2: f64,
    pub(crate) w: Vec<(f64, f64)>,
}

impl Lr {
    pub(crate) fn score(&self, x: &[u32]) -> f64 {
        self.bias + x.iter().map(|f| self.w[*f as usize].0).sum::<f64>()
    }

    /// Fits `rows` (feature ids below `features`, label) in an order drawn
    /// from `seed`.
    pub(crate) fn train(features: usize, rows: &[(&[u32], bool)], seed: u64, fit: Fit) -> Lr {
        let mut lr = Lr { bias: 0.0, bias_g2: 1e-8, w: vec![(0.0, 1e-8); features] };
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let mut state = seed.max(1);
        for _ in 0..fit.epochs {
            // Fisher-Yates with xorshift64: the same order on every machine.
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
                    g *= fit.positive_weight;
                }
                lr.bias_g2 += g * g;
                lr.bias -= LEARNING_RATE * g / lr.bias_g2.sqrt();
                for f in x {
                    let (w, g2) = &mut lr.w[*f as usize];
                    let gk = g + fit.l2 * *w;
                    *g2 += gk * gk;
                    *w -= LEARNING_RATE * gk / g2.sqrt();
                }
            }
        }
        lr
    }
}

/// The features seen in at least `min_rows` of `rows`, sorted, and their ids.
pub(crate) fn vocabulary<'a>(
    rows: impl Iterator<Item = &'a Vec<String>>,
    min_rows: usize,
) -> (Vec<&'a str>, HashMap<&'a str, u32>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for x in rows {
        let mut unique: Vec<&str> = x.iter().map(String::as_str).collect();
        unique.sort_unstable();
        unique.dedup();
        for f in unique {
            *seen.entry(f).or_default() += 1;
        }
    }
    let mut names: Vec<&str> = seen.iter().filter(|(_, n)| **n >= min_rows).map(|(f, _)| *f).collect();
    names.sort_unstable();
    let ids = names.iter().enumerate().map(|(i, f)| (*f, i as u32)).collect();
    (names, ids)
}

/// Each row's features as ids (unknown ones dropped).
pub(crate) fn to_ids(rows: &[Vec<String>], ids: &HashMap<&str, u32>) -> Vec<Vec<u32>> {
    rows.iter().map(|fs| fs.iter().filter_map(|f| ids.get(f.as_str()).copied()).collect()).collect()
}

/// Features crossed with the question's kind: each as it is and as
/// `Kind/feature`, and `Kind/` for the kind itself.
pub(crate) fn crossed(features: &[String], kind: QuestionKind) -> Vec<String> {
    let mut out = features.to_vec();
    out.extend(features.iter().map(|f| format!("{kind:?}/{f}")));
    out.push(format!("{kind:?}/"));
    out
}
