//! What a reply's words amount to.
//!
//! Precision comes first: a wrong yes introduces people who did not agree,
//! while a wrong "unclear" only costs the connector a glance. So:
//! - `stop` when the person asks never to be contacted again ("unsubscribe",
//!   "Please don't send me these intro requests again.");
//! - `later` when they say not now (a time, "ask me again", "swamped");
//! - `no` for a refusal: a clause that refuses ("No", "Not really", "I'd
//!   rather not", "I wouldn't say so", "I'm not interested in …");
//! - `yes` only when a clause of its own accepts ("Sure", "That would be
//!   great", "I'd love to meet her") and nothing anywhere in the reply
//!   negates, hedges, sets a condition, contrasts or asks back ("Happy to
//!   talk to her next week" is a yes; "Yes, but not before March" a not-now);
//! - everything else, including lukewarm answers ("It's OK.") and mixed
//!   signals, is `unclear`.
//!
//! The words live in a data file, [`decision_phrases.txt`](../../src/mail/decision_phrases.txt),
//! with its syntax explained at its top: phrases that must be a whole clause
//! (accept, refuse, …) and phrases that count anywhere (negation, doubt, stop
//! …), for English, German, French, Spanish, Portuguese, Italian, Dutch,
//! Swedish, Danish, Norwegian, Polish and Russian. A yes-phrase inside a
//! longer sentence ("I'm in the garden", "I love to read", "I gladly pay
//! someone else to do it") is not a clause of its own, so it is not a yes.
//! Czech (negation fused into the verb: "nemůžu") and the languages written
//! without spaces (Chinese, Japanese) are left to the connector: a word list
//! cannot see their "not".
//!
//! A reply the table leaves unclear may still be a refusal no list can hold
//! ("I prefer fiction", to "Do you like non-fiction?"): a small logistic
//! regression, [`decision_model.txt`](../../src/mail/decision_model.txt),
//! trained on Circa by `examples/train_decisions.rs`, makes it a no when it
//! is confident, and only for a reply of at most 25 words with no accepting
//! clause, question, condition, contrast or time in it, and none about the
//! meeting itself unless it negates something ([`Reading::model_may_refuse`]).
//! It never makes a yes.
//!
//! Measured on Circa's indirect answers by `cargo bench --bench decisions`
//! (see BENCHMARKS.md). Pure: no IO, no clock.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::bytes::{RegexSet, RegexSetBuilder};

use crate::core::Decision;

/// The phrase table, compiled once.
static TABLE: LazyLock<Table> = LazyLock::new(|| Table::parse(PHRASES).expect("the built-in phrase table is valid"));

/// The phrase table's text (see the module docs).
const PHRASES: &str = include_str!("decision_phrases.txt");

/// Sections whose phrases count anywhere in the reply, in the order of the
/// compiled set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anywhere {
    Stop,
    StrongNo,
    NegatedNo,
    Deferral,
    Time,
    Negation,
    Hedge,
    Doubt,
}

impl Anywhere {
    const ALL: [Anywhere; 8] = [
        Anywhere::Stop,
        Anywhere::StrongNo,
        Anywhere::NegatedNo,
        Anywhere::Deferral,
        Anywhere::Time,
        Anywhere::Negation,
        Anywhere::Hedge,
        Anywhere::Doubt,
    ];

    fn section(self) -> &'static str {
        match self {
            Anywhere::Stop => "stop",
            Anywhere::StrongNo => "strong-no",
            Anywhere::NegatedNo => "negated-no",
            Anywhere::Deferral => "deferral",
            Anywhere::Time => "time",
            Anywhere::Negation => "negation",
            Anywhere::Hedge => "hedge",
            Anywhere::Doubt => "doubt",
        }
    }
}

/// Sections whose phrases must be a whole clause, in order of precedence
/// (a clause that is both a time and a refusal is a not-now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clause {
    Stop,
    Later,
    Time,
    Refuse,
    Accept,
    Neutral,
}

