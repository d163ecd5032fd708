//! The requester's blurb: what they wrote for the target, out of the mail
//! they sent the connector.
//!
//! Removed, in this order: quoted history, `-- ` signatures and mobile
//! footers (as in replies); a greeting to the connector at the top ("Hi
//! Carol,"; a greeting to the target stays); the sign-off and everything
//! under it when that is short ("Thanks,\nPriya\n\nPriya Shah | CEO | +1
//! …"), or a closing block that starts with the requester's name; then
//! chatter about the forwarding at either end, sentence by sentence
//! ("Thanks so much for offering!", "Here's a short blurb you can
//! forward:", "Let me know if you need anything else."). What is under the
//! sign-off is kept apart: a connector may have written there.
//!
//! Chatter is recognised in English only; elsewhere a blurb keeps it, and
//! the connector sees the blurb before anyone else does when it was cut.

use std::sync::LazyLock;

use regex::Regex;

use super::names::{first_token, fold, tokens};

/// A blurb cut out of a forwarded body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Blurb {
    /// What the target may read.
    pub(crate) text: String,
    /// What was under the sign-off (the requester's signature, and
    /// perhaps the connector's words).
    pub(crate) tail: String,
    /// Whether sentences of chatter were removed: more than a greeting and
    /// a signature, so the cut is a guess the connector should see.
    pub(crate) chatter: bool,
}

static GREETING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:hi|hey|hello|hiya|heya|dear|greetings|good\s+(?:morning|afternoon|evening)|hallo|liebe[rs]?|bonjour|salut|hola|querid[oa]|ciao|car[oa]|hej|hoi|olá|oi)\b(?P<who>[^,!:.;\n—–]{0,40}?)\s*(?:[,!:.;—–]+|\s-\s|$)\s*",
    )
    .expect("static regex")
});

/// A name opening the text and set off like a greeting: "Carol -", "Carol,".
static VOCATIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<who>\p{L}+)\s*(?:[,!:—–]+|\s-\s)\s*").expect("static regex"));

/// A line that closes a letter: "Thanks,", "Best regards, Priya", "Cheers!".
static SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:-+\s*)?(?:thanks|thank\s+you|many\s+thanks|thanks\s+(?:so\s+much|again|a\s+lot|in\s+advance)|thx|best|all\s+the\s+best|best\s+wishes|(?:best|kind|warm|warmest|many)\s+regards|regards|warmly|cheers|sincerely|yours(?:\s+truly|\s+sincerely)?|talk\s+soon|speak\s+soon|with\s+thanks|take\s+care|love|xo|xoxo|gracias|muchas\s+gracias|saludos(?:\s+cordiales)?|un\s+saludo|un\s+abrazo|abrazos|un\s+beso|besos|atentamente|cumprimentos|abraços?|um\s+abraço|atenciosamente|obrigad[oa]|danke(?:\s+schön)?|vielen\s+dank|(?:viele|liebe|beste|herzliche|freundliche)\s+grüße|grüße|gruß|lg|vg|mfg|merci(?:\s+beaucoup)?|cordialement|bien\s+cordialement|bien\s+à\s+vous|amitiés|bisous|à\s+bientôt|grazie(?:\s+mille)?|un\s+saluto|saluti|cordiali\s+saluti|a\s+presto|groeten|groetjes|(?:met\s+)?vriendelijke\s+groet(?:en)?|hartelijke\s+groet(?:en)?|(?:med\s+)?vänlig(?:a)?\s+hälsning(?:ar)?|hälsningar|(?:med\s+)?venlig\s+hilsen|hilsen|mvh|pozdrawiam|pozdrowienia|z\s+poważaniem|с\s+уважением|спасибо|всего\s+доброго)\b(?:\s*[,.!]+\s*(?:[\p{L}.\-']+(?:\s+[\p{L}.\-']+){0,2})?)?\s*$",
    )
    .expect("static regex")
});

