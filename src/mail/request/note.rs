//! The connector's note: whose each address is, and the lines marked for a
//! party.
//!
//! Addresses. Words next to an address are never taken as a name ("Bob's
//! email is bob@x.com" names nobody "Bob's email is"); they only say whose
//! address it is. In order: the one party whose name is in the local part
//! (`bob.martin@`), else the party named nearest to it on its line (before
//! it counts more than after: "Priya (priya@…) wants to meet Bob"), else the
//! party named at the end of the line above ("Bob:" / "bob@x.com").
//!
//! Marked lines. The note is private: it is for the bot and, quoted back,
//! for the connector. Only a line starting with `For <name>:` (a party's
//! first or full name, or `both`) or `Why:` (for the target: why them) is
//! ever shown, and only to the party it names; the markers are read in the
//! languages the bot reads replies in too (`Für Jürgen:`, `Para Javier:`,
//! `Pourquoi :`). A marked line runs on over a line a client hard-wrapped
//! (a long line that stops mid-sentence), or, when nothing follows the
//! colon, over the paragraph below it; a line that ends its sentence ends
//! the marked text, so an aside on the next line stays private.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::names::Parties;
use crate::core::{Address, Role};

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}").expect("static regex")
});

static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\p{L}\p{N}]+").expect("static regex"));

/// An address found in prose, and whose it is by the words around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    /// The address.
    pub(crate) email: Address,
    /// The party it belongs to, when the text says.
    pub(crate) owner: Option<Role>,
}

/// Every address in `text` (first occurrence of each), with its owner.
pub(crate) fn addresses(text: &str, parties: &Parties) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    for m in ADDRESS.find_iter(text) {
        let written = m.as_str().trim_start_matches(['\'', '.']).trim_end_matches(['.', '\'']);
        let Ok(email) = Address::parse(written) else { continue };
        if out.iter().any(|f| f.email.same_mailbox(&email)) {
            continue;
        }
        let owner = parties.in_local_part(email.local_part()).or_else(|| owner_by_context(text, m.range(), parties));
        out.push(Found { email, owner });
    }
    out
}

/// The party named nearest to the address at `at`, on its line or at the
/// end of the line above.
fn owner_by_context(text: &str, at: Range<usize>, parties: &Parties) -> Option<Role> {
    let line_start = text[..at.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at.end..].find('\n').map_or(text.len(), |i| at.end + i);
    // Distance in bytes; a name after the address counts a little less.
    let mut best: Option<(usize, Vec<Role>)> = None;
    for w in WORD.find_iter(&text[line_start..line_end]) {
        let (start, end) = (line_start + w.start(), line_start + w.end());
        if start >= at.start && end <= at.end {
            continue;
        }
        let roles = parties.named_by(w.as_str());
        if roles.is_empty() {
            continue;
        }
        let distance = if end <= at.start { at.start - end } else { start.saturating_sub(at.end) + 8 };
        if best.as_ref().is_none_or(|(d, _)| distance < *d) {
            best = Some((distance, roles));
        }
    }
    if best.is_none() && line_start > 0 {
        // "Bob Martin:" or "Bob's address" on the line above.
        let above = text[..line_start - 1].lines().next_back().unwrap_or_default();
        if let Some(w) = WORD.find_iter(above).filter(|w| !parties.named_by(w.as_str()).is_empty()).last() {
            best = Some((0, parties.named_by(w.as_str())));
        }
    }
    match best {
        Some((_, roles)) if roles.len() == 1 => roles.first().copied(),
        _ => None,
    }
}

/// What the connector marked for each party.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Marked {
    /// Lines for the requester.
    pub(crate) for_requester: String,
    /// Lines for the target.
    pub(crate) for_target: String,
}

impl Marked {
    fn push(&mut self, role: Role, text: &str) {
        let to = match role {
            Role::Requester => &mut self.for_requester,
            Role::Target => &mut self.for_target,
        };
        if !to.is_empty() {
            to.push('\n');
        }
        to.push_str(text.trim());
    }

    /// Adds what `other` marked.
    pub(crate) fn extend(&mut self, other: Marked) {
        for (role, text) in [(Role::Requester, other.for_requester), (Role::Target, other.for_target)] {
            if !text.is_empty() {
                self.push(role, &text);
            }
        }
    }
}

