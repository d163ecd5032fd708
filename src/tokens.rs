//! Making reply tokens and Message-IDs from the operating system's CSPRNG,
//! and comparing tokens.
//!
//! Both are lowercase RFC 4648 base32 (`a-z2-7`), as intro ids are
//! (`store::intro_key` makes those): safe in an address's local part,
//! unchanged by servers that lowercase it, and easy to read aloud. A token
//! carries 130 random bits (26 characters).
//!
//! The tokens of an intro's people and the Message-IDs of its emails start
//! with the intro's id (`k7m2p3qx` + 26 random characters; `k7m2p3qx.` +
//! 26 random characters `@` the bot's domain), so the store finds the
//! intro from the token or Message-ID itself instead of writing an index
//! entry for each (three of each per new intro; `store` says how it checks
//! them). The id is no secret (the connector's commands name it, and it
//! grants nothing); the random part is what cannot be guessed, and knowing
//! one email's Message-ID tells nothing of another's. Tokens of notes
//! outside an intro are 26 random characters, as every token was before
//! schema 4.
//!
//! Tokens are capabilities: whoever holds one speaks for one party of one
//! intro. [`same_token`] compares them in time that does not depend on
//! where they differ.

use crate::core::{IntroId, Token};

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
    random_base32(RANDOM_CHARS).map(Token::new)
}

/// A fresh reply token for one person of intro `id`: the id, then 130
/// random bits.
pub(crate) fn new_intro_token(id: &IntroId) -> Result<Token, RandomError> {
    Ok(Token::new(format!("{id}{}", random_base32(RANDOM_CHARS)?)))
}

/// The intro id a token starts with, if it is long enough to carry one
/// (tokens of notes, and every token before schema 4, are not). Only a
/// claim: the intro's own record of its tokens decides.
pub(crate) fn intro_of_token(token: &Token) -> Option<&str> {
    let token = token.as_str();
    let id_len = token.len().checked_sub(RANDOM_CHARS).filter(|n| *n > 0)?;
    token.get(..id_len)
}

/// A fresh Message-ID (without angle brackets) under `domain`.
pub(crate) fn new_message_id(domain: &str) -> Result<String, RandomError> {
    Ok(format!("{}@{domain}", random_base32(RANDOM_CHARS)?))
}

/// A fresh Message-ID (without angle brackets) under `domain` for an email
/// of intro `id`: `id.random@domain`.
pub(crate) fn new_intro_message_id(id: &IntroId, domain: &str) -> Result<String, RandomError> {
    Ok(format!("{id}.{}@{domain}", random_base32(RANDOM_CHARS)?))
}

/// The intro id a Message-ID starts with: the local part up to its first
/// dot. Only a claim: the intro's record of its emails decides.
pub(crate) fn intro_of_message_id(message_id: &str) -> Option<&str> {
    let (local, _) = message_id.rsplit_once('@')?;
    local.split_once('.').map(|(id, _)| id).filter(|id| !id.is_empty())
}

/// Random characters in a token or Message-ID (130 bits).
const RANDOM_CHARS: usize = 26;

/// The longest token the bot makes (an intro's id and the random part):
/// the bot's address must leave room for it in a reply address.
pub(crate) const LONGEST_TOKEN: usize = crate::store::INTRO_ID_LETTERS + RANDOM_CHARS;

/// Whether two tokens are equal, in time that depends only on their
/// lengths (which are public: 26 characters, or 34 with an intro's id).
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
    fn an_intros_tokens_and_message_ids_name_it_and_carry_130_random_bits() {
        let id = IntroId::new("k7m2p3qx");
        let a = new_intro_token(&id).expect("rng");
        let b = new_intro_token(&id).expect("rng");
        assert_ne!(a, b);
        assert_eq!(intro_of_token(&a), Some("k7m2p3qx"));
        assert!(looks_like_token(&a.as_str()[8..]), "{}", a.as_str());
        let m = new_intro_message_id(&id, "example.com").expect("rng");
        assert_eq!(intro_of_message_id(&m), Some("k7m2p3qx"));
        let (local, domain) = m.split_once('@').expect("an @");
        assert_eq!(domain, "example.com");
        assert!(looks_like_token(local.strip_prefix("k7m2p3qx.").expect("the id, a dot")), "{m}");
    }

    #[test]
    fn tokens_and_message_ids_without_an_intro_name_none() {
        assert_eq!(intro_of_token(&new_token().expect("rng")), None);
        assert_eq!(intro_of_token(&Token::new("short")), None);
        let m = new_message_id("example.com").expect("rng");
        assert_eq!(intro_of_message_id(&m), None);
        assert_eq!(intro_of_message_id(".x@example.com"), None);
        assert_eq!(intro_of_message_id("no-at-sign.x"), None);
        // Someone else's id names some text; the store finds no intro by it.
        assert_eq!(intro_of_message_id("CAF1.abc@mail.gmail.com"), Some("CAF1"));
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
