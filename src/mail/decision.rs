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
//! Its weights are folded for an answer to an invitation (the bot's only
//! question): trained with every feature crossed with the question's kind,
//! it reads "I already have plans" as a refusal, and some answers that
//! refuse only a taste no longer count ("it's not my favorite type").
//! It never makes a yes: a yes-model was measured (BENCHMARKS.md, third
//! pass) and missed the false-yes floor on the held-back rows; what it
//! learns ("I'm starving", "I love the cinema!") is not consent to meet
//! someone. [`Reading::model_may_accept`] is the gate that study used.
//!
//! Speed: both files are compiled when the crate is built (`build.rs`, by
//! [`compile`](../../src/mail/decision/compile.rs)) into automata over whole
//! words and into weight tables by word id, so nothing is parsed when a
//! process starts, and a mistake in either file fails the build with its
//! line. A reply is read in one pass into lowercase words, each looked up
//! once in the table's vocabulary; clauses are ranges of those words. The
//! clause automaton (every clause as a whole) and the anywhere automaton
//! (one pass over the reply) are walked as lazy DFAs ([`Walks`]): each set of
//! automaton nodes a walk reaches, and each step from it on a word, is worked
//! out once per thread and remembered, so a word costs one lookup. The model
//! adds weights found by word id. The tests hold all of it to the phrase
//! table's first, regex-based reader
//! ([`reference`](../../src/mail/decision/reference.rs)) on every row of the
//! decision table, on replies made up from every row of the phrase table and
//! on proptest text; `scripts/decisions-unchanged BASE` diffs every decision
//! over Circa and the fixture mails against another commit.
//!
//! Measured on Circa's indirect answers by `cargo bench --bench decisions`
//! (see BENCHMARKS.md). Pure: no IO, no clock.

#[cfg(test)]
mod compile;
#[cfg(test)]
mod reference;

/// The compiled phrase table and model (see `to_rust` in
/// `src/mail/decision/compile.rs`, which `build.rs` runs).
/// Trained weights such as -0.3927 are not π/8, whatever clippy thinks.
#[allow(clippy::approx_constant)]
mod tables {
    include!(concat!(env!("OUT_DIR"), "/decision_tables.rs"));
}

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::core::Decision;

/// Sections whose phrases count anywhere in the reply, in the order of the
/// compiled automaton's matches.
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

/// What one clause is, by the first of the clause sections it matches (in
/// order: stop, later, time, refuse, accept, neutral; a clause that is both
/// a time and a refusal is a not-now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Stop,
    Later,
    Refuse,
    Accept,
    Neutral,
    Other,
}

impl Kind {
    /// The kind of a clause matching these clause sections (one bit each).
    fn of(sections: u8) -> Kind {
        match sections.trailing_zeros() {
            0 => Kind::Stop,
            1 | 2 => Kind::Later,
            3 => Kind::Refuse,
            4 => Kind::Accept,
            5 => Kind::Neutral,
            _ => Kind::Other,
        }
    }
}

/// A word id for a token outside the table's vocabulary.
const NO_WORD: u32 = u32::MAX;

/// What a token is besides its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Word,
    /// A clause break (`. ! ; : ,` …), as the token `,`.
    Comma,
    /// `?`.
    Question,
    /// A line break: it ends a clause, but a phrase looked for anywhere may
    /// be wrapped across it ("Not\nnow").
    LineBreak,
}

/// One token: where its text is in [`Tokens::text`], its word id and the
/// table's word prefixes it has.
#[derive(Clone, Copy, Debug)]
struct Token {
    start: u32,
    end: u32,
    class: Class,
    word: u32,
    prefixes: u64,
}

/// The text as lowercase tokens: a word is a run of letters, digits and
/// apostrophes (curly ones and backticks folded; a hyphen or a semicolon
/// between two letters stays in the word: "e-mail", "can;t"); a clause break
/// (`. ! ; : , …` dashes, brackets, quotes, slashes) becomes `,`, a line
/// break [`Class::LineBreak`] and a question mark `?`; other symbols (emoji)
/// are dropped. All token texts live in one string.
#[derive(Clone, Debug, Default)]
struct Tokens {
    text: String,
    list: Vec<Token>,
}

impl Tokens {
    fn read(input: &str) -> Tokens {
        let mut t = Tokens { text: String::with_capacity(input.len() + 8), list: Vec::with_capacity(input.len() / 3) };
        // The word being read starts at `word` in `text`.
        let mut word = 0usize;
        let mut chars = input.chars().peekable();
        while let Some(raw) = chars.next() {
            let c = if matches!(raw, '\u{2019}' | '\u{2018}' | '`' | '\u{b4}') { '\'' } else { raw };
            if c.is_alphanumeric() || c == '\'' {
                if c.is_ascii() {
                    t.text.push(c.to_ascii_lowercase());
                } else {
                    t.text.extend(c.to_lowercase());
                }
                continue;
            }
            if c == '-' || c == ';' {
                let between_letters = t.text[word..].chars().next_back().is_some_and(char::is_alphabetic)
                    && chars.peek().is_some_and(|n| n.is_alphabetic());
                if between_letters {
                    t.text.push(if c == ';' { '\'' } else { '-' });
                    continue;
                }
            }
            t.flush(word);
            let class = match c {
                '?' | '\u{ff1f}' => Some((Class::Question, "?")),
                '\n' => Some((Class::LineBreak, "\n")),
                c if is_break(c) => Some((Class::Comma, ",")),
                _ => None,
            };
            if let Some((class, text)) = class {
                let start = t.text.len();
                t.text.push_str(text);
                let (id, prefixes) = lookup(text);
                t.list.push(Token { start: start as u32, end: t.text.len() as u32, class, word: id, prefixes });
            }
            word = t.text.len();
        }
        t.flush(word);
        t
    }

