//! Prints every decision the mail readers make over all the text we have, one
//! line per input, so that two builds can be compared line by line
//! (`scripts/decisions-unchanged BASE` does that): a change meant to be pure
//! speed must leave this output identical.
//!
//! Inputs, in a fixed order:
//! - Circa's answers and questions (`CIRCA=PATH`, or the shared corpus file,
//!   as for `cargo bench --bench decisions`): `decide`, the phrase table's
//!   own decision (`decision::read`), whether the refusal model may read it,
//!   and a hash of the model's features;
//! - the rows of `tests/fixtures/decisions.tsv`, the same;
//! - every `.eml` under `tests/fixtures` and under `GOLDEN_DIR` when set
//!   (the golden client × locale mails, written by
//!   `INTROBOT_GOLDEN_DIR=DIR cargo test --test tests golden`):
//!   `automatic::classify` (with its reason), and the decisions on the
//!   visible reply text.
//!
//! Run: `cargo run --release --example decision_outputs > outputs.tsv`
//! (`INPUTS=DIR`: the fixtures under DIR instead of this checkout's).
//! Only public APIs that every build since the phrase table has are used, so
//! the same file builds against an older commit.

use std::path::{Path, PathBuf};

use fixtures::collect;

use introbot::mail::decision::{features, read};
use introbot::mail::{automatic, decide, inbound, reply};

#[path = "../benches/support/circa.rs"]
mod circa;
#[path = "support/fixtures.rs"]
mod fixtures;

fn main() {
    // INPUTS=DIR reads the fixtures of another checkout, so that two builds
    // are compared on the same inputs (scripts/decisions-unchanged sets it).
    let root = std::env::var_os("INPUTS").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let mut out = String::new();
    let mut texts = 0usize;
    for row in circa::load(&circa::path()) {
        line(&mut out, "circa-answer", &row.id.to_string(), &row.answer);
        texts += 1;
        line(&mut out, "circa-question", &row.id.to_string(), &row.question);
        texts += 1;
    }
    let table = std::fs::read_to_string(root.join("tests/fixtures/decisions.tsv")).expect("decisions.tsv");
    for (n, row) in table.lines().enumerate().filter(|(_, l)| !l.starts_with('#')) {
        let text = row.rsplit_once('\t').map_or(row, |(t, _)| t);
        line(&mut out, "decisions.tsv", &(n + 1).to_string(), text);
        texts += 1;
    }
    let mut files = Vec::new();
    collect(&root.join("tests/fixtures"), &mut files);
    if let Some(dir) = std::env::var_os("GOLDEN_DIR") {
        collect(Path::new(&dir), &mut files);
    }
    let mut mails = 0usize;
    for file in &files {
        let raw = std::fs::read(file).expect("readable fixture");
        let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        let Some(msg) = inbound::parse(&raw) else {
            out.push_str(&format!("mail\t{name}\tnot mail\n"));
            continue;
        };
        out.push_str(&format!("mail\t{name}\t{:?}\n", automatic::classify(&msg)));
        line(&mut out, "mail-text", &name, &reply::visible_text(&msg));
        texts += 1;
        mails += 1;
    }
    print!("{out}");
    eprintln!("{texts} texts decided, {mails} mails classified");
}

/// One line: what `decide`, the phrase table and the model's gate make of
/// `text`, and a hash of the model's features.
fn line(out: &mut String, source: &str, key: &str, text: &str) {
    let reading = read(text);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in features(text) {
        for b in f.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    out.push_str(&format!(
        "{source}\t{key}\t{:?}\t{:?}\t{}\t{h:016x}\n",
        decide(text),
        reading.decision,
        reading.model_may_refuse
    ));
}
