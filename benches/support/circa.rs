//! Circa's rows as the decision bench and the refusal model's trainer read
//! them, and the one split of the file into a tuning part and a held-back
//! quarter that both use (see `benches/decisions.rs`).

// Each of the two uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;

/// One Circa row, as the bench needs it.
pub(crate) struct Row {
    pub(crate) id: u64,
    pub(crate) question: String,
    pub(crate) answer: String,
    pub(crate) gold: Gold,
}

/// Circa's label, with everything but yes and no as unclear (the corpus
/// README: "yes, subject to some conditions", "in the middle", "other",
/// and rows without agreement).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gold {
    Yes,
    No,
    Unclear,
}

/// The held-back quarter: FNV-1a (64 bit) of the row's id in decimal.
/// Fixed before any tuning; changing it would leak the held-back rows.
pub(crate) fn is_held_back(id: u64) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.is_multiple_of(4)
}

/// Questions that invite, as the corpus README names them: the closest to
/// "would you like to meet Alice?".
pub(crate) fn is_invitation(question: &str) -> bool {
    let q = question.trim_start().to_lowercase();
    ["do you want to", "would you like to", "are you up for", "are you interested in"].iter().any(|p| q.starts_with(p))
}

/// What a question asks for, coarsely: the refusal model's trainer crosses
/// every feature with it (see `examples/train_decisions.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QuestionKind {
    /// An invitation ([`is_invitation`], and "Want to …", "Shall we …"):
    /// the kind of the bot's own question.
    Invitation,
    /// A taste ("Do you like …", "Are you a fan of …", "Do you prefer …").
    Preference,
    /// Anything else: a fact about the person.
    Fact,
}

pub(crate) fn question_kind(question: &str) -> QuestionKind {
    let q = question.trim_start().to_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| q.starts_with(p));
    if is_invitation(&q) || starts(&["want to ", "would you be up", "are you free", "shall we", "should we"]) {
        QuestionKind::Invitation
    } else if starts(&[
        "do you like",
        "do you enjoy",
        "are you a fan",
        "are you into",
        "do you prefer",
        "would you prefer",
        "do you love",
        "are you fond",
        "did you enjoy",
        "did you like",
    ]) {
        QuestionKind::Preference
    } else {
        QuestionKind::Fact
    }
}

/// Every row of the file at `path`.
pub(crate) fn load(path: &std::path::Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let rows: Vec<Row> = text.lines().filter(|l| !l.trim().is_empty()).map(parse_row).collect();
    assert!(!rows.is_empty(), "{} has no rows", path.display());
    rows
}

fn parse_row(line: &str) -> Row {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("bad row {line:?}: {e}"));
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
    let gold = match field("label").as_str() {
        "yes" => Gold::Yes,
        "no" => Gold::No,
        _ => Gold::Unclear,
    };
    Row {
        id: v.get("id").and_then(serde_json::Value::as_u64).unwrap_or_else(|| panic!("row without an id: {line:?}")),
        question: field("question"),
        answer: field("answer"),
        gold,
    }
}

/// `CIRCA`, or `shared/corpus/decisions/circa-dev.jsonl` in the nearest
/// ancestor of the crate that has it.
pub(crate) fn path() -> PathBuf {
    if let Some(p) = std::env::var_os("CIRCA") {
        return PathBuf::from(p);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared/corpus/decisions/circa-dev.jsonl"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no shared/corpus/decisions/circa-dev.jsonl above {}; set CIRCA", manifest.display()))
}
