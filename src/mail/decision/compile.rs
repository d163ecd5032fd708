//! The phrase table (`decision_phrases.txt`) and the refusal model
//! (`decision_model.txt`) compiled into word automata, at build time.
//!
//! `build.rs` includes this file, compiles the two files and writes Rust
//! statics that `mail::decision` includes: a process pays nothing to start
//! deciding, and a mistake in a table fails the build with its line. The
//! crate includes it only for its tests. Std only; no IO.
//!
//! The table's syntax (see the file's header) is a small regular language
//! over characters, matched against lowercase tokens joined by single spaces.
//! Each pattern is compiled to a character automaton (Thompson), and that is
//! turned into an automaton over whole **words**: its nodes are the states at
//! a word boundary, its edges are "the next word is exactly `w`" or "the next
//! word starts with `p` and goes on" (`word*` and `~`) and lead to another
//! boundary or to a match. Reading a reply is then a walk over its words, with
//! no per-byte work and no regex.
//!
//! What the reader matches is exactly what the phrase table's regex reading
//! matched (the tests of `mail::decision` compare the two on generated
//! replies): a clause section matches a clause's words as a whole
//! (`^(?:rows)$`), an anywhere section any run of whole words of the reply
//! (` (?:rows) ` in ` w w , w `).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// Sections searched anywhere in a reply, in the order of their bits.
pub(crate) const ANYWHERE: [&str; 8] =
    ["stop", "strong-no", "negated-no", "deferral", "time", "negation", "hedge", "doubt"];
/// Sections a whole clause must match, in order of precedence.
pub(crate) const CLAUSE: [&str; 6] = ["stop-clause", "later", "time", "refuse", "accept", "neutral"];
/// The most words one `~` stands for in an anywhere section.
pub(crate) const ANYWHERE_MAX_WORDS: u32 = 6;
/// The most words one `~` stands for in a clause section.
pub(crate) const CLAUSE_MAX_WORDS: u32 = 40;
/// The clause kinds the model's `cl:` features name, in the order of
/// `mail::decision::Kind`.
pub(crate) const KINDS: [&str; 6] = ["Stop", "Later", "Refuse", "Accept", "Neutral", "Other"];
/// The most prefixes (`word*`, `~`) the tables may use: one bit each.
const MAX_PREFIXES: usize = 64;
/// A target at or above this is a match of section `target - ACCEPT`.
pub(crate) const ACCEPT: u32 = 0x8000_0000;
/// Words about the meeting itself: without a negation, a reply that speaks
/// of them is a condition or a plan, never left to the model (`mail::decision`
/// reads them as a flag per word of the vocabulary).
pub(crate) const ABOUT_THE_MEETING: [&str; 18] = [
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
/// The model's sentence-start and sentence-end words (no token has `<`).
pub(crate) const BOS: &str = "<s>";
pub(crate) const EOS: &str = "</s>";

/// A table or model that does not parse: the message names the file and,
/// where there is one, the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompileError(pub String);

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn phrases_error(line: usize, problem: &str) -> CompileError {
    CompileError(format!("decision_phrases.txt line {line}: {problem}"))
}

fn row_error(row: &str, problem: &str) -> CompileError {
    CompileError(format!("decision_phrases.txt: {problem} in {row:?}"))
}

/// The phrase table's text, split into lists and sections.
pub(crate) struct Table<'a> {
    /// `@name = …` lists.
    pub(crate) macros: HashMap<&'a str, &'a str>,
    /// The rows of each section, without their language.
    pub(crate) sections: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Table<'a> {
    /// Reads the table's lines (syntax errors name the line).
    pub(crate) fn parse(text: &'a str) -> Result<Table<'a>, CompileError> {
        let mut macros = HashMap::new();
        let mut sections: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut current: Option<&str> = None;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let bad = |problem: &str| phrases_error(n + 1, problem);
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
        Ok(Table { macros, sections })
    }

    /// The rows of a section that must be there.
    pub(crate) fn rows(&self, name: &str) -> Result<&[&'a str], CompileError> {
        self.sections
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| CompileError(format!("decision_phrases.txt: section [{name}] is missing")))
    }

    /// A row with its lists expanded, after checking that every `~` has a
    /// space beside it.
    pub(crate) fn expand(&self, row: &str) -> Result<String, CompileError> {
        let bytes = row.as_bytes();
        for (i, _) in row.match_indices('~') {
            let spaced = (i > 0 && bytes[i - 1] == b' ') || bytes.get(i + 1) == Some(&b' ');
            if !spaced {
                return Err(row_error(row, "`~` needs a space beside it"));
            }
        }
        expand_macros(row, &self.macros, 0)
    }
}