impl Clause {
    const ALL: [Clause; 6] =
        [Clause::Stop, Clause::Later, Clause::Time, Clause::Refuse, Clause::Accept, Clause::Neutral];

    fn section(self) -> &'static str {
        match self {
            Clause::Stop => "stop-clause",
            Clause::Later => "later",
            Clause::Time => "time",
            Clause::Refuse => "refuse",
            Clause::Accept => "accept",
            Clause::Neutral => "neutral",
        }
    }
}

/// What one clause is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Stop,
    Later,
    Refuse,
    Accept,
    Neutral,
    Other,
}

/// The compiled phrase table.
struct Table {
    /// One pattern per [`Anywhere`], searched in `" tok tok , tok "`.
    anywhere: RegexSet,
    /// One anchored pattern per [`Clause`], matched against a clause's
    /// `"tok tok"`.
    clause: RegexSet,
    /// Words (one or two tokens) that start a new clause; `true` for a
    /// contrast ("but"), after which what follows is what counts.
    joiners: HashMap<String, bool>,
}

/// A table or model that does not parse or compile: a mistake in
/// `decision_phrases.txt` or `decision_model.txt`, caught by the tests.
#[derive(Debug, thiserror::Error)]
enum TableError {
    #[error("decision_phrases.txt line {line}: {problem}")]
    Line { line: usize, problem: String },
    #[error("decision_model.txt line {line}: want `feature<TAB>number`")]
    Model { line: usize },
    #[error("decision_phrases.txt: section [{0}] is missing")]
    Missing(&'static str),
    #[error("decision_phrases.txt: {problem} in {row:?}")]
    Row { row: String, problem: &'static str },
    #[error("decision_phrases.txt: {0}")]
    Regex(#[from] regex::Error),
}

impl Table {
    fn parse(text: &str) -> Result<Table, TableError> {
        let mut macros: HashMap<&str, &str> = HashMap::new();
        let mut sections: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut current: Option<&str> = None;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let bad = |problem: &str| TableError::Line { line: n + 1, problem: problem.to_owned() };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(def) = line.strip_prefix('@') {
                let (name, value) = def.split_once('=').ok_or_else(|| bad("a list needs `@name = …`"))?;
                macros.insert(name.trim(), value.trim());
            } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = Some(name);
                sections.entry(name).or_default();
            } else {
                let (lang, pattern) = line.split_once(':').ok_or_else(|| bad("a row needs `xx: pattern`"))?;
                if lang.len() != 2 {
                    return Err(bad("a row starts with a two-letter language"));
                }
                let section = current.ok_or_else(|| bad("a row before any [section]"))?;
                sections.entry(section).or_default().push(pattern.trim());
            }
        }
        let rows = |name: &'static str| sections.get(name).ok_or(TableError::Missing(name));
        let mut anywhere = Vec::new();
        for a in Anywhere::ALL {
            let body = alternatives(rows(a.section())?, &macros, 6)?;
            anywhere.push(format!(" (?:{body}) "));
        }
        let mut clause = Vec::new();
        for c in Clause::ALL {
            let body = alternatives(rows(c.section())?, &macros, 40)?;
            clause.push(format!("^(?:{body})$"));
        }
        let build =
            |patterns: &[String]| RegexSetBuilder::new(patterns).size_limit(64 << 20).dfa_size_limit(16 << 20).build();
        let mut joiners = HashMap::new();
        for (name, contrast) in [("joiner", false), ("contrast", true)] {
            for row in rows(name)? {
                for word in row.split('|') {
                    joiners.insert(word.trim().to_owned(), contrast);
                }
            }
        }
        Ok(Table { anywhere: build(&anywhere)?, clause: build(&clause)?, joiners })
    }
}

/// The rows of a section as one regex alternation.
fn alternatives(rows: &[&str], macros: &HashMap<&str, &str>, max_words: usize) -> Result<String, TableError> {
    let mut out = Vec::new();
    for row in rows {
        // `~` stands between words: a space on at least one side.
        let bytes = row.as_bytes();
        for (i, _) in row.match_indices('~') {
            let spaced = (i > 0 && bytes[i - 1] == b' ') || bytes.get(i + 1) == Some(&b' ');
            if !spaced {
                return Err(TableError::Row { row: (*row).to_owned(), problem: "`~` needs a space beside it" });
            }
        }
        out.push(to_regex(&expand_macros(row, macros, 0)?, max_words));
    }
    Ok(out.join("|"))
}

/// Replaces `{name}` by its list, recursively.
fn expand_macros(row: &str, macros: &HashMap<&str, &str>, depth: usize) -> Result<String, TableError> {
    if depth > 4 {
        return Err(TableError::Row { row: row.to_owned(), problem: "lists nest too deep" });
    }
    let mut out = String::with_capacity(row.len());
    let mut rest = row;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end =
            rest[start..].find('}').ok_or_else(|| TableError::Row { row: row.to_owned(), problem: "unclosed {" })?;
        let name = &rest[start + 1..start + end];
        let value =
            macros.get(name).ok_or_else(|| TableError::Row { row: row.to_owned(), problem: "unknown {list}" })?;
        out.push('(');
        out.push_str(&expand_macros(value, macros, depth + 1)?);
        out.push(')');
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One token of the matched text: any bytes but a space, a clause break or
/// a question mark.
const WORD: &str = "(?-u:[^ ,?])+";

/// The table's syntax as a regex: `(` a non-capturing group, `~` one to
/// `max_words` words, `word*` a word that goes on, other regex syntax
/// characters literal (but `|`, `?`, `+` and `)`).
fn to_regex(pattern: &str, max_words: usize) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '(' => out.push_str("(?:"),
            ')' | '|' | '?' | '+' => out.push(c),
            ' ' if chars.get(i + 1) == Some(&'~') => {
                // " ~" (words after), " ~?" (maybe words after).
                let optional = chars.get(i + 2) == Some(&'?');
                let min = if optional { 0 } else { 1 };
                out.push_str(&format!("(?: {WORD}){{{min},{max_words}}}"));
                i += if optional { 3 } else { 2 };
                continue;
            }
            '~' => {
                // "~ " at the start: words before.
                out.push_str(&format!("(?:{WORD} ){{1,{max_words}}}"));
                i += if chars.get(i + 1) == Some(&' ') { 2 } else { 1 };
                continue;
            }
            '*' => out.push_str("(?-u:[^ ,?])*"),
            c if c.is_alphanumeric() || c == ' ' || c == '\'' || c == '-' || c == ',' => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
            }
        }
        i += 1;
    }
    out
}

