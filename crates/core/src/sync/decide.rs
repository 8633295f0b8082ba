//! The sync decision for one item: given both sides as they are now and
//! what Cairn last saw or wrote on each ([`Shadow`]), which fields to write
//! where, which changes collide, and what the shadow becomes.
//!
//! A side *changed* a field when its value's fingerprint is not among the
//! ones Cairn last saw or wrote there. So Cairn's own write coming back by
//! webhook (an echo) is no change, whoever's account it arrives under, and
//! needs no API call to recognise; and a change is carried once, however
//! often it is reported.
//!
//! - Both sides equal: nothing to do (the shadow learns the value).
//! - One side changed: its value goes to the other side if the field's
//!   direction carries it; otherwise the difference is accepted and only
//!   the shadow moves, so the change is not reconsidered forever.
//! - Both changed to different values: a [`Conflict`]. A one-way field is
//!   owned by the side it flows from; otherwise the field's rule decides:
//!   the side whose item was updated last (left on a tie), or the owner.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::settings::{ConflictRule, FieldDirection, FieldPolicies, Side, SyncField};
use super::values::{FieldValue, Fingerprint, ItemState, ItemValues};

/// Per side and field, the fingerprints that count as "what Cairn last saw
/// or wrote there". More than one when a written value may read back in
/// several forms (a Jira description read as ADF through the API and as
/// wiki markup from a webhook).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shadow {
    #[serde(default)]
    pub left: BTreeMap<SyncField, Vec<Fingerprint>>,
    #[serde(default)]
    pub right: BTreeMap<SyncField, Vec<Fingerprint>>,
}

impl Shadow {
    fn side(&self, side: Side) -> &BTreeMap<SyncField, Vec<Fingerprint>> {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<SyncField, Vec<Fingerprint>> {
        match side {
            Side::Left => &mut self.left,
            Side::Right => &mut self.right,
        }
    }

    /// Whether `value` on `side` is what Cairn last saw or wrote there.
    pub fn unchanged(&self, side: Side, field: SyncField, value: &FieldValue) -> bool {
        self.side(side)
            .get(&field)
            .is_some_and(|known| known.contains(&value.fingerprint()))
    }

    /// Remembers `value` as seen on `side`, keeping the other forms of the
    /// same write when it is one of them.
    pub fn note_seen(&mut self, side: Side, field: SyncField, value: &FieldValue) {
        if !self.unchanged(side, field, value) {
            self.side_mut(side).insert(field, vec![value.fingerprint()]);
        }
    }

    /// Remembers what a write of `forms` (every way it may read back) left
    /// on `side`.
    pub fn note_written(&mut self, side: Side, field: SyncField, forms: &[FieldValue]) {
        let mut prints: Vec<Fingerprint> = forms.iter().map(FieldValue::fingerprint).collect();
        prints.sort();
        prints.dedup();
        self.side_mut(side).insert(field, prints);
    }
}

/// How a value written to a side reads back from it, in every form the
/// engine may read it in. Conversions only, so deciding stays pure.
pub trait Readback: Send + Sync {
    fn read_back(&self, side: Side, field: SyncField, value: &FieldValue) -> Vec<FieldValue>;
}

/// Both sides store what they are given (GitLab to GitLab).
pub struct Verbatim;

impl Readback for Verbatim {
    fn read_back(&self, _side: Side, _field: SyncField, value: &FieldValue) -> Vec<FieldValue> {
        vec![value.clone()]
    }
}

/// One side of an item as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub values: ItemValues,
    /// The tracker's last update of the item, for "newer wins".
    pub updated_at: DateTime<Utc>,
}

/// Both sides changed a field to different values since the last sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub field: SyncField,
    pub left: FieldValue,
    pub right: FieldValue,
    pub winner: Side,
    /// Why the winner won, for people: "newer_wins", "left_wins",
    /// "right_wins" or "one_way".
    pub reason: &'static str,
}

/// What to do for one linked item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Fields to write on the left side.
    pub left: BTreeMap<SyncField, FieldValue>,
    /// Fields to write on the right side.
    pub right: BTreeMap<SyncField, FieldValue>,
    pub conflicts: Vec<Conflict>,
    /// Changes seen but not carried, because of their field's direction.
    pub not_carried: Vec<(Side, SyncField)>,
    /// The shadow once every write succeeded.
    pub shadow: Shadow,
}

impl Plan {
    /// The fields to write on `side`.
    pub fn writes(&self, side: Side) -> &BTreeMap<SyncField, FieldValue> {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }

