//! People across a pair: who on the left is who on the right.
//!
//! The seed's rule ("Auto-Map Users … duplicate names in the external
//! system will be ignored"), with email first: when a pair maps people
//! automatically, a person is matched by email where both sides show one,
//! then by full name; a name that occurs twice on a side is never used,
//! whoever carries it. A manual mapping (a person on the left and one on
//! the right, by their tracker ids) overrides both.
//!
//! What a mapping changes: a mapped author's comment copies carry no
//! name (see [`super::comments::attribution`]), and assignees follow the
//! mapping (an [`Assignee`] holds both sides' ids of one person).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::SyncError;
use super::settings::Side;

/// A person as one side's tracker shows them: GitLab's user id, Jira's
/// account id (user name on Data Center).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    /// Only where the tracker shows it (GitLab to admins, Jira Cloud as
    /// each person's privacy setting allows).
    pub email: Option<String>,
}

stable_names! {
    error: SyncError;
    /// How a person is mapped, or why not.
    pub enum PersonMapping {
        /// Both sides show the same email.
        AutoByEmail => "auto_by_email",
        /// The same full name, once on each side.
        AutoByName => "auto_by_name",
        /// Mapped by hand on the pair.
        Manual => "manual",
        /// Nobody on the other side matches (or the pair does not map
        /// automatically).
        Unmapped => "unmapped",
        /// The name occurs more than once (on either side), so it is not
        /// used to map.
        AmbiguousName => "ambiguous_name",
    }
}

/// A person mapped by hand: the left side's id and the right side's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualMapping {
    pub left_id: String,
    pub right_id: String,
}

/// One person on the left who is one person on the right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    pub left_id: String,
    pub right_id: String,
    pub by: PersonMapping,
}

/// A pair's people, mapped: both sides' lists and the matches between
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeopleMap {
    matches: Vec<Match>,
    ambiguous: BTreeSet<(Side, String)>,
}

impl PeopleMap {
    /// The person on the other side mapped to `id` on `side`.
    pub fn counterpart(&self, side: Side, id: &str) -> Option<&str> {
        self.matches.iter().find_map(|m| match side {
            Side::Left if m.left_id == id => Some(m.right_id.as_str()),
            Side::Right if m.right_id == id => Some(m.left_id.as_str()),
            _ => None,
        })
    }

    /// How the person `id` on `side` is mapped, or why not.
    pub fn mapping_of(&self, side: Side, id: &str) -> PersonMapping {
        let found = self.matches.iter().find(|m| match side {
            Side::Left => m.left_id == id,
            Side::Right => m.right_id == id,
        });
        match found {
            Some(m) => m.by,
            None if self.ambiguous.contains(&(side, id.to_owned())) => PersonMapping::AmbiguousName,
            None => PersonMapping::Unmapped,
        }
    }

    pub fn matches(&self) -> &[Match] {
        &self.matches
    }

    /// Completes an assignee read on `side` (only that side's id known)
    /// with the mapped person's id on the other side, or none.
    pub fn place(&self, side: Side, assignee: &Assignee) -> Assignee {
        let own = assignee.id(side).map(str::to_owned);
        let other = own
            .as_deref()
            .and_then(|id| self.counterpart(side, id))
            .map(str::to_owned);
        match side {
            Side::Left => Assignee {
                left: own,
                right: other,
            },
            Side::Right => Assignee {
                left: other,
                right: own,
            },
        }
    }
}

/// Who an item is assigned to, by each side's id of that person: both for
/// a mapped person (so both sides read the same value), one for a person
/// known on one side only, neither when nobody is. A side's reader fills
/// both slots with its tracker's id; [`PeopleMap::place`] then keeps the
/// side's own and sets the other from the mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Assignee {
    pub left: Option<String>,
    pub right: Option<String>,
}

impl Assignee {
    /// As a side's tracker shows it, not yet placed.
    pub fn read(id: Option<String>) -> Assignee {
        Assignee {
            left: id.clone(),
            right: id,
        }
    }

    pub fn id(&self, side: Side) -> Option<&str> {
        match side {
            Side::Left => self.left.as_deref(),
            Side::Right => self.right.as_deref(),
        }
    }