/// `For Bob: …`, `For both: …`, `Why: …` at the start of a line (after a
/// list bullet or quote marker), in English, German, French, Spanish,
/// Portuguese, Italian, Dutch, Swedish, Danish, Norwegian, Polish and
/// Russian. Only a party's name (or "both") after the word for "for" makes
/// a marker, so "Para que sepas:" or "For context:" stays private prose.
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^[\s>*•\-]*(?:(?:for|für|fuer|pour|para|per|voor|för|dla|для)\s+(?P<name>[^:：\n]{1,40}?)|(?P<why>(?:why|warum|wieso|pourquoi|por\s+qu[ée]|porqu[ée]|perch[ée]|waarom|varför|hvorfor|dlaczego|почему)(?:\s+[\p{L}]+)?))\s*[:：]\s*(?P<text>.*)$",
    )
    .expect("static regex")
});

/// Whether a line ends its sentence (or a list item that ends with one).
fn ends_sentence(line: &str) -> bool {
    let l = line.trim_end().trim_end_matches(['"', '\'', '”', '’', ')', '»']);
    l.ends_with(['.', '!', '?', '…', '。', '！', '？'])
}

/// A line at least this long that is followed by more text was wrapped by
/// the mail client: the text runs on.
const WRAPPED: usize = 60;

/// The lines of `note` marked for a party.
pub(crate) fn marked(note: &str, parties: &Parties) -> Marked {
    let lines: Vec<&str> = note.lines().collect();
    let mut out = Marked::default();
    let mut i = 0;
    while i < lines.len() {
        let Some(caps) = MARKER.captures(lines[i]) else {
            i += 1;
            continue;
        };
        let roles: Vec<Role> = match (caps.name("name"), caps.name("why")) {
            (Some(name), _) => for_whom(name.as_str(), parties),
            (None, Some(_)) => vec![Role::Target],
            (None, None) => Vec::new(),
        };
        let first = caps.name("text").map_or("", |m| m.as_str()).trim();
        let mut text = vec![first];
        let mut j = i + 1;
        // Nothing after the colon: the paragraph below is the text.
        let paragraph = first.is_empty();
        // A wrapped line stops mid-sentence; one that ends its sentence ends
        // the marked text (the next line may be an aside: never shown).
        let runs_on = |prev: &str, next: &str| {
            !next.trim().is_empty()
                && !MARKER.is_match(next)
                && (paragraph || (prev.chars().count() >= WRAPPED && !ends_sentence(prev)))
        };
        while j < lines.len() && runs_on(lines[j - 1], lines[j]) {
            text.push(lines[j].trim());
            j += 1;
        }
        let text = text.iter().filter(|l| !l.is_empty()).copied().collect::<Vec<_>>().join("\n");
        if !text.is_empty() {
            for role in roles {
                out.push(role, &text);
            }
        }
        i = j;
    }
    out
}

