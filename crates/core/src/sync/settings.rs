//! What a sync pair carries, and which way: the sides, the fields, each
//! field's direction and its rule for conflicts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::SyncError;

stable_names! {
    error: SyncError;
    /// One of the two sides of a pair. Which tracker is on which side is
    /// the pair's choice; the rules never depend on it.
    pub enum Side {
        Left => "left",
        Right => "right",
    }
}

impl Side {
    /// The side across from this one.
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

stable_names! {
    error: SyncError;
    /// A field Cairn keeps the same on both sides.
    pub enum SyncField {
        /// GitLab's title, Jira's summary.
        Title => "title",
        /// Converted between GitLab Markdown and Jira's ADF or wiki markup.
        Description => "description",
        /// GitLab's opened or closed; on Jira, the status, through the
        /// pair's status mapping.
        State => "state",
        /// The set of labels, compared without order.
        Labels => "labels",
        /// GitLab's due date, Jira's `duedate`.
        DueDate => "due_date",
        /// The person an issue is assigned to (GitLab's first assignee),
        /// through the pair's people mapping; an unmapped person leaves
        /// the other side as it is.
        Assignee => "assignee",
        /// GitLab's milestone, Jira's fix version, through the pair's
        /// release links (see [`super::releases`]).
        Milestone => "milestone",
    }
}

stable_names! {
    error: SyncError;
    /// Which way a field's changes travel.
    pub enum FieldDirection {
        Both => "both",
        LeftToRight => "left_to_right",
        RightToLeft => "right_to_left",
        /// Not synced at all.
        Never => "never",
    }
}

impl FieldDirection {
    /// Whether a change made on `from` is carried to the other side.
    pub fn carries(self, from: Side) -> bool {
        matches!(
            (self, from),
            (FieldDirection::Both, _)
                | (FieldDirection::LeftToRight, Side::Left)
                | (FieldDirection::RightToLeft, Side::Right)
        )
    }
}

stable_names! {
    error: SyncError;
    /// Who wins when both sides changed a field since the last sync.
    pub enum ConflictRule {
        /// The side whose item was updated last.
        NewerWins => "newer_wins",
        /// The left side owns the field.
        LeftWins => "left_wins",
        /// The right side owns the field.
        RightWins => "right_wins",
    }
}

/// How one field is synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldPolicy {
    pub direction: FieldDirection,
    pub conflict: ConflictRule,
}

impl Default for FieldPolicy {
    fn default() -> Self {
        FieldPolicy {
            direction: FieldDirection::Both,
            conflict: ConflictRule::NewerWins,
        }
    }
}

/// Every field's policy; a field not named takes the default (both ways,
/// newer wins), so a pair saved before a field existed syncs it as a new
/// pair would.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldPolicies(BTreeMap<SyncField, FieldPolicy>);

impl FieldPolicies {
    pub fn get(&self, field: SyncField) -> FieldPolicy {
        self.0.get(&field).copied().unwrap_or_default()
    }

    pub fn set(&mut self, field: SyncField, policy: FieldPolicy) {
        self.0.insert(field, policy);
    }

    /// Every field with its policy, in [`SyncField::ALL`] order.
    pub fn all(&self) -> impl Iterator<Item = (SyncField, FieldPolicy)> + '_ {
        SyncField::ALL.iter().map(|f| (*f, self.get(*f)))
    }
}

stable_names! {
    error: SyncError;
    /// Where one synced item stands.
    pub enum SyncItemState {
        /// Seen, not carried yet (new, changed, or its pair is inactive).
        Pending => "pending",
        /// Both sides agree as the pair's policy says.
        Synced => "synced",
        /// Its last attempt failed; it retries on its own schedule.
        Failing => "failing",
        /// Stopped by the fuse or by a change that needs a person; a retry
        /// resumes it.
        Paused => "paused",
    }
}

/// Which items of a side's project a pair reads: on GitLab, the labels an
/// issue must all carry; on Jira, a JQL condition joined to the project by
/// AND. Empty: every item of the project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideScope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jql: Option<String>,
}

impl SideScope {
    /// Whether an item with `labels` is in a label scope (JQL scopes are
    /// decided by Jira).
    pub fn admits_labels<'a>(&self, labels: impl IntoIterator<Item = &'a str> + Clone) -> bool {
        self.labels
            .iter()
            .all(|wanted| labels.clone().into_iter().any(|l| l == wanted))
    }
}

/// Labels an item must all carry to be in a GitLab side's scope.
pub fn check_label_scope(field: &'static str, labels: &[String]) -> Result<(), SyncError> {
    if labels
        .iter()
        .any(|l| l.trim().is_empty() || l.chars().count() > 255)
    {
        return Err(SyncError::BadLabel { field });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_carry_as_named() {
        use FieldDirection::*;
        assert!(Both.carries(Side::Left) && Both.carries(Side::Right));
        assert!(LeftToRight.carries(Side::Left) && !LeftToRight.carries(Side::Right));
        assert!(!RightToLeft.carries(Side::Left) && RightToLeft.carries(Side::Right));
        assert!(!Never.carries(Side::Left) && !Never.carries(Side::Right));
    }

    #[test]
    fn unnamed_fields_default_to_both_ways_newer_wins() {
        let mut policies = FieldPolicies::default();
        policies.set(
            SyncField::Title,
            FieldPolicy {
                direction: FieldDirection::LeftToRight,
                conflict: ConflictRule::LeftWins,
            },
        );
        assert_eq!(
            policies.get(SyncField::Title).direction,
            FieldDirection::LeftToRight
        );
        assert_eq!(policies.get(SyncField::Labels), FieldPolicy::default());
        assert_eq!(policies.all().count(), SyncField::ALL.len());
        let json = serde_json::to_string(&policies).unwrap();
        assert_eq!(
            json,
            r#"{"title":{"direction":"left_to_right","conflict":"left_wins"}}"#
        );
        assert_eq!(
            serde_json::from_str::<FieldPolicies>(&json).unwrap(),
            policies
        );
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for f in SyncField::ALL {
            assert_eq!(f.as_str().parse::<SyncField>(), Ok(*f));
        }
        assert_eq!(Side::Left.other(), Side::Right);
        assert_eq!(
            "sideways".parse::<FieldDirection>(),
            Err(SyncError::UnknownName {
                what: "both, left_to_right, right_to_left, never",
                name: "sideways".into()
            })
        );
    }

    #[test]
    fn a_label_scope_admits_items_carrying_all_its_labels() {
        let scope = SideScope {
            labels: vec!["sync".into(), "team-a".into()],
            jql: None,
        };
        assert!(scope.admits_labels(["team-a", "bug", "sync"]));
        assert!(!scope.admits_labels(["sync"]));
        assert!(SideScope::default().admits_labels(std::iter::empty()));
    }

    #[test]
    fn label_scopes_refuse_blank_labels() {
        assert!(check_label_scope("left_scope", &["sync".into()]).is_ok());
        assert_eq!(
            check_label_scope("left_scope", &[" ".into()]),
            Err(SyncError::BadLabel {
                field: "left_scope"
            })
        );
    }
}
