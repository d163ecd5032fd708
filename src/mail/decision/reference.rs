//! The phrase table's first reader, kept as the oracle of the tests: every
//! section a regex set over the tokens joined by spaces (`^(?:rows)$` for a
//! clause, ` (?:rows) ` anywhere in ` tok tok , tok `), tokens and features
//! as owned strings, the model in a map. Slow (it compiles the table on first
//! use and allocates per token), but simple enough to trust; the word
//! automata of `mail::decision` must read every text exactly as it does.
//! It reads the same `decision_phrases.txt` and `decision_model.txt`.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::bytes::{RegexSet, RegexSetBuilder};

use super::compile::{
    ABOUT_THE_MEETING, ANYWHERE, ANYWHERE_MAX_WORDS, CLAUSE, CLAUSE_MAX_WORDS, CompileError, KINDS, Table as Rows,
};
use super::{Anywhere, Decision, Kind, rules};

/// The table as regex sets.
pub(super) struct Table {
    pub(super) anywhere: RegexSet,
    pub(super) clause: RegexSet,
    pub(super) joiners: HashMap<String, bool>,
}

pub(super) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    Table::parse(include_str!("../decision_phrases.txt")).expect("the built-in phrase table is valid")
});

impl Table {
    pub(super) fn parse(text: &str) -> Result<Table, CompileError> {
        let rows = Rows::parse(text)?;
        let section = |name: &str, max_words: u32| -> Result<String, CompileError> {
            let mut out = Vec::new();
            for row in rows.rows(name)? {
                out.push(to_regex(&rows.expand(row)?, max_words as usize));
            }
            Ok(out.join("|"))
        };
        let mut anywhere = Vec::new();
        for name in ANYWHERE {
            anywhere.push(format!(" (?:{}) ", section(name, ANYWHERE_MAX_WORDS)?));
        }
        let mut clause = Vec::new();
        for name in CLAUSE {
            clause.push(format!("^(?:{})$", section(name, CLAUSE_MAX_WORDS)?));
        }
        let build = |patterns: &[String]| {
            RegexSetBuilder::new(patterns)
                .size_limit(64 << 20)
                .dfa_size_limit(16 << 20)
                .build()
                .map_err(|e| CompileError(e.to_string()))
        };
        let mut joiners = HashMap::new();
        for (name, contrast) in [("joiner", false), ("contrast", true)] {
            for row in rows.rows(name)? {
                for word in row.split('|') {
                    joiners.insert(word.trim().to_owned(), contrast);
                }
            }
        }
        Ok(Table { anywhere: build(&anywhere)?, clause: build(&clause)?, joiners })
    }
}

/// One token of the matched text: any bytes but a space, a clause break or
/// a question mark.
pub(super) const WORD: &str = "(?-u:[^ ,?])+";

