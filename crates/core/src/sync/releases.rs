//! Releases across a pair: GitLab milestones and Jira versions (or the
//! milestones of two GitLab projects), linked one to one.
//!
//! The seed's rule ("Configuring the Release Mapping"): a release seen on
//! one side that the pair has not linked is created on the other side
//! and linked; releases that already exist on both sides are linked
//! first so none is duplicated: automatically when their names are equal
//! (a name that occurs twice on a side is never used), by hand otherwise
//! (the seed's "GitLab ID" field). An issue's milestone then follows as
//! its fix version and back, through the links (a [`ReleaseValue`] holds
//! both sides' ids of one release, as an assignee holds a person's).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::error::SyncError;
use super::settings::Side;

/// A release as one side's tracker shows it: a GitLab milestone (its
/// instance-wide id) or a Jira version (its id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: String,
    pub name: String,
    /// A closed milestone, a released version.
    pub closed: bool,
    /// GitLab's due date, Jira's release date.
    pub due: Option<NaiveDate>,
}

stable_names! {
    error: SyncError;
    /// How two releases came to be linked.
    pub enum ReleaseLinkHow {
        /// Equal names on both sides, found before anything was created.
        ByName => "by_name",
        /// Linked by hand on the pair.
        Manual => "manual",
        /// Cairn created one as the twin of the other.
        Created => "created",
    }
}

/// One release on the left that is one release on the right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseLink {
    pub left_id: String,
    pub right_id: String,
    pub how: ReleaseLinkHow,
}

/// A name as compared: trimmed, inner spaces collapsed, case ignored.
fn comparable(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn linked(links: &[ReleaseLink], side: Side, id: &str) -> bool {
    links.iter().any(|l| match side {
        Side::Left => l.left_id == id,
        Side::Right => l.right_id == id,
    })
}

/// The counterpart of release `id` on `side`, through `links`.
pub fn counterpart<'a>(links: &'a [ReleaseLink], side: Side, id: &str) -> Option<&'a str> {
    links.iter().find_map(|l| match side {
        Side::Left if l.left_id == id => Some(l.right_id.as_str()),
        Side::Right if l.right_id == id => Some(l.left_id.as_str()),
        _ => None,
    })
}

/// The new links of releases not linked yet whose names are equal (once
/// on each side); run before anything is created, so pre-existing
/// releases are linked, never duplicated.
pub fn link_by_name(
    left: &[Release],
    right: &[Release],
    links: &[ReleaseLink],
) -> Vec<ReleaseLink> {
    let counts = |releases: &[Release]| {
        let mut out: BTreeMap<String, usize> = BTreeMap::new();
        for r in releases {
            *out.entry(comparable(&r.name)).or_insert(0) += 1;
        }
        out
    };
    let (left_names, right_names) = (counts(left), counts(right));
    let mut found = Vec::new();
    for l in left {
        let name = comparable(&l.name);
        if name.is_empty()
            || left_names.get(&name) != Some(&1)
            || right_names.get(&name) != Some(&1)
            || linked(links, Side::Left, &l.id)
        {
            continue;
        }
        let Some(r) = right.iter().find(|r| comparable(&r.name) == name) else {
            continue;
        };
        if linked(links, Side::Right, &r.id) {
            continue;
        }
        found.push(ReleaseLink {
            left_id: l.id.clone(),
            right_id: r.id.clone(),
            how: ReleaseLinkHow::ByName,
        });
    }
    found
}

/// Releases of `side` that no link names and no release of the other side
/// carries the name of: what the pair would create on the other side. A
/// name already taken there (but not linkable, since it occurs twice) is
/// left for a person to link by hand rather than refused by the tracker.
pub fn to_create<'a>(
    side: Side,
    own: &'a [Release],
    other: &[Release],
    links: &[ReleaseLink],
) -> Vec<&'a Release> {
    own.iter()
        .filter(|r| !linked(links, side, &r.id))
        .filter(|r| {
            let name = comparable(&r.name);
            !other.iter().any(|o| comparable(&o.name) == name)
        })
        .collect()
}

/// Refuses a link that would link a release already linked on its side,
/// naming the field (`left_id` or `right_id`), or one without an id.
pub fn check_new_link(
    links: &[ReleaseLink],
    left_id: &str,
    right_id: &str,
) -> Result<(), SyncError> {
    for (side, id) in [(Side::Left, left_id), (Side::Right, right_id)] {
        if id.trim().is_empty() {
            return Err(SyncError::ReleaseMissing { side });
        }
        if linked(links, side, id) {
            return Err(SyncError::ReleaseLinkedTwice {
                side,
                id: id.to_owned(),
            });
        }
    }
    Ok(())
}

