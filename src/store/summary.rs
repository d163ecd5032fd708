//! `list`'s summary of each intro: the few fields its table prints, kept in
//! their own tree (`summaries`: intro id → summary, JSON) so that `list`
//! reads ~150 bytes per intro instead of decoding every whole intro (on a
//! store of 100,000 intros, decoding them was ~40 % of `list`, walking
//! their page chains in sled another ~20 %).
//!
//! A summary is [`IntroSummary::of`] its intro and nothing else, and it
//! never disagrees with it: [`Store::commit`] writes an intro's summary in
//! the same transaction (or the same staged batch) as the intro, and
//! nothing else writes intros. A store from before summaries gets them all
//! built once, when it is opened ([`Store::build_summaries`], marked in
//! `meta` as [`UPGRADE`]). Changing what a summary holds or how it is
//! derived needs a new [`UPGRADE`] name, so that every store rebuilds its
//! summaries once with the new code.
//!
//! Must not: hold anything `list` does not print (secrets such as tokens
//! stay in the intro), or be read for anything but `list`'s table.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, to_json};
use crate::core::{Intro, IntroId, IntroState};

/// `meta` mark (`upgrade:` + this) of a store whose summaries are built.
pub(super) const UPGRADE: &str = "list-summaries-1";

/// Intros written to the summaries tree per sled batch while building
/// them: bounds the memory of the one-time upgrade.
const BUILD_CHUNK: usize = 1024;

/// What `list`'s table shows of an intro.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IntroSummary {
    /// When the bot accepted the request (`list` is oldest first).
    pub created_at: Timestamp,
    /// Where it stands.
    pub state: IntroState,
    /// The requester's display name.
    pub requester: String,
    /// The target's display name.
    pub target: String,
    /// The connector's address, as written.
    pub connector: String,
    /// The first names of the parties it still waits for.
    pub waiting: Vec<String>,
}

impl IntroSummary {
    /// The summary of an intro.
    pub(crate) fn of(intro: &Intro) -> IntroSummary {
        IntroSummary {
            created_at: intro.created_at,
            state: intro.state,
            requester: intro.requester.person.display_name().to_owned(),
            target: intro.target.person.display_name().to_owned(),
            connector: intro.connector.email.as_str().to_owned(),
            waiting: intro.waiting_for().iter().map(|r| intro.party(*r).person.first_name().to_owned()).collect(),
        }
    }

    /// The stored form.
    pub(super) fn encode(intro: &Intro) -> Vec<u8> {
        to_json(&IntroSummary::of(intro))
    }
}

impl Store {
    /// Calls `each` with every intro's id and summary (optionally only
    /// those in one state), in key order, as the open batch (if any) left
    /// them.
    pub(crate) fn each_summary(
        &self,
        state: Option<IntroState>,
        mut each: impl FnMut(IntroId, IntroSummary),
    ) -> Result<(), StoreError> {
        self.scan_all(super::TreeId::Summaries, |k, v| {
            let id = self.intro_keys.id_of_key(k);
            let summary: IntroSummary = Self::decode(|| format!("summary of intro {id}"), v)?;
            if state.is_none_or(|s| s == summary.state) {
                each(id, summary);
            }
            Ok(())
        })
    }

    /// Builds every intro's summary, once per store (see the module doc):
    /// called by [`Store::open`], before anything else can write. A crash
    /// before the mark only means the next open builds them again; a
    /// summary is its intro's, so writing it twice is harmless. The mark is
    /// written after a sync of the summaries, and sets the schema version
    /// that says a store has them, so that an older introbot, which would
    /// write intros without their summaries, refuses the store.
    pub(super) fn build_summaries(&self) -> Result<usize, StoreError> {
        if self.upgrade_done(UPGRADE)? {
            return Ok(0);
        }
        let mut built = 0;
        let mut chunk = sled::Batch::default();
        for kv in self.intros.iter() {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            // An intro that does not decode gets no summary rather than
            // keeping the store from opening (and the inbox from running):
            // `show` still names it as corrupt.
            let intro: Intro = match Self::decode(|| format!("intro {}", String::from_utf8_lossy(&k)), &v) {
                Ok(intro) => intro,
                Err(e) => {
                    tracing::warn!(error = %e, "an intro without a summary: list leaves it out");
                    continue;
                }
            };
            chunk.insert(k, IntroSummary::encode(&intro));
            built += 1;
            if built % BUILD_CHUNK == 0 {
                self.summaries.apply_batch(std::mem::take(&mut chunk)).map_err(|e| self.err(e))?;
            }
        }
        self.summaries.apply_batch(chunk).map_err(|e| self.err(e))?;
        self.flush()?;
        let mut mark = sled::Batch::default();
        mark.insert(format!("upgrade:{UPGRADE}").as_bytes(), &[]);
        mark.insert("schema_version", &super::SCHEMA_VERSION.to_be_bytes());
        self.meta.apply_batch(mark).map_err(|e| self.err(e))?;
        self.flush()?;
        Ok(built)
    }
}

#[cfg(test)]
mod tests;