    /// Ends the word that starts at `word`: apostrophes at its ends are not
    /// part of it, and an empty word is none.
    fn flush(&mut self, word: usize) {
        let w = &self.text[word..];
        let trimmed = w.trim_start_matches('\'');
        let start = word + (w.len() - trimmed.len());
        let end = start + trimmed.trim_end_matches('\'').len();
        if end > start {
            let (id, prefixes) = lookup(&self.text[start..end]);
            self.list.push(Token { start: start as u32, end: end as u32, class: Class::Word, word: id, prefixes });
        }
    }

    fn str(&self, t: &Token) -> &str {
        &self.text[t.start as usize..t.end as usize]
    }
}

/// Characters that end a clause (but a line break: see [`Class::LineBreak`]).
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

/// A token's word id ([`NO_WORD`] outside the vocabulary) and the table's
/// word prefixes (`word*`, and the empty one of `~`) it has, one bit each.
fn lookup(token: &str) -> (u32, u64) {
    let bytes = token.as_bytes();
    let mask = (1usize << tables::WORD_BITS) - 1;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut slot = (h >> (64 - tables::WORD_BITS)) as usize;
    loop {
        let entry = tables::WORD_SLOTS[slot];
        if entry == 0 {
            break;
        }
        let i = entry as usize - 1;
        let start = if i == 0 { 0 } else { tables::WORD_ENDS[i - 1] as usize };
        if &tables::WORDS.as_bytes()[start..tables::WORD_ENDS[i] as usize] == bytes {
            return (i as u32, tables::WORD_PREFIXES[i]);
        }
        slot = (slot + 1) & mask;
    }
    // A prefix covers a token that is longer and goes on with word
    // characters: never `,` or `?`.
    if token == "," || token == "?" {
        return (NO_WORD, 0);
    }
    let mut prefixes = 0;
    for (i, p) in tables::PREFIXES.iter().enumerate() {
        if token.len() > p.len() && token.starts_with(p) {
            prefixes |= 1 << i;
        }
    }
    (NO_WORD, prefixes)
}

/// One of the two compiled word automata: per node, its edges on an exact
/// word (sorted by word id) and on a prefix; an edge leads to another node or,
/// from [`tables::ACCEPT`] up, to a match of a section.
struct Automaton {
    /// Per word id, whether an exact edge names it.
    uses: &'static [bool],
    exact_from: &'static [u32],
    exact_word: &'static [u32],
    exact_to: &'static [u32],
    prefix_from: &'static [u32],
    prefix_id: &'static [u32],
    prefix_to: &'static [u32],
}

static CLAUSE: Automaton = Automaton {
    uses: &tables::CLAUSE_USES,
    exact_from: &tables::CLAUSE_EXACT_FROM,
    exact_word: &tables::CLAUSE_EXACT_WORD,
    exact_to: &tables::CLAUSE_EXACT_TO,
    prefix_from: &tables::CLAUSE_PREFIX_FROM,
    prefix_id: &tables::CLAUSE_PREFIX_ID,
    prefix_to: &tables::CLAUSE_PREFIX_TO,
};

static ANYWHERE: Automaton = Automaton {
    uses: &tables::ANYWHERE_USES,
    exact_from: &tables::ANYWHERE_EXACT_FROM,
    exact_word: &tables::ANYWHERE_EXACT_WORD,
    exact_to: &tables::ANYWHERE_EXACT_TO,
    prefix_from: &tables::ANYWHERE_PREFIX_FROM,
    prefix_id: &tables::ANYWHERE_PREFIX_ID,
    prefix_to: &tables::ANYWHERE_PREFIX_TO,
};

impl Automaton {
    /// Calls `visit` with every target of `node`'s edges that `token` takes.
    fn step(&self, node: u32, token: &Token, mut visit: impl FnMut(u32)) {
        let n = node as usize;
        if token.word != NO_WORD {
            let (from, to) = (self.exact_from[n] as usize, self.exact_from[n + 1] as usize);
            let words = &self.exact_word[from..to];
            let mut i = words.partition_point(|w| *w < token.word);
            while i < words.len() && words[i] == token.word {
                visit(self.exact_to[from + i]);
                i += 1;
            }
        }
        if token.prefixes != 0 {
            for e in self.prefix_from[n] as usize..self.prefix_from[n + 1] as usize {
                if token.prefixes & (1 << self.prefix_id[e]) != 0 {
                    visit(self.prefix_to[e]);
                }
            }
        }
    }

    /// The sections (one bit each) that match the whole of `tokens`, by
    /// walking the node sets directly (the tests' check on [`Walks`]).
    #[cfg(test)]
    fn whole(&self, tokens: &[Token], scratch: &mut Scratch) -> u8 {
        let (active, next) = (&mut scratch.active, &mut scratch.next);
        active.clear();
        active.push(0);
        let mut found = 0;
        for (k, token) in tokens.iter().enumerate() {
            let last = k + 1 == tokens.len();
            next.clear();
            for &node in active.iter() {
                self.step(node, token, |to| {
                    if to >= tables::ACCEPT {
                        if last {
                            found |= 1 << (to - tables::ACCEPT);
                        }
                    } else if !last {
                        next.push(to);
                    }
                });
            }
            if next.is_empty() {
                break;
            }
            next.sort_unstable();
            next.dedup();
            std::mem::swap(active, next);
        }
        found
    }