/// Replaces `{name}` by `(its list)`, recursively.
fn expand_macros(row: &str, macros: &HashMap<&str, &str>, depth: usize) -> Result<String, CompileError> {
    if depth > 4 {
        return Err(row_error(row, "lists nest too deep"));
    }
    let mut out = String::with_capacity(row.len());
    let mut rest = row;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or_else(|| row_error(row, "unclosed {"))?;
        let name = &rest[start + 1..start + end];
        let value = macros.get(name).ok_or_else(|| row_error(row, "unknown {list}"))?;
        out.push('(');
        out.push_str(&expand_macros(value, macros, depth + 1)?);
        out.push(')');
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A row's pattern over characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// One literal character.
    Char(char),
    /// One character of a word: anything but a space, a comma or a question
    /// mark (the regex reading's `[^ ,?]`).
    WordChar,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    /// `min` to `max` (unbounded when `None`) times.
    Repeat(Box<Node>, u32, Option<u32>),
}

/// Parses an expanded row: `(` a group, `|` either, `?` and `+` on what
/// precedes, ` ~` one to `max_words` words after (` ~?`: zero to), `~ ` (at
/// the start or after an operator) words before, `word*` a word that goes on;
/// every other character stands for itself.
pub(crate) fn parse_pattern(row: &str, max_words: u32) -> Result<Node, CompileError> {
    let mut p = Parser { chars: row.chars().collect(), i: 0, max_words };
    let node = p.alt()?;
    if p.i < p.chars.len() {
        return Err(row_error(row, "unmatched `)`"));
    }
    Ok(node)
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    max_words: u32,
}

impl Parser {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn err(&self, problem: &str) -> CompileError {
        row_error(&self.chars.iter().collect::<String>(), problem)
    }

    fn alt(&mut self) -> Result<Node, CompileError> {
        let mut alts = vec![self.concat()?];
        while self.peek(0) == Some('|') {
            self.i += 1;
            alts.push(self.concat()?);
        }
        Ok(if alts.len() == 1 { alts.remove(0) } else { Node::Alt(alts) })
    }

    fn concat(&mut self) -> Result<Node, CompileError> {
        let mut items = Vec::new();
        loop {
            match self.peek(0) {
                None | Some('|' | ')') => break,
                Some(op @ ('?' | '+')) => {
                    self.i += 1;
                    let last = items.pop().ok_or_else(|| self.err("`?` or `+` with nothing before it"))?;
                    let (min, max) = if op == '?' { (0, Some(1)) } else { (1, None) };
                    items.push(Node::Repeat(Box::new(last), min, max));
                    // `??` and `+?` ask a regex for a lazy match: the same words.
                    if self.peek(0) == Some('?') {
                        self.i += 1;
                    }
                    if matches!(self.peek(0), Some('?' | '+')) {
                        return Err(self.err("an operator after an operator"));
                    }
                }
                Some(_) => items.push(self.atom()?),
            }
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Node::Concat(items) })
    }

    fn atom(&mut self) -> Result<Node, CompileError> {
        let word = || Node::Repeat(Box::new(Node::WordChar), 1, None);
        let c = self.peek(0).unwrap_or(' ');
        Ok(match c {
            '(' => {
                self.i += 1;
                let inner = self.alt()?;
                if self.peek(0) != Some(')') {
                    return Err(self.err("unclosed `(`"));
                }
                self.i += 1;
                inner
            }
            ' ' if self.peek(1) == Some('~') => {
                let optional = self.peek(2) == Some('?');
                self.i += if optional { 3 } else { 2 };
                let one = Node::Concat(vec![Node::Char(' '), word()]);
                Node::Repeat(Box::new(one), u32::from(!optional), Some(self.max_words))
            }
            '~' => {
                self.i += if self.peek(1) == Some(' ') { 2 } else { 1 };
                let one = Node::Concat(vec![word(), Node::Char(' ')]);
                Node::Repeat(Box::new(one), 1, Some(self.max_words))
            }
            '*' => {
                self.i += 1;
                Node::Repeat(Box::new(Node::WordChar), 0, None)
            }
            c => {
                self.i += 1;
                Node::Char(c)
            }
        })
    }
}