/// Sentences about the forwarding, not about the requester.
static CHATTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:
            (?:thanks|thank\s+you|many\s+thanks|thx)\b.*\b(?:offer|intro|introduc|connect|help|doing\s+this|forward|agree|willing|reaching|setting|making|putting|pass|kind)
          | (?:thanks|thank\s+you)(?:\s+(?:so|very)\s+much|\s+a\s+lot|\s+again)?\s*[!.]*\s*$
          | .*\b(?:blurb|forwardable|forward-able|forwardable)\b
          | (?:here'?s|here\s+is|below\s+is|below\s+you'?ll\s+find|please\s+(?:find|see)\s+(?:below|attached)|i'?ve\s+(?:written|put\s+together|drafted|included|pasted|added)|as\s+(?:requested|promised|discussed|mentioned))\b
          | .*\b(?:you\s+can|feel\s+free\s+to|happy\s+for\s+you\s+to|ok\s+to|okay\s+to|free\s+to)\s+(?:forward|pass|share|send|use|edit|tweak)
          | (?:i\s+)?hope\s+(?:you|you'?re|this|all|things|your)\b.*\b(?:well|good|great|fine)\b
          | (?:it\s+was\s+)?(?:great|good|nice|lovely|so\s+good)\s+(?:to\s+(?:see|catch\s+up|chat|talk|speak)|catching\s+up|seeing\s+you|chatting|talking|speaking)
          | (?:really\s+|much\s+|truly\s+|i\s+(?:really\s+|so\s+)?|i'?m\s+(?:really\s+|so\s+)?)?(?:appreciate|grateful)\s+(?:it|this|you|your|the\s+help|the\s+intro|for\s+(?:this|the\s+intro|your))
          | (?:just\s+)?(?:let\s+me\s+know|happy\s+to|glad\s+to)\b.*\b(?:edit|change|tweak|adjust|anything|more|help|question|else|shorten|info|detail)
          | .*\b(?:would|could|can)\s+you\s+(?:please\s+)?(?:be\s+(?:willing|able)\s+to\s+)?(?:intro|introduce|connect|put\s+me\s+in\s+touch|pass\s+this)
          | .*\bintro(?:duce|duction)?\s+(?:me|us)\s+to\b
          | (?:(?:sure|of\s+course|absolutely|certainly|ok|okay|no\s+problem|yes)[,!.]*\s+)?here\s+(?:you\s+(?:go|are)|it\s+is|goes)\b
          | (?:sure|of\s+course|absolutely|certainly|no\s+problem|with\s+pleasure)\s*[!.]*\s*$
        )",
    )
    .expect("static regex")
});

/// Lines below a sign-off that still make a signature.
const SIGNATURE_LINES: usize = 8;
/// The length of a signature line, at most.
const SIGNATURE_WIDTH: usize = 90;
/// The words of a line in a signature block without a sign-off, at most
/// (prose wrapped at 72 columns has a dozen).
const SIGNATURE_WORDS: usize = 8;

/// Cuts the blurb out of `body`, written by `requester` to the connector
/// called `connector_first`.
pub(crate) fn cut(body: &str, connector_name: &str, requester_name: &str, target_name: &str) -> Blurb {
    let text = crate::mail::reply::strip_quotes(body);
    let lines: Vec<&str> = text.lines().collect();
    // A rule ("---", "___") under the text: what is below is someone's
    // addition (often the connector's, written under the forward), never
    // the blurb. Cutting there is a guess the connector sees first.
    let (lines, below_rule) = split_at_rule(&lines);
    let mut chatter = below_rule.iter().any(|l| !l.trim().is_empty());
    let (kept, tail) = split_sign_off(&lines, requester_name);
    let tail: Vec<&str> = tail.into_iter().chain(below_rule).collect();
    let mut text = kept.join("\n");
    text = without_greeting(&text, connector_name, target_name);
    loop {
        let t = text.trim_start();
        let end = first_sentence_end(t);
        if end == 0 || !is_chatter(&t[..end]) {
            break;
        }
        text = t[end..].to_owned();
        chatter = true;
    }
    loop {
        let t = text.trim_end();
        let start = last_sentence_start(t);
        if start >= t.len() || !is_chatter(&t[start..]) {
            break;
        }
        text = t[..start].to_owned();
        chatter = true;
    }
    let (kept, more_tail) = split_sign_off(&text.lines().collect::<Vec<_>>(), requester_name);
    let tail = [more_tail.join("\n"), tail.join("\n")].join("\n").trim().to_owned();
    Blurb { text: tidy(&kept.join("\n")), tail, chatter }
}

/// A line that is only a rule: `---`, `___`, `***`, `===`, `~~~`.
static RULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:-{3,}|_{3,}|\*{3,}|={3,}|~{3,}|—{2,})\s*$").expect("static regex"));

/// The lines above the first rule with text above it, and the lines below.
fn split_at_rule<'a>(lines: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut seen_text = false;
    for (i, line) in lines.iter().enumerate() {
        if seen_text && RULE.is_match(line) {
            return (lines[..i].to_vec(), lines[i + 1..].to_vec());
        }
        seen_text |= !line.trim().is_empty();
    }
    (lines.to_vec(), Vec::new())
}