    /// The sections (one bit each) that match some run of whole tokens, by
    /// walking the node sets directly (the tests' check on [`Walks`]).
    #[cfg(test)]
    fn anywhere<'a>(&self, tokens: impl Iterator<Item = &'a Token>, scratch: &mut Scratch) -> u8 {
        let (active, next) = (&mut scratch.active, &mut scratch.next);
        active.clear();
        let mut found = 0;
        for token in tokens {
            next.clear();
            for &node in active.iter().chain([&0]) {
                self.step(node, token, |to| {
                    if to >= tables::ACCEPT {
                        found |= 1 << (to - tables::ACCEPT);
                    } else {
                        next.push(to);
                    }
                });
            }
            next.sort_unstable();
            next.dedup();
            std::mem::swap(active, next);
        }
        found
    }
}

/// Node lists reused by the direct walks of the tests.
#[cfg(test)]
#[derive(Default)]
struct Scratch {
    active: Vec<u32>,
    next: Vec<u32>,
}

/// Walks over one automaton made deterministic as they go (a lazy DFA):
/// every set of nodes a walk reaches gets an id, and every step from a set
/// on a token (its word id and prefixes) is worked out once and remembered.
/// A step is a pure function of the set and the token, so remembering
/// changes nothing but the time: a clause of eight words costs eight lookups
/// instead of a walk over the hundreds of nodes that `~` (up to 40 words)
/// keeps alive.
struct Walks {
    automaton: &'static Automaton,
    /// Whether node 0 joins every set: an anywhere walk starts afresh at
    /// every token; a clause walk starts once, at the clause's first word.
    restart: bool,
    /// The node sets, sorted; id 0 is the empty set, id 1 `{0}`.
    sets: Vec<Box<[u32]>>,
    ids: HashMap<Box<[u32]>, u32, BuildHasherDefault<Fx>>,
    steps: HashMap<(u32, u32, u64), Step, BuildHasherDefault<Fx>>,
    next: Vec<u32>,
}

/// Where a step from a set leads: the next set's id, and the sections
/// (one bit each) matched by the token.
#[derive(Clone, Copy)]
struct Step {
    next: u32,
    found: u8,
}

/// The set ids every [`Walks`] starts with.
const EMPTY: u32 = 0;
const START: u32 = 1;

/// How many steps a thread remembers before it starts over (a few MB at
/// most; Circa's 31,000 answers need about a tenth of it).
const MAX_STEPS: usize = 1 << 18;

impl Walks {
    fn new(automaton: &'static Automaton, restart: bool) -> Walks {
        let sets: Vec<Box<[u32]>> = vec![Box::new([]), Box::new([0])];
        let ids = sets.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect();
        Walks { automaton, restart, sets, ids, steps: HashMap::default(), next: Vec::new() }
    }

    /// Forgets every set and step when there are too many (only between
    /// walks: a walk holds set ids).
    fn bound(&mut self) {
        if self.steps.len() >= MAX_STEPS {
            *self = Walks::new(self.automaton, self.restart);
        }
    }

    fn step(&mut self, set: u32, token: &Token) -> Step {
        // A word on no edge steps as any unknown word with its prefixes.
        let word = if token.word != NO_WORD && self.automaton.uses[token.word as usize] { token.word } else { NO_WORD };
        let key = (set, word, token.prefixes);
        if let Some(step) = self.steps.get(&key) {
            return *step;
        }
        let mut found = 0u8;
        self.next.clear();
        let nodes = &self.sets[set as usize];
        let restart = if self.restart && nodes.first() != Some(&0) { Some(0) } else { None };
        for &node in nodes.iter().chain(restart.iter()) {
            self.automaton.step(node, token, |to| {
                if to >= tables::ACCEPT {
                    found |= 1 << (to - tables::ACCEPT);
                } else {
                    self.next.push(to);
                }
            });
        }
        self.next.sort_unstable();
        self.next.dedup();
        let next = match self.ids.get(self.next.as_slice()) {
            Some(id) => *id,
            None => {
                let id = self.sets.len() as u32;
                let nodes: Box<[u32]> = self.next.as_slice().into();
                self.sets.push(nodes.clone());
                self.ids.insert(nodes, id);
                id
            }
        };
        let step = Step { next, found };
        self.steps.insert(key, step);
        step
    }

    /// The sections (one bit each) that match the whole of `tokens`.
    fn whole(&mut self, tokens: &[Token]) -> u8 {
        self.bound();
        let mut set = START;
        for (k, token) in tokens.iter().enumerate() {
            let step = self.step(set, token);
            if k + 1 == tokens.len() {
                return step.found;
            }
            if step.next == EMPTY {
                break;
            }
            set = step.next;
        }
        0
    }

    /// The sections (one bit each) that match some run of whole tokens.
    fn anywhere<'a>(&mut self, tokens: impl Iterator<Item = &'a Token>) -> u8 {
        self.bound();
        let mut set = EMPTY;
        let mut found = 0;
        for token in tokens {
            let step = self.step(set, token);
            found |= step.found;
            set = step.next;
        }
        found
    }
}

thread_local! {
    /// This thread's walks over the clause and the anywhere automata.
    static WALKS: RefCell<(Walks, Walks)> = RefCell::new((Walks::new(&CLAUSE, false), Walks::new(&ANYWHERE, true)));
}

/// FxHash (as in rustc): the walks' keys are a few small integers, for
/// which std's SipHash costs more than the step it looks up.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A clause: a range of tokens, and whether a contrast came before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Clause {
    start: usize,
    end: usize,
    after_contrast: bool,
}