    /// This value as `side`'s tracker is to be given it: that side's id in
    /// both slots, as a read has it.
    pub fn for_side(&self, side: Side) -> Assignee {
        Assignee::read(self.id(side).map(str::to_owned))
    }

    /// The tracker's id of a value as read or [`Assignee::for_side`].
    pub fn tracker_id(&self) -> Option<&str> {
        self.left.as_deref().or(self.right.as_deref())
    }

    /// Nobody on either side.
    pub fn is_nobody(&self) -> bool {
        self.left.is_none() && self.right.is_none()
    }

    /// Whether `side` can be given this value: nobody, or a person it
    /// knows. An unmapped person from the other side cannot, and leaves
    /// the side as it is.
    pub fn writable_to(&self, side: Side) -> bool {
        self.is_nobody() || self.id(side).is_some()
    }
}

/// A name or email as compared: trimmed, inner spaces collapsed, case
/// ignored.
fn comparable(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// How often each key occurs on a side.
fn counts<'a>(keys: impl Iterator<Item = String> + 'a) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for key in keys.filter(|k| !k.is_empty()) {
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

/// Maps a pair's people: the manual mappings first, then, when `auto`,
/// by email (an email both sides show, once on each), then by full name
/// (once on each side). Assumes [`check_manual`] passed.
pub fn map_people(
    left: &[Person],
    right: &[Person],
    manual: &[ManualMapping],
    auto: bool,
) -> PeopleMap {
    let mut map = PeopleMap::default();
    for m in manual {
        map.matches.push(Match {
            left_id: m.left_id.clone(),
            right_id: m.right_id.clone(),
            by: PersonMapping::Manual,
        });
    }
    let names = |people: &[Person]| counts(people.iter().map(|p| comparable(&p.name)));
    let (left_names, right_names) = (names(left), names(right));
    for (side, people, own, other) in [
        (Side::Left, left, &left_names, &right_names),
        (Side::Right, right, &right_names, &left_names),
    ] {
        for p in people {
            let name = comparable(&p.name);
            if own.get(&name).is_some_and(|n| *n > 1) || other.get(&name).is_some_and(|n| *n > 1) {
                map.ambiguous.insert((side, p.id.clone()));
            }
        }
    }
    if !auto {
        return map;
    }
    type Key = fn(&Person) -> Option<String>;
    let by_email: Key = |p| p.email.as_deref().map(comparable).filter(|e| !e.is_empty());
    let by_name: Key = |p| Some(comparable(&p.name)).filter(|n| !n.is_empty());
    for (key, by) in [
        (by_email, PersonMapping::AutoByEmail),
        (by_name, PersonMapping::AutoByName),
    ] {
        let left_keys = counts(left.iter().filter_map(key));
        let right_keys = counts(right.iter().filter_map(key));
        for l in left {
            let Some(k) = key(l) else { continue };
            if left_keys.get(&k) != Some(&1) || right_keys.get(&k) != Some(&1) {
                continue;
            }
            let Some(r) = right.iter().find(|r| key(r).as_ref() == Some(&k)) else {
                continue;
            };
            if map.counterpart(Side::Left, &l.id).is_some()
                || map.counterpart(Side::Right, &r.id).is_some()
            {
                continue;
            }
            map.matches.push(Match {
                left_id: l.id.clone(),
                right_id: r.id.clone(),
                by,
            });
        }
    }
    map
}

/// Refuses manual mappings that name a person twice on one side, naming
/// the field (`left_id` or `right_id`) and the person.
pub fn check_manual(mappings: &[ManualMapping]) -> Result<(), SyncError> {
    for (i, m) in mappings.iter().enumerate() {
        for (side, id) in [(Side::Left, &m.left_id), (Side::Right, &m.right_id)] {
            if id.trim().is_empty() {
                return Err(SyncError::PersonMissing { side });
            }
            let twice = mappings[..i].iter().any(|earlier| match side {
                Side::Left => &earlier.left_id == id,
                Side::Right => &earlier.right_id == id,
            });
            if twice {
                return Err(SyncError::PersonMappedTwice {
                    side,
                    id: id.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, name: &str, email: Option<&str>) -> Person {
        Person {
            id: id.into(),
            name: name.into(),
            email: email.map(str::to_owned),
        }
    }

    fn manual(left: &str, right: &str) -> ManualMapping {
        ManualMapping {
            left_id: left.into(),
            right_id: right.into(),
        }
    }

    #[test]
    fn email_first_then_unique_names_and_twice_used_names_never() {
        let left = [
            person("1", "Ana Silva", Some("ana@example.com")),
            person("2", "Bruno Costa", None),
            person("3", "Carla Dias", None),
        ];
        let right = [
            // Another name, same email: email wins.
            person("a", "Ana S.", Some("ANA@example.com ")),
            person("b", " bruno  costa", None),
            // Two Carla Dias on the right: neither is used.
            person("c1", "Carla Dias", None),
            person("c2", "Carla Dias", None),
        ];
        let map = map_people(&left, &right, &[], true);
        assert_eq!(map.counterpart(Side::Left, "1"), Some("a"));
        assert_eq!(map.mapping_of(Side::Left, "1"), PersonMapping::AutoByEmail);
        assert_eq!(map.counterpart(Side::Right, "b"), Some("2"));
        assert_eq!(map.mapping_of(Side::Right, "b"), PersonMapping::AutoByName);
        assert_eq!(map.counterpart(Side::Left, "3"), None);
        assert_eq!(
            map.mapping_of(Side::Left, "3"),
            PersonMapping::AmbiguousName
        );
        assert_eq!(
            map.mapping_of(Side::Right, "c2"),
            PersonMapping::AmbiguousName
        );
        // Without the pair's option only manual mappings count.
        let off = map_people(&left, &right, &[], false);
        assert_eq!(off.counterpart(Side::Left, "1"), None);
        assert_eq!(off.mapping_of(Side::Left, "2"), PersonMapping::Unmapped);
    }

    #[test]
    fn a_manual_mapping_wins_over_email_and_name() {
        let left = [person("1", "Ana Silva", Some("ana@example.com"))];
        let right = [
            person("a", "Ana Silva", Some("ana@example.com")),
            person("z", "Someone Else", None),
        ];
        let map = map_people(&left, &right, &[manual("1", "z")], true);
        assert_eq!(map.counterpart(Side::Left, "1"), Some("z"));
        assert_eq!(map.mapping_of(Side::Left, "1"), PersonMapping::Manual);
        assert_eq!(map.counterpart(Side::Right, "a"), None);
        assert_eq!(map.mapping_of(Side::Right, "a"), PersonMapping::Unmapped);
    }

    #[test]
    fn assignees_are_placed_through_the_mapping() {
        let map = map_people(&[], &[], &[manual("7", "acc-1")], false);
        let placed = map.place(Side::Right, &Assignee::read(Some("acc-1".into())));
        assert_eq!(
            placed,
            Assignee {
                left: Some("7".into()),
                right: Some("acc-1".into())
            }
        );
        assert_eq!(
            map.place(Side::Left, &Assignee::read(Some("7".into()))),
            placed
        );
        let stranger = map.place(Side::Left, &Assignee::read(Some("8".into())));
        assert!(stranger.writable_to(Side::Left) && !stranger.writable_to(Side::Right));
        let nobody = map.place(Side::Left, &Assignee::read(None));
        assert!(nobody.is_nobody() && nobody.writable_to(Side::Right));
    }

    #[test]
    fn a_person_mapped_twice_on_one_side_is_refused_naming_the_side() {
        assert!(check_manual(&[manual("1", "a"), manual("2", "b")]).is_ok());
        let err = check_manual(&[manual("1", "a"), manual("2", "a")]).unwrap_err();
        assert_eq!(err.field(), "right_id");
        let err = check_manual(&[manual("1", "a"), manual("1", "b")]).unwrap_err();
        assert_eq!(err.field(), "left_id");
        assert_eq!(
            check_manual(&[manual(" ", "a")]).unwrap_err().field(),
            "left_id"
        );
    }
}