/// Whether `line` is only a sign-off name: the requester's name or its
/// initial, perhaps with kisses ("Priya", "-Priya Shah", "P.", "xx P").
fn is_name_line(line: &str, own: &[String]) -> bool {
    let bare = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).is_empty();
    // Most lines are prose: count the words before folding any.
    if !(1..=4).contains(&line.split_whitespace().filter(|w| !bare(w)).count()) {
        return false;
    }
    let words: Vec<String> = line
        .split_whitespace()
        .map(|w| fold(w.trim_matches(|c: char| !c.is_alphanumeric())))
        .filter(|w| !w.is_empty())
        .collect();
    let initial = |w: &str| w.chars().count() == 1 && own.iter().any(|t| t.starts_with(w));
    let kisses = |w: &str| !w.is_empty() && w.chars().all(|c| c == 'x' || c == 'o') && w.starts_with('x');
    (1..=4).contains(&words.len())
        && words.iter().any(|w| own.contains(w) || initial(w))
        && words.iter().all(|w| own.contains(w) || initial(w) || kisses(w))
}

/// Whether `line`, the last of a blurb, is a name to sign with that is not
/// the subject's ("Sasha" for Alexander): one capitalised word alone.
fn is_nickname_line(line: &str) -> bool {
    let w = line.trim().trim_start_matches('-').trim_end_matches(['.', '!']);
    (2..=15).contains(&w.chars().count())
        && w.chars().all(char::is_alphabetic)
        && w.chars().next().is_some_and(char::is_uppercase)
        && w.chars().skip(1).all(char::is_lowercase)
}

/// `text` (a short letter, such as a party's yes) without its sign-off,
/// its signer's name and the signature under them: "Yes, with
/// pleasure.\n\nBest,\nJosé" is "Yes, with pleasure.".
pub(crate) fn without_sign_off(text: &str, signer: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let (kept, _) = split_sign_off(&lines, signer);
    tidy(&kept.join("\n"))
}

/// The body above its sign-off and signature, and what was under it.
fn split_sign_off<'a>(lines: &[&'a str], requester: &str) -> (Vec<&'a str>, Vec<&'a str>) {
    let own = tokens(requester);
    let is_name_line = |l: &str| is_name_line(l, &own);
    // "Priya Shah | CEO, Startup": their name first, a few words.
    let starts_with_name =
        |l: &str| l.split_whitespace().count() <= SIGNATURE_WORDS && first_token(l).is_some_and(|w| own.contains(&w));
    let has_text_above = |i: usize| lines[..i].iter().any(|l| !l.trim().is_empty());
    let short_below = |i: usize| {
        let mut below = lines[i + 1..].iter().filter(|l| !l.trim().is_empty());
        below.by_ref().take(SIGNATURE_LINES).all(|l| l.chars().count() <= SIGNATURE_WIDTH) && below.next().is_none()
    };
    // The last sign-off with only a signature under it.
    for i in (0..lines.len()).rev() {
        if SIGN_OFF.is_match(lines[i]) && has_text_above(i) && short_below(i) {
            return (lines[..i].to_vec(), lines[i + 1..].to_vec());
        }
        // A "Thanks, Priya" glued under the text's last sentence counts
        // too, but a long line is text, never a sign-off.
        if lines[i].chars().count() > SIGNATURE_WIDTH {
            break;
        }
    }
    // No sign-off: a closing block that starts with their name.
    let mut end = lines.len();
    while end > 0 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let block_start = lines[..end].iter().rposition(|l| l.trim().is_empty()).map_or(0, |b| b + 1);
    if block_start > 0
        && has_text_above(block_start)
        && starts_with_name(lines[block_start])
        && short_below(block_start)
        && lines[block_start..end].iter().all(|l| l.split_whitespace().count() <= SIGNATURE_WORDS)
    {
        return (lines[..block_start].to_vec(), lines[block_start..].to_vec());
    }
    // A bare name (or "-Priya", "P."), with at most a short signature (or
    // someone's addition) under it.
    for i in (1..end).rev() {
        if is_name_line(lines[i]) && has_text_above(i) && short_below(i) {
            return (lines[..i].to_vec(), lines[i..].to_vec());
        }
    }
    // A one-word name of their own after a blank line, last.
    if end > 2 && lines[end - 2].trim().is_empty() && is_nickname_line(lines[end - 1]) {
        return (lines[..end - 1].to_vec(), lines[end - 1..].to_vec());
    }
    (lines.to_vec(), Vec::new())
}