/// The table's syntax as a regex.
pub(super) fn to_regex(pattern: &str, max_words: usize) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '(' => out.push_str("(?:"),
            ')' | '|' | '?' | '+' => out.push(c),
            ' ' if chars.get(i + 1) == Some(&'~') => {
                let optional = chars.get(i + 2) == Some(&'?');
                let min = if optional { 0 } else { 1 };
                out.push_str(&format!("(?: {WORD}){{{min},{max_words}}}"));
                i += if optional { 3 } else { 2 };
                continue;
            }
            '~' => {
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

pub(super) const LINE_BREAK: &str = "\n";

/// The text as lowercase tokens (see `mail::decision::Tokens`).
pub(super) fn tokens(text: &str) -> Vec<String> {
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
        } else if super::is_break(c) {
            out.push(",".into());
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The clauses of a token list, each with whether a contrast came before it.
pub(super) fn clauses(tokens: &[String], joiners: &HashMap<String, bool>) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut after_contrast = false;
    let end = |current: &mut Vec<&str>, out: &mut Vec<(String, bool)>, after: bool| {
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

/// What the old reader made of a text, step by step.
#[derive(Debug, PartialEq)]
pub(super) struct Old {
    pub(super) tokens: Vec<String>,
    pub(super) clauses: Vec<(String, bool)>,
    /// Clause sections matched, one bit per section of `CLAUSE`.
    pub(super) clause_sections: Vec<u8>,
    /// Anywhere sections matched, one bit per section of `ANYWHERE`.
    pub(super) anywhere: u8,
    pub(super) decision: Decision,
    pub(super) model_may_refuse: bool,
    pub(super) features: Vec<String>,
    pub(super) score: f64,
    pub(super) decide: Decision,
}

/// Reads a text the old way.
pub(super) fn read(text: &str) -> Old {
    let text = text.trim();
    let table = &*TABLE;
    let toks = tokens(text);
    let clauses = clauses(&toks, &table.joiners);
    let clause_sections: Vec<u8> =
        clauses.iter().map(|(c, _)| table.clause.matches(c.as_bytes()).iter().fold(0u8, |m, i| m | 1 << i)).collect();
    let kinds: Vec<(Kind, bool)> =
        clause_sections.iter().zip(&clauses).map(|(m, (_, after))| (kind(*m), *after)).collect();
    let mut whole = String::from(" ");
    for t in toks.iter().filter(|t| *t != LINE_BREAK) {
        whole.push_str(t);
        whole.push(' ');
    }
    let anywhere =
        if text.is_empty() { 0 } else { table.anywhere.matches(whole.as_bytes()).iter().fold(0u8, |m, i| m | 1 << i) };
    let has = |a: Anywhere| anywhere & (1 << a as u8) != 0;
    let any = |k: Kind| kinds.iter().any(|(kind, _)| *kind == k);
    let question = toks.iter().any(|t| t == "?");
    let (decision, model_may_refuse) = if text.is_empty() {
        (Decision::Unclear, false)
    } else {
        let contrast = kinds.iter().any(|(_, after)| *after);
        let may = !any(Kind::Accept)
            && !question
            && !has(Anywhere::Doubt)
            && !contrast
            && !has(Anywhere::Time)
            && !has(Anywhere::NegatedNo)
            && text.split_whitespace().count() <= 25
            && (has(Anywhere::Negation) || !toks.iter().any(|t| ABOUT_THE_MEETING.contains(&t.as_str())));
        (rules(&kinds, &has, question, text), may)
    };
    let features = features(&toks, &kinds);
    let score = MODEL.score(&features);
    let decide = if decision == Decision::Unclear && model_may_refuse && score >= MODEL.threshold {
        Decision::No
    } else {
        decision
    };
    Old { tokens: toks, clauses, clause_sections, anywhere, decision, model_may_refuse, features, score, decide }
}

/// The first clause section matched, as a kind.
fn kind(sections: u8) -> Kind {
    match (0..CLAUSE.len()).find(|i| sections & (1 << i) != 0) {
        Some(0) => Kind::Stop,
        Some(1 | 2) => Kind::Later,
        Some(3) => Kind::Refuse,
        Some(4) => Kind::Accept,
        Some(5) => Kind::Neutral,
        _ => Kind::Other,
    }
}

/// The model's features, as strings.
fn features(tokens: &[String], kinds: &[(Kind, bool)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut words: Vec<(&str, bool)> = Vec::with_capacity(tokens.len());
    let mut in_negation = false;
    let mut negations = 0;
    for t in tokens {
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
        out.push(format!("u:{}{w}", mark(*negated)));
        count += 1;
    }
    let mut previous = ("<s>", false);
    for word in words.iter().copied().chain([("</s>", false)]) {
        if previous.0 != "|" && word.0 != "|" {
            out.push(format!("b:{}{} {}{}", mark(previous.1), previous.0, mark(word.1), word.0));
        }
        previous = word;
    }
    out.push(format!("len:{}", count.min(12)));
    out.push(format!("neg:{}", negations.min(2)));
    for (k, _) in kinds {
        out.push(format!("cl:{}", KINDS[*k as usize]));
    }
    out
}

/// The model as a map from feature to weight.
pub(super) struct Model {
    bias: f64,
    pub(super) threshold: f64,
    weights: HashMap<String, f64>,
}

static MODEL: LazyLock<Model> = LazyLock::new(|| Model::parse(include_str!("../decision_model.txt")));

impl Model {
    fn parse(text: &str) -> Model {
        let mut model = Model { bias: 0.0, threshold: f64::INFINITY, weights: HashMap::new() };
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (name, value) = line.rsplit_once('\t').expect("feature<TAB>number");
            let value: f64 = value.trim().parse().expect("a number");
            match name {
                "bias" => model.bias = value,
                "threshold" => model.threshold = value,
                _ => {
                    model.weights.insert(name.to_owned(), value);
                }
            }
        }
        model
    }

    fn score(&self, features: &[String]) -> f64 {
        let mut sum = self.bias;
        for f in features {
            sum += self.weights.get(f).copied().unwrap_or(0.0);
        }
        sum
    }
}
