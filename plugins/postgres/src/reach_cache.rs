//! Reach answers a read session keeps while the catalog provably has not changed.
//!
//! The reach check must see the catalog as it is now: a function created a second ago is user
//! code like any other. Asking the three or four catalog questions again on every call cost a
//! warm call most of its server time, though the catalog rarely changes between calls.
//!
//! An answer is reused only when the call's first catalog query (the login's powers, asked on
//! every call) finds the same **snapshot** as the query that opened the kept answers, the same
//! login, search path and temporary schema, and a transaction that has written nothing:
//!
//! - every catalog change is made by a transaction with a transaction id, and committing (or
//!   aborting) one changes every later snapshot (`xmax` moves past it, or it leaves the
//!   in-progress list): two equal snapshots see the same committed catalog, row for row;
//! - the answers were computed at that snapshot or later, so when the snapshot is unchanged
//!   nothing committed in between either;
//! - a transaction's own uncommitted changes are visible to it but not in its snapshot, so a
//!   transaction that has a transaction id (it wrote something) neither uses nor keeps answers;
//! - name resolution also depends on the login (`$user` in the search path), the search path
//!   and the session's temporary schema: all part of the key.
//!
//! Answers live with the session (a reset keeps them, as it keeps the prepared statements they
//! came from) and are dropped together when any of the above changes, or when
//! [`MAX_ANSWERS`] different questions were kept.

use std::collections::HashMap;

use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{ReachRequest, ResolvedFunction, ResolvedRelation, Routine, SqlName};

/// Different questions kept at once, at most; past it the kept answers are dropped.
pub const MAX_ANSWERS: usize = 64;

/// What the kept answers are valid for: read from the session by the query that asks for the
/// login's powers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    /// `pg_current_snapshot()` of the statement, as text.
    pub snapshot: String,
    /// `current_user`.
    pub login: String,
    /// `current_setting('search_path')`.
    pub search_path: String,
    /// `pg_my_temp_schema()`, as text (0 when the session has none yet).
    pub temp_schema: String,
}

/// One reach question: the names, and which of the costly lookups it needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    functions: Vec<SqlName>,
    relations: Vec<SqlName>,
    targets: Vec<SqlName>,
    /// The code reading or writing each relation runs was looked up.
    with_fires: bool,
    /// User code reached without a name was looked up.
    with_ambient: bool,
}

impl Question {
    /// The question `request` asks, with the lookups a call of this login and session needs.
    pub fn new(request: &ReachRequest, with_fires: bool, with_ambient: bool) -> Self {
        Question {
            functions: request.functions.to_vec(),
            relations: request.relations.to_vec(),
            targets: request.targets.to_vec(),
            with_fires,
            with_ambient,
        }
    }
}

/// The catalog's answer to a [`Question`] (the login's powers are asked on every call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What each function name resolved to.
    pub functions: RVec<ResolvedFunction>,
    /// What each relation name resolved to, and the code it fires.
    pub relations: RVec<ResolvedRelation>,
    /// User code reached without a name.
    pub ambient: RVec<Routine>,
}

/// One session's kept answers.
#[derive(Debug, Default)]
pub struct ReachCache {
    valid_for: Option<Validity>,
    answers: HashMap<Question, Answer>,
}

impl ReachCache {
    /// The kept answer to `question`, if the answers are still valid for `now`. Answers kept
    /// for another validity are dropped.
    pub fn get(&mut self, now: &Validity, question: &Question) -> Option<Answer> {
        if self.valid_for.as_ref() != Some(now) {
            self.forget();
            return None;
        }
        self.answers.get(question).cloned()
    }

    /// Keeps `answer` to `question`, computed at `now` or later.
    pub fn put(&mut self, now: Validity, question: Question, answer: Answer) {
        if self.valid_for.as_ref() != Some(&now) || self.answers.len() >= MAX_ANSWERS {
            self.forget();
        }
        self.valid_for = Some(now);
        self.answers.insert(question, answer);
    }

    /// Drops every kept answer.
    pub fn forget(&mut self) {
        self.valid_for = None;
        self.answers.clear();
    }

    /// How many answers are kept.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether no answer is kept.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validity(snapshot: &str) -> Validity {
        Validity {
            snapshot: snapshot.to_owned(),
            login: "alice".to_owned(),
            search_path: "\"$user\", public".to_owned(),
            temp_schema: "0".to_owned(),
        }
    }

    fn name(part: &str) -> SqlName {
        SqlName {
            parts: vec![part.into()].into(),
            quoted: vec![false].into(),
        }
    }

    fn question(relation: &str) -> Question {
        Question::new(
            &ReachRequest {
                functions: RVec::new(),
                relations: vec![name(relation)].into(),
                targets: RVec::new(),
            },
            true,
            true,
        )
    }

    fn answer(routine: &str) -> Answer {
        Answer {
            functions: RVec::new(),
            relations: RVec::new(),
            ambient: vec![Routine {
                schema: "public".into(),
                name: routine.into(),
                system: false,
            }]
            .into(),
        }
    }

    #[test]
    fn an_answer_is_reused_only_at_the_same_snapshot_login_path_and_temp_schema() {
        let mut cache = ReachCache::default();
        cache.put(validity("10:12:"), question("t"), answer("f"));
        assert_eq!(
            cache.get(&validity("10:12:"), &question("t")),
            Some(answer("f"))
        );
        assert_eq!(cache.get(&validity("10:12:"), &question("u")), None);
        for changed in [
            Validity {
                login: "bob".to_owned(),
                ..validity("10:12:")
            },
            Validity {
                search_path: "evil, public".to_owned(),
                ..validity("10:12:")
            },
            Validity {
                temp_schema: "16390".to_owned(),
                ..validity("10:12:")
            },
            validity("10:13:"),
            validity("10:12:11"),
        ] {
            let mut cache = ReachCache::default();
            cache.put(validity("10:12:"), question("t"), answer("f"));
            assert_eq!(cache.get(&changed, &question("t")), None, "{changed:?}");
            // And the old answers are gone, even if the session comes back to the old state.
            assert!(cache.is_empty());
            assert_eq!(cache.get(&validity("10:12:"), &question("t")), None);
        }
    }

    #[test]
    fn the_lookups_asked_are_part_of_the_question() {
        let request = ReachRequest {
            functions: vec![name("f")].into(),
            relations: RVec::new(),
            targets: RVec::new(),
        };
        let mut cache = ReachCache::default();
        cache.put(
            validity("1:1:"),
            Question::new(&request, false, false),
            answer("x"),
        );
        assert!(cache
            .get(&validity("1:1:"), &Question::new(&request, true, false))
            .is_none());
        assert!(cache
            .get(&validity("1:1:"), &Question::new(&request, false, true))
            .is_none());
    }

    #[test]
    fn at_most_max_answers_are_kept() {
        let mut cache = ReachCache::default();
        for index in 0..(MAX_ANSWERS * 3) {
            cache.put(
                validity("5:5:"),
                question(&format!("t{index}")),
                answer("f"),
            );
            assert!(cache.len() <= MAX_ANSWERS);
        }
    }
}
