//! A snapshot of one work item (a GitLab issue or a Jira ticket), the only
//! input the progress rules read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One work item as last seen through a connection. The same shape for both
/// trackers so the store keeps one table and the rules stay tracker-neutral;
/// the connect crate fills it from each tracker's payloads.
///
/// Time fields are the item's **own** values in whole seconds (Jira:
/// `timespent`, `timeoriginalestimate`, `timeestimate`; never the
/// `aggregate*` fields, which add the subtasks' time; GitLab:
/// `time_stats`). See [`crate::goals::jira`] for why this means no hour is
/// counted twice. `None` means the tracker has no value (no time logged, no
/// estimate), which the rules treat as nothing to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemSnapshot {
    /// The tracker's human key: `group/project#12` for GitLab, `AE-786` for Jira.
    pub key: String,
    /// The item's title (GitLab) or summary (Jira).
    pub title: String,
    /// Where a person opens the item.
    pub url: String,
    /// The tracker's own state or status name (`opened`, `closed`,
    /// `In Review`), for display; rules use [`ItemSnapshot::done`].
    pub state: String,
    /// Whether the item is done: closed in GitLab; status category `done` in
    /// Jira, whatever the resolution.
    pub done: bool,
    /// Number of tasks (subtasks, checklist items) the item has; 0 if none.
    /// Used by GitLab percent complete only (Jira subtasks are tickets of
    /// their own).
    pub tasks_total: u32,
    /// Number of those tasks completed; values above `tasks_total` are read
    /// as `tasks_total`.
    pub tasks_done: u32,
    /// Time logged on the item itself, in seconds.
    pub time_spent_seconds: Option<i64>,
    /// The item's own original estimate, in seconds.
    pub original_estimate_seconds: Option<i64>,
    /// The item's own remaining estimate, in seconds.
    pub remaining_estimate_seconds: Option<i64>,
    /// Story points, if the item has them.
    pub story_points: Option<f64>,
    /// Numeric custom field values by field id (`customfield_10016`); fields
    /// without a value are absent.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, f64>,
    /// When the tracker last changed the item (drives incremental refresh).
    pub updated_at: DateTime<Utc>,
    /// When the item was created, if the tracker said (GitLab `created_at`,
    /// Jira `created`); read only to reconstruct past progress
    /// ([`crate::goals::history`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// When a done item became done, if the tracker said (GitLab
    /// `closed_at`, Jira `statuscategorychangedate`); `None` for an open
    /// item. Read only to reconstruct past progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
}

impl ItemSnapshot {
    /// A snapshot with only the identifying fields set: not done, no tasks,
    /// no time, no points, no custom fields. The connect crate and tests fill
    /// in the rest with struct update syntax.
    pub fn new(
        key: impl Into<String>,
        title: impl Into<String>,
        url: impl Into<String>,
        updated_at: DateTime<Utc>,
    ) -> ItemSnapshot {
        ItemSnapshot {
            key: key.into(),
            title: title.into(),
            url: url.into(),
            state: String::new(),
            done: false,
            tasks_total: 0,
            tasks_done: 0,
            time_spent_seconds: None,
            original_estimate_seconds: None,
            remaining_estimate_seconds: None,
            story_points: None,
            custom_fields: BTreeMap::new(),
            updated_at,
            created_at: None,
            done_at: None,
        }
    }

    /// Completed tasks, never more than `tasks_total`, so a tracker that
    /// reports inconsistent counts cannot push progress past 100 %.
    pub fn tasks_done_clamped(&self) -> u32 {
        self.tasks_done.min(self.tasks_total)
    }

    /// A numeric custom field's value, if present and finite.
    pub fn custom_field(&self, field: &str) -> Option<f64> {
        self.custom_fields
            .get(field)
            .copied()
            .filter(|v| v.is_finite())
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Small builders for the rules' tests.
    use super::*;

    /// A fixed time; the rules never read `updated_at`.
    pub fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    /// An open item with no tasks.
    pub fn open(key: &str) -> ItemSnapshot {
        ItemSnapshot {
            state: "opened".into(),
            ..ItemSnapshot::new(key, format!("Item {key}"), format!("https://x/{key}"), at())
        }
    }

    /// A done item with no tasks.
    pub fn done(key: &str) -> ItemSnapshot {
        ItemSnapshot {
            state: "closed".into(),
            done: true,
            ..open(key)
        }
    }

    /// `item` with tasks.
    pub fn with_tasks(item: ItemSnapshot, total: u32, done: u32) -> ItemSnapshot {
        ItemSnapshot {
            tasks_total: total,
            tasks_done: done,
            ..item
        }
    }

    /// Hours to seconds.
    pub fn h(hours: i64) -> Option<i64> {
        Some(hours * 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn new_is_empty_and_not_done() {
        let item = ItemSnapshot::new("AE-1", "t", "u", at());
        assert_eq!(item.key, "AE-1");
        assert!(!item.done);
        assert_eq!((item.tasks_total, item.tasks_done), (0, 0));
        assert_eq!(item.time_spent_seconds, None);
        assert!(item.custom_fields.is_empty());
    }

    #[test]
    fn tasks_done_never_exceeds_total() {
        assert_eq!(with_tasks(open("a"), 2, 5).tasks_done_clamped(), 2);
        assert_eq!(with_tasks(open("a"), 4, 1).tasks_done_clamped(), 1);
    }

    #[test]
    fn custom_field_ignores_non_finite() {
        let mut item = open("a");
        item.custom_fields.insert("cf_1".into(), 3.5);
        item.custom_fields.insert("cf_2".into(), f64::NAN);
        assert_eq!(item.custom_field("cf_1"), Some(3.5));
        assert_eq!(item.custom_field("cf_2"), None);
        assert_eq!(item.custom_field("cf_3"), None);
    }
}