/// The clauses of a reply: tokens between breaks, line breaks and joiners
/// ("and", "but" and their kin; after a contrast, what follows is what
/// counts: "Thanks, but no" has `thanks` and, after a contrast, `no`).
fn clauses(tokens: &[Token]) -> Vec<Clause> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut after_contrast = false;
    let mut i = 0;
    let mut end = |from: usize, to: usize, after: bool| {
        if to > from {
            out.push(Clause { start: from, end: to, after_contrast: after });
        }
    };
    while i < tokens.len() {
        let t = &tokens[i];
        if t.class != Class::Word {
            end(start, i, after_contrast);
            i += 1;
            start = i;
            continue;
        }
        let flags = if t.word == NO_WORD { 0 } else { tables::JOIN[t.word as usize] };
        let mut joiner = None;
        if flags & 4 != 0
            && let Some(next) = tokens.get(i + 1)
            && let Ok(k) = tables::JOIN_PAIRS.binary_search_by(|(a, b, _)| (*a, *b).cmp(&(t.word, next.word)))
        {
            joiner = Some((tables::JOIN_PAIRS[k].2, 2));
        }
        if joiner.is_none() && flags & 3 != 0 {
            joiner = Some((flags & 2 != 0, 1));
        }
        if let Some((contrast, width)) = joiner {
            end(start, i, after_contrast);
            after_contrast |= contrast;
            i += width;
            start = i;
            continue;
        }
        i += 1;
    }
    end(start, tokens.len(), after_contrast);
    out
}