/// A character automaton (Thompson): states and where they lead.
#[derive(Clone, Debug)]
enum State {
    Char(char, usize),
    WordChar(usize),
    Split(Vec<usize>),
    /// The end of a pattern of this section.
    Match(u32),
}

#[derive(Default)]
struct Nfa {
    states: Vec<State>,
}

impl Nfa {
    fn push(&mut self, s: State) -> usize {
        self.states.push(s);
        self.states.len() - 1
    }

    /// Compiles `node` so that it continues to `next`; returns its start.
    fn compile(&mut self, node: &Node, next: usize) -> usize {
        match node {
            Node::Char(c) => self.push(State::Char(*c, next)),
            Node::WordChar => self.push(State::WordChar(next)),
            Node::Concat(items) => items.iter().rev().fold(next, |next, item| self.compile(item, next)),
            Node::Alt(alts) => {
                let starts = alts.iter().map(|a| self.compile(a, next)).collect();
                self.push(State::Split(starts))
            }
            Node::Repeat(inner, min, max) => {
                let mut tail = next;
                match max {
                    Some(max) => {
                        for _ in *min..*max {
                            let once = self.compile(inner, tail);
                            tail = self.push(State::Split(vec![once, next]));
                        }
                    }
                    None => {
                        // A loop: body -> split(body, next).
                        let split = self.push(State::Split(Vec::new()));
                        let body = self.compile(inner, split);
                        self.states[split] = State::Split(vec![body, next]);
                        tail = if *min == 0 { split } else { body };
                    }
                }
                let required = if max.is_none() && *min > 0 { *min - 1 } else { *min };
                for _ in 0..required {
                    tail = self.compile(inner, tail);
                }
                tail
            }
        }
    }

    /// The states reachable from `from` without reading a character.
    fn closure(&self, from: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<usize> = from.into_iter().collect();
        while let Some(s) = stack.pop() {
            if seen.insert(s)
                && let State::Split(next) = &self.states[s]
            {
                stack.extend(next.iter().copied());
            }
        }
        seen
    }
}

/// What the next word must be for an edge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Pred {
    /// Exactly this word.
    Exact(String),
    /// This (maybe empty) start and at least one more word character.
    Prefix(String),
}

/// Where an edge leads: another boundary (a char-automaton state) or a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Boundary(usize),
    Match(u32),
}

/// The word automaton of one set of sections (clause or anywhere).
#[derive(Debug, Default)]
pub(crate) struct Words {
    /// Edges of each node: the first node is the start.
    pub(crate) nodes: Vec<Vec<(Pred, u32)>>,
}

/// Whether `word` satisfies `pred` (a word is a token: no space, and
/// `,` or `?` only as a token of its own).
pub(crate) fn satisfies(word: &str, pred: &Pred) -> bool {
    match pred {
        Pred::Exact(w) => word == w,
        Pred::Prefix(p) => {
            word.len() > p.len() && word.starts_with(p.as_str()) && !word[p.len()..].contains([' ', ',', '?'])
        }
    }
}