/// The text as lowercase tokens: a word is a run of letters, digits and
/// apostrophes (curly ones and backticks folded; a hyphen or a semicolon
/// between two letters stays in the word: "e-mail", "can;t"); a clause break
/// (`. ! ; : , …` dashes, brackets, quotes, slashes) becomes `,`, a line
/// break [`LINE_BREAK`] and a question mark `?`; other symbols (emoji) are
/// dropped.
fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        let w = word.trim_matches('\'');
        if !w.is_empty() {
            out.push(w.to_owned());
        }
        word.clear();
    };
    for (i, &c) in chars.iter().enumerate() {
        let c = if matches!(c, '\u{2019}' | '\u{2018}' | '`' | '\u{b4}') { '\'' } else { c };
        let between_letters =
            word.chars().last().is_some_and(char::is_alphabetic) && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        if c.is_alphanumeric() || c == '\'' || ((c == '-' || c == ';') && between_letters) {
            if c == ';' {
                word.push('\'');
            } else {
                word.extend(c.to_lowercase());
            }
            continue;
        }
        flush(&mut word, &mut out);
        if c == '?' || c == '\u{ff1f}' {
            out.push("?".into());
        } else if c == '\n' {
            out.push(LINE_BREAK.into());
        } else if is_break(c) {
            out.push(",".into());
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The token of a line break: it ends a clause, but a phrase looked for
/// anywhere may be wrapped across it ("Not\nnow").
const LINE_BREAK: &str = "\n";

/// Characters that end a clause (but a line break: see [`LINE_BREAK`]).
fn is_break(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | ';'
            | ':'
            | ','
            | '-'
            | '\u{2026}'
            | '\u{2013}'
            | '\u{2014}'
            | '('
            | ')'
            | '['
            | ']'
            | '"'
            | '\u{ab}'
            | '\u{bb}'
            | '\u{201e}'
            | '\u{201c}'
            | '\u{201d}'
            | '/'
            | '|'
            | '\u{3002}'
            | '\u{ff0c}'
            | '\u{3001}'
            | '\u{ff01}'
    )
}

/// The clauses of a token list, each with whether a contrast came before
/// it ("Thanks, but no": `thanks` false, `no` true).
fn clauses<'a>(tokens: &'a [String], joiners: &HashMap<String, bool>) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut current: Vec<&'a str> = Vec::new();
    let mut after_contrast = false;
    let end = |current: &mut Vec<&'a str>, out: &mut Vec<(String, bool)>, after: bool| {
        if !current.is_empty() {
            out.push((current.join(" "), after));
            current.clear();
        }
    };
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        if t == "," || t == "?" || t == LINE_BREAK {
            end(&mut current, &mut out, after_contrast);
            i += 1;
            continue;
        }
        let two = tokens.get(i + 1).map(|next| format!("{t} {next}"));
        let joiner = two
            .as_ref()
            .and_then(|two| joiners.get(two.as_str()).map(|c| (*c, 2)))
            .or_else(|| joiners.get(t).map(|c| (*c, 1)));
        if let Some((contrast, width)) = joiner {
            end(&mut current, &mut out, after_contrast);
            after_contrast |= contrast;
            i += width;
            continue;
        }
        current.push(t);
        i += 1;
    }
    end(&mut current, &mut out, after_contrast);
    out
}

