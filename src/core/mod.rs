//! The pure core: what an introduction is and how it moves.
//!
//! Everything here is data and functions over data. The core never touches
//! the network, the disk or the clock: the caller passes `now` in and carries
//! the returned effects out. That is what lets the property tests in
//! [`machine`] drive thousands of random event sequences in milliseconds and
//! lets the daemon commit a state change together with the emails it causes.
//!
//! Besides the machine, the core holds the vocabulary every room shares:
//! [`Address`], [`MessageId`], [`IntroId`], [`Token`] and [`EmailKind`].

pub mod address;
mod calendar;
mod effect;
mod event;
mod ids;
mod intro;
pub(crate) mod machine;

pub use address::{Address, AddressError, CanonicalAddress};
pub use calendar::{Wait, add_wait};
pub use effect::{Audience, Effect, Email, EmailKind, Outcome, Outgoing};
pub use event::{Decision, Event, Held};
pub use ids::{IntroId, MessageId, Token};
#[cfg(test)]
pub(crate) use intro::intro_titles;
pub use intro::{
    ConsentBy, Deadline, DeadlineKind, Guess, HeldReply, Intro, IntroState, NewIntro, Party, PartyState, Person, Role,
    Sent, TimelineEntry, is_bare_answer, is_title,
};
pub use machine::{Policy, RequesterConsent, Step, arm_preview, open, step};