/// Compiles sections (one pattern each, already an alternation of rows) into
/// one word automaton whose matches name the section.
pub(crate) fn words(patterns: &[Node]) -> Result<Words, CompileError> {
    let mut nfa = Nfa::default();
    let mut starts = Vec::new();
    for (section, node) in patterns.iter().enumerate() {
        let end = nfa.push(State::Match(section as u32));
        starts.push(nfa.compile(node, end));
    }
    let start = nfa.push(State::Split(starts));
    // Nodes are the start and the states right after a space.
    let mut ids: HashMap<usize, u32> = HashMap::from([(start, 0)]);
    let mut queue = vec![start];
    let mut out = Words::default();
    while let Some(b) = queue.pop() {
        let mut edges: BTreeSet<(Pred, Target)> = BTreeSet::new();
        explore(&nfa, b, &mut edges)?;
        let mut resolved = Vec::with_capacity(edges.len());
        for (pred, target) in edges {
            let t = match target {
                Target::Match(section) => ACCEPT + section,
                Target::Boundary(s) => {
                    let next = ids.len() as u32;
                    *ids.entry(s).or_insert_with(|| {
                        queue.push(s);
                        next
                    })
                }
            };
            resolved.push((pred, t));
        }
        let id = ids[&b] as usize;
        if out.nodes.len() <= id {
            out.nodes.resize_with(id + 1, Vec::new);
        }
        out.nodes[id] = resolved;
    }
    Ok(out)
}

/// The edges out of boundary state `b`: every word that can be read from it
/// up to the next space (or the end of the pattern).
fn explore(nfa: &Nfa, b: usize, edges: &mut BTreeSet<(Pred, Target)>) -> Result<(), CompileError> {
    let mut stack = vec![(nfa.closure([b]), String::new())];
    while let Some((set, prefix)) = stack.pop() {
        if prefix.chars().count() > 100 {
            return Err(CompileError("decision_phrases.txt: a word of a pattern repeats without end".into()));
        }
        let mut by_char: BTreeMap<char, Vec<usize>> = BTreeMap::new();
        let mut word_chars = Vec::new();
        for &s in &set {
            match &nfa.states[s] {
                State::Char(' ', next) => {
                    // Two spaces in a row, or one at the start: never in text.
                    if !prefix.is_empty() {
                        edges.insert((Pred::Exact(prefix.clone()), Target::Boundary(*next)));
                    }
                }
                State::Char(c, next) => by_char.entry(*c).or_default().push(*next),
                State::WordChar(next) => word_chars.push(*next),
                State::Match(section) => {
                    if !prefix.is_empty() {
                        edges.insert((Pred::Exact(prefix.clone()), Target::Match(*section)));
                    }
                }
                State::Split(_) => {}
            }
        }
        if !word_chars.is_empty() {
            // After one word character, any more may follow: what comes next
            // must be a space or the end, never a letter of the pattern.
            let mut rest = nfa.closure(word_chars);
            loop {
                let more: Vec<usize> = rest
                    .iter()
                    .filter_map(|s| if let State::WordChar(n) = nfa.states[*s] { Some(n) } else { None })
                    .collect();
                let grown = nfa.closure(rest.iter().copied().chain(more));
                if grown.len() == rest.len() {
                    break;
                }
                rest = grown;
            }
            for s in rest {
                match &nfa.states[s] {
                    State::Char(' ', next) => {
                        edges.insert((Pred::Prefix(prefix.clone()), Target::Boundary(*next)));
                    }
                    State::Match(section) => {
                        edges.insert((Pred::Prefix(prefix.clone()), Target::Match(*section)));
                    }
                    State::Char(c, _) => {
                        return Err(CompileError(format!(
                            "decision_phrases.txt: `{c}` after `*` or `~` in one word (after {prefix:?})"
                        )));
                    }
                    State::WordChar(_) | State::Split(_) => {}
                }
            }
        }
        for (c, next) in by_char {
            let mut p = prefix.clone();
            p.push(c);
            stack.push((nfa.closure(next), p));
        }
    }
    Ok(())
}