/// Decides what a reply's visible text amounts to: the phrase table first,
/// then, for a reply it leaves unclear and that may be read as a refusal at
/// all (see [`Reading::model_may_refuse`]), the refusal model.
pub fn decide(text: &str) -> Decision {
    let reading = read(text);
    if reading.decision == Decision::Unclear && reading.model_may_refuse && MODEL.refuses(&reading) {
        return Decision::No;
    }
    reading.decision
}

/// What the phrase table makes of a reply, before the refusal model.
#[derive(Clone, Debug)]
pub struct Reading {
    /// The decision by the phrase table alone.
    pub decision: Decision,
    /// Whether the refusal model may turn an unclear reply into a no: one
    /// of at most 25 words, with no accepting clause, question, condition or
    /// doubt, contrast, time or negated "no" in it, and, unless it negates
    /// something, not about the meeting itself ("I prefer email" is a
    /// condition, not a refusal; the model learnt on other questions).
    pub model_may_refuse: bool,
    tokens: Vec<String>,
    kinds: Vec<Kind>,
}

/// Words about the meeting itself: without a negation, a reply that speaks
/// of them is a condition or a plan, never left to the model.
const ABOUT_THE_MEETING: &[&str] = &[
    "meet",
    "meeting",
    "intro",
    "intros",
    "introduce",
    "introduced",
    "introduction",
    "introductions",
    "call",
    "chat",
    "talk",
    "email",
    "e-mail",
    "mail",
    "connect",
    "coffee",
    "zoom",
    "phone",
];