/// `text` without a greeting to the connector on its first line. A
/// greeting to someone else (the target, whom a blurb may address) stays.
fn without_greeting(text: &str, connector: &str, target: &str) -> String {
    let t = text.trim_start();
    // "Carol - thank you!", "Carol, here it is": the connector's name alone,
    // as a greeting.
    if let Some(caps) = VOCATIVE.captures(t)
        && tokens(connector).contains(&fold(&caps["who"]))
    {
        return upper_first(t[caps.get(0).map_or(0, |m| m.end())..].trim_start());
    }
    let Some(caps) = GREETING.captures(t) else { return t.to_owned() };
    let who = fold(caps.name("who").map_or("", |m| m.as_str()).trim());
    let connector = tokens(connector);
    let target = tokens(target);
    let who_words: Vec<String> = tokens(&who);
    let to_connector = who.is_empty()
        || matches!(who.as_str(), "there" | "all" | "everyone" | "team" | "folks" | "friend" | "again" | "you")
        || who_words.iter().any(|w| connector.contains(w))
        // A single name that isn't the target's: the connector's nickname.
        || (who_words.len() == 1 && !target.contains(&who_words[0]));
    if !to_connector {
        return t.to_owned();
    }
    let rest = &t[caps.get(0).map_or(0, |m| m.end())..];
    upper_first(rest.trim_start())
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => {
            // The rest is copied whole, not char by char.
            let mut out = String::with_capacity(s.len() + 4);
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
            out
        }
        None => String::new(),
    }
}

fn is_chatter(sentence: &str) -> bool {
    let s = sentence.trim();
    // More than 30 words is never chatter: stop counting at the 31st.
    if s.split_whitespace().nth(30).is_some() {
        return false;
    }
    if s.contains(['’', '‘']) { CHATTER.is_match(&s.replace(['’', '‘'], "'")) } else { CHATTER.is_match(s) }
}