/// A word of a model feature, and whether a negation covers it (`!word`).
pub(crate) type ModelWord = (String, bool);

/// The refusal model's weights, by feature kind.
#[derive(Debug, Default)]
pub(crate) struct Model {
    pub(crate) bias: f64,
    pub(crate) threshold: f64,
    /// `u:word` and `u:!word`.
    pub(crate) unigrams: HashMap<ModelWord, f64>,
    /// `b:a b`, each side maybe `!`.
    pub(crate) bigrams: HashMap<(ModelWord, ModelWord), f64>,
    /// `len:0` … `len:12`.
    pub(crate) len: [f64; 13],
    /// `neg:0` … `neg:2`.
    pub(crate) neg: [f64; 3],
    /// `cl:Kind`, in the order of [`KINDS`].
    pub(crate) kinds: [f64; 6],
}

impl Model {
    /// Reads `feature<TAB>weight` lines (and `bias`, `threshold`); a later
    /// line for the same feature wins.
    pub(crate) fn parse(text: &str) -> Result<Model, CompileError> {
        let mut model = Model { threshold: f64::INFINITY, ..Model::default() };
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let bad = |what: &str| CompileError(format!("decision_model.txt line {}: {what}", n + 1));
            let (name, value) = line.rsplit_once('\t').ok_or_else(|| bad("want `feature<TAB>number`"))?;
            let value: f64 = value.trim().parse().map_err(|_| bad("want `feature<TAB>number`"))?;
            let word = |w: &str| match w.strip_prefix('!') {
                Some(w) => (w.to_owned(), true),
                None => (w.to_owned(), false),
            };
            let small = |n: &str, below: usize| n.parse::<usize>().ok().filter(|n| *n < below);
            if name == "bias" {
                model.bias = value;
            } else if name == "threshold" {
                model.threshold = value;
            } else if let Some(w) = name.strip_prefix("u:") {
                model.unigrams.insert(word(w), value);
            } else if let Some((a, b)) = name.strip_prefix("b:").and_then(|p| p.split_once(' ')) {
                model.bigrams.insert((word(a), word(b)), value);
            } else if let Some(n) = name.strip_prefix("len:").and_then(|n| small(n, 13)) {
                model.len[n] = value;
            } else if let Some(n) = name.strip_prefix("neg:").and_then(|n| small(n, 3)) {
                model.neg[n] = value;
            } else if let Some(k) = name.strip_prefix("cl:").and_then(|k| KINDS.iter().position(|x| *x == k)) {
                model.kinds[k] = value;
            } else {
                return Err(bad("a feature the model cannot have"));
            }
        }
        Ok(model)
    }
}

/// Everything `mail::decision` reads, compiled.
pub(crate) struct Compiled {
    pub(crate) clause: Words,
    pub(crate) anywhere: Words,
    /// Words that start a clause: `(first, second or "", contrast)`.
    pub(crate) joiners: Vec<(String, String, bool)>,
    pub(crate) model: Model,
}