/// Whom a `For …:` marker names: a party, or both.
fn for_whom(name: &str, parties: &Parties) -> Vec<Role> {
    let folded = super::names::fold(name.trim());
    if matches!(
        folded.as_str(),
        "both"
            | "both of them"
            | "them both"
            | "the two of them"
            | "each"
            | "everyone"
            | "beide"
            | "euch beide"
            | "tous les deux"
            | "les deux"
            | "los dos"
            | "ambos"
            | "ambas"
            | "os dois"
            | "entrambi"
            | "tutti e due"
            | "allebei"
            | "båda"
            | "bada"
            | "begge"
            | "obu"
            | "oboje"
            | "обоих"
            | "обоим"
    ) {
        return Role::BOTH.to_vec();
    }
    let words: Vec<&str> = folded.split_whitespace().collect();
    // A name is a few words, every one of them the party's ("For Bob",
    // "For Bob Martin"); "For context" or "for what it's worth" is prose.
    if words.is_empty() || words.len() > 3 {
        return Vec::new();
    }
    let mut roles: Option<Vec<Role>> = None;
    for w in words {
        let named = parties.named_by(w);
        roles = Some(match roles {
            None => named,
            Some(prev) => prev.into_iter().filter(|r| named.contains(r)).collect(),
        });
    }
    let roles = roles.unwrap_or_default();
    if roles.len() == 1 { roles } else { Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parties() -> Parties {
        Parties::new("Priya Shah", "Bob Martin")
    }

    fn owners(text: &str) -> Vec<(String, Option<Role>)> {
        addresses(text, &parties()).into_iter().map(|f| (f.email.as_str().to_owned(), f.owner)).collect()
    }

    #[test]
    fn words_around_an_address_say_whose_it_is() {
        let t = Some(Role::Target);
        let r = Some(Role::Requester);
        assert_eq!(owners("Bob's email is bob@x.com - he ran partnerships at a bank"), [("bob@x.com".into(), t)]);
        assert_eq!(owners("You can reach Bob at b.m@bank.example."), [("b.m@bank.example".into(), t)]);
        assert_eq!(owners("Please introduce Priya to Bob: bm1@bank.example"), [("bm1@bank.example".into(), t)]);
        assert_eq!(
            owners("Priya (ps1987@startup.io) would love to meet Bob, jb@bank.example"),
            [("ps1987@startup.io".into(), r), ("jb@bank.example".into(), t)]
        );
        assert_eq!(owners("Bob Martin:\njb@bank.example"), [("jb@bank.example".into(), t)]);
        assert_eq!(owners("jb@bank.example"), [("jb@bank.example".into(), None)]);
        // The local part wins over the words around it.
        assert_eq!(owners("Priya says: bmartin@bank.example"), [("bmartin@bank.example".into(), t)]);
    }

    #[test]
    fn marked_lines_reach_only_the_party_they_name() {
        let note = "Hey, Bob's email is bob@x.com.\nHe owes me a favour.\n\nFor Bob: Priya is the sharpest founder I've met this year.\nWhy: you built the partner programme she's trying to crack.\nFor Priya: Bob is slow to reply, be patient.\nFor context: the bank says no to most.";
        let m = marked(note, &parties());
        assert_eq!(
            m.for_target,
            "Priya is the sharpest founder I've met this year.\nyou built the partner programme she's trying to crack."
        );
        assert_eq!(m.for_requester, "Bob is slow to reply, be patient.");
    }

    /// Regression: a marked line long enough to look wrapped ran on over the
    /// aside below it, and "Between us, …" went to Bob.
    #[test]
    fn a_marked_sentence_ends_at_its_full_stop() {
        let note = "Bob: bob@x.com\nFor Bob: you built the partner programme she's trying to crack.\nBetween us, she can be a bit pushy - keep it short if you can.";
        let m = marked(note, &parties());
        assert_eq!(m.for_target, "you built the partner programme she's trying to crack.");
        assert!(m.for_requester.is_empty());
    }

    #[test]
    fn markers_in_other_languages() {
        let de = Parties::new("Priya Shah", "Jürgen Groß");
        let m = marked(
            "Jürgens Adresse ist j@firma.de.\nFür Jürgen: du kennst den Bankenmarkt wie kein anderer.\nUnter uns: er antwortet spät.\nFür beide: ihr werdet euch verstehen.",
            &de,
        );
        assert_eq!(m.for_target, "du kennst den Bankenmarkt wie kein anderer.\nihr werdet euch verstehen.");
        assert_eq!(m.for_requester, "ihr werdet euch verstehen.");
        let es = Parties::new("Lucía Fernández", "Javier Ruiz");
        let m = marked(
            "Para Javier: tú montaste las alianzas en BBVA.\nPara que sepas: es muy lista.\nPor qué: nadie sabe más.",
            &es,
        );
        assert_eq!(m.for_target, "tú montaste las alianzas en BBVA.\nnadie sabe más.");
        let fr = Parties::new("Amélie Roux", "Marc Petit");
        assert_eq!(marked("Pour Amélie : Marc répond lentement.", &fr).for_requester, "Marc répond lentement.");
    }

    #[test]
    fn a_marker_runs_on_over_a_wrapped_line_or_its_paragraph() {
        let note = "For Bob Martin: Priya is the sharpest founder I have met this year, and\nher bank pilot is real.\nBob's address is bob@x.com\n\nFor both:\nYou two should talk.\n\nPrivate stuff.";
        let m = marked(note, &parties());
        assert_eq!(
            m.for_target,
            "Priya is the sharpest founder I have met this year, and\nher bank pilot is real.\nYou two should talk."
        );
        assert_eq!(m.for_requester, "You two should talk.");
    }
}
