//! Names for things that cross module boundaries: intros, reply tokens and
//! Message-IDs. Each is a newtype, so an id is never confused with another
//! string; each serializes as the plain string the store's records hold.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A short, human-typable id for one intro (`k7m2p3qx`), used in the CLI,
/// in subjects and in Message-IDs. Not a secret: see [`Token`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IntroId(String);

impl IntroId {
    /// Wraps an id made by the caller (the core makes no ids of its own).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IntroId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The unguessable secret in a reply address (`intros+TOKEN@example.com`).
/// Holding it is what lets a reply act on one party of one intro, together
/// with a matching `From`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a token made by the caller from a CSPRNG.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token as text, for building the reply address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    // Tokens are capabilities: keep them out of debug logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// An email's Message-ID, without the angle brackets (`abc@example.com`).
/// Inbound ids are kept as the message gave them; ours are made in
/// `compose` under the bot's domain.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(String);

impl MessageId {
    /// Wraps an id (without angle brackets).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text, without angle brackets (also a store key).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a header writes it: `<abc@example.com>`.
    pub fn bracketed(&self) -> String {
        format!("<{}>", self.0)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for MessageId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}