/// Reads a reply with the phrase table.
pub fn read(text: &str) -> Reading {
    let text = text.trim();
    let toks = tokens(text);
    let table = &*TABLE;
    let clauses = clauses(&toks, &table.joiners);
    let kinds: Vec<(Kind, bool)> = clauses.iter().map(|(c, after)| (kind(table, c), *after)).collect();
    let mut reading = Reading {
        decision: Decision::Unclear,
        model_may_refuse: false,
        tokens: Vec::new(),
        kinds: kinds.iter().map(|(k, _)| *k).collect(),
    };
    if text.is_empty() {
        reading.tokens = toks;
        return reading;
    }
    let mut whole = String::with_capacity(text.len() + 16);
    whole.push(' ');
    for t in toks.iter().filter(|t| *t != LINE_BREAK) {
        whole.push_str(t);
        whole.push(' ');
    }
    let found = table.anywhere.matches(whole.as_bytes());
    let has = |a: Anywhere| found.matched(a as usize);
    let any = |k: Kind| kinds.iter().any(|(kind, _)| *kind == k);
    let question = toks.iter().any(|t| t == "?");
    let negation = has(Anywhere::Negation);
    let time = has(Anywhere::Time);
    let doubt = has(Anywhere::Doubt);
    let contrast = kinds.iter().any(|(_, after)| *after);
    let accept = any(Kind::Accept);
    reading.decision = rules(&kinds, &has, question, text);
    reading.model_may_refuse = !accept
        && !question
        && !doubt
        && !contrast
        && !time
        && !has(Anywhere::NegatedNo)
        && text.split_whitespace().count() <= 25
        && (negation || !toks.iter().any(|t| ABOUT_THE_MEETING.contains(&t.as_str())));
    reading.tokens = toks;
    reading
}

/// The phrase table's decision (see the module docs for the order).
fn rules(kinds: &[(Kind, bool)], has: &dyn Fn(Anywhere) -> bool, question: bool, text: &str) -> Decision {
    let any = |k: Kind| kinds.iter().any(|(kind, _)| *kind == k);
    if has(Anywhere::Stop) || any(Kind::Stop) {
        return Decision::Stop;
    }
    if has(Anywhere::NegatedNo) {
        return Decision::Unclear;
    }
    if has(Anywhere::StrongNo) {
        return Decision::No;
    }
    let negation = has(Anywhere::Negation);
    if has(Anywhere::Deferral) || any(Kind::Later) {
        return Decision::Later;
    }
    let time = has(Anywhere::Time);
    if time && negation && !question {
        // "Yes, but not before March": a not-now.
        return Decision::Later;
    }
    let doubt = has(Anywhere::Doubt);
    let contrast = kinds.iter().any(|(_, after)| *after);
    let accept = any(Kind::Accept);
    let refuse = any(Kind::Refuse);
    if refuse && !accept && !question && !doubt {
        // After a contrast, what follows counts: "Thanks, but no" is a
        // no; "No, but ask Bob" is not plain.
        let plain = !contrast || {
            let tail: Vec<Kind> = kinds.iter().filter(|(_, after)| *after).map(|(k, _)| *k).collect();
            tail.contains(&Kind::Refuse) && tail.iter().all(|k| matches!(k, Kind::Refuse | Kind::Neutral))
        };
        if plain {
            return Decision::No;
        }
    }
    if accept && !refuse && !negation && !has(Anywhere::Hedge) && !doubt && !contrast && !question && is_short(text) {
        return Decision::Yes;
    }
    Decision::Unclear
}

/// The features the refusal model reads (public for its trainer,
/// `examples/train_decisions.rs`): the words, a word after a negation in the
/// same clause marked `!` ("I don't drink" has `!drink`), pairs of
/// neighbouring words within a clause, the length, how many negations, and
/// what kind each clause is by the phrase table.
pub fn features(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    each_feature(&read(text), |f| out.push(f.to_owned()));
    out
}

