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
//! their plain yes and no.

use std::sync::LazyLock;

use regex::Regex;

use crate::core::Decision;

fn words(pattern: &str) -> Regex {
    Regex::new(&format!(r"(?i)(^|[^\p{{L}}\p{{N}}'])({pattern})($|[^\p{{L}}\p{{N}}'])")).expect("static regex")
}

static STOP: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"unsubscribe|stop (emailing|e-mailing|writing|contacting|sending)|don't (ever )?(contact|email|e-mail|write to) me|do not (ever )?(contact|email|e-mail|write to) me|never (ask|contact|email|write)|remove me|take me off|no more (intro|introduction)s?|abmelden|désinscri\w*|darse de baja",
    )
});

static LATER: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"not (right )?now|not at the moment|not at this time|not this (week|month|quarter|year)|maybe later|later this year|ask (me )?again|try (me )?again|reach out again|circle back|next (week|month|quarter|year)|in a (few|couple of) (weeks|months)|after the holidays|(too|really|very|super) (busy|swamped)|swamped|not a good time|bad time|(in|until|after|before|by) (january|february|march|april|may|june|july|august|september|october|november|december)|später|plus tard|más tarde|mais tarde|più tardi|later",
    )
});

static NO: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"no|nope|nah|no thanks|no thank you|not interested|i'll pass|i will pass|pass|decline|i decline|i'd rather not|i would rather not|rather not|nein|nee|non|não|nao|no grazie|no gracias|non merci|nein danke|nee bedankt|no, thanks",
    )
});

static YES: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"yes|yep|yeah|yup|sure|ok|okay|absolutely|definitely|of course|certainly|gladly|happy to|glad to|would love to|i'd love to|love to|sounds good|sounds great|please do|go ahead|i'm in|count me in|let's do it|ja|gerne|gern|klar|oui|avec plaisir|volontiers|sí|si|claro|con gusto|sim|com certeza|com prazer|certo|volentieri|ja graag|graag|prima",
    )
});

/// Anything that makes an apparent yes less than plain.
static HEDGE: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"not|n't|never|no|but|however|although|though|unless|if|only if|maybe|perhaps|possibly|might|not sure|unsure|depends|who|what|why|which|would have|would've|wish|can't|cannot|cant|won't|wont|don't|dont|didn't|aber|nicht|kein|mais|pas|pero|mas|ma|não|nao|non|niet|maar|vielleicht|peut-être|quizás|talvez|forse|misschien",
    )
});

/// Decides what a reply's visible text amounts to.
pub fn decide(text: &str) -> Decision {
    let text = text.replace(['\u{2019}', '\u{2018}'], "'");
    let text = text.trim();
    if text.is_empty() {
        return Decision::Unclear;
    }
    if STOP.is_match(text) {
        return Decision::Stop;
    }
    let yes = YES.is_match(text);
    let no = NO.is_match(text);
    let later = LATER.is_match(text);
    if later {
        // A yes with a time attached ("yes, but not until January") is a
        // not-now: asking again later is the connector's call.
        return Decision::Later;
    }
    if no && !yes {
        // "No problem, happy to" has a yes: stays unclear below.
        return Decision::No;
    }
    if yes && !no && !later && !HEDGE.is_match(text) && !text.contains('?') && is_short(text) {
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

    #[test]
    fn table() {
        let cases: &[(&str, Decision)] = &[
            ("Yes", Yes),
            ("yes!", Yes),
            ("Sure, happy to.", Yes),
            ("Sounds good — go ahead.", Yes),
            ("Absolutely, I'd love to meet Alice.", Yes),
            ("Ja, gerne.", Yes),
            ("Oui, avec plaisir", Yes),
            ("Sí, claro", Yes),
            ("Sim, com prazer", Yes),
            ("Certo, volentieri", Yes),
            ("Ja graag", Yes),
            ("No", No),
            ("No thanks.", No),
            ("Not interested, thanks", No),
            ("I'll pass.", No),
            ("Nein danke", No),
            ("Non merci", No),
            ("Not now, maybe in March", Later),
            ("I'm swamped right now, ask me again next month", Later),
            ("Yes, but not until January", Later),
            ("Please unsubscribe me", Stop),
            ("Never ask me again.", Stop),
            ("Don't contact me again", Stop),
            ("I'd love to but I can't", Unclear),
            ("maybe", Unclear),
            ("Who is this?", Unclear),
            ("yes if she can do Tuesdays", Unclear),
            ("Sure? What is this about?", Unclear),
            ("", Unclear),
            ("Thanks for thinking of me.", Unclear),
        ];
        for (text, want) in cases {
            assert_eq!(decide(text), *want, "{text:?}");
        }
    }
}
