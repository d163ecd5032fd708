//! Names as connectors write them, for matching an address to a party: the
//! words of a name, folded (lowercase, common accents removed), without
//! titles ("Dr.", "Frau"), so "Dr. Zoë Müller" matches `zoe.mueller@…`
//! and "Zoe" alike.

use crate::core::Role;
pub(crate) use crate::core::is_title;

/// `text` lowercased, with the accents of Latin letters removed and `ß`,
/// `æ`, `ø` spelled out, the way people write them in addresses.
pub(crate) fn fold(text: &str) -> String {
    // Most names are ASCII, where folding is lowercasing (it runs for every
    // word of a blurb's closing lines).
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    fold_chars(text)
}

/// [`fold`], a char at a time: what every text that is not ASCII takes.
fn fold_chars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ą' | 'ă' => out.push('a'),
            'ä' | 'æ' => out.push_str(if c == 'ä' { "a" } else { "ae" }),
            'ç' | 'ć' | 'č' => out.push('c'),
            'ď' | 'đ' => out.push('d'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' => out.push('i'),
            'ł' | 'ľ' | 'ĺ' => out.push('l'),
            'ñ' | 'ń' | 'ň' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ō' | 'ő' | 'ö' => out.push('o'),
            'ø' | 'œ' => out.push_str(if c == 'ø' { "o" } else { "oe" }),
            'ř' | 'ŕ' => out.push('r'),
            'ś' | 'š' | 'ş' | 'ș' => out.push('s'),
            'ß' => out.push_str("ss"),
            'ť' | 'ţ' | 'ț' => out.push('t'),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ź' | 'ż' | 'ž' => out.push('z'),
            c => out.push(c),
        }
    }
    out
}

/// The words of a name that can identify a person: folded, titles
/// dropped, at least two letters (or one CJK character).
pub(crate) fn tokens(name: &str) -> Vec<String> {
    words(name).map(fold).collect()
}

/// The first of [`tokens`], without the others.
pub(crate) fn first_token(name: &str) -> Option<String> {
    words(name).next().map(fold)
}

/// The words [`tokens`] folds.
fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| c.is_whitespace() || c == ',' || c == '"')
        .filter(|w| !is_title(w))
        .flat_map(|w| w.split(|c: char| !c.is_alphanumeric()))
        .filter(|t| t.chars().count() >= 2 || t.chars().any(is_cjk))
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF)
}

/// The two parties' name words, requester first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parties {
    tokens: [Vec<String>; 2],
}

impl Parties {
    /// From the two names the subject gave.
    pub(crate) fn new(requester: &str, target: &str) -> Self {
        Self { tokens: [tokens(requester), tokens(target)] }
    }

    fn of(&self, role: Role) -> &[String] {
        match role {
            Role::Requester => &self.tokens[0],
            Role::Target => &self.tokens[1],
        }
    }

    /// The parties a word names ("Bob", "bob's" → the party called Bob).
    pub(crate) fn named_by(&self, word: &str) -> Vec<Role> {
        let word = fold(word);
        Role::BOTH.into_iter().filter(|r| self.of(*r).contains(&word)).collect()
    }

    /// The one party whose name is in an address's local part
    /// (`bob.martin@`, `bmartin@`, `zoe.mueller@`), if exactly one is.
    pub(crate) fn in_local_part(&self, local_part: &str) -> Option<Role> {
        let local = fold(local_part.split('@').next().unwrap_or_default());
        let local = local.replace("ue", "u").replace("oe", "o").replace("ae", "a");
        let found: Vec<Role> = Role::BOTH
            .into_iter()
            .filter(|r| {
                self.of(*r).iter().any(|t| {
                    let t = t.replace("ue", "u").replace("oe", "o").replace("ae", "a");
                    t.chars().count() >= 3 && local.contains(t.as_str())
                })
            })
            .collect();
        match found.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Whether a display name from a header fits `role`'s name.
    pub(crate) fn fits(&self, role: Role, display_name: &str) -> bool {
        let have = tokens(display_name);
        self.of(role).iter().any(|t| have.contains(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_accents() {
        assert_eq!(tokens("Dr. Zoë Müller"), ["zoe", "muller"]);
        assert_eq!(tokens("Prof Jürgen Groß"), ["jurgen", "gross"]);
        assert_eq!(tokens("M. Jean Dupont"), ["jean", "dupont"]);
        assert_eq!(tokens("王伟"), ["王伟"]);
        assert!(is_title("Sra.") && !is_title("Sam"));
    }

    /// The ASCII fast paths of `fold` and `is_title` say what the general
    /// ones say.
    #[test]
    fn fast_paths_agree_with_the_general_ones() {
        use proptest::prelude::*;
        let title = |w: &str| {
            let bare = w.trim_end_matches(['.', ',']).to_lowercase();
            crate::core::intro_titles().contains(&bare.as_str()) || (bare == "m" && w.ends_with('.'))
        };
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let words = proptest::string::string_regex(
            "(Dr|DR|dr|Prof|MR|Mrs|M|m|Frau|sr|Sra|x|Zoë|İ|ß)?[.,]{0,2}[ a-zA-Z.,]{0,6}",
        )
        .expect("valid");
        runner
            .run(&words, |w| {
                prop_assert_eq!(fold(&w), fold_chars(&w));
                prop_assert_eq!(is_title(&w), title(&w), "{:?}", w);
                Ok(())
            })
            .expect("fast paths agree");
        for w in ["Dr.", "DR", "m.", "M", "Prof,", "professor.", "Sir", "Sirs", "", ".", "MLLE."] {
            assert_eq!(is_title(w), title(w), "{w:?}");
        }
    }

    #[test]
    fn local_parts() {
        let p = Parties::new("Priya Shah", "Dr. Zoë Müller");
        assert_eq!(p.in_local_part("zoe.mueller@example.org"), Some(Role::Target));
        assert_eq!(p.in_local_part("pshah@startup.io"), Some(Role::Requester));
        assert_eq!(p.in_local_part("ps1987@startup.io"), None);
        assert_eq!(p.named_by("Zoë"), [Role::Target]);
    }
}