    fn writes_mut(&mut self, side: Side) -> &mut BTreeMap<SyncField, FieldValue> {
        match side {
            Side::Left => &mut self.left,
            Side::Right => &mut self.right,
        }
    }

    /// Nothing to write on either side.
    pub fn writes_nothing(&self) -> bool {
        self.left.is_empty() && self.right.is_empty()
    }
}

/// Decides one linked item. See the module documentation for the rules.
pub fn decide(
    policies: &FieldPolicies,
    shadow: &Shadow,
    left: &Observed,
    right: &Observed,
    readback: &dyn Readback,
) -> Plan {
    let mut plan = Plan {
        shadow: shadow.clone(),
        ..Plan::default()
    };
    for (field, policy) in policies.all() {
        if policy.direction == FieldDirection::Never {
            continue;
        }
        let values = [left.values.get(field), right.values.get(field)];
        let [left_value, right_value] = &values;
        if left_value == right_value {
            plan.shadow.note_seen(Side::Left, field, left_value);
            plan.shadow.note_seen(Side::Right, field, right_value);
            continue;
        }
        let changed = |side: Side, value: &FieldValue| !shadow.unchanged(side, field, value);
        let source = match (
            changed(Side::Left, left_value),
            changed(Side::Right, right_value),
            first_release(shadow, field, left_value, right_value),
        ) {
            (false, false, _) => continue,
            (true, false, _) => Side::Left,
            (false, true, _) => Side::Right,
            (true, true, Some(filled)) => filled,
            (true, true, None) => {
                let (winner, reason) = conflict_winner(
                    policy.direction,
                    policy.conflict,
                    left.updated_at,
                    right.updated_at,
                );
                plan.conflicts.push(Conflict {
                    field,
                    left: left_value.clone(),
                    right: right_value.clone(),
                    winner,
                    reason,
                });
                winner
            }
        };
        let value = match source {
            Side::Left => left_value,
            Side::Right => right_value,
        };
        plan.shadow.note_seen(source, field, value);
        // An assignee the other side does not know is not carried: that
        // side keeps its value.
        if policy.direction.carries(source) && value.writable_to(source.other()) {
            let target = source.other();
            plan.writes_mut(target).insert(field, value.clone());
            let forms = readback.read_back(target, field, value);
            plan.shadow.note_written(target, field, &forms);
        } else {
            plan.not_carried.push((source, field));
            // The other side keeps its value; it is what Cairn knows there.
            let other = source.other();
            let other_value = match other {
                Side::Left => left_value,
                Side::Right => right_value,
            };
            plan.shadow.note_seen(other, field, other_value);
        }
    }
    plan
}

/// A milestone seen for the first time on an item linked before
/// milestones were carried (no shadow on either side), set on one side
/// only: that side's, so an upgrade never clears a milestone or a fix
/// version because the other side was edited later.
fn first_release(
    shadow: &Shadow,
    field: SyncField,
    left: &FieldValue,
    right: &FieldValue,
) -> Option<Side> {
    if shadow.side(Side::Left).contains_key(&field) || shadow.side(Side::Right).contains_key(&field)
    {
        return None;
    }
    match (left, right) {
        (FieldValue::Release(l), FieldValue::Release(r)) if r.is_none() && !l.is_none() => {
            Some(Side::Left)
        }
        (FieldValue::Release(l), FieldValue::Release(r)) if l.is_none() && !r.is_none() => {
            Some(Side::Right)
        }
        _ => None,
    }
}

fn conflict_winner(
    direction: FieldDirection,
    rule: ConflictRule,
    left_updated: DateTime<Utc>,
    right_updated: DateTime<Utc>,
) -> (Side, &'static str) {
    match direction {
        FieldDirection::LeftToRight => return (Side::Left, "one_way"),
        FieldDirection::RightToLeft => return (Side::Right, "one_way"),
        FieldDirection::Both | FieldDirection::Never => {}
    }
    match rule {
        ConflictRule::LeftWins => (Side::Left, "left_wins"),
        ConflictRule::RightWins => (Side::Right, "right_wins"),
        ConflictRule::NewerWins if right_updated > left_updated => (Side::Right, "newer_wins"),
        ConflictRule::NewerWins => (Side::Left, "newer_wins"),
    }
}

/// What to create on the other side for an item that has no twin yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePlan {
    /// The side to create on.
    pub target: Side,
    /// The new item's fields. A field whose direction does not carry from
    /// the source starts empty (opened, no labels, no due date), except
    /// the title: an item is always created with its source's title.
    pub values: ItemValues,
    /// The shadow once the item exists with these values.
    pub shadow: Shadow,
}