/// The byte offset just past the first sentence of `text` (a `.`, `!`,
/// `?` or `:` before a space, or a paragraph break).
fn first_sentence_end(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let at_break = |j: usize| j >= bytes.len() || bytes[j].is_ascii_whitespace();
        if matches!(c, b'.' | b'!' | b'?' | b':') && at_break(i + 1) {
            let mut end = i + 1;
            while end < bytes.len() && matches!(bytes[end], b'.' | b'!' | b'?') {
                end += 1;
            }
            return end;
        }
        if c == b'\n' && bytes.get(i + 1) == Some(&b'\n') {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// The byte offset where the last sentence of `text` starts.
fn last_sentence_start(text: &str) -> usize {
    let mut start = 0;
    loop {
        let rest = &text[start..];
        let end = first_sentence_end(rest);
        if end == 0 || start + end >= text.len() {
            return start;
        }
        let next = start + end;
        let skipped = text[next..].len() - text[next..].trim_start().len();
        if next + skipped >= text.len() {
            return start;
        }
        start = next + skipped;
    }
}

/// Trims lines and collapses runs of blank lines.
fn tidy(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in text.trim().lines().map(str::trim_end) {
        if line.trim().is_empty() && out.last().is_some_and(|l| l.trim().is_empty()) {
            continue;
        }
        out.push(line);
    }
    out.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blurb(body: &str) -> Blurb {
        cut(body, "Carol Connor", "Priya Shah", "Bob Martin")
    }

    #[test]
    fn greeting_chatter_sign_off_and_signature_go() {
        let b = blurb(
            "Hi Carol,\n\nThanks so much for offering! Here's a short blurb you can forward:\n\nI'm the founder of Startup, a payments API for small banks. I'd love 20 minutes of Bob's time on how banks pick partners.\n\nThanks,\nPriya\n\nPriya Shah\nCEO, Startup\n+1 415 555 0199 | priya@startup.io",
        );
        assert_eq!(
            b.text,
            "I'm the founder of Startup, a payments API for small banks. I'd love 20 minutes of Bob's time on how banks pick partners."
        );
        assert!(b.chatter);
        assert!(b.tail.contains("+1 415 555 0199"), "{}", b.tail);
    }

    #[test]
    fn a_plain_blurb_is_kept_whole() {
        let text =
            "Priya Shah runs Startup, a payments API for small banks.\n\nShe'd like Bob's view on bank partnerships.";
        let b = blurb(text);
        assert_eq!(b.text, text);
        assert!(!b.chatter && b.tail.is_empty());
    }

    #[test]
    fn a_greeting_to_the_target_stays_and_one_to_the_connector_goes() {
        assert_eq!(blurb("Hi Bob, I run Startup.").text, "Hi Bob, I run Startup.");
        assert_eq!(blurb("Hey Caz! I run Startup.").text, "I run Startup.");
        assert_eq!(blurb("Hi Carol, i run Startup.").text, "I run Startup.");
        assert_eq!(blurb("Hello world-class engineers").text, "Hello world-class engineers");
    }

    #[test]
    fn chatter_at_the_end_and_a_bare_name() {
        let b = blurb(
            "I run Startup, a payments API.\nWe'd love Bob's advice on partnerships. Let me know if you need anything else!\n\n-Priya",
        );
        assert_eq!(b.text, "I run Startup, a payments API.\nWe'd love Bob's advice on partnerships.");
        assert!(b.chatter);
        assert_eq!(blurb("I run Startup.\n\nPriya Shah\nCEO\nstartup.io").text, "I run Startup.");
    }

    /// Regression: what the connector wrote under the forward, after the
    /// requester's bare name and a rule, went to the target as the blurb.
    #[test]
    fn a_rule_or_a_bare_name_ends_the_blurb() {
        let b = blurb(
            "I run Ledgerly.\n\nPriya\n\n---\n\nBob's email is bob@x.com - tell him I said hi. Also he still owes me\nlunch, ha.",
        );
        assert_eq!(b.text, "I run Ledgerly.");
        assert!(b.tail.contains("owes me") && b.tail.contains("bob@x.com"), "{}", b.tail);
        assert!(b.chatter, "a cut at a rule is shown to the connector first");
        let b = blurb("I run Ledgerly.\n\nPriya\n\nBob's email is bob@x.com, tell him hi");
        assert_eq!(b.text, "I run Ledgerly.");
        assert!(b.tail.contains("bob@x.com"));
    }

    #[test]
    fn initials_kisses_and_nicknames_sign_off_too() {
        assert_eq!(blurb("I run Ledgerly.\n\nxx P").text, "I run Ledgerly.");
        assert_eq!(blurb("I run Ledgerly.\n\nP.").text, "I run Ledgerly.");
        assert_eq!(blurb("I run Ledgerly.\n\nCheers,\nSasha").text, "I run Ledgerly.");
        assert_eq!(blurb("I run Ledgerly.\n\nSasha").text, "I run Ledgerly.");
        // A last line of prose is no name.
        assert_eq!(blurb("I run Ledgerly.\n\nThank you").text, "I run Ledgerly.");
        assert_eq!(blurb("I run Ledgerly.\n\nSee ledgerly.example").text, "I run Ledgerly.\n\nSee ledgerly.example");
    }

    #[test]
    fn a_yes_loses_its_sign_off() {
        assert_eq!(without_sign_off("Yes, with pleasure.\n\nBest,\nJosé", "Prof. José Núñez"), "Yes, with pleasure.");
        assert_eq!(
            without_sign_off(
                "Yes. Tuesdays are easiest.\n\nBob Martin\nAdvisor | Northbank\n+44 7700 900123",
                "Bob Martin"
            ),
            "Yes. Tuesdays are easiest."
        );
        assert_eq!(without_sign_off("Yes - mornings work best.", "Bob Martin"), "Yes - mornings work best.");
    }

    #[test]
    fn sign_offs_in_other_languages() {
        let b = cut(
            "Hola María,\n\nSoy cofundadora de Cuadra.\n\nUn abrazo,\nLucía",
            "María Gómez",
            "Lucía Fernández",
            "Javier Ruiz",
        );
        assert_eq!(b.text, "Soy cofundadora de Cuadra.");
        assert_eq!(blurb("Ich baue Ledgerly.\n\nViele Grüße\nPriya").text, "Ich baue Ledgerly.");
        assert_eq!(blurb("Je construis Ledgerly.\n\nBien cordialement,\nPriya").text, "Je construis Ledgerly.");
    }

    #[test]
    fn chatter_about_the_forward_in_its_many_forms() {
        let b = blurb("Sure, here you go:\n\nLedgerly builds reconciliation software.\n\nP.");
        assert_eq!(b.text, "Ledgerly builds reconciliation software.");
        assert!(b.chatter);
        let b = blurb("Carol - thank you! Blurb below.\n\nI'm an engineer at a payments startup.\n\nCheers,\nSasha");
        assert_eq!(b.text, "I'm an engineer at a payments startup.");
        // The target's name opening the blurb is no greeting to the connector.
        assert_eq!(blurb("Bob, I run Ledgerly.").text, "Bob, I run Ledgerly.");
    }

    #[test]
    fn a_quoted_thread_below_is_history() {
        let b =
            blurb("I run Startup.\n\nOn Mon, 23 Nov 2026, Carol Connor <carol@example.com> wrote:\n> Send me a blurb!");
        assert_eq!(b.text, "I run Startup.");
    }
}