/// Compiles the phrase table and the model.
pub(crate) fn compile(phrases: &str, model: &str) -> Result<Compiled, CompileError> {
    let table = Table::parse(phrases)?;
    let section = |name: &str, max_words: u32| -> Result<Node, CompileError> {
        let rows = table.rows(name)?;
        let mut alts = Vec::with_capacity(rows.len());
        for row in rows {
            // Each row on its own first, so that a mistake names its line.
            let node = table
                .expand(row)
                .and_then(|r| parse_pattern(&r, max_words))
                .and_then(|node| words(std::slice::from_ref(&node)).map(|_| node))
                .map_err(|e| at_line(phrases, row, e))?;
            alts.push(node);
        }
        Ok(Node::Alt(alts))
    };
    let anywhere: Vec<Node> = ANYWHERE.iter().map(|s| section(s, ANYWHERE_MAX_WORDS)).collect::<Result<_, _>>()?;
    let clause: Vec<Node> = CLAUSE.iter().map(|s| section(s, CLAUSE_MAX_WORDS)).collect::<Result<_, _>>()?;
    // Later rows win, as in a map filled in this order.
    let mut joiners: Vec<(String, String, bool)> = Vec::new();
    for (name, contrast) in [("joiner", false), ("contrast", true)] {
        for row in table.rows(name)? {
            for word in row.split('|') {
                let words: Vec<&str> = word.split_whitespace().collect();
                let (first, second) = match words[..] {
                    [one] => (one, ""),
                    [one, two] if word.trim() == format!("{one} {two}") => (one, two),
                    _ => return Err(at_line(phrases, row, row_error(row, "a joiner is one word or two"))),
                };
                joiners.retain(|(a, b, _)| !(a == first && b == second));
                joiners.push((first.to_owned(), second.to_owned(), contrast));
            }
        }
    }
    Ok(Compiled { clause: words(&clause)?, anywhere: words(&anywhere)?, joiners, model: Model::parse(model)? })
}

/// `error` about `row`, with the line of the table that holds the row.
fn at_line(phrases: &str, row: &str, error: CompileError) -> CompileError {
    let line = phrases.lines().position(|l| l.split_once(':').is_some_and(|(_, p)| p.trim() == row));
    match (line, error.0.strip_prefix("decision_phrases.txt: ")) {
        (Some(n), Some(problem)) => phrases_error(n + 1, problem),
        _ => error,
    }
}

/// FNV-1a (64 bit): the hash of the generated word table.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The slot of a bigram key in a table of `1 << bits` slots.
pub(crate) fn bigram_slot(key: u64, bits: u32) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
}

/// A bigram key: two word ids, each with its negation bit.
pub(crate) fn bigram_key(a: u32, a_neg: bool, b: u32, b_neg: bool) -> u64 {
    let side = |w: u32, neg: bool| u64::from(w) | (u64::from(neg) << 31);
    (side(a, a_neg) << 32) | side(b, b_neg)
}

