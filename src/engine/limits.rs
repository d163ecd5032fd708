//! The limits (`[limits]`): before an intro opens, whether it may. The
//! store's ledger counts what the bot did to whom; this decides, and says
//! why to the connector, once per reason and window (a second refusal for
//! the same reason within it is filed without a note).
//!
//! In order:
//! 1. intros the connector opened today (`intros_per_connector_per_day`);
//! 2. the same two people: open now, or declined within `cooldown`;
//! 3. a party who left [`Limits::IGNORED_ASKS`] asks in a row unanswered,
//!    the last within `cooldown`;
//! 4. consent asks to the target in 30 days, by any connector
//!    (`asks_per_target_per_30_days`);
//! 5. emails to either party today, by any intro
//!    (`emails_per_address_per_day`), the last line of defence.
//!
//! Addresses are compared canonically (case, `+tag`, IDN form), so
//! `Bob+x@B.example` is Bob.

use std::time::Duration;

use jiff::Timestamp;
use tracing::info;

use super::{Engine, EngineError, Handled};
use crate::config::Limits;
use crate::core::{IntroId, IntroState, Person, RequesterConsent};
use crate::mail::request::Limit;
use crate::mail::{self, Inbound, RequestProblem};
use crate::store::{Change, Counted, Disposition, LedgerEntry};

const DAY: Duration = Duration::from_secs(86_400);

/// Why an intro is not started, and for how long that reason holds.
pub(super) struct Refusal {
    /// What the connector reads.
    problem: RequestProblem,
    /// Which refusal, for explaining it once (`limit:whom`).
    key: String,
    /// How long one explanation covers.
    window: Duration,
}

fn ago(now: Timestamp, d: Duration) -> Timestamp {
    now.checked_sub(d).unwrap_or(Timestamp::MIN)
}

/// The problem the connector is told, for `request_problem`.
fn limit(limit: Limit, name: String, count: usize, window: Duration) -> RequestProblem {
    RequestProblem::Limit { limit, name, count, days: window.as_secs() / 86_400 }
}

impl Engine {
    /// Whether a limit forbids this request now.
    pub(super) fn refusal(&self, request: &mail::Request, now: Timestamp) -> Result<Option<Refusal>, EngineError> {
        let limits: &Limits = &self.config.limits;
        let store = &self.store;
        let connector = request.connector.email.canonical().to_string();
        let requester = request.requester.email.canonical().to_string();
        let target = request.target.email.canonical().to_string();

        let opened = store.count_since(Counted::Opened, &connector, ago(now, DAY))?;
        if opened >= limits.intros_per_connector_per_day as usize {
            return Ok(Some(Refusal {
                problem: limit(Limit::IntrosToday, String::new(), opened, DAY),
                key: "intros_per_connector_per_day".into(),
                window: DAY,
            }));
        }

        if let Some(id) = store.pair_intro(&requester, &target)?
            && let Some(intro) = store.intro(&id)?
        {
            let ended = intro.timeline.last().map_or(intro.created_at, |t| t.at);
            let (a, b) = if requester <= target { (&requester, &target) } else { (&target, &requester) };
            let pair = format!("pair:{a}|{b}");
            let names = format!("{} and {}", request.requester.display_name(), request.target.display_name());
            let days = limits.cooldown;
            let refuse = |what: Limit| {
                Some(Refusal { problem: limit(what, names.clone(), 0, days), key: pair.clone(), window: days })
            };
            let refusal = match intro.state {
                IntroState::AwaitingConsent => refuse(Limit::PairOpen),
                IntroState::Declined if ended >= ago(now, limits.cooldown) => refuse(Limit::PairDeclined),
                _ => None,
            };
            if refusal.is_some() {
                return Ok(refusal);
            }
        }

        for person in [&request.requester, &request.target] {
            let who = person.email.canonical().to_string();
            if let Some(silence) = store.silence(&who)?
                && silence.count >= Limits::IGNORED_ASKS
                && silence.at >= ago(now, limits.cooldown)
            {
                let count = usize::try_from(silence.count).unwrap_or(usize::MAX);
                return Ok(Some(Refusal {
                    problem: limit(Limit::Resting, person.display_name().to_owned(), count, limits.cooldown),
                    key: format!("silent:{who}"),
                    window: limits.cooldown,
                }));
            }
        }

        let asked = store.count_since(Counted::Asked, &target, ago(now, 30 * DAY))?;
        if asked >= limits.asks_per_target_per_30_days as usize {
            return Ok(Some(Refusal {
                problem: limit(Limit::AskedEnough, request.target.display_name().to_owned(), asked, 30 * DAY),
                key: format!("asks:{target}"),
                window: 30 * DAY,
            }));
        }

        let mut asked_now: Vec<&Person> = vec![&request.target];
        if self.config.policy.requester_consent == RequesterConsent::Ask {
            asked_now.push(&request.requester);
        }
        for person in asked_now {
            let who = person.email.canonical().to_string();
            let mailed = store.count_since(Counted::Mailed, &who, ago(now, DAY))?;
            if mailed >= limits.emails_per_address_per_day as usize {
                return Ok(Some(Refusal {
                    problem: limit(Limit::WrittenEnough, person.display_name().to_owned(), mailed, DAY),
                    key: format!("mail:{who}"),
                    window: DAY,
                }));
            }
        }
        Ok(None)
    }

    /// Tells the connector why, unless that was said within the window;
    /// either way nothing starts.
    pub(super) fn refuse(
        &self,
        connector: &Person,
        inbound: &Inbound,
        refusal: Refusal,
        now: Timestamp,
    ) -> Result<Handled, EngineError> {
        let who = connector.email.canonical().to_string();
        info!(limit = %refusal.key, "intro not started: a limit");
        if self.store.explained(&who, &refusal.key)?.is_some_and(|at| at >= ago(now, refusal.window)) {
            let note = format!("not started ({}); explained already", refusal.key);
            return self.record(&inbound.message_id, Disposition::Ignored, None, &note, now);
        }
        let handled = self.reply_problem(connector, inbound, &refusal.problem, now)?;
        // After the note is queued (and only if it was: the loop guard may
        // have held it back): a crash in between explains twice, never not
        // at all.
        if handled.disposition == Disposition::Processed {
            let explained = LedgerEntry::Explained { connector: who, reason: refusal.key };
            self.store.commit(&Change { ledger: vec![explained], ..Change::default() }, now)?;
        }
        Ok(handled)
    }

    /// What opening this intro records for the limits.
    pub(super) fn opened(&self, request: &mail::Request, id: &IntroId) -> Vec<LedgerEntry> {
        let requester = request.requester.email.canonical().to_string();
        let target = request.target.email.canonical().to_string();
        vec![
            LedgerEntry::Opened { connector: request.connector.email.canonical().to_string(), intro: id.clone() },
            LedgerEntry::Asked { target: target.clone(), intro: id.clone() },
            LedgerEntry::Pair { a: requester, b: target, intro: id.clone() },
        ]
    }
}
