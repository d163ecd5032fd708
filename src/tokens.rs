//! Making reply tokens and Message-IDs from the operating system's CSPRNG,
//! and comparing tokens.
//!
//! Both are lowercase RFC 4648 base32 (`a-z2-7`), as intro ids are
//! (`store::intro_key` makes those): safe in an address's local part,
//! unchanged by servers that lowercase it, and easy to read aloud. A token
//! carries 130 bits (26 characters).
//! A Message-ID's local part is 130 random bits too and says nothing about
//! the intro, so knowing one email's id tells nothing about another's.
//!
//! Tokens are capabilities: whoever holds one speaks for one party of one
//! intro. [`same_token`] compares them in time that does not depend on
//! where they differ.

use crate::core::Token;

/// The alphabet of tokens, Message-IDs and intro ids.
pub(crate) const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The OS random number generator failed; there is no safe fallback.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

fn random_base32(chars: usize) -> Result<String, RandomError> {
    let mut bytes = vec![0u8; chars];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    // 256 is a multiple of 32, so masking keeps every symbol equally likely.
    Ok(bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect())
}

/// A fresh reply token.
pub(crate) fn new_token() -> Result<Token, RandomError> {
    random_base32(26).map(Token::new)
}

/// A fresh Message-ID (without angle brackets) under `domain`.
pub(crate) fn new_message_id(domain: &str) -> Result<String, RandomError> {
    Ok(format!("{}@{domain}", random_base32(26)?))
}

/// Whether two tokens are equal, in time that depends only on their
/// lengths (which are public: every token has 26 characters).
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// Whether a string has the shape of a token.
#[cfg(test)]
pub(crate) fn looks_like_token(s: &str) -> bool {
    s.len() == 26 && s.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn tokens_have_the_documented_shape_and_do_not_repeat() {
        let tokens: HashSet<String> = (0..10_000).map(|_| new_token().expect("rng").as_str().to_owned()).collect();
        assert_eq!(tokens.len(), 10_000);
        assert!(tokens.iter().all(|t| looks_like_token(t)));
    }

    #[test]
    fn every_symbol_appears() {
        // A broken mapping (e.g. only using 16 symbols) would halve the entropy.
        let all: HashSet<char> =
            (0..2_000).flat_map(|_| new_token().expect("rng").as_str().chars().collect::<Vec<_>>()).collect();
        assert_eq!(all.len(), 32);
    }

    #[test]
    fn message_ids_are_random_and_carry_nothing_else() {
        let a = new_message_id("example.com").expect("rng");
        let b = new_message_id("example.com").expect("rng");
        assert_ne!(a, b);
        let (local, domain) = a.split_once('@').expect("an @");
        assert_eq!(domain, "example.com");
        assert!(looks_like_token(local), "130 random bits: {local}");
    }

    #[test]
    fn tokens_compare_equal_only_when_equal() {
        let t = new_token().expect("rng");
        assert!(same_token(t.as_str(), &String::from(t.as_str())));
        let mut other = t.as_str().to_owned().into_bytes();
        other[25] = if other[25] == b'a' { b'b' } else { b'a' };
        assert!(!same_token(t.as_str(), std::str::from_utf8(&other).expect("ascii")));
        assert!(!same_token(t.as_str(), &t.as_str()[..25]));
        assert!(!same_token("", t.as_str()));
        assert!(same_token("", ""));
    }
}
