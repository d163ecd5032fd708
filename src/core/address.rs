//! Email addresses: the one definition the whole program uses.
//!
//! An [`Address`] is parsed once, where it enters (a config value, a mail
//! header, a candidate found in prose, a stored record), with lettre's
//! parser, the same one that later writes it into headers; so an address
//! the bot accepted can always be written to. It keeps the address as
//! written, for display and headers, beside a [`CanonicalAddress`] for
//! comparisons and keys: ASCII-case-insensitive, without a `+tag`
//! subaddress, with an internationalized domain in its ASCII (punycode)
//! form. Two addresses with the same canonical form are the same mailbox
//! ([`Address::same_mailbox`]).
//!
//! Pure: no IO. Finding candidates in text (the regexes in `mail`) is not
//! this module's business; turning a candidate into an address is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What reads as an address in prose, as a regex pattern (no anchors, no
/// groups): wider than [`Address::parse`], so it also finds malformed ones.
/// Redaction removes every match; a match becomes an address only through
/// [`Address::parse`].
pub const IN_PROSE: &str = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}";

/// A parsed email address (`local@domain`, no display name).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// As written (trimmed), already checked by lettre.
    written: lettre::Address,
    /// For comparisons and keys.
    canonical: CanonicalAddress,
}

/// The form of an address used to compare and to key records: the local
/// part ASCII-lowercased and without a `+tag`, the domain in lowercase ASCII
/// (IDNA). Same canonical form, same mailbox.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CanonicalAddress(String);

impl CanonicalAddress {
    /// The canonical form as text (also a store key).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical domain (lowercase ASCII).
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for CanonicalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text that is not a usable email address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an email address like name@example.com: {reason}")]
pub struct AddressError {
    /// The text as given.
    input: String,
    /// What is wrong with it.
    reason: &'static str,
}

impl AddressError {
    fn new(input: &str, reason: lettre::address::AddressError) -> Self {
        use lettre::address::AddressError as E;
        let reason = match reason {
            E::MissingParts => "it needs text before and after an @",
            E::InvalidUser => "the part before the @ has characters an address cannot have",
            E::InvalidDomain => "the part after the @ is not a domain",
            _ => "it cannot be read as an address",
        };
        Self { input: input.to_owned(), reason }
    }
}

impl Address {
    /// Parses a bare address (`bob@example.org`; surrounding whitespace is
    /// ignored, a display name or angle brackets are not accepted).
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        let text = text.trim();
        let written: lettre::Address = text.parse().map_err(|e| AddressError::new(text, e))?;
        let canonical = canonical_form(written.user(), written.domain());
        Ok(Address { written, canonical })
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        self.written.as_ref()
    }

    /// The form to compare and key by.
    pub fn canonical(&self) -> &CanonicalAddress {
        &self.canonical
    }

    /// The part before the `@`, as written (with any `+tag`).
    pub fn local_part(&self) -> &str {
        self.written.user()
    }

    /// The part after the `@`, as written.
    pub fn domain(&self) -> &str {
        self.written.domain()
    }

    /// The `+tag` subaddress, if any (`token` in `intros+token@example.com`).
    pub fn tag(&self) -> Option<&str> {
        self.local_part().split_once('+').map(|(_, tag)| tag).filter(|t| !t.is_empty())
    }

    /// Whether both reach the same mailbox: the same canonical form.
    pub fn same_mailbox(&self, other: &Address) -> bool {
        self.canonical == other.canonical
    }

    /// This address with `+tag` on its local part (`intros+TOKEN@…`); an
    /// error when the result would not be an address (too long, odd
    /// characters in `tag`).
    pub fn with_tag(&self, tag: &str) -> Result<Address, AddressError> {
        let base = self.local_part().split_once('+').map_or(self.local_part(), |(base, _)| base);
        Address::parse(&format!("{base}+{tag}@{}", self.domain()))
    }

    /// The address for lettre (headers and SMTP envelopes).
    pub(crate) fn lettre(&self) -> &lettre::Address {
        &self.written
    }
}