/// Calls `visit` with each feature of a reading, in one reused buffer (the
/// model scores without allocating a string per feature).
fn each_feature(reading: &Reading, mut visit: impl FnMut(&str)) {
    let mut buf = String::with_capacity(64);
    let mut emit = |parts: &[&str], visit: &mut dyn FnMut(&str)| {
        buf.clear();
        for p in parts {
            buf.push_str(p);
        }
        visit(&buf);
    };
    // Words, those after a negation in the same clause marked with `!`;
    // "|" stands for a clause break.
    let mut words: Vec<(&str, bool)> = Vec::with_capacity(reading.tokens.len());
    let mut in_negation = false;
    let mut negations = 0;
    for t in &reading.tokens {
        if t == "," || t == "?" || t == LINE_BREAK {
            in_negation = false;
            words.push(("|", false));
            continue;
        }
        let negates = matches!(
            t.as_str(),
            "not" | "no" | "never" | "nothing" | "none" | "nobody" | "nor" | "cannot" | "without" | "neither"
        ) || t.ends_with("n't");
        words.push((t.as_str(), in_negation && !negates));
        if negates {
            in_negation = true;
            negations += 1;
        }
    }
    let mark = |negated: bool| if negated { "!" } else { "" };
    let mut count = 0;
    for (w, negated) in words.iter().filter(|(w, _)| *w != "|") {
        emit(&["u:", mark(*negated), w], &mut visit);
        count += 1;
    }
    let mut previous = ("<s>", false);
    for word in words.iter().copied().chain([("</s>", false)]) {
        if previous.0 != "|" && word.0 != "|" {
            emit(&["b:", mark(previous.1), previous.0, " ", mark(word.1), word.0], &mut visit);
        }
        previous = word;
    }
    emit(&["len:", &count.min(12).to_string()], &mut visit);
    emit(&["neg:", &(negations.min(2) as usize).to_string()], &mut visit);
    for k in &reading.kinds {
        emit(&["cl:", &format!("{k:?}")], &mut visit);
    }
}

/// The refusal model: a logistic regression over [`features`], trained on
/// Circa's tuning part by `examples/train_decisions.rs`, its threshold set
/// there by cross-validation (see that file and BENCHMARKS.md).
struct Model {
    bias: f64,
    threshold: f64,
    weights: HashMap<String, f64>,
}

static MODEL: LazyLock<Model> =
    LazyLock::new(|| Model::parse(include_str!("decision_model.txt")).expect("the built-in model is valid"));

impl Model {
    fn parse(text: &str) -> Result<Model, TableError> {
        let mut model = Model { bias: 0.0, threshold: f64::INFINITY, weights: HashMap::new() };
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let bad = || TableError::Model { line: n + 1 };
            let (name, value) = line.rsplit_once('\t').ok_or_else(bad)?;
            let value: f64 = value.trim().parse().map_err(|_| bad())?;
            match name {
                "bias" => model.bias = value,
                "threshold" => model.threshold = value,
                _ => {
                    model.weights.insert(name.to_owned(), value);
                }
            }
        }
        Ok(model)
    }

    fn score(&self, reading: &Reading) -> f64 {
        let mut sum = self.bias;
        each_feature(reading, |f| sum += self.weights.get(f).copied().unwrap_or(0.0));
        sum
    }

    fn refuses(&self, reading: &Reading) -> bool {
        self.score(reading) >= self.threshold
    }
}

/// What one clause is, by the first of the clause sections it matches.
fn kind(table: &Table, clause: &str) -> Kind {
    let m = table.clause.matches(clause.as_bytes());
    for c in Clause::ALL {
        if m.matched(c as usize) {
            return match c {
                Clause::Stop => Kind::Stop,
                Clause::Later | Clause::Time => Kind::Later,
                Clause::Refuse => Kind::Refuse,
                Clause::Accept => Kind::Accept,
                Clause::Neutral => Kind::Neutral,
            };
        }
    }
    Kind::Other
}