/// An item's release by each side's id of it: both for a linked release,
/// one for a release not linked (yet), neither for none. A side's reader
/// fills both slots with its tracker's id; [`ReleaseValue::place`] keeps
/// the side's own and sets the other from the links.
///
/// Serialized with its own field names, so that a stored value is never
/// read back as an assignee (values are untagged).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseValue {
    #[serde(rename = "left_release")]
    pub left: Option<String>,
    #[serde(rename = "right_release")]
    pub right: Option<String>,
}

impl ReleaseValue {
    /// As a side's tracker shows it, not yet placed.
    pub fn read(id: Option<String>) -> ReleaseValue {
        ReleaseValue {
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

    /// This value as `side`'s tracker is to be given it.
    pub fn for_side(&self, side: Side) -> ReleaseValue {
        ReleaseValue::read(self.id(side).map(str::to_owned))
    }

    /// The tracker's id of a value as read or [`ReleaseValue::for_side`].
    pub fn tracker_id(&self) -> Option<&str> {
        self.left.as_deref().or(self.right.as_deref())
    }

    pub fn is_none(&self) -> bool {
        self.left.is_none() && self.right.is_none()
    }

    /// Whether `side` can be given this value: none, or a release linked
    /// to one there.
    pub fn writable_to(&self, side: Side) -> bool {
        self.is_none() || self.id(side).is_some()
    }

    /// Completes a value read on `side` with the linked release's id on
    /// the other side, or none.
    pub fn place(&self, side: Side, links: &[ReleaseLink]) -> ReleaseValue {
        let own = self.id(side).map(str::to_owned);
        let other = own
            .as_deref()
            .and_then(|id| counterpart(links, side, id))
            .map(str::to_owned);
        match side {
            Side::Left => ReleaseValue {
                left: own,
                right: other,
            },
            Side::Right => ReleaseValue {
                left: other,
                right: own,
            },
        }
    }
}

/// A link's names as it last saw them (when linked, or when a rename was
/// last carried): what tells which side renamed its release since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedLink {
    pub left_id: String,
    pub left_name: String,
    pub right_id: String,
    pub right_name: String,
}

/// What a link's names ask for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameChange {
    /// The release on the other side of `to` was renamed: rename release
    /// `id` on side `to` to `name`; both names are `name` after.
    Carry { to: Side, id: String, name: String },
    /// Renamed on both sides (or toward a side the pair does not write):
    /// nothing is written; the link remembers the names as they are.
    Remember {
        left_name: String,
        right_name: String,
    },
}