impl Compiled {
    /// The Rust source of the statics `mail::decision` includes.
    pub(crate) fn to_rust(&self) -> Result<String, CompileError> {
        // Words: every word an edge, a joiner or the model names.
        let mut vocab: BTreeSet<&str> = BTreeSet::new();
        let mut prefixes: BTreeSet<&str> = BTreeSet::new();
        for words in [&self.clause, &self.anywhere] {
            for (pred, _) in words.nodes.iter().flatten() {
                match pred {
                    Pred::Exact(w) => vocab.insert(w.as_str()),
                    Pred::Prefix(p) => prefixes.insert(p.as_str()),
                };
            }
        }
        for (a, b, _) in &self.joiners {
            vocab.insert(a);
            if !b.is_empty() {
                vocab.insert(b);
            }
        }
        for (w, _) in self.model.unigrams.keys() {
            vocab.insert(w);
        }
        for ((a, _), (b, _)) in self.model.bigrams.keys() {
            vocab.insert(a);
            vocab.insert(b);
        }
        vocab.extend(ABOUT_THE_MEETING);
        vocab.insert(BOS);
        vocab.insert(EOS);
        let vocab: Vec<&str> = vocab.into_iter().collect();
        let id: HashMap<&str, u32> = vocab.iter().enumerate().map(|(i, w)| (*w, i as u32)).collect();
        let prefixes: Vec<&str> = prefixes.into_iter().collect();
        if prefixes.len() > MAX_PREFIXES {
            return Err(CompileError(format!(
                "decision_phrases.txt: {} prefixes (`word*`, `~`), at most {MAX_PREFIXES}",
                prefixes.len()
            )));
        }
        let prefix_id: HashMap<&str, u32> = prefixes.iter().enumerate().map(|(i, p)| (*p, i as u32)).collect();

        let mut out = String::new();
        out.push_str(
            "// Written by build.rs from src/mail/decision_phrases.txt and src/mail/decision_model.txt\n\
             // (src/mail/decision/compile.rs). Do not edit.\n",
        );
        // The words, one string, and the open-addressing table that finds them.
        let mut text = String::new();
        let mut ends = Vec::with_capacity(vocab.len());
        for w in &vocab {
            text.push_str(w);
            ends.push(text.len() as u32);
        }
        let bits = (vocab.len() * 2).next_power_of_two().trailing_zeros().max(4);
        let mut slots = vec![0u32; 1 << bits];
        for (i, w) in vocab.iter().enumerate() {
            let mut s = (fnv(w.as_bytes()) >> (64 - bits)) as usize;
            while slots[s] != 0 {
                s = (s + 1) & ((1 << bits) - 1);
            }
            slots[s] = i as u32 + 1;
        }
        let _ = writeln!(out, "pub(super) const WORDS: &str = {text:?};");
        emit(&mut out, "WORD_ENDS", "u32", &ends);
        let _ = writeln!(out, "pub(super) const WORD_BITS: u32 = {bits};");
        emit(&mut out, "WORD_SLOTS", "u32", &slots);
        let _ = writeln!(out, "pub(super) const PREFIXES: [&str; {}] = {prefixes:?};", prefixes.len());
        let masks: Vec<u64> = vocab
            .iter()
            .map(|w| {
                prefixes
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| satisfies(w, &Pred::Prefix((**p).to_owned())))
                    .fold(0u64, |m, (i, _)| m | 1 << i)
            })
            .collect();
        emit(&mut out, "WORD_PREFIXES", "u64", &masks);
        let _ = writeln!(out, "pub(super) const ACCEPT: u32 = {ACCEPT};");
        let _ = writeln!(out, "pub(super) const BOS: u32 = {};", id[BOS]);
        let _ = writeln!(out, "pub(super) const EOS: u32 = {};", id[EOS]);

        // The two automata.
        for (name, words) in [("CLAUSE", &self.clause), ("ANYWHERE", &self.anywhere)] {
            let mut exact_from = vec![0u32];
            let mut exact = Vec::new();
            let mut prefix_from = vec![0u32];
            let mut prefix = Vec::new();
            for edges in &words.nodes {
                let mut e: Vec<(u32, u32)> = Vec::new();
                let mut p: Vec<(u32, u32)> = Vec::new();
                for (pred, target) in edges {
                    match pred {
                        Pred::Exact(w) => e.push((id[w.as_str()], *target)),
                        Pred::Prefix(w) => p.push((prefix_id[w.as_str()], *target)),
                    }
                }
                e.sort_unstable();
                p.sort_unstable();
                exact.extend(e);
                prefix.extend(p);
                exact_from.push(exact.len() as u32);
                prefix_from.push(prefix.len() as u32);
            }
            // Words on no edge all walk alike: a walk keys its steps by
            // NO_WORD for them, so that they share one.
            let mut uses = vec![false; vocab.len()];
            for (w, _) in &exact {
                uses[*w as usize] = true;
            }
            emit(&mut out, &format!("{name}_USES"), "bool", &uses);
            emit(&mut out, &format!("{name}_EXACT_FROM"), "u32", &exact_from);
            emit(&mut out, &format!("{name}_EXACT_WORD"), "u32", &exact.iter().map(|e| e.0).collect::<Vec<_>>());
            emit(&mut out, &format!("{name}_EXACT_TO"), "u32", &exact.iter().map(|e| e.1).collect::<Vec<_>>());
            emit(&mut out, &format!("{name}_PREFIX_FROM"), "u32", &prefix_from);
            emit(&mut out, &format!("{name}_PREFIX_ID"), "u32", &prefix.iter().map(|e| e.0).collect::<Vec<_>>());
            emit(&mut out, &format!("{name}_PREFIX_TO"), "u32", &prefix.iter().map(|e| e.1).collect::<Vec<_>>());
        }

