//! Making intro ids and reply tokens from the operating system's CSPRNG.
//!
//! Both are lowercase RFC 4648 base32 (`a-z2-7`): safe in an address's
//! local part, unchanged by servers that lowercase it, and easy to read
//! aloud. A token carries 130 bits (26 characters), an id 40 bits (8).

use crate::core::{IntroId, Token};

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

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

/// A fresh intro id (the caller checks it is unused).
pub(crate) fn new_intro_id() -> Result<IntroId, RandomError> {
    random_base32(8).map(IntroId::new)
}

/// Whether a string has the shape of a token.
#[cfg(test)]
fn looks_like_token(s: &str) -> bool {
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
    fn ids_are_short_and_lowercase() {
        let id = new_intro_id().expect("rng");
        assert_eq!(id.as_str().len(), 8);
        assert!(id.as_str().bytes().all(|b| ALPHABET.contains(&b)));
        assert!(!looks_like_token(id.as_str()));
    }
}