/// Plans the twin of an item seen on `source` only.
pub fn plan_create(
    policies: &FieldPolicies,
    source: Side,
    observed: &ItemValues,
    readback: &dyn Readback,
) -> CreatePlan {
    let target = source.other();
    let mut values = ItemValues {
        title: observed.title.clone(),
        description: String::new(),
        state: ItemState::Opened,
        labels: Default::default(),
        due_date: None,
        assignee: Default::default(),
        milestone: Default::default(),
    };
    for (field, policy) in policies.all() {
        if policy.direction.carries(source) && observed.get(field).writable_to(target) {
            values.set(field, observed.get(field));
        }
    }
    let mut shadow = Shadow::default();
    for field in SyncField::ALL {
        shadow.note_seen(source, *field, &observed.get(*field));
        let forms = readback.read_back(target, *field, &values.get(*field));
        shadow.note_written(target, *field, &forms);
    }
    CreatePlan {
        target,
        values,
        shadow,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::settings::FieldPolicy;
    use super::super::values::fixtures::values;
    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, minute, 0).unwrap()
    }

    fn observed(title: &str, minute: u32) -> Observed {
        Observed {
            values: values(title),
            updated_at: at(minute),
        }
    }

    /// The shadow after an item was last synced with `left` and `right`.
    fn synced(left: &Observed, right: &Observed) -> Shadow {
        let mut shadow = Shadow::default();
        for field in SyncField::ALL {
            shadow.note_seen(Side::Left, *field, &left.values.get(*field));
            shadow.note_seen(Side::Right, *field, &right.values.get(*field));
        }
        shadow
    }

    fn text(s: &str) -> FieldValue {
        FieldValue::Text(s.into())
    }

    #[test]
    fn a_change_on_one_side_is_written_to_the_other_once() {
        let before = observed("Checkout fails", 0);
        let shadow = synced(&before, &before);
        let left = observed("Checkout fails on Safari", 5);
        let plan = decide(
            &FieldPolicies::default(),
            &shadow,
            &left,
            &before,
            &Verbatim,
        );
        assert_eq!(
            plan.right,
            BTreeMap::from([(SyncField::Title, text("Checkout fails on Safari"))])
        );
        assert!(plan.left.is_empty() && plan.conflicts.is_empty());

        // The write comes back by webhook: an echo, nothing to do.
        let right_after = Observed {
            values: left.values.clone(),
            updated_at: at(6),
        };
        let again = decide(
            &FieldPolicies::default(),
            &plan.shadow,
            &left,
            &right_after,
            &Verbatim,
        );
        assert!(again.writes_nothing(), "{again:?}");
        assert_eq!(again.shadow, plan.shadow);
    }

    #[test]
    fn an_echo_in_another_form_is_still_an_echo() {
        // Jira stores the description and gives it back converted: the
        // readback says how, and both forms count as Cairn's own.
        struct Converts;
        impl Readback for Converts {
            fn read_back(&self, side: Side, _f: SyncField, v: &FieldValue) -> Vec<FieldValue> {
                match (side, v) {
                    (Side::Right, FieldValue::Text(t)) => {
                        vec![v.clone(), FieldValue::Text(format!("{t}\n"))]
                    }
                    _ => vec![v.clone()],
                }
            }
        }
        let before = observed("a", 0);
        let shadow = synced(&before, &before);
        let mut left = before.clone();
        left.values.description = "**bold**".into();
        let plan = decide(
            &FieldPolicies::default(),
            &shadow,
            &left,
            &before,
            &Converts,
        );
        assert_eq!(
            plan.right.get(&SyncField::Description),
            Some(&text("**bold**"))
        );
        let mut webhook = before.clone();
        webhook.values.description = "**bold**\n".into();
        let again = decide(
            &FieldPolicies::default(),
            &plan.shadow,
            &left,
            &webhook,
            &Converts,
        );
        assert!(again.writes_nothing(), "{again:?}");
    }

    #[test]
    fn both_sides_changing_one_field_is_a_conflict_the_newer_wins() {
        let before = observed("a", 0);
        let shadow = synced(&before, &before);
        let left = observed("from GitLab", 3);
        let right = observed("from Jira", 4);
        let plan = decide(&FieldPolicies::default(), &shadow, &left, &right, &Verbatim);
        assert_eq!(plan.left.get(&SyncField::Title), Some(&text("from Jira")));
        assert!(plan.right.is_empty());
        assert_eq!(
            plan.conflicts,
            vec![Conflict {
                field: SyncField::Title,
                left: text("from GitLab"),
                right: text("from Jira"),
                winner: Side::Right,
                reason: "newer_wins",
            }]
        );
        // A tie goes to the left.
        let plan = decide(
            &FieldPolicies::default(),
            &shadow,
            &observed("x", 4),
            &right,
            &Verbatim,
        );
        assert_eq!(plan.conflicts[0].winner, Side::Left);
        assert_eq!(plan.right.get(&SyncField::Title), Some(&text("x")));
    }

    #[test]
    fn an_owned_field_keeps_its_owners_value() {
        let mut policies = FieldPolicies::default();
        policies.set(
            SyncField::Title,
            FieldPolicy {
                direction: FieldDirection::Both,
                conflict: ConflictRule::LeftWins,
            },
        );
        let before = observed("a", 0);
        let plan = decide(
            &policies,
            &synced(&before, &before),
            &observed("left", 1),
            &observed("right", 9),
            &Verbatim,
        );
        assert_eq!(plan.right.get(&SyncField::Title), Some(&text("left")));
        assert_eq!(plan.conflicts[0].reason, "left_wins");
    }

    #[test]
    fn one_way_fields_flow_one_way_and_accept_the_other_sides_change() {
        let mut policies = FieldPolicies::default();
        policies.set(
            SyncField::Title,
            FieldPolicy {
                direction: FieldDirection::LeftToRight,
                conflict: ConflictRule::NewerWins,
            },
        );
        let before = observed("a", 0);
        let shadow = synced(&before, &before);
        // A right-side change is not carried, and not reconsidered.
        let right = observed("edited in Jira", 2);
        let plan = decide(&policies, &shadow, &before, &right, &Verbatim);
        assert!(plan.writes_nothing());
        assert_eq!(plan.not_carried, vec![(Side::Right, SyncField::Title)]);
        let again = decide(&policies, &plan.shadow, &before, &right, &Verbatim);
        assert!(again.writes_nothing() && again.not_carried.is_empty());
        // A left-side change still flows, overwriting the right.
        let left = observed("from GitLab", 3);
        let plan = decide(&policies, &again.shadow, &left, &right, &Verbatim);
        assert_eq!(
            plan.right.get(&SyncField::Title),
            Some(&text("from GitLab"))
        );
        // Both changed: the side it flows from owns it, even if older.
        let plan = decide(
            &policies,
            &shadow,
            &observed("old left", 1),
            &observed("new right", 9),
            &Verbatim,
        );
        assert_eq!(plan.conflicts[0].winner, Side::Left);
        assert_eq!(plan.conflicts[0].reason, "one_way");
        assert_eq!(plan.right.get(&SyncField::Title), Some(&text("old left")));
    }

    #[test]
    fn never_fields_are_left_alone() {
        let mut policies = FieldPolicies::default();
        policies.set(
            SyncField::Labels,
            FieldPolicy {
                direction: FieldDirection::Never,
                conflict: ConflictRule::NewerWins,
            },
        );
        let before = observed("a", 0);
        let mut left = before.clone();
        left.values.labels.insert("bug".into());
        let plan = decide(
            &policies,
            &synced(&before, &before),
            &left,
            &before,
            &Verbatim,
        );
        assert!(plan.writes_nothing() && plan.not_carried.is_empty());
    }

    #[test]
    fn converged_changes_need_no_write() {
        let before = observed("a", 0);
        let plan = decide(
            &FieldPolicies::default(),
            &synced(&before, &before),
            &observed("same", 1),
            &observed("same", 2),
            &Verbatim,
        );
        assert!(plan.writes_nothing() && plan.conflicts.is_empty());
        assert!(
            plan.shadow
                .unchanged(Side::Left, SyncField::Title, &text("same"))
        );
    }

    #[test]
    fn several_fields_travel_in_both_directions_at_once() {
        let before = observed("a", 0);
        let mut left = before.clone();
        left.values.state = ItemState::Closed;
        let mut right = before.clone();
        right.values.due_date = chrono::NaiveDate::from_ymd_opt(2026, 4, 1);
        let plan = decide(
            &FieldPolicies::default(),
            &synced(&before, &before),
            &left,
            &right,
            &Verbatim,
        );
        assert_eq!(
            plan.right,
            BTreeMap::from([(SyncField::State, FieldValue::State(ItemState::Closed))])
        );
        assert_eq!(
            plan.left,
            BTreeMap::from([(SyncField::DueDate, FieldValue::Date(right.values.due_date))])
        );
    }

    #[test]
    fn a_created_twin_carries_what_its_directions_allow_and_starts_in_sync() {
        let mut policies = FieldPolicies::default();
        policies.set(
            SyncField::Labels,
            FieldPolicy {
                direction: FieldDirection::RightToLeft,
                conflict: ConflictRule::NewerWins,
            },
        );
        policies.set(
            SyncField::Title,
            FieldPolicy {
                direction: FieldDirection::Never,
                conflict: ConflictRule::NewerWins,
            },
        );
        let mut source = values("Crash on start");
        source.labels.insert("bug".into());
        source.description = "steps".into();
        source.state = ItemState::Closed;
        let create = plan_create(&policies, Side::Left, &source, &Verbatim);
        assert_eq!(create.target, Side::Right);
        assert_eq!(create.values.title, "Crash on start");
        assert_eq!(create.values.description, "steps");
        assert_eq!(create.values.state, ItemState::Closed);
        assert!(create.values.labels.is_empty());
        // The twin's own webhook is an echo.
        let left = Observed {
            values: source.clone(),
            updated_at: at(0),
        };
        let right = Observed {
            values: create.values.clone(),
            updated_at: at(1),
        };
        let plan = decide(&policies, &create.shadow, &left, &right, &Verbatim);
        assert!(plan.writes_nothing(), "{plan:?}");
    }

    #[test]
    fn shadows_round_trip_through_json() {
        let before = observed("a", 0);
        let shadow = synced(&before, &before);
        let json = serde_json::to_string(&shadow).unwrap();
        assert_eq!(serde_json::from_str::<Shadow>(&json).unwrap(), shadow);
        assert_eq!(
            serde_json::from_str::<Shadow>("{}").unwrap(),
            Shadow::default()
        );
    }

    #[test]
    fn a_milestone_first_seen_on_one_side_is_carried_not_cleared() {
        use super::super::releases::ReleaseValue;
        let links = [super::super::releases::ReleaseLink {
            left_id: "7".into(),
            right_id: "10001".into(),
            how: super::super::releases::ReleaseLinkHow::ByName,
        }];
        let mut left = observed("t", 0);
        left.values.milestone = ReleaseValue::read(Some("7".into())).place(Side::Left, &links);
        // The right side was edited later, and has no fix version.
        let right = observed("t", 5);
        let plan = decide(
            &FieldPolicies::default(),
            &Shadow::default(),
            &left,
            &right,
            &Verbatim,
        );
        assert!(
            plan.conflicts
                .iter()
                .all(|c| c.field != SyncField::Milestone)
        );
        assert_eq!(
            plan.right.get(&SyncField::Milestone),
            Some(&FieldValue::Release(left.values.milestone.clone()))
        );
        assert!(!plan.left.contains_key(&SyncField::Milestone));
    }

    #[test]
    fn an_assignee_the_other_side_does_not_know_leaves_it_as_it_is() {
        use super::super::people::Assignee;
        let person = |left: Option<&str>, right: Option<&str>| Assignee {
            left: left.map(str::to_owned),
            right: right.map(str::to_owned),
        };
        let mut before = observed("x", 0);
        before.values.assignee = person(Some("7"), Some("acc-7"));
        let shadow = synced(&before, &before);
        // Left assigns someone unmapped: not carried, the right keeps Ana.
        let mut left = observed("x", 5);
        left.values.assignee = person(Some("9"), None);
        let plan = decide(
            &FieldPolicies::default(),
            &shadow,
            &left,
            &before,
            &Verbatim,
        );
        assert!(plan.writes_nothing(), "{plan:?}");
        assert_eq!(plan.not_carried, vec![(Side::Left, SyncField::Assignee)]);
        // Nobody assigned is carried, and so is a mapped person.
        for now in [person(None, None), person(Some("8"), Some("acc-8"))] {
            left.values.assignee = now.clone();
            let plan = decide(
                &FieldPolicies::default(),
                &shadow,
                &left,
                &before,
                &Verbatim,
            );
            assert_eq!(
                plan.right.get(&SyncField::Assignee),
                Some(&FieldValue::Person(now))
            );
        }
        // A new item's unmapped assignee: its twin starts with nobody.
        let mut values = values("x");
        values.assignee = person(None, Some("acc-9"));
        let create = plan_create(&FieldPolicies::default(), Side::Right, &values, &Verbatim);
        assert!(create.values.assignee.is_nobody());
    }
}