        // Joiners: per word, 1 = joiner, 2 = contrast, 4 = starts a two-word one.
        let mut join = vec![0u8; vocab.len()];
        let mut pairs: Vec<(u32, u32, bool)> = Vec::new();
        for (a, b, contrast) in &self.joiners {
            if b.is_empty() {
                join[id[a.as_str()] as usize] = (join[id[a.as_str()] as usize] & 4) | if *contrast { 2 } else { 1 };
            } else {
                join[id[a.as_str()] as usize] |= 4;
                pairs.push((id[a.as_str()], id[b.as_str()], *contrast));
            }
        }
        pairs.sort_unstable();
        emit(&mut out, "JOIN", "u8", &join);
        let meeting: Vec<bool> = vocab.iter().map(|w| ABOUT_THE_MEETING.contains(w)).collect();
        emit(&mut out, "MEETING", "bool", &meeting);
        let _ = writeln!(out, "pub(super) static JOIN_PAIRS: [(u32, u32, bool); {}] = {pairs:?};", pairs.len());

        // The model: weights by word id, a table of bigrams, the rest by value.
        let m = &self.model;
        let mut uni = vec![0.0f64; vocab.len()];
        let mut uni_neg = vec![0.0f64; vocab.len()];
        for ((w, neg), value) in &m.unigrams {
            let weights = if *neg { &mut uni_neg } else { &mut uni };
            weights[id[w.as_str()] as usize] = *value;
        }
        let bigram_bits = (m.bigrams.len() * 2).next_power_of_two().trailing_zeros().max(4);
        let mut keys = vec![u64::MAX; 1 << bigram_bits];
        let mut weights = vec![0.0f64; 1 << bigram_bits];
        for (((a, an), (b, bn)), value) in &m.bigrams {
            let key = bigram_key(id[a.as_str()], *an, id[b.as_str()], *bn);
            let mut s = bigram_slot(key, bigram_bits);
            while keys[s] != u64::MAX {
                s = (s + 1) & ((1 << bigram_bits) - 1);
            }
            keys[s] = key;
            weights[s] = *value;
        }
        let float = |v: f64| if v.is_infinite() { "f64::INFINITY".to_owned() } else { format!("{v:?}") };
        let _ = writeln!(out, "pub(super) const BIAS: f64 = {};", float(m.bias));
        let _ = writeln!(out, "pub(super) const THRESHOLD: f64 = {};", float(m.threshold));
        emit(&mut out, "UNIGRAM", "f64", &uni);
        emit(&mut out, "UNIGRAM_NEGATED", "f64", &uni_neg);
        let _ = writeln!(out, "pub(super) const BIGRAM_BITS: u32 = {bigram_bits};");
        emit(&mut out, "BIGRAM_KEYS", "u64", &keys);
        emit(&mut out, "BIGRAM_WEIGHTS", "f64", &weights);
        emit(&mut out, "LEN", "f64", &m.len);
        emit(&mut out, "NEG", "f64", &m.neg);
        emit(&mut out, "KIND", "f64", &m.kinds);
        // Only the tests read it (a trained model is shipped).
        let _ = writeln!(
            out,
            "#[cfg(test)]\npub(super) const MODEL_WEIGHTS: usize = {};",
            m.unigrams.len() + m.bigrams.len()
        );
        Ok(out)
    }
}

/// One `static NAME: [T; N] = [...];`, floats written so they read back
/// bit for bit.
fn emit<T: std::fmt::Debug>(out: &mut String, name: &str, ty: &str, values: &[T]) {
    let _ = write!(out, "pub(super) static {name}: [{ty}; {}] = [", values.len());
    for (i, v) in values.iter().enumerate() {
        if i % 16 == 0 {
            out.push('\n');
        }
        let _ = write!(out, "{v:?},");
    }
    out.push_str("\n];\n");
}