/// Each link's rename to carry, by index into `links`: a release renamed
/// on one side since the link last saw its names is renamed on the other
/// when `carries(from)` allows that direction. A release gone from its
/// side, or names unchanged, ask nothing.
pub fn renames(
    links: &[NamedLink],
    left: &[Release],
    right: &[Release],
    carries: impl Fn(Side) -> bool,
) -> Vec<(usize, NameChange)> {
    let name_of = |releases: &[Release], id: &str| {
        releases.iter().find(|r| r.id == id).map(|r| r.name.clone())
    };
    let mut out = Vec::new();
    for (i, link) in links.iter().enumerate() {
        let (Some(now_left), Some(now_right)) =
            (name_of(left, &link.left_id), name_of(right, &link.right_id))
        else {
            continue;
        };
        let left_renamed = now_left != link.left_name;
        let right_renamed = now_right != link.right_name;
        let change = match (left_renamed, right_renamed) {
            (false, false) => continue,
            (true, false) if carries(Side::Left) => NameChange::Carry {
                to: Side::Right,
                id: link.right_id.clone(),
                name: now_left,
            },
            (false, true) if carries(Side::Right) => NameChange::Carry {
                to: Side::Left,
                id: link.left_id.clone(),
                name: now_right,
            },
            _ => NameChange::Remember {
                left_name: now_left,
                right_name: now_right,
            },
        };
        out.push((i, change));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: &str, name: &str) -> Release {
        Release {
            id: id.into(),
            name: name.into(),
            closed: false,
            due: None,
        }
    }

    fn link(left: &str, right: &str) -> ReleaseLink {
        ReleaseLink {
            left_id: left.into(),
            right_id: right.into(),
            how: ReleaseLinkHow::Manual,
        }
    }

    #[test]
    fn equal_names_link_once_on_each_side_and_the_rest_is_created() {
        let left = [
            release("1", "1.0"),
            release("2", "Sprint 7"),
            release("3", "Beta"),
            release("4", "Beta"),
            release("5", "2.0"),
        ];
        let right = [
            release("10", " 1.0"),
            release("20", "sprint  7"),
            release("30", "beta"),
            release("40", "Gamma"),
        ];
        let found = link_by_name(&left, &right, &[link("5", "40")]);
        assert_eq!(
            found
                .iter()
                .map(|l| (l.left_id.as_str(), l.right_id.as_str()))
                .collect::<Vec<_>>(),
            vec![("1", "10"), ("2", "20")]
        );
        let mut links = vec![link("5", "40")];
        links.extend(found);
        // "Beta" occurs twice on the left: nothing is created for it,
        // since a person must choose which one is the right's "beta".
        assert!(to_create(Side::Left, &left, &right, &links).is_empty());
        assert_eq!(
            to_create(Side::Right, &right, &left, &links)
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            Vec::<&str>::new()
        );
        let more = [release("50", "3.0")];
        assert_eq!(to_create(Side::Right, &more, &left, &links).len(), 1);
    }

    #[test]
    fn a_release_linked_twice_is_refused_naming_the_side() {
        let links = [link("1", "a")];
        assert!(check_new_link(&links, "2", "b").is_ok());
        assert_eq!(
            check_new_link(&links, "1", "b").unwrap_err().field(),
            "left_id"
        );
        assert_eq!(
            check_new_link(&links, "2", "a").unwrap_err().field(),
            "right_id"
        );
        assert_eq!(
            check_new_link(&links, " ", "b").unwrap_err().field(),
            "left_id"
        );
    }

    #[test]
    fn values_are_placed_through_the_links_and_never_read_as_people() {
        let links = [link("7", "10001")];
        let placed = ReleaseValue::read(Some("10001".into())).place(Side::Right, &links);
        assert_eq!(placed.left.as_deref(), Some("7"));
        assert_eq!(
            ReleaseValue::read(Some("7".into())).place(Side::Left, &links),
            placed
        );
        let unlinked = ReleaseValue::read(Some("8".into())).place(Side::Left, &links);
        assert!(unlinked.writable_to(Side::Left) && !unlinked.writable_to(Side::Right));
        let json = serde_json::to_value(super::super::FieldValue::Release(placed.clone()))
            .expect("serializes");
        let back: super::super::FieldValue = serde_json::from_value(json).expect("reads");
        assert_eq!(back, super::super::FieldValue::Release(placed));
        let person = serde_json::json!({"left": "1", "right": null});
        let back: super::super::FieldValue = serde_json::from_value(person).expect("reads");
        assert!(matches!(back, super::super::FieldValue::Person(_)));
    }

    fn named(left: (&str, &str), right: (&str, &str)) -> NamedLink {
        NamedLink {
            left_id: left.0.into(),
            left_name: left.1.into(),
            right_id: right.0.into(),
            right_name: right.1.into(),
        }
    }

    #[test]
    fn a_rename_on_one_side_is_carried_to_the_other_as_the_pair_allows() {
        let links = [
            named(("1", "Q1"), ("a", "Q1")),
            named(("2", "Q2"), ("b", "Q2")),
            named(("3", "Q3"), ("c", "Q3")),
            named(("4", "Q4"), ("d", "Q4")),
            named(("5", "Q5"), ("e", "Q5")),
        ];
        let left = [
            release("1", "Q1 2026"),
            release("2", "Q2"),
            release("3", "Q3 left"),
            release("4", "Q4"),
        ];
        let right = [
            release("a", "Q1"),
            release("b", "Q2 2026"),
            release("c", "Q3 right"),
            release("d", "Q4"),
            release("e", "Q5 renamed"),
        ];
        let both = renames(&links, &left, &right, |_| true);
        assert_eq!(
            both,
            vec![
                (
                    0,
                    NameChange::Carry {
                        to: Side::Right,
                        id: "a".into(),
                        name: "Q1 2026".into()
                    }
                ),
                (
                    1,
                    NameChange::Carry {
                        to: Side::Left,
                        id: "2".into(),
                        name: "Q2 2026".into()
                    }
                ),
                (
                    2,
                    NameChange::Remember {
                        left_name: "Q3 left".into(),
                        right_name: "Q3 right".into()
                    }
                ),
            ],
            "unchanged names and a release gone from its side ask nothing"
        );
        // Left to right only: the right side's rename is remembered, not carried.
        let one_way = renames(&links, &left, &right, |from| from == Side::Left);
        assert_eq!(
            one_way[1],
            (
                1,
                NameChange::Remember {
                    left_name: "Q2".into(),
                    right_name: "Q2 2026".into()
                }
            )
        );
    }
}