fn canonical_form(local: &str, domain: &str) -> CanonicalAddress {
    let base = match local.split_once('+') {
        Some((base, _)) if !base.is_empty() => base,
        _ => local,
    };
    // An ASCII domain (nearly all of them) only needs lowercasing: IDNA's
    // tables are touched only for the others. A domain lettre accepted
    // converts; an IP literal (`[192.0.2.1]`) is ASCII and kept.
    // One string, lowercased in place: every address read or decoded
    // passes here.
    let mut out = String::with_capacity(base.len() + 1 + domain.len());
    out.push_str(base);
    out.push('@');
    if domain.is_ascii() {
        out.push_str(domain);
    } else {
        out.push_str(&idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_owned()));
    }
    out.make_ascii_lowercase();
    CanonicalAddress(out)
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({:?})", self.as_str())
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

// As a string: the records already in stores hold addresses as strings, and
// every one of them was accepted by lettre when it was written.
impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Address::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn a(s: &str) -> Address {
        Address::parse(s).expect("valid address")
    }

    #[test]
    fn keeps_what_was_written_and_compares_canonically() {
        let bob = a("  Bob.Busy+intros@Example.ORG ");
        assert_eq!(bob.as_str(), "Bob.Busy+intros@Example.ORG");
        assert_eq!(bob.local_part(), "Bob.Busy+intros");
        assert_eq!(bob.domain(), "Example.ORG");
        assert_eq!(bob.tag(), Some("intros"));
        assert_eq!(bob.canonical().as_str(), "bob.busy@example.org");
        assert!(bob.same_mailbox(&a("bob.busy@example.org")));
        assert!(!bob.same_mailbox(&a("bob.bus@example.org")));
        assert_ne!(bob, a("bob.busy@example.org"), "equality is as written; same_mailbox is the comparison");
    }

    #[test]
    fn an_internationalized_domain_has_one_canonical_form() {
        let unicode = a("anna@bücher.example");
        let ascii = a("anna@xn--bcher-kva.example");
        assert!(unicode.same_mailbox(&ascii));
        assert_eq!(unicode.canonical().as_str(), "anna@xn--bcher-kva.example");
        assert_eq!(unicode.as_str(), "anna@bücher.example", "shown as written");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in ["", "bob", "@example.org", "bob@", "Bob <bob@example.org>", "bob smith@example.org", "a@b@c"] {
            let err = Address::parse(bad).expect_err(bad).to_string();
            assert!(err.contains("is not an email address"), "{err}");
        }
    }

    #[test]
    fn tags_are_added_to_the_base_address() {
        let bot = a("intros@example.com");
        assert_eq!(bot.with_tag("abc234").expect("tag").as_str(), "intros+abc234@example.com");
        assert!(bot.with_tag("abc234").expect("tag").same_mailbox(&bot));
        assert!(bot.with_tag("no spaces").is_err());
        assert_eq!(a("+x@example.com").canonical().as_str(), "+x@example.com", "no base: nothing to strip");
    }

    #[test]
    fn serde_is_a_plain_string() {
        let bob = a("Bob@Example.org");
        assert_eq!(serde_json::to_string(&bob).expect("json"), "\"Bob@Example.org\"");
        assert_eq!(serde_json::from_str::<Address>("\"Bob@Example.org\"").expect("json"), bob);
        assert!(serde_json::from_str::<Address>("\"not an address\"").is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_canonical_is_stable(s in "\\PC{0,40}") {
            if let Ok(addr) = Address::parse(&s) {
                let again = Address::parse(addr.as_str()).expect("what parsed once parses again");
                prop_assert_eq!(again.canonical(), addr.canonical());
                prop_assert!(addr.same_mailbox(&again));
            }
        }

        #[test]
        fn case_and_tags_do_not_change_the_mailbox(local in "[a-z][a-z0-9.]{0,10}", tag in "[a-z0-9]{1,8}") {
            let plain = Address::parse(&format!("{local}@example.org"));
            prop_assume!(plain.is_ok());
            let plain = plain.expect("checked");
            let tagged = Address::parse(&format!("{}+{tag}@EXAMPLE.org", local.to_ascii_uppercase()));
            prop_assert!(tagged.is_ok_and(|t| t.same_mailbox(&plain)));
        }
    }
}
