//! An introduction the mail server refused for good when the drain handed
//! it over. It is one email to both parties (no single role, so
//! [`drain`](super::drain) cannot bounce a party for it): the refusal is
//! recorded against the intro through the core
//! ([`Event::IntroductionRefused`]) and the connector is told. Owns only
//! that; sending, retrying and the outbox stay in `drain`.

use jiff::Timestamp;
use tracing::{info, info_span};

use super::{Engine, EngineError};
use crate::core::{self, Address, EmailKind, Event, Intro, MessageId, Role};
use crate::store::OutboxEntry;

impl Engine {
    /// Records that `entry`, an introduction, was refused with `reason`.
    /// Anything else without a role (a note to the connector) has nobody
    /// to bounce and nobody else to tell: it is dropped, as before.
    pub(super) fn introduction_refused(
        &self,
        entry: &OutboxEntry,
        reason: String,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let Some(id) = &entry.intro else { return Ok(()) };
        if entry.email.kind != EmailKind::Introduction {
            return Ok(());
        }
        let Some(intro) = self.store.intro(id)? else { return Ok(()) };
        let span = info_span!("intro", intro = %intro.id);
        let _enter = span.enter();
        let named = named_in(&intro, &reason);
        info!(named = ?named, "the mail server refused the introduction");
        let message_id = MessageId::new(format!("refused-{}", entry.email.message_id));
        let event = Event::IntroductionRefused { named, reason, message_id };
        let step = core::step(&intro, &event, &self.config.policy, now);
        self.commit_step(step, None, now)?;
        Ok(())
    }
}

/// The parties whose address the server's words name: the recipient it
/// refused at RCPT (Postfix and most servers quote it, `<bob@b.example>:
/// Recipient address rejected`). Words are cut at whatever cannot be part
/// of an address, so `xbob@b.example` does not name `bob@b.example`.
fn named_in(intro: &Intro, reason: &str) -> Vec<Role> {
    let words: Vec<Address> = reason
        .split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | '"' | '\''))
        .map(|w| w.trim_end_matches(['.', ':']))
        .filter(|w| w.contains('@'))
        .filter_map(|w| Address::parse(w).ok())
        .collect();
    Role::BOTH.into_iter().filter(|r| words.iter().any(|a| intro.party(*r).person.has_address(a))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{IntroId, NewIntro, Person, Policy, Token, open};

    fn intro() -> Intro {
        let person = |name: &str, email: &str| Person::parse(name, email).expect("valid");
        let new = NewIntro {
            id: IntroId::new("k7m2p9qx"),
            connector: person("Carol Connor", "carol@example.com"),
            connector_token: Token::new("ctok"),
            requester: person("Alice Able", "alice@example.net"),
            requester_token: Token::new("atok"),
            target: person("Bob Busy", "bob@example.org"),
            target_token: Token::new("btok"),
            summary: String::new(),
            note: String::new(),
            for_requester: String::new(),
            for_target: String::new(),
            request_message_id: None,
            guesses: Vec::new(),
            preview: false,
        };
        open(new, &Policy::default(), "2026-11-30T14:00:00Z".parse().expect("valid")).intro
    }

    #[test]
    fn the_refused_recipient_is_named_by_the_servers_words() {
        let i = intro();
        let rcpt = "smtp:587: permanent error (550): 5.1.1 <BOB@example.org>: Recipient address rejected: User unknown";
        assert_eq!(named_in(&i, rcpt), [Role::Target]);
        assert_eq!(named_in(&i, "550 5.1.1 alice@example.net... User unknown"), [Role::Requester]);
        assert_eq!(named_in(&i, "554 5.7.1 <alice@example.net>, <bob@example.org> refused"), Role::BOTH);
    }

    #[test]
    fn words_naming_no_party_name_nobody() {
        let i = intro();
        assert!(named_in(&i, "554 5.7.1 message content rejected").is_empty());
        assert!(named_in(&i, "550 <xbob@example.org> and <bob@example.org.evil>: unknown").is_empty());
        assert!(named_in(&i, "550 <intros@example.com>: sender rejected").is_empty());
        assert!(named_in(&i, "").is_empty());
    }
}
