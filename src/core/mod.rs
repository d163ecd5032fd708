//! The pure core: what an introduction is and how it moves.
//!
//! Everything here is data and functions over data. The core never touches
//! the network, the disk or the clock: the caller passes `now` in and carries
//! the returned effects out. That is what lets the property tests in
//! [`machine`] drive thousands of random event sequences in milliseconds and
//! lets the daemon commit a state change together with the emails it causes.

pub mod calendar;
pub mod effect;
pub mod event;
pub mod intro;
pub mod machine;

pub use calendar::{Wait, add_wait};
pub use effect::{Audience, Effect, EmailKind, Outcome, Outgoing};
pub use event::{Decision, Event};
pub use intro::{
    Deadline, DeadlineKind, Intro, IntroId, IntroState, NewIntro, Party, PartyState, Person, Role, Sent, TimelineEntry,
    Token,
};
pub use machine::{Policy, RequesterConsent, Step, open, step};
