//! What a reply's words amount to.
//!
//! Precision comes first: a wrong yes introduces people who did not agree,
//! while a wrong "unclear" only costs the connector a glance. So:
//! - `stop` when the person asks never to be contacted again;
//! - `later` when they say not now (a time, "ask me again", "swamped");
//! - `no` for a plain refusal;
//! - `yes` only for a short, plain acceptance with no negation, condition,
//!   hedge, question or contrast anywhere in it;
//! - everything else, including mixed signals, is `unclear`.
//!
//! Only the visible reply text is read (see [`super::reply`]). Words are
//! matched whole, case-insensitively, after folding curly apostrophes.
//! English, German, French, Spanish, Portuguese, Italian and Dutch have
//! their plain yes and no, and so do Swedish, Danish, Norwegian, Polish and
//! Russian, whose negations are words of their own ("nie", "не", "inte").
//! Czech (negation fused into the verb: "nemůžu") and the languages written
//! without spaces (Chinese, Japanese) are left to the connector: a word
//! list cannot see their "not".

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::core::Decision;

/// The phrase lists below, found in [`tokens`] by one automaton in one
/// pass: whole words only, because the text is split into
/// single-space-separated tokens and every phrase is looked for with the
/// spaces around it. Punctuation is its own token (`no , thanks`).
///
/// The lists are written with a small syntax, expanded into plain phrases
/// when first used: `a|b` either, `(a|b)` a group, `?` after a letter or a
/// group makes it optional, and a closing `*` lets the last word go on
/// (`désinscri*`).
static PHRASES: LazyLock<(AhoCorasick, Vec<Phrase>)> = LazyLock::new(|| {
    let lists = [
        (Phrase::Stop, STOP),
        (Phrase::Later, LATER),
        (Phrase::No, NO),
        (Phrase::Yes, YES),
        (Phrase::StrongNo, STRONG_NO),
        (Phrase::NegatedNo, NEGATED_NO),
        (Phrase::Hedge, HEDGE),
    ];
    let mut needles = Vec::new();
    let mut kinds = Vec::new();
    for (kind, list) in lists {
        for phrase in expand(list) {
            let needle = match phrase.strip_suffix('*') {
                Some(prefix) => format!(" {prefix}"),
                None => format!(" {phrase} "),
            };
            needles.push(needle);
            kinds.push(kind);
        }
    }
    (AhoCorasick::new(needles).expect("static phrases"), kinds)
});

/// Which of the phrase lists a text has.
#[derive(Clone, Copy)]
enum Phrase {
    Stop,
    Later,
    No,
    Yes,
    StrongNo,
    NegatedNo,
    Hedge,
}

impl Phrase {
    /// How many lists there are (`Hedge` is the last).
    const COUNT: usize = Phrase::Hedge as usize + 1;
}

/// Every phrase a list stands for (see [`PHRASES`] for the syntax).
fn expand(list: &str) -> Vec<String> {
    fn alternatives(chars: &[char], at: &mut usize) -> Vec<String> {
        let mut all = Vec::new();
        let mut current = vec![String::new()];
        while let Some(&c) = chars.get(*at) {
            *at += 1;
            let piece = match c {
                '|' => {
                    all.append(&mut current);
                    current = vec![String::new()];
                    continue;
                }
                ')' => break,
                '(' => alternatives(chars, at),
                c => vec![c.to_string()],
            };
            let optional = chars.get(*at) == Some(&'?');
            if optional {
                *at += 1;
            }
            let mut next = Vec::new();
            for head in &current {
                if optional {
                    next.push(head.clone());
                }
                for tail in &piece {
                    next.push(format!("{head}{tail}"));
                }
            }
            current = next;
        }
        all.append(&mut current);
        all
    }
    let chars: Vec<char> = list.chars().collect();
    let mut phrases = alternatives(&chars, &mut 0);
    // "(ever )?" leaves a double space where it is left out.
    for p in &mut phrases {
        while p.contains("  ") {
            *p = p.replace("  ", " ");
        }
    }
    phrases
}

/// The text as lowercase tokens, each surrounded by single spaces: a word
/// is a run of letters, digits and apostrophes (curly ones folded); any
/// other visible character stands alone.
fn tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    let mut in_word = false;
    for c in text.chars() {
        let c = if matches!(c, '\u{2019}' | '\u{2018}') { '\'' } else { c };
        if c.is_alphanumeric() || c == '\'' {
            out.extend(c.to_lowercase());
            in_word = true;
            continue;
        }
        if in_word {
            out.push(' ');
            in_word = false;
        }
        if !c.is_whitespace() {
            out.push(c);
            out.push(' ');
        }
    }
    if in_word {
        out.push(' ');
    }
    out
}

const STOP: &str = r"unsubscribe|stop (emailing|e - mailing|writing|contacting|sending)|don't (ever )?(contact|email|e - mail|write to) me|do not (ever )?(contact|email|e - mail|write to) me|never (ask|contact|email|write)|remove me|take me off|no more (intro|introduction)s?|abmelden|désinscri*|darse de baja";