/// Long replies carry conditions a word list cannot see; leave them to the
/// connector.
fn is_short(text: &str) -> bool {
    text.split_whitespace().count() <= 40
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;

    /// The table in `tests/fixtures/decisions.tsv`: realistic replies and
    /// what they must amount to. Every mismatch fails, a wrong yes first.
    #[test]
    fn table() {
        let table = include_str!("../../tests/fixtures/decisions.tsv");
        let mut wrong_yes = Vec::new();
        let mut other = Vec::new();
        let mut rows = 0;
        for line in table.lines().filter(|l| !l.starts_with('#')) {
            let Some((text, want)) = line.rsplit_once('\t') else { continue };
            let want = match want {
                "yes" => Yes,
                "no" => No,
                "later" => Later,
                "stop" => Stop,
                "unclear" => Unclear,
                w => panic!("unknown decision {w:?} in the table"),
            };
            rows += 1;
            let got = decide(text);
            if got == Yes && want != Yes {
                wrong_yes.push(format!("{text:?}: yes, want {want:?}"));
            } else if got != want {
                other.push(format!("{text:?}: {got:?}, want {want:?}"));
            }
        }
        assert!(rows >= 200, "the table has {rows} rows");
        assert!(wrong_yes.is_empty(), "WRONG YES:\n{}", wrong_yes.join("\n"));
        assert!(other.is_empty(), "{} of {rows} wrong:\n{}", other.len(), other.join("\n"));
    }

    #[test]
    fn the_phrase_table_compiles() {
        let table = Table::parse(PHRASES).expect("parses");
        assert_eq!(table.anywhere.len(), Anywhere::ALL.len());
        assert_eq!(table.clause.len(), Clause::ALL.len());
        assert!(table.joiners.get("but") == Some(&true) && table.joiners.get("and") == Some(&false));
    }

    #[test]
    fn every_language_has_every_kind_of_answer() {
        let langs = ["en", "de", "fr", "es", "pt", "it", "nl", "sv", "da", "no", "pl", "ru"];
        let mut section = "";
        let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
        for line in PHRASES.lines() {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name;
            } else if let Some((lang, _)) = line.split_once(':').filter(|(l, _)| l.len() == 2) {
                *seen.entry((section, lang)).or_default() += 1;
            }
        }
        for lang in langs {
            for s in ["accept", "refuse", "stop", "stop-clause", "deferral", "negation", "doubt", "neutral", "contrast"]
            {
                assert!(seen.contains_key(&(s, lang)), "[{s}] has no {lang} row");
            }
        }
    }

    #[test]
    fn features_mark_what_a_negation_covers() {
        assert_eq!(
            features("I don't drink, thanks"),
            [
                "u:i",
                "u:don't",
                "u:!drink",
                "u:thanks",
                "b:<s> i",
                "b:i don't",
                "b:don't !drink",
                "b:thanks </s>",
                "len:4",
                "neg:1",
                "cl:Other",
                "cl:Neutral",
            ]
        );
    }

    /// The model only ever turns an unclear reply into a no, and never one
    /// about the meeting itself without a negation, nor a question or an
    /// accepting clause.
    #[test]
    fn the_refusal_model_stays_in_its_lane() {
        let model = Model::parse(include_str!("decision_model.txt")).expect("parses");
        assert!(model.threshold.is_finite() && model.weights.len() > 1000, "a trained model is shipped");
        for text in
            ["I prefer to meet in person.", "I'd prefer a call to coffee.", "Who is Priya?", "That would be great."]
        {
            assert_ne!(decide(text), No, "{text}");
        }
        // Indirect refusals the table cannot list.
        let indirect = "I prefer fiction.";
        assert_eq!(read(indirect).decision, Unclear);
        assert_eq!(decide(indirect), No);
    }

    #[test]
    fn the_table_syntax_becomes_regex() {
        assert_eq!(to_regex("a|(b|c)? d", 6), "a|(?:b|c)? d");
        assert_eq!(to_regex("take me off ~", 6), format!("take me off(?: {WORD}){{1,6}}"));
        assert_eq!(to_regex("remove me ~?", 2), format!("remove me(?: {WORD}){{0,2}}"));
        assert_eq!(to_regex("désinscri*", 6), "désinscri(?-u:[^ ,?])*");
        assert_eq!(to_regex("a.b", 6), r"a\.b");
    }

    #[test]
    fn words_are_whole_lowercase_tokens() {
        assert_eq!(tokens("Yes,  I\u{2019}m IN!\nÉtienne"), ["yes", ",", "i'm", "in", ",", "\n", "étienne"]);
        assert_eq!(tokens("e-mail can;t 'sure' 👍 ok?"), ["e-mail", "can't", "sure", "ok", "?"]);
        // Whole words only: "nobody" holds no "no".
        assert_eq!(decide("Nobody could say it better: yes."), Unclear);
        assert_eq!(decide("Yes, nobody could say it better."), Unclear);
        // A phrase may be wrapped over two lines.
        assert_eq!(decide("Not\nnow, sorry"), Later);
        assert_eq!(decide("Please stop e-mailing me"), Stop);
    }

    #[test]
    fn clauses_split_at_punctuation_and_joiners() {
        let table = &*TABLE;
        let toks = tokens("Thanks, but no. Sure and why");
        let got = clauses(&toks, &table.joiners);
        assert_eq!(
            got,
            [
                ("thanks".to_owned(), false),
                ("no".to_owned(), true),
                ("sure".to_owned(), true),
                ("why".to_owned(), true)
            ]
        );
    }

    /// The rules the issue names, one by one.
    #[test]
    fn a_phrase_counts_only_as_a_clause_of_its_own() {
        for yes in
            ["Sure", "That would be great.", "I'd love to meet her.", "Sounds like a plan!", "Thanks Carol, happy to."]
        {
            assert_eq!(decide(yes), Yes, "{yes}");
        }
        for not_yes in ["I'm in the garden right now.", "I love to read.", "I gladly pay someone else to do it."] {
            assert_ne!(decide(not_yes), Yes, "{not_yes}");
        }
        // Negation and hedges anywhere win.
        for not_yes in ["I definitely wouldn't.", "Sure, I guess.", "Sounds great, I think.", "Yes, if she's quick."] {
            assert_ne!(decide(not_yes), Yes, "{not_yes}");
        }
        for no in ["I definitely wouldn't", "I'd rather not", "Not really", "I wouldn't say so", "Nope, sorry."] {
            assert_eq!(decide(no), No, "{no}");
        }
        // Lukewarm stays unclear.
        for lukewarm in ["It's OK.", "It's fine.", "That would be interesting.", "Not bad."] {
            assert_eq!(decide(lukewarm), Unclear, "{lukewarm}");
        }
    }

    #[test]
    fn stop_in_every_language() {
        for stop in [
            "Please don't send me these intro requests again.",
            "Stop sending me these.",
            "Take me off your list.",
            "Unsubscribe",
            "Never again.",
            "Bitte schicken Sie mir keine Anfragen mehr.",
            "Ne m'envoyez plus ces demandes, merci.",
            "Por favor, no me envíes más solicitudes.",
            "Por favor, não me envie mais pedidos.",
            "Per favore non mandatemi più queste richieste.",
            "Stuur me geen verzoeken meer.",
            "Skicka inte fler förfrågningar.",
            "Send mig ikke flere forespørgsler.",
            "Ikke send meg flere forespørsler.",
            "Nie wysyłajcie mi więcej takich próśb.",
            "Пожалуйста, не присылайте мне больше такие письма.",
        ] {
            assert_eq!(decide(stop), Stop, "{stop}");
        }
        // Not a stop: "stop" inside another sentence.
        assert_ne!(decide("I can't stop smiling, yes!"), Stop);
        assert_ne!(decide("Deadlines don't bother me."), Stop);
    }
}