/// Decides what a reply's visible text amounts to: the phrase table first,
/// then, for a reply it leaves unclear and that may be read as a refusal at
/// all (see [`Reading::model_may_refuse`]), the refusal model.
pub fn decide(text: &str) -> Decision {
    let reading = read(text);
    if reading.decision == Decision::Unclear && reading.model_may_refuse && score(&reading) >= tables::THRESHOLD {
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
    /// Whether a model may read an unclear reply as a yes: one of at most
    /// 25 words with no refusing clause and no negation, hedge, doubt,
    /// question, contrast or time anywhere in it.
    pub model_may_accept: bool,
    tokens: Tokens,
    kinds: Vec<Kind>,
}

/// Reads a reply with the phrase table.
pub fn read(text: &str) -> Reading {
    let text = text.trim();
    let tokens = Tokens::read(text);
    let clauses = clauses(&tokens.list);
    let (kinds, found) = WALKS.with_borrow_mut(|(clause, anywhere)| {
        let kinds: Vec<(Kind, bool)> =
            clauses.iter().map(|c| (Kind::of(clause.whole(&tokens.list[c.start..c.end])), c.after_contrast)).collect();
        let found = if text.is_empty() {
            0
        } else {
            anywhere.anywhere(tokens.list.iter().filter(|t| t.class != Class::LineBreak))
        };
        (kinds, found)
    });
    let mut reading = Reading {
        decision: Decision::Unclear,
        model_may_refuse: false,
        model_may_accept: false,
        tokens: Tokens::default(),
        kinds: kinds.iter().map(|(k, _)| *k).collect(),
    };
    if text.is_empty() {
        reading.tokens = tokens;
        return reading;
    }
    let has = |a: Anywhere| found & (1 << a as u8) != 0;
    let any = |k: Kind| kinds.iter().any(|(kind, _)| *kind == k);
    let question = tokens.list.iter().any(|t| t.class == Class::Question);
    let negation = has(Anywhere::Negation);
    let time = has(Anywhere::Time);
    let doubt = has(Anywhere::Doubt);
    let contrast = kinds.iter().any(|(_, after)| *after);
    let accept = any(Kind::Accept);
    reading.decision = rules(&kinds, &has, question, text);
    // Both models read only short replies without a question, condition,
    // contrast, time or negated "no".
    let plain = !question
        && !doubt
        && !contrast
        && !time
        && !has(Anywhere::NegatedNo)
        && text.split_whitespace().nth(25).is_none();
    reading.model_may_refuse = plain
        && !accept
        && (negation || !tokens.list.iter().any(|t| t.word != NO_WORD && tables::MEETING[t.word as usize]));
    reading.model_may_accept = plain && !negation && !has(Anywhere::Hedge) && !any(Kind::Refuse);
    reading.tokens = tokens;
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
            let (mut refuses, mut only) = (false, true);
            for k in kinds.iter().filter(|(_, after)| *after).map(|(k, _)| *k) {
                refuses |= k == Kind::Refuse;
                only &= matches!(k, Kind::Refuse | Kind::Neutral);
            }
            refuses && only
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

/// Long replies carry conditions a word list cannot see; leave them to the
/// connector.
fn is_short(text: &str) -> bool {
    text.split_whitespace().nth(40).is_none()
}

/// A word as the model's features see it: a token, or the start or end of
/// the reply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Feature {
    Token(usize),
    Start,
    End,
    /// A clause break between two words: no pair spans it.
    Break,
}

/// The model's features of a reading, in order (the score adds them up in
/// this order, as the trainer's strings):
/// the words, a word after a negation in the same clause marked `!` ("I
/// don't drink" has `!drink`), pairs of neighbouring words within a clause,
/// the length, how many negations, and what kind each clause is.
trait Features {
    fn unigram(&mut self, tokens: &Tokens, word: usize, negated: bool);
    fn bigram(&mut self, tokens: &Tokens, a: (Feature, bool), b: (Feature, bool));
    fn len(&mut self, n: usize);
    fn negations(&mut self, n: usize);
    fn kind(&mut self, k: Kind);
}

fn each_feature(reading: &Reading, sink: &mut impl Features) {
    let tokens = &reading.tokens;
    let mut words: Vec<(Feature, bool)> = Vec::with_capacity(tokens.list.len());
    let mut in_negation = false;
    let mut negations = 0usize;
    for (i, t) in tokens.list.iter().enumerate() {
        if t.class != Class::Word {
            in_negation = false;
            words.push((Feature::Break, false));
            continue;
        }
        let s = tokens.str(t);
        let negates = matches!(
            s,
            "not" | "no" | "never" | "nothing" | "none" | "nobody" | "nor" | "cannot" | "without" | "neither"
        ) || s.ends_with("n't");
        words.push((Feature::Token(i), in_negation && !negates));
        if negates {
            in_negation = true;
            negations += 1;
        }
    }
    let mut count = 0;
    for (w, negated) in &words {
        if let Feature::Token(i) = w {
            sink.unigram(tokens, *i, *negated);
            count += 1;
        }
    }
    let mut previous = (Feature::Start, false);
    for word in words.iter().copied().chain([(Feature::End, false)]) {
        if previous.0 != Feature::Break && word.0 != Feature::Break {
            sink.bigram(tokens, previous, word);
        }
        previous = word;
    }
    sink.len(count.min(12));
    sink.negations(negations.min(2));
    for k in &reading.kinds {
        sink.kind(*k);
    }
}

/// The features as the trainer's strings.
struct Strings(Vec<String>);

impl Features for Strings {
    fn unigram(&mut self, tokens: &Tokens, word: usize, negated: bool) {
        self.0.push(format!("u:{}{}", if negated { "!" } else { "" }, tokens.str(&tokens.list[word])));
    }

    fn bigram(&mut self, tokens: &Tokens, a: (Feature, bool), b: (Feature, bool)) {
        let name = |(f, negated): (Feature, bool)| {
            let mark = if negated { "!" } else { "" };
            match f {
                Feature::Token(i) => format!("{mark}{}", tokens.str(&tokens.list[i])),
                Feature::Start => "<s>".into(),
                Feature::End => "</s>".into(),
                Feature::Break => "|".into(),
            }
        };
        self.0.push(format!("b:{} {}", name(a), name(b)));
    }

    fn len(&mut self, n: usize) {
        self.0.push(format!("len:{n}"));
    }

    fn negations(&mut self, n: usize) {
        self.0.push(format!("neg:{n}"));
    }

    fn kind(&mut self, k: Kind) {
        self.0.push(format!("cl:{k:?}"));
    }
}

/// The model's score: its bias plus the weight of every feature, added in
/// feature order (a feature without a weight adds nothing).
struct Score(f64);

impl Features for Score {
    fn unigram(&mut self, tokens: &Tokens, word: usize, negated: bool) {
        let id = tokens.list[word].word;
        if id != NO_WORD {
            self.0 += if negated { tables::UNIGRAM_NEGATED[id as usize] } else { tables::UNIGRAM[id as usize] };
        }
    }

    fn bigram(&mut self, tokens: &Tokens, a: (Feature, bool), b: (Feature, bool)) {
        let id = |f: Feature| match f {
            Feature::Token(i) => tokens.list[i].word,
            Feature::Start => tables::BOS,
            Feature::End => tables::EOS,
            Feature::Break => NO_WORD,
        };
        let (a_id, b_id) = (id(a.0), id(b.0));
        if a_id == NO_WORD || b_id == NO_WORD {
            return;
        }
        let key = (u64::from(a_id | u32::from(a.1) << 31) << 32) | u64::from(b_id | u32::from(b.1) << 31);
        let mask = (1usize << tables::BIGRAM_BITS) - 1;
        let mut slot = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - tables::BIGRAM_BITS)) as usize;
        loop {
            match tables::BIGRAM_KEYS[slot] {
                u64::MAX => return,
                k if k == key => {
                    self.0 += tables::BIGRAM_WEIGHTS[slot];
                    return;
                }
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    fn len(&mut self, n: usize) {
        self.0 += tables::LEN[n];
    }

    fn negations(&mut self, n: usize) {
        self.0 += tables::NEG[n];
    }

    fn kind(&mut self, k: Kind) {
        self.0 += tables::KIND[k as usize];
    }
}

/// The features the refusal model reads (public for its trainer,
/// `examples/train_decisions.rs`): the words, a word after a negation in the
/// same clause marked `!` ("I don't drink" has `!drink`), pairs of
/// neighbouring words within a clause, the length, how many negations, and
/// what kind each clause is by the phrase table.
pub fn features(text: &str) -> Vec<String> {
    let mut out = Strings(Vec::new());
    each_feature(&read(text), &mut out);
    out.0
}

/// The refusal model's score of a reading: a logistic regression over
/// [`features`], trained on Circa's tuning part by
/// `examples/train_decisions.rs`, which also set the threshold by
/// cross-validation (see that file and BENCHMARKS.md).
fn score(reading: &Reading) -> f64 {
    let mut s = Score(tables::BIAS);
    each_feature(reading, &mut s);
    s.0
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

    const PHRASES: &str = include_str!("decision_phrases.txt");
    const MODEL: &str = include_str!("decision_model.txt");

    #[test]
    fn the_phrase_table_and_model_compile() {
        let compiled = compile::compile(PHRASES, MODEL).expect("compiles");
        assert!(compiled.clause.nodes.len() > 100 && compiled.anywhere.nodes.len() > 100);
        assert!(compiled.joiners.contains(&("but".into(), String::new(), true)));
        assert!(compiled.joiners.contains(&("and".into(), String::new(), false)));
        compiled.to_rust().expect("writes the tables");
        // The order the automata name their sections in is the order here.
        assert_eq!(compile::ANYWHERE.len(), Anywhere::Doubt as usize + 1);
        assert_eq!(compile::ANYWHERE[Anywhere::NegatedNo as usize], "negated-no");
        assert_eq!(compile::KINDS.len(), Kind::Other as usize + 1);
        assert_eq!(compile::KINDS[Kind::Neutral as usize], format!("{:?}", Kind::Neutral));
        assert_eq!(tables::ACCEPT, compile::ACCEPT);
    }

    #[test]
    fn mistakes_in_the_table_name_their_place() {
        let with = |extra: &str| format!("{PHRASES}\n{extra}\n");
        let error = |text: &str| match compile::compile(text, MODEL) {
            Ok(_) => panic!("compiled: {text:.60}"),
            Err(e) => e.to_string(),
        };
        assert!(error("[accept]\nen yes").contains("line 2: a row needs `xx: pattern`"));
        assert!(error("en: yes").contains("line 1: a row before any [section]"));
        assert!(error("[accept]\nenglish: yes").contains("two-letter language"));
        assert!(error(&with("[accept]\nen: take me off~")).contains("`~` needs a space beside it"));
        // A row's mistake names its line (the table, a blank line, the section, the row).
        let row_line = PHRASES.lines().count() + 3;
        assert!(error(&with("[accept]\nen: (yes")).contains(&format!("line {row_line}: unclosed `(`")));
        assert!(error(&with("[accept]\nen: yes)")).contains("unmatched `)`"));
        assert!(error(&with("[accept]\nen: ?yes")).contains("nothing before it"));
        assert!(error(&with("[accept]\nen: {nothing}")).contains("unknown {list}"));
        assert!(error(&with("[accept]\nen: ja* bitte|jo*x")).contains("after `*` or `~`"));
        assert!(error(&with("[joiner]\nen: as well as")).contains("one word or two"));
        assert!(error(&PHRASES.replace("[doubt]", "[doubts]")).contains("section [doubt] is missing"));
        let bad_model = |model: &str| compile::compile(PHRASES, model).err().map(|e| e.to_string());
        assert!(bad_model("bias 1").is_some_and(|e| e.contains("decision_model.txt line 1")));
        assert!(bad_model("len:13\t0.5").is_some_and(|e| e.contains("cannot have")));
        assert!(bad_model("u:yes\t0.5\nthreshold\t1").is_none());
    }

    #[test]
    fn the_table_syntax_becomes_words() {
        let words = |pattern: &str| {
            let node = compile::parse_pattern(pattern, 2).expect("parses");
            let automaton = compile::words(&[node]).expect("compiles");
            automaton.nodes[0].iter().map(|(p, _)| p.clone()).collect::<Vec<_>>()
        };
        use compile::Pred::{Exact, Prefix};
        // " d" after nothing would start with a space: never in text.
        assert_eq!(words("a|(b|c)? d"), [Exact("a".into()), Exact("b".into()), Exact("c".into())]);
        assert_eq!(words("désolée?"), [Exact("désolé".into()), Exact("désolée".into())]);
        assert_eq!(words("désinscri*"), [Exact("désinscri".into()), Prefix("désinscri".into())]);
        assert_eq!(words("~ great"), [Prefix(String::new())]);
        // The regex reading of the same syntax, kept as the tests' oracle.
        use reference::{WORD, to_regex};
        assert_eq!(to_regex("a|(b|c)? d", 6), "a|(?:b|c)? d");
        assert_eq!(to_regex("take me off ~", 6), format!("take me off(?: {WORD}){{1,6}}"));
        assert_eq!(to_regex("remove me ~?", 2), format!("remove me(?: {WORD}){{0,2}}"));
        assert_eq!(to_regex("désinscri*", 6), "désinscri(?-u:[^ ,?])*");
        assert_eq!(to_regex("a.b", 6), r"a\.b");
    }

    fn texts(tokens: &Tokens) -> Vec<&str> {
        tokens.list.iter().map(|t| tokens.str(t)).collect()
    }

    #[test]
    fn words_are_whole_lowercase_tokens() {
        assert_eq!(
            texts(&Tokens::read("Yes,  I\u{2019}m IN!\nÉtienne")),
            ["yes", ",", "i'm", "in", ",", "\n", "étienne"]
        );
        assert_eq!(texts(&Tokens::read("e-mail can;t 'sure' 👍 ok?")), ["e-mail", "can't", "sure", "ok", "?"]);
        // Whole words only: "nobody" holds no "no".
        assert_eq!(decide("Nobody could say it better: yes."), Unclear);
        assert_eq!(decide("Yes, nobody could say it better."), Unclear);
        // A phrase may be wrapped over two lines.
        assert_eq!(decide("Not\nnow, sorry"), Later);
        assert_eq!(decide("Please stop e-mailing me"), Stop);
    }

    #[test]
    fn clauses_split_at_punctuation_and_joiners() {
        let tokens = Tokens::read("Thanks, but no. Sure and why, потому что нет");
        let got: Vec<(String, bool)> = clauses(&tokens.list)
            .iter()
            .map(|c| (texts(&tokens)[c.start..c.end].join(" "), c.after_contrast))
            .collect();
        let want = [("thanks", false), ("no", true), ("sure", true), ("why", true), ("нет", true)];
        assert_eq!(got, want.map(|(c, a)| (c.to_owned(), a)));
    }

    /// Replies the tests make up: for every row of every section, texts its
    /// pattern matches (a random walk through it), and the same with a word
    /// dropped, doubled or added, with punctuation, case, apostrophes and
    /// joiners around; and word soups of the vocabulary, long clauses and
    /// odd characters.
    fn made_up_replies(per_row: usize, seed: u64) -> Vec<String> {
        let mut rng = Rng(seed);
        let table = compile::Table::parse(PHRASES).expect("parses");
        let vocabulary: Vec<&str> = (0..tables::WORD_ENDS.len())
            .map(|i| {
                let start = if i == 0 { 0 } else { tables::WORD_ENDS[i - 1] as usize };
                &tables::WORDS[start..tables::WORD_ENDS[i] as usize]
            })
            .collect();
        let glue = [", ", ". ", "! ", "? ", "\n", " - ", " and ", " but ", "; ", " ", " ", " ", "… ", " (", ") "];
        let odd = ["İ", "ß", "’", "'", "`", "e-mail", "can;t", "don’t", "👍", "？", "x-", "-y", "’tis", "\t", "—"];
        let mut out = Vec::new();
        let mut sections: Vec<(&str, u32)> = compile::ANYWHERE.iter().map(|s| (*s, 6)).collect();
        sections.extend(compile::CLAUSE.iter().map(|s| (*s, 40)));
        for (section, max_words) in sections {
            for row in table.rows(section).expect("section") {
                let node = compile::parse_pattern(&table.expand(row).expect("expands"), max_words).expect("parses");
                for _ in 0..per_row {
                    let mut s = String::new();
                    sample(&node, &mut rng, &mut s);
                    let mut words: Vec<String> = s.split(' ').map(str::to_owned).collect();
                    match rng.below(8) {
                        0 if words.len() > 1 => {
                            words.remove(rng.below(words.len()));
                        }
                        1 => {
                            let i = rng.below(words.len());
                            words.insert(i, words[i].clone());
                        }
                        2 => words.insert(rng.below(words.len() + 1), vocabulary[rng.below(vocabulary.len())].into()),
                        3 => words.push(vocabulary[rng.below(vocabulary.len())].into()),
                        4 => {
                            if let Some(w) = words.first_mut() {
                                *w = w.to_uppercase();
                            }
                        }
                        _ => {}
                    }
                    let mut text = words.join(" ");
                    if rng.below(3) == 0 {
                        text =
                            format!("{}{}{text}", vocabulary[rng.below(vocabulary.len())], glue[rng.below(glue.len())]);
                    }
                    if rng.below(3) == 0 {
                        text.push_str(glue[rng.below(glue.len())]);
                        text.push_str(vocabulary[rng.below(vocabulary.len())]);
                    }
                    out.push(text);
                }
            }
        }
        for _ in 0..per_row * 300 {
            let mut text = String::new();
            for _ in 0..1 + rng.below(14) {
                match rng.below(10) {
                    0 => text.push_str(odd[rng.below(odd.len())]),
                    1 => text.push_str("xq"),
                    _ => text.push_str(vocabulary[rng.below(vocabulary.len())]),
                }
                text.push_str(glue[rng.below(glue.len())]);
            }
            out.push(text);
        }
        // Clauses around the 40 words a `~` may stand for.
        for n in [38, 39, 40, 41, 42] {
            let filler = vec!["blah"; n].join(" ");
            for shape in ["dear {}", "{} would be great", "i'd love to {}", "{}", "thanks {} , no", "i'd rather not {}"]
            {
                out.push(shape.replace("{}", &filler));
            }
        }
        out
    }

    /// A random text the pattern matches.
    fn sample(node: &compile::Node, rng: &mut Rng, out: &mut String) {
        use compile::Node;
        match node {
            Node::Char(c) => out.push(*c),
            Node::WordChar => out.push(['a', 'e', 's', 'ø', 'я', 'é', 'x'][rng.below(7)]),
            Node::Concat(items) => items.iter().for_each(|n| sample(n, rng, out)),
            Node::Alt(alts) => sample(&alts[rng.below(alts.len())], rng, out),
            Node::Repeat(inner, min, max) => {
                let most = max.unwrap_or(min + 3).min(min + 3);
                let mut times = *min as usize + rng.below((most - min) as usize + 1);
                if rng.below(50) == 0 {
                    times = max.map_or(times, |m| m as usize);
                }
                for _ in 0..times {
                    sample(inner, rng, out);
                }
            }
        }
    }

    /// xorshift64: the same made-up replies on every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    /// How the fast reader reads `text` (tokens, clauses, the sections each
    /// walk finds, decision, gate, features, score, `decide`), or how it
    /// differs from the regex reader ([`reference`]) or from its own direct
    /// walks over the node sets.
    fn compare(text: &str) -> Result<reference::Old, String> {
        let old = reference::read(text);
        let new = read(text);
        let tokens = Tokens::read(text.trim());
        let clause_list = clauses(&tokens.list);
        let mut scratch = Scratch::default();
        let clause_sections: Vec<u8> =
            clause_list.iter().map(|c| CLAUSE.whole(&tokens.list[c.start..c.end], &mut scratch)).collect();
        let anywhere = if text.trim().is_empty() {
            0
        } else {
            ANYWHERE.anywhere(tokens.list.iter().filter(|t| t.class != Class::LineBreak), &mut scratch)
        };
        // The lazy DFA walks as the node sets do.
        let (dfa_clauses, dfa_anywhere) = WALKS.with_borrow_mut(|(clause, any)| {
            let sections: Vec<u8> = clause_list.iter().map(|c| clause.whole(&tokens.list[c.start..c.end])).collect();
            let found = if text.trim().is_empty() {
                0
            } else {
                any.anywhere(tokens.list.iter().filter(|t| t.class != Class::LineBreak))
            };
            (sections, found)
        });
        if dfa_clauses != clause_sections || dfa_anywhere != anywhere {
            return Err(format!(
                "{text:?}: walks {dfa_clauses:?} {dfa_anywhere}, node sets {clause_sections:?} {anywhere}"
            ));
        }
        let got = reference::Old {
            tokens: texts(&tokens).into_iter().map(str::to_owned).collect(),
            clauses: clause_list.iter().map(|c| (texts(&tokens)[c.start..c.end].join(" "), c.after_contrast)).collect(),
            clause_sections,
            anywhere,
            decision: new.decision,
            model_may_refuse: new.model_may_refuse,
            features: features(text),
            score: score(&new),
            decide: decide(text),
        };
        // Scores must agree to the bit: the threshold is sharp.
        if got != old || got.score.to_bits() != old.score.to_bits() {
            return Err(format!("{text:?}\n  regex: {old:?}\n  words: {got:?}"));
        }
        Ok(got)
    }

    /// The word automata, the tokens, the clauses, the features and the
    /// model's score agree with the phrase table's regex reading
    /// ([`reference`]) on every row of the decision table and on replies made
    /// up from every row of the phrase table: the compiled reader is the same
    /// reader, only faster.
    #[test]
    fn reads_every_reply_as_the_regex_reader_does() {
        let table = include_str!("../../tests/fixtures/decisions.tsv");
        let mut replies: Vec<String> = table
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once('\t').map(|(t, _)| t.to_owned()))
            .collect();
        replies.extend(made_up_replies(12, 0x5eed_1234));
        replies.push(String::new());
        let mut differ = Vec::new();
        let mut matched = [0usize; 2];
        for text in &replies {
            match compare(text) {
                Ok(got) => {
                    matched[0] += usize::from(got.clause_sections.iter().any(|m| *m != 0));
                    matched[1] += usize::from(got.anywhere != 0);
                }
                Err(e) => differ.push(e),
            }
        }
        assert!(
            differ.is_empty(),
            "{} of {} replies read differently:\n{}",
            differ.len(),
            replies.len(),
            differ[..differ.len().min(5)].join("\n")
        );
        assert!(replies.len() > 5_000 && matched.iter().all(|m| *m > 2_000), "{} replies, {matched:?}", replies.len());
    }

    /// The same on text proptest makes up: words of the table's vocabulary
    /// (so that phrases occur), other words, odd characters and any
    /// characters, glued with punctuation, joiners and line breaks.
    #[test]
    fn proptest_text_reads_as_the_regex_reader_does() {
        use proptest::prelude::*;
        let vocabulary: Vec<String> = (0..tables::WORD_ENDS.len())
            .map(|i| {
                let start = if i == 0 { 0 } else { tables::WORD_ENDS[i - 1] as usize };
                tables::WORDS[start..tables::WORD_ENDS[i] as usize].to_owned()
            })
            .collect();
        let word = prop_oneof![
            6 => proptest::sample::select(vocabulary),
            1 => "[a-zA-ZéÉßİ'’`-]{1,9}",
            1 => "\\PC{1,4}",
        ];
        let glue = proptest::sample::select(vec![
            " ", " ", " ", ", ", ". ", "! ", "? ", "\n", " - ", " and ", " but ", "; ", "… ", " (", "？",
        ]);
        let text = proptest::collection::vec((word, glue), 0..18)
            .prop_map(|parts| parts.into_iter().map(|(w, g)| format!("{w}{g}")).collect::<String>());
        let config = ProptestConfig { cases: 4_000, failure_persistence: None, ..ProptestConfig::default() };
        proptest::test_runner::TestRunner::new(config)
            .run(&text, |t| {
                prop_assert!(compare(&t).is_ok(), "{}", compare(&t).err().unwrap_or_default());
                Ok(())
            })
            .expect("the fast reader reads as the regex reader");
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
        assert!(tables::THRESHOLD.is_finite() && tables::MODEL_WEIGHTS > 1000, "a trained model is shipped");
        for text in
            ["I prefer to meet in person.", "I'd prefer a call to coffee.", "Who is Priya?", "That would be great."]
        {
            assert_ne!(decide(text), No, "{text}");
        }
        // Indirect refusals the table cannot list.
        let indirect = "I prefer fiction.";
        assert_eq!(read(indirect).decision, Unclear);
        assert_eq!(decide(indirect), No);
        // Read as an answer to an invitation (the weights are folded so):
        // a prior engagement refuses one.
        assert_eq!(decide("I already have plans."), No);
        // A reluctant "yes" is not a refusal either.
        assert_eq!(decide("I can't say yes right now."), Unclear);
    }

    /// What a model may read as a yes (the recall study's gate,
    /// `examples/train_decisions_explore.rs`; no model makes a yes).
    #[test]
    fn a_model_may_accept_only_plain_short_replies() {
        for may in ["I'm starving!", "I love the cinema.", "That's my top choice."] {
            let r = read(may);
            assert!(r.decision == Unclear && r.model_may_accept, "{may}");
        }
        for may_not in [
            "I'm not hungry.",
            "Maybe, if she's quick.",
            "Who is she?",
            "I love it, but not now.",
            "Next week.",
            "I'd rather not.",
            "Sure, I guess.",
        ] {
            assert!(!read(may_not).model_may_accept, "{may_not}");
        }
        let long = "I love the cinema ".repeat(7);
        assert!(!read(&long).model_may_accept, "26 words or more");
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