const LATER: &str = r"not (right )?now|not at the moment|not at this time|not this (week|month|quarter|year)|maybe later|later this year|ask (me )?again|try (me )?again|reach out again|circle back|next (week|month|quarter|year)|in a (few|couple of) (weeks|months)|after the holidays|nicht jetzt|nächste woche|pas maintenant|no ahora|não agora|non ora|niet nu|next week|(too|really|very|super) (busy|swamped)|swamped|not a good time|bad time|(in|until|after|before|by) (january|february|march|april|may|june|july|august|september|october|november|december)|später|plus tard|más tarde|mais tarde|più tardi|later|inte nu|ikke nu|ikke nå|nie teraz|не сейчас|senare|senere|później|позже|попозже|inte förrän|nästa (vecka|månad)|ikke denne måned|ikke før|næste (uge|måned)|neste (uke|måned)|nie w tym (tygodniu|miesiącu)|w przyszłym (tygodniu|miesiącu)|на следующей неделе|в следующем месяце";

const NO: &str = r"no|nope|nah|no thanks|no thank you|not interested|i'll pass|i will pass|pass|decline|i decline|i'd rather not|i would rather not|rather not|nein|nee|non|não|nao|no grazie|no gracias|non merci|nein danke|nee bedankt|no , thanks|nej|nei|nej tack|nie|nie , dziękuję|nie dziękuję|нет|нет , спасибо|нет спасибо";

const YES: &str = r"go for it|yes|yep|yeah|yup|sure|ok|okay|absolutely|definitely|of course|certainly|gladly|happy to|glad to|would love to|i'd love to|love to|sounds good|sounds great|please do|go ahead|i'm in|count me in|let's do it|ja|gerne|gern|klar|oui|avec plaisir|volontiers|sí|si|claro|con gusto|sim|com certeza|com prazer|certo|volentieri|ja graag|graag|prima|ja tack|gärna|självklart|visst|ja tak|ja takk|selvfølgelig|absolutt|chętnie|oczywiście|jasne|z przyjemnością|да|конечно|с удовольствием|давайте";

/// A refusal that outweighs any yes-word in it ("absolutely not").
const STRONG_NO: &str = r"(definitely|absolutely|certainly|of course) not|not for me|kein interesse|pas intéressée?|no me interesa|não tenho interesse|non mi interessa|geen interesse|nej tak|nej tack|nei takk|nie , dziękuję|nie dziękuję|нет , спасибо|нет спасибо|не интересно|nie jestem zainteresowan(y|a)|inte intresserad|ikke interesseret|ikke interessert";

/// A "no" that is itself negated ("I never say no to Carol").
const NEGATED_NO: &str = r"(never|n't|not|cannot) (say|said|saying) no";

/// Anything that makes an apparent yes less than plain.
const HEDGE: &str = r"not|n't|never|no|but|however|although|though|unless|if|only if|maybe|perhaps|possibly|might|not sure|unsure|depends|who|what|why|which|would have|would've|wish|can't|cannot|cant|won't|wont|don't|dont|didn't|aber|nicht|kein|mais|pas|pero|mas|ma|não|nao|non|niet|maar|vielleicht|peut - être|quizás|talvez|forse|misschien|inte|men|kanske|om|dock|ikke|måske|kanskje|hvis|nie|ale|może|jeśli|jeżeli|chyba|не|но|однако|может|если|нет|наверное|возможно|или";

/// Decides what a reply's visible text amounts to.
pub fn decide(text: &str) -> Decision {
    let text = text.trim();
    if text.is_empty() {
        return Decision::Unclear;
    }
    let (automaton, kinds) = &*PHRASES;
    let mut found = [false; Phrase::COUNT];
    for m in automaton.find_overlapping_iter(&tokens(text)) {
        found[kinds[m.pattern().as_usize()] as usize] = true;
    }
    let has = |p: Phrase| found[p as usize];
    if has(Phrase::Stop) {
        return Decision::Stop;
    }
    let yes = has(Phrase::Yes);
    let no = has(Phrase::No);
    let later = has(Phrase::Later);
    if has(Phrase::NegatedNo) {
        return Decision::Unclear;
    }
    if has(Phrase::StrongNo) {
        return Decision::No;
    }
    if later {
        // A yes with a time attached ("yes, but not until January") is a
        // not-now: asking again later is the connector's call.
        return Decision::Later;
    }
    if no && !yes {
        // "No problem, happy to" has a yes: stays unclear below.
        return Decision::No;
    }
    if yes && !no && !later && !has(Phrase::Hedge) && !text.contains('?') && is_short(text) {
        return Decision::Yes;
    }
    Decision::Unclear
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
    fn phrase_lists_expand_to_plain_phrases() {
        assert_eq!(
            expand("no more (intro|introduction)s?|ab"),
            ["no more intro", "no more intros", "no more introduction", "no more introductions", "ab"]
        );
        assert_eq!(expand("don't (ever )?email me"), ["don't email me", "don't ever email me"]);
        assert_eq!(expand("pas intéressée?|désinscri*"), ["pas intéressé", "pas intéressée", "désinscri*"]);
    }

    #[test]
    fn words_are_whole_lowercase_tokens() {
        assert_eq!(tokens("Yes,  I\u{2019}m IN!\nÉtienne"), " yes , i'm in ! étienne ");
        // Whole words only: "nobody" holds no "no".
        assert_eq!(decide("Nobody could say it better: yes."), Yes);
        // A phrase may be wrapped over two lines.
        assert_eq!(decide("Not\nnow, sorry"), Later);
        assert_eq!(decide("Please stop e-mailing me"), Stop);
    }
}
